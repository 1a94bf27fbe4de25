//! In-process maps of expiring records (the embedded default's sessions, idempotency keys)
//! kept bounded: expired records are swept, and a full map drops those nearest their expiry.

use std::collections::HashMap;
use std::hash::Hash;

/// Makes room for one more record in `map` (at most `max`): drops the expired ones (expiry at
/// or before `now`) and then, if still full, the tenth of the records nearest their expiry.
pub fn make_room<K: Eq + Hash, V, T: Ord + Copy>(
    map: &mut HashMap<K, V>,
    max: usize,
    now: T,
    expiry: impl Fn(&V) -> T,
) {
    if map.len() < max {
        return;
    }
    map.retain(|_, v| expiry(v) > now);
    if map.len() < max || map.is_empty() {
        return;
    }
    let mut expiries: Vec<T> = map.values().map(&expiry).collect();
    let cut = (max / 10).min(expiries.len() - 1);
    let (_, threshold, _) = expiries.select_nth_unstable(cut);
    let threshold = *threshold;
    map.retain(|_, v| expiry(v) > threshold);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_map_drops_the_expired_then_the_soonest_to_expire() {
        let mut map: HashMap<u32, u32> = (0..100).map(|k| (k, k)).collect();
        make_room(&mut map, 200, 50, |v| *v);
        assert_eq!(map.len(), 100, "not full: nothing dropped");
        make_room(&mut map, 100, 9, |v| *v);
        assert_eq!(map.len(), 90, "the expired (0..=9) dropped, and that was room enough");
        make_room(&mut map, 90, 0, |v| *v);
        assert_eq!(map.len(), 80, "none expired: the tenth nearest expiry (10..=19) dropped");
        assert!(map.keys().all(|k| *k >= 20));
    }
}

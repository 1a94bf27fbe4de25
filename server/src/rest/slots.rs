//! Long answers held open per user: live event streams and CSV exports. Each holds a
//! connection (and, for an export, the database) for as long as it runs, which a request
//! budget does not see, so each user may hold only so many at once on one replica.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use contract::ErrorCode;

use super::problem::Problem;

/// Open answers per user, at most `per_user` each.
#[derive(Clone)]
pub struct Slots {
    open: Arc<Mutex<HashMap<i64, u32>>>,
    per_user: u32,
}

/// One open answer's place, given back when it is dropped (the client gone, the body done).
pub struct Slot {
    slots: Slots,
    user_id: i64,
}

impl Slots {
    pub fn new(per_user: u32) -> Self {
        Self { open: Arc::default(), per_user }
    }

    /// A place for `user_id`, or a 429 saying what to close (`what`: Spanish, plural).
    pub fn take(&self, user_id: i64, what: &str) -> Result<Slot, Problem> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(user_id).or_default();
        if *count >= self.per_user {
            return Err(Problem {
                retry_after: Some(5),
                ..Problem::new(
                    ErrorCode::RateLimited,
                    format!(
                        "Ya hay {} {what} con esta cuenta: cierre alguna o espere, y vuelva a intentar.",
                        self.per_user
                    ),
                )
            });
        }
        *count += 1;
        Ok(Slot { slots: self.clone(), user_id })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.user_id) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user_id);
            }
        }
    }
}

/// Live event streams one user may hold open (one per browser tab, or per client of a token).
pub const STREAMS_PER_USER: u32 = 32;
/// CSV exports one user may have running at once.
pub const EXPORTS_PER_USER: u32 = 2;

/// The event streams' places (an extension of the API router).
#[derive(Clone)]
pub struct StreamSlots(pub Slots);

impl Default for StreamSlots {
    fn default() -> Self {
        Self(Slots::new(STREAMS_PER_USER))
    }
}

/// The CSV exports' places (an extension of the API router).
#[derive(Clone)]
pub struct ExportSlots(pub Slots);

impl Default for ExportSlots {
    fn default() -> Self {
        Self(Slots::new(EXPORTS_PER_USER))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_user_holds_so_many_places_and_a_dropped_one_comes_back() {
        let slots = Slots::new(2);
        let first = slots.take(1, "exportaciones en curso").unwrap();
        let _second = slots.take(1, "exportaciones en curso").unwrap();
        let refused = slots.take(1, "exportaciones en curso").err().unwrap();
        assert_eq!(refused.status, 429);
        assert!(refused.detail.contains("Ya hay 2 exportaciones en curso"), "{}", refused.detail);
        assert!(slots.take(2, "exportaciones en curso").is_ok(), "another user is not affected");
        drop(first);
        assert!(slots.take(1, "exportaciones en curso").is_ok(), "a finished one gives its place back");
    }
}

//! Read-through caches of views that many dashboards ask for at once (the overview, the
//! notifications bell, pages of the task and officer lists, the signed-in actor), invalidated
//! by the event bus.
//!
//! Every event delivered to this replica bumps the bus's generation (before subscribers see
//! it, so a dashboard refreshing on an event never reads a value older than that event), and
//! so does every committed write transaction of this replica, events or not. A
//! cached value is used only while the generation it was computed at is current and it is
//! younger than its time-to-live; the generation is read *before* computing, so a change that
//! commits during the computation makes the value stale at once. Concurrent misses of one key
//! share a single computation, and a key computes one state at a time: a miss that finds an
//! older state still being computed waits for it, then computes the current one (with every
//! miss that arrived meanwhile).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use crate::error::AppResult;
use crate::events::EventBus;

/// Keys kept before the map is emptied (one per role scope or user; far above real use).
const MAX_ENTRIES: usize = 4_096;
/// Above this many keys, a miss first drops the entries that can no longer be used (stale
/// generation or past their time-to-live), so memory follows the live set, not the peak.
const SWEEP_ABOVE: usize = 64;

struct Entry<V> {
    generation: u64,
    created: Instant,
    value: Arc<OnceCell<V>>,
}

/// Which changes make a cached value stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Follows {
    /// Any change ([`EventBus::generation`]).
    Everything,
    /// Any change but officers' positions ([`EventBus::task_generation`]).
    AllButPositions,
    /// A local change of an account ([`EventBus::account_generation`]).
    Accounts,
}

pub struct ViewCache<K, V> {
    ttl: Duration,
    follows: Follows,
    /// A read waiting on another's computation gives its admission place back meanwhile.
    heavy: bool,
    entries: Mutex<HashMap<K, Entry<V>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> ViewCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, follows: Follows::Everything, heavy: false, entries: Mutex::new(HashMap::new()) }
    }

    /// For a view that takes long to compute (the overview): a read that waits on another's
    /// computation of it gives its admission place back while it waits
    /// ([`crate::admission`]), so a crowd of its viewers does not hold every place while one
    /// computation runs. A light view keeps the place: taking one again costs a turn in the
    /// queue, more than its short wait.
    pub fn heavy(self) -> Self {
        Self { heavy: true, ..self }
    }

    /// For a view that shows no officer position: a position report leaves it valid.
    pub fn ignoring_positions(self) -> Self {
        Self { follows: Follows::AllButPositions, ..self }
    }

    /// For who a signed-in user is: only a local commit that may have changed an account
    /// makes it stale (a task's writes do not); another replica's change waits for the
    /// time-to-live.
    pub fn following_accounts(self) -> Self {
        Self { follows: Follows::Accounts, ..self }
    }

    fn generation(&self, events: &EventBus) -> u64 {
        match self.follows {
            Follows::Everything => events.generation(),
            Follows::AllButPositions => events.task_generation(),
            Follows::Accounts => events.account_generation(),
        }
    }

    /// The value of `key`, computed by `compute` when missing or stale.
    pub async fn get_or_compute<F, Fut>(&self, events: &EventBus, key: K, compute: F) -> AppResult<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = AppResult<V>>,
    {
        loop {
            let generation = self.generation(events);
            // `mine`: this caller made the entry, so it computes the value (unless it fails).
            let (cell, older, mine) = {
                let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
                match entries.get(&key) {
                    Some(e) if e.generation == generation && e.created.elapsed() < self.ttl => {
                        (e.value.clone(), false, false)
                    }
                    // Still computing an older state: one computation per key at a time, or a
                    // steady stream of changes starts a new one for every change while the
                    // earlier ones still run, each slowing the others down.
                    Some(e) if e.generation < generation && !e.value.initialized() => (e.value.clone(), true, false),
                    _ => {
                        if entries.len() >= SWEEP_ABOVE {
                            Self::drop_unusable(&mut entries, generation, self.ttl);
                        }
                        if entries.len() >= MAX_ENTRIES {
                            entries.clear();
                        }
                        let value = Arc::new(OnceCell::new());
                        entries
                            .insert(key.clone(), Entry { generation, created: Instant::now(), value: value.clone() });
                        (value, false, true)
                    }
                }
            };
            if older {
                // Wait for it to end (or, if its caller went away or it failed, take the turn
                // and give it up at once), then look again: the value this caller gets is
                // computed after it arrived.
                let _ = self.wait(Box::pin(cell.get_or_try_init(|| async { Err(()) }))).await;
                if !cell.initialized() {
                    // It failed or was given up: nobody computes it any more.
                    self.forget(&key, &cell);
                }
                continue;
            }
            if mine {
                let value = cell.get_or_try_init(compute).await.cloned();
                if value.is_err() {
                    // A refused or failed computation leaves nothing behind: its key (a
                    // filter, a search text) would otherwise stay until the time-to-live.
                    self.forget(&key, &cell);
                }
                return value;
            }
            if cell.initialized() {
                return cell.get_or_try_init(compute).await.cloned();
            }
            // Another caller computes it: wait for its value (or for the turn, if it gives up).
            // Boxed: the computation is large and its caller's future need not hold it twice.
            return self.wait(Box::pin(cell.get_or_try_init(compute))).await.cloned();
        }
    }

    /// Removes `key`'s entry if it is still `cell`.
    fn forget(&self, key: &K, cell: &Arc<OnceCell<V>>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.get(key).is_some_and(|e| Arc::ptr_eq(&e.value, cell)) {
            entries.remove(key);
        }
    }

    /// Awaits another's computation: for a [`Self::heavy`] view without the admission place.
    async fn wait<F: Future>(&self, computation: F) -> F::Output {
        if self.heavy { crate::admission::waiting_on_another(computation).await } else { computation.await }
    }

    /// Drops every entry that can no longer be used: a quiet server gives its memory back.
    pub fn sweep(&self, events: &EventBus) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        Self::drop_unusable(&mut entries, self.generation(events), self.ttl);
        entries.shrink_to_fit();
    }

    fn drop_unusable(entries: &mut HashMap<K, Entry<V>>, generation: u64, ttl: Duration) {
        entries.retain(|_, e| e.generation == generation && e.created.elapsed() < ttl);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// The caches of one server process.
pub struct Caches {
    /// The overview, per viewer scope.
    pub overview: ViewCache<crate::services::activity::ScopeKey, contract::overview::Overview>,
    /// The bell's latest changes, per user and role (the unread count is the caller's).
    pub notifications: ViewCache<(i64, contract::domain::Role), Vec<contract::overview::ActivityItem>>,
    /// Pages of the task list, per viewer scope and filter (cursor included).
    pub tasks: ViewCache<
        (crate::services::activity::ScopeKey, contract::tasks::TaskFilter),
        Arc<contract::Page<contract::tasks::TaskSummary>>,
    >,
    /// Who a signed-in user id is (role, officer profile), asked by every dashboard request.
    pub actors: ViewCache<i64, crate::actor::Actor>,
    /// The names of supervisors and admins, which every page of the task list shows.
    pub staff_names: ViewCache<(), Arc<HashMap<i64, String>>>,
    /// Pages of the officer list (everyone who may see it sees the same), per filter, cursor
    /// and page size.
    pub officers:
        ViewCache<(contract::officers::OfficerFilter, Option<i64>, u64), contract::Page<contract::officers::Officer>>,
    /// Searches of the task list (viewer scope and filter, no cursor) whose window of the list
    /// held less than a page lately (`services::tasks::query`): a rare text, or filters that
    /// leave few rows. For a minute their pages go straight to the search planned for their
    /// text instead of reading a window first.
    pub short_searches: Remembered<(crate::services::activity::ScopeKey, contract::tasks::TaskFilter)>,
}

/// Keys remembered for [`Remembered::FOR`] — not a view: writes leave it, and it is kept with
/// the view caches off. Bounded: at [`Remembered::MAX`] entries the expired ones go, then, if
/// that is not enough, all.
pub struct Remembered<K>(Mutex<HashMap<K, Instant>>);

impl<K> Default for Remembered<K> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<K: Eq + Hash> Remembered<K> {
    pub const FOR: Duration = Duration::from_secs(60);
    pub const MAX: usize = 1_024;

    pub fn contains(&self, key: &K) -> bool {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(key).is_some_and(|at| at.elapsed() < Self::FOR)
    }

    pub fn insert(&self, key: K) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= Self::MAX {
            map.retain(|_, at| at.elapsed() < Self::FOR);
            if map.len() >= Self::MAX {
                map.clear();
            }
        }
        map.insert(key, Instant::now());
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for Caches {
    fn default() -> Self {
        Self::new(true)
    }
}

impl Caches {
    /// The caches, or (`enabled` false, `GAD_VIEW_CACHE=off`) view caches that keep nothing:
    /// every request computes its view, as the benchmarks measure the database path. The
    /// actors and staff names stay cached either way: they are not views, and no task write
    /// drops them, so a server whose views were all just made stale by writes still has them.
    pub fn new(enabled: bool) -> Self {
        let ttl = |secs: u64| if enabled { Duration::from_secs(secs) } else { Duration::ZERO };
        // The time-to-live rolls the overview's "today" over at midnight and bounds how long
        // another replica's write that publishes no event (a new officer) stays unseen here;
        // the lists, which such writes change, keep theirs short.
        Self {
            // Every view but the officer list shows no position, so the position reports
            // of officers on duty (several a second in a force) leave them valid.
            overview: ViewCache::new(ttl(30)).ignoring_positions().heavy(),
            notifications: ViewCache::new(ttl(30)).ignoring_positions(),
            tasks: ViewCache::new(ttl(5)).ignoring_positions(),
            officers: ViewCache::new(ttl(5)),
            // Another replica's deactivation or role change is seen here within 2 s.
            actors: ViewCache::new(Duration::from_secs(2)).following_accounts(),
            // Another replica's rename is seen here within 10 s.
            staff_names: ViewCache::new(Duration::from_secs(10)).following_accounts(),
            short_searches: Remembered::default(),
        }
    }

    /// Drops what no request can use any more (called every few seconds by `gad serve`).
    pub fn sweep(&self, events: &EventBus) {
        self.overview.sweep(events);
        self.notifications.sweep(events);
        self.tasks.sweep(events);
        self.officers.sweep(events);
        self.actors.sweep(events);
        self.staff_names.sweep(events);
    }

    /// Sweeps every `period` for as long as the process runs.
    pub fn spawn_sweeper(self: std::sync::Arc<Self>, events: EventBus, period: Duration) {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            loop {
                ticker.tick().await;
                self.sweep(&events);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_change_invalidates_and_concurrent_misses_compute_once() {
        let bus = EventBus::default();
        let cache: ViewCache<u8, u32> = ViewCache::new(Duration::from_secs(60));
        let runs = AtomicU32::new(0);
        let compute = || async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(runs.fetch_add(1, Ordering::SeqCst) + 1)
        };
        let (a, b) = tokio::join!(cache.get_or_compute(&bus, 1, compute), cache.get_or_compute(&bus, 1, compute));
        assert_eq!((a.ok(), b.ok()), (Some(1), Some(1)), "two concurrent misses share one computation");
        assert_eq!(cache.get_or_compute(&bus, 1, compute).await.ok(), Some(1), "hit");
        bus.invalidate();
        assert_eq!(cache.get_or_compute(&bus, 1, compute).await.ok(), Some(2), "a change makes it stale");
        assert_eq!(cache.get_or_compute(&bus, 2, compute).await.ok(), Some(3), "keys are separate");
    }

    #[tokio::test]
    async fn a_failed_computation_leaves_no_entry() {
        let bus = EventBus::default();
        let cache: ViewCache<String, u32> = ViewCache::new(Duration::from_secs(60));
        for i in 0..100 {
            let refused = cache.get_or_compute(&bus, format!("{i}{}", "x".repeat(10_000)), || async {
                Err(crate::error::AppError::validation("text", "El texto de búsqueda es demasiado largo."))
            });
            assert!(refused.await.is_err());
        }
        assert_eq!(cache.len(), 0, "refused keys are not kept");
        assert_eq!(cache.get_or_compute(&bus, "a".into(), || async { Ok(7) }).await.ok(), Some(7));
        assert_eq!(cache.len(), 1);
    }

    #[tokio::test]
    async fn position_reports_leave_views_without_positions_valid() {
        let bus = EventBus::default();
        let tasks: ViewCache<u8, u64> = ViewCache::new(Duration::from_secs(60)).ignoring_positions();
        let officers: ViewCache<u8, u64> = ViewCache::new(Duration::from_secs(60));
        let runs = AtomicU32::new(0);
        let compute = || async { Ok(u64::from(runs.fetch_add(1, Ordering::SeqCst))) };
        let (t0, o0) =
            (tasks.get_or_compute(&bus, 1, compute).await.ok(), officers.get_or_compute(&bus, 1, compute).await.ok());
        let position = contract::events::Event::OfficerPosition {
            officer_id: 1,
            lat: -34.6,
            lon: -58.4,
            recorded_at: chrono::Utc::now(),
        };
        bus.invalidate_after(std::slice::from_ref(&position));
        assert_eq!(tasks.get_or_compute(&bus, 1, compute).await.ok(), t0, "a position leaves the task view valid");
        assert_ne!(officers.get_or_compute(&bus, 1, compute).await.ok(), o0, "the officer view shows positions");
        bus.invalidate_after(&[]);
        assert_ne!(tasks.get_or_compute(&bus, 1, compute).await.ok(), t0, "a commit without events changes anything");
    }

    #[tokio::test]
    async fn actors_follow_account_changes_only() {
        let bus = EventBus::default();
        let actors: ViewCache<u8, u64> = ViewCache::new(Duration::from_secs(60)).following_accounts();
        let runs = AtomicU32::new(0);
        let compute = || async { Ok(u64::from(runs.fetch_add(1, Ordering::SeqCst))) };
        let first = actors.get_or_compute(&bus, 1, compute).await.ok();
        let task_event = contract::events::Event::TaskDeleted { task_id: 1, code: "PAT-1".into() };
        bus.invalidate_after(std::slice::from_ref(&task_event));
        bus.invalidate_after(&[]);
        assert_eq!(actors.get_or_compute(&bus, 1, compute).await.ok(), first, "a task's write leaves actors valid");
        bus.invalidate_accounts();
        assert_ne!(actors.get_or_compute(&bus, 1, compute).await.ok(), first, "an account's change drops them");
        let second = actors.get_or_compute(&bus, 1, compute).await.ok();
        bus.invalidate();
        assert_ne!(actors.get_or_compute(&bus, 1, compute).await.ok(), second, "so does a change of anything");
    }

    #[tokio::test]
    async fn unusable_entries_are_dropped_and_a_disabled_cache_keeps_nothing() {
        let bus = EventBus::default();
        let cache: ViewCache<u32, u32> = ViewCache::new(Duration::from_secs(60));
        for key in 0..100 {
            cache.get_or_compute(&bus, key, || async move { Ok(key) }).await.ok();
        }
        assert_eq!(cache.len(), 100, "fresh entries stay");
        bus.invalidate();
        cache.get_or_compute(&bus, 1000, || async { Ok(0) }).await.ok();
        assert_eq!(cache.len(), 1, "a miss above the sweep threshold drops the stale ones");
        bus.invalidate();
        cache.sweep(&bus);
        assert_eq!(cache.len(), 0, "the sweeper empties a quiet cache");

        let off: ViewCache<u8, u32> = ViewCache::new(Duration::ZERO);
        let runs = AtomicU32::new(0);
        for _ in 0..3 {
            assert!(off.get_or_compute(&bus, 1, || async { Ok(runs.fetch_add(1, Ordering::SeqCst)) }).await.is_ok());
        }
        assert_eq!(runs.load(Ordering::SeqCst), 3, "a cache without a time-to-live computes every time");
        let caches = Caches::new(false);
        assert_eq!((caches.tasks.ttl, caches.overview.ttl), (Duration::ZERO, Duration::ZERO));
        assert_eq!(caches.actors.ttl, Duration::from_secs(2), "actors are not a view: kept either way");
        assert_eq!(Caches::default().tasks.ttl, Duration::from_secs(5));
        let caches = Caches::default();
        assert!(caches.overview.heavy, "the overview's waiting viewers give their admission places back");
        assert!(!caches.tasks.heavy && !caches.actors.heavy, "a light view's readers keep theirs");
    }

    #[test]
    fn remembered_keys_are_bounded() {
        let seen: Remembered<(u8, String)> = Remembered::default();
        seen.insert((1, "quirno".into()));
        assert!(seen.contains(&(1, "quirno".into())));
        assert!(!seen.contains(&(1, "corrientes".into())));
        assert!(!seen.contains(&(2, "quirno".into())));
        let max = Remembered::<(u8, String)>::MAX;
        for i in 0..max + 10 {
            seen.insert((1, format!("texto {i}")));
        }
        assert!(seen.len() <= max, "{}", seen.len());
        assert!(seen.contains(&(1, format!("texto {}", max + 9))), "the newest stays");
    }

    /// Changes arriving faster than a computation ends: the key computes one state at a
    /// time, every caller gets a value computed after it arrived, and the misses that waited
    /// share the next computation.
    #[tokio::test]
    async fn a_key_computes_one_state_at_a_time() {
        let bus = EventBus::default();
        let cache: ViewCache<u8, u32> = ViewCache::new(Duration::from_secs(60));
        let (runs, running, most) = (AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0));
        let compute = || async {
            most.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(40)).await;
            running.fetch_sub(1, Ordering::SeqCst);
            Ok(runs.fetch_add(1, Ordering::SeqCst) + 1)
        };
        let first = cache.get_or_compute(&bus, 1, compute);
        let later = |pause: u64| {
            let (bus, cache) = (&bus, &cache);
            async move {
                tokio::time::sleep(Duration::from_millis(pause)).await;
                bus.invalidate();
                cache.get_or_compute(bus, 1, compute).await
            }
        };
        let (a, b, c) = tokio::join!(first, later(10), later(20));
        assert_eq!(most.load(Ordering::SeqCst), 1, "never two computations of one key at once");
        assert_eq!(a.ok(), Some(1));
        assert_eq!((b.ok(), c.ok()), (Some(2), Some(2)), "both changes came during the first: one more computation");
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    /// A computation that failed or whose caller went away does not hold the next ones up.
    #[tokio::test]
    async fn an_abandoned_computation_does_not_block_the_key() {
        let bus = EventBus::default();
        let cache: ViewCache<u8, u32> = ViewCache::new(Duration::from_secs(60));
        let failed = cache.get_or_compute(&bus, 1, || async { Err(crate::error::AppError::internal("x")) });
        assert!(failed.await.is_err());
        bus.invalidate();
        let next = tokio::time::timeout(Duration::from_secs(1), cache.get_or_compute(&bus, 1, || async { Ok(7) }));
        assert_eq!(next.await.ok().and_then(Result::ok), Some(7), "after a failure");

        bus.invalidate();
        let slow = cache.get_or_compute(&bus, 1, || async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(8)
        });
        assert!(tokio::time::timeout(Duration::from_millis(20), slow).await.is_err(), "its caller gave up");
        bus.invalidate();
        let next = tokio::time::timeout(Duration::from_secs(1), cache.get_or_compute(&bus, 1, || async { Ok(9) }));
        assert_eq!(next.await.ok().and_then(Result::ok), Some(9), "after an abandoned computation");
    }

    #[tokio::test]
    async fn the_time_to_live_expires_values_and_errors_are_not_kept() {
        let bus = EventBus::default();
        let cache: ViewCache<u8, u32> = ViewCache::new(Duration::from_millis(30));
        assert!(cache.get_or_compute(&bus, 1, || async { Err(crate::error::AppError::internal("x")) }).await.is_err());
        assert_eq!(cache.get_or_compute(&bus, 1, || async { Ok(1) }).await.ok(), Some(1), "an error is retried");
        assert_eq!(cache.get_or_compute(&bus, 1, || async { Ok(2) }).await.ok(), Some(1));
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(cache.get_or_compute(&bus, 1, || async { Ok(3) }).await.ok(), Some(3), "expired");
    }
}

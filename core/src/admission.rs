//! A read's place among those the server answers at once (`server::admission`), as the code
//! serving the read sees it.
//!
//! A read that is about to wait on *another* request's computation of a heavy view (the
//! overview, which its viewers share: [`crate::cache::ViewCache::heavy`]) gives its place back
//! while it waits and takes one again, in arrival order, when the value is there. Without
//! that, a crowd of viewers waiting on one computation holds most of the places while the CPU
//! does one thing, and every other read queues behind them.
//!
//! The admission middleware puts the [`Place`] in the request's extensions and runs the
//! handler inside [`holding`]; code that runs on tasks of its own (a page's resources) finds it
//! again in the request's parts and calls [`holding`] itself.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

tokio::task_local! {
    /// `None`: code run by [`holding`] outside admission.
    static PLACE: Option<Place>;
}

/// One admitted read's place. Clones share it.
#[derive(Clone)]
pub struct Place(Arc<Inner>);

struct Inner {
    semaphore: Arc<Semaphore>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    permit: Option<OwnedSemaphorePermit>,
    /// Parts of the request now waiting on another's computation (a page's resources run at
    /// once): the place is given back at the first and taken again after the last.
    waiting: usize,
    /// The response's head is out: the place is given back for good.
    done: bool,
}

impl Place {
    /// The place `permit` (a permit of `semaphore`) gives.
    pub fn new(semaphore: Arc<Semaphore>, permit: OwnedSemaphorePermit) -> Self {
        let state = State { permit: Some(permit), ..State::default() };
        Self(Arc::new(Inner { semaphore, state: Mutex::new(state) }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the request holds its place now.
    pub fn held(&self) -> bool {
        self.state().permit.is_some()
    }

    /// Gives the place back for good (the response's head is out).
    pub fn finish(&self) {
        let permit = {
            let mut state = self.state();
            state.done = true;
            state.permit.take()
        };
        drop(permit);
    }

    /// Awaits `wait` without the place, then waits for a place again (unless the response is
    /// out by then).
    pub async fn give_back_while<F: Future>(&self, wait: F) -> F::Output {
        let given_back = {
            let mut state = self.state();
            state.waiting += 1;
            if state.waiting == 1 { state.permit.take() } else { None }
        };
        drop(given_back);
        let output = {
            // Counted down even if the caller goes away mid-wait.
            let _waiting = Waiting(self);
            wait.await
        };
        if self.wants_place() {
            let permit = {
                let _queued = Queued::start();
                self.0.semaphore.clone().acquire_owned().await
            };
            let mut state = self.state();
            if let Ok(permit) = permit
                && state.permit.is_none()
                && state.waiting == 0
                && !state.done
            {
                state.permit = Some(permit);
            }
        }
        output
    }

    fn wants_place(&self) -> bool {
        let state = self.state();
        state.permit.is_none() && state.waiting == 0 && !state.done
    }
}

struct Waiting<'a>(&'a Place);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.waiting = state.waiting.saturating_sub(1);
    }
}

/// One read counted in `gad_http_reads_waiting` for as long as it lives (waiting for a place,
/// first or again after a wait): a client that goes away while its read waits drops it, and
/// the count stays true.
pub struct Queued(metrics::Gauge);

impl Queued {
    pub fn start() -> Self {
        let gauge = metrics::gauge!("gad_http_reads_waiting");
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// Runs `work` as the request that holds `place` (none: as code outside admission). Not an
/// `async fn`: that would store `work` twice in its state, and a page's futures are large
/// enough in a debug build to overflow a worker's stack.
pub fn holding<F: Future>(place: Option<Place>, work: F) -> impl Future<Output = F::Output> {
    PLACE.scope(place, work)
}

/// The place of the request this code serves, if it was admitted.
pub fn current() -> Option<Place> {
    PLACE.try_with(Option::clone).ok().flatten()
}

/// Awaits `wait` (another request's computation) with the current request's place given back
/// meanwhile; just awaits it outside admission.
pub async fn waiting_on_another<F: Future>(wait: F) -> F::Output {
    match current() {
        Some(place) => place.give_back_while(wait).await,
        None => wait.await,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn admitted(semaphore: &Arc<Semaphore>) -> Place {
        let permit = semaphore.clone().acquire_owned().await.unwrap_or_else(|_| unreachable!("never closed"));
        Place::new(semaphore.clone(), permit)
    }

    #[tokio::test]
    async fn a_wait_gives_the_place_back_and_takes_one_again() {
        let semaphore = Arc::new(Semaphore::new(1));
        let place = admitted(&semaphore).await;
        assert_eq!(semaphore.available_permits(), 0);
        let seen = holding(Some(place.clone()), async {
            waiting_on_another(async { (semaphore.available_permits(), current().map(|p| p.held())) }).await
        })
        .await;
        assert_eq!(seen, (1, Some(false)), "while it waits, its place is free for another read");
        assert!(place.held(), "after the wait it holds a place again");
        assert_eq!(semaphore.available_permits(), 0);
        place.finish();
        assert_eq!(semaphore.available_permits(), 1, "the response out, the place is free");
        assert!(current().is_none(), "outside a request there is no place");
    }

    #[tokio::test]
    async fn after_the_wait_it_queues_behind_those_who_came_meanwhile() {
        let semaphore = Arc::new(Semaphore::new(1));
        let place = admitted(&semaphore).await;
        let other = {
            let semaphore = semaphore.clone();
            tokio::spawn(async move {
                let permit = semaphore.acquire_owned().await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                let done = std::time::Instant::now();
                drop(permit);
                done
            })
        };
        let waited = place.give_back_while(tokio::time::sleep(Duration::from_millis(10))).await;
        let taken_again = std::time::Instant::now();
        let other_done = other.await.unwrap_or_else(|_| unreachable!("the task does not panic"));
        assert_eq!(waited, ());
        assert!(other_done <= taken_again, "the read admitted meanwhile finished before the place came back");
        assert!(place.held());
    }

    #[tokio::test]
    async fn two_parts_waiting_at_once_share_one_place() {
        let semaphore = Arc::new(Semaphore::new(2));
        let place = admitted(&semaphore).await;
        let nap = || tokio::time::sleep(Duration::from_millis(20));
        tokio::join!(place.give_back_while(nap()), place.give_back_while(nap()));
        assert!(place.held());
        assert_eq!(semaphore.available_permits(), 1, "one place, not two");
        // Finished while a part still waits: no place is taken again afterwards.
        let waiting = place.give_back_while(nap());
        let finish = async { place.finish() };
        tokio::join!(waiting, finish);
        assert!(!place.held());
        assert_eq!(semaphore.available_permits(), 2);
    }
}

//! Admission control for reads: at most `GAD_MAX_CONCURRENT_READS` GET and HEAD requests are
//! answered at once; the rest wait their turn in arrival order.
//!
//! Without it, a burst of readers all run at once: each request's statements and renders
//! interleave with every other's on the few cores, so all of them finish late (the tail grows
//! with the crowd) and writes — which hold a transaction while they wait for the CPU between
//! statements — wait behind them. With it, the requests in service finish at full speed and
//! the waiting ones cost nothing but a place in the queue; writes are never queued.
//!
//! The heavy reads ([`HEAVY_READS`]: the overview and the statistics, whose computation takes
//! tens to hundreds of milliseconds and whose viewers wait on one shared computation) first
//! wait for one of a quarter of the places, then for a place: however many dashboards ask for
//! the overview at once, three quarters of the places stay with the cheap reads (a list page,
//! a map box) that answer in a few milliseconds. The server functions among them are reads
//! although they are called with POST.
//!
//! A permit is held until the handler has produced the response's head: a streamed body (the
//! live event stream, a CSV export) is not counted, so an open stream never holds a place.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::Semaphore;

/// The reads that cost tens to hundreds of milliseconds each: the overview (its page and its
/// server function), the statistics (the API's and the server function's) and a track's
/// replay.
pub const HEAVY_READS: &[&str] =
    &["/", "/api/fn/overview", "/api/v1/statistics", "/api/fn/task_stats", "/api/v1/replay", "/api/fn/track_replay"];

/// The shared queues of one server process (`None`: no limit).
#[derive(Clone)]
pub struct Reads(Option<Queues>);

#[derive(Clone)]
struct Queues {
    /// Every read's place.
    places: Arc<Semaphore>,
    /// A heavy read's place in its lane, taken before its place.
    heavy: Arc<Semaphore>,
}

impl Reads {
    pub fn new(limit: usize) -> Self {
        metrics::gauge!("gad_http_reads_waiting").set(0.0);
        Self((limit > 0).then(|| Queues {
            places: Arc::new(Semaphore::new(limit)),
            heavy: Arc::new(Semaphore::new((limit / 4).max(1))),
        }))
    }
}

/// Middleware: waits for a place before answering a read.
pub async fn admit(State(reads): State<Reads>, request: Request, next: Next) -> Response {
    let heavy = HEAVY_READS.contains(&request.uri().path());
    let read = heavy || matches!(*request.method(), Method::GET | Method::HEAD);
    let Some(queues) = reads.0.filter(|_| read) else {
        return next.run(request).await;
    };
    // Tokio's semaphore is fair: places are given in the order they were asked for. It is
    // never closed, so acquiring cannot fail.
    let permits = {
        let _waiting = Waiting::start();
        let lane = if heavy { Some(queues.heavy.acquire_owned().await) } else { None };
        (queues.places.acquire_owned().await, lane)
    };
    let response = next.run(request).await;
    drop(permits);
    response
}

/// One read counted in `gad_http_reads_waiting` for as long as it lives: a client that goes
/// away while its read waits drops it, and the count stays true.
struct Waiting(metrics::Gauge);

impl Waiting {
    fn start() -> Self {
        let gauge = metrics::gauge!("gad_http_reads_waiting");
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    /// How many calls of a group of routes run at once, and the most that ever did.
    #[derive(Clone, Default)]
    struct Running {
        now: Arc<AtomicUsize>,
        peak: Arc<AtomicUsize>,
    }

    impl Running {
        fn peak(&self) -> usize {
            self.peak.load(Ordering::SeqCst)
        }
    }

    /// A handler that counts itself in `running` for `millis`.
    fn counted(
        running: Running,
        millis: u64,
    ) -> impl Fn() -> futures::future::BoxFuture<'static, &'static str> + Clone + Send + Sync + 'static {
        move || {
            let running = running.clone();
            Box::pin(async move {
                let now = running.now.fetch_add(1, Ordering::SeqCst) + 1;
                running.peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(millis)).await;
                running.now.fetch_sub(1, Ordering::SeqCst);
                "ok"
            })
        }
    }

    /// Cheap reads at `/tareas`; heavy ones at `/`, `/api/fn/overview` (a server function:
    /// POST) and, nested as the router nests the API, `/api/v1/statistics`; a never-ending
    /// stream at `/stream`.
    fn app(limit: usize, cheap: Running, heavy: Running) -> Router {
        let (cheap, heavy) = (counted(cheap, 50), counted(heavy, 300));
        let api = Router::new().route("/statistics", get(heavy.clone()));
        Router::new()
            .route("/tareas", get(cheap.clone()).post(cheap))
            .route("/api/fn/overview", axum::routing::post(heavy.clone()))
            .route("/", get(heavy))
            .nest("/api/v1", api)
            .route(
                "/stream",
                get(|| async {
                    // A body that never ends: its place must be given back once the head is out.
                    Body::from_stream(futures::stream::pending::<Result<Vec<u8>, std::io::Error>>())
                }),
            )
            .layer(axum::middleware::from_fn_with_state(Reads::new(limit), admit))
    }

    async fn call(app: &Router, method: Method, path: &str) -> u16 {
        let request = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
        app.clone().oneshot(request).await.unwrap().status().as_u16()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_beyond_the_limit_wait_and_all_are_answered() {
        let cheap = Running::default();
        let app = app(2, cheap.clone(), Running::default());
        let calls = (0..6).map(|_| call(&app, Method::GET, "/tareas"));
        let statuses = futures::future::join_all(calls).await;
        assert_eq!(statuses, vec![200; 6]);
        assert_eq!(cheap.peak(), 2, "never more reads at once than the limit");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn heavy_reads_keep_to_their_lane_and_cheap_reads_pass_them() {
        let (cheap, heavy) = (Running::default(), Running::default());
        let app = app(8, cheap.clone(), heavy.clone());
        let heavy_calls = futures::future::join_all((0..12).map(|i| match i % 3 {
            0 => call(&app, Method::GET, "/"),
            1 => call(&app, Method::POST, "/api/fn/overview"),
            _ => call(&app, Method::GET, "/api/v1/statistics?from=2026-12-01"),
        }));
        let cheap_calls = async {
            // Once the heavy reads have filled their lane and queued behind it.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let started = std::time::Instant::now();
            let statuses = futures::future::join_all((0..6).map(|_| call(&app, Method::GET, "/tareas"))).await;
            (statuses, started.elapsed())
        };
        let (heavy_statuses, (cheap_statuses, cheap_took)) = tokio::join!(heavy_calls, cheap_calls);
        assert_eq!(heavy_statuses, vec![200; 12]);
        assert_eq!(cheap_statuses, vec![200; 6]);
        assert_eq!(heavy.peak(), 2, "a quarter of the places for the heavy reads, nested paths included");
        assert_eq!(cheap.peak(), 6, "the other places stay with the cheap reads");
        // Six cheap reads of 50 ms on six free places: one round, not a wait behind the
        // heavy reads' 300 ms rounds.
        assert!(cheap_took < Duration::from_millis(280), "cheap reads waited {cheap_took:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_and_no_limit_are_never_queued() {
        let cheap = Running::default();
        let app = app(1, cheap.clone(), Running::default());
        let statuses = futures::future::join_all((0..4).map(|_| call(&app, Method::POST, "/tareas"))).await;
        assert_eq!(statuses, vec![200; 4]);
        assert_eq!(cheap.peak(), 4, "writes are not queued");

        let (cheap, heavy) = (Running::default(), Running::default());
        let app = super::tests::app(0, cheap.clone(), heavy.clone());
        futures::future::join_all(
            (0..4).flat_map(|_| [call(&app, Method::GET, "/tareas"), call(&app, Method::GET, "/")]),
        )
        .await;
        assert_eq!((cheap.peak(), heavy.peak()), (4, 4), "0 is no limit");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_open_stream_holds_no_place() {
        let app = app(1, Running::default(), Running::default());
        let request = Request::builder().uri("/stream").body(Body::empty()).unwrap();
        let stream = app.clone().oneshot(request).await.unwrap();
        assert_eq!(stream.status(), 200);
        // The stream's body is still open; the next read is answered at once.
        let next = tokio::time::timeout(Duration::from_secs(2), call(&app, Method::GET, "/tareas")).await;
        assert_eq!(next.ok(), Some(200));
        drop(stream);
    }
}

//! Admission control for reads: at most `GAD_MAX_CONCURRENT_READS` GET and HEAD requests are
//! answered at once; the rest wait their turn in arrival order.
//!
//! Without it, a burst of readers all run at once: each request's statements and renders
//! interleave with every other's on the few cores, so all of them finish late (the tail grows
//! with the crowd) and writes — which hold a transaction while they wait for the CPU between
//! statements — wait behind them. With it, the requests in service finish at full speed and
//! the waiting ones cost nothing but a place in the queue; writes are never queued.
//!
//! A place is held until the handler has produced the response's head: a streamed body (the
//! live event stream, a CSV export) is not counted, so an open stream never holds a place. A
//! read that waits on another's computation of a heavy view gives its place back meanwhile
//! ([`gad_core::admission`]).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use gad_core::admission::{self, Place};
use tokio::sync::Semaphore;

/// The shared queue of one server process (`None`: no limit).
#[derive(Clone)]
pub struct Reads(Option<Arc<Semaphore>>);

impl Reads {
    pub fn new(limit: usize) -> Self {
        metrics::gauge!("gad_http_reads_waiting").set(0.0);
        Self((limit > 0).then(|| Arc::new(Semaphore::new(limit))))
    }
}

/// Middleware: waits for a place before answering a read.
pub async fn admit(State(reads): State<Reads>, mut request: Request, next: Next) -> Response {
    let Some(semaphore) = reads.0.filter(|_| matches!(*request.method(), Method::GET | Method::HEAD)) else {
        return next.run(request).await;
    };
    // Tokio's semaphore is fair: places are given in the order they were asked for. It is
    // never closed, so acquiring cannot fail.
    let permit = {
        let _queued = admission::Queued::start();
        semaphore.clone().acquire_owned().await
    };
    let Ok(permit) = permit else {
        return next.run(request).await;
    };
    let place = Place::new(semaphore, permit);
    // The handler runs in this task; a page's resources, on tasks of their own, find it here.
    request.extensions_mut().insert(place.clone());
    let response = admission::holding(Some(place.clone()), next.run(request)).await;
    place.finish();
    response
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

    /// A route that records how many of its calls run at once.
    fn app(limit: usize, running: Arc<AtomicUsize>, peak: Arc<AtomicUsize>) -> Router {
        let handler = move || {
            let (running, peak) = (running.clone(), peak.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                "ok"
            }
        };
        Router::new()
            .route("/", get(handler.clone()).post(handler))
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
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let app = app(2, running, peak.clone());
        let calls = (0..6).map(|_| call(&app, Method::GET, "/"));
        let statuses = futures::future::join_all(calls).await;
        assert_eq!(statuses, vec![200; 6]);
        assert_eq!(peak.load(Ordering::SeqCst), 2, "never more reads at once than the limit");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_and_no_limit_are_never_queued() {
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let app = app(1, running.clone(), peak.clone());
        let statuses = futures::future::join_all((0..4).map(|_| call(&app, Method::POST, "/"))).await;
        assert_eq!(statuses, vec![200; 4]);
        assert_eq!(peak.load(Ordering::SeqCst), 4, "writes are not queued");

        let peak = Arc::new(AtomicUsize::new(0));
        let app = super::tests::app(0, running, peak.clone());
        futures::future::join_all((0..4).map(|_| call(&app, Method::GET, "/"))).await;
        assert_eq!(peak.load(Ordering::SeqCst), 4, "0 is no limit");
    }

    /// Two places; a heavy view whose computation takes 300 ms. Its second viewer waits on the
    /// first's computation without holding a place, so a third, cheap read is answered at once
    /// instead of after the computation.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_waiting_on_another_computation_gives_its_place_back() {
        use gad_core::cache::ViewCache;
        use gad_core::events::EventBus;
        use std::time::Instant;

        let cache: Arc<ViewCache<u8, u32>> = Arc::new(ViewCache::new(Duration::from_secs(60)).heavy());
        let bus = EventBus::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let overview = {
            let (cache, runs) = (cache.clone(), runs.clone());
            move || {
                let (cache, bus, runs) = (cache.clone(), bus.clone(), runs.clone());
                async move {
                    let value = cache
                        .get_or_compute(&bus, 1, || async {
                            tokio::time::sleep(Duration::from_millis(300)).await;
                            Ok(runs.fetch_add(1, Ordering::SeqCst) as u32 + 1)
                        })
                        .await
                        .unwrap();
                    value.to_string()
                }
            }
        };
        let app = Router::new()
            .route("/overview", get(overview))
            .route("/", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(Reads::new(2), admit));
        let get_at = |path: &'static str, delay: u64| {
            let app = app.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                let request = Request::builder().uri(path).body(Body::empty()).unwrap();
                let response = app.oneshot(request).await.unwrap();
                let body = axum::body::to_bytes(response.into_body(), 64).await.unwrap();
                (String::from_utf8_lossy(&body).into_owned(), Instant::now())
            }
        };
        let ((a, a_done), (b, _), (c, c_done)) =
            tokio::join!(get_at("/overview", 0), get_at("/overview", 30), get_at("/", 60));
        assert_eq!((a.as_str(), b.as_str(), c.as_str()), ("1", "1", "ok"), "the viewers share one computation");
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(c_done < a_done, "the cheap read took the waiting viewer's place instead of queueing");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_open_stream_holds_no_place() {
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let app = app(1, running, peak);
        let request = Request::builder().uri("/stream").body(Body::empty()).unwrap();
        let stream = app.clone().oneshot(request).await.unwrap();
        assert_eq!(stream.status(), 200);
        // The stream's body is still open; the next read is answered at once.
        let next = tokio::time::timeout(Duration::from_secs(2), call(&app, Method::GET, "/")).await;
        assert_eq!(next.ok(), Some(200));
        drop(stream);
    }
}

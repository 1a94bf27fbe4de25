//! Building the application: connect, migrate, bootstrap, bind. Tests build it on port 0.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use leptos::config::LeptosOptions;
use tokio::net::TcpListener;

use gad_core::cache::Caches;
use gad_core::config::Config;
use gad_core::demo;
use gad_core::events::EventBus;
use gad_core::services::users;
use gad_core::state::{AppState, Parts, RedisPool};
use gad_core::{db, error::AppError};

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    /// The operations listener (`GAD_METRICS_ADDR`) and its router.
    operations: Option<(TcpListener, axum::Router)>,
    state: AppState,
}

impl Application {
    /// Connects, migrates, creates the first admin and (if asked) the demo data, and binds.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let state = connect(config).await?;
        db::migrate(&state.db).await.map_err(startup_error)?;
        state.events.start(&state.db).await.map_err(startup_error)?;
        state.caches.clone().spawn_sweeper(state.events.clone(), std::time::Duration::from_secs(10));
        bootstrap(&state).await?;
        let listener = TcpListener::bind(state.config.listen_addr)
            .await
            .with_context(|| format!("cannot listen on {} (GAD_LISTEN_ADDR)", state.config.listen_addr))?;
        let operations = match state.config.metrics_addr {
            Some(addr) => Some((
                TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} (GAD_METRICS_ADDR)"))?,
                crate::router::operations(state.clone()),
            )),
            None => None,
        };
        crate::metrics::install();
        let router = crate::router::build(state.clone(), leptos_options(&state.config));
        Ok(Self { listener, router, operations, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.state.config.listen_addr)
    }

    /// The operations listener's address, when `GAD_METRICS_ADDR` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.operations.as_ref().and_then(|(listener, _)| listener.local_addr().ok())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until Ctrl-C or SIGTERM, finishing in-flight requests.
    pub async fn run(self) -> std::io::Result<()> {
        tracing::info!(addr = %self.local_addr(), "GAD listening");
        if let Some(addr) = self.metrics_addr() {
            tracing::info!(%addr, "operations endpoints (/metrics, /ready, /health) listening");
        }
        crate::metrics::spawn_refresher(self.state.clone());
        spawn_secret_reloader(self.state.config.clone());
        crate::feedback_webhook::spawn(&self.state);
        crate::sla::spawn(&self.state);
        if let (true, Some(every)) = (self.state.config.seed_demo, self.state.config.demo_patrol) {
            gad_core::demo::spawn_patrol(self.state.clone(), every);
        }
        if let Some((listener, router)) = self.operations {
            // Ends with the process; scrapes need no draining.
            tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, router).await {
                    tracing::error!(%error, "the operations listener stopped");
                }
            });
        }
        let serve = axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async {
                shutdown_signal().await;
                // Live streams end now (their clients resume elsewhere with Last-Event-ID);
                // requests in flight finish.
                DRAINING.send_replace(true);
            });
        // A request that outlives the drain does not keep the process: it ends DRAIN_LIMIT after
        // the signal whatever is still open.
        let deadline = async {
            let _ = draining().wait_for(|d| *d).await;
            tokio::time::sleep(DRAIN_LIMIT).await;
            tracing::warn!("connections still open after the drain limit; exiting");
        };
        let outcome = tokio::select! {
            served = serve => served,
            () = deadline => Ok(()),
        };
        // What must happen before the process ends ([`on_drain`]), briefly.
        let hooks = std::mem::take(&mut *ON_DRAIN.lock().unwrap_or_else(|e| e.into_inner()));
        let _ = tokio::time::timeout(ON_DRAIN_LIMIT, futures::future::join_all(hooks)).await;
        outcome
    }
}

/// The operations endpoints (`/metrics`, `/ready`, `/health`) of a process that serves no
/// pages (`gad bot` in polling mode) on `GAD_METRICS_ADDR`, with the gauges refreshed in the
/// background. An address already taken (`gad serve` on the same machine and environment) is
/// logged and skipped: the bot runs without them.
pub async fn serve_operations(state: &AppState) -> Option<SocketAddr> {
    let addr = state.config.metrics_addr?;
    crate::metrics::install();
    let listener = match TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::warn!(%addr, %error, "operations endpoints not served (GAD_METRICS_ADDR taken)");
            return None;
        }
    };
    let local = listener.local_addr().ok();
    crate::metrics::spawn_refresher(state.clone());
    let router = crate::router::operations(state.clone());
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "the operations listener stopped");
        }
    });
    tracing::info!(?local, "operations endpoints (/metrics, /ready, /health) listening");
    local
}

/// State without binding or migrating: for CLI commands.
pub async fn connect(config: Config) -> anyhow::Result<AppState> {
    let db = db::connect(&config).await.map_err(startup_error).context("cannot open the database (DATABASE_URL)")?;
    let redis = match &config.redis_url {
        Some(url) => Some(redis_pool(url.expose()).await.context("cannot reach Redis (REDIS_URL)")?),
        None => None,
    };
    let caches = Arc::new(Caches::new(config.view_cache));
    Ok(AppState::new(Parts {
        db,
        redis,
        config: Arc::new(config),
        events: EventBus::default(),
        sqlite_writer: Arc::new(tokio::sync::Mutex::new(())),
        caches,
    }))
}

async fn redis_pool(url: &str) -> anyhow::Result<RedisPool> {
    // The URL may carry a password: never include it in an error.
    let manager = gad_core::redis_pool::RedisManager::new(url).map_err(|_| anyhow::anyhow!("invalid REDIS_URL"))?;
    let pool = bb8::Pool::builder()
        .max_size(16)
        .connection_timeout(std::time::Duration::from_secs(5))
        .build(manager)
        .await
        .map_err(|e| anyhow::anyhow!("redis connection failed: {}", e.kind_str()))?;
    // Fail fast: a replica without its session store cannot serve the dashboard.
    let mut conn = pool.get().await.map_err(|e| anyhow::anyhow!("redis unreachable: {e}"))?;
    let _: String = redis::cmd("PING")
        .query_async(&mut *conn)
        .await
        .map_err(|e| anyhow::anyhow!("redis ping failed: {}", e.kind_str()))?;
    drop(conn);
    Ok(pool)
}

trait KindStr {
    fn kind_str(&self) -> String;
}
impl KindStr for redis::RedisError {
    fn kind_str(&self) -> String {
        format!("{:?}", self.kind())
    }
}

/// Leptos options from the environment cargo-leptos sets, else from our configuration.
fn leptos_options(config: &Config) -> LeptosOptions {
    // cargo-leptos (watch/serve) describes the site in LEPTOS_* variables; otherwise ours.
    let from_cargo_leptos = std::env::var_os("LEPTOS_OUTPUT_NAME")
        .and_then(|_| leptos::config::get_configuration(None).ok())
        .map(|c| c.leptos_options);
    let mut options = from_cargo_leptos.unwrap_or_else(|| LeptosOptions::builder().output_name("gad").build());
    options.output_name = "gad".into();
    options.site_root = config.site_root.to_string_lossy().into_owned().into();
    options.site_pkg_dir = "pkg".into();
    options.site_addr = config.listen_addr;
    // cargo-leptos writes the hashes of the built files beside the binary; a binary without
    // them (a test binary) names the files unhashed.
    options.hash_files = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(options.hash_file.as_ref())))
        .is_some_and(|file| file.is_file());
    options
}

async fn bootstrap(state: &AppState) -> anyhow::Result<()> {
    let password = state.config.admin_password.as_ref().map(|s| s.expose());
    let outcome = match users::ensure_admin(state, &state.config.admin_email, password).await {
        // No active admin, and the first admin's address belongs to an account that is not one
        // (deactivated, or given another role): GAD still serves everyone else; an operator
        // makes an admin with `gad create-admin` (every replica refusing to start would leave
        // nobody able to).
        Err(gad_core::error::AppError::Conflict(reason)) => {
            tracing::error!(%reason, "the first admin could not be created (if no admin is active, run `gad create-admin`)");
            users::AdminOutcome::Exists
        }
        other => other.map_err(startup_error)?,
    };
    match outcome {
        users::AdminOutcome::Exists => {}
        users::AdminOutcome::Created => tracing::info!(email = %state.config.admin_email, "first admin created"),
        users::AdminOutcome::CreatedWithGenerated(password) => {
            tracing::info!(email = %state.config.admin_email, "first admin created with a generated password");
            // Shown once, on the terminal only: never through the log pipeline.
            print_once("administrador", &state.config.admin_email, &password);
        }
    }
    if state.config.seed_demo {
        match demo::seed(state).await.map_err(startup_error)? {
            demo::SeedOutcome::AlreadySeeded => {}
            demo::SeedOutcome::Seeded { generated_password } => {
                tracing::info!("demo data seeded");
                if let Some(password) = generated_password {
                    print_once("demo (supervisor@gad.local, efectivo1..6@gad.local)", "", &password);
                }
            }
        }
    }
    Ok(())
}

pub fn print_once(who: &str, email: &str, password: &str) {
    println!(
        "\n  ┌─ GAD: contraseña generada para {who} {email}\n  │  {password}\n  └─ Guárdela ahora: no se volverá a mostrar.\n"
    );
}

pub fn startup_error(err: AppError) -> anyhow::Error {
    match err {
        AppError::Internal(msg) => anyhow::anyhow!(msg),
        AppError::Validation(fields) => anyhow::anyhow!(
            "datos no válidos: {}",
            fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
        ),
        other => anyhow::anyhow!(other.to_string()),
    }
}

/// Set once `gad serve` received its shutdown signal: live streams end, requests drain.
static DRAINING: std::sync::LazyLock<tokio::sync::watch::Sender<bool>> =
    std::sync::LazyLock::new(|| tokio::sync::watch::channel(false).0);

/// Work started by [`on_drain`], awaited by [`Application::run`] before it returns.
static ON_DRAIN: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>> = std::sync::Mutex::new(Vec::new());

/// The longest [`Application::run`] waits for the [`on_drain`] work once serving has ended.
const ON_DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Runs `work` once this process drains (its shutdown signal), and has `gad serve` wait for it
/// before exiting: giving a lease up, so another replica takes over at once.
pub fn on_drain(work: impl Future<Output = ()> + Send + 'static) {
    let handle = tokio::spawn(async move {
        let _ = draining().wait_for(|draining| *draining).await;
        work.await;
    });
    ON_DRAIN.lock().unwrap_or_else(|e| e.into_inner()).push(handle);
}

/// The longest `gad serve` waits for requests in flight after the signal (Docker's default
/// grace period before SIGKILL is 10 s).
pub const DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(8);

/// Whether this process is shutting down (`wait_for(|d| *d)` to be told).
pub fn draining() -> tokio::sync::watch::Receiver<bool> {
    DRAINING.subscribe()
}

/// How often the secrets' files are read again besides SIGHUP (a Kubernetes secret volume
/// changes files without signalling anyone).
const SECRETS_POLL: std::time::Duration = std::time::Duration::from_secs(10);

/// Re-reads the secrets that come from files (`Config::reload_secrets`) on SIGHUP and every
/// [`SECRETS_POLL`], for as long as the process runs: a secrets manager's agent rotates them by
/// rewriting the files (and may send SIGHUP to have them taken at once). Names, never values,
/// are logged.
pub fn spawn_secret_reloader(config: Arc<Config>) {
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let signalled = async {
                match hangup.as_mut() {
                    Some(h) => h.recv().await.is_some(),
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let signalled = std::future::pending::<bool>();
            let by_signal = tokio::select! {
                s = signalled => s,
                () = tokio::time::sleep(SECRETS_POLL) => false,
            };
            let (changed, failed) = config.reload_secrets();
            for variable in &changed {
                tracing::info!(variable, by_signal, "secret reloaded from its file");
                metrics::counter!("gad_secret_reloads_total", "result" => "changed").increment(1);
            }
            for error in &failed {
                tracing::warn!(%error, "secret file not reloaded; the value in use stays");
                metrics::counter!("gad_secret_reloads_total", "result" => "failed").increment(1);
            }
            if by_signal && changed.is_empty() && failed.is_empty() {
                tracing::info!("SIGHUP: the secrets' files are unchanged");
            }
        }
    });
}

/// Ctrl-C or SIGTERM (what `docker stop` sends): the end of `gad serve` and of `gad bot`.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}

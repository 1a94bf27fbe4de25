//! Typed configuration, loaded once from the environment.
//!
//! Every secret may also come from a file named by `NAME_FILE` (Docker/Kubernetes secrets, or
//! files a secrets manager's agent renders). Secrets are wrapped in [`Secret`] so they never
//! reach logs or error messages. The ones a rotation changes while GAD runs are [`LiveSecret`]s:
//! [`Config::reload_secrets`] reads their files again (`gad serve` does on SIGHUP and every few
//! seconds), so a new value is in use without a restart.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Single sign-on (OpenID Connect, authorization code with PKCE). Set `GAD_OIDC_ISSUER` and
/// `GAD_OIDC_CLIENT_ID` to turn it on.
#[derive(Clone, Debug)]
pub struct OidcConfig {
    /// `GAD_OIDC_ISSUER`: the provider's issuer URL (its discovery document lives under it).
    pub issuer: String,
    /// `GAD_OIDC_CLIENT_ID`.
    pub client_id: String,
    /// `GAD_OIDC_CLIENT_SECRET` (or `_FILE`); none for a public client (PKCE alone).
    pub client_secret: Option<Secret>,
    /// `GAD_OIDC_REDIRECT_URL`: where the provider sends people back; by default
    /// `GAD_PUBLIC_URL` + `/auth/oidc/callback`.
    pub redirect_url: String,
    /// `GAD_OIDC_ROLE_CLAIM` (default `gad_role`): the ID token claim (a string or a list)
    /// naming the role; values `admin`, `supervisor`, `officer` (or mapped below).
    pub role_claim: String,
    /// `GAD_OIDC_ROLE_MAP`: `value=role,…` for a provider's own group names, e.g.
    /// `jefes=supervisor,patrulla=officer`.
    pub role_map: Vec<(String, contract::domain::Role)>,
    /// `GAD_OIDC_LABEL`: the login page's button (default "Ingresar con la cuenta institucional").
    pub label: String,
}

impl OidcConfig {
    fn from_env(env: &Env, public_url: Option<&str>) -> Result<Option<Self>, ConfigError> {
        let (Some(issuer), Some(client_id)) = (env.get("GAD_OIDC_ISSUER"), env.get("GAD_OIDC_CLIENT_ID")) else {
            if env.get("GAD_OIDC_ISSUER").is_some() || env.get("GAD_OIDC_CLIENT_ID").is_some() {
                return Err(ConfigError::new("GAD_OIDC_ISSUER", "and GAD_OIDC_CLIENT_ID go together"));
            }
            return Ok(None);
        };
        // The provider's signing keys come from under the issuer: over plain HTTP anyone on the
        // path could swap them and sign in as anyone. Plain HTTP only for a provider on this machine.
        let loopback = issuer.strip_prefix("http://").is_some_and(|rest| {
            let authority = rest.split('/').next().unwrap_or_default();
            let host = authority.rsplit_once(':').map_or(authority, |(host, port)| {
                if port.chars().all(|c| c.is_ascii_digit()) { host } else { authority }
            });
            matches!(host, "127.0.0.1" | "localhost" | "[::1]")
        });
        if !(issuer.starts_with("https://") || loopback) {
            return Err(ConfigError::new(
                "GAD_OIDC_ISSUER",
                "must be an https:// URL (http:// only for a provider on this machine: 127.0.0.1, localhost, [::1])",
            ));
        }
        let redirect_url = match (env.get("GAD_OIDC_REDIRECT_URL"), public_url) {
            (Some(url), _) => url,
            (None, Some(public)) => format!("{}/auth/oidc/callback", public.trim_end_matches('/')),
            (None, None) => {
                return Err(ConfigError::new("GAD_OIDC_REDIRECT_URL", "is required without GAD_PUBLIC_URL"));
            }
        };
        let mut role_map = Vec::new();
        for pair in env.get("GAD_OIDC_ROLE_MAP").unwrap_or_default().split(',').filter(|p| !p.trim().is_empty()) {
            let parsed = pair
                .split_once('=')
                .and_then(|(value, role)| Some((value.trim().to_owned(), role.trim().parse().ok()?)));
            match parsed {
                Some(entry) => role_map.push(entry),
                None => {
                    return Err(ConfigError::new(
                        "GAD_OIDC_ROLE_MAP",
                        "must be `value=role,…` with roles admin, supervisor or officer",
                    ));
                }
            }
        }
        Ok(Some(Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id,
            client_secret: env.secret("GAD_OIDC_CLIENT_SECRET")?,
            redirect_url,
            role_claim: env.get("GAD_OIDC_ROLE_CLAIM").unwrap_or_else(|| "gad_role".into()),
            role_map,
            label: env.get("GAD_OIDC_LABEL").unwrap_or_else(|| "Ingresar con la cuenta institucional".into()),
        }))
    }

    /// The role a claim value names (the map first, then the role names themselves).
    pub fn role_of(&self, value: &str) -> Option<contract::domain::Role> {
        self.role_map.iter().find(|(v, _)| v == value).map(|(_, r)| *r).or_else(|| value.parse().ok())
    }
}

/// A secret that may change while the process runs: read from `NAME_FILE` again by
/// [`Config::reload_secrets`]. Set directly as `NAME` it never changes (a process's environment
/// is fixed). Clones share the value.
#[derive(Clone)]
pub struct LiveSecret(Arc<LiveInner>);

struct LiveInner {
    /// `NAME_FILE`, for messages.
    file_var: String,
    /// What a value read from the file must look like.
    check: SecretCheck,
    /// Whether an emptied file unsets the secret (the previous webhook secret: the rotation
    /// ended) or is a file caught mid-rewrite, whose value in use stays.
    clears_when_empty: bool,
    /// The file it is read from, when it came from one.
    file: Option<PathBuf>,
    value: RwLock<Option<Secret>>,
}

impl LiveSecret {
    /// A secret that never changes (tests, configurations built in code).
    pub fn fixed(value: Option<Secret>) -> Self {
        Self(Arc::new(LiveInner {
            file_var: String::new(),
            check: |_, _| Ok(()),
            clears_when_empty: false,
            file: None,
            value: RwLock::new(value),
        }))
    }

    /// The value now.
    pub fn get(&self) -> Option<Secret> {
        self.0.value.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub fn is_set(&self) -> bool {
        self.0.value.read().unwrap_or_else(std::sync::PoisonError::into_inner).is_some()
    }

    /// Reads the file again; `Ok(true)` when the value changed. A file that cannot be read or
    /// holds an invalid value keeps the value in use (an agent may be replacing it); an empty
    /// file is no secret.
    fn reload(&self) -> Result<bool, ConfigError> {
        let Some(path) = &self.0.file else { return Ok(false) };
        let fresh = read_secret_file(&self.0.file_var, path)?;
        match &fresh {
            Some(secret) => (self.0.check)(&self.0.file_var, secret)?,
            None if !self.0.clears_when_empty && self.is_set() => {
                return Err(ConfigError::new(&self.0.file_var, "is empty; the value in use stays"));
            }
            None => {}
        }
        let mut value = self.0.value.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let changed = *value != fresh;
        *value = fresh;
        Ok(changed)
    }
}

impl fmt::Debug for LiveSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_set() { "LiveSecret(***)" } else { "LiveSecret(unset)" })
    }
}

/// Telegram accepts 1–256 characters of A-Z a-z 0-9 _ -; we also want it unguessable.
fn webhook_secret_shape(name: &str, secret: &Secret) -> Result<(), ConfigError> {
    let s = secret.expose();
    if !(16..=256).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(ConfigError::new(name, "must be 16 to 256 characters among A-Z, a-z, 0-9, _ and -"));
    }
    Ok(())
}

/// What a [`LiveSecret`]'s value must look like (named by its variable).
type SecretCheck = fn(&str, &Secret) -> Result<(), ConfigError>;

/// A secret file's contents without the final line break; an empty file is no secret.
fn read_secret_file(file_var: &str, path: &std::path::Path) -> Result<Option<Secret>, ConfigError> {
    std::fs::read_to_string(path)
        .map(|s| Some(s.trim_end_matches(['\n', '\r']).to_owned()).filter(|s| !s.is_empty()).map(Secret::new))
        .map_err(|e| ConfigError::new(file_var, &format!("cannot read the file: {}", e.kind())))
}

/// Invalid configuration: names the variable, never echoes a secret value.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}: {reason}")]
pub struct ConfigError {
    pub variable: String,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub listen_addr: SocketAddr,
    /// `GAD_METRICS_ADDR`: a second listener for the operations endpoints (`/metrics`,
    /// `/ready`, `/health`), kept off the public site; then the main listener has no
    /// `/metrics`. Unset: `/metrics` is served on the main listener (embedded, local use).
    pub metrics_addr: Option<SocketAddr>,
    pub site_root: PathBuf,
    pub database_url: Secret,
    pub redis_url: Option<Secret>,
    /// Public base URL; an `https://` URL makes session cookies `Secure`.
    pub public_url: Option<String>,
    pub log_format: LogFormat,
    pub timezone: chrono_tz::Tz,
    pub admin_email: String,
    pub admin_password: Option<Secret>,
    pub demo_password: Option<Secret>,
    pub seed_demo: bool,
    /// With the demo data: how often its officers report a position on their beat (0: never).
    pub demo_patrol: Option<std::time::Duration>,
    pub login_max_failures: i32,
    pub login_lockout_minutes: i64,
    /// Roles that must sign in with a second factor (TOTP); a user of such a role without one
    /// is sent to enrol and can do nothing else. `GAD_2FA_REQUIRED_ROLES`: comma-separated
    /// roles, `none` for nobody; default `admin`.
    pub two_factor_required_roles: Vec<contract::domain::Role>,
    /// A dashboard session ends after this long without a request (`GAD_SESSION_IDLE_MINUTES`).
    pub session_idle: std::time::Duration,
    /// A dashboard session ends this long after sign-in, however busy (`GAD_SESSION_MAX_HOURS`).
    pub session_max: std::time::Duration,
    pub telegram_bot_token: Option<Secret>,
    /// Requests per minute per REST client (token or IP).
    pub rate_limit_per_minute: u32,
    /// Login attempts per minute per IP.
    pub login_rate_limit_per_minute: u32,
    /// Writes per minute per signed-in dashboard user (`GAD_WRITE_RATE_LIMIT_PER_MINUTE`): the
    /// server functions' budget (REST requests spend `rate_limit_per_minute`).
    pub write_rate_limit_per_minute: u32,
    /// Reads (GET and HEAD) answered at once (`GAD_MAX_CONCURRENT_READS`; 0: no limit); the
    /// rest wait their turn in arrival order. Default 8 per core, at least 16: a read waiting on
    /// the database holds its place, one waiting on another's computation of the overview gives
    /// it back meanwhile (docs/PERFORMANCE.md, thirteenth run).
    pub max_concurrent_reads: usize,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`GAD_TRUSTED_PROXIES`: addresses
    /// or CIDR blocks, comma-separated; default none). Anyone else's header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The bot's public username (without `@`), for `https://t.me/<bot>?start=<code>` links.
    pub telegram_bot_username: Option<String>,
    /// Base URL of the Telegram Bot API (a local Bot API server, or a fake in tests).
    pub telegram_api_url: String,
    /// Webhook mode: the secret Telegram sends in its `X-Telegram-Bot-Api-Secret-Token` header
    /// (never in the path). Unset: no webhook route (long polling).
    pub telegram_webhook_secret: LiveSecret,
    /// `TELEGRAM_WEBHOOK_SECRET_PREVIOUS`: during a rotation, the secret Telegram may still send
    /// until `gad bot --set-webhook` registers the new one; accepted beside it. Unset after.
    pub telegram_webhook_previous_secret: LiveSecret,
    /// How far from an emergency to look for available officers, in metres.
    pub emergency_radius_m: f64,
    /// How recent an officer's position must be to count for an emergency, in minutes.
    pub position_fresh_minutes: i64,
    /// The map's tile URL template (`{z}/{x}/{y}`); `None` (GAD_MAP_TILE_URL=none) draws no
    /// base map: markers and data still show, offline.
    pub map_tile_url: Option<String>,
    /// The map's default centre (latitude, longitude); Buenos Aires unless GAD_MAP_CENTER says
    /// otherwise (`lat,lon`).
    pub map_center: (f64, f64),
    /// Where `gad backup` puts dumps and `gad restore` reads them.
    pub backup: BackupConfig,
    /// `GAD_VIEW_CACHE` (default true): keep recently computed views (overview, list pages)
    /// for a few seconds; `false` computes every view on every request (benchmarks of the
    /// database path). Signed-in users stay cached either way (`cache::Caches::new`).
    pub view_cache: bool,
    /// `GAD_FEEDBACK_WEBHOOK_URL`: every new feedback item is POSTed there (a force's ticketing
    /// system), signed with [`Config::feedback_webhook_secret`]. Unset: no webhook.
    pub feedback_webhook_url: Option<String>,
    /// `GAD_FEEDBACK_WEBHOOK_SECRET` (16 characters or more): the HMAC-SHA256 key of the
    /// webhook's `X-GAD-Signature`; re-read from its file like the Telegram secrets.
    pub feedback_webhook_secret: LiveSecret,
    /// Single sign-on with OpenID Connect (`GAD_OIDC_*`); `None`: local accounts only.
    pub oidc: Option<OidcConfig>,
}

/// An S3 (or S3-compatible: MinIO, Ceph, Garage…) bucket for `gad backup` / `gad restore`.
#[derive(Clone, Debug)]
pub struct BackupConfig {
    /// `GAD_BACKUP_S3_ENDPOINT`: unset for AWS itself; `http(s)://host:port` otherwise.
    pub endpoint: Option<String>,
    /// `GAD_BACKUP_S3_BUCKET`: required by `gad backup` and `gad restore` only.
    pub bucket: Option<String>,
    /// `GAD_BACKUP_S3_REGION` (default `us-east-1`).
    pub region: String,
    /// `GAD_BACKUP_S3_PREFIX`: key prefix of the objects (default `gad/`).
    pub prefix: String,
    /// `GAD_BACKUP_S3_ACCESS_KEY_ID` (or `_FILE`).
    pub access_key_id: Option<Secret>,
    /// `GAD_BACKUP_S3_SECRET_ACCESS_KEY` (or `_FILE`).
    pub secret_access_key: Option<Secret>,
    /// `GAD_BACKUP_S3_PATH_STYLE`: `bucket` in the path, not the host name (default: true
    /// with a custom endpoint, false for AWS).
    pub path_style: bool,
}

/// OpenStreetMap's standard tiles: the default base map.
pub const DEFAULT_MAP_TILE_URL: &str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
/// The Obelisco, Buenos Aires.
pub const DEFAULT_MAP_CENTER: (f64, f64) = (-34.6037, -58.3816);

/// `10.0.0.0/8, 192.168.1.7, ::1`: addresses (as /32 or /128) and CIDR blocks.
fn parse_networks(text: &str) -> Option<Vec<ipnet::IpNet>> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| item.parse::<ipnet::IpNet>().ok().or_else(|| item.parse::<std::net::IpAddr>().ok().map(Into::into)))
        .collect()
}

/// `lat,lon` in range.
fn parse_center(text: &str) -> Option<(f64, f64)> {
    let (lat, lon) = text.split_once(',')?;
    let (lat, lon): (f64, f64) = (lat.trim().parse().ok()?, lon.trim().parse().ok()?);
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests can pass a map instead of the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env { lookup: &lookup };
        let secure_default = "sqlite://data/gad.db?mode=rwc";
        let listen_addr = env
            .parse("GAD_LISTEN_ADDR")?
            .or(env.parse("LEPTOS_SITE_ADDR")?)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000)));
        let database_url = env.secret("DATABASE_URL")?.unwrap_or_else(|| Secret::new(secure_default));
        let db = database_url.expose();
        if !(db.starts_with("sqlite:") || db.starts_with("postgres://") || db.starts_with("postgresql://")) {
            return Err(ConfigError::new("DATABASE_URL", "must start with sqlite:, postgres:// or postgresql://"));
        }
        let redis_url = env.secret("REDIS_URL")?;
        if let Some(url) = &redis_url
            && !(url.expose().starts_with("redis://") || url.expose().starts_with("rediss://"))
        {
            return Err(ConfigError::new("REDIS_URL", "must start with redis:// or rediss://"));
        }
        let log_format = match env.get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(ConfigError::new("LOG_FORMAT", "must be `json` or `pretty`")),
        };
        let timezone = match env.get("GAD_TIMEZONE") {
            None => chrono_tz::America::Argentina::Buenos_Aires,
            Some(tz) => tz.parse().map_err(|_| ConfigError::new("GAD_TIMEZONE", "unknown IANA time zone"))?,
        };
        let public_url = env.get("GAD_PUBLIC_URL");
        let telegram_webhook_secret = env.live_secret("TELEGRAM_WEBHOOK_SECRET", webhook_secret_shape, false)?;
        let telegram_webhook_previous_secret =
            env.live_secret("TELEGRAM_WEBHOOK_SECRET_PREVIOUS", webhook_secret_shape, true)?;
        if telegram_webhook_previous_secret.is_set() && !telegram_webhook_secret.is_set() {
            return Err(ConfigError::new(
                "TELEGRAM_WEBHOOK_SECRET_PREVIOUS",
                "is only read beside TELEGRAM_WEBHOOK_SECRET (the new secret of a rotation)",
            ));
        }
        let oidc = OidcConfig::from_env(&env, public_url.as_deref())?;
        let feedback_webhook_url = env.get("GAD_FEEDBACK_WEBHOOK_URL");
        let feedback_webhook_secret = env.live_secret(
            "GAD_FEEDBACK_WEBHOOK_SECRET",
            |name, secret| {
                if secret.expose().chars().count() < 16 {
                    return Err(ConfigError::new(name, "must be at least 16 characters"));
                }
                Ok(())
            },
            false,
        )?;
        if let Some(url) = &feedback_webhook_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::new("GAD_FEEDBACK_WEBHOOK_URL", "must be an http:// or https:// URL"));
            }
            if !feedback_webhook_secret.is_set() {
                return Err(ConfigError::new(
                    "GAD_FEEDBACK_WEBHOOK_SECRET",
                    "is required with GAD_FEEDBACK_WEBHOOK_URL",
                ));
            }
        }
        if let Some(url) = &public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::new("GAD_PUBLIC_URL", "must start with http:// or https://"));
        }
        let trusted_proxies = match env.get("GAD_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(list) => parse_networks(&list).ok_or_else(|| {
                ConfigError::new("GAD_TRUSTED_PROXIES", "must be IP addresses or CIDR blocks separated by commas")
            })?,
        };
        let emergency_radius_m: f64 = env.parse("GAD_EMERGENCY_RADIUS_M")?.unwrap_or(5000.0);
        if !(1.0..=100_000.0).contains(&emergency_radius_m) {
            return Err(ConfigError::new("GAD_EMERGENCY_RADIUS_M", "must be between 1 and 100000 metres"));
        }
        let position_fresh_minutes: i64 = env.parse("GAD_POSITION_FRESH_MINUTES")?.unwrap_or(15);
        if !(1..=7 * 24 * 60).contains(&position_fresh_minutes) {
            return Err(ConfigError::new("GAD_POSITION_FRESH_MINUTES", "must be between 1 and 10080 minutes"));
        }
        let backup_endpoint = env.get("GAD_BACKUP_S3_ENDPOINT").map(|u| u.trim_end_matches('/').to_owned());
        if let Some(url) = &backup_endpoint
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::new("GAD_BACKUP_S3_ENDPOINT", "must start with http:// or https://"));
        }
        let prefix = env.get("GAD_BACKUP_S3_PREFIX").unwrap_or_else(|| "gad/".into());
        let backup = BackupConfig {
            path_style: env.parse("GAD_BACKUP_S3_PATH_STYLE")?.unwrap_or(backup_endpoint.is_some()),
            endpoint: backup_endpoint,
            bucket: env.get("GAD_BACKUP_S3_BUCKET"),
            region: env.get("GAD_BACKUP_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
            prefix: if prefix.is_empty() || prefix.ends_with('/') { prefix } else { format!("{prefix}/") },
            access_key_id: env.secret("GAD_BACKUP_S3_ACCESS_KEY_ID")?,
            secret_access_key: env.secret("GAD_BACKUP_S3_SECRET_ACCESS_KEY")?,
        };
        if backup.access_key_id.is_some() != backup.secret_access_key.is_some() {
            return Err(ConfigError::new(
                "GAD_BACKUP_S3_SECRET_ACCESS_KEY",
                "set both GAD_BACKUP_S3_ACCESS_KEY_ID and GAD_BACKUP_S3_SECRET_ACCESS_KEY, or neither",
            ));
        }
        let map_tile_url = match env.get("GAD_MAP_TILE_URL") {
            None => Some(DEFAULT_MAP_TILE_URL.to_owned()),
            Some(url) if url.trim().eq_ignore_ascii_case("none") => None,
            Some(url) if url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/') => {
                Some(url.trim().to_owned())
            }
            Some(_) => {
                return Err(ConfigError::new(
                    "GAD_MAP_TILE_URL",
                    "must be an http(s):// or /path URL template, or `none`",
                ));
            }
        };
        let map_center = match env.get("GAD_MAP_CENTER") {
            None => DEFAULT_MAP_CENTER,
            Some(text) => parse_center(&text).ok_or_else(|| {
                ConfigError::new("GAD_MAP_CENTER", "must be `lat,lon` with lat in -90..90 and lon in -180..180")
            })?,
        };
        let two_factor_required_roles = match env.get("GAD_2FA_REQUIRED_ROLES") {
            None => vec![contract::domain::Role::Admin],
            Some(list) if list.trim().eq_ignore_ascii_case("none") => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|role| role.trim().parse::<contract::domain::Role>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    ConfigError::new(
                        "GAD_2FA_REQUIRED_ROLES",
                        "must be `none` or a comma-separated list of admin, supervisor, officer",
                    )
                })?,
        };
        Ok(Self {
            two_factor_required_roles,
            backup,
            listen_addr,
            metrics_addr: env.parse("GAD_METRICS_ADDR")?,
            site_root: env.get("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into()).into(),
            database_url,
            redis_url,
            public_url,
            log_format,
            timezone,
            admin_email: env.get("GAD_ADMIN_EMAIL").unwrap_or_else(|| "admin@gad.local".into()).to_lowercase(),
            admin_password: env.secret("GAD_ADMIN_PASSWORD")?,
            demo_password: env.secret("GAD_DEMO_PASSWORD")?,
            seed_demo: env.parse("GAD_SEED_DEMO")?.unwrap_or(false),
            demo_patrol: match env.parse::<u64>("GAD_DEMO_PATROL_SECONDS")?.unwrap_or(60) {
                0 => None,
                s if s <= 86_400 => Some(std::time::Duration::from_secs(s)),
                _ => return Err(ConfigError::new("GAD_DEMO_PATROL_SECONDS", "must be between 0 and 86400 seconds")),
            },
            login_max_failures: env.parse("GAD_LOGIN_MAX_FAILURES")?.unwrap_or(5),
            login_lockout_minutes: env.parse("GAD_LOGIN_LOCKOUT_MINUTES")?.unwrap_or(15),
            session_idle: env.duration("GAD_SESSION_IDLE_MINUTES", 60.0, 8.0 * 60.0, 7.0 * 24.0 * 60.0)?,
            session_max: env.duration("GAD_SESSION_MAX_HOURS", 3600.0, 12.0, 30.0 * 24.0)?,
            telegram_bot_token: env.secret("TELEGRAM_BOT_TOKEN")?,
            rate_limit_per_minute: env.parse("GAD_RATE_LIMIT_PER_MINUTE")?.unwrap_or(600),
            login_rate_limit_per_minute: env.parse("GAD_LOGIN_RATE_LIMIT_PER_MINUTE")?.unwrap_or(20),
            write_rate_limit_per_minute: env.parse("GAD_WRITE_RATE_LIMIT_PER_MINUTE")?.unwrap_or(600),
            max_concurrent_reads: env.parse("GAD_MAX_CONCURRENT_READS")?.unwrap_or_else(|| {
                (8 * std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)).max(16)
            }),
            telegram_bot_username: env.get("TELEGRAM_BOT_USERNAME").map(|u| u.trim_start_matches('@').to_owned()),
            telegram_api_url: env
                .get("TELEGRAM_API_URL")
                .map(|u| u.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| "https://api.telegram.org".into()),
            telegram_webhook_secret,
            telegram_webhook_previous_secret,
            trusted_proxies,
            emergency_radius_m,
            position_fresh_minutes,
            map_tile_url,
            map_center,
            view_cache: env.parse("GAD_VIEW_CACHE")?.unwrap_or(true),
            feedback_webhook_url,
            feedback_webhook_secret,
            oidc,
        })
    }

    /// Configuration for tests and tools: everything default except the database.
    pub fn for_database(database_url: &str) -> Self {
        let url = database_url.to_owned();
        Self::from_lookup(move |name| (name == "DATABASE_URL").then(|| url.clone())).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }

    /// Reads every [`LiveSecret`] from its file again: the variables whose value changed, and
    /// the files that could not be read (their secrets keep the value in use).
    pub fn reload_secrets(&self) -> (Vec<String>, Vec<ConfigError>) {
        let (mut changed, mut failed) = (Vec::new(), Vec::new());
        for live in
            [&self.telegram_webhook_secret, &self.telegram_webhook_previous_secret, &self.feedback_webhook_secret]
        {
            match live.reload() {
                Ok(true) => changed.push(live.0.file_var.clone()),
                Ok(false) => {}
                Err(e) => failed.push(e),
            }
        }
        (changed, failed)
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.expose().starts_with("sqlite:")
    }
}

impl ConfigError {
    fn new(variable: &str, reason: &str) -> Self {
        Self { variable: variable.into(), reason: reason.into() }
    }
}

struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl Env<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    fn parse<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ConfigError> {
        self.get(name).map(|v| v.trim().parse().map_err(|_| ConfigError::new(name, "has an invalid value"))).transpose()
    }

    /// A positive decimal number of `unit_seconds` units (fractions allowed, so tests can use
    /// seconds), at most `max`.
    fn duration(
        &self,
        name: &str,
        unit_seconds: f64,
        default: f64,
        max: f64,
    ) -> Result<std::time::Duration, ConfigError> {
        let value: f64 = self.parse(name)?.unwrap_or(default);
        if value.is_nan() || value <= 0.0 || value > max {
            return Err(ConfigError::new(name, &format!("must be a number above 0 and at most {max}")));
        }
        Ok(std::time::Duration::from_secs_f64(value * unit_seconds))
    }

    /// `NAME` or the contents of the file named by `NAME_FILE` (not both).
    fn secret(&self, name: &str) -> Result<Option<Secret>, ConfigError> {
        Ok(self.secret_source(name)?.0)
    }

    /// [`Self::secret`], checked by `check`, re-read from its file by [`Config::reload_secrets`];
    /// `clears_when_empty`: an emptied file unsets it (else the value in use stays).
    fn live_secret(&self, name: &str, check: SecretCheck, clears_when_empty: bool) -> Result<LiveSecret, ConfigError> {
        let (value, file) = self.secret_source(name)?;
        if let Some(secret) = &value {
            check(name, secret)?;
        }
        let file_var = format!("{name}_FILE");
        Ok(LiveSecret(Arc::new(LiveInner { file_var, check, clears_when_empty, file, value: RwLock::new(value) })))
    }

    /// The secret `name` and the file it came from, if it came from one.
    fn secret_source(&self, name: &str) -> Result<(Option<Secret>, Option<PathBuf>), ConfigError> {
        let file_var = format!("{name}_FILE");
        match (self.get(name), self.get(&file_var)) {
            (Some(_), Some(_)) => Err(ConfigError::new(name, &format!("set either {name} or {file_var}, not both"))),
            (Some(v), None) => Ok((Some(Secret::new(v)), None)),
            // An empty file is no secret, as an empty variable is unset (optional secrets of the
            // production overlay default to an empty file).
            (None, Some(path)) => {
                let path = PathBuf::from(path);
                Ok((read_secret_file(&file_var, &path)?, Some(path)))
            }
            (None, None) => Ok((None, None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(move |n| map.get(n).cloned())
    }

    #[test]
    fn defaults_are_the_embedded_setup() {
        let c = load(&[]).expect("defaults load");
        assert_eq!(c.listen_addr.to_string(), "127.0.0.1:3000");
        assert!(c.is_sqlite());
        assert!(c.redis_url.is_none());
        assert!(c.telegram_bot_token.is_none());
        assert_eq!(c.telegram_api_url, "https://api.telegram.org");
        assert!(!c.telegram_webhook_secret.is_set());
        assert!(!c.secure_cookies());
        assert_eq!(c.emergency_radius_m, 5000.0);
        assert_eq!(c.position_fresh_minutes, 15);
        assert_eq!(c.map_tile_url.as_deref(), Some(DEFAULT_MAP_TILE_URL));
        assert_eq!(c.map_center, DEFAULT_MAP_CENTER);
        assert!(c.backup.bucket.is_none());
        assert_eq!(c.backup.prefix, "gad/");
        assert!(!c.backup.path_style);
        assert_eq!(c.two_factor_required_roles, vec![contract::domain::Role::Admin]);
    }

    #[test]
    fn single_sign_on_reads_its_provider_over_https_or_on_this_machine() {
        let with = |issuer: &str| {
            load(&[
                ("GAD_OIDC_ISSUER", issuer),
                ("GAD_OIDC_CLIENT_ID", "gad"),
                ("GAD_OIDC_REDIRECT_URL", "https://gad.example.org/auth/oidc/callback"),
            ])
        };
        for ok in ["https://idp.example.org/realms/x", "http://127.0.0.1:8080", "http://localhost/x", "http://[::1]:9"]
        {
            assert!(with(ok).is_ok(), "{ok}");
        }
        for bad in ["http://idp.example.org", "http://127.0.0.1.evil.org", "http://localhost:80@evil.org", "ftp://x"] {
            assert_eq!(with(bad).expect_err(bad).variable, "GAD_OIDC_ISSUER", "{bad}");
        }
    }

    #[test]
    fn two_factor_required_roles_are_parsed() {
        use contract::domain::Role;
        let c = load(&[("GAD_2FA_REQUIRED_ROLES", "admin, supervisor")]).expect("loads");
        assert_eq!(c.two_factor_required_roles, vec![Role::Admin, Role::Supervisor]);
        assert!(load(&[("GAD_2FA_REQUIRED_ROLES", "none")]).expect("loads").two_factor_required_roles.is_empty());
        let bad = load(&[("GAD_2FA_REQUIRED_ROLES", "admin,jefe")]).expect_err("refused");
        assert_eq!(bad.variable, "GAD_2FA_REQUIRED_ROLES");
    }

    #[test]
    fn backup_settings_take_secrets_from_files() {
        let dir = std::env::temp_dir().join(format!("gad-cfg-s3-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let file = dir.join("s3-secret");
        std::fs::write(&file, "very-secret-key\n").expect("write");
        let c = load(&[
            ("GAD_BACKUP_S3_ENDPOINT", "http://127.0.0.1:9000/"),
            ("GAD_BACKUP_S3_BUCKET", "gad-backups"),
            ("GAD_BACKUP_S3_PREFIX", "prod"),
            ("GAD_BACKUP_S3_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("GAD_BACKUP_S3_SECRET_ACCESS_KEY_FILE", file.to_str().expect("utf8")),
        ])
        .expect("loads");
        assert_eq!(c.backup.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(c.backup.prefix, "prod/");
        assert!(c.backup.path_style, "a custom endpoint defaults to path-style addressing");
        assert_eq!(c.backup.secret_access_key.as_ref().map(Secret::expose), Some("very-secret-key"));
        assert!(!format!("{c:?}").contains("very-secret-key"));
        let half = load(&[("GAD_BACKUP_S3_ACCESS_KEY_ID", "AKIDEXAMPLE")]).expect_err("refused");
        assert_eq!(half.variable, "GAD_BACKUP_S3_SECRET_ACCESS_KEY");
        let bad = load(&[("GAD_BACKUP_S3_ENDPOINT", "s3.example.org")]).expect_err("refused");
        assert_eq!(bad.variable, "GAD_BACKUP_S3_ENDPOINT");
    }

    #[test]
    fn map_settings_are_checked() {
        let c = load(&[("GAD_MAP_TILE_URL", "none"), ("GAD_MAP_CENTER", "-31.4201, -64.1888")]).expect("loads");
        assert_eq!(c.map_tile_url, None);
        assert_eq!(c.map_center, (-31.4201, -64.1888));
        let c = load(&[("GAD_MAP_TILE_URL", "/tiles/{z}/{x}/{y}.png")]).expect("loads");
        assert_eq!(c.map_tile_url.as_deref(), Some("/tiles/{z}/{x}/{y}.png"));
        for (var, value) in [("GAD_MAP_CENTER", "-95,10"), ("GAD_MAP_CENTER", "abc"), ("GAD_MAP_TILE_URL", "ftp://x")] {
            let err = load(&[(var, value)]).expect_err(value);
            assert_eq!(err.variable, var);
        }
    }

    #[test]
    fn invalid_values_name_the_variable_without_echoing_secrets() {
        let err = load(&[("DATABASE_URL", "mysql://user:hunter2@x/db")]).expect_err("refused");
        assert_eq!(err.variable, "DATABASE_URL");
        assert!(!err.to_string().contains("hunter2"));
        assert_eq!(
            load(&[("GAD_LOGIN_MAX_FAILURES", "many")]).expect_err("refused").variable,
            "GAD_LOGIN_MAX_FAILURES"
        );
        assert_eq!(load(&[("LOG_FORMAT", "xml")]).expect_err("refused").variable, "LOG_FORMAT");
        assert_eq!(load(&[("GAD_TIMEZONE", "Mars/Olympus")]).expect_err("refused").variable, "GAD_TIMEZONE");
        assert_eq!(load(&[("GAD_EMERGENCY_RADIUS_M", "0")]).expect_err("refused").variable, "GAD_EMERGENCY_RADIUS_M");
        assert_eq!(
            load(&[("GAD_POSITION_FRESH_MINUTES", "-5")]).expect_err("refused").variable,
            "GAD_POSITION_FRESH_MINUTES"
        );
        let weak = load(&[("TELEGRAM_WEBHOOK_SECRET", "short")]).expect_err("refused");
        assert_eq!(weak.variable, "TELEGRAM_WEBHOOK_SECRET");
        assert!(!weak.to_string().contains("short"));
        let odd = load(&[("TELEGRAM_WEBHOOK_SECRET", "a/long/secret/with/slashes")]).expect_err("refused");
        assert_eq!(odd.variable, "TELEGRAM_WEBHOOK_SECRET");
    }

    #[test]
    fn secrets_come_from_files_and_never_print() {
        let dir = std::env::temp_dir().join(format!("gad-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let file = dir.join("pw");
        std::fs::write(&file, "s3cret-value\n").expect("write");
        let c = load(&[("GAD_ADMIN_PASSWORD_FILE", file.to_str().expect("utf8"))]).expect("loads");
        assert_eq!(c.admin_password.as_ref().map(Secret::expose), Some("s3cret-value"));
        assert!(!format!("{c:?}").contains("s3cret-value"));
        let missing = load(&[("TELEGRAM_BOT_TOKEN_FILE", "/nonexistent/token")]).expect_err("refused");
        assert_eq!(missing.variable, "TELEGRAM_BOT_TOKEN_FILE");
        let both = load(&[("GAD_ADMIN_PASSWORD", "a"), ("GAD_ADMIN_PASSWORD_FILE", "/x")]).expect_err("refused");
        assert_eq!(both.variable, "GAD_ADMIN_PASSWORD");
        // An empty file (an optional secret of the production overlay) is no secret.
        let empty = dir.join("empty");
        std::fs::write(&empty, "\n").expect("write");
        let c = load(&[("TELEGRAM_WEBHOOK_SECRET_FILE", empty.to_str().expect("utf8"))]).expect("loads");
        assert!(!c.telegram_webhook_secret.is_set());
    }

    /// A secrets manager's agent rewrites the files; a reload takes the new values, keeps the
    /// value in use while a file is missing or invalid, and never re-reads a secret set in the
    /// environment.
    #[test]
    fn live_secrets_follow_their_files() {
        let dir = std::env::temp_dir().join(format!("gad-live-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (current, previous) = (dir.join("current"), dir.join("previous"));
        std::fs::write(&current, "first-secret-0123456789\n").expect("write");
        std::fs::write(&previous, "").expect("write");
        let c = load(&[
            ("TELEGRAM_WEBHOOK_SECRET_FILE", current.to_str().expect("utf8")),
            ("TELEGRAM_WEBHOOK_SECRET_PREVIOUS_FILE", previous.to_str().expect("utf8")),
        ])
        .expect("loads");
        let value = |s: &LiveSecret| s.get().map(|s| s.expose().to_owned());
        assert_eq!(value(&c.telegram_webhook_secret).as_deref(), Some("first-secret-0123456789"));
        assert_eq!(c.reload_secrets().0, Vec::<String>::new(), "nothing changed");

        // The rotation: the new secret, the old one as previous.
        std::fs::write(&current, "second-secret-0123456789").expect("write");
        std::fs::write(&previous, "first-secret-0123456789\n").expect("write");
        let (changed, failed) = c.reload_secrets();
        assert!(failed.is_empty());
        assert_eq!(changed, ["TELEGRAM_WEBHOOK_SECRET_FILE", "TELEGRAM_WEBHOOK_SECRET_PREVIOUS_FILE"]);
        assert_eq!(value(&c.telegram_webhook_secret).as_deref(), Some("second-secret-0123456789"));
        assert_eq!(value(&c.telegram_webhook_previous_secret).as_deref(), Some("first-secret-0123456789"));
        // A clone (what the webhook holds) sees the same value.
        let held = c.telegram_webhook_secret.clone();

        // A file being replaced, or holding a value Telegram would refuse: the value stays.
        std::fs::remove_file(&current).expect("remove");
        std::fs::write(&previous, "too short").expect("write");
        let (changed, failed) = c.reload_secrets();
        assert!(changed.is_empty());
        let names: Vec<&str> = failed.iter().map(|e| e.variable.as_str()).collect();
        assert_eq!(names, ["TELEGRAM_WEBHOOK_SECRET_FILE", "TELEGRAM_WEBHOOK_SECRET_PREVIOUS_FILE"]);
        assert!(failed.iter().all(|e| !e.to_string().contains("too short")), "no value in messages");
        assert_eq!(value(&held).as_deref(), Some("second-secret-0123456789"));
        assert_eq!(value(&c.telegram_webhook_previous_secret).as_deref(), Some("first-secret-0123456789"));

        // The current secret's file caught empty (an agent rewriting it in place): it stays.
        std::fs::write(&current, "").expect("write");
        let (changed, failed) = c.reload_secrets();
        assert!(changed.is_empty());
        assert!(failed.iter().any(|e| e.variable == "TELEGRAM_WEBHOOK_SECRET_FILE"));
        assert_eq!(value(&c.telegram_webhook_secret).as_deref(), Some("second-secret-0123456789"));

        // The rotation ends: the previous secret's file is emptied.
        std::fs::write(&current, "second-secret-0123456789").expect("write");
        std::fs::write(&previous, "\n").expect("write");
        assert_eq!(c.reload_secrets().0, ["TELEGRAM_WEBHOOK_SECRET_PREVIOUS_FILE"]);
        assert!(!c.telegram_webhook_previous_secret.is_set());
        assert!(!format!("{c:?}").contains("second-secret"));

        // Set in the environment, a secret is what it was.
        let fixed = load(&[("TELEGRAM_WEBHOOK_SECRET", "env-secret-0123456789")]).expect("loads");
        let (changed, failed) = fixed.reload_secrets();
        assert!(changed.is_empty() && failed.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn https_public_url_makes_cookies_secure() {
        assert!(load(&[("GAD_PUBLIC_URL", "https://gad.example.org")]).expect("loads").secure_cookies());
    }

    #[test]
    fn trusted_proxies_are_addresses_or_blocks() {
        assert!(load(&[]).expect("loads").trusted_proxies.is_empty());
        let c = load(&[("GAD_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7,::1")]).expect("loads");
        let shown: Vec<String> = c.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.0/8", "192.168.1.7/32", "::1/128"]);
        let err = load(&[("GAD_TRUSTED_PROXIES", "10.0.0.0/8,caddy")]).expect_err("refused");
        assert_eq!(err.variable, "GAD_TRUSTED_PROXIES");
    }
}

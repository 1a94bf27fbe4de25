//! `gad verify --url <base>`: checks a running GAD from the outside, the way an operator
//! would after a deploy, and prints one pass/fail line per check.
//!
//! Checks: `/health`, `/ready`, the TLS certificate's expiry (https only), the `/metrics`
//! exposition format (`/ready` and `/metrics` at `--internal-url` when given: behind Caddy
//! they are not public), the login page, and the Telegram webhook (`getWebhookInfo`, only when
//! `TELEGRAM_BOT_TOKEN` is configured). The post-deploy list adds, when asked: the domain
//! resolving to the expected addresses (`--expect-address`), every compose service running
//! and healthy (`--compose`), and recent logs (`--logs`) free of errors, panics and leaked
//! secrets. No secret ever appears in the output.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use gad_core::config::Config;
use serde_json::Value;

/// What to check and how strictly.
#[derive(Clone, Debug)]
pub struct Options {
    /// Base URL of the site, e.g. `https://gad.example.org`.
    pub url: String,
    /// Base URL of `/ready` and `/metrics` when the site hides them (Caddy answers 404 there):
    /// the operations listener, `GAD_METRICS_ADDR`. `None`: [`Options::url`].
    pub internal_url: Option<String>,
    /// Extra PEM root certificate to trust (a private CA, Caddy's internal one).
    pub ca_cert: Option<PathBuf>,
    /// A certificate expiring in fewer days than this fails.
    pub min_cert_days: i64,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Addresses the URL's host must resolve to (all of them); empty: not checked.
    pub expect_addresses: Vec<std::net::IpAddr>,
    /// Recent logs to scan (`-`: standard input), e.g. `docker compose logs --since 1h`.
    pub logs: Option<PathBuf>,
    /// Check `docker compose ps` (run beside the compose files).
    pub compose: bool,
    /// The DNS server asked for CAA records; `None`: the system's (`/etc/resolv.conf`).
    pub dns_server: Option<std::net::SocketAddr>,
    /// Certificate authorities (CAA issuer domains) the site's certificates come from.
    pub ca_domains: Vec<String>,
}

/// Caddy's issuers by default: Let's Encrypt, and ZeroSSL (Sectigo) when it fails.
pub const DEFAULT_CAS: [&str; 2] = ["letsencrypt.org", "sectigo.com"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    Skipped,
}

/// One line of the report.
#[derive(Clone, Debug)]
pub struct Check {
    pub name: &'static str,
    pub outcome: Outcome,
    pub detail: String,
}

impl Check {
    fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Self { name, outcome: Outcome::Pass, detail: detail.into() }
    }
    fn fail(name: &'static str, detail: impl Into<String>) -> Self {
        Self { name, outcome: Outcome::Fail, detail: detail.into() }
    }
    fn skipped(name: &'static str, detail: impl Into<String>) -> Self {
        Self { name, outcome: Outcome::Skipped, detail: detail.into() }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = match self.outcome {
            Outcome::Pass => "OK    ",
            Outcome::Fail => "FALLA ",
            Outcome::Skipped => "OMITE ",
        };
        write!(f, "[{mark}] {:<10} {}", self.name, self.detail)
    }
}

/// The report: every check, in order.
#[derive(Clone, Debug)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.outcome != Outcome::Fail)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            writeln!(f, "{check}")?;
        }
        let failed = self.checks.iter().filter(|c| c.outcome == Outcome::Fail).count();
        if failed == 0 {
            write!(f, "verificación correcta: {} comprobaciones", self.checks.len())
        } else {
            write!(f, "verificación FALLIDA: {failed} de {} comprobaciones fallaron", self.checks.len())
        }
    }
}

/// Runs every check against `options.url`; the Telegram settings come from `config`.
pub async fn run(options: &Options, config: &Config) -> anyhow::Result<Report> {
    let base = options.url.trim_end_matches('/').to_owned();
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        anyhow::bail!("--url must start with http:// or https://");
    }
    let internal = options.internal_url.as_deref().map_or(base.as_str(), |u| u.trim_end_matches('/')).to_owned();
    if !(internal.starts_with("http://") || internal.starts_with("https://")) {
        anyhow::bail!("--internal-url must start with http:// or https://");
    }
    let mut builder = reqwest::Client::builder()
        .timeout(options.timeout)
        .connect_timeout(options.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .tls_info(true);
    if let Some(path) = &options.ca_cert {
        let pem = std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        builder = builder.add_root_certificate(reqwest::Certificate::from_pem(&pem)?);
    }
    let http = builder.build()?;

    let mut checks = Vec::new();
    let health = http.get(format!("{base}/health")).send().await;
    let certificate = health.as_ref().ok().and_then(|r| {
        r.extensions().get::<reqwest::tls::TlsInfo>().and_then(|info| info.peer_certificate().map(<[u8]>::to_vec))
    });
    checks.push(check_health(health).await);
    checks.push(check_ready(http.get(format!("{internal}/ready")).send().await).await);
    checks.push(check_tls(&base, certificate.as_deref(), options.min_cert_days, checks[0].outcome));
    checks.push(check_metrics(http.get(format!("{internal}/metrics")).send().await).await);
    checks.push(check_login(http.get(format!("{base}/login")).send().await).await);
    checks.push(check_webhook(&http, config).await);
    checks.push(check_dns(&base, &options.expect_addresses).await);
    checks.push(check_caa(&base, options.dns_server, &options.ca_domains).await);
    checks.push(if options.compose {
        check_compose(compose_ps().await)
    } else {
        Check::skipped("servicios", "sin --compose")
    });
    checks.push(match &options.logs {
        None => Check::skipped("registros", "sin --logs"),
        Some(path) => match read_logs(path).await {
            Ok(text) => check_logs(&text, &known_secrets(config)),
            Err(e) => Check::fail("registros", format!("no se pudieron leer los registros: {e}")),
        },
    });
    Ok(Report { checks })
}

/// The URL's host resolves (through the system's resolver) to every expected address.
async fn check_dns(base: &str, expected: &[std::net::IpAddr]) -> Check {
    if expected.is_empty() {
        return Check::skipped("dns", "sin --expect-address");
    }
    let Ok(url) = reqwest::Url::parse(base) else { return Check::fail("dns", "URL inválida") };
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return Check::fail("dns", "la URL no tiene servidor");
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let resolved: Vec<std::net::IpAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => addrs.map(|a| a.ip()).collect(),
        Err(e) => return Check::fail("dns", format!("{host} no resuelve: {}", e.kind())),
    };
    let list = |ips: &[std::net::IpAddr]| ips.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let missing: Vec<std::net::IpAddr> = expected.iter().filter(|ip| !resolved.contains(ip)).copied().collect();
    if missing.is_empty() {
        Check::pass("dns", format!("{host} resuelve a {}", list(&resolved)))
    } else {
        Check::fail("dns", format!("{host} resuelve a {}, no a {}", list(&resolved), list(&missing)))
    }
}

/// Under the CAA records of the URL's host (its own or its closest ancestor's), one of `cas`
/// may issue its certificate. https with a domain name only; no records at all passes (any
/// authority may issue), a failed lookup fails (an authority would refuse to issue too).
pub async fn check_caa(base: &str, server: Option<std::net::SocketAddr>, cas: &[String]) -> Check {
    let Ok(url) = reqwest::Url::parse(base) else { return Check::fail("caa", "URL inválida") };
    let host = url.host_str().unwrap_or_default().to_owned();
    if host.is_empty() || host.starts_with('[') || host.parse::<std::net::IpAddr>().is_ok() {
        return Check::skipped("caa", "la URL no nombra un dominio");
    }
    if url.scheme() != "https" || host == "localhost" || !host.contains('.') {
        return Check::skipped("caa", "solo para https con un dominio público");
    }
    let Some(server) = server.or_else(crate::caa::system_server) else {
        return Check::fail("caa", "no hay servidor DNS (/etc/resolv.conf ni --dns-server)");
    };
    let cas: Vec<String> =
        if cas.is_empty() { DEFAULT_CAS.iter().map(|s| (*s).to_owned()).collect() } else { cas.to_vec() };
    match crate::caa::relevant_set(&host, server).await {
        Err(e) => Check::fail("caa", e),
        Ok(None) => Check::pass("caa", format!("{host} sin registros CAA: cualquier autoridad puede emitir")),
        Ok(Some((name, set))) => match crate::caa::allows(&set, &cas) {
            Ok(why) => Check::pass("caa", format!("CAA de {name} {why}")),
            Err(why) => Check::fail("caa", format!("CAA de {name}: {why}")),
        },
    }
}

/// `docker compose ps --all --format json` in the current directory (its compose files and
/// `.env`): the raw output, or why it could not run.
async fn compose_ps() -> Result<String, String> {
    let run = || std::process::Command::new("docker").args(["compose", "ps", "--all", "--format", "json"]).output();
    let output = tokio::task::spawn_blocking(run)
        .await
        .map_err(|e| format!("docker compose no se pudo ejecutar: {e}"))?
        .map_err(|e| format!("docker compose no se pudo ejecutar: {}", e.kind()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("docker compose ps falló: {}", stderr.lines().next().unwrap_or("").trim()));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Every service running (and healthy when it has a health check); a one-shot job (the
/// migration) may have exited with 0.
pub fn check_compose(ps: Result<String, String>) -> Check {
    let text = match ps {
        Ok(text) => text,
        Err(e) => return Check::fail("servicios", e),
    };
    // Compose prints one object per line (older releases: one array).
    let containers: Vec<Value> = match serde_json::from_str::<Value>(text.trim()) {
        Ok(Value::Array(items)) => items,
        _ => text.lines().filter(|l| !l.trim().is_empty()).filter_map(|l| serde_json::from_str(l).ok()).collect(),
    };
    if containers.is_empty() {
        return Check::fail("servicios", "docker compose no informa ningún servicio");
    }
    let mut problems = Vec::new();
    for c in &containers {
        let name = c["Service"].as_str().or(c["Name"].as_str()).unwrap_or("?");
        let state = c["State"].as_str().unwrap_or("");
        let health = c["Health"].as_str().unwrap_or("");
        let exit = c["ExitCode"].as_i64().unwrap_or(-1);
        let ok = match state {
            "running" => health.is_empty() || health == "healthy",
            "exited" => exit == 0,
            _ => false,
        };
        if !ok {
            let health = if health.is_empty() { String::new() } else { format!(", {health}") };
            let exit = if state == "exited" { format!(", código {exit}") } else { String::new() };
            problems.push(format!("{name} ({state}{health}{exit})"));
        }
    }
    if problems.is_empty() {
        Check::pass("servicios", format!("{} contenedores en marcha y sanos", containers.len()))
    } else {
        Check::fail("servicios", format!("con problemas: {}", problems.join(", ")))
    }
}

async fn read_logs(path: &std::path::Path) -> std::io::Result<String> {
    let path = path.to_owned();
    let read = move || {
        let mut bytes = Vec::new();
        if path.as_os_str() == "-" {
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)?;
        } else {
            bytes = std::fs::read(path)?;
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    tokio::task::spawn_blocking(read).await.map_err(std::io::Error::other)?
}

/// The configured secrets worth looking for in logs (8 characters or more), by variable.
fn known_secrets(config: &Config) -> Vec<(&'static str, String)> {
    let url_password = |url: &str| reqwest::Url::parse(url).ok().and_then(|u| u.password().map(str::to_owned));
    let mut found: Vec<(&'static str, Option<String>)> = vec![
        ("DATABASE_URL", url_password(config.database_url.expose())),
        ("REDIS_URL", config.redis_url.as_ref().and_then(|u| url_password(u.expose()))),
        ("TELEGRAM_BOT_TOKEN", config.telegram_bot_token.as_ref().map(|s| s.expose().to_owned())),
        ("TELEGRAM_WEBHOOK_SECRET", config.telegram_webhook_secret.get().map(|s| s.expose().to_owned())),
        (
            "TELEGRAM_WEBHOOK_SECRET_PREVIOUS",
            config.telegram_webhook_previous_secret.get().map(|s| s.expose().to_owned()),
        ),
        ("GAD_ADMIN_PASSWORD", config.admin_password.as_ref().map(|s| s.expose().to_owned())),
        ("GAD_DEMO_PASSWORD", config.demo_password.as_ref().map(|s| s.expose().to_owned())),
        ("GAD_BACKUP_S3_SECRET_ACCESS_KEY", config.backup.secret_access_key.as_ref().map(|s| s.expose().to_owned())),
    ];
    found.retain(|(_, v)| v.as_ref().is_some_and(|v| v.chars().count() >= 8));
    found.into_iter().filter_map(|(name, v)| v.map(|v| (name, v))).collect()
}

/// A Telegram bot token's shape (`123456789:AA…`, 30 or more characters after the colon).
fn bot_token_shape(line: &str) -> bool {
    let bytes = line.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b':' && {
            let digits = bytes[..i].iter().rev().take_while(|c| c.is_ascii_digit()).count();
            let rest =
                bytes[i + 1..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b'-').count();
            (6..=12).contains(&digits) && rest >= 30
        }
    })
}

/// A URL with a password in it (`scheme://user:password@host`).
fn credentials_in_url(line: &str) -> bool {
    line.match_indices("://").any(|(i, _)| {
        let authority: &str =
            line[i + 3..].split(|c: char| c == '/' || c.is_whitespace() || c == '"').next().unwrap_or("");
        authority
            .split_once('@')
            .is_some_and(|(userinfo, _)| userinfo.split_once(':').is_some_and(|(_, p)| !p.is_empty()))
    })
}

/// A JSON log line (after compose's `service  | ` prefix) at level ERROR, a plain one whose
/// level word is ERROR, or a panic.
fn is_error_line(line: &str) -> bool {
    if line.contains("panicked at") {
        return true;
    }
    if let Some(json) = line.find('{').and_then(|i| serde_json::from_str::<Value>(&line[i..]).ok()) {
        return json["level"].as_str().is_some_and(|l| l.eq_ignore_ascii_case("error"));
    }
    // Plain format: `2026-12-04T10:00:00Z ERROR target: message` (colours stripped).
    let plain: String = line
        .split('\u{1b}')
        .enumerate()
        .map(|(i, part)| if i == 0 { part } else { part.split_once('m').map_or(part, |(_, rest)| rest) })
        .collect();
    plain.split_whitespace().take(4).any(|w| w == "ERROR")
}

/// Recent logs: no error or panic lines, no configured secret, nothing shaped like a bot token
/// or a URL with a password. Lines are named by number, their text never printed.
pub fn check_logs(text: &str, secrets: &[(&'static str, String)]) -> Check {
    let mut errors = Vec::new();
    let mut leaks = Vec::new();
    let mut lines = 0;
    for (number, line) in text.lines().enumerate() {
        lines += 1;
        let number = number + 1;
        if is_error_line(line) {
            errors.push(number);
        }
        for (name, value) in secrets {
            if line.contains(value.as_str()) {
                leaks.push(format!("{name} (línea {number})"));
            }
        }
        if bot_token_shape(line) {
            leaks.push(format!("un token de bot (línea {number})"));
        }
        if credentials_in_url(line) {
            leaks.push(format!("una URL con contraseña (línea {number})"));
        }
    }
    let first = |numbers: &[usize]| numbers.iter().take(5).map(ToString::to_string).collect::<Vec<_>>().join(", ");
    match (errors.is_empty(), leaks.is_empty()) {
        (true, true) => Check::pass("registros", format!("{lines} líneas sin errores ni secretos")),
        (_, false) => {
            leaks.truncate(5);
            Check::fail("registros", format!("secretos en los registros: {}", leaks.join(", ")))
        }
        (false, true) => {
            Check::fail("registros", format!("{} líneas de error o pánico (líneas {})", errors.len(), first(&errors)))
        }
    }
}

/// A transport error without its URL (a Telegram URL carries the bot token).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "tiempo de espera agotado"
    } else if error.is_connect() {
        "no se pudo conectar"
    } else {
        "error de transporte"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() { kind.to_owned() } else { format!("{kind}: {cause}") }
}

async fn json_of(response: Result<reqwest::Response, reqwest::Error>) -> Result<(u16, Value), String> {
    let response = response.map_err(|e| describe(&e))?;
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.map_err(|_| format!("HTTP {status}, la respuesta no es JSON"))?;
    Ok((status, body))
}

async fn check_health(response: Result<reqwest::Response, reqwest::Error>) -> Check {
    match json_of(response).await {
        Ok((200, body)) if body["status"] == "ok" => {
            Check::pass("salud", format!("/health 200, versión {}", body["version"].as_str().unwrap_or("?")))
        }
        Ok((status, body)) => Check::fail("salud", format!("/health respondió {status}: {body}")),
        Err(e) => Check::fail("salud", format!("/health: {e}")),
    }
}

async fn check_ready(response: Result<reqwest::Response, reqwest::Error>) -> Check {
    match json_of(response).await {
        Ok((200, body)) if body["status"] == "ready" => {
            let names: Vec<&str> =
                body["checks"].as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
            Check::pass("listo", format!("/ready 200 ({})", names.join(", ")))
        }
        Ok((status, body)) => {
            let failing: Vec<String> = body["checks"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(_, v)| v["status"] != "ok")
                        .map(|(k, v)| format!("{k}: {}", v["error"].as_str().unwrap_or("error")))
                        .collect()
                })
                .unwrap_or_default();
            Check::fail("listo", format!("/ready respondió {status}: {}", failing.join("; ")))
        }
        Err(e) => Check::fail("listo", format!("/ready: {e}")),
    }
}

fn check_tls(base: &str, certificate: Option<&[u8]>, min_days: i64, health: Outcome) -> Check {
    if !base.starts_with("https://") {
        return Check::skipped("tls", "la URL no usa HTTPS");
    }
    let Some(der) = certificate else {
        return if health == Outcome::Fail {
            Check::fail("tls", "sin conexión TLS (ver salud)")
        } else {
            Check::fail("tls", "el servidor no presentó certificado")
        };
    };
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, cert)) => {
            let not_after = cert.validity().not_after.timestamp();
            let days = (not_after - chrono::Utc::now().timestamp()) / 86_400;
            let until = chrono::DateTime::from_timestamp(not_after, 0).map(|t| t.to_rfc3339()).unwrap_or_default();
            if days >= min_days {
                Check::pass("tls", format!("certificado válido hasta {until} ({days} días)"))
            } else {
                Check::fail("tls", format!("el certificado vence el {until} ({days} días; mínimo {min_days})"))
            }
        }
        Err(_) => Check::fail("tls", "certificado ilegible"),
    }
}

async fn check_metrics(response: Result<reqwest::Response, reqwest::Error>) -> Check {
    let response = match response {
        Ok(r) => r,
        Err(e) => return Check::fail("métricas", format!("/metrics: {}", describe(&e))),
    };
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = response.text().await.unwrap_or_default();
    if status != 200 || !content_type.starts_with("text/plain") {
        return Check::fail("métricas", format!("/metrics respondió {status} ({content_type})"));
    }
    match parse_exposition(&text) {
        Err(e) => Check::fail("métricas", format!("formato de exposición inválido: {e}")),
        Ok(samples) => {
            let missing: Vec<&str> =
                ["gad_build_info", "gad_db_up"].into_iter().filter(|m| !samples.iter().any(|s| s.name == *m)).collect();
            if missing.is_empty() {
                Check::pass("métricas", format!("/metrics: {} series en formato Prometheus", samples.len()))
            } else {
                Check::fail("métricas", format!("faltan métricas: {}", missing.join(", ")))
            }
        }
    }
}

async fn check_login(response: Result<reqwest::Response, reqwest::Error>) -> Check {
    let response = match response {
        Ok(r) => r,
        Err(e) => return Check::fail("login", format!("/login: {}", describe(&e))),
    };
    let status = response.status().as_u16();
    let html = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/html"));
    let body = response.text().await.unwrap_or_default();
    if status == 200 && html && body.contains("<form") && body.contains(r#"name="password""#) {
        Check::pass("login", "/login muestra el formulario de ingreso")
    } else {
        Check::fail("login", format!("/login respondió {status} sin el formulario de ingreso"))
    }
}

async fn check_webhook(http: &reqwest::Client, config: &Config) -> Check {
    let Some(token) = &config.telegram_bot_token else {
        return Check::skipped("webhook", "sin TELEGRAM_BOT_TOKEN");
    };
    let url = format!("{}/bot{}/getWebhookInfo", config.telegram_api_url, token.expose());
    let body = match json_of(http.get(url).send().await).await {
        Ok((_, body)) => body,
        Err(e) => return Check::fail("webhook", format!("getWebhookInfo: {e}")),
    };
    if body["ok"] != true {
        return Check::fail(
            "webhook",
            format!("getWebhookInfo rechazado: {}", body["description"].as_str().unwrap_or("sin descripción")),
        );
    }
    let info = &body["result"];
    let registered = info["url"].as_str().unwrap_or("");
    let pending = info["pending_update_count"].as_i64().unwrap_or(0);
    if !config.telegram_webhook_secret.is_set() {
        return if registered.is_empty() {
            Check::pass("webhook", format!("sin webhook (modo long polling), {pending} actualizaciones pendientes"))
        } else {
            Check::fail("webhook", "hay un webhook registrado pero GAD usa long polling (sin TELEGRAM_WEBHOOK_SECRET)")
        };
    }
    let expected =
        config.public_url.as_deref().map(|u| format!("{}{}", u.trim_end_matches('/'), crate::bot::WEBHOOK_PATH));
    if registered.is_empty() {
        return Check::fail("webhook", "ningún webhook registrado (gad bot --set-webhook)");
    }
    if let Some(url) = &expected
        && registered != url
    {
        // Never echo what is registered: an old registration holds the secret in its path.
        return Check::fail("webhook", format!("el webhook no es {url} (gad bot --set-webhook)"));
    }
    // A recent delivery error (the last hour) means Telegram cannot reach us.
    let last_error = info["last_error_date"].as_i64().unwrap_or(0);
    if chrono::Utc::now().timestamp() - last_error < 3600 {
        let message = info["last_error_message"].as_str().unwrap_or("error");
        return Check::fail("webhook", format!("Telegram no puede entregar actualizaciones: {message}"));
    }
    Check::pass("webhook", format!("webhook registrado, {pending} actualizaciones pendientes"))
}

/// One sample of the Prometheus text format.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// Parses the Prometheus text exposition format (version 0.0.4) strictly: `# HELP`/`# TYPE`
/// comments with valid names and types, and samples `name{label="value",…} value [timestamp]`.
pub fn parse_exposition(text: &str) -> Result<Vec<Sample>, String> {
    let mut samples = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let at = |msg: &str| format!("línea {}: {msg}", number + 1);
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.split_whitespace();
            match words.next() {
                Some("TYPE") => {
                    let name = words.next().ok_or_else(|| at("TYPE sin nombre"))?;
                    valid_name(name).map_err(|e| at(&e))?;
                    let kind = words.next().ok_or_else(|| at("TYPE sin tipo"))?;
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(at(&format!("tipo desconocido {kind}")));
                    }
                }
                Some("HELP") => valid_name(words.next().ok_or_else(|| at("HELP sin nombre"))?).map_err(|e| at(&e))?,
                _ => {}
            }
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => return Err(at("muestra sin valor")),
        };
        valid_name(name).map_err(|e| at(&e))?;
        let (labels, rest) = if let Some(inner) = rest.strip_prefix('{') {
            let end = inner.rfind('}').ok_or_else(|| at("falta '}'"))?;
            (parse_labels(&inner[..end]).map_err(|e| at(&e))?, &inner[end + 1..])
        } else {
            (Vec::new(), rest)
        };
        let mut fields = rest.split_whitespace();
        let value = fields.next().ok_or_else(|| at("muestra sin valor"))?;
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v.parse().map_err(|_| at(&format!("valor inválido {v}")))?,
        };
        if let Some(ts) = fields.next() {
            ts.parse::<i64>().map_err(|_| at("marca de tiempo inválida"))?;
        }
        if fields.next().is_some() {
            return Err(at("texto de más tras el valor"));
        }
        samples.push(Sample { name: name.to_owned(), labels, value });
    }
    if samples.is_empty() {
        return Err("ninguna muestra".into());
    }
    Ok(samples)
}

fn valid_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        Ok(())
    } else {
        Err(format!("nombre de métrica inválido {name:?}"))
    }
}

fn parse_labels(mut s: &str) -> Result<Vec<(String, String)>, String> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start_matches([',', ' ']);
        if s.is_empty() {
            return Ok(labels);
        }
        let eq = s.find('=').ok_or("etiqueta sin '='")?;
        let name = s[..eq].trim();
        valid_name(name).map_err(|_| format!("etiqueta inválida {name:?}"))?;
        let rest = s[eq + 1..].strip_prefix('"').ok_or("valor de etiqueta sin comillas")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err("escape incompleto".into()),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => return Err("valor de etiqueta sin cerrar".into()),
            }
        };
        labels.push((name.to_owned(), value));
        s = &rest[end + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::{Outcome, check_compose, credentials_in_url, is_error_line, parse_exposition};

    #[test]
    fn log_lines_are_read_by_their_level_not_their_words() {
        assert!(is_error_line(r#"api-1 | {"level":"ERROR","fields":{"message":"x"}}"#));
        assert!(!is_error_line(r#"api-1 | {"level":"WARN","fields":{"message":"ERROR"}}"#));
        assert!(is_error_line("2026-12-04T10:00:00Z \u{1b}[31mERROR\u{1b}[0m gad: boom"));
        assert!(!is_error_line("2026-12-04T10:00:00Z  INFO gad: user typed ERROR here and there"));
        assert!(is_error_line("thread 'main' panicked at src/main.rs:1:1"));
        assert!(credentials_in_url("redis://:s3cret@redis:6379"));
        assert!(!credentials_in_url("see https://gad.example.org/tareas?x=a:b@c"));
        assert!(!credentials_in_url("postgres://gad@db/gad"));
    }

    #[test]
    fn compose_answers_in_either_format_and_an_empty_project_fails() {
        let array = r#"[{"Service":"api","State":"running","Health":"healthy"},{"Service":"redis","State":"restarting","Health":""}]"#;
        let check = check_compose(Ok(array.into()));
        assert_eq!(check.outcome, Outcome::Fail);
        assert_eq!(check.detail, "con problemas: redis (restarting)");
        assert_eq!(check_compose(Ok(String::new())).outcome, Outcome::Fail);
        assert_eq!(
            check_compose(Ok(r#"{"Service":"api","State":"running","Health":"starting"}"#.into())).outcome,
            Outcome::Fail
        );
    }

    #[test]
    fn the_exposition_parser_accepts_prometheus_text_and_refuses_garbage() {
        let text = "# HELP gad_up Up.\n# TYPE gad_up gauge\ngad_up 1\n\
                    gad_req_total{route=\"/a/{id}\",status=\"200\"} 3 1700000000000\n\
                    gad_lat_bucket{le=\"+Inf\"} 7\ngad_nan NaN\n";
        let samples = parse_exposition(text).expect("valid");
        assert_eq!(samples.len(), 4);
        assert_eq!(samples[1].labels, vec![("route".into(), "/a/{id}".into()), ("status".into(), "200".into())]);
        assert!(parse_exposition("<html>hola</html>").is_err());
        assert!(parse_exposition("gad_up").is_err());
        assert!(parse_exposition("gad_up{a=\"1\" 2").is_err());
        assert!(parse_exposition("# TYPE gad_up thing\ngad_up 1").is_err());
        assert!(parse_exposition("9bad 1").is_err());
        assert!(parse_exposition("").is_err());
    }
}

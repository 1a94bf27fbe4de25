//! The `gad` command line.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "gad",
    version,
    about = "GAD — Gestión de Agentes y Despliegue: field operations for a police force",
    after_help = environment_help()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What `gad backup` does besides taking a backup.
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Delete the backups the retention does not keep: the newest of each of the last
    /// `--daily` days, `--weekly` ISO weeks and `--monthly` months (of this backend, under the
    /// prefix). The newest backup is always kept.
    Prune {
        #[arg(long, default_value_t = 7)]
        daily: usize,
        #[arg(long, default_value_t = 4)]
        weekly: usize,
        #[arg(long, default_value_t = 12)]
        monthly: usize,
        /// List what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Prove a backup restores: restore the newest (or `--key`) into a scratch database,
    /// compare every table's rows and digest with the backup's manifest, drop the scratch,
    /// record the result (gad_backup_last_drill_success_timestamp_seconds). Exits 1 when the
    /// backup does not match. PostgreSQL: DATABASE_URL's user needs CREATEDB.
    Drill {
        /// Object key of the backup (default: the newest of this backend under the prefix).
        #[arg(long)]
        key: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (migrations are applied at start). The default.
    Serve,
    /// Apply pending database migrations and exit. Run it as the schema's owner; with
    /// `--app-role` it then grants the running app's role (which owns nothing) what it needs.
    Migrate {
        /// PostgreSQL role that `gad serve` and `gad bot` connect as: read/write on the tables,
        /// read and append only on the audit log.
        #[arg(long, env = "GAD_DB_APP_ROLE")]
        app_role: Option<String>,
    },
    /// Create an admin account (password from GAD_ADMIN_PASSWORD, or generated and shown once).
    CreateAdmin {
        /// Email of the new admin (default: GAD_ADMIN_EMAIL or admin@gad.local).
        #[arg(long)]
        email: Option<String>,
    },
    /// Load the Buenos Aires demo data (idempotent).
    SeedDemo {
        /// Also add synthetic tasks until the database holds at least this many (load tests,
        /// benchmarks), e.g. `--tasks 10000`.
        #[arg(long)]
        tasks: Option<u64>,
    },
    /// Run the Telegram bot in long-polling mode (needs TELEGRAM_BOT_TOKEN).
    Bot {
        /// Instead: register `<GAD_PUBLIC_URL>/telegram/webhook` with Telegram
        /// (needs TELEGRAM_WEBHOOK_SECRET) and exit; `gad serve` then receives the updates.
        #[arg(long)]
        set_webhook: bool,
    },
    /// Check a running GAD from outside: health, readiness, TLS certificate, metrics format,
    /// login page and Telegram webhook; with options DNS, compose services and recent logs.
    /// Exits 1 if any check fails.
    Verify {
        /// Base URL of the site, e.g. https://gad.example.org
        #[arg(long)]
        url: String,
        /// Where /ready and /metrics answer when the public site hides them: the operations
        /// listener (GAD_METRICS_ADDR), e.g. http://127.0.0.1:9464. Default: --url.
        #[arg(long)]
        internal_url: Option<String>,
        /// Also trust this PEM root certificate (a private CA).
        #[arg(long)]
        ca_cert: Option<std::path::PathBuf>,
        /// Fail when the TLS certificate expires within this many days.
        #[arg(long, default_value_t = 14)]
        min_cert_days: i64,
        /// Seconds to wait for each answer.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
        /// The URL's host must resolve to this address (repeat for each one).
        #[arg(long = "expect-address")]
        expect_addresses: Vec<std::net::IpAddr>,
        /// Scan these recent logs (`-`: standard input) for errors, panics and secrets, e.g.
        /// `docker compose logs --no-color --since 1h | gad verify … --logs -`.
        #[arg(long)]
        logs: Option<std::path::PathBuf>,
        /// Check that every service of `docker compose ps` (in this directory) runs and is
        /// healthy.
        #[arg(long)]
        compose: bool,
        /// The DNS server asked for the domain's CAA records (default: /etc/resolv.conf's).
        #[arg(long)]
        dns_server: Option<std::net::SocketAddr>,
        /// A certificate authority the site's certificates come from, as CAA names it
        /// (repeat for each; default: letsencrypt.org and sectigo.com, Caddy's two).
        #[arg(long = "ca-domain")]
        ca_domains: Vec<String>,
    },
    /// Dump the database (pg_dump custom format, or SQLite VACUUM INTO) to the S3 bucket of
    /// GAD_BACKUP_S3_* and record the success (gad_backup_last_success_timestamp_seconds).
    /// `gad backup prune` applies the retention.
    Backup {
        #[command(subcommand)]
        command: Option<BackupCommand>,
    },
    /// Download a backup from the S3 bucket and restore it into DATABASE_URL.
    Restore {
        /// Object key to restore (default: the newest backup of this database backend).
        #[arg(long)]
        key: Option<String>,
        /// Replace a database that already holds data.
        #[arg(long)]
        force: bool,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Bring officers and tasks in from elsewhere (docs/OPERATIONS.md, "Importing").
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Rotate credentials without downtime (docs/OPERATIONS.md, "Secrets").
    Rotate {
        #[command(subcommand)]
        command: RotateCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum RotateCommand {
    /// Give the app role (PostgreSQL) its next login, `<role>_<n>`, with a new generated
    /// password, and write the app's database URL for it into `--url-file` (which holds the
    /// current one). Run as the owner (DATABASE_URL); the old login keeps working until
    /// `gad rotate db-retire`.
    DbPassword {
        /// The role the app's privileges belong to.
        #[arg(long, env = "GAD_DB_APP_ROLE")]
        app_role: String,
        /// The secret file of the app's database URL (DATABASE_APP_URL's), rewritten in place.
        #[arg(long)]
        url_file: std::path::PathBuf,
    },
    /// Remove the app role's older logins (all but the newest). Refused while any of them
    /// still has a connection.
    DbRetire {
        /// The role the app's privileges belong to.
        #[arg(long, env = "GAD_DB_APP_ROLE")]
        app_role: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Officers and tasks from spreadsheets (CSV: UTF-8, `;` or `,`, a header row, Argentine
    /// dates and decimal commas). Rows whose code already exists are left alone, so a second
    /// run adds nothing; refused rows are listed with their line and reason (exit 2).
    Csv {
        /// The officers' file (columns codigo, nombre, apellido, jerarquia, unidad[, especialidad]).
        #[arg(long)]
        officers: Option<std::path::PathBuf>,
        /// The tasks' file (columns codigo, titulo, tipo[, prioridad, inicio, fin, latitud,
        /// longitud, lugar, descripcion, notas, efectivos]).
        #[arg(long)]
        tasks: Option<std::path::PathBuf>,
        /// Check everything and report what would happen; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The admin the import is recorded as (default: GAD_ADMIN_EMAIL).
        #[arg(long = "as")]
        as_user: Option<String>,
    },
    /// People and history from the GRUPO GAD database GAD replaces (either schema it left: the
    /// ORM's tables in `public` or the minimal ones in `gad`). Old ids map to e-mails and codes,
    /// so a second run adds nothing; refused rows and resolved quirks are listed (exit 2 when
    /// rows were refused). Imported users get no password.
    Legacy {
        /// The old PostgreSQL database, e.g. postgres://user:password@host/grupo_gad
        #[arg(long)]
        from: String,
        /// Check everything and report what would happen; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The admin the import is recorded as (default: GAD_ADMIN_EMAIL).
        #[arg(long = "as")]
        as_user: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain; exit 1 and name the first broken row if it was tampered with.
    Verify,
}

/// The settings `gad` reads, from `.env.example` (which the ops checks keep complete): its
/// sections before the alerts', whose settings (like the compose files') are for other
/// programs. Listed under `gad --help`.
fn environment_help() -> String {
    let mut unique: Vec<&str> = Vec::new();
    let names = include_str!("../../.env.example")
        .lines()
        .take_while(|line| !line.starts_with("# ── alerts"))
        .filter_map(|line| line.trim_start_matches('#').trim().split_once('=').map(|(name, _)| name.trim()))
        .filter(|name| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        });
    for name in names {
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    format!(
        "Environment (every command reads it; see .env.example and the README for defaults):\n  {}",
        unique.join("\n  ")
    )
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// `gad --help` names every subcommand and every setting.
    #[test]
    fn help_lists_commands_and_settings() {
        let help = super::Cli::command().render_long_help().to_string();
        for needle in [
            "serve",
            "migrate",
            "bot",
            "backup",
            "restore",
            "DATABASE_URL",
            "REDIS_URL",
            "GAD_TIMEZONE",
            "TELEGRAM_BOT_TOKEN",
            "GAD_SESSION_MAX_HOURS",
        ] {
            assert!(help.contains(needle), "{needle} missing from gad --help:\n{help}");
        }
        // The compose files' and Alertmanager's settings are not gad's.
        for other in ["POSTGRES_PASSWORD", "GAD_IMAGE", "GAD_ALERT_SMTP_USERNAME"] {
            assert!(!help.contains(&format!("\n  {other}\n")), "{other} listed under gad --help:\n{help}");
        }
    }
}

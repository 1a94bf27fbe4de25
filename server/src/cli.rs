//! The `gad` command line.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "gad", version, about = "GAD — Gestión de Agentes y Despliegue")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (migrations are applied at start). The default.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
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
        /// Instead: register `<GAD_PUBLIC_URL>/telegram/webhook/<secret>` with Telegram
        /// (needs TELEGRAM_WEBHOOK_SECRET) and exit; `gad serve` then receives the updates.
        #[arg(long)]
        set_webhook: bool,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain; exit 1 and name the first broken row if it was tampered with.
    Verify,
}

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use contract::domain::Channel;

use gad_core::config::Config;
use gad_core::demo;
use gad_core::services::users;
use gad_server::cli::{AuditCommand, BackupCommand, Cli, Command, ImportCommand, RotateCommand};
use gad_server::startup::{self, Application, print_once, startup_error};

// mimalloc: glibc's malloc was a fifth of the server's time under load (many small
// allocations per rendered page, freed across threads); see docs/PERFORMANCE.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Returns freed memory to the system at once and commits arenas on demand, so the idle
/// server stays small (48 MB instead of 64–69 MB resident) at no measurable cost in throughput.
/// The numbers are `mi_option_e` of the vendored mimalloc 3 header (`mimalloc.h`): the
/// `libmimalloc-sys` release in Cargo.lock does not name these two.
#[allow(unsafe_code)]
fn tune_allocator() {
    const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: plain option setters of the allocator, called before any thread is spawned.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("the tokio runtime starts");
    let code = runtime.block_on(async_main());
    // A finished command exits even if a background task never yields (dropping the runtime
    // would wait for it for ever: seen with a connection pool's maintenance task, see
    // `gad_core::db::connect`).
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    code
}

async fn async_main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gad: {e}");
            return ExitCode::from(2);
        }
    };
    gad_server::telemetry::init(config.log_format);
    match run(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(()) => ExitCode::SUCCESS,
        // The report already said what failed.
        Err(e) if e.is::<VerifyFailed>() => ExitCode::FAILURE,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "gad stopped");
            eprintln!("gad: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `gad verify` found a failing check (already printed).
#[derive(Debug)]
struct VerifyFailed;

impl std::fmt::Display for VerifyFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("verification failed")
    }
}

impl std::error::Error for VerifyFailed {}

/// Who an import is recorded as: `--as`, or the first admin's e-mail (the service checks that
/// it may import).
async fn import_actor(
    state: &gad_core::state::AppState,
    as_user: Option<String>,
) -> anyhow::Result<(gad_core::actor::Actor, gad_core::meta::AuditMeta)> {
    let email = as_user.unwrap_or_else(|| state.config.admin_email.clone());
    let actor = gad_core::services::auth::actor_for_operator(state, &email)
        .await
        .with_context(|| format!("no active user {email}: name an admin with --as"))?;
    Ok((actor, gad_core::meta::AuditMeta::internal(Channel::System)))
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => Application::build(config).await?.run().await?,
        Command::Migrate { app_role } => {
            let state = startup::connect(config).await?;
            gad_core::db::migrate(&state.db).await.map_err(startup_error)?;
            println!("migraciones aplicadas");
            if let Some(role) = app_role.filter(|r| !r.is_empty()) {
                gad_core::db::grant_app_role(&state.db, &role).await.map_err(startup_error)?;
                println!("permisos otorgados al rol {role}");
            }
        }
        Command::Rotate { command } => {
            use gad_server::db_logins;
            let owner = sea_orm::Database::connect(config.database_url.expose())
                .await
                .map_err(|_| anyhow::anyhow!("no se pudo conectar a DATABASE_URL (el dueño del esquema)"))?;
            match command {
                RotateCommand::DbPassword { app_role, url_file } => {
                    let made = db_logins::rotate(&owner, &app_role, &url_file).await?;
                    println!("nuevo acceso a la base: {} (URL escrita en {})", made.role, url_file.display());
                    println!("recree api y bot de a uno; siguen valiendo: {}", made.older.join(", "));
                    println!("después: gad rotate db-retire");
                }
                RotateCommand::DbRetire { app_role } => {
                    let retired = db_logins::retire(&owner, &app_role).await?;
                    if retired.is_empty() {
                        println!("nada que retirar");
                    } else {
                        println!("accesos retirados: {}", retired.join(", "));
                    }
                }
            }
        }
        Command::CreateAdmin { email } => {
            let state = startup::connect(config).await?;
            gad_core::db::migrate(&state.db).await.map_err(startup_error)?;
            let email = email.unwrap_or_else(|| state.config.admin_email.clone());
            let password = state.config.admin_password.as_ref().map(|s| s.expose().to_owned());
            let generated = users::create_admin(&state, &email, password.as_deref()).await.map_err(startup_error)?;
            println!("administrador creado: {email}");
            if let Some(p) = generated {
                print_once("administrador", &email, &p);
            }
        }
        Command::Import { command: ImportCommand::Csv { officers, tasks, dry_run, as_user } } => {
            use gad_core::services::import;
            if officers.is_none() && tasks.is_none() {
                anyhow::bail!("nada que importar: indique --officers y/o --tasks");
            }
            let read = |path: &Option<std::path::PathBuf>| -> anyhow::Result<Option<String>> {
                path.as_ref()
                    .map(|p| {
                        std::fs::read_to_string(p).with_context(|| format!("cannot read {} (UTF-8 text?)", p.display()))
                    })
                    .transpose()
            };
            let files = import::CsvFiles { officers: read(&officers)?, tasks: read(&tasks)? };
            let state = startup::connect(config).await?;
            let (actor, meta) = import_actor(&state, as_user).await?;
            let report = import::import_csv(&state, &actor, &meta, files, dry_run).await.map_err(startup_error)?;
            let verb = if report.written { "importados" } else { "se importarían" };
            for (what, c) in [("efectivos", report.officers), ("tareas", report.tasks)] {
                println!("{what}: {} {verb}, {} ya existían, {} rechazados", c.added, c.present, c.refused);
            }
            for r in &report.refused {
                println!("  {} línea {}: {}", r.file, r.line, r.reason);
            }
            if !report.written {
                println!("simulación: no se escribió nada");
            }
            if !report.refused.is_empty() {
                std::process::exit(2);
            }
        }
        Command::Import { command: ImportCommand::Legacy { from, dry_run, as_user } } => {
            use gad_core::services::import_legacy;
            // The URL holds a password: no message repeats it.
            let legacy = sea_orm::Database::connect(from.as_str()).await.map_err(|_| {
                anyhow::anyhow!(
                    "no se pudo conectar a la base anterior (--from): revise su dirección, usuario y contraseña"
                )
            })?;
            let data = import_legacy::read(&legacy).await.map_err(startup_error)?;
            let state = startup::connect(config).await?;
            let (actor, meta) = import_actor(&state, as_user).await?;
            let schema = data.schema;
            let report = import_legacy::import(&state, &actor, &meta, data, dry_run).await.map_err(startup_error)?;
            println!(
                "GRUPO GAD, esquema {}",
                match schema {
                    import_legacy::Schema::Orm => "ORM (public)",
                    import_legacy::Schema::Minimal => "mínimo (gad)",
                }
            );
            let verb = if report.written { "importados" } else { "se importarían" };
            for (what, c) in [("usuarios", report.users), ("efectivos", report.officers), ("tareas", report.tasks)] {
                print!("{what}: {} {verb}, {} ya existían, {} rechazados", c.added, c.present, c.refused);
                if what == "tareas" {
                    print!("; {} cambios de estado", report.history);
                }
                println!();
            }
            for r in &report.refused {
                println!("  {} {}: {}", r.file, r.line, r.reason);
            }
            for w in &report.warnings {
                println!("  aviso: {w}");
            }
            if !report.written {
                println!("simulación: no se escribió nada");
            }
            if !report.refused.is_empty() {
                std::process::exit(2);
            }
        }
        Command::SeedDemo { tasks } => {
            let state = startup::connect(config).await?;
            gad_core::db::migrate(&state.db).await.map_err(startup_error)?;
            match demo::seed(&state).await.map_err(startup_error)? {
                demo::SeedOutcome::AlreadySeeded => println!("los datos de demostración ya estaban cargados"),
                demo::SeedOutcome::Seeded { generated_password } => {
                    println!("datos de demostración cargados");
                    if let Some(p) = generated_password {
                        print_once("demo", "", &p);
                    }
                }
            }
            if let Some(total) = tasks {
                let added = demo::seed_bulk_tasks(&state, total).await.map_err(startup_error)?;
                println!("tareas sintéticas agregadas: {added} (total pedido: {total})");
            }
        }
        Command::Bot { set_webhook: true } => {
            let state = startup::connect(config).await?;
            let url = gad_server::bot::set_webhook(&state).await?;
            println!("webhook registrado: {url}");
        }
        Command::Bot { set_webhook: false } => {
            let state = startup::connect(config).await?;
            gad_core::db::migrate(&state.db).await.map_err(startup_error)?;
            state.events.start(&state.db).await.map_err(startup_error)?;
            startup::serve_operations(&state).await;
            let bot = gad_server::bot::Bot::new(state)?;
            bot.run_long_poll(startup::shutdown_signal()).await?;
        }
        Command::Verify {
            url,
            internal_url,
            ca_cert,
            min_cert_days,
            timeout,
            expect_addresses,
            logs,
            compose,
            dns_server,
            ca_domains,
        } => {
            let options = gad_server::verify::Options {
                url,
                internal_url,
                ca_cert,
                min_cert_days,
                timeout: std::time::Duration::from_secs(timeout),
                expect_addresses,
                logs,
                compose,
                dns_server,
                ca_domains,
            };
            let report = gad_server::verify::run(&options, &config).await?;
            println!("{report}");
            if !report.passed() {
                return Err(VerifyFailed.into());
            }
        }
        Command::Backup { command: Some(BackupCommand::Prune { daily, weekly, monthly, dry_run }) } => {
            let keep = gad_server::backup::Retention { daily, weekly, monthly };
            let pruned = gad_server::backup::prune(&config, keep, dry_run).await?;
            for key in &pruned.deleted {
                println!("{} {key}", if dry_run { "se borraría" } else { "borrada" });
            }
            println!(
                "copias conservadas: {}; {}: {}",
                pruned.kept.len(),
                if dry_run { "a borrar" } else { "borradas" },
                pruned.deleted.len()
            );
        }
        Command::Backup { command: Some(BackupCommand::Drill { key }) } => {
            let state = startup::connect(config).await?;
            let report = gad_server::backup::drill(&state.config, &state.db, key).await?;
            if report.ok {
                println!(
                    "simulacro correcto: {} restaurada en una base temporal, {} tablas iguales al manifiesto",
                    report.key, report.tables_checked
                );
            } else {
                println!("simulacro FALLIDO: {}", report.key);
                for problem in &report.problems {
                    println!("  {problem}");
                }
                std::process::exit(1);
            }
        }
        Command::Backup { command: None } => {
            let state = startup::connect(config).await?;
            let outcome = gad_server::backup::backup(&state.config, &state.db).await?;
            println!(
                "copia de seguridad subida: s3://{}/{} ({} bytes)",
                outcome.bucket, outcome.key, outcome.size_bytes
            );
        }
        Command::Restore { key, force } => {
            let key = match key {
                Some(k) => k,
                None => gad_server::backup::latest_key(&config).await?,
            };
            let size = gad_server::backup::restore(&config, &key, force).await?;
            println!("copia restaurada desde {key} ({size} bytes); `gad migrate` la lleva a esta versión");
        }
        Command::Audit { command: AuditCommand::Verify } => {
            let state = startup::connect(config).await?;
            // Rows committed while no process was sealing are chained first.
            gad_core::sealer::seal_now(&state.db).await.map_err(startup_error)?;
            let report = gad_core::services::audit::verify(&state.db).await.map_err(startup_error)?;
            // Recorded either way: the chain gauges and alerts read the newest verification.
            let now = chrono::Utc::now().timestamp();
            gad_core::services::audit::record_verification(&state.db, now, &report).await.map_err(startup_error)?;
            match report.first_broken {
                None => println!("cadena de auditoría íntegra: {} registros verificados", report.rows),
                Some(id) => {
                    anyhow::bail!("cadena de auditoría ROTA en el registro id {id} ({} registros leídos)", report.rows)
                }
            }
        }
    }
    Ok(())
}

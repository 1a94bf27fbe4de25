//! `gad import legacy`: the two schemas GRUPO GAD left behind, built in a real PostgreSQL from
//! its own migrations and seed (`server/tests/fixtures/legacy_*.sql`), imported into GAD on
//! both backends: what a dry run reports is what the real run does, each quirk is resolved and
//! reported, a second run adds nothing, and only admins may import.

use crate::common;

use std::process::Command;

use common::{Backend, TestApp};
use contract::ErrorCode;
use contract::domain::{Channel, OfficerStatus, Role, TaskStatus, TaskType};
use gad_core::actor::Actor;
use gad_core::entities::{officers, task_assignments, task_status_history, tasks, users};
use gad_core::meta::AuditMeta;
use gad_core::services::import_legacy::{Schema, import, read};
use sea_orm::{ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

/// A scratch PostgreSQL database holding `fixture`; its URL (test.sh drops `gad_t_*` ones).
async fn legacy_database(fixture: &str) -> (String, DatabaseConnection) {
    let name = format!("gad_t_legacy_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(common::pg_server_url()).await.unwrap();
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
    let url = common::with_database(&common::pg_server_url(), &name);
    let db = Database::connect(&url).await.unwrap();
    db.execute_unprepared(fixture).await.unwrap();
    (url, db)
}

async fn actor(app: &TestApp, email: &str) -> Actor {
    let user = users::Entity::find().filter(users::Column::Email.eq(email)).one(&app.state.db).await.unwrap().unwrap();
    gad_core::services::auth::actor_for_user(&app.state, user.id, Channel::System).await.unwrap()
}

async fn counts(app: &TestApp) -> (u64, u64, u64, u64) {
    let db = &app.state.db;
    (
        users::Entity::find().count(db).await.unwrap(),
        officers::Entity::find().count(db).await.unwrap(),
        tasks::Entity::find().count(db).await.unwrap(),
        task_assignments::Entity::find().count(db).await.unwrap(),
    )
}

async fn user(app: &TestApp, email: &str) -> users::Model {
    users::Entity::find().filter(users::Column::Email.eq(email)).one(&app.state.db).await.unwrap().unwrap()
}

async fn task(app: &TestApp, code: &str) -> tasks::Model {
    tasks::Entity::find().filter(tasks::Column::Code.eq(code)).one(&app.state.db).await.unwrap().unwrap()
}

async fn the_orm_schema_imports_once_with_its_quirks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_url, legacy) = legacy_database(include_str!("../fixtures/legacy_orm.sql")).await;
    let data = read(&legacy).await.unwrap();
    assert_eq!(data.schema, Schema::Orm);
    let admin = actor(&app, "admin@gad.local").await;
    let meta = AuditMeta::internal(Channel::System);

    let before = counts(&app).await;
    let dry = import(&app.state, &admin, &meta, data.clone(), true).await.unwrap();
    assert!(!dry.written);
    assert_eq!(counts(&app).await, before, "a dry run writes nothing");
    let report = import(&app.state, &admin, &meta, data.clone(), false).await.unwrap();
    assert!(report.written);
    assert_eq!(
        (dry.users, dry.officers, dry.tasks, dry.history),
        (report.users, report.officers, report.tasks, report.history)
    );
    assert_eq!((report.users.added, report.users.refused), (4, 1));
    assert_eq!((report.officers.added, report.tasks.added, report.history), (2, 3, 3));
    assert_eq!(report.refused.len(), 1);
    assert_eq!(
        (report.refused[0].file, report.refused[0].reason.as_str()),
        ("usuarios", "dado de baja en el sistema anterior")
    );
    let warnings = report.warnings.join("\n");
    assert!(warnings.contains("usuario 3: el id de Telegram -1294967296 está desbordado"), "{warnings}");
    assert!(
        warnings.contains("tarea PAT-2025-0001: efectivos_asignados {1, 2} y tarea_efectivos {1} no coinciden; se tomó tarea_efectivos"),
        "{warnings}"
    );

    // People: roles from the levels, e-mails in lower case, no password, Telegram linked unless
    // the id overflowed.
    let laura = user(&app, "laura.gomez@policia.example").await;
    assert_eq!(
        (laura.role, laura.telegram_user_id, laura.password_hash.is_none()),
        (Role::Admin, Some(5000000001), true)
    );
    let diego = user(&app, "diego.ruiz@policia.example").await;
    assert_eq!(diego.role, Role::Supervisor);
    let ana = user(&app, "ana.sosa@policia.example").await;
    assert_eq!((ana.role, ana.telegram_user_id), (Role::Officer, None));
    let first = officers::Entity::find()
        .filter(officers::Column::Code.eq("LEG-101"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((first.user_id, first.status, first.rank.as_str()), (Some(ana.id), OfficerStatus::Available, "Cabo"));
    let (lat, lon) = (first.last_lat.unwrap(), first.last_lon.unwrap());
    assert!((lat + 34.6037).abs() < 1e-6 && (lon + 58.3816).abs() < 1e-6, "the PostGIS point: {lat},{lon}");
    let second = officers::Entity::find()
        .filter(officers::Column::Code.eq("LEG-102"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((second.status, second.rank.as_str(), second.last_lat), (OfficerStatus::OnTask, "Sin jerarquía", None));

    // Tasks: states, times, the delegate as supervisor, the join table's officers, history.
    let patrol = task(&app, "PAT-2025-0001").await;
    assert_eq!(
        (patrol.status, patrol.task_type, patrol.supervisor_id),
        (TaskStatus::Scheduled, TaskType::Patrol, Some(diego.id))
    );
    let assigned: Vec<i64> = task_assignments::Entity::find()
        .filter(task_assignments::Column::TaskId.eq(patrol.id))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.officer_id)
        .collect();
    assert_eq!(assigned, [first.id]);
    let robbery = task(&app, "INV-2025-0002").await;
    assert_eq!(robbery.status, TaskStatus::Completed);
    assert_eq!(robbery.actual_end.unwrap() - robbery.actual_start.unwrap(), chrono::Duration::minutes(270));
    assert_eq!(robbery.notes.as_deref(), Some("[\"entregado a fiscalía\"]"));
    let history = task_status_history::Entity::find()
        .filter(task_status_history::Column::TaskId.eq(robbery.id))
        .all(&app.state.db)
        .await
        .unwrap();
    let steps: Vec<(Option<TaskStatus>, TaskStatus)> = history.iter().map(|h| (h.from_status, h.to_status)).collect();
    assert_eq!(
        steps,
        [
            (None, TaskStatus::Scheduled),
            (Some(TaskStatus::Scheduled), TaskStatus::InProgress),
            (Some(TaskStatus::InProgress), TaskStatus::Completed)
        ]
    );
    assert_eq!(history[2].reason.as_deref(), Some("Sospechoso identificado"));
    assert_eq!(task(&app, "VIG-2025-0003").await.status, TaskStatus::Cancelled);

    // Again: everything is there already.
    let after = counts(&app).await;
    let again = import(&app.state, &admin, &meta, data.clone(), false).await.unwrap();
    assert_eq!((again.users.added, again.officers.added, again.tasks.added), (0, 0, 0));
    assert_eq!((again.users.present, again.officers.present, again.tasks.present), (4, 2, 3));
    assert_eq!(counts(&app).await, after);

    let officer = actor(&app, "efectivo1@gad.local").await;
    let refused = import(&app.state, &officer, &meta, data, true).await.unwrap_err();
    assert_eq!(contract::ApiError::from(refused).code, ErrorCode::Forbidden);
}
on_both_backends!(the_orm_schema_imports_once_with_its_quirks);

async fn the_minimal_schema_imports_its_seed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_url, legacy) = legacy_database(include_str!("../fixtures/legacy_minimal.sql")).await;
    let data = read(&legacy).await.unwrap();
    assert_eq!(data.schema, Schema::Minimal);
    let admin = actor(&app, "admin@gad.local").await;
    let report = import(&app.state, &admin, &AuditMeta::internal(Channel::System), data, false).await.unwrap();
    assert_eq!((report.users.added, report.officers.added, report.tasks.added, report.tasks.refused), (3, 3, 10, 1));
    assert!(report.refused[0].reason.contains("«trámite»"), "{:?}", report.refused);
    let boss = user(&app, "usuario-legado-1@gad.local").await;
    assert_eq!((boss.role, boss.telegram_user_id, boss.first_name.as_str()), (Role::Admin, Some(1000000001), "Admin"));
    let raid = task(&app, "HIST-1").await;
    assert_eq!((raid.task_type, raid.status), (TaskType::Intervention, TaskStatus::Completed));
    let officer =
        officers::Entity::find().filter(officers::Column::Code.eq("DNI003")).one(&app.state.db).await.unwrap().unwrap();
    let of_officer = task_assignments::Entity::find()
        .filter(task_assignments::Column::OfficerId.eq(officer.id))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(of_officer, 2);
}
on_both_backends!(the_minimal_schema_imports_its_seed);

/// The command line: a dry run names the schema, the counts, the refused rows and the warnings
/// in Spanish, exits 2 (rows were refused) and writes nothing; the database URL's password never
/// shows, not even when the connection fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_reports_in_spanish() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (url, _legacy) = legacy_database(include_str!("../fixtures/legacy_orm.sql")).await;
    let before = counts(&app).await;
    let run = |from: &str| {
        Command::new(env!("CARGO_BIN_EXE_gad"))
            .args(["import", "legacy", "--dry-run", "--from", from])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("RUST_LOG", "warn")
            .env("DATABASE_URL", &app.database_url)
            .output()
            .unwrap()
    };
    let output = run(&url);
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{out}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(out.contains("esquema ORM (public)"), "{out}");
    assert!(out.contains("usuarios: 4 se importarían, 0 ya existían, 1 rechazados"), "{out}");
    assert!(out.contains("tareas: 3 se importarían, 0 ya existían, 0 rechazados; 3 cambios de estado"), "{out}");
    assert!(out.contains("usuarios 5: dado de baja en el sistema anterior"), "{out}");
    assert!(out.contains("aviso: tarea PAT-2025-0001"), "{out}");
    assert!(out.contains("simulación: no se escribió nada"), "{out}");
    assert_eq!(counts(&app).await, before);

    let output = run("postgres://gad:s3cret-pass@127.0.0.1:1/nada");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(err.contains("--from") && !err.contains("s3cret-pass"), "{err}");
}

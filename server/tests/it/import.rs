//! `gad import csv`: officers and tasks from spreadsheets, on both backends: what a dry run
//! reports is what the real run does, refused rows name their line and reason, a second run
//! adds nothing, only admins may import, and the command line says it in Spanish.

use crate::common;

use std::process::Command;

use common::{Backend, TestApp};
use contract::ErrorCode;
use contract::domain::{Channel, TaskPriority, TaskType};
use gad_core::actor::Actor;
use gad_core::entities::{audit_log, officers, task_assignments, tasks, users};
use gad_core::meta::AuditMeta;
use gad_core::services::import::{CsvFiles, import_csv};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

/// Officers as a spreadsheet saves them: a byte-order mark, `;`, accented headers in any case,
/// an officer already in GAD (EF-001), a code twice and a row without a first name.
const OFFICERS: &str = "\u{feff}Código;Nombre;Apellido;Jerarquía;Unidad;Especialidad\r\n\
EF-900;Lucía;Benítez;Cabo;Comisaría 3ª;Tránsito\r\n\
ef-901;Ramón;Ortiz;Sargento;Comisaría 3ª;\r\n\
EF-001;Otro;Nombre;Cabo;Otra;\r\n\
EF-900;Repetido;Dos;Cabo;Comisaría 3ª;\r\n\
EF-902;;Sin Nombre;Cabo;Comisaría 3ª;\r\n";

/// Tasks with `,`: decimal commas in quotes, Argentine dates, officers by code (one just
/// imported above, one from the demo), and four bad rows.
const TASKS: &str = "codigo,titulo,tipo,prioridad,inicio,fin,latitud,longitud,lugar,descripcion,efectivos\n\
IMP-2031-0001,Control de tránsito,Patrullaje,Alta,15/01/2031 08:05,15/01/2031 12:00,\"-34,6037\",\"-58,3816\",Plaza de Mayo,Desvío,EF-900 EF-001\n\
IMP-2031-0002,Guardia,Vigilancia,,16/01/2031,,,,,,\n\
IMP-2031-0003,Mala fecha,Patrullaje,Alta,31/02/2031 08:00,,,,,,\n\
IMP-2031-0004,Sin efectivo,Patrullaje,Alta,,,,,,,EF-999\n\
IMP-2031-0005,Tipo raro,Desfile,Alta,,,,,,,\n\
IMP-2031-0006,X,Patrullaje,Alta,,,,,,,\n";

async fn actor(app: &TestApp, email: &str) -> Actor {
    let user = users::Entity::find().filter(users::Column::Email.eq(email)).one(&app.state.db).await.unwrap().unwrap();
    gad_core::services::auth::actor_for_user(&app.state, user.id, Channel::System).await.unwrap()
}

fn files() -> CsvFiles {
    CsvFiles { officers: Some(OFFICERS.to_owned()), tasks: Some(TASKS.to_owned()) }
}

async fn counts(app: &TestApp) -> (u64, u64, u64) {
    let db = &app.state.db;
    (
        officers::Entity::find().count(db).await.unwrap(),
        tasks::Entity::find().count(db).await.unwrap(),
        task_assignments::Entity::find().count(db).await.unwrap(),
    )
}

async fn spreadsheets_import_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = actor(&app, "admin@gad.local").await;
    let meta = AuditMeta::internal(Channel::System);
    let before = counts(&app).await;

    // The dry run reports everything and writes nothing.
    let dry = import_csv(&app.state, &admin, &meta, files(), true).await.unwrap();
    assert!(!dry.written);
    assert_eq!((dry.officers.added, dry.officers.present, dry.officers.refused), (2, 1, 2), "{dry:#?}");
    assert_eq!((dry.tasks.added, dry.tasks.present, dry.tasks.refused), (2, 0, 4), "{dry:#?}");
    let lines: Vec<(&str, u64)> = dry.refused.iter().map(|r| (r.file, r.line)).collect();
    assert_eq!(lines, [("efectivos", 5), ("efectivos", 6), ("tareas", 4), ("tareas", 5), ("tareas", 6), ("tareas", 7)]);
    let reasons: Vec<&str> = dry.refused.iter().map(|r| r.reason.as_str()).collect();
    assert!(reasons[0].contains("ya figura en la línea 2"), "{reasons:?}");
    assert!(reasons[1].contains("Ingrese el nombre"), "{reasons:?}");
    assert!(reasons[2].contains("fecha ilegible «31/02/2031 08:00»"), "{reasons:?}");
    assert!(reasons[3].contains("no existe el efectivo EF-999"), "{reasons:?}");
    assert!(reasons[4].contains("tipo desconocido «Desfile»"), "{reasons:?}");
    assert!(reasons[5].contains("título"), "{reasons:?}");
    assert_eq!(counts(&app).await, before, "a dry run writes nothing");
    let imports = audit_log::Entity::find().filter(audit_log::Column::Action.eq("import.csv")).count(&app.state.db);
    assert_eq!(imports.await.unwrap(), 0);

    // The real run does what the dry run said, in one transaction.
    let real = import_csv(&app.state, &admin, &meta, files(), false).await.unwrap();
    assert!(real.written);
    assert_eq!((real.officers, real.tasks), (dry.officers, dry.tasks));
    assert_eq!(real.refused, dry.refused);
    let (o, t, a) = counts(&app).await;
    assert_eq!((o, t, a), (before.0 + 2, before.1 + 2, before.2 + 2));
    // The file's codes moved their prefix's counter once, past the highest valid code in it
    // (refused rows' too: a gap, never a collision with a later generated code).
    let counter = app
        .state
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.state.db.get_database_backend(),
            "SELECT last_value FROM task_code_counters WHERE prefix = 'IMP-2031-'",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(counter.try_get_by_index::<i64>(0).unwrap(), 6);
    let lucia = officers::Entity::find().filter(officers::Column::Code.eq("EF-900")).one(&app.state.db).await.unwrap();
    let lucia = lucia.unwrap();
    assert_eq!((lucia.first_name.as_str(), lucia.unit.as_str()), ("Lucía", "Comisaría 3ª"));
    assert!(
        officers::Entity::find()
            .filter(officers::Column::Code.eq("EF-901"))
            .one(&app.state.db)
            .await
            .unwrap()
            .is_some(),
        "codes upper-cased"
    );
    let task = tasks::Entity::find().filter(tasks::Column::Code.eq("IMP-2031-0001")).one(&app.state.db).await.unwrap();
    let task = task.unwrap();
    assert_eq!((task.task_type, task.priority), (TaskType::Patrol, TaskPriority::High));
    assert_eq!(task.scheduled_start.unwrap().to_rfc3339(), "2031-01-15T11:05:00+00:00", "08:05 in Buenos Aires");
    assert_eq!((task.lat, task.lon), (Some(-34.6037), Some(-58.3816)));
    assert_eq!(task.location_text.as_deref(), Some("Plaza de Mayo"));
    let assigned = task_assignments::Entity::find()
        .filter(task_assignments::Column::TaskId.eq(task.id))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(assigned, 2);
    let detail = gad_core::services::tasks::detail(&app.state, &admin, task.id).await.unwrap();
    assert_eq!(detail.history[0].reason.as_deref(), Some("Importada desde una planilla CSV."));
    let imports = audit_log::Entity::find().filter(audit_log::Column::Action.eq("import.csv")).count(&app.state.db);
    assert_eq!(imports.await.unwrap(), 1);

    // Again: everything is already there.
    let again = import_csv(&app.state, &admin, &meta, files(), false).await.unwrap();
    assert_eq!((again.officers.added, again.officers.present), (0, 3));
    assert_eq!((again.tasks.added, again.tasks.present), (0, 2));
    assert_eq!(counts(&app).await, (o, t, a), "a second run adds nothing");

    // Only admins import.
    for email in ["supervisor@gad.local", "efectivo1@gad.local"] {
        let who = actor(&app, email).await;
        let refused = import_csv(&app.state, &who, &meta, files(), true).await.unwrap_err();
        assert_eq!(contract::ApiError::from(refused).code, ErrorCode::Forbidden, "{email}");
    }
    // The code of a removed officer stays taken: refused, never revived.
    let removed = officers::Entity::find().filter(officers::Column::Code.eq("EF-901")).one(&app.state.db).await;
    gad_core::services::officers::delete(&app.state, &admin, &meta, removed.unwrap().unwrap().id).await.unwrap();
    let again = import_csv(&app.state, &admin, &meta, files(), true).await.unwrap();
    assert_eq!(again.officers.refused, 3, "{again:#?}");
    assert!(again.refused.iter().any(|r| r.line == 3 && r.reason.contains("dado de baja")), "{again:#?}");

    // A file without a required column is refused whole.
    let bad = CsvFiles { officers: Some("codigo;nombre\nEF-1;Ana\n".into()), tasks: None };
    let refused = import_csv(&app.state, &admin, &meta, bad, true).await.unwrap_err();
    let refused = contract::ApiError::from(refused);
    assert_eq!(refused.code, ErrorCode::Validation);
    assert!(format!("{refused:?}").contains("falta la columna «apellido»"), "{refused:?}");
}
on_both_backends!(spreadsheets_import_once);

/// The command line: a dry run prints the counts and every refused row in Spanish and exits 2
/// (rows were refused), writing nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_reports_in_spanish() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let dir = std::env::temp_dir().join(format!("gad-import-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("efectivos.csv"), OFFICERS).unwrap();
    std::fs::write(dir.join("tareas.csv"), TASKS).unwrap();
    let before = counts(&app).await;
    let output = Command::new(env!("CARGO_BIN_EXE_gad"))
        .args(["import", "csv", "--dry-run", "--officers"])
        .arg(dir.join("efectivos.csv"))
        .arg("--tasks")
        .arg(dir.join("tareas.csv"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("RUST_LOG", "warn")
        .env("DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{out}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(out.contains("efectivos: 2 se importarían, 1 ya existían, 2 rechazados"), "{out}");
    assert!(out.contains("tareas: 2 se importarían, 0 ya existían, 4 rechazados"), "{out}");
    assert!(out.contains("tareas línea 5: no existe el efectivo EF-999"), "{out}");
    assert!(out.contains("simulación: no se escribió nada"), "{out}");
    assert_eq!(counts(&app).await, before);
    let _ = std::fs::remove_dir_all(&dir);
}

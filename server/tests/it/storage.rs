//! The database invariants surface as clear errors, and the CLI works on a real database.
#![allow(clippy::unwrap_used)]

use crate::common;

use chrono::{Duration, Utc};
use common::{Backend, TestApp};
use contract::domain::{Role, TaskPriority, TaskType};
use gad_core::entities::tasks;
use gad_core::error::AppError;
use gad_core::services::users::{NewUser, insert_user};
use sea_orm::{ActiveModelTrait, Set};

async fn constraint_violations_are_clear_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = &app.state.db;
    let duplicate = insert_user(
        db,
        NewUser {
            dni: "99999999".into(),
            first_name: "Otra".into(),
            last_name: "Persona".into(),
            email: "supervisor@gad.local".into(),
            role: Role::Officer,
            password_hash: None,
            telegram_user_id: None,
        },
    )
    .await;
    match duplicate {
        Err(AppError::Conflict(msg)) => assert!(msg.contains("Ya existe"), "{msg}"),
        other => panic!("expected a conflict, got {other:?}"),
    }

    let now = Utc::now();
    let backwards = tasks::ActiveModel {
        code: Set("PATROL-2026-9999".into()),
        title: Set("Fechas invertidas".into()),
        task_type: Set(TaskType::Patrol),
        priority: Set(TaskPriority::Low),
        scheduled_start: Set(Some(now)),
        scheduled_end: Set(Some(now - Duration::hours(1))),
        created_by: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(AppError::from);
    match backwards {
        Err(AppError::Validation(fields)) => assert!(fields[0].message.contains("fechas"), "{fields:?}"),
        other => panic!("expected a validation error, got {other:?}"),
    }
}
on_both_backends!(constraint_violations_are_clear_errors);

fn gad(database_url: &str, args: &[&str], extra: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gad"));
    cmd.args(args).env_clear().env("DATABASE_URL", database_url).env("PATH", std::env::var("PATH").unwrap());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_migrate_create_admin_and_seed_demo() {
    let url = common::fresh_database(Backend::Sqlite).await;
    let out = gad(&url, &["migrate"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = gad(&url, &["create-admin", "--email", "jefa@gad.local"], &[("GAD_ADMIN_PASSWORD", "una-clave-larga")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again = gad(&url, &["create-admin", "--email", "jefa@gad.local"], &[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("Ya existe un usuario"));

    // Without a password one is generated and printed once.
    let out = gad(&url, &["create-admin", "--email", "otro@gad.local"], &[]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("contraseña generada"));

    let out = gad(&url, &["seed-demo"], &[("GAD_DEMO_PASSWORD", "demo-password-123")]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("datos de demostración cargados"));
    let out = gad(&url, &["seed-demo"], &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("ya estaban cargados"));

    // The seeded accounts work.
    let app = TestApp::spawn_on(&url, &[]).await;
    app.login("efectivo2@gad.local", "demo-password-123").await;
    app.login("jefa@gad.local", "una-clave-larga").await;
}

#[test]
fn invalid_configuration_names_the_variable() {
    let out = gad("sqlite::memory:", &["migrate"], &[("GAD_LOGIN_MAX_FAILURES", "muchos")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("GAD_LOGIN_MAX_FAILURES"));
    let out = gad("mysql://root:hunter2@db/gad", &["migrate"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("DATABASE_URL") && !err.contains("hunter2"), "{err}");
}

//! SPEC §5 as a table: users, tokens, link codes, audit and feedback operations, each run
//! through its server function (the door the dashboard and the bot use) as every role and as
//! nobody. Task, officer, geo and statistics operations have their own tables in
//! tasks.rs and officers_geo.rs.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::future::Future;
use std::pin::Pin;

use app::api::audit::{audit_chain_status, list_audit};
use app::api::feedback::{feedback_overview, list_feedback, send_feedback};
use app::api::users::{
    create_api_token, create_link_code, create_user, delete_user, list_users, reset_password, set_user_active,
    update_user,
};
use app::server::harness::call_as;
use common::{Backend, TestApp};
use contract::audit::AuditFilter;
use contract::domain::{Channel, Role};
use contract::users::{NewUserInput, UserUpdate};
use contract::{ApiError, ErrorCode};
use gad_core::services::auth::actor_for_user;
use sea_orm::{ConnectionTrait, Statement};

type Call = Pin<Box<dyn Future<Output = Result<(), ApiError>> + Send>>;
type Operation = (&'static str, [bool; 3], Box<dyn Fn(i64, i64) -> Call>);

fn ok<T>(r: Result<T, ApiError>) -> Result<(), ApiError> {
    r.map(|_| ())
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    let db = &app.state.db;
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT id FROM users WHERE email = $1",
            [email.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// (operation, allowed for officer, supervisor, admin, the call given the caller's own id
/// and another user's id).
fn operations() -> Vec<Operation> {
    vec![
        (
            "list_users",
            [false, false, true],
            Box::new(|_, _| Box::pin(async { ok(list_users(None, None, None, None).await) })),
        ),
        (
            "create_user",
            [false, false, true],
            Box::new(|_, _| {
                Box::pin(async {
                    ok(create_user(NewUserInput {
                        dni: "41222333".into(),
                        first_name: "Nueva".into(),
                        last_name: "Persona".into(),
                        email: "nueva@gad.local".into(),
                        phone: None,
                        role: Role::Officer,
                        password: None,
                        officer: None,
                    })
                    .await)
                })
            }),
        ),
        (
            "update_user",
            [false, false, true],
            Box::new(|_, other| {
                Box::pin(async move {
                    ok(update_user(other, UserUpdate { phone: Some("011 4444-5555".into()), ..Default::default() })
                        .await)
                })
            }),
        ),
        (
            "set_user_active",
            [false, false, true],
            Box::new(|_, other| Box::pin(async move { ok(set_user_active(other, true).await) })),
        ),
        (
            "reset_password_of_other",
            [false, false, true],
            Box::new(|_, other| Box::pin(async move { ok(reset_password(other, None, None).await) })),
        ),
        (
            "change_own_password",
            [true, true, true],
            Box::new(|me, _| {
                Box::pin(async move {
                    let current = Some(common::DEMO_PASSWORD.to_owned());
                    ok(reset_password(me, Some("otra-clave-larga".into()), current).await)
                })
            }),
        ),
        (
            "link_code_for_other",
            [false, false, true],
            Box::new(|_, other| Box::pin(async move { ok(create_link_code(other).await) })),
        ),
        (
            "link_code_for_self",
            [true, true, true],
            Box::new(|me, _| Box::pin(async move { ok(create_link_code(me).await) })),
        ),
        (
            "api_token_for_self",
            [true, true, true],
            Box::new(|me, _| Box::pin(async move { ok(create_api_token(me, "mío".into(), false, None).await) })),
        ),
        (
            "api_token_for_other",
            [false, false, true],
            Box::new(|_, other| {
                Box::pin(async move { ok(create_api_token(other, "ajeno".into(), false, None).await) })
            }),
        ),
        (
            "list_audit",
            [false, false, true],
            Box::new(|_, _| Box::pin(async { ok(list_audit(AuditFilter::default()).await) })),
        ),
        (
            "audit_chain_status",
            [false, false, true],
            Box::new(|_, _| Box::pin(async { ok(audit_chain_status().await) })),
        ),
        (
            "send_feedback",
            [true, true, true],
            Box::new(|_, _| Box::pin(async { ok(send_feedback("Todo funciona bien".into(), None).await) })),
        ),
        (
            "list_feedback",
            [false, true, true],
            Box::new(|_, _| Box::pin(async { ok(list_feedback(None, None, None).await) })),
        ),
        ("feedback_overview", [false, true, true], Box::new(|_, _| Box::pin(async { ok(feedback_overview().await) }))),
        (
            "delete_user",
            [false, false, true],
            Box::new(|_, other| Box::pin(async move { ok(delete_user(other).await) })),
        ),
    ]
}

async fn every_role_against_every_operation(backend: Backend) {
    let cases =
        [(Some("efectivo1@gad.local"), 0), (Some("supervisor@gad.local"), 1), (Some("admin@gad.local"), 2), (None, 3)];
    for (email, column) in cases {
        // A fresh world per role, so one role's changes cannot decide another's outcome. Every
        // account has the same password, so changing one's own can name the current one.
        let app = TestApp::spawn_with(backend, &[("GAD_ADMIN_PASSWORD", common::DEMO_PASSWORD)]).await;
        let other = user_id(&app, "efectivo2@gad.local").await;
        let (signed_in, me) = match email {
            Some(e) => (true, user_id(&app, e).await),
            None => (false, user_id(&app, "efectivo1@gad.local").await),
        };
        for (name, allowed, call) in operations() {
            // Read for each operation, as each request reads its session's: after the role's
            // own password change, its session carries the new credentials.
            let actor =
                if signed_in { Some(actor_for_user(&app.state, me, Channel::Web).await.unwrap()) } else { None };
            let result = call_as(&app.state, actor.clone(), || call(me, other)).await;
            let who = email.unwrap_or("anonymous");
            match (column, result) {
                (3, Err(e)) => assert_eq!(e.code, ErrorCode::Unauthenticated, "{name} as {who}"),
                (3, Ok(())) => panic!("{name} allowed for anonymous"),
                (c, Ok(())) => assert!(allowed[c], "{name} allowed for {who}"),
                (c, Err(e)) => {
                    assert!(!allowed[c], "{name} refused for {who}: {e:?}");
                    assert_eq!(e.code, ErrorCode::Forbidden, "{name} as {who}");
                }
            }
        }
    }
}
on_both_backends!(every_role_against_every_operation);

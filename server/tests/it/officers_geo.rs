//! Officers, positions, geo queries and statistics: the services through their server
//! functions (as the dashboard and the bot call them), for every role, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

use crate::common;

use app::api::geo::{nearest_officers, officers_in_bbox, officers_within_radius, tasks_in_bbox, tasks_within_radius};
use app::api::officers::{
    create_officer, delete_officer, get_officer, list_officers, officer_labels, officer_last_position, officer_track,
    set_my_status, set_officer_status, update_my_position, update_officer, update_officer_position,
};
use app::api::stats::task_stats;
use app::server::harness::call_as;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use common::{Backend, TestApp};
use contract::domain::{Channel, OfficerStatus, PositionSource, Role, TaskPriority, TaskStatus, TaskType};
use contract::events::Event;
use contract::geo::NearbyOfficer;
use contract::officers::Officer;
use contract::stats::{StatsScope, TaskStatistics};
use contract::{ApiError, ErrorCode};
use gad_core::actor::Actor;
use gad_core::entities::{audit_log, officer_positions, officers, task_assignments, tasks, users};
use gad_core::services;
use gad_core::services::auth::actor_for_user;
use gad_core::services::geo::{EARTH_RADIUS_M, haversine_m};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set};

/// The Obelisco, Buenos Aires: the reference point of the geo fixtures.
const OBELISCO: (f64, f64) = (-34.6037, -58.3816);

// --------------------------------------------------------------------------------- helpers

async fn user_id(app: &TestApp, email: &str) -> i64 {
    users::Entity::find().filter(users::Column::Email.eq(email)).one(&app.state.db).await.unwrap().unwrap().id
}

async fn actor_via(app: &TestApp, email: &str, channel: Channel) -> Actor {
    actor_for_user(&app.state, user_id(app, email).await, channel).await.unwrap()
}

async fn actor(app: &TestApp, email: &str) -> Actor {
    actor_via(app, email, Channel::Web).await
}

async fn officer(app: &TestApp, code: &str) -> officers::Model {
    officers::Entity::find().filter(officers::Column::Code.eq(code)).one(&app.state.db).await.unwrap().unwrap()
}

async fn audit_count(app: &TestApp, action: &str) -> u64 {
    audit_log::Entity::find().filter(audit_log::Column::Action.eq(action)).count(&app.state.db).await.unwrap()
}

async fn history_count(app: &TestApp, officer_id: i64) -> u64 {
    officer_positions::Entity::find()
        .filter(officer_positions::Column::OfficerId.eq(officer_id))
        .count(&app.state.db)
        .await
        .unwrap()
}

fn code<T>(result: Result<T, ApiError>) -> Result<T, ErrorCode> {
    result.map_err(|e| e.code)
}

fn fields(result: Result<impl std::fmt::Debug, ApiError>) -> Vec<String> {
    let err = result.unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation, "{err:?}");
    assert!(err.fields.iter().all(|f| !f.message.is_empty()));
    err.fields.into_iter().map(|f| f.field).collect()
}

/// The point `distance_m` from `from` towards `bearing_deg`, on the services' sphere.
fn destination(from: (f64, f64), bearing_deg: f64, distance_m: f64) -> (f64, f64) {
    let (p1, l1, b) = (from.0.to_radians(), from.1.to_radians(), bearing_deg.to_radians());
    let d = distance_m / EARTH_RADIUS_M;
    let p2 = (p1.sin() * d.cos() + p1.cos() * d.sin() * b.cos()).asin();
    let l2 = l1 + (b.sin() * d.sin() * p1.cos()).atan2(d.cos() - p1.sin() * p2.sin());
    (p2.to_degrees(), l2.to_degrees())
}

fn close(actual: f64, expected: f64, relative: f64) -> bool {
    (actual - expected).abs() <= expected.abs() * relative
}

/// Puts an officer at `at`, seen `age` ago, with `status` (fixtures, straight to the table).
async fn place(app: &TestApp, code: &str, at: (f64, f64), status: OfficerStatus, age: Duration) {
    let mut o = officer(app, code).await.into_active_model();
    o.last_lat = Set(Some(at.0));
    o.last_lon = Set(Some(at.1));
    o.last_position_at = Set(Some(Utc::now() - age));
    o.last_position_source = Set(Some(PositionSource::Telegram));
    o.status = Set(status);
    o.update(&app.state.db).await.unwrap();
}

async fn soft_delete_officer(app: &TestApp, code: &str) {
    let mut o = officer(app, code).await.into_active_model();
    o.deleted_at = Set(Some(Utc::now()));
    o.update(&app.state.db).await.unwrap();
}

async fn insert_officer(app: &TestApp, code: &str, at: (f64, f64), status: OfficerStatus, age: Duration) -> i64 {
    let now = Utc::now();
    officers::ActiveModel {
        code: Set(code.into()),
        first_name: Set("Fixture".into()),
        last_name: Set(code.into()),
        rank: Set("Agente".into()),
        unit: Set("Pruebas".into()),
        status: Set(status),
        status_changed_at: Set(now),
        last_lat: Set(Some(at.0)),
        last_lon: Set(Some(at.1)),
        last_position_at: Set(Some(now - age)),
        last_position_source: Set(Some(PositionSource::Api)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .unwrap()
    .id
}

async fn insert_user(app: &TestApp, email: &str, role: Role) -> i64 {
    let now = Utc::now();
    users::ActiveModel {
        dni: Set(format!("DNI-{email}")),
        first_name: Set("Nuevo".into()),
        last_name: Set("Usuario".into()),
        email: Set(email.into()),
        role: Set(role),
        is_active: Set(true),
        failed_login_count: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .unwrap()
    .id
}

/// The next event on the bus that `matches`, if one is already there.
/// The first event since `log`'s mark that `matches` (the mark moves past every event read).
async fn received(app: &TestApp, log: &mut common::EventLog, matches: impl Fn(&Event) -> bool) -> Option<Event> {
    log.take(&app.state).await.into_iter().find(|e| matches(e))
}

async fn create_as(app: &TestApp, who: Option<Actor>, code: &str, user_id: Option<i64>) -> Result<Officer, ApiError> {
    let code = code.to_owned();
    call_as(&app.state, who, || {
        create_officer(
            code,
            " Ana ".into(),
            "Paz".into(),
            "Agente".into(),
            "Comisaría Vecinal 3A".into(),
            Some("  ".into()),
            user_id,
        )
    })
    .await
}

// ------------------------------------------------------------------------------ officer CRUD

async fn officer_crud_conflicts_and_validation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = actor(&app, "admin@gad.local").await;
    let some = || Some(admin.clone());

    // Create: normalised, available, audited.
    let created = create_as(&app, some(), " ef-100 ", None).await.unwrap();
    assert_eq!(
        (created.code.as_str(), created.first_name.as_str(), created.specialty.clone(), created.status),
        ("EF-100", "Ana", None, OfficerStatus::Available)
    );
    assert!(created.last_position.is_none() && created.user_id.is_none());
    assert_eq!(audit_count(&app, "officer.created").await, 1);

    // Unique codes, also against the demo's.
    assert_eq!(code(create_as(&app, some(), "EF-100", None).await).unwrap_err(), ErrorCode::Conflict);
    assert_eq!(code(create_as(&app, some(), "ef-001", None).await).unwrap_err(), ErrorCode::Conflict);

    // Field-level validation, in Spanish, every bad field at once.
    let bad = call_as(&app.state, some(), || {
        create_officer(" ".into(), "".into(), "Paz".into(), " ".into(), "U".into(), None, None)
    })
    .await;
    let mut bad_fields = fields(bad);
    bad_fields.sort();
    assert_eq!(bad_fields, ["code", "first_name", "rank"]);
    assert_eq!(fields(create_as(&app, some(), "EF 100", None).await), ["code"]);

    // Linking a user: officer role only, one officer per user.
    let efectivo1 = user_id(&app, "efectivo1@gad.local").await;
    assert_eq!(code(create_as(&app, some(), "EF-101", Some(efectivo1)).await).unwrap_err(), ErrorCode::Conflict);
    let supervisor = user_id(&app, "supervisor@gad.local").await;
    assert_eq!(fields(create_as(&app, some(), "EF-101", Some(supervisor)).await), ["user_id"]);
    assert_eq!(fields(create_as(&app, some(), "EF-101", Some(987_654)).await), ["user_id"]);
    let newcomer = insert_user(&app, "nuevo@gad.local", Role::Officer).await;
    let linked = create_as(&app, some(), "EF-101", Some(newcomer)).await.unwrap();
    assert_eq!(linked.user_id, Some(newcomer));
    let newcomer_actor = actor_for_user(&app.state, newcomer, Channel::Web).await.unwrap();
    assert_eq!(newcomer_actor.officer_id, Some(linked.id));
    assert_eq!(code(create_as(&app, some(), "EF-102", Some(newcomer)).await).unwrap_err(), ErrorCode::Conflict);

    // Update: audited with before and after; conflicts and unknown ids.
    let update = |id: i64, code: &str, rank: &str| {
        let (code, rank) = (code.to_owned(), rank.to_owned());
        call_as(&app.state, some(), move || {
            update_officer(
                id,
                code,
                "Ana".into(),
                "Paz".into(),
                rank,
                "Comisaría Vecinal 4B".into(),
                Some("Tránsito".into()),
                None,
            )
        })
    };
    let updated = update(created.id, "EF-100", "Sargento").await.unwrap();
    assert_eq!((updated.rank.as_str(), updated.unit.as_str()), ("Sargento", "Comisaría Vecinal 4B"));
    assert_eq!(updated.specialty.as_deref(), Some("Tránsito"));
    assert!(updated.updated_at >= created.updated_at);
    assert_eq!(audit_count(&app, "officer.updated").await, 1);
    let row = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("officer.updated"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.before_value.unwrap()["rank"], "Agente");
    assert_eq!(row.after_value.unwrap()["rank"], "Sargento");
    assert_eq!(code(update(created.id, "EF-002", "Sargento").await).unwrap_err(), ErrorCode::Conflict);
    assert_eq!(code(update(999_999, "EF-999", "Cabo").await).unwrap_err(), ErrorCode::NotFound);
    assert_eq!(fields(update(created.id, "EF-100", "").await), ["rank"]);
    // Saving the same values changes nothing and audits nothing.
    update(created.id, "EF-100", "Sargento").await.unwrap();
    assert_eq!(audit_count(&app, "officer.updated").await, 1);

    // List: cursor pages cover everything once, in id order.
    let list =
        |status: Option<OfficerStatus>, unit: Option<&str>, text: Option<&str>, cursor: Option<String>, limit| {
            let (unit, text) = (unit.map(str::to_owned), text.map(str::to_owned));
            call_as(&app.state, some(), move || list_officers(status, unit, text, cursor, limit))
        };
    let mut ids = Vec::new();
    let mut cursor = None;
    loop {
        let page = list(None, None, None, cursor, Some(3)).await.unwrap();
        assert!(page.items.len() <= 3);
        ids.extend(page.items.iter().map(|o| o.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(ids.len(), 8, "six demo officers and two new ones");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let codes = |page: contract::Page<Officer>| page.items.into_iter().map(|o| o.code).collect::<Vec<_>>();
    assert_eq!(codes(list(Some(OfficerStatus::OnTask), None, None, None, None).await.unwrap()), ["EF-001", "EF-004"]);
    assert_eq!(codes(list(None, Some(" comisaría vecinal 4b "), None, None, None).await.unwrap()), ["EF-100"]);
    assert_eq!(codes(list(None, None, Some("BENÍ"), None, None).await.unwrap()), ["EF-002"]);
    assert_eq!(codes(list(None, None, Some("ef-10"), None, None).await.unwrap()), ["EF-100", "EF-101"]);
    assert!(codes(list(None, None, Some("%"), None, None).await.unwrap()).is_empty(), "LIKE wildcards are literal");
    assert_eq!(fields(list(None, None, None, Some("abc".into()), None).await), ["cursor"]);
    assert_eq!(fields(list(None, None, None, None, Some(0)).await), ["limit"]);
    assert_eq!(fields(list(None, None, None, None, Some(201)).await), ["limit"]);

    // The list is served from a cache; a write (which publishes no event) empties it.
    assert!(codes(list(None, None, None, None, Some(200)).await.unwrap()).contains(&"EF-101".to_owned()));

    // Delete: refused while holding open tasks; soft; the code stays taken, the user is freed.
    let ef1 = officer(&app, "EF-001").await.id;
    assert_eq!(code(call_as(&app.state, some(), || delete_officer(ef1)).await).unwrap_err(), ErrorCode::Conflict);
    call_as(&app.state, some(), || delete_officer(linked.id)).await.unwrap();
    assert_eq!(audit_count(&app, "officer.deleted").await, 1);
    assert_eq!(code(call_as(&app.state, some(), || get_officer(linked.id)).await).unwrap_err(), ErrorCode::NotFound);
    assert_eq!(code(call_as(&app.state, some(), || delete_officer(linked.id)).await).unwrap_err(), ErrorCode::NotFound);
    assert!(!codes(list(None, None, None, None, Some(200)).await.unwrap()).contains(&"EF-101".to_owned()));
    let moved = call_as(&app.state, some(), || update_officer_position(linked.id, -34.6, -58.4, None, None)).await;
    assert_eq!(code(moved).unwrap_err(), ErrorCode::NotFound);
    assert_eq!(code(create_as(&app, some(), "EF-101", None).await).unwrap_err(), ErrorCode::Conflict);
    let relinked = create_as(&app, some(), "EF-102", Some(newcomer)).await.unwrap();
    assert_eq!(relinked.user_id, Some(newcomer));

    // Every write above is in the audit chain, intact.
    gad_core::sealer::seal_now(&app.state.db).await.unwrap();
    assert_eq!(services::audit::verify(&app.state.db).await.unwrap().first_broken, None);
}
on_both_backends!(officer_crud_conflicts_and_validation);

// ------------------------------------------------------------------------- who may do what

#[derive(Clone, Copy, Debug)]
enum Who {
    Admin,
    Supervisor,
    Officer,
    Anonymous,
}

const WHO: [Who; 4] = [Who::Admin, Who::Supervisor, Who::Officer, Who::Anonymous];

struct Fixture {
    /// efectivo1's officer profile (EF-001), "own" for the officer.
    own: i64,
    /// EF-002, somebody else's.
    other: i64,
}

fn ok<T>(result: Result<T, ApiError>) -> Result<(), ErrorCode> {
    result.map(|_| ()).map_err(|e| e.code)
}

fn no(code: ErrorCode) -> Result<(), ErrorCode> {
    Err(code)
}

/// One operation through its server function as `who`; Ok(()) or the error code.
async fn attempt(app: &TestApp, fx: &Fixture, who: Who, op: &str) -> Result<(), ErrorCode> {
    let actor = match who {
        Who::Admin => Some(actor(app, "admin@gad.local").await),
        Who::Supervisor => Some(actor(app, "supervisor@gad.local").await),
        Who::Officer => Some(actor(app, "efectivo1@gad.local").await),
        Who::Anonymous => None,
    };
    let state = &app.state;
    let (own, other) = (fx.own, fx.other);
    let (lat, lon) = OBELISCO;
    let now = Utc::now();
    let tag = format!("{who:?}").to_uppercase();
    match op {
        "list_officers" => ok(call_as(state, actor, || list_officers(None, None, None, None, None)).await),
        "officer_labels" => ok(call_as(state, actor, || officer_labels(200)).await),
        "get_own" => ok(call_as(state, actor, || get_officer(own)).await),
        "get_other" => ok(call_as(state, actor, || get_officer(other)).await),
        "create" => ok(create_as(app, actor, &format!("NEW-{tag}"), None).await),
        "update_other" => ok(call_as(state, actor, || {
            update_officer(
                other,
                "EF-002".into(),
                "Carla".into(),
                "Benítez".into(),
                format!("Sargento {tag}"),
                "Comisaría Vecinal 1C".into(),
                None,
                None,
            )
        })
        .await),
        "delete" => {
            let admin = actor_via(app, "admin@gad.local", Channel::System).await;
            let victim = create_as(app, Some(admin), &format!("DEL-{tag}"), None).await.unwrap();
            ok(call_as(state, actor, || delete_officer(victim.id)).await)
        }
        "status_own" => ok(call_as(state, actor, || set_officer_status(own, OfficerStatus::OffDuty)).await),
        "status_other" => ok(call_as(state, actor, || set_officer_status(other, OfficerStatus::Unavailable)).await),
        "my_status" => ok(call_as(state, actor, || set_my_status(OfficerStatus::Available)).await),
        "position_own" => ok(call_as(state, actor, || update_officer_position(own, lat, lon, None, None)).await),
        "position_other" => ok(call_as(state, actor, || update_officer_position(other, lat, lon, None, None)).await),
        "my_position" => ok(call_as(state, actor, || update_my_position(lat, lon, Some(5.0), None)).await),
        "last_position_own" => ok(call_as(state, actor, || officer_last_position(own)).await),
        "last_position_other" => ok(call_as(state, actor, || officer_last_position(other)).await),
        "track_own" => ok(call_as(state, actor, || officer_track(own, now - Duration::hours(2), now)).await),
        "track_other" => ok(call_as(state, actor, || officer_track(other, now - Duration::hours(2), now)).await),
        "nearest" => ok(call_as(state, actor, || nearest_officers(lat, lon, 5_000.0, 60, 10, true)).await),
        "within_radius" => ok(call_as(state, actor, || officers_within_radius(lat, lon, 5_000.0, 10)).await),
        "officers_bbox" => ok(call_as(state, actor, || officers_in_bbox(-35.0, -59.0, -34.0, -58.0, 50)).await),
        "tasks_radius" => ok(call_as(state, actor, || tasks_within_radius(lat, lon, 20_000.0, 50, false)).await),
        "tasks_bbox" => ok(call_as(state, actor, || tasks_in_bbox(-35.0, -59.0, -34.0, -58.0, 50, false)).await),
        "stats" => {
            let today = now.date_naive();
            ok(call_as(state, actor, || task_stats(today - Duration::days(7), today)).await)
        }
        other => panic!("unknown operation {other}"),
    }
}

async fn each_role_against_each_operation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fx = Fixture { own: officer(&app, "EF-001").await.id, other: officer(&app, "EF-002").await.id };
    let supervisor = Some(actor(&app, "supervisor@gad.local").await);
    let labels = call_as(&app.state, supervisor, || officer_labels(200)).await.unwrap();
    assert!(labels.iter().any(|(id, label)| *id == fx.own && label.ends_with("(EF-001)")), "{labels:?}");
    use ErrorCode::{Forbidden as F, Unauthenticated as U, Validation as V};
    const OK: Result<(), ErrorCode> = Ok(());
    // (operation, admin, supervisor, officer, anonymous) — SPEC §5.
    let table = [
        ("list_officers", OK, OK, no(F), no(U)),
        ("officer_labels", OK, OK, no(F), no(U)),
        ("get_own", OK, OK, OK, no(U)),
        ("get_other", OK, OK, no(F), no(U)),
        ("create", OK, OK, no(F), no(U)),
        ("update_other", OK, OK, no(F), no(U)),
        ("delete", OK, OK, no(F), no(U)),
        ("status_own", OK, OK, OK, no(U)),
        ("status_other", OK, OK, no(F), no(U)),
        // Admin and supervisor have no officer profile of their own.
        ("my_status", no(V), no(V), OK, no(U)),
        ("position_own", OK, OK, OK, no(U)),
        ("position_other", OK, OK, no(F), no(U)),
        ("my_position", no(V), no(V), OK, no(U)),
        ("last_position_own", OK, OK, OK, no(U)),
        ("last_position_other", OK, OK, no(F), no(U)),
        ("track_own", OK, OK, OK, no(U)),
        ("track_other", OK, OK, no(F), no(U)),
        ("nearest", OK, OK, no(F), no(U)),
        ("within_radius", OK, OK, no(F), no(U)),
        ("officers_bbox", OK, OK, no(F), no(U)),
        ("tasks_radius", OK, OK, OK, no(U)),
        ("tasks_bbox", OK, OK, OK, no(U)),
        ("stats", OK, OK, OK, no(U)),
    ];
    for (op, admin, supervisor, officer_, anonymous) in table {
        for (who, expected) in WHO.into_iter().zip([admin, supervisor, officer_, anonymous]) {
            assert_eq!(attempt(&app, &fx, who, op).await, expected, "{op} as {who:?}");
        }
    }

    // What each role sees: officers only their own tasks on the map; statistics by scope.
    let officer_actor = actor(&app, "efectivo1@gad.local").await;
    let (lat, lon) = OBELISCO;
    let mine = call_as(&app.state, Some(officer_actor.clone()), || tasks_within_radius(lat, lon, 50_000.0, 200, false))
        .await
        .unwrap();
    let mut titles: Vec<String> = mine.into_iter().map(|t| t.title).collect();
    titles.sort();
    assert_eq!(titles, ["Actualización de legajos", "Patrullaje Microcentro"]);
    let all = call_as(&app.state, Some(actor(&app, "supervisor@gad.local").await), || {
        tasks_in_bbox(-90.0, -180.0, 90.0, 180.0, 200, false)
    })
    .await
    .unwrap();
    assert_eq!(all.len(), 10);
    let today = Utc::now().date_naive();
    let scope_of = |a: Actor| {
        call_as(&app.state, Some(a), move || task_stats(today - Duration::days(2), today + Duration::days(2)))
    };
    assert_eq!(scope_of(officer_actor).await.unwrap().scope, StatsScope::Own);
    assert_eq!(scope_of(actor(&app, "supervisor@gad.local").await).await.unwrap().scope, StatsScope::Team);
    assert_eq!(scope_of(actor(&app, "admin@gad.local").await).await.unwrap().scope, StatsScope::All);
}
on_both_backends!(each_role_against_each_operation);

/// The dashboard calls these with URL-encoded forms: scalars, booleans and dates decode.
async fn server_functions_over_http(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let supervisor = app.login("supervisor@gad.local", common::DEMO_PASSWORD).await;
    let res = app
        .call(
            &supervisor,
            "nearest_officers",
            &[
                ("lat", "-34.6037"),
                ("lon", "-58.3816"),
                ("radius_m", "20000"),
                ("fresh_minutes", "60"),
                ("limit", "3"),
                ("only_available", "false"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let nearest: Vec<NearbyOfficer> = res.json().await.unwrap();
    assert_eq!(nearest.len(), 3);
    assert_eq!(nearest[0].code, "EF-001", "EF-001 stands at the Obelisco");
    let res = app.call(&supervisor, "task_stats", &[("from", "2024-05-06"), ("to", "2024-05-08")]).await;
    assert_eq!(res.status(), 200);
    let stats: TaskStatistics = res.json().await.unwrap();
    assert_eq!((stats.total, stats.per_day.len()), (0, 3));
    let res = app
        .call(
            &supervisor,
            "nearest_officers",
            &[
                ("lat", "-134"),
                ("lon", "-58"),
                ("radius_m", "0"),
                ("fresh_minutes", "60"),
                ("limit", "3"),
                ("only_available", "true"),
            ],
        )
        .await;
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    let mut bad: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    bad.sort_unstable();
    assert_eq!(bad, ["lat", "radius_m"]);
}
on_both_backends!(server_functions_over_http);

// ----------------------------------------------------------------------------------- status

async fn officer_changes_own_status_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let me = actor_via(&app, "efectivo2@gad.local", Channel::Telegram).await;
    let ef2 = officer(&app, "EF-002").await;
    let ef3 = officer(&app, "EF-003").await;
    assert_eq!(me.officer_id, Some(ef2.id));
    let mut rx = common::EventLog::mark(&app.state).await;

    let changed = call_as(&app.state, Some(me.clone()), || set_my_status(OfficerStatus::Unavailable)).await.unwrap();
    assert_eq!(changed.status, OfficerStatus::Unavailable);
    assert!(changed.status_changed_at > ef2.status_changed_at);
    let event = received(&app, &mut rx, |e| matches!(e, Event::OfficerStatusChanged { .. })).await.unwrap();
    assert_eq!(event, Event::OfficerStatusChanged { officer_id: ef2.id, status: OfficerStatus::Unavailable });
    let row = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("officer.status_changed"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.user_id, row.channel), (Some(me.user_id), Channel::Telegram));
    assert_eq!(row.before_value.unwrap()["status"], "available");
    assert_eq!(row.after_value.unwrap()["status"], "unavailable");

    // Another officer's status: refused, nothing changes.
    let refused = call_as(&app.state, Some(me.clone()), || set_officer_status(ef3.id, OfficerStatus::OffDuty)).await;
    assert_eq!(code(refused).unwrap_err(), ErrorCode::Forbidden);
    assert_eq!(officer(&app, "EF-003").await.status, ef3.status);

    // `on_task` follows the tasks; officers cannot claim it.
    assert_eq!(
        fields(call_as(&app.state, Some(me.clone()), || set_my_status(OfficerStatus::OnTask)).await),
        ["status"]
    );

    // The same status again writes nothing.
    call_as(&app.state, Some(me.clone()), || set_officer_status(ef2.id, OfficerStatus::Unavailable)).await.unwrap();
    assert_eq!(audit_count(&app, "officer.status_changed").await, 1);
    assert!(received(&app, &mut rx, |_| true).await.is_none());

    // A supervisor may set any status of anyone.
    let supervisor = actor(&app, "supervisor@gad.local").await;
    let set = call_as(&app.state, Some(supervisor), || set_officer_status(ef3.id, OfficerStatus::OnTask)).await;
    assert_eq!(set.unwrap().status, OfficerStatus::OnTask);
    assert_eq!(audit_count(&app, "officer.status_changed").await, 2);
}
on_both_backends!(officer_changes_own_status_only);

// -------------------------------------------------------------------------------- positions

async fn positions_history_last_and_track(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let me = actor_via(&app, "efectivo3@gad.local", Channel::Telegram).await;
    let ef3 = officer(&app, "EF-003").await;
    let audit_rows = audit_log::Entity::find().count(&app.state.db).await.unwrap();
    let history = history_count(&app, ef3.id).await;
    let mut rx = common::EventLog::mark(&app.state).await;

    // A fresh report: appended, becomes the last position, published, not audited.
    let at = Utc::now() - Duration::seconds(5);
    let here = destination(OBELISCO, 45.0, 250.0);
    let accepted = call_as(&app.state, Some(me.clone()), || update_my_position(here.0, here.1, Some(8.5), Some(at)))
        .await
        .unwrap();
    assert!(accepted.current);
    assert_eq!(accepted.position.source, PositionSource::Telegram, "the bot's channel");
    assert_eq!(history_count(&app, ef3.id).await, history + 1);
    let now_ef3 = officer(&app, "EF-003").await;
    assert_eq!((now_ef3.last_lat, now_ef3.last_lon), (Some(here.0), Some(here.1)));
    assert_eq!(now_ef3.last_position_at, Some(accepted.position.recorded_at));
    let event = received(&app, &mut rx, |e| matches!(e, Event::OfficerPosition { .. })).await.unwrap();
    assert_eq!(
        event,
        Event::OfficerPosition {
            officer_id: ef3.id,
            lat: here.0,
            lon: here.1,
            recorded_at: accepted.position.recorded_at
        }
    );
    let last = call_as(&app.state, Some(me.clone()), || officer_last_position(ef3.id)).await.unwrap().unwrap();
    assert_eq!((last.lat, last.lon, last.accuracy_m), (here.0, here.1, Some(8.5)));

    // A late report of an older position joins the history but does not move the officer back.
    let older = call_as(&app.state, Some(me.clone()), || {
        update_my_position(-34.61, -58.39, None, Some(at - Duration::minutes(10)))
    })
    .await
    .unwrap();
    assert!(!older.current);
    assert_eq!(history_count(&app, ef3.id).await, history + 2);
    assert_eq!(officer(&app, "EF-003").await.last_lat, Some(here.0));
    assert!(received(&app, &mut rx, |e| matches!(e, Event::OfficerPosition { .. })).await.is_none());
    assert_eq!(audit_log::Entity::find().count(&app.state.db).await.unwrap(), audit_rows, "positions are not audited");

    // Invalid reports.
    let bad = call_as(&app.state, Some(me.clone()), || update_my_position(91.0, -181.0, Some(-1.0), None)).await;
    let mut bad = fields(bad);
    bad.sort();
    assert_eq!(bad, ["accuracy_m", "lat", "lon"]);
    let future = Utc::now() + Duration::hours(1);
    let bad = call_as(&app.state, Some(me.clone()), || update_my_position(-34.6, -58.4, None, Some(future))).await;
    assert_eq!(fields(bad), ["recorded_at"]);
    // Nor rewritten days later: a late report is a queue catching up, not a new past.
    let past = Utc::now() - Duration::days(3);
    let bad = call_as(&app.state, Some(me.clone()), || update_my_position(-34.6, -58.4, None, Some(past))).await;
    assert_eq!(fields(bad), ["recorded_at"]);

    // A supervisor reports for an officer over the web.
    let supervisor = actor(&app, "supervisor@gad.local").await;
    let t0 = Utc::now();
    let by_supervisor = call_as(&app.state, Some(supervisor.clone()), || {
        update_officer_position(ef3.id, -34.605, -58.38, None, Some(t0))
    })
    .await
    .unwrap();
    assert_eq!(by_supervisor.position.source, PositionSource::Web);
    assert!(by_supervisor.current);

    // The track for a window: ordered, [from, to).
    let base = Utc::now() - Duration::hours(3);
    for (minutes, lat) in [(0, -34.60), (10, -34.61), (20, -34.62), (30, -34.63)] {
        let when = base + Duration::minutes(minutes);
        call_as(&app.state, Some(me.clone()), || update_my_position(lat, -58.40, None, Some(when))).await.unwrap();
    }
    let track = call_as(&app.state, Some(me.clone()), || {
        officer_track(ef3.id, base + Duration::minutes(10), base + Duration::minutes(30))
    })
    .await
    .unwrap();
    let lats: Vec<f64> = track.positions.iter().map(|p| p.lat).collect();
    assert_eq!(lats, [-34.61, -34.62]);
    assert!(!track.truncated);
    let whole =
        call_as(&app.state, Some(supervisor.clone()), || officer_track(ef3.id, base, Utc::now())).await.unwrap();
    assert_eq!(whole.positions.len() as u64, history + 7, "the demo's, 2 fresh, 1 late, 4 old reports");
    assert!(whole.positions.windows(2).all(|w| w[0].recorded_at <= w[1].recorded_at));
    let bad = call_as(&app.state, Some(me.clone()), || officer_track(ef3.id, base, base)).await;
    assert_eq!(fields(bad), ["to"]);
    let bad = call_as(&app.state, Some(me), || officer_track(ef3.id, base - Duration::days(40), base)).await;
    assert_eq!(fields(bad), ["to"]);
}
on_both_backends!(positions_history_last_and_track);

// ------------------------------------------------------------------------------------ nearest

/// The demo officers moved to measured distances from the Obelisco.
async fn nearest_fixtures(app: &TestApp) {
    let fresh = Duration::minutes(1);
    place(app, "EF-001", destination(OBELISCO, 30.0, 100.0), OfficerStatus::Available, fresh).await;
    place(app, "EF-002", destination(OBELISCO, 180.0, 800.0), OfficerStatus::Available, fresh).await;
    place(app, "EF-003", destination(OBELISCO, 270.0, 3_000.0), OfficerStatus::Available, fresh).await;
    // Stale: seen two hours ago.
    place(app, "EF-004", destination(OBELISCO, 90.0, 500.0), OfficerStatus::Available, Duration::hours(2)).await;
    // Unavailable.
    place(app, "EF-005", destination(OBELISCO, 0.0, 300.0), OfficerStatus::Unavailable, fresh).await;
    // Deleted.
    place(app, "EF-006", destination(OBELISCO, 225.0, 200.0), OfficerStatus::Available, fresh).await;
    soft_delete_officer(app, "EF-006").await;
}

fn summary(found: &[NearbyOfficer]) -> Vec<(String, f64)> {
    found.iter().map(|o| (o.code.clone(), o.distance_m)).collect()
}

fn assert_distances(found: &[NearbyOfficer], expected: &[(&str, f64)]) {
    let codes: Vec<&str> = found.iter().map(|o| o.code.as_str()).collect();
    let want: Vec<&str> = expected.iter().map(|e| e.0).collect();
    assert_eq!(codes, want, "{:?}", summary(found));
    for (o, (_, metres)) in found.iter().zip(expected) {
        assert!(close(o.distance_m, *metres, 0.005), "{} at {} m, expected {metres}", o.code, o.distance_m);
        assert!(close(haversine_m(OBELISCO.0, OBELISCO.1, o.lat, o.lon), *metres, 0.005));
    }
}

async fn nearest_with_known_fixtures(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    nearest_fixtures(&app).await;
    let (lat, lon) = OBELISCO;
    let state = &app.state;

    // The building block: available, fresh, not deleted, in the radius, nearest first.
    let found = services::geo::nearest_available(state, lat, lon, 5_000.0, Duration::minutes(30), 10).await.unwrap();
    assert_distances(&found, &[("EF-001", 100.0), ("EF-002", 800.0), ("EF-003", 3_000.0)]);
    assert!(found.iter().all(|o| o.status == OfficerStatus::Available && o.name.contains(' ')));
    let found = services::geo::nearest_available(state, lat, lon, 1_000.0, Duration::minutes(30), 10).await.unwrap();
    assert_distances(&found, &[("EF-001", 100.0), ("EF-002", 800.0)]);
    let found = services::geo::nearest_available(state, lat, lon, 5_000.0, Duration::minutes(30), 1).await.unwrap();
    assert_distances(&found, &[("EF-001", 100.0)]);
    let found = services::geo::nearest_available(state, lat, lon, 5_000.0, Duration::hours(3), 10).await.unwrap();
    assert_distances(&found, &[("EF-001", 100.0), ("EF-004", 500.0), ("EF-002", 800.0), ("EF-003", 3_000.0)]);
    let invalid = services::geo::nearest_available(state, 95.0, lon, 0.5, Duration::zero(), 500).await;
    match invalid {
        Err(gad_core::error::AppError::Validation(errors)) => {
            let mut f: Vec<String> = errors.into_iter().map(|e| e.field).collect();
            f.sort();
            assert_eq!(f, ["fresh_within", "lat", "limit", "radius_m"]);
        }
        other => panic!("{other:?}"),
    }

    // The dashboard's search: any status on request, freshness in minutes.
    let supervisor = Some(actor(&app, "supervisor@gad.local").await);
    let any_status =
        call_as(state, supervisor.clone(), || nearest_officers(lat, lon, 5_000.0, 30, 10, false)).await.unwrap();
    assert_distances(&any_status, &[("EF-001", 100.0), ("EF-005", 300.0), ("EF-002", 800.0), ("EF-003", 3_000.0)]);
    assert_eq!(any_status[1].status, OfficerStatus::Unavailable);
    let bad = call_as(state, supervisor.clone(), || nearest_officers(lat, lon, 100_001.0, 0, 0, true)).await;
    let mut bad = fields(bad);
    bad.sort();
    assert_eq!(bad, ["fresh_minutes", "limit", "radius_m"]);

    // Within a radius: every live officer with a position, whatever its age or status.
    let within = call_as(state, supervisor.clone(), || officers_within_radius(lat, lon, 1_000.0, 50)).await.unwrap();
    assert_distances(&within, &[("EF-001", 100.0), ("EF-005", 300.0), ("EF-004", 500.0), ("EF-002", 800.0)]);

    // Officers reporting the very same spot: ties go by id, also where the limit cuts.
    let same_spot = destination(OBELISCO, 30.0, 100.0);
    let mut tied = vec![officer(&app, "EF-001").await.id];
    tied.push(insert_officer(&app, "TIE-2", same_spot, OfficerStatus::Available, Duration::minutes(2)).await);
    tied.push(insert_officer(&app, "TIE-1", same_spot, OfficerStatus::Available, Duration::minutes(2)).await);
    let fresh = Duration::minutes(30);
    let found = services::geo::nearest_available(state, lat, lon, 5_000.0, fresh, 1).await.unwrap();
    assert_distances(&found, &[("EF-001", 100.0)]);
    let found = services::geo::nearest_available(state, lat, lon, 5_000.0, fresh, 3).await.unwrap();
    assert_distances(&found, &[("EF-001", 100.0), ("TIE-2", 100.0), ("TIE-1", 100.0)]);
    // A dozen at that spot, cut at ten: the ten first by id, whatever order the index meets them.
    for n in 3..=12 {
        tied.push(insert_officer(&app, &format!("TIE-{n}"), same_spot, OfficerStatus::Available, fresh / 2).await);
    }
    let found = services::geo::nearest_available(state, lat, lon, 5_000.0, fresh, 10).await.unwrap();
    tied.truncate(10);
    assert_eq!(found.iter().map(|o| o.officer_id).collect::<Vec<_>>(), tied);
}
on_both_backends!(nearest_with_known_fixtures);

async fn bbox_and_radius_queries(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    nearest_fixtures(&app).await;
    let state = &app.state;
    let admin = Some(actor(&app, "admin@gad.local").await);

    // A box of ±1 km around the Obelisco (about 0.009° of latitude, 0.011° of longitude).
    let (lat, lon) = OBELISCO;
    let boxed =
        call_as(state, admin.clone(), || officers_in_bbox(lat - 0.009, lon - 0.011, lat + 0.009, lon + 0.011, 50))
            .await
            .unwrap();
    let codes: Vec<&str> = boxed.iter().map(|o| o.code.as_str()).collect();
    assert_eq!(codes, ["EF-001", "EF-002", "EF-004", "EF-005"], "by id; EF-003 is 3 km away, EF-006 deleted");
    // The whole world, and a box on the other side of it.
    let world = call_as(state, admin.clone(), || officers_in_bbox(-90.0, -180.0, 90.0, 180.0, 200)).await.unwrap();
    assert_eq!(world.len(), 5);
    let elsewhere = call_as(state, admin.clone(), || officers_in_bbox(40.0, 2.0, 41.0, 3.0, 200)).await.unwrap();
    assert!(elsewhere.is_empty());
    let limited = call_as(state, admin.clone(), || officers_in_bbox(-90.0, -180.0, 90.0, 180.0, 2)).await.unwrap();
    assert_eq!(limited.len(), 2);
    let bad = call_as(state, admin.clone(), || officers_in_bbox(-34.0, -58.0, -35.0, -59.0, 10)).await;
    assert_eq!(fields(bad), ["max_lat"]);
    let bad = call_as(state, admin.clone(), || officers_in_bbox(-34.0, -59.0, -33.0, -58.0, 0)).await;
    assert_eq!(fields(bad), ["limit"]);

    // Tasks near the Obelisco: the demo's, nearest first, distances from their coordinates.
    let db_tasks = tasks::Entity::find().all(&state.db).await.unwrap();
    let mut expected: Vec<(String, f64)> = db_tasks
        .iter()
        .map(|t| (t.code.clone(), haversine_m(lat, lon, t.lat.unwrap(), t.lon.unwrap())))
        .filter(|(_, d)| *d <= 3_000.0)
        .collect();
    expected.sort_by(|a, b| a.1.total_cmp(&b.1));
    let near = call_as(state, admin.clone(), || tasks_within_radius(lat, lon, 3_000.0, 50, false)).await.unwrap();
    assert_eq!(
        near.iter().map(|t| t.code.clone()).collect::<Vec<_>>(),
        expected.iter().map(|e| e.0.clone()).collect::<Vec<_>>()
    );
    for (t, (_, d)) in near.iter().zip(&expected) {
        assert!(close(t.distance_m.unwrap(), *d, 0.005), "{}: {:?} vs {d}", t.code, t.distance_m);
    }
    assert!(near.len() >= 3, "{near:?}");
    assert_eq!(near[0].title, "Patrullaje Microcentro");

    // Open tasks only; deleted tasks never.
    let open = call_as(state, admin.clone(), || tasks_in_bbox(-90.0, -180.0, 90.0, 180.0, 200, true)).await.unwrap();
    assert_eq!(open.len(), 8, "the demo has two completed tasks");
    assert!(open.iter().all(|t| t.status.is_open() && t.distance_m.is_none()));
    let first = near[0].task_id;
    let mut row = tasks::Entity::find_by_id(first).one(&state.db).await.unwrap().unwrap().into_active_model();
    row.deleted_at = Set(Some(Utc::now()));
    row.update(&state.db).await.unwrap();
    let near = call_as(state, admin.clone(), || tasks_within_radius(lat, lon, 3_000.0, 50, false)).await.unwrap();
    assert!(near.iter().all(|t| t.task_id != first));
    let boxed = call_as(state, admin.clone(), || tasks_in_bbox(-90.0, -180.0, 90.0, 180.0, 200, false)).await.unwrap();
    assert_eq!(boxed.len(), 9);

    // An officer sees only their own tasks (EF-001 kept "Actualización de legajos").
    let officer_actor = Some(actor(&app, "efectivo1@gad.local").await);
    let own =
        call_as(state, officer_actor.clone(), || tasks_in_bbox(-90.0, -180.0, 90.0, 180.0, 200, false)).await.unwrap();
    assert_eq!(own.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(), ["Actualización de legajos"]);
    let own = call_as(state, officer_actor, || tasks_within_radius(lat, lon, 100_000.0, 200, false)).await.unwrap();
    assert_eq!(own.len(), 1);
}
on_both_backends!(bbox_and_radius_queries);

/// The same data on both backends gives the same officers, in the same order, with distances
/// within 0.5 %.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backends_agree_on_geo_queries() {
    let sqlite = TestApp::spawn(Backend::Sqlite).await;
    let postgres = TestApp::spawn(Backend::Postgres).await;
    let statuses = [OfficerStatus::Available, OfficerStatus::OnTask, OfficerStatus::Available, OfficerStatus::OffDuty];
    for app in [&sqlite, &postgres] {
        nearest_fixtures(app).await;
        // A deterministic scatter of 80 officers up to 9 km around the Obelisco.
        for i in 0..80_u32 {
            let bearing = f64::from(i) * 137.507_764 % 360.0;
            let distance = 40.0 + f64::from((i * i * 7_919 + i * 104_729) % 9_000);
            let age = Duration::minutes(if i % 7 == 0 { 240 } else { i64::from(i % 20) });
            let code = format!("X-{i:03}");
            insert_officer(app, &code, destination(OBELISCO, bearing, distance), statuses[i as usize % 4], age).await;
            if i % 11 == 0 {
                soft_delete_officer(app, &code).await;
            }
        }
    }
    let (lat, lon) = OBELISCO;
    let mut compared = 0;
    for (radius, fresh, only_available) in [(5_000.5, 30, true), (8_000.5, 600, false), (1_500.5, 10, false)] {
        let mut answers = Vec::new();
        for app in [&sqlite, &postgres] {
            let supervisor = Some(actor(app, "supervisor@gad.local").await);
            answers.push(
                call_as(&app.state, supervisor, || nearest_officers(lat, lon, radius, fresh, 200, only_available))
                    .await
                    .unwrap(),
            );
        }
        compared += agree(&answers[0], &answers[1]);
    }
    // Radii off the fixtures' whole metres: exactly on the boundary is floating-point noise.
    for radius in [700.5, 4_000.5, 100_000.0] {
        let mut answers = Vec::new();
        for app in [&sqlite, &postgres] {
            let admin = Some(actor(app, "admin@gad.local").await);
            answers.push(call_as(&app.state, admin, || officers_within_radius(lat, lon, radius, 200)).await.unwrap());
        }
        compared += agree(&answers[0], &answers[1]);
    }
    for (fresh, limit) in [(30, 5), (300, 200)] {
        let mut answers = Vec::new();
        for app in [&sqlite, &postgres] {
            answers.push(
                services::geo::nearest_available(&app.state, lat, lon, 9_500.5, Duration::minutes(fresh), limit)
                    .await
                    .unwrap(),
            );
        }
        compared += agree(&answers[0], &answers[1]);
    }
    assert!(compared > 100, "{compared} rows compared");

    for (min_lat, min_lon, max_lat, max_lon) in [(-34.65, -58.45, -34.58, -58.35), (-90.0, -180.0, 90.0, 180.0)] {
        let mut answers = Vec::new();
        for app in [&sqlite, &postgres] {
            let admin = Some(actor(app, "admin@gad.local").await);
            let found = call_as(&app.state, admin, || officers_in_bbox(min_lat, min_lon, max_lat, max_lon, 200)).await;
            answers.push(found.unwrap().into_iter().map(|o| o.code).collect::<Vec<_>>());
        }
        assert_eq!(answers[0], answers[1]);
        assert!(!answers[0].is_empty());
    }
    let mut answers = Vec::new();
    for app in [&sqlite, &postgres] {
        let admin = Some(actor(app, "admin@gad.local").await);
        let found = call_as(&app.state, admin, || tasks_within_radius(lat, lon, 12_000.0, 200, false)).await.unwrap();
        answers.push(found.into_iter().map(|t| (t.code, t.distance_m.unwrap())).collect::<Vec<_>>());
    }
    assert_eq!(answers[0].len(), answers[1].len());
    for (a, b) in answers[0].iter().zip(&answers[1]) {
        assert_eq!(a.0, b.0);
        assert!(close(a.1, b.1, 0.005), "{a:?} vs {b:?}");
    }
}

/// Same codes in the same order, distances within 0.5 %; returns the number of rows.
fn agree(sqlite: &[NearbyOfficer], postgres: &[NearbyOfficer]) -> usize {
    let codes = |found: &[NearbyOfficer]| found.iter().map(|o| o.code.clone()).collect::<Vec<_>>();
    assert_eq!(codes(sqlite), codes(postgres));
    for (a, b) in sqlite.iter().zip(postgres) {
        assert!(close(a.distance_m, b.distance_m, 0.005), "{}: {} vs {}", a.code, a.distance_m, b.distance_m);
    }
    assert!(sqlite.windows(2).all(|w| w[0].distance_m <= w[1].distance_m));
    assert!(postgres.windows(2).all(|w| w[0].distance_m <= w[1].distance_m));
    sqlite.len()
}

// ------------------------------------------------------------------------------- statistics

/// Buenos Aires local time (UTC−3, no DST), the default GAD_TIMEZONE.
fn local(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    FixedOffset::west_opt(3 * 3600)
        .unwrap()
        .with_ymd_and_hms(2024, 5, day, hour, minute, 0)
        .unwrap()
        .with_timezone(&Utc)
}

struct StatTask {
    code: &'static str,
    task_type: TaskType,
    priority: TaskPriority,
    status: TaskStatus,
    scheduled: DateTime<Utc>,
    actual: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    paused_seconds: i64,
    supervised: bool,
    by_admin: bool,
    officers: &'static [&'static str],
    deleted: bool,
}

/// The controlled data set of the statistics scenario (period: 6–8 May 2024, local time).
async fn statistics_fixtures(app: &TestApp) {
    use TaskPriority::*;
    use TaskStatus::*;
    use TaskType::*;
    type Actual = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let t = |code: &'static str,
             task_type: TaskType,
             priority: TaskPriority,
             status: TaskStatus,
             scheduled: DateTime<Utc>,
             actual: Actual,
             paused_seconds: i64,
             officers: &'static [&'static str]| StatTask {
        code,
        task_type,
        priority,
        status,
        scheduled,
        actual,
        paused_seconds,
        supervised: true,
        by_admin: false,
        officers,
        deleted: false,
    };
    let rows = [
        t(
            "ST-01",
            Patrol,
            Low,
            Completed,
            local(6, 9, 0),
            (Some(local(6, 9, 0)), Some(local(6, 9, 30))),
            0,
            &["EF-001"][..],
        ),
        t(
            "ST-02",
            Patrol,
            Medium,
            Completed,
            local(6, 10, 0),
            (Some(local(6, 10, 0)), Some(local(6, 11, 10))),
            600,
            &["EF-001"],
        ),
        t(
            "ST-03",
            Surveillance,
            Medium,
            Completed,
            local(8, 8, 0),
            (Some(local(8, 8, 0)), Some(local(8, 9, 30))),
            0,
            &["EF-002"],
        ),
        t(
            "ST-04",
            Investigation,
            High,
            Completed,
            local(8, 12, 0),
            (Some(local(8, 12, 0)), Some(local(8, 14, 0))),
            0,
            &["EF-001", "EF-002"],
        ),
        t("ST-05", Patrol, Urgent, Cancelled, local(8, 15, 0), (None, None), 0, &["EF-002"]),
        t("ST-06", Intervention, Critical, InProgress, local(8, 16, 0), (Some(local(8, 16, 0)), None), 0, &["EF-001"]),
        StatTask {
            supervised: false,
            ..t("ST-07", Administrative, Low, Scheduled, local(6, 14, 0), (None, None), 0, &[])
        },
        StatTask {
            supervised: false,
            by_admin: true,
            ..t("ST-08", Training, Medium, Scheduled, local(6, 15, 0), (None, None), 0, &[])
        },
        StatTask {
            deleted: true,
            ..t(
                "ST-09",
                Patrol,
                Low,
                Completed,
                local(7, 10, 0),
                (Some(local(7, 10, 0)), Some(local(7, 11, 0))),
                0,
                &["EF-001"],
            )
        },
        t("ST-10", Patrol, Low, Scheduled, local(9, 10, 0), (None, None), 0, &["EF-002"]),
        // Scheduled the evening before the period, completed inside it (3 h).
        t(
            "ST-11",
            Patrol,
            Medium,
            Completed,
            local(5, 22, 0),
            (Some(local(5, 22, 0)), Some(local(6, 1, 0))),
            0,
            &["EF-002"],
        ),
    ];
    let supervisor = user_id(app, "supervisor@gad.local").await;
    let admin = user_id(app, "admin@gad.local").await;
    let db = &app.state.db;
    for row in rows {
        let task = tasks::ActiveModel {
            code: Set(row.code.into()),
            title: Set(format!("Tarea {}", row.code)),
            task_type: Set(row.task_type),
            priority: Set(row.priority),
            status: Set(row.status),
            scheduled_start: Set(Some(row.scheduled)),
            scheduled_end: Set(Some(row.scheduled + Duration::hours(2))),
            actual_start: Set(row.actual.0),
            actual_end: Set(row.actual.1),
            paused_seconds: Set(row.paused_seconds),
            supervisor_id: Set(row.supervised.then_some(supervisor)),
            created_by: Set(if row.by_admin { admin } else { supervisor }),
            created_at: Set(local(1, 12, 0)),
            updated_at: Set(local(1, 12, 0)),
            deleted_at: Set(row.deleted.then(|| local(9, 0, 0))),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        for code in row.officers {
            task_assignments::ActiveModel {
                task_id: Set(task.id),
                officer_id: Set(officer(app, code).await.id),
                assigned_at: Set(local(1, 12, 0)),
                assigned_by: Set(Some(supervisor)),
                overlap_override: Set(false),
                ..Default::default()
            }
            .insert(db)
            .await
            .unwrap();
        }
    }
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 5, d).unwrap()
}

async fn stats_as(
    app: &TestApp,
    email: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<TaskStatistics, ApiError> {
    let who = match email {
        Some(email) => Some(actor(app, email).await),
        None => None,
    };
    call_as(&app.state, who, || task_stats(from, to)).await
}

fn status_counts(s: &TaskStatistics) -> Vec<(TaskStatus, u64)> {
    s.by_status.iter().map(|c| (c.status, c.count)).collect()
}

fn days(s: &TaskStatistics) -> Vec<(NaiveDate, u64, u64)> {
    s.per_day.iter().map(|d| (d.date, d.tasks, d.completed)).collect()
}

async fn statistics_on_a_controlled_data_set(backend: Backend) {
    use TaskStatus::*;
    let app = TestApp::spawn(backend).await;
    statistics_fixtures(&app).await;
    let (ef1, ef2) = (officer(&app, "EF-001").await.id, officer(&app, "EF-002").await.id);

    // Admin: every task.
    let s = stats_as(&app, Some("admin@gad.local"), day(6), day(8)).await.unwrap();
    assert_eq!(s.scope, StatsScope::All);
    assert_eq!((s.from, s.to), (local(6, 0, 0), local(9, 0, 0)));
    assert_eq!(s.timezone, "America/Argentina/Buenos_Aires");
    assert_eq!(s.total, 8);
    assert_eq!(status_counts(&s), [(Scheduled, 2), (InProgress, 1), (Paused, 0), (Completed, 4), (Cancelled, 1)]);
    let types: Vec<(TaskType, u64)> = s.by_type.iter().map(|c| (c.task_type, c.count)).collect();
    assert_eq!(
        types,
        [
            (TaskType::Patrol, 3),
            (TaskType::Investigation, 1),
            (TaskType::Surveillance, 1),
            (TaskType::Intervention, 1),
            (TaskType::Administrative, 1),
            (TaskType::Training, 1),
            (TaskType::Emergency, 0),
        ]
    );
    let priorities: Vec<u64> = s.by_priority.iter().map(|c| c.count).collect();
    assert_eq!(priorities, [2, 3, 1, 1, 1], "low, medium, high, urgent, critical");
    assert_eq!(s.completion_rate, Some(0.8));
    // Completed in the period: 30, 60 (70 − 10 paused), 90, 120 and 180 minutes.
    assert_eq!(s.completed_in_period, 5);
    assert_eq!(s.median_seconds, Some(5_400.0));
    assert_eq!(s.p90_seconds, Some(9_360.0), "120 + 0.6 × 60 minutes");
    assert_eq!(s.average_seconds, Some(5_760.0));
    assert_eq!(days(&s), [(day(6), 4, 3), (day(7), 0, 0), (day(8), 4, 2)]);
    let per_officer: Vec<(i64, u64, u64, u64)> =
        s.per_officer.iter().map(|o| (o.officer_id, o.assigned, o.completed, o.active)).collect();
    assert_eq!(per_officer, [(ef1, 4, 3, 1), (ef2, 3, 3, 0)]);
    assert_eq!(s.per_officer[0].name, "Martín Sosa");
    let per_supervisor: Vec<(&str, u64, u64, u64)> =
        s.per_supervisor.iter().map(|x| (x.name.as_str(), x.tasks, x.completed, x.active)).collect();
    assert_eq!(per_supervisor, [("Laura Gómez", 6, 5, 1)]);

    // Supervisor: the team's tasks plus the unassigned one they created; not the admin's.
    let s = stats_as(&app, Some("supervisor@gad.local"), day(6), day(8)).await.unwrap();
    assert_eq!(s.scope, StatsScope::Team);
    assert_eq!(s.total, 7);
    assert_eq!(status_counts(&s), [(Scheduled, 1), (InProgress, 1), (Paused, 0), (Completed, 4), (Cancelled, 1)]);
    assert_eq!((s.completion_rate, s.completed_in_period, s.median_seconds), (Some(0.8), 5, Some(5_400.0)));
    assert_eq!(days(&s), [(day(6), 3, 3), (day(7), 0, 0), (day(8), 4, 2)]);

    // Officer 1: only their tasks, and only their own row.
    let s = stats_as(&app, Some("efectivo1@gad.local"), day(6), day(8)).await.unwrap();
    assert_eq!(s.scope, StatsScope::Own);
    assert_eq!(s.total, 4);
    assert_eq!(status_counts(&s), [(Scheduled, 0), (InProgress, 1), (Paused, 0), (Completed, 3), (Cancelled, 0)]);
    assert_eq!(s.completion_rate, Some(1.0));
    assert_eq!((s.completed_in_period, s.median_seconds, s.p90_seconds), (3, Some(3_600.0), Some(6_480.0)));
    assert_eq!(days(&s), [(day(6), 2, 2), (day(7), 0, 0), (day(8), 2, 1)]);
    let per_officer: Vec<(i64, u64, u64, u64)> =
        s.per_officer.iter().map(|o| (o.officer_id, o.assigned, o.completed, o.active)).collect();
    assert_eq!(per_officer, [(ef1, 4, 3, 1)], "colleagues on shared tasks are not listed");

    // An officer without tasks in the period, and an empty period: zeros and None.
    for s in [
        stats_as(&app, Some("efectivo3@gad.local"), day(6), day(8)).await.unwrap(),
        stats_as(
            &app,
            Some("admin@gad.local"),
            NaiveDate::from_ymd_opt(2023, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2023, 1, 3).unwrap(),
        )
        .await
        .unwrap(),
    ] {
        assert_eq!(s.total, 0);
        assert!(s.by_status.iter().all(|c| c.count == 0));
        assert!(s.by_type.iter().all(|c| c.count == 0) && s.by_priority.iter().all(|c| c.count == 0));
        assert_eq!((s.completion_rate, s.median_seconds, s.p90_seconds, s.average_seconds), (None, None, None, None));
        assert_eq!(s.completed_in_period, 0);
        assert_eq!(s.per_day.len(), 3);
        assert!(s.per_day.iter().all(|d| d.tasks == 0 && d.completed == 0));
        assert!(s.per_officer.is_empty() && s.per_supervisor.is_empty());
    }

    // One day; refused periods; nobody.
    let s = stats_as(&app, Some("admin@gad.local"), day(8), day(8)).await.unwrap();
    assert_eq!((s.total, days(&s)), (4, vec![(day(8), 4, 2)]));
    assert_eq!(fields(stats_as(&app, Some("admin@gad.local"), day(8), day(6)).await), ["to"]);
    let too_long = stats_as(&app, Some("admin@gad.local"), NaiveDate::from_ymd_opt(2022, 1, 1).unwrap(), day(8)).await;
    assert_eq!(fields(too_long), ["to"]);
    assert_eq!(code(stats_as(&app, None, day(6), day(8)).await).unwrap_err(), ErrorCode::Unauthenticated);
}
on_both_backends!(statistics_on_a_controlled_data_set);

/// The demo's patrol: each demo officer reports a position on their beat through the position
/// service (history row, current position, event), so positions stay fresh for dispatch; an
/// officer whose demo account was deactivated is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_patrol_keeps_positions_fresh() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let state = &app.state;
    let before = officer_positions::Entity::find().count(&state.db).await.unwrap();
    let mut rx = common::EventLog::mark(state).await;
    assert_eq!(gad_core::demo::patrol_round(state, 1).await.unwrap(), 6);
    assert_eq!(officer_positions::Entity::find().count(&state.db).await.unwrap(), before + 6);
    let sosa =
        officers::Entity::find().filter(officers::Column::Code.eq("EF-001")).one(&state.db).await.unwrap().unwrap();
    let seen = sosa.last_position_at.unwrap();
    assert!(Utc::now() - seen < Duration::seconds(30), "a fresh position: {seen}");
    let (lat, lon) = (sosa.last_lat.unwrap(), sosa.last_lon.unwrap());
    assert!(haversine_m(lat, lon, -34.6037, -58.3816) < 200.0, "on their beat: {lat}, {lon}");
    let events = rx.take(state).await;
    assert_eq!(events.iter().filter(|e| matches!(e, Event::OfficerPosition { .. })).count(), 6);

    let user = users::Entity::find()
        .filter(users::Column::Email.eq("efectivo6@gad.local"))
        .one(&state.db)
        .await
        .unwrap()
        .unwrap();
    let mut off: users::ActiveModel = user.into();
    off.is_active = Set(false);
    off.update(&state.db).await.unwrap();
    assert_eq!(gad_core::demo::patrol_round(state, 2).await.unwrap(), 5);
}

//! Shifts and leave over REST, with personal tokens of every role, on SQLite and PostgreSQL:
//! planning (one-off, 12×36), overlaps refused, the week calendar and its CSV, leave requested,
//! decided and withdrawn, and availability derived from both — dispatch, the map, the
//! officers list and assignment all agree.
#![allow(clippy::unwrap_used)]

use crate::common;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use common::{ADMIN_PASSWORD, Backend, DEMO_PASSWORD, Rest, TestApp, problem_fields};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A point of the officer this test creates, far from the demo's.
const PLACE: (f64, f64) = (-34.70, -58.55);

fn nearest_path(only_available: bool) -> String {
    format!(
        "/geo/nearest-officers?lat={}&lon={}&radius_m=500&limit=5&only_available={only_available}",
        PLACE.0, PLACE.1
    )
}

fn codes(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|o| o["code"].as_str().unwrap().to_owned()).collect()
}

async fn duty(api: &Rest, id: i64) -> String {
    let (status, officer) = api.get(&format!("/officers/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{officer}");
    officer["duty"].as_str().unwrap().to_owned()
}

async fn shifts_and_leave_decide_who_is_available(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let officer = Rest::sign_in(&app, "efectivo1@gad.local", DEMO_PASSWORD, false).await;

    // A new officer with a fresh position and no shifts: no roster, so their status decides.
    let (status, created) = sup
        .post(
            "/officers",
            &json!({ "code": "EF-200", "first_name": "Nora", "last_name": "Paz", "rank": "Agente", "unit": "Unidad Sur" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    let (status, body) =
        sup.post(&format!("/officers/{id}/positions"), &json!({ "lat": PLACE.0, "lon": PLACE.1 })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(duty(&sup, id).await, "no_roster");
    assert_eq!(codes(&sup.get(&nearest_path(true)).await.1), ["EF-200"]);

    // A shift later today: rostered and off shift now — not offered to dispatch.
    let now = Utc::now();
    let (status, later) = sup
        .post("/shifts", &json!({ "officer_id": id, "starts_at": ts(now + Duration::hours(2)), "on_hours": 8 }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{later}");
    assert_eq!((later["series"].clone(), later["shifts"].as_array().unwrap().len()), (Value::Null, 1));
    assert_eq!(duty(&sup, id).await, "off_shift");
    assert!(codes(&sup.get(&nearest_path(true)).await.1).is_empty(), "off shift: not dispatchable");
    let (_, all) = sup.get(&nearest_path(false)).await;
    assert_eq!((all[0]["duty"].as_str(), all[0]["dispatchable"].as_bool()), (Some("off_shift"), Some(false)));

    // A shift covering now: on duty again. One overlapping it is refused, naming the shift.
    let (status, current) = sup
        .post("/shifts", &json!({ "officer_id": id, "starts_at": ts(now - Duration::hours(1)), "on_hours": 3 }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{current}");
    assert_eq!(duty(&sup, id).await, "on_shift");
    assert_eq!(codes(&sup.get(&nearest_path(true)).await.1), ["EF-200"]);
    let (status, body) = sup
        .post("/shifts", &json!({ "officer_id": id, "starts_at": ts(now + Duration::hours(1)), "on_hours": 2 }))
        .await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, vec!["starts_at".to_owned()]));
    assert!(body["errors"].to_string().contains("Se superpone con un turno ya cargado de EF-200"), "{body}");

    // A 12×36 pattern from three days on, for a week: a shift every other day, one series.
    let tz = app.state.config.timezone;
    let first = (now + Duration::days(3)).with_timezone(&tz).date_naive();
    let start = gad_core::services::roster::midnight(tz, first) + Duration::hours(8);
    let until = first + Duration::days(6);
    let (status, pattern) = sup
        .post(
            "/shifts",
            &json!({ "officer_id": id, "starts_at": ts(start), "on_hours": 12,
                "repeat": { "off_hours": 36, "until": until.to_string() }, "note": "Cuarto A" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pattern}");
    let made = pattern["shifts"].as_array().unwrap();
    assert_eq!(made.len(), 4, "days 0, 2, 4 and 6: {pattern}");
    assert!(made.iter().all(|s| s["series"] == pattern["series"] && s["note"] == "Cuarto A"));
    // The week calendar of the unit: the shifts at local times, the gaps around them.
    let (status, week) = sup.get(&format!("/roster?unit=Unidad%20Sur&week={first}")).await;
    assert_eq!(status, StatusCode::OK, "{week}");
    assert_eq!(week["rows"].as_array().unwrap().len(), 1);
    let row = &week["rows"][0];
    assert_eq!(row["code"], "EF-200");
    let day = week["days"].as_array().unwrap().iter().position(|d| d == &json!(first.to_string())).unwrap();
    assert_eq!(row["days"][day]["shifts"][0]["from"], "08:00");
    assert_eq!(row["days"][day]["shifts"][0]["to"], "20:00");
    assert_eq!(week["gaps"][day], json!([{ "from": "00:00", "to": "08:00" }, { "from": "20:00", "to": "24:00" }]));
    assert!(week["units"].as_array().unwrap().contains(&json!("Unidad Sur")));
    // Its CSV: a byte-order mark, a header, a row per officer and day.
    let csv =
        sup.request(reqwest::Method::GET, &format!("/roster.csv?unit=Unidad%20Sur&week={first}")).send().await.unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("\u{feff}Código,Efectivo,Unidad,Día,Turnos,Licencia\r\n"), "{text}");
    assert_eq!(text.lines().count(), 1 + 7);
    assert!(text.contains(&format!("EF-200,Nora Paz,Unidad Sur,{},08:00-20:00,", first.format("%d/%m/%Y"))), "{text}");
    // Removing one shift of the series, then the rest of it.
    let one = made[0]["id"].as_i64().unwrap();
    let (status, removed) = sup.delete(&format!("/shifts/{one}")).await;
    assert_eq!((status, removed["removed"].as_u64()), (StatusCode::OK, Some(1)));
    let two = made[1]["id"].as_i64().unwrap();
    let (status, removed) = sup.delete(&format!("/shifts/{two}?series=true")).await;
    assert_eq!((status, removed["removed"].as_u64()), (StatusCode::OK, Some(3)));

    // Approved leave today takes them off duty everywhere: dispatch, the map, the list.
    let today = now.with_timezone(&tz).date_naive();
    let (status, leave) = sup
        .post(
            "/leaves",
            &json!({ "officer_id": id, "kind": "sick", "first_day": today, "last_day": today + Duration::days(1) }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{leave}");
    assert_eq!(leave["status"], "approved", "a supervisor's registration is approved at once");
    assert_eq!(duty(&sup, id).await, "on_leave");
    assert!(codes(&sup.get(&nearest_path(true)).await.1).is_empty());
    let (_, map) = sup.get("/geo/officers-in-bbox?min_lat=-34.8&min_lon=-58.6&max_lat=-34.6&max_lon=-58.5").await;
    let on_map = map.as_array().unwrap().iter().find(|o| o["officer_id"] == id).unwrap_or_else(|| panic!("{map}"));
    assert_eq!(on_map["duty"], "on_leave");
    let (_, list) = sup.get("/officers?q=EF-200").await;
    assert_eq!(list["items"][0]["duty"], "on_leave");

    // Assigning them across the leave is refused with the reason; the override is audited.
    let (status, task) = sup.post("/tasks", &json!({ "title": "Control vehicular", "task_type": "patrol" })).await;
    assert_eq!(status, StatusCode::CREATED);
    let task_id = task["id"].as_i64().unwrap();
    let (status, body) = sup.post(&format!("/tasks/{task_id}/assignments"), &json!({ "officer_ids": [id] })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("EF-200 Nora Paz está de licencia durante la tarea (Enfermedad del"),
        "{body}"
    );
    let (status, body) =
        sup.post("/tasks", &json!({ "title": "Con licencia", "task_type": "patrol", "officer_ids": [id] })).await;
    assert_eq!(status, StatusCode::CONFLICT, "a new task too: {body}");
    let (status, body) = sup
        .post(&format!("/tasks/{task_id}/assignments"), &json!({ "officer_ids": [id], "allow_overlap": true }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["assignments"][0]["overlap_override"], true);
    let noted = body["history"].as_array().unwrap().iter().any(|h| {
        h["reason"].as_str().is_some_and(|r| r.contains("Asignado pese a su licencia: EF-200 (Enfermedad del"))
    });
    assert!(noted, "the override is in the history: {}", body["history"]);

    // The officer requests their own leave; a supervisor decides it once.
    let (status, mine) = officer
        .post(
            "/leaves",
            &json!({ "kind": "vacation", "first_day": "2099-01-10", "last_day": "2099-01-20", "reason": "Viaje" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");
    assert_eq!((mine["status"].as_str(), mine["officer_code"].as_str()), (Some("requested"), Some("EF-001")));
    let (status, body) = officer
        .post("/leaves", &json!({ "kind": "day_off", "first_day": "2099-01-15", "last_day": "2099-01-16" }))
        .await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, vec!["first_day".to_owned()]));
    let leave_id = mine["id"].as_i64().unwrap();
    let (status, _) = officer.post(&format!("/leaves/{leave_id}/decision"), &json!({ "approve": true })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an officer does not decide");
    let (_, pending) = sup.get("/leaves?status=requested").await;
    assert!(pending.as_array().unwrap().iter().any(|l| l["id"] == leave_id));
    let (status, decided) =
        sup.post(&format!("/leaves/{leave_id}/decision"), &json!({ "approve": true, "note": "Cubre EF-002" })).await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!((decided["status"].as_str(), decided["decided_by"].as_str()), (Some("approved"), Some("Laura Gómez")));
    let (status, body) = sup.post(&format!("/leaves/{leave_id}/decision"), &json!({ "approve": false })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // A colleague cannot withdraw it, and learns no more than of a leave that does not exist.
    let colleague = Rest::sign_in(&app, "efectivo2@gad.local", DEMO_PASSWORD, false).await;
    let (status, _) = colleague.post(&format!("/leaves/{leave_id}/cancel"), &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(colleague.post("/leaves/999999/cancel", &json!({})).await.0, StatusCode::NOT_FOUND);
    // The officer withdraws it; their list shows it withdrawn.
    let (status, cancelled) = officer.post(&format!("/leaves/{leave_id}/cancel"), &json!({})).await;
    assert_eq!((status, cancelled["status"].as_str()), (StatusCode::OK, Some("cancelled")));
    let (_, own) = officer.get("/leaves").await;
    assert!(own.as_array().unwrap().iter().all(|l| l["officer_code"] == "EF-001"));

    // Every change is in the audit log.
    let admin = Rest::sign_in(&app, "admin@gad.local", ADMIN_PASSWORD, false).await;
    for action in ["shift.create", "shift.delete", "leave.request", "leave.approve", "leave.cancel"] {
        let (status, page) = admin.get(&format!("/audit?action={action}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(!page["items"].as_array().unwrap().is_empty(), "{action} audited");
    }
}
on_both_backends!(shifts_and_leave_decide_who_is_available);

async fn roster_permissions_and_validation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = Rest::sign_in(&app, "admin@gad.local", ADMIN_PASSWORD, false).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let reader = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, true).await;
    let officer = Rest::sign_in(&app, "efectivo1@gad.local", DEMO_PASSWORD, false).await;
    let (_, me) = officer.get("/me/officer").await;
    let own = me["id"].as_i64().unwrap();
    let (_, page) = sup.get("/officers?q=EF-002").await;
    let other = page["items"][0]["id"].as_i64().unwrap();
    let start = ts(Utc::now() + Duration::days(40));
    let shift = |officer_id: i64| json!({ "officer_id": officer_id, "starts_at": start, "on_hours": 8 });
    let ok = StatusCode::OK;
    let (forbidden, created) = (StatusCode::FORBIDDEN, StatusCode::CREATED);

    // (what, admin, supervisor, read-only token, officer)
    let reads = [
        ("/roster".to_owned(), ok, ok, ok, forbidden),
        ("/roster.csv".to_owned(), ok, ok, ok, forbidden),
        (format!("/shifts?officer_id={own}"), ok, ok, ok, ok),
        (format!("/shifts?officer_id={other}"), ok, ok, ok, forbidden),
        ("/leaves".to_owned(), ok, ok, ok, ok),
        (format!("/leaves?officer_id={other}"), ok, ok, ok, forbidden),
    ];
    for (path, a, s, r, o) in reads {
        for (who, api, expected) in
            [("admin", &admin, a), ("supervisor", &sup, s), ("reader", &reader, r), ("officer", &officer, o)]
        {
            let status = api.request(reqwest::Method::GET, &path).send().await.unwrap().status();
            assert_eq!(status, expected, "GET {path} as {who}");
        }
    }
    // Writes: only supervisors and admins plan; a read-only token writes nothing.
    for (who, api, expected) in
        [("reader", &reader, forbidden), ("officer", &officer, forbidden), ("admin", &admin, created)]
    {
        let (status, body) = api.post("/shifts", &shift(own)).await;
        assert_eq!(status, expected, "POST /shifts as {who}: {body}");
    }
    let leave = json!({ "officer_id": other, "kind": "day_off", "first_day": "2099-03-01", "last_day": "2099-03-01" });
    assert_eq!(officer.post("/leaves", &leave).await.0, forbidden, "an officer registers only their own leave");
    assert_eq!(reader.post("/leaves", &leave).await.0, forbidden);

    // Validation names the field, in Spanish.
    let cases = [
        (json!({ "officer_id": own, "starts_at": start, "on_hours": 0 }), "on_hours"),
        (
            json!({ "officer_id": own, "starts_at": start, "on_hours": 12, "repeat": { "off_hours": 36, "until": "2199-01-01" } }),
            "until",
        ),
        (
            json!({ "officer_id": own, "starts_at": start, "on_hours": 12, "repeat": { "off_hours": 0, "until": (Utc::now() + Duration::days(47)).date_naive() } }),
            "off_hours",
        ),
        (json!({ "officer_id": 999_999, "starts_at": start, "on_hours": 8 }), "officer_id"),
        (json!({ "officer_id": own, "starts_at": start, "on_hours": 8, "note": "x".repeat(201) }), "note"),
    ];
    for (body, field) in cases {
        let (status, answer) = sup.post("/shifts", &body).await;
        assert_eq!((status, problem_fields(&answer)), (StatusCode::BAD_REQUEST, vec![field.to_owned()]), "{body}");
    }
    let (status, body) =
        sup.post("/shifts", &json!({ "officer_id": own, "starts_at": start, "on_hours": 8, "grupo": "A" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown fields are refused: {body}");
    let (status, body) = officer
        .post("/leaves", &json!({ "kind": "vacation", "first_day": "2099-01-10", "last_day": "2099-01-01" }))
        .await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, vec!["last_day".to_owned()]));
    let (status, body) = officer
        .post("/leaves", &json!({ "kind": "vacation", "first_day": "2099-01-10", "last_day": "2099-01-11", "reason": "x".repeat(501) }))
        .await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, vec!["reason".to_owned()]));
    let (status, _) = sup.get("/roster?week=1800-01-01").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = sup.delete("/shifts/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
on_both_backends!(roster_permissions_and_validation);

/// Nobody decides their own leave. The dashboard links officer profiles to officers' users
/// only, but a supervisor can be on record as an officer too (data from before, an import):
/// their request waits for someone else's decision, and their own is refused with a reason.
async fn nobody_decides_their_own_leave(backend: Backend) {
    use gad_core::entities::{officers, users};
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    let app = TestApp::spawn(backend).await;
    let admin = Rest::sign_in(&app, "admin@gad.local", ADMIN_PASSWORD, false).await;
    let input = json!({ "code": "SUP-001", "first_name": "Sara", "last_name": "Ríos", "rank": "Comisario",
        "unit": "Central" });
    let (status, officer) = admin.post("/officers", &input).await;
    assert_eq!(status, StatusCode::CREATED, "{officer}");
    let db = &app.state.db;
    let sup_user = users::Entity::find().filter(users::Column::Email.eq("supervisor@gad.local")).one(db).await;
    let row = officers::Entity::find_by_id(officer["id"].as_i64().unwrap()).one(db).await.unwrap().unwrap();
    let mut row: officers::ActiveModel = row.into();
    row.user_id = Set(Some(sup_user.unwrap().unwrap().id));
    row.update(db).await.unwrap();
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let (status, leave) =
        sup.post("/leaves", &json!({ "kind": "vacation", "first_day": "2099-05-04", "last_day": "2099-05-08" })).await;
    assert_eq!((status, leave["status"].as_str()), (StatusCode::CREATED, Some("requested")), "{leave}");
    let id = leave["id"].as_i64().unwrap();
    for approve in [true, false] {
        let (status, body) = sup.post(&format!("/leaves/{id}/decision"), &json!({ "approve": approve })).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body["detail"].as_str().unwrap_or_default().contains("propia licencia"), "{body}");
    }
    // Nor by moving their profile away first: the link of one's own profile is another's to
    // change (a PUT without `user_id` unlinks; one naming someone else relinks).
    let profile = format!("/officers/{}", officer["id"]);
    for user_id in [json!(null), json!(admin_id(&app).await)] {
        let mut unlinked = input.clone();
        unlinked["user_id"] = user_id;
        let (status, body) = sup.put(&profile, &unlinked).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body["detail"].as_str().unwrap_or_default().contains("propio perfil"), "{body}");
    }
    let (status, body) = sup
        .post(
            "/leaves",
            &json!({ "officer_id": officer["id"], "kind": "day_off",
        "first_day": "2099-06-01", "last_day": "2099-06-01" }),
        )
        .await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::CREATED, Some("requested")), "{body}");
    // Unlinked by someone else, the request is still theirs to wait on.
    let (status, body) = admin.put(&profile, &input).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user_id"], Value::Null, "{body}");
    let (status, body) = sup.post(&format!("/leaves/{id}/decision"), &json!({ "approve": true })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, page) = admin.get(&format!("/leaves?officer_id={}", officer["id"])).await;
    assert!(page.as_array().unwrap().iter().all(|leave| leave["status"] == "requested"), "{page}");
    let (status, decided) = admin.post(&format!("/leaves/{id}/decision"), &json!({ "approve": true })).await;
    assert_eq!((status, decided["status"].as_str()), (StatusCode::OK, Some("approved")), "{decided}");
    // Demoted to officer, the one who requested it cannot cancel a decided leave of a profile
    // that is not theirs (a request not decided yet they could withdraw).
    let sup_id = users::Entity::find().filter(users::Column::Email.eq("supervisor@gad.local")).one(db).await;
    let (status, body) =
        admin.patch(&format!("/users/{}", sup_id.unwrap().unwrap().id), &json!({ "role": "officer" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let demoted = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let (status, body) = demoted.post(&format!("/leaves/{id}/cancel"), &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, page) = admin.get(&format!("/leaves?officer_id={}", officer["id"])).await;
    assert!(page.as_array().unwrap().iter().any(|leave| leave["status"] == "approved"), "{page}");
}
on_both_backends!(nobody_decides_their_own_leave);

async fn admin_id(app: &TestApp) -> i64 {
    use gad_core::entities::users;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let admin = users::Entity::find().filter(users::Column::Email.eq("admin@gad.local")).one(&app.state.db).await;
    admin.unwrap().unwrap().id
}

/// Overlap checks read, then insert; decisions read, then update. On PostgreSQL, writes for one
/// officer or one leave take turns: of eight identical leave requests sent at once one is
/// registered, and of an approval and a rejection sent at once one decides.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_leave_writes_take_turns() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let officer = Rest::sign_in(&app, "efectivo3@gad.local", DEMO_PASSWORD, false).await;
    let body = json!({ "kind": "vacation", "first_day": "2099-07-01", "last_day": "2099-07-10" });
    let requests = (0..8).map(|_| officer.post("/leaves", &body));
    let answers = futures::future::join_all(requests).await;
    let created: Vec<_> = answers.iter().filter(|(status, _)| *status == StatusCode::CREATED).collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    let mut decided = 0;
    for day in 1..=4 {
        let first_day = format!("2099-08-{:02}", day * 3);
        let (status, leave) =
            officer.post("/leaves", &json!({ "kind": "day_off", "first_day": first_day, "last_day": first_day })).await;
        assert_eq!(status, StatusCode::CREATED, "{leave}");
        let path = format!("/leaves/{}/decision", leave["id"]);
        let (approve, reject) = (json!({ "approve": true }), json!({ "approve": false }));
        let (yes, no) = tokio::join!(sup.post(&path, &approve), sup.post(&path, &reject));
        let oks = [&yes, &no].iter().filter(|(status, _)| *status == StatusCode::OK).count();
        assert_eq!(oks, 1, "one decision stands: {yes:?} {no:?}");
        let loser = if yes.0 == StatusCode::OK { &no } else { &yes };
        assert_eq!(loser.0, StatusCode::CONFLICT, "{loser:?}");
        decided += oks;
    }
    assert_eq!(decided, 4);
}

/// On PostgreSQL, the nearest-available search (the statement `nearest_available` runs, not a
/// copy) reads only the officers its KNN scan meets, under both plans a prepared statement
/// gets: a custom plan (a connection's first five runs) and the generic plan (every run after).
/// Availability stays two index probes per officer met, however large the roster: no hash of
/// every shift on record (built before the first officer is read; PostgreSQL chose one for an
/// `EXISTS` form, 30 ms a search at 100 000 officers), no JIT compilation (15–20 ms a call),
/// and the tie-break sort is incremental over the KNN order (a full sort reads every row of the
/// inner limit: six times the probes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn availability_in_sql_reads_only_the_officers_met() {
    use gad_core::services::geo;
    use sea_orm::sea_query::{PostgresQueryBuilder, QueryBuilder};
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, TransactionTrait};
    let app = TestApp::spawn(Backend::Postgres).await;
    let db = &app.state.db;
    let show = db.query_one_raw(Statement::from_string(DatabaseBackend::Postgres, "SHOW jit")).await.unwrap().unwrap();
    assert_eq!(show.try_get_by_index::<String>(0).unwrap(), "off");

    // 40 000 officers around a point, half of them with a 12×36 roster over two weeks.
    db.execute_unprepared(
        "INSERT INTO officers (code, first_name, last_name, rank, unit, status, last_lat, last_lon, last_position_at, \
         last_position_source) SELECT 'RO-' || i, 'Ana', 'Roster ' || i, 'Agente', 'Unidad 1', 'available', \
         -34.60 + random() * 0.1, -58.45 + random() * 0.1, now(), 'api' \
         FROM generate_series(1, 40000) AS i",
    )
    .await
    .unwrap();
    db.execute_unprepared(
        "INSERT INTO shifts (officer_id, starts_at, ends_at) \
         SELECT o.id, now() - interval '7 days' + (o.id % 4) * interval '12 hours' + k * interval '48 hours', \
                now() - interval '7 days' + (o.id % 4) * interval '12 hours' + k * interval '48 hours' + interval '12 hours' \
         FROM officers o, generate_series(0, 7) AS k WHERE o.code LIKE 'RO-%' AND o.id % 2 = 0; \
         ANALYZE officers; ANALYZE shifts; ANALYZE leaves",
    )
    .await
    .unwrap();

    let limit = 10;
    let statement = geo::nearest_available_statement(-34.55, -58.40, 5_000.0, chrono::Duration::minutes(60), limit);
    let values = statement.values.as_ref().map(|v| v.0.clone()).unwrap_or_default();
    let arguments: Vec<String> = values.iter().map(|v| PostgresQueryBuilder.value_to_string(v)).collect();
    let txn = db.begin().await.unwrap();
    txn.execute_unprepared(&format!("PREPARE nearest AS {}", statement.sql)).await.unwrap();
    let explain = async |mode: &str| {
        txn.execute_unprepared(&format!("SET LOCAL plan_cache_mode = {mode}")).await.unwrap();
        let sql = format!("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) EXECUTE nearest({})", arguments.join(", "));
        let rows = txn.query_all_raw(Statement::from_string(DatabaseBackend::Postgres, sql)).await.unwrap();
        rows.iter().map(|row| row.try_get_by_index::<String>(0).unwrap()).collect::<Vec<_>>().join("\n")
    };
    for mode in ["force_custom_plan", "force_generic_plan"] {
        let plan = explain(mode).await;
        assert!(plan.contains("officers_last_geog_gist"), "{mode}: nearest first through the GiST index:\n{plan}");
        assert!(!plan.contains("hashed"), "{mode}: no hash of the roster:\n{plan}");
        assert!(!plan.contains("Seq Scan on shifts"), "{mode}:\n{plan}");
        // The filter and the column share one computation: the roster is probed once per officer.
        assert_eq!(plan.matches("on shifts").count(), 1, "{mode}:\n{plan}");
        assert_eq!(plan.matches("on leaves").count(), 1, "{mode}:\n{plan}");
        // Ties broken over the KNN order, one row past the cut, not the whole inner limit sorted.
        assert!(plan.contains("Incremental Sort") && plan.contains("Presorted Key: nearest.knn"), "{mode}:\n{plan}");
        let inner = plan.lines().find(|l| l.contains("->  Nested Loop")).unwrap_or_default();
        assert!(inner.contains(&format!("rows={} ", limit + 1)), "{mode}: {limit} kept, one more read:\n{plan}");
    }
    txn.rollback().await.unwrap();

    // Left to choose, PostgreSQL settles on the generic plan after five custom ones (with the
    // limits bound, it priced the generic plan at a tenth of the officers and planned every
    // call afresh).
    let txn = db.begin().await.unwrap();
    for _ in 0..8 {
        txn.query_all_raw(statement.clone()).await.unwrap();
    }
    let (generic, custom) = common::plans_of(&txn, &statement.sql).await;
    assert!(generic >= 3 && custom <= 5, "{generic} generic plans, {custom} custom");
    txn.rollback().await.unwrap();
}

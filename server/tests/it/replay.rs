//! Track replay over REST (`GET /api/v1/replay`) and through the page's server function:
//! speeds, stops, the tasks' status changes on the timeline, the task's officers, the
//! window's rules, and who may replay whom, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

use crate::common;

use app::api::replay::track_replay;
use app::server::harness::call_as;
use chrono::{DateTime, Duration, SecondsFormat, SubsecRound, Utc};
use common::{ADMIN_PASSWORD, Backend, DEMO_PASSWORD, Rest, TestApp, problem_fields};
use contract::ErrorCode;
use contract::domain::Channel;
use gad_core::entities::{officers, users};
use gad_core::services::auth::actor_for_user;
use gad_core::services::geo::haversine_m;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn q(at: DateTime<Utc>) -> String {
    ts(at).replace('+', "%2B")
}

async fn officer_id(app: &TestApp, code: &str) -> i64 {
    officers::Entity::find().filter(officers::Column::Code.eq(code)).one(&app.state.db).await.unwrap().unwrap().id
}

/// Minute offsets and latitudes (longitude fixed) of the fixture's positions: a kilometre north
/// in the first minute (≈ 67 km/h), a five-minute stop within 25 m, then a dash.
const PATH: [(i64, f64); 7] =
    [(0, -34.6100), (1, -34.6010), (2, -34.6012), (4, -34.6013), (6, -34.6011), (7, -34.5960), (8, -34.5900)];
const LON: f64 = -58.3816;

async fn replay_shows_speeds_stops_and_the_tasks_changes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let officer = Rest::sign_in(&app, "efectivo1@gad.local", DEMO_PASSWORD, false).await;
    let ef1 = officer_id(&app, "EF-001").await;
    // Two hours ago: before the demo's own positions (the last half hour).
    let base = (Utc::now() - Duration::hours(2)).trunc_subsecs(0);
    for (minute, lat) in PATH {
        let at = base + Duration::minutes(minute);
        let (status, body) =
            officer.post("/me/positions", &json!({ "lat": lat, "lon": LON, "recorded_at": ts(at) })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // A task for EF-001, started by them now: its creation, assignment and start are marks.
    let (status, task) = sup
        .post("/tasks", &json!({ "title": "Recorrido de prueba", "task_type": "patrol", "lat": -34.6012, "lon": LON }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    let task_id = task["id"].as_i64().unwrap();
    let (status, body) = sup
        .post(&format!("/tasks/{task_id}/assignments"), &json!({ "officer_ids": [ef1], "allow_overlap": true }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = officer.post(&format!("/tasks/{task_id}/transitions"), &json!({ "to": "in_progress" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let window = format!("from={}&to={}", q(base - Duration::minutes(1)), q(Utc::now() + Duration::minutes(1)));
    let (status, replay) = sup.get(&format!("/replay?officer_id={ef1}&{window}")).await;
    assert_eq!(status, StatusCode::OK, "{replay}");
    let tracks = replay["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 1);
    let track = &tracks[0];
    assert_eq!((track["officer_id"].as_i64(), track["code"].as_str()), (Some(ef1), Some("EF-001")));
    let points = track["points"].as_array().unwrap();
    // The demo's positions of EF-001 (the last half hour) follow ours.
    let ours = &points[..PATH.len()];
    let lats: Vec<f64> = ours.iter().map(|p| p["lat"].as_f64().unwrap()).collect();
    assert_eq!(lats, PATH.map(|(_, lat)| lat));
    // Speed from the previous point: a kilometre in a minute.
    let expected = haversine_m(PATH[0].1, LON, PATH[1].1, LON) / 60.0 * 3.6;
    let speed = ours[1]["speed_kmh"].as_f64().unwrap();
    assert!((speed - expected).abs() < 0.01, "{speed} km/h, expected {expected}");
    assert!(track["max_speed_kmh"].as_f64().unwrap() >= expected - 0.01);
    // The stop: minutes 1 to 6 within 50 m; the dash after it is not one.
    let stops = track["stops"].as_array().unwrap();
    let at = |v: &serde_json::Value| DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap().with_timezone(&Utc);
    let stop =
        stops.iter().find(|s| at(&s["from"]) == base + Duration::minutes(1)).unwrap_or_else(|| panic!("{stops:?}"));
    assert_eq!((at(&stop["to"]), stop["seconds"].as_i64()), (base + Duration::minutes(6), Some(300)));
    assert!(track["distance_m"].as_f64().unwrap() > 2_000.0);
    // The task's changes are marked: created, scheduled (assigned), in progress.
    let marks: Vec<(Option<&str>, &str)> = replay["marks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["task_id"] == task_id)
        .map(|m| (m["from_status"].as_str(), m["to_status"].as_str().unwrap()))
        .collect();
    assert_eq!(marks.last(), Some(&(Some("scheduled"), "in_progress")), "{marks:?}");
    assert_eq!(marks.first().map(|m| m.0), Some(None), "the creation first: {marks:?}");
    let place = replay["tasks"].as_array().unwrap().iter().find(|t| t["task_id"] == task_id).unwrap().clone();
    assert_eq!((place["code"].clone(), place["lat"].as_f64()), (task["code"].clone(), Some(-34.6012)));

    // The officer replays their own track and gets the same answer.
    let (status, own) = officer.get(&format!("/replay?officer_id={ef1}&{window}")).await;
    assert_eq!((status, &own), (StatusCode::OK, &replay));

    // The task's replay: its officers, from its creation to now.
    let (status, by_task) = sup.get(&format!("/replay?task_id={task_id}")).await;
    assert_eq!(status, StatusCode::OK, "{by_task}");
    assert_eq!(by_task["tracks"].as_array().unwrap().len(), 1);
    assert_eq!(by_task["tracks"][0]["officer_id"], ef1);
    assert_eq!(by_task["from"], task["created_at"]);
    assert!(by_task["marks"].as_array().unwrap().iter().all(|m| m["task_id"] == task_id));
    assert_eq!(by_task["marks"].as_array().unwrap().len(), marks.len());
    // With a window, the task's officers' positions in it.
    let (_, by_task) = sup.get(&format!("/replay?task_id={task_id}&{window}")).await;
    assert!(by_task["tracks"][0]["points"].as_array().unwrap().len() >= PATH.len());

    // The dashboard's server function: a task code and local times give the same track.
    let supervisor_user =
        users::Entity::find().filter(users::Column::Email.eq("supervisor@gad.local")).one(&app.state.db).await;
    let actor = actor_for_user(&app.state, supervisor_user.unwrap().unwrap().id, Channel::Web).await.unwrap();
    let tz = app.state.config.timezone;
    let local = |at: DateTime<Utc>| at.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string();
    let from = base - Duration::minutes(1);
    let code = task["code"].as_str().unwrap().to_lowercase();
    let page = call_as(&app.state, Some(actor.clone()), || {
        track_replay(Some(ef1), Some(code.clone()), Some(local(from)), Some(local(Utc::now() + Duration::minutes(2))))
    })
    .await
    .unwrap();
    assert_eq!(page.tracks.len(), 1, "the task wins over the officer");
    assert!(page.marks.iter().all(|m| m.task_id == task_id));
    assert!(page.tracks[0].points.len() >= PATH.len());
    let bad = call_as(&app.state, Some(actor.clone()), || track_replay(Some(ef1), None, Some("ayer".into()), None))
        .await
        .unwrap_err();
    assert_eq!(
        (bad.code, bad.fields.iter().map(|f| f.field.as_str()).collect::<Vec<_>>()),
        (ErrorCode::Validation, vec!["from"])
    );
    let bad = call_as(&app.state, Some(actor), || track_replay(None, Some("NO-2026-9999".into()), None, None))
        .await
        .unwrap_err();
    assert_eq!(bad.code, ErrorCode::Validation);
    // An officer may not replay a task's officers: the same refusal for a code that exists and
    // one that does not, so the field does not tell which codes exist.
    let ef1_user =
        users::Entity::find().filter(users::Column::Email.eq("efectivo1@gad.local")).one(&app.state.db).await;
    let officer_actor = actor_for_user(&app.state, ef1_user.unwrap().unwrap().id, Channel::Web).await.unwrap();
    for asked in [code.clone(), "NO-2026-9999".to_owned()] {
        let refused =
            call_as(&app.state, Some(officer_actor.clone()), || track_replay(None, Some(asked.clone()), None, None))
                .await
                .unwrap_err();
        assert_eq!(refused.code, ErrorCode::Forbidden, "{asked}: {refused:?}");
    }
}
on_both_backends!(replay_shows_speeds_stops_and_the_tasks_changes);

async fn replay_windows_and_permissions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = Rest::sign_in(&app, "admin@gad.local", ADMIN_PASSWORD, false).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let officer = Rest::sign_in(&app, "efectivo1@gad.local", DEMO_PASSWORD, false).await;
    let reader = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, true).await;
    let (ef1, ef2) = (officer_id(&app, "EF-001").await, officer_id(&app, "EF-002").await);
    let (_, tasks) = sup.get("/tasks?limit=1").await;
    let task_id = tasks["items"][0]["id"].as_i64().unwrap();

    // Who may replay what: (path, admin, supervisor, read-only token, officer EF-001).
    let ok = StatusCode::OK;
    let table = [
        (format!("/replay?officer_id={ef1}"), ok, ok, ok, ok),
        (format!("/replay?officer_id={ef2}"), ok, ok, ok, StatusCode::FORBIDDEN),
        (format!("/replay?task_id={task_id}"), ok, ok, ok, StatusCode::FORBIDDEN),
        (
            "/replay?officer_id=999999".to_owned(),
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND,
            StatusCode::FORBIDDEN,
        ),
        (
            "/replay?task_id=999999".to_owned(),
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND,
            StatusCode::FORBIDDEN,
        ),
    ];
    for (path, for_admin, for_sup, for_reader, for_officer) in table {
        for (who, api, expected) in [
            ("admin", &admin, for_admin),
            ("supervisor", &sup, for_sup),
            ("reader", &reader, for_reader),
            ("officer", &officer, for_officer),
        ] {
            let (status, body) = api.get(&path).await;
            assert_eq!(status, expected, "{path} as {who}: {body}");
        }
    }
    let anonymous =
        reqwest::Client::new().get(app.url(&format!("/api/v1/replay?officer_id={ef1}"))).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // The default window: the last 8 hours.
    let (_, default) = sup.get(&format!("/replay?officer_id={ef1}")).await;
    let from = DateTime::parse_from_rfc3339(default["from"].as_str().unwrap()).unwrap();
    let to = DateTime::parse_from_rfc3339(default["to"].as_str().unwrap()).unwrap();
    assert_eq!(to - from, Duration::hours(8));

    // Bad requests name the field.
    let now = Utc::now();
    let cases = [
        (format!("/replay?officer_id={ef1}&task_id={task_id}"), "officer_id"),
        ("/replay".to_owned(), "officer_id"),
        (format!("/replay?officer_id={ef1}&from={}&to={}", q(now), q(now)), "to"),
        (format!("/replay?officer_id={ef1}&from={}&to={}", q(now - Duration::days(32)), q(now)), "to"),
    ];
    for (path, field) in cases {
        let (status, body) = sup.get(&path).await;
        assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, vec![field.to_owned()]), "{path}");
    }
    let (status, body) = sup.get(&format!("/replay?officer_id={ef1}&desde=ayer")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown parameters are refused: {body}");

    // The page is linked from the map and renders its form and, without JavaScript, the tables.
    let (status, body) = officer.post("/me/positions", &json!({ "lat": -34.6037, "lon": -58.3816 })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let client = app.login("supervisor@gad.local", DEMO_PASSWORD).await;
    let html = client.get(app.url("/mapa")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("href=\"/mapa/recorrido\""), "the map links the replay");
    let page = client.get(app.url(&format!("/mapa/recorrido?efectivo={ef1}"))).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html: String = page.text().await.unwrap();
    for part in
        ["Reproducir recorrido", "id=\"replay-summary\"", "id=\"replay-stops\"", "id=\"replay-marks-table\"", "EF-001"]
    {
        assert!(html.contains(part), "{part} missing");
    }
    let html = client.get(app.url("/mapa/recorrido?tarea=NO-EXISTE")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("No hay ninguna tarea con ese código."), "the error is shown");
}
on_both_backends!(replay_windows_and_permissions);

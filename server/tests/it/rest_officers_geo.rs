//! The REST API's officers (CRUD, status, positions, tracks), geo queries and statistics over
//! real HTTP, with personal tokens of every role, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

use crate::common;

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use common::{ADMIN_PASSWORD, Backend, DEMO_PASSWORD, Rest, TestApp, problem_fields};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

async fn officer_by_code(api: &Rest, code: &str) -> Value {
    let (status, page) = api.get(&format!("/officers?q={code}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().iter().find(|o| o["code"] == code).unwrap().clone()
}

async fn officer_id(api: &Rest, code: &str) -> i64 {
    officer_by_code(api, code).await["id"].as_i64().unwrap()
}

fn officer_input(code: &str) -> Value {
    json!({ "code": code, "first_name": "Nora", "last_name": "Quiroga", "rank": "Agente",
        "unit": "Comisaría Vecinal 3A", "specialty": "Motorizada" })
}

fn list_codes(items: &Value, key: &str) -> Vec<String> {
    items.as_array().unwrap().iter().map(|o| o[key].as_str().unwrap().to_owned()).collect()
}

fn field(name: &str) -> Vec<String> {
    vec![name.to_owned()]
}

// ------------------------------------------------------------------------------ officers

async fn officers_crud_over_rest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let admin = Rest::sign_in(&app, "admin@gad.local", ADMIN_PASSWORD, false).await;
    let officer = Rest::sign_in(&app, "efectivo1@gad.local", DEMO_PASSWORD, false).await;
    let reader = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, true).await;

    // Created: 201, code normalised, available, no position.
    let (status, created) = sup.post("/officers", &officer_input(" ef-100 ")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["code"], "EF-100");
    assert_eq!((created["status"].as_str(), &created["last_position"]), (Some("available"), &Value::Null));
    assert_eq!(created["user_id"], Value::Null);
    let (status, fetched) = admin.get(&format!("/officers/{id}")).await;
    assert_eq!((status, &fetched), (StatusCode::OK, &created));

    // Validation names the fields; strict JSON names the stranger; codes are unique.
    let (status, body) = sup
        .post("/officers", &json!({ "code": "", "first_name": " ", "last_name": "Paz", "rank": "Agente", "unit": "U" }))
        .await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, vec!["code".into(), "first_name".into()]));
    let mut extra = officer_input("EF-101");
    extra["grupo"] = json!("A");
    let (status, body) = sup.post("/officers", &extra).await;
    assert!(status == StatusCode::BAD_REQUEST && body["detail"].as_str().unwrap().contains("grupo"), "{body}");
    let (status, body) = sup.post("/officers", &json!({ "code": "EF-102", "first_name": "Sin unidad" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = sup.post("/officers", &officer_input("EF-100")).await;
    assert_eq!((status, body["type"].as_str()), (StatusCode::CONFLICT, Some("urn:gad:problem:conflict")));
    // List filters are bounded like every text (they are cache keys too).
    let long = "x".repeat(101);
    let (status, body) = sup.get(&format!("/officers?q={long}&unit={long}")).await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, vec!["q".to_owned(), "unit".to_owned()]));
    // Linking a user: an officer's account already linked is a conflict; a supervisor's is invalid.
    let (_, users) = admin.get("/users?text=efectivo1@gad.local").await;
    let linked_user = users["items"][0]["id"].as_i64().unwrap();
    let (_, sup_me) = sup.get("/me").await;
    let mut link = officer_input("EF-103");
    link["user_id"] = json!(linked_user);
    assert_eq!(sup.post("/officers", &link).await.0, StatusCode::CONFLICT);
    link["user_id"] = sup_me["id"].clone();
    let (status, body) = sup.post("/officers", &link).await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, field("user_id")));

    // Replaced: every editable field at once.
    let mut changes = officer_input("EF-100");
    changes["rank"] = json!("Cabo");
    changes["specialty"] = Value::Null;
    let (status, updated) = sup.put(&format!("/officers/{id}"), &changes).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!((updated["rank"].as_str(), &updated["specialty"]), (Some("Cabo"), &Value::Null));
    let (status, _) = sup.put(&format!("/officers/{id}"), &json!({ "rank": "Cabo" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(sup.put("/officers/999999", &changes).await.0, StatusCode::NOT_FOUND);

    // The list: filters, and every page through the cursor (six demo officers and EF-100).
    let (status, page) = Rest::send(
        sup.request(Method::GET, "/officers").query(&[("unit", "comisaría vecinal 3a"), ("status", "available")]),
    )
    .await;
    assert_eq!((status, list_codes(&page["items"], "code")), (StatusCode::OK, vec!["EF-100".to_owned()]));
    let (_, page) = sup.get("/officers?q=sosa").await;
    assert_eq!(list_codes(&page["items"], "code"), ["EF-001"]);
    let (_, page) = sup.get("/officers?status=on_task").await;
    assert_eq!(list_codes(&page["items"], "code"), ["EF-001", "EF-004"], "the demo's started tasks");
    let (mut seen, mut sizes, mut cursor) = (Vec::new(), Vec::new(), String::new());
    loop {
        let (status, page) = sup.get(&format!("/officers?limit=3{cursor}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        sizes.push(page["items"].as_array().unwrap().len());
        seen.extend(list_codes(&page["items"], "code"));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(seen, ["EF-001", "EF-002", "EF-003", "EF-004", "EF-005", "EF-006", "EF-100"]);
    for bad in ["limit=0", "limit=201", "cursor=abc"] {
        let (status, body) = sup.get(&format!("/officers?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, body) = sup.get("/officers?estado=libre").await;
    assert!(status == StatusCode::BAD_REQUEST && body["detail"].as_str().unwrap().contains("estado"), "{body}");

    // Roles: an officer sees only their own profile and manages nothing; read-only tokens read.
    let own = officer_id(&sup, "EF-001").await;
    let (status, me) = officer.get(&format!("/officers/{own}")).await;
    assert_eq!((status, me["code"].as_str()), (StatusCode::OK, Some("EF-001")));
    let (_, me_too) = officer.get("/me/officer").await;
    assert_eq!(me_too, me);
    for (status, what) in [
        (officer.get("/officers").await.0, "list"),
        (officer.get(&format!("/officers/{id}")).await.0, "someone else"),
        (officer.post("/officers", &officer_input("EF-104")).await.0, "create"),
        (officer.put(&format!("/officers/{own}"), &officer_input("EF-001")).await.0, "edit own"),
        (officer.delete(&format!("/officers/{id}")).await.0, "delete"),
        (reader.post("/officers", &officer_input("EF-105")).await.0, "read-only create"),
        (reader.delete(&format!("/officers/{id}")).await.0, "read-only delete"),
    ] {
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
    }
    assert_eq!(reader.get("/officers").await.0, StatusCode::OK);
    let (status, body) = Rest::send(reqwest::Client::new().get(app.url("/api/v1/officers"))).await;
    assert_eq!((status, body["type"].as_str()), (StatusCode::UNAUTHORIZED, Some("urn:gad:problem:unauthenticated")));
    assert_eq!(sup.get("/officers/abc").await.0, StatusCode::BAD_REQUEST);

    // Deleted: 204, then gone; an officer with open tasks cannot be removed.
    let (status, body) = sup.delete(&format!("/officers/{id}")).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    assert_eq!(sup.get(&format!("/officers/{id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(sup.delete(&format!("/officers/{id}")).await.0, StatusCode::NOT_FOUND);
    let (status, body) = sup.delete(&format!("/officers/{own}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // Its code stays taken.
    assert_eq!(sup.post("/officers", &officer_input("EF-100")).await.0, StatusCode::CONFLICT);
}
on_both_backends!(officers_crud_over_rest);

// ------------------------------------------------------------------ status and positions

async fn status_positions_and_track_over_rest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let admin = Rest::sign_in(&app, "admin@gad.local", ADMIN_PASSWORD, false).await;
    let officer = Rest::sign_in(&app, "efectivo1@gad.local", DEMO_PASSWORD, false).await;
    let own = officer_id(&sup, "EF-001").await;
    let other = officer_id(&sup, "EF-002").await;

    // Status: officers their own (not `on_task`), supervisors anyone's. EF-001 is working
    // a task (the demo's): it keeps them on it, until a supervisor says otherwise.
    let (status, body) = officer.put("/me/status", &json!({ "status": "available" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["detail"].as_str().unwrap_or_default().contains("Está en la tarea"), "{body}");
    let (status, _) = sup.put(&format!("/officers/{own}/status"), &json!({ "status": "available" })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = officer.put("/me/status", &json!({ "status": "off_duty" })).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("off_duty")), "{body}");
    let (status, body) = officer.put(&format!("/officers/{own}/status"), &json!({ "status": "available" })).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("available")));
    let (status, body) = officer.put("/me/status", &json!({ "status": "on_task" })).await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, field("status")));
    let (status, _) = officer.put(&format!("/officers/{other}/status"), &json!({ "status": "off_duty" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = sup.put(&format!("/officers/{other}/status"), &json!({ "status": "unavailable" })).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("unavailable")));
    let (status, _) = sup.put(&format!("/officers/{other}/status"), &json!({ "status": "dormido" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // An account without an officer profile has no "me" to speak of.
    let (status, body) = admin.get("/me/officer").await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, field("officer_id")));
    let (status, body) = admin.post("/me/positions", &json!({ "lat": -34.6, "lon": -58.4 })).await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, field("officer_id")));

    // Positions: the newest becomes the last known one; a late report only joins the history.
    let now = Utc::now();
    let (status, accepted) =
        officer.post("/me/positions", &json!({ "lat": -34.6010, "lon": -58.3800, "accuracy_m": 8.0 })).await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    assert_eq!((accepted["officer_id"].as_i64(), accepted["current"].as_bool()), (Some(own), Some(true)));
    assert_eq!(accepted["position"]["source"], "api");
    let late = now - Duration::hours(2);
    let (status, accepted) = officer
        .post(
            &format!("/officers/{own}/positions"),
            &json!({ "lat": -34.6500, "lon": -58.4000, "recorded_at": ts(late) }),
        )
        .await;
    assert_eq!((status, accepted["current"].as_bool()), (StatusCode::CREATED, Some(false)), "{accepted}");
    let (status, last) = sup.get(&format!("/officers/{own}/position")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((last["lat"].as_f64(), last["lon"].as_f64()), (Some(-34.6010), Some(-58.3800)));
    assert_eq!(last["accuracy_m"].as_f64(), Some(8.0));
    let (_, mine) = officer.get(&format!("/officers/{own}/position")).await;
    assert_eq!(mine, last);
    // A supervisor may report for anyone; an officer not for others.
    let (status, _) = sup.post(&format!("/officers/{other}/positions"), &json!({ "lat": -34.61, "lon": -58.37 })).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) =
        officer.post(&format!("/officers/{other}/positions"), &json!({ "lat": -34.61, "lon": -58.37 })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Invalid reports name their fields.
    for (body, expected) in [
        (json!({ "lat": 91.0, "lon": -58.4 }), vec!["lat"]),
        (json!({ "lat": -34.6, "lon": -181.0, "accuracy_m": -1.0 }), vec!["accuracy_m", "lon"]),
        (json!({ "lat": -34.6, "lon": -58.4, "recorded_at": ts(now + Duration::hours(1)) }), vec!["recorded_at"]),
        (json!({ "lat": -34.6, "lon": -58.4, "recorded_at": ts(now - Duration::hours(25)) }), vec!["recorded_at"]),
    ] {
        let (status, problem) = officer.post("/me/positions", &body).await;
        assert_eq!(
            (status, problem_fields(&problem)),
            (StatusCode::BAD_REQUEST, expected.iter().map(|f| f.to_string()).collect())
        );
    }
    let (status, _) = officer.post("/me/positions", &json!({ "lat": "sur", "lon": -58.4 })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        sup.post("/officers/999999/positions", &json!({ "lat": -34.6, "lon": -58.4 })).await.0,
        StatusCode::NOT_FOUND
    );

    // Never reported: 204.
    let (_, fresh) = sup
        .post(
            "/officers",
            &json!({ "code": "SIN-POS", "first_name": "A", "last_name": "B", "rank": "Agente", "unit": "U" }),
        )
        .await;
    let (status, body) = sup.get(&format!("/officers/{}/position", fresh["id"])).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));

    // The track: the demo's three positions, the late report and the new one, oldest first.
    let track_url = |id: i64, from: DateTime<Utc>, to: DateTime<Utc>| {
        format!("/officers/{id}/track?from={}&to={}", ts(from), ts(to))
    };
    let (status, track) = officer.get(&track_url(own, now - Duration::hours(3), now + Duration::minutes(5))).await;
    assert_eq!(status, StatusCode::OK, "{track}");
    let positions = track["positions"].as_array().unwrap();
    assert_eq!(positions.len(), 5, "{track}");
    assert_eq!(track["truncated"], false);
    assert_eq!(positions[0]["lat"].as_f64(), Some(-34.65), "the late report is the oldest");
    assert_eq!(positions[4]["lat"].as_f64(), Some(-34.601), "the new one is the latest");
    let times: Vec<DateTime<Utc>> =
        positions.iter().map(|p| p["recorded_at"].as_str().unwrap().parse().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    // A narrower window leaves the late report out.
    let (_, recent) = sup.get(&track_url(own, now - Duration::hours(1), now + Duration::minutes(5))).await;
    assert_eq!(recent["positions"].as_array().unwrap().len(), 4);
    // Officers see only their own track; the window must be sane.
    assert_eq!(officer.get(&track_url(other, now - Duration::hours(1), now)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(officer.get(&format!("/officers/{other}/position")).await.0, StatusCode::FORBIDDEN);
    let (status, body) = sup.get(&track_url(own, now, now - Duration::hours(1))).await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, field("to")));
    let (status, body) = sup.get(&track_url(own, now - Duration::days(40), now)).await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, field("to")));
    let (status, body) = sup.get(&format!("/officers/{own}/track?from={}", ts(now))).await;
    assert!(status == StatusCode::BAD_REQUEST && body["detail"].as_str().unwrap().contains("to"), "{body}");
    let (status, _) = sup.get(&format!("/officers/{own}/track?from=ayer&to={}", ts(now))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
on_both_backends!(status_positions_and_track_over_rest);

// ------------------------------------------------------------------------------------ geo

/// Córdoba's Plaza San Martín: the geo fixture's centre, far from the Buenos Aires demo.
const CENTRE: (f64, f64) = (-31.4167, -64.1833);

/// Metres north along a meridian, on the sphere the geo service uses.
fn north(metres: f64) -> f64 {
    CENTRE.0 + (metres / gad_core::services::geo::EARTH_RADIUS_M).to_degrees()
}

fn distances(found: &Value) -> Vec<(String, f64)> {
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["code"].as_str().unwrap().to_owned(), o["distance_m"].as_f64().unwrap()))
        .collect()
}

fn assert_distances(found: &Value, expected: &[(&str, f64)]) {
    let got = distances(found);
    assert_eq!(got.len(), expected.len(), "{got:?}");
    for ((code, metres), (want_code, want_metres)) in got.iter().zip(expected) {
        assert_eq!(code, want_code, "{got:?}");
        assert!((metres - want_metres).abs() < 0.5, "{code}: {metres} m, expected {want_metres}");
    }
}

async fn geo_endpoints_with_a_known_fixture(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let officer = Rest::sign_in(&app, "efectivo1@gad.local", DEMO_PASSWORD, false).await;
    let (lat, lon) = CENTRE;

    // Four officers north of the centre, placed over REST; G-500 is unavailable.
    for (code, metres) in [("G-100", 100.0), ("G-500", 500.0), ("G-2000", 2000.0), ("G-8000", 8000.0)] {
        let (status, o) = sup
            .post(
                "/officers",
                &json!({ "code": code, "first_name": "Geo", "last_name": code, "rank": "Agente", "unit": "Córdoba" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{o}");
        let id = o["id"].as_i64().unwrap();
        let (status, _) =
            sup.post(&format!("/officers/{id}/positions"), &json!({ "lat": north(metres), "lon": lon })).await;
        assert_eq!(status, StatusCode::CREATED);
        if code == "G-500" {
            let (status, _) = sup.put(&format!("/officers/{id}/status"), &json!({ "status": "unavailable" })).await;
            assert_eq!(status, StatusCode::OK);
        }
    }
    let at = format!("lat={lat}&lon={lon}");

    // Nearest: available ones within the default 5 km, nearest first, with distances.
    let (status, found) = sup.get(&format!("/geo/nearest-officers?{at}")).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_distances(&found, &[("G-100", 100.0), ("G-2000", 2000.0)]);
    let (_, found) = sup.get(&format!("/geo/nearest-officers?{at}&only_available=false")).await;
    assert_distances(&found, &[("G-100", 100.0), ("G-500", 500.0), ("G-2000", 2000.0)]);
    let (_, found) = sup.get(&format!("/geo/nearest-officers?{at}&radius_m=10000&limit=1")).await;
    assert_distances(&found, &[("G-100", 100.0)]);
    let (_, found) = sup.get(&format!("/geo/nearest-officers?{at}&radius_m=10000")).await;
    assert_distances(&found, &[("G-100", 100.0), ("G-2000", 2000.0), ("G-8000", 8000.0)]);
    assert_eq!(found[0]["name"], "Geo G-100");

    // Within a radius: every status.
    let (_, found) = sup.get(&format!("/geo/officers-within?{at}&radius_m=10000")).await;
    assert_distances(&found, &[("G-100", 100.0), ("G-500", 500.0), ("G-2000", 2000.0), ("G-8000", 8000.0)]);
    let (_, found) = sup.get(&format!("/geo/officers-within?{at}&radius_m=1000")).await;
    assert_distances(&found, &[("G-100", 100.0), ("G-500", 500.0)]);

    // In a box: by id, edges included.
    let bbox = format!("min_lat={}&min_lon={}&max_lat={}&max_lon={}", lat - 0.001, lon - 0.001, north(3000.0), lon);
    let (status, found) = sup.get(&format!("/geo/officers-in-bbox?{bbox}")).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(list_codes(&found, "code"), ["G-100", "G-500", "G-2000"]);
    assert_eq!(found[1]["status"], "unavailable");

    // Tasks: one 300 m north, one 4 km north.
    let mut task_ids = Vec::new();
    for (title, metres) in [("Geo cerca", 300.0), ("Geo lejos", 4000.0)] {
        let (status, t) = sup
            .post("/tasks", &json!({ "title": title, "task_type": "patrol", "lat": north(metres), "lon": lon }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{t}");
        task_ids.push(t["id"].as_i64().unwrap());
    }
    let titles_and_metres = |found: &Value| -> Vec<(String, i64)> {
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["title"].as_str().unwrap().to_owned(), t["distance_m"].as_f64().unwrap().round() as i64))
            .collect()
    };
    let (status, found) = sup.get(&format!("/geo/tasks-within?{at}&radius_m=1000")).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(titles_and_metres(&found), [("Geo cerca".to_owned(), 300)]);
    let (_, found) = sup.get(&format!("/geo/tasks-within?{at}&radius_m=5000")).await;
    assert_eq!(titles_and_metres(&found), [("Geo cerca".to_owned(), 300), ("Geo lejos".to_owned(), 4000)]);
    let wide =
        format!("min_lat={}&min_lon={}&max_lat={}&max_lon={}", lat - 0.01, lon - 0.01, north(5000.0), lon + 0.01);
    let (_, found) = sup.get(&format!("/geo/tasks-in-bbox?{wide}")).await;
    assert_eq!(list_codes(&found, "title").len(), 2);
    assert!(found.as_array().unwrap().iter().all(|t| t["distance_m"].is_null()));
    // Finished tasks leave the map unless asked for.
    for to in ["in_progress", "completed"] {
        let (status, _) = sup.post(&format!("/tasks/{}/transitions", task_ids[0]), &json!({ "to": to })).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, found) = sup.get(&format!("/geo/tasks-within?{at}&radius_m=5000")).await;
    assert_eq!(list_codes(&found, "title"), ["Geo lejos"]);
    let (_, found) = sup.get(&format!("/geo/tasks-within?{at}&radius_m=5000&only_open=false")).await;
    assert_eq!(list_codes(&found, "title"), ["Geo cerca", "Geo lejos"]);
    assert_eq!(found[0]["status"], "completed");
    let (_, found) = sup.get(&format!("/geo/tasks-in-bbox?{wide}")).await;
    assert_eq!(list_codes(&found, "title"), ["Geo lejos"]);

    // Buenos Aires: the supervisor sees the demo's eight open tasks (ten with finished ones);
    // an officer only their own, and no officers at all.
    let city = "min_lat=-34.70&min_lon=-58.60&max_lat=-34.50&max_lon=-58.30";
    let (_, found) = sup.get(&format!("/geo/tasks-in-bbox?{city}")).await;
    assert_eq!(found.as_array().unwrap().len(), 8);
    let (_, found) = sup.get(&format!("/geo/tasks-in-bbox?{city}&only_open=false")).await;
    assert_eq!(found.as_array().unwrap().len(), 10);
    let (_, own_tasks) = officer.get("/tasks").await;
    let mut expected = list_codes(&own_tasks["items"], "code");
    expected.sort();
    let (status, found) = officer.get(&format!("/geo/tasks-in-bbox?{city}")).await;
    assert_eq!(status, StatusCode::OK);
    let mut got = list_codes(&found, "code");
    got.sort();
    assert_eq!((got.len(), got), (2, expected));
    let (status, found) = officer.get("/geo/tasks-within?lat=-34.6037&lon=-58.3816&radius_m=100000").await;
    assert_eq!((status, found.as_array().unwrap().len()), (StatusCode::OK, 2));
    for path in [
        format!("/geo/nearest-officers?{at}"),
        format!("/geo/officers-within?{at}&radius_m=1000"),
        format!("/geo/officers-in-bbox?{bbox}"),
    ] {
        assert_eq!(officer.get(&path).await.0, StatusCode::FORBIDDEN, "{path}");
    }

    // Invalid searches name their parameters.
    for (query, expected) in [
        (format!("/geo/nearest-officers?{at}&radius_m=0"), vec!["radius_m"]),
        (format!("/geo/nearest-officers?{at}&fresh_minutes=0&limit=0"), vec!["fresh_minutes", "limit"]),
        ("/geo/officers-within?lat=95&lon=-64&radius_m=10".to_owned(), vec!["lat"]),
        ("/geo/officers-in-bbox?min_lat=-31&min_lon=-64&max_lat=-32&max_lon=-63".to_owned(), vec!["max_lat"]),
        ("/geo/tasks-in-bbox?min_lat=-32&min_lon=-63&max_lat=-31&max_lon=-64".to_owned(), vec!["max_lon"]),
        (format!("/geo/tasks-within?{at}&radius_m=200000"), vec!["radius_m"]),
    ] {
        let (status, body) = sup.get(&query).await;
        let expected: Vec<String> = expected.iter().map(|f| f.to_string()).collect();
        assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, expected), "{query}");
    }
    for query in [
        "/geo/nearest-officers?lon=-64",
        "/geo/officers-within?lat=norte&lon=-64&radius_m=10",
        "/geo/tasks-within?lat=-31&lon=-64&radius_m=10&radio=5",
    ] {
        let (status, body) = sup.get(query).await;
        assert_eq!(
            (status, body["type"].as_str()),
            (StatusCode::BAD_REQUEST, Some("urn:gad:problem:validation")),
            "{query}"
        );
    }
}
on_both_backends!(geo_endpoints_with_a_known_fixture);

// ----------------------------------------------------------------------------- statistics

fn count_of(list: &Value, key: &str, value: &str) -> u64 {
    list.as_array().unwrap().iter().find(|c| c[key] == value).unwrap()["count"].as_u64().unwrap()
}

fn sum(list: &Value, key: &str) -> u64 {
    list.as_array().unwrap().iter().map(|c| c[key].as_u64().unwrap()).sum()
}

async fn statistics_agree_with_the_data(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = Rest::sign_in(&app, "admin@gad.local", ADMIN_PASSWORD, false).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let officer = Rest::sign_in(&app, "efectivo1@gad.local", DEMO_PASSWORD, false).await;
    // The demo's tasks lie between 30 hours ago and 54 hours ahead: a week covers them all.
    let today = Utc::now().with_timezone(&app.state.config.timezone).date_naive();
    let (from, to) = (today - Duration::days(3), today + Duration::days(3));
    let period = format!("/statistics?from={from}&to={to}");

    // Cancel one demo task (with a reason) so that every kind of ending is present.
    let (_, page) = sup.get("/tasks?q=legajos").await;
    let legajos = page["items"][0]["id"].as_i64().unwrap();
    let (status, _) = sup
        .post(&format!("/tasks/{legajos}/transitions"), &json!({ "to": "cancelled", "reason": "Reprogramada" }))
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, stats) = admin.get(&period).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["scope"], "all");
    assert_eq!(stats["timezone"], app.state.config.timezone.name());
    // The counts are those of the task list.
    let (_, listed) = admin.get("/tasks?limit=200").await;
    let listed = listed["items"].as_array().unwrap();
    assert_eq!(stats["total"].as_u64(), Some(listed.len() as u64));
    assert_eq!(stats["total"], 10);
    for status in ["scheduled", "in_progress", "paused", "completed", "cancelled"] {
        let expected = listed.iter().filter(|t| t["status"] == status).count() as u64;
        assert_eq!(count_of(&stats["by_status"], "status", status), expected, "{status}");
    }
    for task_type in ["patrol", "surveillance", "investigation", "intervention", "administrative", "training"] {
        let expected = listed.iter().filter(|t| t["task_type"] == task_type).count() as u64;
        assert_eq!(count_of(&stats["by_type"], "task_type", task_type), expected, "{task_type}");
    }
    assert_eq!(sum(&stats["by_priority"], "count"), 10);
    assert_eq!(
        (count_of(&stats["by_status"], "status", "completed"), count_of(&stats["by_status"], "status", "cancelled")),
        (2, 1)
    );
    let rate = stats["completion_rate"].as_f64().unwrap();
    assert!((rate - 2.0 / 3.0).abs() < 1e-9, "{rate}");
    // The two completed demo tasks took 3 and 4 hours.
    assert_eq!(stats["completed_in_period"], 2);
    assert_eq!(stats["average_seconds"].as_f64(), Some(12_600.0));
    assert_eq!(stats["median_seconds"].as_f64(), Some(12_600.0));
    assert_eq!(stats["p90_seconds"].as_f64(), Some(14_040.0));
    let days = stats["per_day"].as_array().unwrap();
    assert_eq!(days.len(), 7, "every day of the period");
    assert_eq!(days[0]["date"], from.to_string());
    assert_eq!((sum(&stats["per_day"], "tasks"), sum(&stats["per_day"], "completed")), (10, 2));
    let per_officer = stats["per_officer"].as_array().unwrap();
    let completed_by: Vec<&str> =
        per_officer.iter().filter(|o| o["completed"] == 1).map(|o| o["code"].as_str().unwrap()).collect();
    assert_eq!(completed_by, ["EF-005", "EF-006"]);
    let supervisor = &stats["per_supervisor"][0];
    assert_eq!((supervisor["name"].as_str(), supervisor["tasks"].as_u64()), (Some("Laura Gómez"), Some(10)));
    assert_eq!((supervisor["completed"].as_u64(), supervisor["active"].as_u64()), (Some(2), Some(2)));

    // The supervisor's team is the whole demo; an officer counts only their own tasks.
    let (_, team) = sup.get(&period).await;
    assert_eq!((team["scope"].as_str(), team["total"].as_u64()), (Some("team"), Some(10)));
    let (status, own) = officer.get(&period).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((own["scope"].as_str(), own["total"].as_u64()), (Some("own"), Some(2)));
    assert_eq!(count_of(&own["by_status"], "status", "cancelled"), 1, "the cancelled task was EF-001's");
    assert_eq!(own["completion_rate"].as_f64(), Some(0.0));
    assert_eq!(list_codes(&own["per_officer"], "code"), ["EF-001"]);
    // An empty period: zeros and nulls, never invented numbers.
    let empty_day = today - Duration::days(100);
    let (_, empty) = admin.get(&format!("/statistics?from={empty_day}&to={empty_day}")).await;
    assert_eq!(
        (empty["total"].as_u64(), &empty["completion_rate"], &empty["median_seconds"]),
        (Some(0), &Value::Null, &Value::Null)
    );

    // Invalid periods.
    let (status, body) = admin.get(&format!("/statistics?from={to}&to={from}")).await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, field("to")));
    let long_ago = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    let (status, body) = admin.get(&format!("/statistics?from={long_ago}&to={today}")).await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, field("to")));
    for query in [
        "/statistics",
        "/statistics?from=2024-01-01",
        "/statistics?from=hoy&to=2024-01-01",
        "/statistics?from=2024-01-01&to=2024-01-02&scope=all",
    ] {
        let (status, body) = admin.get(query).await;
        assert_eq!(
            (status, body["type"].as_str()),
            (StatusCode::BAD_REQUEST, Some("urn:gad:problem:validation")),
            "{query}"
        );
    }
    let (status, _) = Rest::send(reqwest::Client::new().get(app.url(&format!("/api/v1{period}")))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
on_both_backends!(statistics_agree_with_the_data);

/// Dates at the edge of what the calendar library holds are refused with their field, like
/// any other date outside 1900–9999: never a panic or a 500.
async fn dates_at_the_calendar_s_edge_are_refused_with_their_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let officer = officer_id(&sup, "EF-002").await;
    let shift = json!({
        "officer_id": officer, "starts_at": "-262143-01-01T00:00:00Z", "on_hours": 8,
        "repeat": { "off_hours": 16, "until": "2026-01-01" },
    });
    let (status, body) = sup.post("/shifts", &shift).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(problem_fields(&body).contains(&"starts_at".to_owned()), "{body}");
    let track = format!("/officers/{officer}/track?from=-200000-01-01T00:00:00Z&to=-200000-01-02T00:00:00Z");
    let (status, body) = sup.get(&track).await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, field("from")), "{body}");
}
on_both_backends!(dates_at_the_calendar_s_edge_are_refused_with_their_field);

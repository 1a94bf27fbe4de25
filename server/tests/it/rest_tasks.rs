//! The REST API's tasks and emergencies over real HTTP, with personal tokens of every role,
//! on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

use crate::common;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use common::{ADMIN_PASSWORD, Backend, DEMO_PASSWORD, Rest, TestApp, problem_fields};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Whole seconds, far enough ahead not to meet the demo's schedules.
fn future(days: i64) -> DateTime<Utc> {
    let at = Utc::now() + Duration::days(days);
    DateTime::from_timestamp(at.timestamp(), 0).unwrap()
}

fn year(app: &TestApp) -> String {
    Utc::now().with_timezone(&app.state.config.timezone).format("%Y").to_string()
}

/// An officer's id by code, through the API.
async fn officer_id(api: &Rest, code: &str) -> i64 {
    let (status, page) = api.get(&format!("/officers?q={code}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().iter().find(|o| o["code"] == code).unwrap()["id"].as_i64().unwrap()
}

fn ids(items: &Value) -> Vec<i64> {
    items.as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect()
}

fn codes(items: &Value) -> Vec<String> {
    items.as_array().unwrap().iter().map(|t| t["code"].as_str().unwrap().to_owned()).collect()
}

async fn transition(api: &Rest, id: i64, to: &str) -> (StatusCode, Value) {
    api.post(&format!("/tasks/{id}/transitions"), &json!({ "to": to })).await
}

/// Every page of a task query, following `next_cursor`; returns the items and page sizes.
async fn walk(api: &Rest, query: &[(&str, &str)]) -> (Vec<Value>, Vec<usize>) {
    let (mut items, mut sizes, mut cursor) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let mut req = api.request(Method::GET, "/tasks").query(query);
        if let Some(c) = &cursor {
            req = req.query(&[("cursor", c)]);
        }
        let (status, page) = Rest::send(req).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let page_items = page["items"].as_array().unwrap();
        sizes.push(page_items.len());
        items.extend(page_items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (items, sizes),
        }
        assert!(sizes.len() < 50, "the cursor does not advance");
    }
}

// ------------------------------------------------------------------------------ lifecycle

async fn task_lifecycle_over_rest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let (_, me) = sup.get("/me").await;
    let ef2 = officer_id(&sup, "EF-002").await;
    let ef3 = officer_id(&sup, "EF-003").await;
    let start = future(40);

    // Created: 201, a generated <TYPE>-<YEAR>-<SEQ> code, the supervisor in charge.
    let new_task = json!({
        "title": "Control vehicular REST", "task_type": "patrol", "priority": "high",
        "scheduled_start": ts(start), "scheduled_end": ts(start + Duration::hours(2)),
        "lat": -34.6, "lon": -58.4, "location_text": "Av. de Mayo y Perú", "officer_ids": [ef2]
    });
    let (status, task) = sup.post("/tasks", &new_task).await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    let id = task["id"].as_i64().unwrap();
    let code = task["code"].as_str().unwrap();
    let prefix = format!("PAT-{}-", year(&app));
    assert!(code.starts_with(&prefix), "{code}");
    let seq = &code[prefix.len()..];
    assert!(seq.len() == 4 && seq.chars().all(|c| c.is_ascii_digit()), "{code}");
    assert_eq!((task["status"].as_str(), task["priority"].as_str()), (Some("scheduled"), Some("high")));
    assert_eq!(task["supervisor_id"], me["id"]);
    assert_eq!(task["assignments"][0]["officer_id"], ef2);
    assert_eq!(task["history"].as_array().unwrap().len(), 1);
    assert_eq!(task["allowed_transitions"], json!(["in_progress", "cancelled"]));

    // Validation: every offending field is named, nothing is written.
    let (status, body) = sup
        .post(
            "/tasks",
            &json!({ "code": "patrol-1", "title": "ab", "task_type": "patrol",
                "scheduled_start": ts(start), "scheduled_end": ts(start - Duration::hours(1)),
                "lat": -34.6, "officer_ids": [999_999] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem_fields(&body), ["code", "lon", "officer_ids", "scheduled_end", "title"]);
    // Instants both backends store alike: years 1900 to 9999 (year 0 is an error on PostgreSQL).
    for start in ["0000-01-01T00:00:00Z", "1899-12-31T12:00:00Z"] {
        let (status, body) = sup
            .post("/tasks", &json!({ "title": "Fuera de fecha", "task_type": "patrol", "scheduled_start": start }))
            .await;
        assert_eq!(
            (status, problem_fields(&body)),
            (StatusCode::BAD_REQUEST, vec!["scheduled_start".to_owned()]),
            "{body}"
        );
    }
    // Strict JSON: unknown fields and unknown enum values are 400 problems naming them.
    let mut extra = new_task.clone();
    extra["urgente"] = json!(true);
    let (status, body) = sup.post("/tasks", &extra).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].as_str().unwrap().contains("urgente"), "{body}");
    let (status, body) = sup.post("/tasks", &json!({ "title": "Tipo raro", "task_type": "picnic" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].as_str().unwrap().contains("picnic"), "{body}");

    // Conflicts: a repeated code; the same officer on an overlapping schedule.
    let (status, body) = sup.post("/tasks", &json!({ "code": code, "title": "Otra", "task_type": "patrol" })).await;
    assert_eq!((status, body["type"].as_str()), (StatusCode::CONFLICT, Some("urn:gad:problem:conflict")));
    assert!(body["detail"].as_str().unwrap().contains(code), "{body}");
    let clash = json!({ "title": "Turno superpuesto", "task_type": "surveillance",
        "scheduled_start": ts(start + Duration::hours(1)), "scheduled_end": ts(start + Duration::hours(3)),
        "officer_ids": [ef2] });
    let (status, body) = sup.post("/tasks", &clash).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let mut overridden = clash.clone();
    overridden["allow_overlap"] = json!(true);
    let (status, second) = sup.post("/tasks", &overridden).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["assignments"][0]["overlap_override"], true);
    let second_id = second["id"].as_i64().unwrap();

    // Detail and partial update (`null` clears).
    let (status, detail) = sup.get(&format!("/tasks/{id}")).await;
    assert_eq!((status, detail["code"].as_str()), (StatusCode::OK, Some(code)));
    assert_eq!(detail["can_manage"], true);
    let (status, updated) = sup
        .patch(
            &format!("/tasks/{id}"),
            &json!({ "title": "Control vehicular nocturno", "notes": "Llevar conos", "location_text": null }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["title"], "Control vehicular nocturno");
    assert_eq!(updated["notes"], "Llevar conos");
    assert_eq!(updated["location_text"], Value::Null);
    assert_eq!(updated["priority"], "high", "untouched fields stay");
    let (status, body) = sup.patch(&format!("/tasks/{id}"), &json!({ "titulo": "x" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = sup.patch(&format!("/tasks/{id}"), &json!({ "title": "" })).await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, vec!["title".to_owned()]));
    assert_eq!(sup.patch("/tasks/999999", &json!({ "title": "Nada" })).await.0, StatusCode::NOT_FOUND);

    // The lifecycle: start, pause, resume, complete; then an invalid move is a conflict.
    for to in ["in_progress", "paused", "in_progress", "completed"] {
        let (status, body) = transition(&sup, id, to).await;
        assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some(to)), "{body}");
    }
    let (_, done) = sup.get(&format!("/tasks/{id}")).await;
    assert!(done["actual_start"].is_string() && done["actual_end"].is_string());
    assert!(done["duration_seconds"].as_i64().unwrap() >= 0);
    assert_eq!(done["allowed_transitions"], json!([]));
    let (status, body) = transition(&sup, id, "in_progress").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("no puede pasar"), "{body}");
    let (status, _) = transition(&sup, id, "volando").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Cancelling needs a reason.
    let (status, body) = transition(&sup, second_id, "cancelled").await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, vec!["reason".to_owned()]));
    let (status, body) =
        sup.post(&format!("/tasks/{second_id}/transitions"), &json!({ "to": "cancelled", "reason": "   " })).await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, vec!["reason".to_owned()]));
    let (status, body) = sup
        .post(&format!("/tasks/{second_id}/transitions"), &json!({ "to": "cancelled", "reason": "Sin móvil" }))
        .await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("cancelled")));

    // History, oldest first, with the reason of the cancellation.
    let (status, history) = sup.get(&format!("/tasks/{id}/history")).await;
    assert_eq!(status, StatusCode::OK);
    let steps: Vec<(Value, Value)> =
        history.as_array().unwrap().iter().map(|h| (h["from"].clone(), h["to"].clone())).collect();
    assert_eq!(
        steps,
        [
            (Value::Null, json!("scheduled")),
            (json!("scheduled"), json!("in_progress")),
            (json!("in_progress"), json!("paused")),
            (json!("paused"), json!("in_progress")),
            (json!("in_progress"), json!("completed")),
        ]
    );
    let (_, history) = sup.get(&format!("/tasks/{second_id}/history")).await;
    assert_eq!(history.as_array().unwrap().last().unwrap()["reason"], "Sin móvil");

    // Assignments: add two, remove one; removing it again or adding a stranger fails.
    let (status, third) =
        sup.post("/tasks", &json!({ "title": "Apoyo a tránsito", "task_type": "intervention" })).await;
    assert_eq!(status, StatusCode::CREATED);
    let third_id = third["id"].as_i64().unwrap();
    let (status, body) =
        sup.post(&format!("/tasks/{third_id}/assignments"), &json!({ "officer_ids": [ef2, ef3] })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let assigned: Vec<i64> =
        body["assignments"].as_array().unwrap().iter().map(|a| a["officer_id"].as_i64().unwrap()).collect();
    assert_eq!(assigned.len(), 2);
    assert!(assigned.contains(&ef2) && assigned.contains(&ef3));
    let (status, body) = sup.delete(&format!("/tasks/{third_id}/assignments/{ef2}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["assignments"].as_array().unwrap().len(), 1);
    assert_eq!(body["assignments"][0]["officer_id"], ef3);
    assert_eq!(sup.delete(&format!("/tasks/{third_id}/assignments/{ef2}")).await.0, StatusCode::CONFLICT);
    let (status, body) =
        sup.post(&format!("/tasks/{third_id}/assignments"), &json!({ "officer_ids": [999_999] })).await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, vec!["officer_ids".to_owned()]));

    // Deleted: 204 without a body, then gone.
    let (status, body) = sup.delete(&format!("/tasks/{third_id}")).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    assert_eq!(sup.get(&format!("/tasks/{third_id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(sup.delete(&format!("/tasks/{third_id}")).await.0, StatusCode::NOT_FOUND);
    // Path segments that are not ids are problems too.
    let (status, body) = sup.get("/tasks/abc").await;
    assert_eq!((status, body["type"].as_str()), (StatusCode::BAD_REQUEST, Some("urn:gad:problem:validation")));
}
on_both_backends!(task_lifecycle_over_rest);

// ------------------------------------------------------------------------- list and CSV

/// The codes of every task a query returns, sorted.
async fn filtered_codes(api: &Rest, query: &[(&str, &str)]) -> Vec<String> {
    let (items, _) = walk(api, query).await;
    let mut codes = codes(&Value::from(items));
    codes.sort();
    codes
}

async fn list_filters_sorts_pages_and_csv(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let ef4 = officer_id(&sup, "EF-004").await;
    let start = future(60);
    // Five tasks with given codes, created out of order.
    let fixtures = [
        ("RL-03", "training", "high", 3, false),
        ("RL-01", "patrol", "low", 1, true),
        ("RL-05", "training", "medium", 5, false),
        ("RL-02", "patrol", "high", 2, false),
        ("RL-04", "surveillance", "high", 4, true),
    ];
    let mut by_code = std::collections::HashMap::new();
    for (code, task_type, priority, day, assigned) in fixtures {
        let at = start + Duration::days(day);
        let officers: Vec<i64> = if assigned { vec![ef4] } else { vec![] };
        let (status, body) = sup
            .post(
                "/tasks",
                &json!({ "code": code, "title": format!("Ronda RESTLIST {code}"), "task_type": task_type,
                "priority": priority, "scheduled_start": ts(at), "scheduled_end": ts(at + Duration::hours(1)),
                "officer_ids": officers }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        by_code.insert(code, body["id"].as_i64().unwrap());
    }

    // Every page, in code order, both directions.
    let (items, sizes) = walk(&sup, &[("q", "RESTLIST"), ("sort", "code"), ("limit", "2")]).await;
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(codes(&Value::from(items.clone())), ["RL-01", "RL-02", "RL-03", "RL-04", "RL-05"]);
    let (desc, _) = walk(&sup, &[("q", "RESTLIST"), ("sort", "code"), ("order", "desc"), ("limit", "3")]).await;
    assert_eq!(codes(&Value::from(desc)), ["RL-05", "RL-04", "RL-03", "RL-02", "RL-01"]);
    // Default sort (scheduled start) agrees here with the code order.
    let (by_start, _) = walk(&sup, &[("q", "RESTLIST"), ("limit", "4")]).await;
    assert_eq!(ids(&Value::from(by_start)), ids(&Value::from(items)));
    // Without a filter the supervisor walks the demo's ten tasks and these five.
    let (all, sizes) = walk(&sup, &[("limit", "4")]).await;
    assert_eq!((all.len(), sizes), (15, vec![4, 4, 4, 3]));

    // Filters.
    assert_eq!(filtered_codes(&sup, &[("q", "RESTLIST"), ("type", "training")]).await, ["RL-03", "RL-05"]);
    assert_eq!(filtered_codes(&sup, &[("q", "RESTLIST"), ("priority", "high")]).await, ["RL-02", "RL-03", "RL-04"]);
    assert_eq!(filtered_codes(&sup, &[("q", "rl-04")]).await, ["RL-04"], "case-insensitive");
    assert_eq!(filtered_codes(&sup, &[("q", "RESTLIST"), ("officer_id", &ef4.to_string())]).await, ["RL-01", "RL-04"]);
    let day = |d: i64| (start + Duration::days(d)).with_timezone(&app.state.config.timezone).date_naive().to_string();
    let dated =
        walk(&sup, &[("q", "RESTLIST"), ("date_from", &day(2)), ("date_to", &day(3)), ("sort", "code")]).await.0;
    assert_eq!(codes(&Value::from(dated)), ["RL-02", "RL-03"]);
    let (status, _) = transition(&sup, by_code["RL-02"], "in_progress").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(filtered_codes(&sup, &[("q", "RESTLIST"), ("status", "in_progress,paused")]).await, ["RL-02"]);
    assert_eq!(
        filtered_codes(&sup, &[("q", "RESTLIST"), ("status", "scheduled")]).await,
        ["RL-01", "RL-03", "RL-04", "RL-05"]
    );

    // CSV: the same rows in the same order, Spanish header.
    let res =
        sup.request(Method::GET, "/tasks.csv").query(&[("q", "RESTLIST"), ("sort", "code")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("tareas.csv"));
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a UTF-8 byte-order mark first, for spreadsheets");
    let csv = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 6, "{csv}");
    assert!(lines[0].starts_with("Código,Título,Tipo,Prioridad,Estado"), "{}", lines[0]);
    let first_column: Vec<&str> = lines[1..].iter().map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(first_column, ["RL-01", "RL-02", "RL-03", "RL-04", "RL-05"]);

    // Bad parameters are validation problems naming the parameter.
    for (query, field) in [
        ("status=volando", "status"),
        ("order=arriba", "order"),
        ("cursor=zzz", "cursor"),
        // Far-off days: refused alike on both backends, not a server error on PostgreSQL.
        ("date_from=-200000-01-01", "date_from"),
        ("date_to=%2B262000-01-01", "date_to"),
    ] {
        let (status, body) = sup.get(&format!("/tasks?{query}")).await;
        assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, vec![field.to_owned()]), "{query}");
    }
    for query in ["limit=muchos", "prioridad=alta", "type=picnic"] {
        let (status, body) = sup.get(&format!("/tasks?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["type"], "urn:gad:problem:validation");
    }
    let (status, body) = sup.get("/tasks?prioridad=alta").await;
    assert!(status == StatusCode::BAD_REQUEST && body["detail"].as_str().unwrap().contains("prioridad"), "{body}");
}
on_both_backends!(list_filters_sorts_pages_and_csv);

// ------------------------------------------------------------------------------- roles

async fn officers_see_only_their_tasks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let officer = Rest::sign_in(&app, "efectivo1@gad.local", DEMO_PASSWORD, false).await;
    let reader = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, true).await;
    let (status, me) = officer.get("/me/officer").await;
    assert_eq!((status, me["code"].as_str()), (StatusCode::OK, Some("EF-001")));
    let own = me["id"].as_i64().unwrap();

    // The demo gives EF-001 two tasks; the list, the CSV and the details show only those.
    let (status, page) = officer.get("/tasks?limit=200").await;
    assert_eq!(status, StatusCode::OK);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{page}");
    assert!(items.iter().all(|t| t["officer_ids"].as_array().unwrap().contains(&json!(own))));
    let csv = officer.request(Method::GET, "/tasks.csv").send().await.unwrap().text().await.unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let (_, everything) = sup.get("/tasks?limit=200").await;
    let others: Vec<i64> =
        ids(&everything["items"]).into_iter().filter(|id| !ids(&page["items"]).contains(id)).collect();
    assert_eq!(others.len(), 8);
    for id in &others {
        assert_eq!(officer.get(&format!("/tasks/{id}")).await.0, StatusCode::NOT_FOUND, "someone else's task {id}");
    }
    let in_progress = items.iter().find(|t| t["status"] == "in_progress").unwrap()["id"].as_i64().unwrap();
    let (status, detail) = officer.get(&format!("/tasks/{in_progress}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["can_manage"], false);
    assert_eq!(detail["allowed_transitions"], json!(["paused", "completed"]));

    // Officers operate their tasks but do not create, edit, assign, cancel or delete.
    let (status, body) = transition(&officer, in_progress, "paused").await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("paused")));
    let (status, body) = officer.post("/tasks", &json!({ "title": "Propia", "task_type": "patrol" })).await;
    assert_eq!((status, body["type"].as_str()), (StatusCode::FORBIDDEN, Some("urn:gad:problem:forbidden")));
    assert_eq!(
        officer.patch(&format!("/tasks/{in_progress}"), &json!({ "title": "Otra" })).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, _) = officer
        .post(&format!("/tasks/{in_progress}/transitions"), &json!({ "to": "cancelled", "reason": "No puedo" }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) =
        officer.post(&format!("/tasks/{in_progress}/assignments"), &json!({ "officer_ids": [own] })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(officer.delete(&format!("/tasks/{in_progress}")).await.0, StatusCode::FORBIDDEN);

    // A read-only token reads and changes nothing; no token at all is a 401.
    assert_eq!(reader.get("/tasks").await.0, StatusCode::OK);
    let (status, _) = reader.post("/tasks", &json!({ "title": "Solo lectura", "task_type": "patrol" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(transition(&reader, in_progress, "in_progress").await.0, StatusCode::FORBIDDEN);
    let (status, body) = Rest::send(reqwest::Client::new().get(app.url("/api/v1/tasks"))).await;
    assert_eq!((status, body["type"].as_str()), (StatusCode::UNAUTHORIZED, Some("urn:gad:problem:unauthenticated")));
}
on_both_backends!(officers_see_only_their_tasks);

// -------------------------------------------------------------------------- idempotency

async fn idempotent_task_creation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let admin = Rest::sign_in(&app, "admin@gad.local", ADMIN_PASSWORD, false).await;
    let body = json!({ "title": "Operativo IDEMPOTENTE", "task_type": "intervention", "priority": "urgent" });
    let post = |api: &Rest, body: &Value, key: &str| {
        api.request(Method::POST, "/tasks").header("idempotency-key", key).json(body).send()
    };

    let first = post(&sup, &body, "operativo-1").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    // The retry (a lost answer, say) gets the first answer again, not a second task.
    let retry = post(&sup, &body, "operativo-1").await.unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    let (_, found) = sup.get("/tasks?q=IDEMPOTENTE").await;
    assert_eq!(ids(&found["items"]), [first["id"].as_i64().unwrap()], "exactly one task");

    // The same key with another body is refused; another caller's key is another request.
    let mut other = body.clone();
    other["priority"] = json!("low");
    let (status, problem) =
        Rest::send(sup.request(Method::POST, "/tasks").header("idempotency-key", "operativo-1").json(&other)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let by_admin = post(&admin, &body, "operativo-1").await.unwrap();
    assert_eq!(by_admin.status(), StatusCode::CREATED);
    assert!(by_admin.headers().get("idempotent-replayed").is_none());
    // Without a key, two posts are two tasks.
    assert_eq!(sup.post("/tasks", &body).await.0, StatusCode::CREATED);
    let (_, found) = sup.get("/tasks?q=IDEMPOTENTE").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 3);
    // A failed create is remembered too: the retry gets the same problem.
    let bad = json!({ "title": "x", "task_type": "patrol" });
    let (status, problem) =
        Rest::send(sup.request(Method::POST, "/tasks").header("idempotency-key", "malo-1").json(&bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (again, replayed) =
        Rest::send(sup.request(Method::POST, "/tasks").header("idempotency-key", "malo-1").json(&bad)).await;
    assert_eq!((again, replayed), (status, problem));
}
on_both_backends!(idempotent_task_creation);

// --------------------------------------------------------------------------- emergencies

/// Metres north along a meridian, on the sphere the geo service uses.
fn north(lat: f64, metres: f64) -> f64 {
    lat + (metres / gad_core::services::geo::EARTH_RADIUS_M).to_degrees()
}

async fn emergency_dispatches_the_nearest_over_rest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let officer = Rest::sign_in(&app, "efectivo1@gad.local", DEMO_PASSWORD, false).await;
    // In the Río de la Plata, far from the demo officers: two officers created and placed over REST.
    let (lat, lon) = (-34.40, -58.20);
    let mut placed = Vec::new();
    for (code, metres) in [("EMR-900", 900.0), ("EMR-150", 150.0)] {
        let (status, o) = sup
            .post(
                "/officers",
                &json!({ "code": code, "first_name": "Guardia", "last_name": code, "rank": "Agente", "unit": "Costera" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{o}");
        let id = o["id"].as_i64().unwrap();
        let (status, body) =
            sup.post(&format!("/officers/{id}/positions"), &json!({ "lat": north(lat, metres), "lon": lon })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        placed.push(id);
    }
    let (far, near) = (placed[0], placed[1]);

    // Any signed-in person may raise one; the nearest available officer is dispatched. An
    // officer learns who was sent, not where the colleagues around are.
    let (status, outcome) =
        officer.post("/emergencies", &json!({ "lat": lat, "lon": lon, "description": "Incendio en depósito" })).await;
    assert_eq!(status, StatusCode::CREATED, "{outcome}");
    assert_eq!(outcome["candidates"], json!([]));
    assert_eq!(outcome["assigned_officer_ids"], json!([near]));
    let task = &outcome["task"];
    assert_eq!(task["code"], format!("EMER-{}-0001", year(&app)));
    assert_eq!((task["task_type"].as_str(), task["priority"].as_str()), (Some("emergency"), Some("critical")));
    assert_eq!((task["lat"].as_f64(), task["lon"].as_f64()), (Some(lat), Some(lon)));
    assert_eq!(task["assignments"][0]["officer_id"], near);
    // The task exists for the supervisor like any other.
    let (status, detail) = sup.get(&format!("/tasks/{}", task["id"])).await;
    assert_eq!((status, detail["status"].as_str()), (StatusCode::OK, Some("scheduled")));

    // The dispatched officer is on a task until the emergency ends: the next one is not
    // offered them.
    let (_, sent) = sup.get(&format!("/officers/{near}")).await;
    assert_eq!(sent["status"], "on_task", "{sent}");
    let (status, ranked_only) = sup.post("/emergencies", &json!({ "lat": lat, "lon": lon, "assign": "none" })).await;
    assert_eq!(status, StatusCode::CREATED);
    let ranked: Vec<i64> =
        ranked_only["candidates"].as_array().unwrap().iter().map(|c| c["officer_id"].as_i64().unwrap()).collect();
    assert_eq!(ranked, [far]);
    // Called off: free again.
    let cancel = json!({ "to": "cancelled", "reason": "Falsa alarma" });
    let (status, body) = sup.post(&format!("/tasks/{}/transitions", task["id"]), &cancel).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, freed) = sup.get(&format!("/officers/{near}")).await;
    assert_eq!(freed["status"], "available", "{freed}");

    // Rank only; the two nearest; a supervisor's pick; officers may not pick.
    let (status, ranked_only) = sup.post("/emergencies", &json!({ "lat": lat, "lon": lon, "assign": "none" })).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(ranked_only["assigned_officer_ids"], json!([]));
    let ranked: Vec<i64> =
        ranked_only["candidates"].as_array().unwrap().iter().map(|c| c["officer_id"].as_i64().unwrap()).collect();
    assert_eq!(ranked, [near, far]);
    for (candidate, metres) in ranked_only["candidates"].as_array().unwrap().iter().zip([150.0, 900.0]) {
        assert!((candidate["distance_m"].as_f64().unwrap() - metres).abs() < 1.0, "{candidate}");
    }
    let (status, two) = sup.post("/emergencies", &json!({ "lat": lat, "lon": lon, "assign": { "nearest": 2 } })).await;
    assert_eq!((status, &two["assigned_officer_ids"]), (StatusCode::CREATED, &json!([near, far])));
    let (status, picked) =
        sup.post("/emergencies", &json!({ "lat": lat, "lon": lon, "assign": { "officers": [far] } })).await;
    assert_eq!((status, &picked["assigned_officer_ids"]), (StatusCode::CREATED, &json!([far])));
    let (status, _) =
        officer.post("/emergencies", &json!({ "lat": lat, "lon": lon, "assign": { "officers": [far] } })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Validation.
    let (status, body) = officer.post("/emergencies", &json!({ "lat": 123.0, "lon": lon })).await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, vec!["lat".to_owned()]));
    let (status, body) = sup.post("/emergencies", &json!({ "lat": lat, "lon": lon, "assign": { "nearest": 0 } })).await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, vec!["assign".to_owned()]));
    let (status, _) = officer.post("/emergencies", &json!({ "lat": lat, "lon": lon, "herido": true })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
on_both_backends!(emergency_dispatches_the_nearest_over_rest);

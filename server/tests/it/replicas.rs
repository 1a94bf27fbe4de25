//! Two real `gad serve` processes on one PostgreSQL and one Redis: a change made through one
//! reaches a live event stream opened on the other.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::{ADMIN_PASSWORD, Backend, GadProcess};
use futures::StreamExt;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_from_one_process_reaches_a_stream_on_the_other() {
    let database_url = common::fresh_database(Backend::Postgres).await;
    let first = GadProcess::start(&database_url, &[]).await;
    let second = GadProcess::start(&database_url, &[]).await;

    // A token made on the first process works on the second (same database).
    let jar = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let res = jar
        .post(format!("{}/api/fn/login", first.base))
        .header("accept", "application/json")
        .form(&[("email", "admin@gad.local"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let me: Value = jar.get(format!("{}/api/v1/me", first.base)).send().await.unwrap().json().await.unwrap();
    let token: Value = jar
        .post(format!("{}/api/v1/users/{}/tokens", first.base, me["id"]))
        .json(&json!({ "name": "réplicas" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();

    let http = reqwest::Client::new();
    let stream = http.get(format!("{}/api/v1/events/stream", second.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    assert!(stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut body = stream.bytes_stream();

    let created: Value = http
        .post(format!("{}/api/v1/tasks", first.base))
        .bearer_auth(&token)
        .json(&json!({ "title": "Control vehicular en Av. de Mayo", "task_type": "patrol", "priority": "high" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = created["code"].as_str().unwrap().to_owned();

    let received = tokio::time::timeout(Duration::from_secs(10), async {
        let mut text = String::new();
        while let Some(chunk) = body.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if text.contains("event: task.created") && text.contains(&code) {
                return text;
            }
        }
        panic!("stream ended: {text}");
    })
    .await
    .expect("the event crossed replicas within 10 s");
    assert!(received.contains("\"type\":\"task.created\""), "{received}");
}

//! Two real `gad serve` processes on one PostgreSQL and one Redis: a change made through one
//! reaches a live event stream opened on the other.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{ADMIN_PASSWORD, Backend};
use futures::StreamExt;
use serde_json::{Value, json};

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start(database_url: &str) -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_gad"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("DATABASE_URL", database_url)
        .env("REDIS_URL", common::redis_url())
        .env("GAD_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("GAD_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("GAD_2FA_REQUIRED_ROLES", "none")
        .env("GAD_DEMO_PASSWORD", common::DEMO_PASSWORD)
        .env("GAD_SEED_DEMO", "true")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, base: format!("http://127.0.0.1:{port}") };
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http.get(format!("{}/ready", server.base)).send().await.is_ok_and(|r| r.status().is_success()) {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gad did not become ready on {}", server.base);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_from_one_process_reaches_a_stream_on_the_other() {
    let database_url = common::fresh_database(Backend::Postgres).await;
    let first = start(&database_url).await;
    let second = start(&database_url).await;

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

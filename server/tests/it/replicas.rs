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
    let token = first.admin_token().await;

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

/// The first `n` frames (`id`, `event`) of a stream opened with `Last-Event-ID: after`.
async fn frames_after(app: &common::TestApp, token: &str, after: i64, n: usize) -> Vec<(Option<i64>, String)> {
    let response = reqwest::Client::new()
        .get(app.url("/api/v1/events/stream"))
        .bearer_auth(token)
        .header("last-event-id", after.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut text = String::new();
    let mut frames = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while frames.len() < n {
            text.push_str(&String::from_utf8_lossy(&body.next().await.unwrap().unwrap()));
            while let Some(end) = text.find("\n\n") {
                let frame: String = text.drain(..end + 2).collect();
                let id = frame.lines().find_map(|l| l.strip_prefix("id:")).and_then(|v| v.trim().parse().ok());
                if let Some(kind) = frame.lines().find_map(|l| l.strip_prefix("event:")) {
                    frames.push((id, kind.trim().to_owned()));
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("only {frames:?} within 10 s"));
    frames
}

/// A client that reconnects with `Last-Event-ID` gets exactly the events it missed, in order,
/// from the outbox; when they were pruned or are too many, one `resync` instead.
async fn a_stream_resumes_after_its_last_event_id(backend: Backend) {
    let app = common::TestApp::spawn(backend).await;
    let rest = common::Rest::sign_in(&app, "admin@gad.local", ADMIN_PASSWORD, true).await;
    let before = gad_core::events::latest_id(&app.state.db).await.unwrap();
    let mut txn = gad_core::db::WriteTxn::begin(&app.state).await.unwrap();
    for officer_id in 1..=3 {
        txn.emit(contract::events::Event::OfficerStatusChanged {
            officer_id,
            status: contract::domain::OfficerStatus::OffDuty,
        });
    }
    txn.commit().await.unwrap();

    let missed = frames_after(&app, &rest.token, before, 3).await;
    let ids: Vec<i64> = missed.iter().map(|(id, _)| id.unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]) && ids[0] > before, "{missed:?}");
    assert!(missed.iter().all(|(_, kind)| kind == "officer.status"), "{missed:?}");
    // Resuming after the first: the other two only.
    let rest_of = frames_after(&app, &rest.token, ids[0], 2).await;
    assert_eq!(rest_of.iter().map(|(id, _)| id.unwrap()).collect::<Vec<_>>(), ids[1..]);

    // More than can be replayed: one resync, carrying the id to resume after.
    let mut txn = gad_core::db::WriteTxn::begin(&app.state).await.unwrap();
    for officer_id in 0..=gad_server::rest::stream::REPLAY_MAX as i64 {
        txn.emit(contract::events::Event::OfficerStatusChanged {
            officer_id,
            status: contract::domain::OfficerStatus::Available,
        });
    }
    txn.commit().await.unwrap();
    gad_core::sealer::seal_now(&app.state.db).await.unwrap();
    let head = gad_core::events::latest_id(&app.state.db).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), async {
        while app.state.events.head() < head {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    let too_many = frames_after(&app, &rest.token, ids[2], 1).await;
    assert_eq!(too_many, [(Some(head), "resync".to_owned())]);

    // Pruned events: a resync as well.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    gad_core::entities::event_outbox::Entity::delete_many()
        .filter(gad_core::entities::event_outbox::Column::Id.lte(ids[1]))
        .exec(&app.state.db)
        .await
        .unwrap();
    let pruned = frames_after(&app, &rest.token, ids[0], 1).await;
    assert_eq!(pruned[0].1, "resync");
}
on_both_backends!(a_stream_resumes_after_its_last_event_id);

//! The entities against the real migrated schema: every table written and read back through
//! sea-orm, the domain enums decoded, the relations joined, and the database rules surfacing
//! as errors — on SQLite always, on PostgreSQL + PostGIS at `GAD_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`; skipped with `GAD_SKIP_PG_TESTS=1`).

use chrono::{DateTime, Duration, TimeZone, Utc};
use migrations::Migrator;
use migrations::sea_orm_migration::MigratorTrait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, ModelTrait, QueryFilter,
    Set,
};

use super::*;
use contract::domain::*;

fn at(h: i64, m: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().expect("valid date") + Duration::hours(h) + Duration::minutes(m)
}

async fn scenario(db: &DatabaseConnection) {
    Migrator::up(db, None).await.expect("migrate");
    let now = Utc::now();

    let user = users::ActiveModel {
        dni: Set("30111222".into()),
        first_name: Set("Laura".into()),
        last_name: Set("Gómez".into()),
        email: Set("laura@gad.test".into()),
        role: Set(Role::Supervisor),
        is_active: Set(true),
        failed_login_count: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("user");
    let found = users::Entity::find()
        .filter(users::Column::Role.eq(Role::Supervisor))
        .one(db)
        .await
        .expect("query")
        .expect("found by enum");
    assert_eq!(found, user);

    let officer = officers::ActiveModel {
        user_id: Set(Some(user.id)),
        code: Set("EF-001".into()),
        first_name: Set("Martín".into()),
        last_name: Set("Sosa".into()),
        rank: Set("Cabo".into()),
        unit: Set("Comisaría Vecinal 1A".into()),
        status: Set(OfficerStatus::Available),
        status_changed_at: Set(now),
        last_lat: Set(Some(-34.6037)),
        last_lon: Set(Some(-58.3816)),
        last_position_at: Set(Some(now)),
        last_position_source: Set(Some(PositionSource::Telegram)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("officer");

    let task = |code: &str, start: DateTime<Utc>, end: DateTime<Utc>| tasks::ActiveModel {
        code: Set(code.into()),
        title: Set(format!("Patrullaje {code}")),
        task_type: Set(TaskType::Patrol),
        priority: Set(TaskPriority::High),
        status: Set(TaskStatus::Scheduled),
        scheduled_start: Set(Some(start)),
        scheduled_end: Set(Some(end)),
        paused_seconds: Set(0),
        supervisor_id: Set(Some(user.id)),
        created_by: Set(user.id),
        lat: Set(Some(-34.6)),
        lon: Set(Some(-58.4)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let a = task("A", at(10, 0), at(12, 0)).insert(db).await.expect("A");
    let b = task("B", at(11, 30), at(13, 0)).insert(db).await.expect("B");
    // Sub-second precision survives and compares correctly on both backends.
    let c_start = at(15, 0) + Duration::milliseconds(123);
    let c = task("C", c_start, at(16, 0)).insert(db).await.expect("C");

    let assign = |task_id: i64, overlap_override: bool| task_assignments::ActiveModel {
        task_id: Set(task_id),
        officer_id: Set(officer.id),
        assigned_at: Set(now),
        assigned_by: Set(Some(user.id)),
        overlap_override: Set(overlap_override),
        ..Default::default()
    };
    assign(a.id, false).insert(db).await.expect("assign A");
    let overlap = assign(b.id, false).insert(db).await.expect_err("B overlaps A");
    assert!(overlap.to_string().contains(migrations::OVERLAP_ERROR_TOKEN), "{overlap}");
    assign(b.id, true).insert(db).await.expect("override");
    assign(c.id, false).insert(db).await.expect("assign C");

    let later =
        tasks::Entity::find().filter(tasks::Column::ScheduledStart.gt(at(15, 0))).all(db).await.expect("time filter");
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].scheduled_start, Some(c_start));

    // Relations.
    let pairs = task_assignments::Entity::find()
        .find_also_related(officers::Entity)
        .all(db)
        .await
        .expect("assignments with officers");
    assert_eq!(pairs.len(), 3);
    assert!(pairs.iter().all(|(_, o)| o.as_ref().map(|o| o.id) == Some(officer.id)));
    assert_eq!(a.find_related(officers::Entity).all(db).await.expect("n-n").len(), 1);
    assert_eq!(officer.find_related(tasks::Entity).all(db).await.expect("n-n").len(), 3);
    let (_, linked) = officers::Entity::find()
        .find_also_related(users::Entity)
        .one(db)
        .await
        .expect("officer with user")
        .expect("row");
    assert_eq!(linked.map(|u| u.id), Some(user.id));
    let (_, linked) = users::Entity::find()
        .find_also_related(officers::Entity)
        .one(db)
        .await
        .expect("user with officer")
        .expect("row");
    assert_eq!(linked.map(|o| o.id), Some(officer.id));

    task_status_history::ActiveModel {
        task_id: Set(a.id),
        from_status: Set(None),
        to_status: Set(TaskStatus::Scheduled),
        changed_by: Set(Some(user.id)),
        channel: Set(Channel::Web),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("history");
    let history = a.find_related(task_status_history::Entity).all(db).await.expect("history");
    assert_eq!((history[0].from_status, history[0].to_status), (None, TaskStatus::Scheduled));

    // Rescheduling an assigned task onto another of its officer's tasks is refused.
    let mut moved: tasks::ActiveModel = c.into();
    moved.scheduled_start = Set(Some(at(10, 30)));
    moved.scheduled_end = Set(Some(at(10, 45)));
    let overlap = moved.update(db).await.expect_err("C moved onto A");
    assert!(overlap.to_string().contains(migrations::OVERLAP_ERROR_TOKEN), "{overlap}");

    // A task without an end occupies its officer for twelve hours from its start, not forever.
    let mut open_ended = task("D", at(32, 0), at(33, 0));
    open_ended.scheduled_end = Set(None);
    let d = open_ended.insert(db).await.expect("D");
    assign(d.id, false).insert(db).await.expect("assign D");
    let e = task("E", at(43, 0), at(45, 0)).insert(db).await.expect("E");
    let overlap = assign(e.id, false).insert(db).await.expect_err("E starts within D's twelve hours");
    assert!(overlap.to_string().contains(migrations::OVERLAP_ERROR_TOKEN), "{overlap}");
    let f = task("F", at(44, 0), at(46, 0)).insert(db).await.expect("F");
    assign(f.id, false).insert(db).await.expect("F starts as D's twelve hours end");

    // Column defaults written by the database decode.
    db.execute_unprepared(&format!("INSERT INTO notes (user_id, body) VALUES ({}, 'Sin novedad')", user.id))
        .await
        .expect("raw note");
    let note = notes::Entity::find().one(db).await.expect("note").expect("row");
    assert!((note.created_at - Utc::now()).num_seconds().abs() < 300, "{}", note.created_at);
    let group = telegram_groups::ActiveModel {
        name: Set("general".into()),
        chat_id: Set(-1_001_234_567_890),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("group");
    db.execute_unprepared(&format!("INSERT INTO broadcasts (group_id, text) VALUES ({}, 'hola')", group.id))
        .await
        .expect("raw broadcast");
    let broadcast = broadcasts::Entity::find().one(db).await.expect("broadcast").expect("row");
    assert_eq!((broadcast.kind, broadcast.delivery_status), (BroadcastKind::Normal, DeliveryStatus::Pending));

    // Audit: JSON round trip, and no updates.
    let after = serde_json::json!({"code": "A", "officers": [1, 2], "urgent": true});
    let row = audit_log::ActiveModel {
        user_id: Set(Some(user.id)),
        channel: Set(Channel::Api),
        action: Set("task.create".into()),
        resource_type: Set("task".into()),
        resource_id: Set(Some(a.id.to_string())),
        after_value: Set(Some(after.clone())),
        success: Set(true),
        severity: Set(AuditSeverity::Warning),
        created_at: Set(now),
        hash: Set(Some("h1".into())),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("audit row");
    let back = audit_log::Entity::find_by_id(row.id).one(db).await.expect("audit").expect("row");
    assert_eq!(back.after_value, Some(after));
    assert_eq!(back.before_value, None);
    let mut edited: audit_log::ActiveModel = back.into();
    edited.action = Set("nothing.happened".into());
    let refused = edited.update(db).await.expect_err("audit update");
    assert!(refused.to_string().contains(migrations::AUDIT_APPEND_ONLY_TOKEN), "{refused}");

    // The remaining tables.
    feedback::ActiveModel {
        channel: Set(Channel::Telegram),
        telegram_user_id: Set(Some(123_456_789)),
        text: Set("Todo bien".into()),
        sentiment_score: Set(Some(0.8)),
        status: Set(FeedbackStatus::New),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("feedback");
    officer_positions::ActiveModel {
        officer_id: Set(officer.id),
        lat: Set(-34.61),
        lon: Set(-58.38),
        accuracy_m: Set(Some(12.5)),
        source: Set(PositionSource::Api),
        recorded_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("position");
    api_tokens::ActiveModel {
        user_id: Set(user.id),
        name: Set("integración".into()),
        token_hash: Set("token-hash".into()),
        scopes: Set("tasks:read tasks:write".into()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("api token");
    telegram_links::ActiveModel {
        user_id: Set(user.id),
        code_hash: Set("code-hash".into()),
        expires_at: Set(now + Duration::minutes(15)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("link code");
    // Updating an officer leaves the (unmapped) PostGIS column to the database.
    let mut busy: officers::ActiveModel = officer.into();
    busy.status = Set(OfficerStatus::OnTask);
    assert_eq!(busy.update(db).await.expect("officer update").status, OfficerStatus::OnTask);
}

#[tokio::test]
async fn entities_round_trip_on_sqlite() {
    let db = Database::connect("sqlite::memory:").await.expect("sqlite");
    scenario(&db).await;
}

#[tokio::test]
async fn entities_round_trip_on_postgres() {
    if std::env::var("GAD_SKIP_PG_TESTS").is_ok_and(|v| v == "1" || v == "true") {
        return;
    }
    let admin_url =
        std::env::var("GAD_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("gad_ent_{:016x}", rand::random::<u64>());
    let admin = Database::connect(&admin_url).await.expect("PostgreSQL at GAD_TEST_PG_URL");
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create db");
    let (server, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url.as_str(), String::new()),
    };
    let server = server.rsplit_once('/').map_or(server, |(server, _)| server);
    let db = Database::connect(format!("{server}/{name}{query}")).await.expect("test db");
    // Run on a task so a failed assertion still drops the database.
    let outcome = tokio::spawn(async move {
        scenario(&db).await;
        db.close().await.ok();
    })
    .await;
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

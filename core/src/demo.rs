//! Buenos Aires demo data: a supervisor, six officers with positions, and a day of tasks.
//! Idempotent: seeding twice changes nothing.

use chrono::{Datelike, Duration, DurationRound, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};

use crate::entities::{
    leaves, officer_positions, officers, shifts, task_assignments, task_status_history, tasks, users,
};
use crate::error::{AppError, AppResult};
use crate::services::auth::hash_password;
use crate::services::tasks::next_code;
use crate::services::users::{NewUser, generate_password, insert_user, validate_password};
use crate::state::AppState;
use contract::domain::{
    Channel, LeaveKind, LeaveStatus, OfficerStatus, PositionSource, Role, TaskPriority, TaskStatus, TaskType,
};

pub const SUPERVISOR_EMAIL: &str = "supervisor@gad.local";

/// What seeding did.
#[derive(Debug, PartialEq, Eq)]
pub enum SeedOutcome {
    AlreadySeeded,
    /// Seeded; `generated_password` is set when no demo password was configured.
    Seeded {
        generated_password: Option<String>,
    },
}

struct DemoOfficer {
    first: &'static str,
    last: &'static str,
    rank: &'static str,
    unit: &'static str,
    specialty: Option<&'static str>,
    place: (f64, f64),
}

const OFFICERS: [DemoOfficer; 6] = [
    DemoOfficer {
        first: "Martín",
        last: "Sosa",
        rank: "Cabo",
        unit: "Comisaría Vecinal 1A",
        specialty: None,
        place: (-34.6037, -58.3816),
    },
    DemoOfficer {
        first: "Carla",
        last: "Benítez",
        rank: "Sargento",
        unit: "Comisaría Vecinal 1C",
        specialty: Some("Tránsito"),
        place: (-34.6083, -58.3712),
    },
    DemoOfficer {
        first: "Diego",
        last: "Ferreyra",
        rank: "Agente",
        unit: "Comisaría Vecinal 14A",
        specialty: None,
        place: (-34.5711, -58.4233),
    },
    DemoOfficer {
        first: "Lucía",
        last: "Romero",
        rank: "Cabo primero",
        unit: "Comisaría Vecinal 4A",
        specialty: Some("Investigaciones"),
        place: (-34.6345, -58.3631),
    },
    DemoOfficer {
        first: "Pablo",
        last: "Acosta",
        rank: "Agente",
        unit: "Comisaría Vecinal 2A",
        specialty: None,
        place: (-34.5875, -58.3974),
    },
    DemoOfficer {
        first: "Sofía",
        last: "Medina",
        rank: "Sargento primero",
        unit: "Comisaría Vecinal 13A",
        specialty: Some("Brigada canina"),
        place: (-34.5627, -58.4565),
    },
];

/// (type, priority, title, place, start offset in hours from now, duration in hours, officer indexes, status)
type DemoTask =
    (TaskType, TaskPriority, &'static str, &'static str, (f64, f64), i64, i64, &'static [usize], TaskStatus);

const TASKS: [DemoTask; 10] = [
    (
        TaskType::Patrol,
        TaskPriority::Medium,
        "Patrullaje Microcentro",
        "Av. Corrientes y 9 de Julio",
        (-34.6037, -58.3816),
        -1,
        4,
        &[0],
        TaskStatus::InProgress,
    ),
    (
        TaskType::Surveillance,
        TaskPriority::High,
        "Vigilancia Plaza de Mayo",
        "Plaza de Mayo",
        (-34.6083, -58.3712),
        2,
        3,
        &[1],
        TaskStatus::Scheduled,
    ),
    (
        TaskType::Patrol,
        TaskPriority::Low,
        "Recorrida Bosques de Palermo",
        "Av. Sarmiento y Av. Figueroa Alcorta",
        (-34.5711, -58.4233),
        5,
        2,
        &[2],
        TaskStatus::Scheduled,
    ),
    (
        TaskType::Investigation,
        TaskPriority::High,
        "Relevamiento de testigos en La Boca",
        "Caminito",
        (-34.6345, -58.3631),
        -2,
        3,
        &[3],
        TaskStatus::Paused,
    ),
    (
        TaskType::Intervention,
        TaskPriority::Urgent,
        "Control de disturbios en Recoleta",
        "Plaza Francia",
        (-34.5875, -58.3974),
        1,
        2,
        &[4, 5],
        TaskStatus::Scheduled,
    ),
    (
        TaskType::Administrative,
        TaskPriority::Low,
        "Actualización de legajos",
        "Comisaría Vecinal 1A",
        (-34.6090, -58.3850),
        24,
        4,
        &[0],
        TaskStatus::Scheduled,
    ),
    (
        TaskType::Training,
        TaskPriority::Medium,
        "Capacitación en primeros auxilios",
        "Instituto Superior de Seguridad Pública",
        (-34.6220, -58.4370),
        48,
        6,
        &[1, 2],
        TaskStatus::Scheduled,
    ),
    (
        TaskType::Patrol,
        TaskPriority::Medium,
        "Patrullaje Belgrano",
        "Av. Cabildo y Juramento",
        (-34.5627, -58.4565),
        -6,
        3,
        &[5],
        TaskStatus::Completed,
    ),
    (
        TaskType::Surveillance,
        TaskPriority::Medium,
        "Custodia Estación Retiro",
        "Estación Retiro",
        (-34.5910, -58.3740),
        -30,
        4,
        &[4],
        TaskStatus::Completed,
    ),
    (
        TaskType::Investigation,
        TaskPriority::Critical,
        "Seguimiento de denuncia en Constitución",
        "Plaza Constitución",
        (-34.6276, -58.3815),
        30,
        2,
        &[3],
        TaskStatus::Scheduled,
    ),
];

/// Seeds the demo data in one transaction unless it is already there.
/// One round of the demo's patrol: each demo officer still linked to their demo account
/// reports a position on a small loop (about 150 m across) around their beat, through the
/// same service a phone's report goes through. Keeps the demo's positions fresh (emergency
/// dispatch only sends officers seen within `GAD_POSITION_FRESH_MINUTES`) and the map moving.
/// Returns how many positions were reported.
pub async fn patrol_round(state: &AppState, round: u64) -> AppResult<usize> {
    let mut reported = 0;
    for (i, o) in OFFICERS.iter().enumerate() {
        let n = i + 1;
        let email = format!("efectivo{n}@gad.local");
        let Some(user) = users::Entity::find()
            .filter(users::Column::Email.eq(email))
            .filter(users::Column::DeletedAt.is_null())
            .filter(users::Column::IsActive.eq(true))
            .one(&state.db)
            .await?
        else {
            continue;
        };
        let actor = crate::services::auth::actor_for_user(state, user.id, Channel::System).await?;
        let Some(officer_id) = actor.officer_id else { continue };
        let angle = (round as f64) * 0.35 + i as f64;
        let (lat, lon) = (o.place.0 + 0.0007 * angle.sin(), o.place.1 + 0.0009 * angle.cos());
        let meta = crate::meta::AuditMeta::internal(Channel::System);
        crate::services::officers::update_position(
            state,
            &actor,
            &meta,
            officer_id,
            lat,
            lon,
            Some(15.0),
            PositionSource::Api,
            None,
        )
        .await?;
        reported += 1;
    }
    Ok(reported)
}

/// Runs [`patrol_round`] every `every` until the process ends (only with the demo data).
pub fn spawn_patrol(state: AppState, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        for round in 1.. {
            ticker.tick().await;
            if let Err(error) = patrol_round(&state, round).await {
                tracing::warn!(%error, "demo patrol round failed");
            }
        }
    });
}

pub async fn seed(state: &AppState) -> AppResult<SeedOutcome> {
    let db = &state.db;
    let already = users::Entity::find().filter(users::Column::Email.eq(SUPERVISOR_EMAIL)).one(db).await?.is_some();
    if already {
        return Ok(SeedOutcome::AlreadySeeded);
    }
    let (password, generated) = match &state.config.demo_password {
        Some(p) => {
            validate_password(p.expose())?;
            (p.expose().to_owned(), None)
        }
        None => {
            let p = generate_password();
            (p.clone(), Some(p))
        }
    };
    // One hash for every demo account: they share the demo password.
    let hash = hash_password(&password)?;
    let now = Utc::now().duration_trunc(Duration::minutes(5)).map_err(AppError::internal)?;
    let txn = db.begin().await?;

    let supervisor = insert_user(
        &txn,
        NewUser {
            dni: "30111222".into(),
            first_name: "Laura".into(),
            last_name: "Gómez".into(),
            email: SUPERVISOR_EMAIL.into(),
            role: Role::Supervisor,
            password_hash: Some(hash.clone()),
            telegram_user_id: None,
        },
    )
    .await?;

    let mut officer_ids = Vec::new();
    let mut officer_users = Vec::new();
    for (i, o) in OFFICERS.iter().enumerate() {
        let n = i + 1;
        let user = insert_user(
            &txn,
            NewUser {
                dni: format!("3500000{n}"),
                first_name: o.first.into(),
                last_name: o.last.into(),
                email: format!("efectivo{n}@gad.local"),
                role: Role::Officer,
                password_hash: Some(hash.clone()),
                telegram_user_id: None,
            },
        )
        .await?;
        // Fresh positions (within the last few minutes of the real clock, not the rounded one).
        let seen_at = Utc::now() - Duration::minutes(n as i64);
        let officer = officers::ActiveModel {
            user_id: Set(Some(user.id)),
            code: Set(format!("EF-{n:03}")),
            first_name: Set(o.first.into()),
            last_name: Set(o.last.into()),
            rank: Set(o.rank.into()),
            unit: Set(o.unit.into()),
            specialty: Set(o.specialty.map(Into::into)),
            status: Set(OfficerStatus::Available),
            status_changed_at: Set(now),
            last_lat: Set(Some(o.place.0)),
            last_lon: Set(Some(o.place.1)),
            last_position_at: Set(Some(seen_at)),
            last_position_source: Set(Some(PositionSource::Telegram)),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        // A short track leading to the last position.
        for step in (0..3).rev() {
            officer_positions::ActiveModel {
                officer_id: Set(officer.id),
                lat: Set(o.place.0 - 0.002 * step as f64),
                lon: Set(o.place.1 + 0.0015 * step as f64),
                accuracy_m: Set(Some(12.0)),
                source: Set(PositionSource::Telegram),
                recorded_at: Set(seen_at - Duration::minutes(10 * step)),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
        officer_ids.push(officer.id);
        officer_users.push(user.id);
    }

    let mut on_task = Vec::new();
    for (task_type, priority, title, place, (lat, lon), start_h, hours, assigned, status) in TASKS {
        let start = now + Duration::hours(start_h);
        let end = start + Duration::hours(hours);
        let (actual_start, actual_end, paused_at) = match status {
            TaskStatus::InProgress => (Some(start), None, None),
            TaskStatus::Paused => (Some(start), None, Some(now - Duration::minutes(20))),
            TaskStatus::Completed => (Some(start), Some(end), None),
            _ => (None, None, None),
        };
        let task = tasks::ActiveModel {
            code: Set(next_code(&txn, task_type, start.year()).await?),
            title: Set(title.into()),
            description: Set(Some(format!("{title} ({place}). Dato de demostración."))),
            task_type: Set(task_type),
            priority: Set(priority),
            status: Set(status),
            scheduled_start: Set(Some(start)),
            scheduled_end: Set(Some(end)),
            actual_start: Set(actual_start),
            actual_end: Set(actual_end),
            paused_at: Set(paused_at),
            paused_seconds: Set(0),
            supervisor_id: Set(Some(supervisor.id)),
            created_by: Set(supervisor.id),
            lat: Set(Some(lat)),
            lon: Set(Some(lon)),
            location_text: Set(Some(place.into())),
            notes: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        for &i in assigned {
            task_assignments::ActiveModel {
                task_id: Set(task.id),
                officer_id: Set(officer_ids[i]),
                assigned_at: Set(now),
                assigned_by: Set(Some(supervisor.id)),
                overlap_override: Set(false),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            if matches!(status, TaskStatus::InProgress | TaskStatus::Paused) {
                on_task.push(officer_ids[i]);
            }
        }
        let mut history = vec![(None, TaskStatus::Scheduled)];
        match status {
            TaskStatus::InProgress => history.push((Some(TaskStatus::Scheduled), TaskStatus::InProgress)),
            TaskStatus::Paused => history.extend([
                (Some(TaskStatus::Scheduled), TaskStatus::InProgress),
                (Some(TaskStatus::InProgress), TaskStatus::Paused),
            ]),
            TaskStatus::Completed => history.extend([
                (Some(TaskStatus::Scheduled), TaskStatus::InProgress),
                (Some(TaskStatus::InProgress), TaskStatus::Completed),
            ]),
            _ => {}
        }
        for (from, to) in history {
            task_status_history::ActiveModel {
                task_id: Set(task.id),
                from_status: Set(from),
                to_status: Set(to),
                changed_by: Set(Some(supervisor.id)),
                channel: Set(Channel::System),
                reason: Set(Some("Datos de demostración".into())),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
    }
    // Shifts: everyone on a 12-hour day shift that began an hour ago, every day for two
    // weeks (the calendar shows the nights uncovered); leave: one approved next week, one
    // requested for later.
    let shift_start = now.duration_trunc(Duration::hours(1)).map_err(AppError::internal)? - Duration::hours(1);
    for (i, officer_id) in officer_ids.iter().enumerate() {
        for day in 0..14 {
            let starts_at = shift_start + Duration::days(day);
            shifts::ActiveModel {
                officer_id: Set(*officer_id),
                starts_at: Set(starts_at),
                ends_at: Set(starts_at + Duration::hours(12)),
                series: Set(Some(format!("demo-{}", i + 1))),
                note: Set(None),
                created_by: Set(Some(supervisor.id)),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
    }
    for (n, kind, status, from_day, days) in
        [(5, LeaveKind::Vacation, LeaveStatus::Approved, 7, 4), (3, LeaveKind::Training, LeaveStatus::Requested, 20, 2)]
    {
        let tz = state.config.timezone;
        let first = now.with_timezone(&tz).date_naive() + Duration::days(from_day);
        leaves::ActiveModel {
            officer_id: Set(officer_ids[n]),
            kind: Set(kind),
            starts_at: Set(crate::services::roster::midnight(tz, first)),
            ends_at: Set(crate::services::roster::midnight(tz, first + Duration::days(days))),
            status: Set(status),
            reason: Set(Some("Datos de demostración".into())),
            // Registered approved by the supervisor; the pending one asked by its officer (the
            // supervisor decides it: nobody decides a request of their own).
            requested_by: Set(Some(if status == LeaveStatus::Approved { supervisor.id } else { officer_users[n] })),
            decided_by: Set((status == LeaveStatus::Approved).then_some(supervisor.id)),
            decided_at: Set((status == LeaveStatus::Approved).then_some(now)),
            decision_note: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    if !on_task.is_empty() {
        officers::Entity::update_many()
            .col_expr(officers::Column::Status, sea_orm::sea_query::Expr::value(OfficerStatus::OnTask.as_str()))
            .filter(officers::Column::Id.is_in(on_task))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(SeedOutcome::Seeded { generated_password: generated })
}

/// Synthetic tasks for load tests and benchmarks (`gad seed-demo --tasks N`), on top of the
/// demo data: adds tasks until the database holds at least `total` (idempotent). They spread
/// over the last 60 days and the next 7, across every type and priority, around Buenos Aires:
/// past ones completed (with their officer, times and history) or cancelled, future ones
/// scheduled and unassigned. A fixed seed makes two databases seeded alike hold the same data.
/// Returns how many tasks were added.
pub async fn seed_bulk_tasks(state: &AppState, total: u64) -> AppResult<u64> {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use sea_orm::PaginatorTrait;
    use std::collections::HashMap;

    let db = &state.db;
    let existing = tasks::Entity::find().filter(tasks::Column::DeletedAt.is_null()).count(db).await?;
    if existing >= total {
        return Ok(0);
    }
    let missing = total - existing;
    let supervisor = users::Entity::find()
        .filter(users::Column::Email.eq(SUPERVISOR_EMAIL))
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("the demo data must be seeded before the bulk tasks"))?;
    let officer_ids: Vec<i64> = officers::Entity::find()
        .filter(officers::Column::DeletedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|o| o.id)
        .collect();
    if officer_ids.is_empty() {
        return Err(AppError::internal("no officers to assign the bulk tasks to"));
    }

    let mut rng = StdRng::seed_from_u64(0x6ad0_2026 ^ existing);
    let now = Utc::now().duration_trunc(Duration::minutes(1)).map_err(AppError::internal)?;
    let mut next_seq: HashMap<(TaskType, i32), u32> = HashMap::new();
    let txn = db.begin().await?;
    for n in 0..missing {
        // Progress for the long runs (`gad seed-demo --tasks 1000000`).
        if n > 0 && n % 10_000 == 0 {
            tracing::info!(done = n, of = missing, "seeding synthetic tasks: {}%", n * 100 / missing);
        }
        let task_type = TaskType::ALL[rng.gen_range(0..TaskType::ALL.len())];
        let priority = TaskPriority::ALL[rng.gen_range(0..TaskPriority::ALL.len())];
        // Minutes from now: 60 days back to 7 days ahead.
        let start = now + Duration::minutes(rng.gen_range(-60 * 24 * 60..7 * 24 * 60));
        let hours = rng.gen_range(1..=6);
        let end = start + Duration::hours(hours);
        let year = start.year();
        let seq = match next_seq.get(&(task_type, year)) {
            Some(seq) => *seq,
            None => {
                let code = next_code(&txn, task_type, year).await?;
                code.rsplit('-').next().and_then(|s| s.parse().ok()).unwrap_or(1)
            }
        };
        next_seq.insert((task_type, year), seq + 1);
        let status = if end > now {
            TaskStatus::Scheduled
        } else if rng.gen_bool(0.85) {
            TaskStatus::Completed
        } else {
            TaskStatus::Cancelled
        };
        let paused_seconds = if status == TaskStatus::Completed && rng.gen_bool(0.3) { 600 } else { 0 };
        let (lat, lon) = (-34.70 + rng.gen_range(0.0..0.17), -58.53 + rng.gen_range(0.0..0.20));
        let title = format!("{} de carga #{}", task_type.label_es(), existing + n + 1);
        let task = tasks::ActiveModel {
            code: Set(format!("{}-{year}-{seq:04}", task_type.code_prefix())),
            title: Set(title),
            description: Set(Some("Tarea sintética para pruebas de carga.".into())),
            task_type: Set(task_type),
            priority: Set(priority),
            status: Set(status),
            scheduled_start: Set(Some(start)),
            scheduled_end: Set(Some(end)),
            actual_start: Set((status == TaskStatus::Completed).then_some(start)),
            actual_end: Set((status == TaskStatus::Completed).then_some(end)),
            paused_at: Set(None),
            paused_seconds: Set(paused_seconds),
            supervisor_id: Set(Some(supervisor.id)),
            created_by: Set(supervisor.id),
            lat: Set(Some(lat)),
            lon: Set(Some(lon)),
            location_text: Set(None),
            notes: Set(None),
            created_at: Set(start - Duration::days(1)),
            updated_at: Set(start - Duration::days(1)),
            deleted_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let mut history = vec![(None, TaskStatus::Scheduled, start - Duration::days(1), None)];
        match status {
            TaskStatus::Completed => {
                task_assignments::ActiveModel {
                    task_id: Set(task.id),
                    officer_id: Set(officer_ids[rng.gen_range(0..officer_ids.len())]),
                    assigned_at: Set(start - Duration::days(1)),
                    assigned_by: Set(Some(supervisor.id)),
                    overlap_override: Set(false),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
                history.push((Some(TaskStatus::Scheduled), TaskStatus::InProgress, start, None));
                history.push((Some(TaskStatus::InProgress), TaskStatus::Completed, end, None));
            }
            TaskStatus::Cancelled => history.push((
                Some(TaskStatus::Scheduled),
                TaskStatus::Cancelled,
                start - Duration::hours(2),
                Some("Cancelada (carga de prueba)".to_owned()),
            )),
            _ => {}
        }
        for (from, to, at, reason) in history {
            task_status_history::ActiveModel {
                task_id: Set(task.id),
                from_status: Set(from),
                to_status: Set(to),
                changed_by: Set(Some(supervisor.id)),
                channel: Set(Channel::System),
                reason: Set(reason),
                created_at: Set(at),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
    }
    // The codes above were numbered here: move each prefix's counter past the last one.
    for ((task_type, year), next) in next_seq {
        let last = format!("{}-{year}-{:04}", task_type.code_prefix(), next - 1);
        crate::services::tasks::note_custom_code(&txn, &last).await?;
    }
    txn.commit().await?;
    Ok(missing)
}

//! Emergencies (SPEC §4): a critical `emergency` task at a point, the nearest available
//! officers with a fresh position ranked by distance, and the nearest (or chosen) dispatched
//! with a recorded overlap override — an emergency trumps schedules.

use chrono::Duration;
use serde_json::json;

use crate::actor::Actor;
use crate::db::WriteTxn;
use crate::entities::officers;
use crate::error::{AppError, AppResult};
use crate::meta::AuditMeta;
use crate::permissions::{Capability, require};
use crate::services::audit::{self, AuditEntry};
use crate::services::{geo, tasks as task_service};
use crate::state::AppState;
use crate::validate::{Errors, check_point};
use contract::domain::{AuditSeverity, OfficerStatus, Role, TaskPriority, TaskType};
use contract::emergency::{EmergencyAssign, EmergencyOutcome};
use contract::events::Event;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// Most officers one call dispatches with [`EmergencyAssign::Nearest`].
pub const MAX_NEAREST: u32 = 20;
/// How many candidates are ranked at least.
const RANKED: u64 = 10;
/// Emergencies one reporter who is not a dispatcher may raise in an hour: each one sends an
/// officer off at once, so reports without end would empty the district (and probe it).
pub const REPORTS_PER_HOUR: u64 = 3;
const DESCRIPTION_MAX: usize = 2000;

/// Raises an emergency at (`lat`, `lon`): anyone may report one (the nearest available
/// officer is dispatched); choosing or ranking officers is for supervisors and admins.
pub async fn raise(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    lat: f64,
    lon: f64,
    description: Option<String>,
    assign: EmergencyAssign,
) -> AppResult<EmergencyOutcome> {
    require(actor, Capability::ReportEmergency)?;
    // Anyone may report an emergency, and the dispatcher then sends the nearest available
    // officer (SPEC §4). Choosing whom to send, sending more, or only looking at who is near
    // (which tells where colleagues are) is dispatching: supervisors and admins only. So an
    // officer's report always dispatches the nearest one, and its answer names the task and
    // who was sent, never the ranked candidates with their positions.
    let dispatcher = require(actor, Capability::ManageTasks).is_ok();
    if !dispatcher && assign != EmergencyAssign::Nearest(1) {
        return Err(AppError::Forbidden);
    }
    let description = description.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
    let mut errors = Errors::new();
    check_point(&mut errors, lat, lon);
    if description.as_ref().is_some_and(|d| d.chars().count() > DESCRIPTION_MAX) {
        errors.add("description", "La descripción es demasiado larga.");
    }
    match &assign {
        EmergencyAssign::Nearest(n) if !(1..=MAX_NEAREST).contains(n) => {
            errors.add("assign", "Se pueden despachar entre 1 y 20 efectivos.");
        }
        EmergencyAssign::Officers(ids) if ids.is_empty() => {
            errors.add("assign", "Seleccione al menos un efectivo.");
        }
        EmergencyAssign::Officers(ids) if ids.len() > MAX_NEAREST as usize => {
            errors.add("assign", "Se pueden despachar entre 1 y 20 efectivos.");
        }
        _ => {}
    }
    errors.finish()?;

    let wanted = match assign {
        EmergencyAssign::Nearest(n) => u64::from(n),
        _ => 0,
    };
    let candidates = geo::nearest_available(
        state,
        lat,
        lon,
        state.config.emergency_radius_m,
        Duration::minutes(state.config.position_fresh_minutes),
        wanted.max(RANKED),
    )
    .await?;
    let named: Vec<officers::Model> = match &assign {
        EmergencyAssign::Officers(ids) => {
            let mut seen = std::collections::HashSet::new();
            let ids: Vec<i64> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
            let found = officers_in_order(&state.db, &ids).await?;
            if let Some(missing) = ids.iter().find(|id| !found.iter().any(|o| o.id == **id)) {
                return Err(AppError::validation("assign", &format!("No existe el efectivo con id {missing}.")));
            }
            found
        }
        _ => Vec::new(),
    };

    let at = task_service::now();
    if !dispatcher {
        within_quota(&state.db, actor, at, false).await?;
    }
    let ticket = task_service::take_code(state, TaskType::Emergency, task_service::local_year(state, at)).await?;
    let mut txn = WriteTxn::begin(state).await?;
    txn.leaves_accounts();
    if !dispatcher {
        // Again under the reporter's lock: reports sent together are counted in turn.
        within_quota(&*txn, actor, at, true).await?;
    }
    let code = ticket.code(&txn).await?;
    let chosen = match &assign {
        EmergencyAssign::Nearest(n) => still_available(&txn, &candidates, *n as usize).await?,
        _ => named,
    };
    let title = match &description {
        Some(d) => {
            let short: String = d.chars().take(120).collect();
            format!("Emergencia: {short}")
        }
        None => "Emergencia reportada".to_owned(),
    };
    let officer_ids: Vec<i64> = chosen.iter().map(|o| o.id).collect();
    let mut reason = format!("Emergencia reportada ({}).", actor.channel.label_es());
    if !chosen.is_empty() {
        reason = format!("{reason} {}.", task_service::override_note(&chosen));
    }
    let row = task_service::TaskRow {
        code,
        title,
        description: description.clone(),
        task_type: TaskType::Emergency,
        priority: TaskPriority::Critical,
        scheduled_start: Some(at),
        scheduled_end: None,
        supervisor_id: (actor.role == Role::Supervisor).then_some(actor.user_id),
        lat: Some(lat),
        lon: Some(lon),
        // The point is the place (lat/lon, the map, the bot's pin): no coordinates written out
        // as if they were an address.
        location_text: None,
        notes: None,
    };
    let task = task_service::insert_task(&txn, actor, row, &officer_ids, true, Some(reason), at).await?;
    // Dispatched is busy: the officers go `on_task` now, so the next emergency sends someone
    // else (they are freed when this one is finished or cancelled, or they are taken off it).
    let occupied = task_service::occupy_officers(&mut txn, task_service::Occupying::These(&officer_ids), at).await?;
    let ranked: Vec<serde_json::Value> =
        candidates.iter().map(|c| json!({ "officer_id": c.officer_id, "distance_m": c.distance_m.round() })).collect();
    let entry = AuditEntry {
        severity: AuditSeverity::Critical,
        ..AuditEntry::new("emergency.raise", "task", task.id).after(json!({
            "code": task.code,
            "lat": lat,
            "lon": lon,
            "description": description,
            "candidates": ranked,
            "assigned_officer_ids": officer_ids,
            "on_task_officer_ids": occupied,
            "overlap_override": !officer_ids.is_empty(),
        }))
    };
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.emit(Event::EmergencyCreated {
        task_id: task.id,
        code: task.code.clone(),
        lat,
        lon,
        officer_ids: officer_ids.clone(),
    });
    if !officer_ids.is_empty() {
        txn.emit(Event::TaskAssigned { task_id: task.id, code: task.code.clone(), officer_ids: officer_ids.clone() });
    }
    let task = task_service::load_detail(state, txn.flushed().await?, actor, task).await?;
    txn.commit().await?;
    // Committed: from here the emergency exists, and an error would have its reporter raise it
    // again. The explanation is a courtesy; without it the answer says so plainly.
    let not_dispatched = if officer_ids.is_empty() && wanted > 0 {
        Some(why_nobody(state, lat, lon, dispatcher).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "why nobody was dispatched not read");
            format!(
                "No hay efectivos disponibles a menos de {}.",
                contract::format::distance(state.config.emergency_radius_m)
            )
        }))
    } else {
        None
    };
    let candidates = if dispatcher { candidates } else { Vec::new() };
    Ok(EmergencyOutcome { task, candidates, assigned_officer_ids: officer_ids, not_dispatched })
}

/// Why nearest-officer dispatch found nobody, in the words the map uses: no available officer
/// within the radius at all, or the nearest one without a recent position (named only to
/// dispatchers: where colleagues are is theirs to see).
async fn why_nobody(state: &AppState, lat: f64, lon: f64, dispatcher: bool) -> AppResult<String> {
    let radius = contract::format::distance(state.config.emergency_radius_m);
    let fresh = state.config.position_fresh_minutes;
    let nearest = geo::nearest_available_any_age(state, lat, lon, state.config.emergency_radius_m).await?;
    Ok(match nearest {
        None => format!("No hay efectivos disponibles con posición conocida a menos de {radius}."),
        Some(o) => {
            let age = contract::format::stale_position((chrono::Utc::now() - o.position_at).num_seconds());
            if dispatcher {
                format!(
                    "No hay efectivos disponibles con posición de los últimos {fresh} min a menos de {radius}: \
                     el más cercano, {} ({}), está {age}.",
                    o.code, o.name
                )
            } else {
                format!("No hay efectivos disponibles con posición de los últimos {fresh} min a menos de {radius}.")
            }
        }
    })
}

/// Refuses a report beyond [`REPORTS_PER_HOUR`] of the reporter's in the hour before `at`;
/// with `lock`, the reporter's row is locked first (on PostgreSQL) so concurrent reports
/// count one after the other.
async fn within_quota(
    db: &impl ConnectionTrait,
    actor: &Actor,
    at: chrono::DateTime<chrono::Utc>,
    lock: bool,
) -> AppResult<()> {
    use crate::entities::{tasks, users};
    use sea_orm::PaginatorTrait;
    if lock {
        users::Entity::find_by_id(actor.user_id).lock(sea_orm::sea_query::LockType::NoKeyUpdate).one(db).await?;
    }
    let recent = tasks::Entity::find()
        .filter(tasks::Column::CreatedBy.eq(actor.user_id))
        .filter(tasks::Column::TaskType.eq(TaskType::Emergency))
        .filter(tasks::Column::CreatedAt.gt(at - Duration::hours(1)))
        .count(db)
        .await?;
    if recent >= REPORTS_PER_HOUR {
        return Err(AppError::Refused(format!(
            "Ya reportó {REPORTS_PER_HOUR} emergencias en la última hora: comuníquese con su supervisor por radio."
        )));
    }
    Ok(())
}

/// The officers with these ids that are not deleted, in the order of `ids`.
async fn officers_in_order(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<Vec<officers::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found = officers::Entity::find()
        .filter(officers::Column::Id.is_in(ids.to_vec()))
        .filter(officers::Column::DeletedAt.is_null())
        .all(db)
        .await?;
    Ok(ids.iter().filter_map(|id| found.iter().find(|o| o.id == *id).cloned()).collect())
}

/// The first `wanted` of the ranked candidates that are still available, read under lock.
/// They were ranked before the transaction, and another emergency may have sent some of them
/// meanwhile: the candidates' rows are locked (on PostgreSQL, in id order, so two emergencies
/// near each other cannot deadlock), and whoever went `on_task` since is passed over.
async fn still_available(
    txn: &WriteTxn,
    candidates: &[contract::geo::NearbyOfficer],
    wanted: usize,
) -> AppResult<Vec<officers::Model>> {
    let ids: Vec<i64> = candidates.iter().map(|c| c.officer_id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let locked = officers::Entity::find()
        .filter(officers::Column::Id.is_in(ids.clone()))
        .filter(officers::Column::DeletedAt.is_null())
        .order_by_asc(officers::Column::Id)
        .lock_exclusive()
        .all(&**txn)
        .await?;
    Ok(ids
        .iter()
        .filter_map(|id| locked.iter().find(|o| o.id == *id && o.status == OfficerStatus::Available).cloned())
        .take(wanted)
        .collect())
}

//! Shifts and leave (turnos y licencias), and the availability derived from them.
//!
//! An officer with shifts on record (one ending in the last [`ROSTER_LOOKBACK_DAYS`] days or
//! later) is on duty only during a shift; one with none has no roster, and their status alone
//! says whether they are available. Approved leave covering an instant takes anyone off duty.
//! Dispatch ([`crate::services::geo`]), the assignment editor, the map and the officers list
//! all ask here ([`duty_at`], or [`pg_on_duty_sql`] inside PostGIS queries).
//!
//! Permissions: supervisors and admins plan shifts and register leave for anyone
//! ([`Capability::ManageShifts`]) and decide requests ([`Capability::DecideLeave`]); an
//! officer reads their own shifts and leave and requests leave for themselves
//! ([`Capability::RequestOwnLeave`]); the week calendar needs [`Capability::SeeOfficers`].

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, SubsecRound, TimeZone, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::json;

use crate::actor::Actor;
use crate::db::WriteTxn;
use crate::entities::{leaves, officers, shifts, users};
use crate::error::{AppError, AppResult};
use crate::meta::AuditMeta;
use crate::permissions::{Capability, require};
use crate::services::audit::{self, AuditEntry};
use crate::services::day_in_range;
use crate::state::AppState;
use crate::validate::{Errors, check_len};
use contract::domain::{Duty, LeaveStatus};
use contract::roster::{
    DayLeave, Leave, LeaveDecision, LeaveInput, RosterDay, RosterRow, RosterWeek, Shift, ShiftInput, ShiftsCreated,
    TimeSpan,
};

/// Shifts ending this long ago or later make an officer "rostered".
pub const ROSTER_LOOKBACK_DAYS: i64 = 7;
/// Longest recurring pattern written out at once.
pub const MAX_SERIES_DAYS: i64 = 92;
/// Longest leave.
pub const MAX_LEAVE_DAYS: i64 = 366;
pub const MAX_NOTE_CHARS: usize = 200;
pub const MAX_REASON_CHARS: usize = 500;
/// Most officers in one week's calendar.
const MAX_ROSTER_OFFICERS: u64 = 500;

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

// ----------------------------------------------------------------------------- availability

/// Each officer's duty at `at` (officers without shifts or leave: [`Duty::NoRoster`]).
pub async fn duty_at(db: &impl ConnectionTrait, ids: &[i64], at: DateTime<Utc>) -> AppResult<HashMap<i64, Duty>> {
    let mut out: HashMap<i64, Duty> = ids.iter().map(|id| (*id, Duty::NoRoster)).collect();
    if ids.is_empty() {
        return Ok(out);
    }
    let recent: Vec<(i64, DateTime<Utc>, DateTime<Utc>)> = shifts::Entity::find()
        .select_only()
        .columns([shifts::Column::OfficerId, shifts::Column::StartsAt, shifts::Column::EndsAt])
        .filter(shifts::Column::OfficerId.is_in(ids.to_vec()))
        .filter(shifts::Column::EndsAt.gte(at - Duration::days(ROSTER_LOOKBACK_DAYS)))
        .into_tuple()
        .all(db)
        .await?;
    for (officer, starts, ends) in recent {
        let on = starts <= at && at < ends;
        let entry = out.entry(officer).or_insert(Duty::NoRoster);
        if on {
            *entry = Duty::OnShift;
        } else if *entry == Duty::NoRoster {
            *entry = Duty::OffShift;
        }
    }
    let away: Vec<i64> = leaves::Entity::find()
        .select_only()
        .column(leaves::Column::OfficerId)
        .filter(leaves::Column::OfficerId.is_in(ids.to_vec()))
        .filter(leaves::Column::Status.eq(LeaveStatus::Approved))
        .filter(leaves::Column::StartsAt.lte(at))
        .filter(leaves::Column::EndsAt.gt(at))
        .into_tuple()
        .all(db)
        .await?;
    for officer in away {
        out.insert(officer, Duty::OnLeave);
    }
    Ok(out)
}

/// [`duty_at`] in SQL, as a column: the duty (a [`Duty`] string) of the officer whose id is
/// `officer`, at the bound instants `now` and `since` (now minus [`ROSTER_LOOKBACK_DAYS`]).
/// The map's and dispatch's PostGIS queries select it, so their officers' duty costs no
/// statement of its own.
///
/// Scalar subqueries (a count, an aggregate over the officer's recent shifts), not `EXISTS`:
/// PostgreSQL may run an `EXISTS` as a hash of every matching row of the whole table, built
/// before the first officer is read — every shift on now, 25 000 rows at 100 000 officers
/// with a roster, 30 ms per search. These stay two index probes per officer read.
pub fn pg_duty_sql(officer: &str, now: &str, since: &str) -> String {
    format!(
        "(CASE WHEN (SELECT count(*) FROM leaves l WHERE l.officer_id = {officer} AND l.status = 'approved' \
         AND l.starts_at <= {now} AND l.ends_at > {now}) > 0 THEN 'on_leave' \
         ELSE (SELECT CASE WHEN bool_or(s.starts_at <= {now} AND s.ends_at > {now}) THEN 'on_shift' \
         WHEN count(*) > 0 THEN 'off_shift' ELSE 'no_roster' END \
         FROM shifts s WHERE s.officer_id = {officer} AND s.ends_at >= {since}) END)"
    )
}

/// The same rule as a condition over a duty column ([`pg_duty_sql`]): on duty
/// ([`Duty::on_duty`]).
pub fn pg_on_duty_sql(duty: &str) -> String {
    format!("{duty} IN ('no_roster', 'on_shift')")
}

/// The approved leave of each of `ids` overlapping `[from, to)`.
pub async fn leave_during(
    db: &impl ConnectionTrait,
    ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<leaves::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(leaves::Entity::find()
        .filter(leaves::Column::OfficerId.is_in(ids.to_vec()))
        .filter(leaves::Column::Status.eq(LeaveStatus::Approved))
        .filter(leaves::Column::StartsAt.lt(to))
        .filter(leaves::Column::EndsAt.gt(from))
        .order_by_asc(leaves::Column::StartsAt)
        .all(db)
        .await?)
}

/// "Vacaciones del 10/12 al 20/12/2026": a leave in words.
pub fn leave_words(state: &AppState, leave: &leaves::Model) -> String {
    let (first, last) = days_of(state.config.timezone, leave);
    format!("{} del {} al {}", leave.kind.label_es(), first.format("%d/%m"), last.format("%d/%m/%Y"))
}

/// Refuses to put officers on a task over `[from, to)` while on approved leave (the caller
/// skips this when a supervisor overrides, as for overlapping tasks).
pub async fn refuse_leave(
    state: &AppState,
    db: &impl ConnectionTrait,
    officers: &[officers::Model],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<()> {
    let ids: Vec<i64> = officers.iter().map(|o| o.id).collect();
    let Some(leave) = leave_during(db, &ids, from, to).await?.into_iter().next() else { return Ok(()) };
    let who = officers.iter().find(|o| o.id == leave.officer_id).map(|o| format!("{} {}", o.code, officer_name(o)));
    Err(AppError::Conflict(format!(
        "{} está de licencia durante la tarea ({}). Para asignarlo igualmente, confirme la asignación con superposición.",
        who.unwrap_or_default(),
        leave_words(state, &leave)
    )))
}

// ------------------------------------------------------------------------------------ shifts

fn officer_name(o: &officers::Model) -> String {
    format!("{} {}", o.first_name, o.last_name)
}

fn shift_dto(s: shifts::Model, o: &officers::Model) -> Shift {
    Shift {
        id: s.id,
        officer_id: s.officer_id,
        officer_code: o.code.clone(),
        officer_name: officer_name(o),
        starts_at: s.starts_at,
        ends_at: s.ends_at,
        series: s.series,
        note: s.note,
    }
}

async fn live_officer(db: &impl ConnectionTrait, id: i64) -> AppResult<officers::Model> {
    officers::Entity::find_by_id(id)
        .filter(officers::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(|| AppError::validation("officer_id", "El efectivo no existe."))
}

/// The shifts a request describes: one, or the pattern's until the end of `until`.
pub fn expand(
    tz: chrono_tz::Tz,
    starts_at: DateTime<Utc>,
    on_hours: u32,
    repeat: Option<(u32, NaiveDate)>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let on = Duration::hours(i64::from(on_hours));
    let Some((off_hours, until)) = repeat else { return vec![(starts_at, starts_at + on)] };
    let cycle = on + Duration::hours(i64::from(off_hours));
    let mut out = Vec::new();
    let mut start = starts_at;
    while start.with_timezone(&tz).date_naive() <= until {
        out.push((start, start + on));
        start += cycle;
    }
    out
}

/// Plans one shift or a recurring pattern for an officer, refusing any that overlaps one
/// already planned.
pub async fn create_shifts(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    input: ShiftInput,
) -> AppResult<ShiftsCreated> {
    require(actor, Capability::ManageShifts)?;
    let tz = state.config.timezone;
    let mut errors = Errors::new();
    let starts_at = input.starts_at.trunc_subsecs(0);
    if !day_in_range(starts_at.date_naive()) {
        errors.add("starts_at", crate::services::DAY_OUT_OF_RANGE);
    }
    if !(1..=24).contains(&input.on_hours) {
        errors.add("on_hours", "Las horas de cada turno deben estar entre 1 y 24.");
    }
    let note = input.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    check_len(&mut errors, "note", note.as_deref(), MAX_NOTE_CHARS, "La nota no puede superar los 200 caracteres.");
    if let Some(repeat) = &input.repeat {
        if !(1..=336).contains(&repeat.off_hours) {
            errors.add("off_hours", "Las horas de descanso deben estar entre 1 y 336.");
        }
        // Only a start within the years allowed is taken to the local calendar (chrono panics
        // at the edge of its own range).
        let first_day =
            if day_in_range(starts_at.date_naive()) { starts_at.with_timezone(&tz).date_naive() } else { repeat.until };
        if repeat.until < first_day {
            errors.add("until", "La repetición debe terminar después del primer turno.");
        } else if repeat.until - first_day > Duration::days(MAX_SERIES_DAYS) {
            errors.add("until", "Un esquema se carga por hasta 92 días; cargue el resto después.");
        }
    }
    let officer = live_officer(&state.db, input.officer_id).await;
    if let Err(AppError::Validation(e)) = &officer {
        for f in e {
            errors.add(&f.field, f.message.clone());
        }
    }
    errors.finish()?;
    let officer = officer?;
    let planned = expand(tz, starts_at, input.on_hours, input.repeat.as_ref().map(|r| (r.off_hours, r.until)));
    let (Some(first), Some(last)) = (planned.first(), planned.last()) else {
        return Err(AppError::validation("until", "La repetición no genera ningún turno."));
    };

    let txn = WriteTxn::begin(state).await?;
    lock_officer(&txn, officer.id).await?;
    let existing = shifts::Entity::find()
        .filter(shifts::Column::OfficerId.eq(officer.id))
        .filter(shifts::Column::EndsAt.gt(first.0))
        .filter(shifts::Column::StartsAt.lt(last.1))
        .order_by_asc(shifts::Column::StartsAt)
        .all(&*txn)
        .await?;
    if let Some(clash) = existing.iter().find(|e| planned.iter().any(|(s, t)| e.starts_at < *t && *s < e.ends_at)) {
        let (a, b) = (clash.starts_at.with_timezone(&tz), clash.ends_at.with_timezone(&tz));
        return Err(AppError::validation(
            "starts_at",
            &format!(
                "Se superpone con un turno ya cargado de {} ({} a {}).",
                officer.code,
                a.format("%d/%m %H:%M"),
                b.format("%d/%m %H:%M")
            ),
        ));
    }
    let series = (planned.len() > 1 || input.repeat.is_some()).then(|| {
        use rand::RngCore;
        let mut bytes = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        hex::encode(bytes)
    });
    let at = now();
    let mut created = Vec::with_capacity(planned.len());
    for (s, e) in &planned {
        let row = shifts::ActiveModel {
            officer_id: Set(officer.id),
            starts_at: Set(*s),
            ends_at: Set(*e),
            series: Set(series.clone()),
            note: Set(note.clone()),
            created_by: Set(Some(actor.user_id)),
            created_at: Set(at),
            ..Default::default()
        }
        .insert(&*txn)
        .await?;
        created.push(row);
    }
    let entry = AuditEntry::new("shift.create", "officer", officer.id).after(json!({
        "officer_code": officer.code,
        "shifts": created.len(),
        "first_start": first.0,
        "last_end": last.1,
        "on_hours": input.on_hours,
        "off_hours": input.repeat.as_ref().map(|r| r.off_hours),
        "series": series,
    }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.commit().await?;
    Ok(ShiftsCreated { series, shifts: created.into_iter().map(|s| shift_dto(s, &officer)).collect() })
}

/// Removes a shift, or with `whole_series` every shift of its pattern that has not ended yet.
/// Returns how many were removed.
pub async fn delete_shift(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    id: i64,
    whole_series: bool,
) -> AppResult<u64> {
    require(actor, Capability::ManageShifts)?;
    let txn = WriteTxn::begin(state).await?;
    let shift = shifts::Entity::find_by_id(id).one(&*txn).await?.ok_or(AppError::NotFound)?;
    let removed = match (&shift.series, whole_series) {
        (Some(series), true) => {
            shifts::Entity::delete_many()
                .filter(shifts::Column::Series.eq(series.clone()))
                .filter(shifts::Column::EndsAt.gt(now()))
                .exec(&*txn)
                .await?
                .rows_affected
        }
        _ => shifts::Entity::delete_by_id(id).exec(&*txn).await?.rows_affected,
    };
    let entry = AuditEntry::new("shift.delete", "officer", shift.officer_id).before(json!({
        "shift_id": shift.id,
        "starts_at": shift.starts_at,
        "ends_at": shift.ends_at,
        "series": shift.series,
        "whole_series": whole_series,
        "removed": removed,
    }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.commit().await?;
    Ok(removed)
}

/// An officer's shifts overlapping `[from, to)`, oldest first: their own, or anyone's with
/// [`Capability::SeeOfficers`]. `officer_id: None` is the caller's own profile.
pub async fn shifts_of(
    state: &AppState,
    actor: &Actor,
    officer_id: Option<i64>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<Shift>> {
    let officer_id = own_or_seen(actor, officer_id)?;
    if !day_in_range(from.date_naive()) || !day_in_range(to.date_naive()) {
        return Err(AppError::validation("from", crate::services::DAY_OUT_OF_RANGE));
    }
    if to <= from || to - from > Duration::days(MAX_SERIES_DAYS) {
        return Err(AppError::validation("to", "El intervalo debe ser positivo y de hasta 92 días."));
    }
    let officer = officers::Entity::find_by_id(officer_id)
        .filter(officers::Column::DeletedAt.is_null())
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let rows = shifts::Entity::find()
        .filter(shifts::Column::OfficerId.eq(officer_id))
        .filter(shifts::Column::EndsAt.gt(from))
        .filter(shifts::Column::StartsAt.lt(to))
        .order_by_asc(shifts::Column::StartsAt)
        .all(&state.db)
        .await?;
    Ok(rows.into_iter().map(|s| shift_dto(s, &officer)).collect())
}

/// The officer the caller asks about: their own (`None` or their id), or any with
/// [`Capability::SeeOfficers`].
fn own_or_seen(actor: &Actor, officer_id: Option<i64>) -> AppResult<i64> {
    match (officer_id, actor.officer_id) {
        (None, Some(own)) => Ok(own),
        (None, None) => {
            Err(AppError::validation("officer_id", "Su usuario no está vinculado a un perfil de efectivo."))
        }
        (Some(id), own) if own == Some(id) => Ok(id),
        (Some(id), _) => require(actor, Capability::SeeOfficers).map(|()| id),
    }
}

// ------------------------------------------------------------------------------------- leave

/// The local days a leave covers (its last day is the one before `ends_at`'s midnight).
fn days_of(tz: chrono_tz::Tz, l: &leaves::Model) -> (NaiveDate, NaiveDate) {
    let first = l.starts_at.with_timezone(&tz).date_naive();
    let last = (l.ends_at - Duration::seconds(1)).with_timezone(&tz).date_naive();
    (first, last)
}

/// Local midnight of `day` in `tz` (the first instant of the day where midnight is skipped).
pub fn midnight(tz: chrono_tz::Tz, day: NaiveDate) -> DateTime<Utc> {
    (0..24)
        .find_map(|h| tz.from_local_datetime(&day.and_time(NaiveTime::MIN + Duration::hours(h))).earliest())
        .map_or_else(|| Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN)), |t| t.with_timezone(&Utc))
}

async fn leave_dto(state: &AppState, db: &impl ConnectionTrait, l: leaves::Model) -> AppResult<Leave> {
    let officer = officers::Entity::find_by_id(l.officer_id).one(db).await?.ok_or(AppError::NotFound)?;
    let decided_by = match l.decided_by {
        Some(id) => users::Entity::find_by_id(id).one(db).await?.map(|u| format!("{} {}", u.first_name, u.last_name)),
        None => None,
    };
    let (first_day, last_day) = days_of(state.config.timezone, &l);
    Ok(Leave {
        id: l.id,
        officer_id: l.officer_id,
        officer_code: officer.code.clone(),
        officer_name: officer_name(&officer),
        kind: l.kind,
        first_day,
        last_day,
        status: l.status,
        reason: l.reason,
        decided_by,
        decided_at: l.decided_at,
        decision_note: l.decision_note,
        created_at: l.created_at,
    })
}

/// Locks the officer's row for the rest of the transaction: the overlap checks of shifts and
/// leave read, then insert, so two writes for one officer take turns (PostgreSQL; SQLite has
/// one writer at a time anyway).
async fn lock_officer(txn: &WriteTxn, officer_id: i64) -> AppResult<()> {
    officers::Entity::find_by_id(officer_id).lock_exclusive().one(&**txn).await?;
    Ok(())
}

/// Requests leave for the caller's own officer profile, or (supervisors) registers it for any
/// officer, approved at once. Refused when it overlaps the officer's other leave that is
/// requested or approved.
pub async fn request_leave(state: &AppState, actor: &Actor, meta: &AuditMeta, input: LeaveInput) -> AppResult<Leave> {
    let own = input.officer_id.is_none() || input.officer_id == actor.officer_id;
    let officer_id = if own {
        require(actor, Capability::RequestOwnLeave)?;
        crate::services::officers::own_officer_id(actor)?
    } else {
        require(actor, Capability::ManageShifts)?;
        input.officer_id.unwrap_or_default()
    };
    // A supervisor's registration is a decision already.
    let approve_now = require(actor, Capability::ManageShifts).is_ok() && !own;
    let mut errors = Errors::new();
    if !day_in_range(input.first_day) || !day_in_range(input.last_day) {
        errors.add("first_day", crate::services::DAY_OUT_OF_RANGE);
    } else if input.last_day < input.first_day {
        errors.add("last_day", "El último día no puede ser anterior al primero.");
    } else if (input.last_day - input.first_day).num_days() >= MAX_LEAVE_DAYS {
        errors.add("last_day", "Una licencia puede durar hasta 366 días.");
    }
    let reason = input.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned);
    check_len(
        &mut errors,
        "reason",
        reason.as_deref(),
        MAX_REASON_CHARS,
        "El motivo no puede superar los 500 caracteres.",
    );
    let officer = live_officer(&state.db, officer_id).await;
    if let Err(AppError::Validation(e)) = &officer {
        for f in e {
            errors.add(&f.field, f.message.clone());
        }
    }
    errors.finish()?;
    let officer = officer?;
    let tz = state.config.timezone;
    let (starts_at, ends_at) = (midnight(tz, input.first_day), midnight(tz, input.last_day + Duration::days(1)));

    let txn = WriteTxn::begin(state).await?;
    lock_officer(&txn, officer.id).await?;
    let clash = leaves::Entity::find()
        .filter(leaves::Column::OfficerId.eq(officer.id))
        .filter(leaves::Column::Status.is_in([LeaveStatus::Requested, LeaveStatus::Approved]))
        .filter(leaves::Column::StartsAt.lt(ends_at))
        .filter(leaves::Column::EndsAt.gt(starts_at))
        .one(&*txn)
        .await?;
    if let Some(clash) = clash {
        let (first, last) = days_of(state.config.timezone, &clash);
        return Err(AppError::validation(
            "first_day",
            &format!(
                "Se superpone con otra licencia de {} ({}, {} al {}).",
                officer.code,
                clash.status.label_es().to_lowercase(),
                first.format("%d/%m"),
                last.format("%d/%m/%Y")
            ),
        ));
    }
    let at = now();
    let row = leaves::ActiveModel {
        officer_id: Set(officer.id),
        kind: Set(input.kind),
        starts_at: Set(starts_at),
        ends_at: Set(ends_at),
        status: Set(if approve_now { LeaveStatus::Approved } else { LeaveStatus::Requested }),
        reason: Set(reason),
        requested_by: Set(Some(actor.user_id)),
        decided_by: Set(approve_now.then_some(actor.user_id)),
        decided_at: Set(approve_now.then_some(at)),
        decision_note: Set(None),
        created_at: Set(at),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    let entry = AuditEntry::new("leave.request", "leave", row.id).after(json!({
        "officer_code": officer.code,
        "kind": row.kind,
        "first_day": input.first_day,
        "last_day": input.last_day,
        "status": row.status,
    }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    // The answer is read in the transaction, before the commit: after it, a failed read would
    // answer an error for work that was done (and its retry would do it twice).
    let answer = leave_dto(state, &*txn, row).await?;
    txn.commit().await?;
    Ok(answer)
}

/// Approves or rejects a requested leave: someone else's, never the caller's own.
pub async fn decide_leave(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    id: i64,
    decision: LeaveDecision,
) -> AppResult<Leave> {
    require(actor, Capability::DecideLeave)?;
    let note = decision.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    let mut errors = Errors::new();
    check_len(&mut errors, "note", note.as_deref(), MAX_REASON_CHARS, "La nota no puede superar los 500 caracteres.");
    errors.finish()?;
    let txn = WriteTxn::begin(state).await?;
    let leave = leaves::Entity::find_by_id(id).lock_exclusive().one(&*txn).await?.ok_or(AppError::NotFound)?;
    // Nobody decides their own leave (a supervisor's own request waits for someone else).
    if actor.officer_id == Some(leave.officer_id) || leave.requested_by == Some(actor.user_id) {
        return Err(AppError::Refused("No puede decidir su propia licencia: debe decidirla otro supervisor.".into()));
    }
    if leave.status != LeaveStatus::Requested {
        return Err(AppError::Conflict(format!("La licencia ya fue {}.", leave.status.label_es().to_lowercase())));
    }
    let status = if decision.approve { LeaveStatus::Approved } else { LeaveStatus::Rejected };
    let mut model: leaves::ActiveModel = leave.clone().into();
    model.status = Set(status);
    model.decided_by = Set(Some(actor.user_id));
    model.decided_at = Set(Some(now()));
    model.decision_note = Set(note);
    let row = model.update(&*txn).await?;
    let entry = AuditEntry::new(if decision.approve { "leave.approve" } else { "leave.reject" }, "leave", id)
        .before(json!({ "status": leave.status }))
        .after(json!({ "status": status, "note": row.decision_note }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    // The answer is read in the transaction, before the commit: after it, a failed read would
    // answer an error for work that was done (and its retry would do it twice).
    let answer = leave_dto(state, &*txn, row).await?;
    txn.commit().await?;
    Ok(answer)
}

/// Withdraws a leave: the officer their own (requested or approved, not yet over), a
/// supervisor anyone's.
pub async fn cancel_leave(state: &AppState, actor: &Actor, meta: &AuditMeta, id: i64) -> AppResult<Leave> {
    let txn = WriteTxn::begin(state).await?;
    // Locked: a decision and a cancellation racing see each other's outcome.
    let leave = leaves::Entity::find_by_id(id).lock_exclusive().one(&*txn).await?.ok_or(AppError::NotFound)?;
    // Its requester withdraws a request not decided yet (a decided one is not theirs alone: a
    // supervisor who registered a colleague's leave and was then demoted cancels nothing).
    let own_request = leave.requested_by == Some(actor.user_id) && leave.status == LeaveStatus::Requested;
    if actor.officer_id == Some(leave.officer_id) || own_request {
        require(actor, Capability::RequestOwnLeave)?;
    } else if require(actor, Capability::SeeOfficers).is_err() {
        // A colleague's leave does not exist for an officer: ids reveal nothing.
        return Err(AppError::NotFound);
    } else {
        require(actor, Capability::DecideLeave)?;
    }
    if !matches!(leave.status, LeaveStatus::Requested | LeaveStatus::Approved) || leave.ends_at <= now() {
        return Err(AppError::Conflict("Solo se anula una licencia solicitada o aprobada que no terminó.".into()));
    }
    let mut model: leaves::ActiveModel = leave.clone().into();
    model.status = Set(LeaveStatus::Cancelled);
    let row = model.update(&*txn).await?;
    let entry = AuditEntry::new("leave.cancel", "leave", id)
        .before(json!({ "status": leave.status }))
        .after(json!({ "status": LeaveStatus::Cancelled }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    // The answer is read in the transaction, before the commit: after it, a failed read would
    // answer an error for work that was done (and its retry would do it twice).
    let answer = leave_dto(state, &*txn, row).await?;
    txn.commit().await?;
    Ok(answer)
}

/// Leave, newest first: the caller's own (officers), or anyone's with
/// [`Capability::SeeOfficers`] (`officer_id` narrows it, `status` too). At most 200.
pub async fn list_leaves(
    state: &AppState,
    actor: &Actor,
    officer_id: Option<i64>,
    status: Option<LeaveStatus>,
) -> AppResult<Vec<Leave>> {
    let officer_id = match officer_id {
        Some(id) => Some(own_or_seen(actor, Some(id))?),
        None if require(actor, Capability::SeeOfficers).is_ok() => None,
        None => Some(own_or_seen(actor, None)?),
    };
    let mut query = leaves::Entity::find();
    if let Some(id) = officer_id {
        query = query.filter(leaves::Column::OfficerId.eq(id));
    }
    if let Some(status) = status {
        query = query.filter(leaves::Column::Status.eq(status));
    }
    let rows = query
        .order_by_desc(leaves::Column::StartsAt)
        .order_by_desc(leaves::Column::Id)
        .limit(200)
        .all(&state.db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(leave_dto(state, &state.db, row).await?);
    }
    Ok(out)
}

// -------------------------------------------------------------------------------- the week

/// The Monday of `day`'s week.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// `HH:MM` of `at` in `tz`, `24:00` when it is the end of `day`.
fn clock(tz: chrono_tz::Tz, at: DateTime<Utc>, day_end: DateTime<Utc>) -> String {
    if at >= day_end { "24:00".into() } else { at.with_timezone(&tz).format("%H:%M").to_string() }
}

/// The week of `day` for `unit` (every unit when `None`): each officer's shifts and leave per
/// day, and per day the times nobody of the unit is on shift (officers on approved leave do
/// not count).
pub async fn week(state: &AppState, actor: &Actor, unit: Option<String>, day: NaiveDate) -> AppResult<RosterWeek> {
    require(actor, Capability::SeeOfficers)?;
    if !day_in_range(day) {
        return Err(AppError::validation("week", crate::services::DAY_OUT_OF_RANGE));
    }
    let tz = state.config.timezone;
    let unit = unit.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
    if unit.as_ref().is_some_and(|u| u.chars().count() > 100) {
        return Err(AppError::validation("unit", "La unidad admite hasta 100 caracteres."));
    }
    let week_start = monday_of(day);
    let days: Vec<NaiveDate> = (0..7).map(|i| week_start + Duration::days(i)).collect();
    let bounds: Vec<DateTime<Utc>> = (0..8).map(|i| midnight(tz, week_start + Duration::days(i))).collect();
    let (from, to) = (bounds[0], bounds[7]);

    let units: BTreeSet<String> = officers::Entity::find()
        .select_only()
        .column(officers::Column::Unit)
        .filter(officers::Column::DeletedAt.is_null())
        .distinct()
        .into_tuple::<String>()
        .all(&state.db)
        .await?
        .into_iter()
        .collect();
    let mut query = officers::Entity::find().filter(officers::Column::DeletedAt.is_null());
    if let Some(unit) = &unit {
        query = query.filter(officers::Column::Unit.eq(unit.clone()));
    }
    let people = query.order_by_asc(officers::Column::Code).limit(MAX_ROSTER_OFFICERS).all(&state.db).await?;
    let ids: Vec<i64> = people.iter().map(|o| o.id).collect();
    let week_shifts = if ids.is_empty() {
        Vec::new()
    } else {
        shifts::Entity::find()
            .filter(shifts::Column::OfficerId.is_in(ids.clone()))
            .filter(shifts::Column::EndsAt.gt(from))
            .filter(shifts::Column::StartsAt.lt(to))
            .order_by_asc(shifts::Column::StartsAt)
            .all(&state.db)
            .await?
    };
    let week_leaves = if ids.is_empty() {
        Vec::new()
    } else {
        leaves::Entity::find()
            .filter(leaves::Column::OfficerId.is_in(ids.clone()))
            .filter(leaves::Column::Status.is_in([LeaveStatus::Requested, LeaveStatus::Approved]))
            .filter(leaves::Column::EndsAt.gt(from))
            .filter(leaves::Column::StartsAt.lt(to))
            .all(&state.db)
            .await?
    };
    let duty = duty_at(&state.db, &ids, now()).await?;

    // Per day, the covered intervals (for the gaps).
    let mut covered: Vec<Vec<(DateTime<Utc>, DateTime<Utc>)>> = vec![Vec::new(); 7];
    let mut rows = Vec::with_capacity(people.len());
    for o in &people {
        let mut row_days = vec![RosterDay::default(); 7];
        for (i, d) in row_days.iter_mut().enumerate() {
            let (day_start, day_end) = (bounds[i], bounds[i + 1]);
            let leave = week_leaves
                .iter()
                .filter(|l| l.officer_id == o.id && l.starts_at < day_end && l.ends_at > day_start)
                .max_by_key(|l| l.status == LeaveStatus::Approved);
            d.leave = leave.map(|l| DayLeave { leave_id: l.id, kind: l.kind, status: l.status });
            let away = leave.is_some_and(|l| l.status == LeaveStatus::Approved);
            for s in
                week_shifts.iter().filter(|s| s.officer_id == o.id && s.starts_at < day_end && s.ends_at > day_start)
            {
                let (a, b) = (s.starts_at.max(day_start), s.ends_at.min(day_end));
                d.shifts.push(TimeSpan {
                    from: clock(tz, a, day_end),
                    to: clock(tz, b, day_end),
                    shift_id: Some(s.id),
                });
                if !away {
                    covered[i].push((a, b));
                }
            }
        }
        rows.push(RosterRow {
            officer_id: o.id,
            code: o.code.clone(),
            name: officer_name(o),
            unit: o.unit.clone(),
            duty: duty.get(&o.id).copied().unwrap_or(Duty::NoRoster),
            days: row_days,
        });
    }
    let gaps = covered
        .into_iter()
        .enumerate()
        .map(|(i, mut spans)| {
            let (day_start, day_end) = (bounds[i], bounds[i + 1]);
            spans.sort();
            let mut out = Vec::new();
            let mut cursor = day_start;
            for (a, b) in spans {
                if a > cursor {
                    out.push(TimeSpan { from: clock(tz, cursor, day_end), to: clock(tz, a, day_end), shift_id: None });
                }
                cursor = cursor.max(b);
            }
            if cursor < day_end {
                out.push(TimeSpan { from: clock(tz, cursor, day_end), to: "24:00".into(), shift_id: None });
            }
            out
        })
        .collect();
    Ok(RosterWeek { unit, week_start, days, rows, gaps, units: units.into_iter().collect() })
}

/// The week as CSV (one row per officer and day: shifts, leave), for a spreadsheet.
pub async fn week_csv(state: &AppState, actor: &Actor, unit: Option<String>, day: NaiveDate) -> AppResult<String> {
    use crate::services::csv::{BOM, Cell, Sheet};
    let week = week(state, actor, unit, day).await?;
    let mut sheet = Sheet::new();
    sheet.row(["Código", "Efectivo", "Unidad", "Día", "Turnos", "Licencia"].map(Cell::Plain));
    for row in &week.rows {
        for (d, day) in week.days.iter().zip(&row.days) {
            let shifts = day.shifts.iter().map(|s| format!("{}-{}", s.from, s.to)).collect::<Vec<_>>().join(" ");
            let leave =
                day.leave.map(|l| format!("{} ({})", l.kind.label_es(), l.status.label_es())).unwrap_or_default();
            let date = d.format("%d/%m/%Y").to_string();
            sheet.row([
                Cell::Text(&row.code),
                Cell::Text(&row.name),
                Cell::Text(&row.unit),
                Cell::Plain(&date),
                Cell::Plain(&shifts),
                Cell::Plain(&leave),
            ]);
        }
    }
    let bytes = sheet.take()?;
    Ok(format!("{BOM}{}", String::from_utf8(bytes).map_err(AppError::internal)?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_twelve_by_thirty_six_pattern_starts_every_other_day() {
        let tz: chrono_tz::Tz = "America/Argentina/Buenos_Aires".parse().unwrap();
        // 08:00 local (UTC−3) on Monday 7 December 2026.
        let first = Utc.with_ymd_and_hms(2026, 12, 7, 11, 0, 0).unwrap();
        let until = NaiveDate::from_ymd_opt(2026, 12, 13).unwrap();
        let shifts = expand(tz, first, 12, Some((36, until)));
        let starts: Vec<u32> = shifts.iter().map(|(s, _)| s.with_timezone(&tz).day()).collect();
        assert_eq!(starts, [7, 9, 11, 13]);
        assert!(shifts.iter().all(|(s, e)| *e - *s == Duration::hours(12)));
        assert_eq!(expand(tz, first, 8, None), vec![(first, first + Duration::hours(8))]);
    }

    #[test]
    fn weeks_start_on_monday() {
        let sunday = NaiveDate::from_ymd_opt(2026, 12, 13).unwrap();
        assert_eq!(monday_of(sunday), NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
        assert_eq!(
            monday_of(NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()),
            NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
        );
    }
}

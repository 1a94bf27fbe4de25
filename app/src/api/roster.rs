//! Server functions: shifts and leave (turnos y licencias) — the week calendar of the roster
//! page (`/turnos`), its plain forms, and the bot's `/turnos` and `/licencia`.
//!
//! The forms take plain scalars (times as `datetime-local` values, days as `yyyy-mm-dd`, in the
//! configured time zone) so they work without JavaScript: after a plain post the outcome is
//! kept as a one-shot flash and the browser goes back to the week it was on.

use contract::ApiError;
use contract::domain::{LeaveKind, LeaveStatus};
use contract::roster::{Leave, RosterWeek, Shift, ShiftsCreated};
use leptos::prelude::*;

/// The page a roster form returns to: the week and unit it was posted from.
pub fn roster_path(week: Option<&str>, unit: Option<&str>) -> String {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if let Some(week) = week.filter(|w| !w.is_empty()) {
        pairs.push(("semana", week));
    }
    if let Some(unit) = unit.filter(|u| !u.is_empty()) {
        pairs.push(("unidad", unit));
    }
    if pairs.is_empty() {
        "/turnos".to_owned()
    } else {
        format!("/turnos?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
    }
}

/// Patterns the forms offer: (value, on hours, off hours; none = one shift).
pub const PATTERNS: [(&str, Option<u32>); 5] =
    [("unico", None), ("12x36", Some(36)), ("24x48", Some(48)), ("12x12", Some(12)), ("8x16", Some(16))];

/// The week of `week` (`yyyy-mm-dd`, any day of it; today when empty) for `unit` (every unit
/// when empty). Supervisors and admins.
#[server(prefix = "/api/fn", endpoint = "load_roster_week", output = crate::api::codec::JsonText)]
pub async fn load_roster_week(unit: Option<String>, week: Option<String>) -> Result<RosterWeek, ApiError> {
    use crate::server::context;
    use gad_core::services::roster;
    context::serve(async |state, actor| {
        let day = parse_day(state, "week", week.as_deref())?.unwrap_or_else(|| today(state));
        roster::week(state, actor, unit, day).await
    })
    .await
}

/// Leave, newest first: everyone's for supervisors (by `status` when given), one's own for
/// an officer.
#[server(prefix = "/api/fn", endpoint = "list_leaves", output = crate::api::codec::JsonText)]
pub async fn list_leaves(status: Option<LeaveStatus>) -> Result<Vec<Leave>, ApiError> {
    use crate::server::context;
    use gad_core::services::roster;
    context::serve(async |state, actor| roster::list_leaves(state, actor, None, status).await).await
}

/// The caller's own shifts over the next `days` days (1–31), from now.
#[server(prefix = "/api/fn", endpoint = "my_shifts", output = crate::api::codec::JsonText)]
pub async fn my_shifts(days: u32) -> Result<Vec<Shift>, ApiError> {
    use crate::server::context;
    use gad_core::services::roster;
    context::serve(async |state, actor| {
        let now = chrono::Utc::now();
        let days = i64::from(days.clamp(1, 31));
        roster::shifts_of(state, actor, None, now, now + chrono::Duration::days(days)).await
    })
    .await
}

/// The caller's own leave request (the bot's `/licencia`); days as `yyyy-mm-dd` or
/// `dd/mm/aaaa`.
#[server(prefix = "/api/fn", endpoint = "request_my_leave", output = crate::api::codec::JsonText)]
pub async fn request_my_leave(
    kind: LeaveKind,
    first_day: String,
    last_day: String,
    reason: Option<String>,
) -> Result<Leave, ApiError> {
    use crate::server::context;
    use contract::roster::LeaveInput;
    use gad_core::services::roster;
    let meta = context::request_meta();
    context::serve(async |state, actor| {
        let (first_day, last_day) = days(state, &first_day, &last_day)?;
        roster::request_leave(state, actor, &meta, LeaveInput { officer_id: None, kind, first_day, last_day, reason })
            .await
    })
    .await
}

/// The roster page's shift form: a shift of `hours` hours from `start`, repeated after
/// `pattern`'s rest until the day `until`.
#[server(prefix = "/api/fn", endpoint = "plan_shifts", output = crate::api::codec::JsonText)]
pub async fn plan_shifts(
    officer_id: i64,
    start: String,
    hours: u32,
    pattern: String,
    until: Option<String>,
    note: Option<String>,
    semana: Option<String>,
    unidad: Option<String>,
) -> Result<ShiftsCreated, ApiError> {
    use crate::server::context;
    use contract::roster::{ShiftInput, ShiftRepeat};
    use gad_core::error::AppError;
    use gad_core::services::{replay, roster};
    let meta = context::request_meta();
    let result = context::serve(async |state, actor| {
        let starts_at = replay::local_time(state, "start", Some(&start))?
            .ok_or_else(|| AppError::validation("start", "Indique el inicio del turno."))?;
        let off = PATTERNS
            .iter()
            .find(|(name, _)| *name == pattern)
            .ok_or_else(|| AppError::validation("pattern", "Elija un esquema de turnos válido."))?
            .1;
        let repeat = match off {
            None => None,
            Some(off_hours) => {
                let until = parse_day(state, "until", until.as_deref())?
                    .ok_or_else(|| AppError::validation("until", "Indique hasta qué día se repite."))?;
                Some(ShiftRepeat { off_hours, until })
            }
        };
        roster::create_shifts(state, actor, &meta, ShiftInput { officer_id, starts_at, on_hours: hours, repeat, note })
            .await
    })
    .await;
    let back = roster_path(semana.as_deref(), unidad.as_deref());
    crate::api::flash::after_plain_post(&meta, "/turnos", &back, || match &result {
        Ok(created) => contract::flash::FormOutcome::Saved(match created.shifts.len() {
            1 => "Turno cargado.".to_owned(),
            n => format!("{n} turnos cargados."),
        }),
        Err(err) => contract::flash::FormOutcome::Failed(err.clone()),
    })
    .await;
    result
}

/// Removes a shift (with `series`, its pattern's shifts that have not ended).
#[server(prefix = "/api/fn", endpoint = "remove_shift", output = crate::api::codec::JsonText)]
pub async fn remove_shift(
    shift_id: i64,
    series: Option<bool>,
    semana: Option<String>,
    unidad: Option<String>,
) -> Result<u64, ApiError> {
    use crate::server::context;
    use gad_core::services::roster;
    let meta = context::request_meta();
    let whole = series.unwrap_or(false);
    let result =
        context::serve(async |state, actor| roster::delete_shift(state, actor, &meta, shift_id, whole).await).await;
    let back = roster_path(semana.as_deref(), unidad.as_deref());
    crate::api::flash::after_plain_post(&meta, "/turnos", &back, || match &result {
        Ok(n) => contract::flash::FormOutcome::Saved(format!("Turnos quitados: {n}.")),
        Err(err) => contract::flash::FormOutcome::Failed(err.clone()),
    })
    .await;
    result
}

/// The roster page's leave form: a supervisor registers leave for an officer (approved at
/// once); an officer (no `officer_id`) requests their own.
#[server(prefix = "/api/fn", endpoint = "register_leave", output = crate::api::codec::JsonText)]
pub async fn register_leave(
    officer_id: Option<i64>,
    kind: LeaveKind,
    first_day: String,
    last_day: String,
    reason: Option<String>,
    semana: Option<String>,
    unidad: Option<String>,
) -> Result<Leave, ApiError> {
    use crate::server::context;
    use contract::roster::LeaveInput;
    use gad_core::services::roster;
    let meta = context::request_meta();
    let result = context::serve(async |state, actor| {
        let (first_day, last_day) = days(state, &first_day, &last_day)?;
        roster::request_leave(state, actor, &meta, LeaveInput { officer_id, kind, first_day, last_day, reason }).await
    })
    .await;
    let back = roster_path(semana.as_deref(), unidad.as_deref());
    crate::api::flash::after_plain_post(&meta, "/turnos", &back, || match &result {
        Ok(leave) => contract::flash::FormOutcome::Saved(format!(
            "Licencia de {} registrada ({}).",
            leave.officer_code,
            leave.status.label_es().to_lowercase()
        )),
        Err(err) => contract::flash::FormOutcome::Failed(err.clone()),
    })
    .await;
    result
}

/// Approves or rejects a requested leave (supervisors, admins); `cancel` withdraws it.
#[server(prefix = "/api/fn", endpoint = "decide_leave", output = crate::api::codec::JsonText)]
pub async fn decide_leave(
    leave_id: i64,
    decision: String,
    note: Option<String>,
    semana: Option<String>,
    unidad: Option<String>,
) -> Result<Leave, ApiError> {
    use crate::server::context;
    use contract::roster::LeaveDecision;
    use gad_core::error::AppError;
    use gad_core::services::roster;
    let meta = context::request_meta();
    let result = context::serve(async |state, actor| match decision.as_str() {
        "aprobar" | "rechazar" => {
            let decision = LeaveDecision { approve: decision == "aprobar", note };
            roster::decide_leave(state, actor, &meta, leave_id, decision).await
        }
        "anular" => roster::cancel_leave(state, actor, &meta, leave_id).await,
        _ => Err(AppError::validation("decision", "Elija aprobar, rechazar o anular.")),
    })
    .await;
    let back = roster_path(semana.as_deref(), unidad.as_deref());
    crate::api::flash::after_plain_post(&meta, "/turnos", &back, || match &result {
        Ok(leave) => contract::flash::FormOutcome::Saved(format!(
            "Licencia de {}: {}.",
            leave.officer_code,
            leave.status.label_es().to_lowercase()
        )),
        Err(err) => contract::flash::FormOutcome::Failed(err.clone()),
    })
    .await;
    result
}

#[cfg(feature = "ssr")]
fn today(state: &gad_core::state::AppState) -> chrono::NaiveDate {
    chrono::Utc::now().with_timezone(&state.config.timezone).date_naive()
}

/// A day as `yyyy-mm-dd` (a date input) or `dd/mm/aaaa` (as typed in the bot); empty → none.
#[cfg(feature = "ssr")]
fn parse_day(
    _state: &gad_core::state::AppState,
    field: &str,
    value: Option<&str>,
) -> gad_core::error::AppResult<Option<chrono::NaiveDate>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(value, "%d/%m/%Y"))
        .map(Some)
        .map_err(|_| gad_core::error::AppError::validation(field, "Fecha inválida (use dd/mm/aaaa)."))
}

#[cfg(feature = "ssr")]
fn days(
    state: &gad_core::state::AppState,
    first: &str,
    last: &str,
) -> gad_core::error::AppResult<(chrono::NaiveDate, chrono::NaiveDate)> {
    use gad_core::error::AppError;
    let first = parse_day(state, "first_day", Some(first))?
        .ok_or_else(|| AppError::validation("first_day", "Indique el primer día."))?;
    let last = parse_day(state, "last_day", Some(last))?
        .ok_or_else(|| AppError::validation("last_day", "Indique el último día."))?;
    Ok((first, last))
}

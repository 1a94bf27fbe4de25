//! Officers (efectivos): profiles, status and positions.
//!
//! Permissions (SPEC §5): supervisors and admins manage officers ([`Capability::ManageOfficers`])
//! and see them ([`Capability::SeeOfficers`]); an officer sees their own profile, changes their
//! own status ([`Capability::SetOwnStatus`]) and reports their own position
//! ([`Capability::UpdateOwnPosition`]).

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;

use crate::actor::Actor;
use crate::db::WriteTxn;
use crate::entities::{officer_positions, officers, task_assignments, tasks, users};
use crate::error::{AppError, AppResult};
use crate::meta::AuditMeta;
use crate::permissions::{Capability, require};
use crate::services::audit::{self, AuditEntry};
use crate::services::geo::check_limit;
use crate::state::AppState;
use crate::validate::{Errors, check_len, check_point};
use contract::Page;
use contract::domain::{Channel, Duty, OfficerStatus, PositionSource, Role, TaskStatus};
use contract::events::Event;
use contract::officers::{Officer, OfficerFilter, OfficerInput, Position, PositionAccepted, Track};

pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// Most positions one track returns.
pub const MAX_TRACK_POINTS: u64 = 5_000;
/// Longest search text or unit name a list filter takes.
const FILTER_TEXT_MAX: usize = 100;
/// Longest track window.
pub const MAX_TRACK_DAYS: i64 = 31;
/// Clock skew tolerated on a reported position's time.
const FUTURE_TOLERANCE_SECONDS: i64 = 120;
/// How late a report may arrive: a phone offline for a shift sends its queue when it is back;
/// older than this is not a report but a rewrite of where somebody was (the replay, the audit
/// of a dispatch).
pub const PAST_TOLERANCE_HOURS: i64 = 24;
const MAX_ACCURACY_M: f64 = 100_000.0;

// --------------------------------------------------------------------------------- helpers

/// Microseconds: what both backends store exactly, so values read back compare equal.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The position source implied by the channel a report came through.
pub fn source_for(channel: Channel) -> PositionSource {
    match channel {
        Channel::Telegram => PositionSource::Telegram,
        Channel::Api => PositionSource::Api,
        Channel::Web | Channel::System => PositionSource::Web,
    }
}

/// The actor's own officer profile, for "my status" / "my position".
pub fn own_officer_id(actor: &Actor) -> AppResult<i64> {
    actor
        .officer_id
        .ok_or_else(|| AppError::validation("officer_id", "Su usuario no está vinculado a un perfil de efectivo."))
}

fn is_own(actor: &Actor, officer_id: i64) -> bool {
    actor.officer_id == Some(officer_id)
}

/// Reading an officer's data: their own, or [`Capability::SeeOfficers`].
fn require_see(actor: &Actor, officer_id: i64) -> AppResult<()> {
    if is_own(actor, officer_id) { Ok(()) } else { require(actor, Capability::SeeOfficers) }
}

fn dto(o: officers::Model) -> Officer {
    let last_position = match (o.last_lat, o.last_lon, o.last_position_at) {
        (Some(lat), Some(lon), Some(recorded_at)) => Some(Position {
            lat,
            lon,
            accuracy_m: None,
            source: o.last_position_source.unwrap_or(PositionSource::Web),
            recorded_at,
        }),
        _ => None,
    };
    Officer {
        id: o.id,
        user_id: o.user_id,
        code: o.code,
        first_name: o.first_name,
        last_name: o.last_name,
        rank: o.rank,
        unit: o.unit,
        specialty: o.specialty,
        status: o.status,
        status_changed_at: o.status_changed_at,
        last_position,
        created_at: o.created_at,
        updated_at: o.updated_at,
        duty: Duty::NoRoster,
    }
}

/// Officers as a filter or a picker names them, `(id, "Nombre Apellido (CÓDIGO)")`, oldest
/// first: the cached first page of the list, without the duty (not shown, and read afresh on
/// every call of [`list`]). Needs [`Capability::SeeOfficers`].
pub async fn labels(state: &AppState, actor: &Actor, limit: u64) -> AppResult<Vec<(i64, String)>> {
    require(actor, Capability::SeeOfficers)?;
    let mut errors = Errors::new();
    check_limit(&mut errors, limit);
    errors.finish()?;
    let filter = OfficerFilter::default();
    let key = (filter.clone(), None, limit);
    let page =
        state.caches.officers.get_or_compute(&state.events, key, || query_officers(state, filter, None, limit)).await?;
    Ok(page.items.iter().map(|o| (o.id, format!("{} {} ({})", o.first_name, o.last_name, o.code))).collect())
}

/// `officers` with their duty now (shifts and leave change it with the clock, so it is never
/// cached with them).
async fn with_duty(state: &AppState, mut officers: Vec<Officer>) -> AppResult<Vec<Officer>> {
    let ids: Vec<i64> = officers.iter().map(|o| o.id).collect();
    let duty = crate::services::roster::duty_at(&state.db, &ids, now()).await?;
    for o in &mut officers {
        o.duty = duty.get(&o.id).copied().unwrap_or(Duty::NoRoster);
    }
    Ok(officers)
}

fn position_dto(p: officer_positions::Model) -> Position {
    Position { lat: p.lat, lon: p.lon, accuracy_m: p.accuracy_m, source: p.source, recorded_at: p.recorded_at }
}

/// What the audit log keeps of an officer's profile.
fn snapshot(o: &officers::Model) -> serde_json::Value {
    json!({
        "code": o.code,
        "first_name": o.first_name,
        "last_name": o.last_name,
        "rank": o.rank,
        "unit": o.unit,
        "specialty": o.specialty,
        "user_id": o.user_id,
        "status": o.status,
    })
}

/// A live (not deleted) officer, locked for update on PostgreSQL (SQLite writers are
/// serialised by `WriteTxn`).
async fn find_for_update(txn: &WriteTxn, officer_id: i64) -> AppResult<officers::Model> {
    let conn: &sea_orm::DatabaseTransaction = txn;
    officers::Entity::find_by_id(officer_id)
        .filter(officers::Column::DeletedAt.is_null())
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)
}

async fn find_live(db: &impl ConnectionTrait, officer_id: i64) -> AppResult<officers::Model> {
    officers::Entity::find_by_id(officer_id)
        .filter(officers::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

// ------------------------------------------------------------------------------ validation

/// Trimmed, normalised input (code upper-case, empty specialty → none), or field errors.
pub(crate) fn validate_input(input: OfficerInput) -> AppResult<OfficerInput> {
    let mut errors = Errors::new();
    let code = input.code.trim().to_uppercase();
    if code.is_empty() {
        errors.add("code", "Ingrese el código del efectivo.");
    } else if code.chars().count() > 32 {
        errors.add("code", "El código no puede superar los 32 caracteres.");
    } else if !code.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        errors.add("code", "El código solo puede contener letras, números, guiones, guiones bajos y puntos.");
    }
    let mut text = |field: &str, value: &str, empty: &str, max: usize| -> String {
        let value = value.trim().to_owned();
        if value.is_empty() {
            errors.add(field, empty);
        } else if value.chars().count() > max {
            errors.add(field, format!("No puede superar los {max} caracteres."));
        }
        value
    };
    let first_name = text("first_name", &input.first_name, "Ingrese el nombre.", 100);
    let last_name = text("last_name", &input.last_name, "Ingrese el apellido.", 100);
    let rank = text("rank", &input.rank, "Ingrese el rango.", 60);
    let unit = text("unit", &input.unit, "Ingrese la unidad.", 100);
    let specialty = input.specialty.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    if specialty.as_ref().is_some_and(|s| s.chars().count() > 100) {
        errors.add("specialty", "No puede superar los 100 caracteres.");
    }
    errors.finish()?;
    Ok(OfficerInput { code, first_name, last_name, rank, unit, specialty, user_id: input.user_id })
}

/// The code is not used by another officer (deleted ones included: codes are never reused).
async fn ensure_code_free(db: &impl ConnectionTrait, code: &str, except: Option<i64>) -> AppResult<()> {
    let mut query = officers::Entity::find().filter(officers::Column::Code.eq(code));
    if let Some(id) = except {
        query = query.filter(officers::Column::Id.ne(id));
    }
    match query.one(db).await? {
        Some(other) if other.deleted_at.is_some() => {
            Err(AppError::Conflict(format!("El código {code} perteneció a un efectivo dado de baja; use otro.")))
        }
        Some(_) => Err(AppError::Conflict(format!("Ya existe un efectivo con el código {code}."))),
        None => Ok(()),
    }
}

/// A user may be linked if they exist, are not deleted, have the officer role and are not
/// linked to another officer.
async fn ensure_linkable(db: &impl ConnectionTrait, user_id: i64, except: Option<i64>) -> AppResult<()> {
    let user = users::Entity::find_by_id(user_id)
        .filter(users::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(|| AppError::validation("user_id", "El usuario indicado no existe."))?;
    if user.role != Role::Officer {
        return Err(AppError::validation("user_id", "Solo se puede vincular un usuario con rol de efectivo."));
    }
    let mut query = officers::Entity::find().filter(officers::Column::UserId.eq(user_id));
    if let Some(id) = except {
        query = query.filter(officers::Column::Id.ne(id));
    }
    if let Some(other) = query.one(db).await? {
        return Err(AppError::Conflict(format!("El usuario ya está vinculado al efectivo {}.", other.code)));
    }
    Ok(())
}

// ------------------------------------------------------------------ the user's officer profile

/// The next free `EF-NNN` code: one past the highest number any officer (deleted ones
/// included, codes are never reused) has had.
async fn next_code(db: &impl ConnectionTrait) -> AppResult<String> {
    let codes: Vec<String> = officers::Entity::find()
        .select_only()
        .column(officers::Column::Code)
        .filter(officers::Column::Code.starts_with("EF-"))
        .into_tuple()
        .all(db)
        .await?;
    let highest = codes.iter().filter_map(|c| c["EF-".len()..].parse::<u32>().ok()).max().unwrap_or(0);
    Ok(format!("EF-{:03}", highest + 1))
}

/// Gives a user with the officer role their officer profile, in the caller's transaction:
/// the profile already linked to them, or a new one named as the user, with `profile`'s code
/// (the next free `EF-NNN` when empty), rank, unit and specialty. A user with the officer role
/// is always an officer: on the map, under Efectivos and in the assignment lists.
pub(crate) async fn ensure_for_user(
    txn: &WriteTxn,
    actor: &Actor,
    meta: &AuditMeta,
    user: &users::Model,
    profile: Option<contract::users::OfficerProfile>,
) -> AppResult<officers::Model> {
    let linked = officers::Entity::find()
        .filter(officers::Column::UserId.eq(user.id))
        .filter(officers::Column::DeletedAt.is_null())
        .one(&**txn)
        .await?;
    if let Some(officer) = linked {
        return Ok(officer);
    }
    let profile = profile.unwrap_or_default();
    let code = match profile.code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => code.to_owned(),
        None => next_code(&**txn).await?,
    };
    // The same rules as the Efectivos form, except that rank and unit may be left for later.
    let placeholder = |s: &str| if s.trim().is_empty() { "-".to_owned() } else { s.to_owned() };
    let checked = validate_input(OfficerInput {
        code,
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        rank: placeholder(&profile.rank),
        unit: placeholder(&profile.unit),
        specialty: profile.specialty,
        user_id: Some(user.id),
    })?;
    ensure_code_free(&**txn, &checked.code, None).await?;
    let input = OfficerInput { rank: profile.rank.trim().to_owned(), unit: profile.unit.trim().to_owned(), ..checked };
    insert_new(txn, actor, meta, input).await
}

/// Keeps the officer profile linked to `user` named as the user (after the user's names
/// changed), in the caller's transaction.
pub(crate) async fn follow_user_names(txn: &WriteTxn, user: &users::Model) -> AppResult<()> {
    officers::Entity::update_many()
        .col_expr(officers::Column::FirstName, Expr::value(user.first_name.clone()))
        .col_expr(officers::Column::LastName, Expr::value(user.last_name.clone()))
        .col_expr(officers::Column::UpdatedAt, Expr::value(now()))
        .filter(officers::Column::UserId.eq(user.id))
        .filter(officers::Column::DeletedAt.is_null())
        .exec(&**txn)
        .await?;
    Ok(())
}

/// Releases the officer profile linked to `user_id` (the user no longer has the officer
/// role): the profile stays, unlinked, under Efectivos.
pub(crate) async fn release_user(txn: &WriteTxn, user_id: i64) -> AppResult<()> {
    officers::Entity::update_many()
        .col_expr(officers::Column::UserId, Expr::value(Option::<i64>::None))
        .col_expr(officers::Column::UpdatedAt, Expr::value(now()))
        .filter(officers::Column::UserId.eq(user_id))
        .exec(&**txn)
        .await?;
    Ok(())
}

/// Inserts a checked officer profile, `available` and without a position, and audits it, in
/// the caller's transaction.
pub(crate) async fn insert_new(
    txn: &WriteTxn,
    actor: &Actor,
    meta: &AuditMeta,
    input: OfficerInput,
) -> AppResult<officers::Model> {
    let at = now();
    let officer = officers::ActiveModel {
        user_id: Set(input.user_id),
        code: Set(input.code),
        first_name: Set(input.first_name),
        last_name: Set(input.last_name),
        rank: Set(input.rank),
        unit: Set(input.unit),
        specialty: Set(input.specialty),
        status: Set(OfficerStatus::Available),
        status_changed_at: Set(at),
        last_lat: Set(None),
        last_lon: Set(None),
        last_position_at: Set(None),
        last_position_source: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
        ..Default::default()
    }
    .insert(&**txn)
    .await?;
    let entry = AuditEntry::new("officer.created", "officer", officer.id).after(snapshot(&officer));
    audit::append(txn, Some(actor), meta, entry).await?;
    Ok(officer)
}

// ----------------------------------------------------------------------------------- CRUD

/// Creates an officer, `available`, without a position.
pub async fn create(state: &AppState, actor: &Actor, meta: &AuditMeta, input: OfficerInput) -> AppResult<Officer> {
    require(actor, Capability::ManageOfficers)?;
    let input = validate_input(input)?;
    let txn = WriteTxn::begin(state).await?;
    ensure_code_free(&*txn, &input.code, None).await?;
    if let Some(user_id) = input.user_id {
        ensure_linkable(&*txn, user_id, None).await?;
    }
    let officer = insert_new(&txn, actor, meta, input).await?;
    txn.commit().await?;
    Ok(dto(officer))
}

/// Replaces an officer's editable fields (not the status nor the position).
pub async fn update(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    officer_id: i64,
    input: OfficerInput,
) -> AppResult<Officer> {
    require(actor, Capability::ManageOfficers)?;
    let input = validate_input(input)?;
    let txn = WriteTxn::begin(state).await?;
    let before = find_for_update(&txn, officer_id).await?;
    if input.code != before.code {
        ensure_code_free(&*txn, &input.code, Some(officer_id)).await?;
    }
    if input.user_id != before.user_id
        && (before.user_id == Some(actor.user_id) || input.user_id == Some(actor.user_id))
    {
        // Whose profile is whose decides who may approve whose leave: nobody moves their own.
        return Err(AppError::Refused(
            "No puede cambiar la cuenta vinculada a su propio perfil de efectivo: debe hacerlo otro responsable."
                .into(),
        ));
    }
    if let Some(user_id) = input.user_id
        && before.user_id != Some(user_id)
    {
        ensure_linkable(&*txn, user_id, Some(officer_id)).await?;
    }
    let mut model = before.clone().into_active_model();
    model.code.set_if_not_equals(input.code);
    model.first_name.set_if_not_equals(input.first_name);
    model.last_name.set_if_not_equals(input.last_name);
    model.rank.set_if_not_equals(input.rank);
    model.unit.set_if_not_equals(input.unit);
    model.specialty.set_if_not_equals(input.specialty);
    model.user_id.set_if_not_equals(input.user_id);
    if !model.is_changed() {
        return Ok(dto(before));
    }
    model.updated_at = Set(now());
    let after = model.update(&*txn).await?;
    // A linked user carries the officer's names: one person, one name everywhere.
    if let Some(user_id) = after.user_id
        && (before.first_name != after.first_name || before.last_name != after.last_name)
    {
        users::Entity::update_many()
            .col_expr(users::Column::FirstName, Expr::value(after.first_name.clone()))
            .col_expr(users::Column::LastName, Expr::value(after.last_name.clone()))
            .col_expr(users::Column::UpdatedAt, Expr::value(now()))
            .filter(users::Column::Id.eq(user_id))
            .exec(&*txn)
            .await?;
    }
    let entry =
        AuditEntry::new("officer.updated", "officer", officer_id).before(snapshot(&before)).after(snapshot(&after));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.commit().await?;
    Ok(dto(after))
}

/// Soft-deletes an officer. Refused while they hold open tasks. The link to their user is
/// released (so the user can get a new profile); the code stays taken.
pub async fn delete(state: &AppState, actor: &Actor, meta: &AuditMeta, officer_id: i64) -> AppResult<()> {
    require(actor, Capability::ManageOfficers)?;
    let txn = WriteTxn::begin(state).await?;
    let before = find_for_update(&txn, officer_id).await?;
    let open: Vec<TaskStatus> = TaskStatus::ALL.iter().copied().filter(|s| s.is_open()).collect();
    let open_tasks = tasks::Entity::find()
        .inner_join(task_assignments::Entity)
        .filter(task_assignments::Column::OfficerId.eq(officer_id))
        .filter(tasks::Column::DeletedAt.is_null())
        .filter(tasks::Column::Status.is_in(open))
        .count(&*txn)
        .await?;
    if open_tasks > 0 {
        return Err(AppError::Conflict(format!(
            "El efectivo tiene {open_tasks} tarea(s) abierta(s) asignada(s); reasígnelas o ciérrelas antes de darlo de baja."
        )));
    }
    let at = now();
    let mut model = before.clone().into_active_model();
    model.deleted_at = Set(Some(at));
    model.updated_at = Set(at);
    model.user_id = Set(None);
    model.update(&*txn).await?;
    audit::append(
        &txn,
        Some(actor),
        meta,
        AuditEntry::new("officer.deleted", "officer", officer_id).before(snapshot(&before)),
    )
    .await?;
    txn.commit().await
}

/// One officer: your own profile, or any with [`Capability::SeeOfficers`].
pub async fn get(state: &AppState, actor: &Actor, officer_id: i64) -> AppResult<Officer> {
    require_see(actor, officer_id)?;
    let officer = dto(find_live(&state.db, officer_id).await?);
    Ok(with_duty(state, vec![officer]).await?.remove(0))
}

/// Officers (not deleted) matching `filter`, by id, `limit` per page. The cursor is the last
/// id of the previous page.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    filter: OfficerFilter,
    cursor: Option<String>,
    limit: u64,
) -> AppResult<Page<Officer>> {
    require(actor, Capability::SeeOfficers)?;
    let mut errors = Errors::new();
    check_limit(&mut errors, limit);
    // Filters are cache keys too: bounded like every text the service takes.
    check_len(&mut errors, "q", filter.text.as_deref(), FILTER_TEXT_MAX, "La búsqueda admite hasta 100 caracteres.");
    check_len(&mut errors, "unit", filter.unit.as_deref(), FILTER_TEXT_MAX, "La unidad admite hasta 100 caracteres.");
    let after = match cursor.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => match c.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.add("cursor", "El cursor de paginación no es válido.");
                None
            }
        },
    };
    errors.finish()?;
    // Everyone allowed here sees the same list: one cache entry per filter and page.
    let key = (filter.clone(), after, limit);
    let mut page = state
        .caches
        .officers
        .get_or_compute(&state.events, key, || query_officers(state, filter, after, limit))
        .await?;
    page.items = with_duty(state, page.items).await?;
    Ok(page)
}

async fn query_officers(
    state: &AppState,
    filter: OfficerFilter,
    after: Option<i64>,
    limit: u64,
) -> AppResult<Page<Officer>> {
    let mut query = officers::Entity::find().filter(officers::Column::DeletedAt.is_null());
    if let Some(status) = filter.status {
        query = query.filter(officers::Column::Status.eq(status));
    }
    if let Some(unit) = filter.unit.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        query = query.filter(Expr::expr(Func::lower(Expr::col(officers::Column::Unit))).eq(unit.to_lowercase()));
    }
    if let Some(text) = filter.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let escaped: String = text
            .to_lowercase()
            .chars()
            .flat_map(|c| if matches!(c, '%' | '_' | '\\') { vec!['\\', c] } else { vec![c] })
            .collect();
        let pattern = format!("%{escaped}%");
        let mut any = Condition::any();
        for column in [
            officers::Column::Code,
            officers::Column::FirstName,
            officers::Column::LastName,
            officers::Column::Rank,
            officers::Column::Unit,
        ] {
            any = any.add(Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern.clone()).escape('\\')));
        }
        query = query.filter(any);
    }
    if let Some(after) = after {
        query = query.filter(officers::Column::Id.gt(after));
    }
    let mut rows = crate::db::first_rows(&state.db, query.order_by_asc(officers::Column::Id), limit + 1).await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        rows.last().map(|o| o.id.to_string())
    } else {
        None
    };
    Ok(Page { items: rows.into_iter().map(dto).collect(), next_cursor })
}

// ---------------------------------------------------------------------------------- status

/// Sets an officer's status and records when it changed. An officer may change their own
/// (to available, off duty or unavailable: `on_task` follows their tasks); supervisors and
/// admins anyone's. Unchanged status: nothing is written.
pub async fn set_status(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    officer_id: i64,
    status: OfficerStatus,
) -> AppResult<Officer> {
    let manager = require(actor, Capability::ManageOfficers);
    let is_manager = manager.is_ok();
    if is_own(actor, officer_id) && !is_manager {
        require(actor, Capability::SetOwnStatus)?;
        if status == OfficerStatus::OnTask {
            return Err(AppError::validation(
                "status",
                "El estado «En tarea» se asigna automáticamente al iniciar una tarea.",
            ));
        }
    } else {
        manager?;
    }
    let mut txn = WriteTxn::begin(state).await?;
    txn.leaves_accounts();
    let before = find_for_update(&txn, officer_id).await?;
    if before.status == status {
        return Ok(dto(before));
    }
    // `on_task` follows the officer's tasks: while one keeps them on it, they cannot declare
    // themselves free (and be dispatched to the next emergency as if they were) or off duty.
    if !is_manager
        && before.status == OfficerStatus::OnTask
        && let Some(code) = crate::services::tasks::occupied_by(&*txn, officer_id).await?
    {
        return Err(AppError::Conflict(format!(
            "Está en la tarea {code}: su estado cambia solo cuando la tarea termina (o lo cambia un supervisor)."
        )));
    }
    let at = now();
    let mut model = before.clone().into_active_model();
    model.status = Set(status);
    model.status_changed_at = Set(at);
    model.updated_at = Set(at);
    let after = model.update(&*txn).await?;
    let entry = AuditEntry::new("officer.status_changed", "officer", officer_id)
        .before(json!({ "status": before.status }))
        .after(json!({ "status": status }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.emit(Event::OfficerStatusChanged { officer_id, status });
    txn.commit().await?;
    Ok(dto(after))
}

// ------------------------------------------------------------------------------- positions

/// Records a position report: always appended to the history; it becomes the officer's last
/// known position only if it is not older than the current one (reports can arrive late or
/// out of order), and only then is `officer.position` published.
///
/// No audit row: positions are high-volume telemetry (a live location sends one every few
/// seconds) and `officer_positions` is itself the append-only record of them; auditing each
/// would flood the hash-chained log and serialise every report on its lock. `_meta` keeps the
/// signature of the other writes.
#[allow(clippy::too_many_arguments)]
pub async fn update_position(
    state: &AppState,
    actor: &Actor,
    _meta: &AuditMeta,
    officer_id: i64,
    lat: f64,
    lon: f64,
    accuracy_m: Option<f64>,
    source: PositionSource,
    recorded_at: Option<DateTime<Utc>>,
) -> AppResult<PositionAccepted> {
    if is_own(actor, officer_id) {
        require(actor, Capability::UpdateOwnPosition)?;
    } else {
        require(actor, Capability::ManageOfficers)?;
    }
    let received_at = now();
    let mut errors = Errors::new();
    check_point(&mut errors, lat, lon);
    if accuracy_m.is_some_and(|a| !(0.0..=MAX_ACCURACY_M).contains(&a)) {
        errors.add("accuracy_m", "La precisión debe estar entre 0 y 100000 metros.");
    }
    if recorded_at.is_some_and(|at| at > received_at + chrono::Duration::seconds(FUTURE_TOLERANCE_SECONDS)) {
        errors.add("recorded_at", "La hora de la posición no puede estar en el futuro.");
    }
    if recorded_at.is_some_and(|at| at < received_at - chrono::Duration::hours(PAST_TOLERANCE_HOURS)) {
        errors.add("recorded_at", "La hora de la posición no puede ser de hace más de 24 horas.");
    }
    errors.finish()?;
    let recorded_at = recorded_at.map_or(received_at, |at| at.trunc_subsecs(6));

    let mut txn = WriteTxn::begin(state).await?;
    txn.leaves_accounts();
    let officer = find_for_update(&txn, officer_id).await?;
    let row = officer_positions::ActiveModel {
        officer_id: Set(officer_id),
        lat: Set(lat),
        lon: Set(lon),
        accuracy_m: Set(accuracy_m),
        source: Set(source),
        recorded_at: Set(recorded_at),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    let current = officer.last_position_at.is_none_or(|last| recorded_at >= last);
    if current {
        let mut model = officer.into_active_model();
        model.last_lat = Set(Some(lat));
        model.last_lon = Set(Some(lon));
        model.last_position_at = Set(Some(recorded_at));
        model.last_position_source = Set(Some(source));
        model.update(&*txn).await?;
        txn.emit(Event::OfficerPosition { officer_id, lat, lon, recorded_at });
    }
    txn.commit().await?;
    Ok(PositionAccepted { officer_id, position: position_dto(row), current })
}

/// The officer's last known position (with its accuracy when the history has it).
pub async fn last_position(state: &AppState, actor: &Actor, officer_id: i64) -> AppResult<Option<Position>> {
    require_see(actor, officer_id)?;
    let officer = find_live(&state.db, officer_id).await?;
    let Some(mut position) = dto(officer).last_position else {
        return Ok(None);
    };
    let latest = officer_positions::Entity::find()
        .filter(officer_positions::Column::OfficerId.eq(officer_id))
        .order_by_desc(officer_positions::Column::RecordedAt)
        .order_by_desc(officer_positions::Column::Id)
        .one(&state.db)
        .await?;
    if let Some(p) = latest
        && p.recorded_at == position.recorded_at
        && p.lat == position.lat
        && p.lon == position.lon
    {
        position.accuracy_m = p.accuracy_m;
    }
    Ok(Some(position))
}

/// The officer's positions recorded in `[from, to)`, oldest first (at most
/// [`MAX_TRACK_POINTS`]). Officers may see only their own.
pub async fn track(
    state: &AppState,
    actor: &Actor,
    officer_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Track> {
    require_see(actor, officer_id)?;
    // Microseconds, as stored, so both backends draw the same boundary.
    let (from, to) = (from.trunc_subsecs(6), to.trunc_subsecs(6));
    for (field, at) in [("from", from), ("to", to)] {
        if !crate::services::day_in_range(at.date_naive()) {
            return Err(AppError::validation(field, crate::services::DAY_OUT_OF_RANGE));
        }
    }
    if to <= from {
        return Err(AppError::validation("to", "El fin del intervalo debe ser posterior al inicio."));
    }
    if to - from > chrono::Duration::days(MAX_TRACK_DAYS) {
        return Err(AppError::validation("to", "El intervalo no puede superar los 31 días."));
    }
    find_live(&state.db, officer_id).await?;
    let mut rows = officer_positions::Entity::find()
        .filter(officer_positions::Column::OfficerId.eq(officer_id))
        .filter(officer_positions::Column::RecordedAt.gte(from))
        .filter(officer_positions::Column::RecordedAt.lt(to))
        .order_by_asc(officer_positions::Column::RecordedAt)
        .order_by_asc(officer_positions::Column::Id)
        .limit(MAX_TRACK_POINTS + 1)
        .all(&state.db)
        .await?;
    let truncated = rows.len() as u64 > MAX_TRACK_POINTS;
    rows.truncate(usize::try_from(MAX_TRACK_POINTS).unwrap_or(usize::MAX));
    Ok(Track { officer_id, from, to, positions: rows.into_iter().map(position_dto).collect(), truncated })
}

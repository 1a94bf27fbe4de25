//! `gad import legacy --from postgres://…`: people and history from the GRUPO GAD database GAD
//! replaces. It left two schemas behind, and both are read:
//! - the ORM's, in `public`: `usuarios` (levels `LEVEL_1…3`), `efectivos` (with a PostGIS
//!   `geom` once its last migration ran), `tareas` (with an `efectivos_asignados` int array
//!   beside the `tarea_efectivos` join table), `historial_estados`;
//! - the minimal one of its "reset" migration, in `gad`: `usuarios` (levels `'1'…'3'`, a name
//!   and a Telegram id only), `efectivos` (keyed by DNI), `tareas` (free-text types, three
//!   states), `tarea_asignaciones`.
//!
//! The old ids map to stable GAD keys — a user's e-mail (or `usuario-legado-<id>@gad.local`
//! when the old schema had none), an officer's internal code (or DNI), a task's code — so a
//! second run finds everything present and adds nothing. One transaction for the whole import
//! (a dry run does all of it and rolls back); every refused row is reported with its old id
//! and the reason, every quirk that was resolved (the join table and the array disagreeing, a
//! Telegram id that overflowed, a position without a time) as a warning. Imported users get no
//! password: they sign in after an admin sets one or through their linked Telegram account.
//! Legacy rows deleted in the old system are not brought over.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, Statement,
};
use serde_json::json;

use crate::actor::Actor;
use crate::db::WriteTxn;
use crate::entities::{officers, task_status_history, tasks, users};
use crate::error::{AppError, AppResult};
use crate::meta::AuditMeta;
use crate::permissions::{Capability, require};
use crate::services::audit::{self, AuditEntry};
use crate::services::import::{Counts, RefusedRow};
use crate::services::tasks as task_service;
use crate::state::AppState;
use crate::validate::Errors;
use contract::domain::{Channel, OfficerStatus, Role, TaskPriority, TaskStatus, TaskType};
use contract::officers::OfficerInput;

/// Which of the old system's schemas the data came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Schema {
    /// The ORM's tables in `public`.
    Orm,
    /// The minimal tables in `gad`.
    Minimal,
}

#[derive(Clone, Debug)]
pub struct LegacyUser {
    pub id: i64,
    pub dni: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub telegram_id: Option<i64>,
    pub level: String,
    pub deleted: bool,
}

#[derive(Clone, Debug)]
pub struct LegacyOfficer {
    pub id: i64,
    pub user_id: Option<i64>,
    pub code: String,
    pub first_name: String,
    pub last_name: String,
    pub rank: Option<String>,
    pub unit: Option<String>,
    pub specialty: Option<String>,
    pub status: String,
    pub position: Option<(f64, f64)>,
    pub status_at: Option<DateTime<Utc>>,
    pub deleted: bool,
}

#[derive(Clone, Debug)]
pub struct LegacyTask {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub description: Option<String>,
    pub task_type: String,
    pub priority: Option<String>,
    pub status: String,
    pub scheduled_start: Option<DateTime<Utc>>,
    pub scheduled_end: Option<DateTime<Utc>>,
    pub actual_start: Option<DateTime<Utc>>,
    pub actual_end: Option<DateTime<Utc>>,
    pub delegate_id: Option<i64>,
    pub created_by_id: Option<i64>,
    pub position: Option<(f64, f64)>,
    pub location_text: Option<String>,
    pub notes: Option<String>,
    /// `efectivos_asignados` (ORM only).
    pub array_officers: Option<Vec<i64>>,
    pub created_at: Option<DateTime<Utc>>,
    pub deleted: bool,
}

#[derive(Clone, Debug)]
pub struct LegacyHistory {
    pub task_id: i64,
    pub from: Option<String>,
    pub to: String,
    pub user_id: Option<i64>,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// Everything read from the old database.
#[derive(Clone, Debug)]
pub struct LegacyData {
    pub schema: Schema,
    pub users: Vec<LegacyUser>,
    pub officers: Vec<LegacyOfficer>,
    pub tasks: Vec<LegacyTask>,
    /// The join table: (task, officer).
    pub assignments: Vec<(i64, i64)>,
    pub history: Vec<LegacyHistory>,
}

#[derive(Clone, Debug, Default)]
pub struct LegacyReport {
    pub users: Counts,
    pub officers: Counts,
    pub tasks: Counts,
    /// Status changes brought over.
    pub history: usize,
    pub refused: Vec<RefusedRow>,
    /// Quirks resolved, in the operator's words.
    pub warnings: Vec<String>,
    pub written: bool,
}

// ---------------------------------------------------------------------------------------------
// Reading.

async fn has_table(db: &DatabaseConnection, schema: &str, table: &str) -> AppResult<bool> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2)",
            [schema.into(), table.into()],
        ))
        .await?;
    Ok(row.and_then(|r| r.try_get_by_index::<bool>(0).ok()).unwrap_or(false))
}

async fn has_column(db: &DatabaseConnection, schema: &str, table: &str, column: &str) -> AppResult<bool> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = $1 AND table_name = $2 AND column_name = $3)",
            [schema.into(), table.into(), column.into()],
        ))
        .await?;
    Ok(row.and_then(|r| r.try_get_by_index::<bool>(0).ok()).unwrap_or(false))
}

async fn rows(db: &DatabaseConnection, sql: &str) -> AppResult<Vec<sea_orm::QueryResult>> {
    Ok(db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await?)
}

/// Reads the old database (PostgreSQL): the ORM's schema when `public.tareas` is there, else
/// the minimal one in `gad`.
pub async fn read(db: &DatabaseConnection) -> AppResult<LegacyData> {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Err(AppError::validation("from", "La base del sistema anterior debe ser PostgreSQL."));
    }
    if has_table(db, "public", "tareas").await? && has_table(db, "public", "usuarios").await? {
        read_orm(db).await
    } else if has_table(db, "gad", "tareas").await? && has_table(db, "gad", "usuarios").await? {
        read_minimal(db).await
    } else {
        Err(AppError::validation("from", "No se encontraron las tablas de GRUPO GAD (usuarios, efectivos, tareas)."))
    }
}

/// `{1,2}` (an array's text) or `[1, 2]` (JSON): the numbers in it.
fn numbers(text: &str) -> Vec<i64> {
    text.split(|c: char| !c.is_ascii_digit() && c != '-').filter_map(|n| n.parse().ok()).collect()
}

fn opt_text(r: &sea_orm::QueryResult, i: usize) -> Option<String> {
    r.try_get_by_index::<Option<String>>(i).ok().flatten().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn text(r: &sea_orm::QueryResult, i: usize) -> String {
    opt_text(r, i).unwrap_or_default()
}

fn opt_i64(r: &sea_orm::QueryResult, i: usize) -> Option<i64> {
    r.try_get_by_index::<Option<i64>>(i).ok().flatten()
}

fn opt_f64(r: &sea_orm::QueryResult, i: usize) -> Option<f64> {
    r.try_get_by_index::<Option<f64>>(i).ok().flatten()
}

fn opt_at(r: &sea_orm::QueryResult, i: usize) -> Option<DateTime<Utc>> {
    r.try_get_by_index::<Option<DateTime<Utc>>>(i).ok().flatten()
}

fn flag(r: &sea_orm::QueryResult, i: usize) -> bool {
    r.try_get_by_index::<bool>(i).unwrap_or(false)
}

fn position(lat: Option<f64>, lon: Option<f64>) -> Option<(f64, f64)> {
    lat.zip(lon).filter(|(lat, lon)| (-90.0..=90.0).contains(lat) && (-180.0..=180.0).contains(lon))
}

async fn read_orm(db: &DatabaseConnection) -> AppResult<LegacyData> {
    let users = rows(
        db,
        "SELECT id::bigint, dni, nombre, apellido, email, telefono, telegram_id::bigint, nivel::text,
                deleted_at IS NOT NULL
           FROM public.usuarios ORDER BY id",
    )
    .await?
    .iter()
    .map(|r| LegacyUser {
        id: opt_i64(r, 0).unwrap_or_default(),
        dni: opt_text(r, 1),
        first_name: text(r, 2),
        last_name: text(r, 3),
        email: opt_text(r, 4),
        phone: opt_text(r, 5),
        telegram_id: opt_i64(r, 6),
        level: text(r, 7),
        deleted: flag(r, 8),
    })
    .collect();
    let geom = if has_column(db, "public", "efectivos", "geom").await? {
        "ST_Y(e.geom::geometry)::float8, ST_X(e.geom::geometry)::float8"
    } else {
        "NULL::float8, NULL::float8"
    };
    let officers = rows(
        db,
        &format!(
            "SELECT e.id::bigint, e.usuario_id::bigint, e.codigo_interno, u.nombre, u.apellido, e.rango,
                    e.unidad, e.especialidad, e.estado_disponibilidad::text, {geom},
                    e.ultima_actualizacion_estado, e.deleted_at IS NOT NULL
               FROM public.efectivos e LEFT JOIN public.usuarios u ON u.id = e.usuario_id ORDER BY e.id"
        ),
    )
    .await?
    .iter()
    .map(|r| LegacyOfficer {
        id: opt_i64(r, 0).unwrap_or_default(),
        user_id: opt_i64(r, 1),
        code: text(r, 2),
        first_name: text(r, 3),
        last_name: text(r, 4),
        rank: opt_text(r, 5),
        unit: opt_text(r, 6),
        specialty: opt_text(r, 7),
        status: text(r, 8),
        position: position(opt_f64(r, 9), opt_f64(r, 10)),
        status_at: opt_at(r, 11),
        deleted: flag(r, 12),
    })
    .collect();
    let tasks = rows(
        db,
        "SELECT id::bigint, codigo, titulo, descripcion, tipo::text, prioridad::text, estado::text,
                inicio_programado, fin_programado, inicio_real, fin_real, delegado_usuario_id::bigint,
                creado_por_usuario_id::bigint, ubicacion_lat::float8, ubicacion_lon::float8,
                ubicacion_descripcion, notas::text, efectivos_asignados::text,
                created_at AT TIME ZONE 'UTC', deleted_at IS NOT NULL
           FROM public.tareas ORDER BY id",
    )
    .await?
    .iter()
    .map(|r| LegacyTask {
        id: opt_i64(r, 0).unwrap_or_default(),
        code: text(r, 1),
        title: text(r, 2),
        description: opt_text(r, 3),
        task_type: text(r, 4),
        priority: opt_text(r, 5),
        status: text(r, 6),
        scheduled_start: opt_at(r, 7),
        scheduled_end: opt_at(r, 8),
        actual_start: opt_at(r, 9),
        actual_end: opt_at(r, 10),
        delegate_id: opt_i64(r, 11),
        created_by_id: opt_i64(r, 12),
        position: position(opt_f64(r, 13), opt_f64(r, 14)),
        location_text: opt_text(r, 15),
        notes: opt_text(r, 16).filter(|n| !matches!(n.as_str(), "[]" | "{}" | "null")),
        array_officers: opt_text(r, 17).map(|t| numbers(&t)),
        created_at: opt_at(r, 18),
        deleted: flag(r, 19),
    })
    .collect();
    let assignments = pairs(db, "SELECT tarea_id::bigint, efectivo_id::bigint FROM public.tarea_efectivos").await?;
    let history = if has_table(db, "public", "historial_estados").await? {
        rows(
            db,
            "SELECT tarea_id::bigint, estado_anterior::text, estado_nuevo::text, usuario_id::bigint, motivo,
                    created_at AT TIME ZONE 'UTC'
               FROM public.historial_estados WHERE deleted_at IS NULL ORDER BY created_at, id",
        )
        .await?
        .iter()
        .filter_map(|r| {
            Some(LegacyHistory {
                task_id: opt_i64(r, 0)?,
                from: opt_text(r, 1),
                to: opt_text(r, 2)?,
                user_id: opt_i64(r, 3),
                reason: opt_text(r, 4),
                at: opt_at(r, 5)?,
            })
        })
        .collect()
    } else {
        Vec::new()
    };
    Ok(LegacyData { schema: Schema::Orm, users, officers, tasks, assignments, history })
}

async fn pairs(db: &DatabaseConnection, sql: &str) -> AppResult<Vec<(i64, i64)>> {
    Ok(rows(db, sql).await?.iter().filter_map(|r| Some((opt_i64(r, 0)?, opt_i64(r, 1)?))).collect())
}

/// `Juan Pérez` → (`Juan`, `Pérez`).
fn split_name(name: &str) -> (String, String) {
    match name.trim().split_once(' ') {
        Some((first, last)) => (first.to_owned(), last.trim().to_owned()),
        None => (name.trim().to_owned(), String::new()),
    }
}

async fn read_minimal(db: &DatabaseConnection) -> AppResult<LegacyData> {
    let users = rows(db, "SELECT id::bigint, nombre, telegram_id::bigint, nivel::text FROM gad.usuarios ORDER BY id")
        .await?
        .iter()
        .map(|r| {
            let (first_name, last_name) = split_name(&text(r, 1));
            LegacyUser {
                id: opt_i64(r, 0).unwrap_or_default(),
                dni: None,
                first_name,
                last_name,
                email: None,
                phone: None,
                telegram_id: opt_i64(r, 2),
                level: text(r, 3),
                deleted: false,
            }
        })
        .collect();
    let officers = rows(
        db,
        "SELECT id::bigint, usuario_id::bigint, dni, nombre, especialidad, estado_disponibilidad::text
           FROM gad.efectivos ORDER BY id",
    )
    .await?
    .iter()
    .map(|r| {
        let (first_name, last_name) = split_name(&text(r, 3));
        LegacyOfficer {
            id: opt_i64(r, 0).unwrap_or_default(),
            user_id: opt_i64(r, 1),
            code: text(r, 2),
            first_name,
            last_name,
            rank: None,
            unit: None,
            specialty: opt_text(r, 4),
            status: text(r, 5),
            position: None,
            status_at: None,
            deleted: false,
        }
    })
    .collect();
    let tasks = rows(
        db,
        "SELECT id::bigint, codigo, titulo, tipo, estado::text, inicio_programado, inicio_real, fin_real,
                delegado_usuario_id::bigint
           FROM gad.tareas ORDER BY id",
    )
    .await?
    .iter()
    .map(|r| LegacyTask {
        id: opt_i64(r, 0).unwrap_or_default(),
        code: text(r, 1),
        title: text(r, 2),
        description: None,
        task_type: text(r, 3),
        priority: None,
        status: text(r, 4),
        scheduled_start: opt_at(r, 5),
        scheduled_end: None,
        actual_start: opt_at(r, 6),
        actual_end: opt_at(r, 7),
        delegate_id: opt_i64(r, 8),
        created_by_id: None,
        position: None,
        location_text: None,
        notes: None,
        array_officers: None,
        created_at: None,
        deleted: false,
    })
    .collect();
    let assignments = pairs(db, "SELECT tarea_id::bigint, efectivo_id::bigint FROM gad.tarea_asignaciones").await?;
    Ok(LegacyData { schema: Schema::Minimal, users, officers, tasks, assignments, history: Vec::new() })
}

// ---------------------------------------------------------------------------------------------
// Mapping.

fn role_of(level: &str) -> Option<Role> {
    match level.trim().to_ascii_uppercase().as_str() {
        "1" | "LEVEL_1" => Some(Role::Officer),
        "2" | "LEVEL_2" => Some(Role::Supervisor),
        "3" | "LEVEL_3" => Some(Role::Admin),
        _ => None,
    }
}

fn officer_status(status: &str) -> Option<OfficerStatus> {
    match status.trim().to_ascii_lowercase().as_str() {
        "disponible" | "activo" => Some(OfficerStatus::Available),
        "en_tarea" => Some(OfficerStatus::OnTask),
        "fuera_servicio" => Some(OfficerStatus::OffDuty),
        "no_disponible" | "en_licencia" => Some(OfficerStatus::Unavailable),
        _ => None,
    }
}

fn task_status(status: &str) -> Option<TaskStatus> {
    match status.trim().to_ascii_lowercase().as_str() {
        "programmed" | "programada" => Some(TaskStatus::Scheduled),
        "in_progress" | "en_curso" => Some(TaskStatus::InProgress),
        "paused" | "pausada" => Some(TaskStatus::Paused),
        "completed" | "finalizada" => Some(TaskStatus::Completed),
        "cancelled" | "cancelada" => Some(TaskStatus::Cancelled),
        _ => None,
    }
}

/// The ORM's enum, or the minimal schema's free text by its stem.
fn task_type(text: &str) -> Option<TaskType> {
    let t = text.trim().to_lowercase();
    let has = |stem: &str| t.contains(stem);
    if has("patrull") {
        Some(TaskType::Patrol)
    } else if has("investig") {
        Some(TaskType::Investigation)
    } else if has("vigil") {
        Some(TaskType::Surveillance)
    } else if has("interven") || has("allanamiento") || has("operativo") {
        Some(TaskType::Intervention)
    } else if has("administ") {
        Some(TaskType::Administrative)
    } else if has("entrena") || has("capacita") {
        Some(TaskType::Training)
    } else if has("emergen") {
        Some(TaskType::Emergency)
    } else {
        None
    }
}

fn priority(text: Option<&str>) -> Option<TaskPriority> {
    match text.map(|p| p.trim().to_ascii_uppercase()).as_deref() {
        None | Some("") | Some("MEDIUM") => Some(TaskPriority::Medium),
        Some("LOW") => Some(TaskPriority::Low),
        Some("HIGH") => Some(TaskPriority::High),
        Some("URGENT") => Some(TaskPriority::Urgent),
        Some("CRITICAL") => Some(TaskPriority::Critical),
        Some(_) => None,
    }
}

/// At most `max` characters: a history reason longer than GAD's transition notes is cut, not
/// refused (the change itself happened).
fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Names for a person the old schema recorded without one (its minimal `usuarios` and
/// `efectivos` have a single name field).
const NO_FIRST_NAME: &str = "Sin nombre";
const NO_LAST_NAME: &str = "Sin apellido";

// ---------------------------------------------------------------------------------------------
// Writing.

/// Imports `data` as `actor` (admins: [`Capability::ImportData`]); `dry_run` writes nothing.
pub async fn import(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    data: LegacyData,
    dry_run: bool,
) -> AppResult<LegacyReport> {
    require(actor, Capability::ImportData)?;
    let mut report = LegacyReport::default();
    let txn = WriteTxn::begin(state).await?;
    txn.plan_for_growing_tables().await?;
    let db: &sea_orm::DatabaseTransaction = &txn;
    let now = Utc::now();
    let refuse = |report: &mut LegacyReport, file: &'static str, id: i64, reason: String| {
        report.refused.push(RefusedRow { file, line: id.max(0) as u64, reason });
    };

    // Users: by e-mail.
    let mut user_ids: HashMap<i64, (i64, Role)> = HashMap::new();
    for (n, u) in data.users.iter().filter(|u| !u.deleted).enumerate() {
        super::import::progress("usuarios", n, data.users.len());
        let Some(role) = role_of(&u.level) else {
            report.users.refused += 1;
            refuse(&mut report, "usuarios", u.id, format!("nivel desconocido «{}»", u.level));
            continue;
        };
        let email = u
            .email
            .clone()
            .map(|e| e.trim().to_lowercase())
            .filter(|e| e.contains('@'))
            .unwrap_or_else(|| format!("usuario-legado-{}@gad.local", u.id));
        if let Some(existing) = users::Entity::find().filter(users::Column::Email.eq(&email)).one(db).await? {
            report.users.present += 1;
            user_ids.insert(u.id, (existing.id, existing.role));
            continue;
        }
        // The minimal schema has no DNI and one name field: a stable placeholder for each, so
        // the row passes the checks every user passes (a DNI of 7–12 letters and digits).
        let dni = u.dni.clone().map_or_else(|| format!("LEGADO{}", u.id), |d| d.trim().to_uppercase());
        let first = if u.first_name.is_empty() { NO_FIRST_NAME.to_owned() } else { u.first_name.clone() };
        let last = if u.last_name.is_empty() { NO_LAST_NAME.to_owned() } else { u.last_name.clone() };
        let phone = u.phone.clone();
        let checked = crate::services::users::validate_profile(&dni, &first, &last, &email)
            .and_then(|()| crate::services::users::validate_phone(phone.as_deref()));
        if let Err(e) = checked {
            report.users.refused += 1;
            refuse(&mut report, "usuarios", u.id, crate::services::import::reason(e));
            continue;
        }
        if users::Entity::find().filter(users::Column::Dni.eq(&dni)).one(db).await?.is_some() {
            report.users.refused += 1;
            refuse(&mut report, "usuarios", u.id, format!("el DNI {dni} ya es de otro usuario"));
            continue;
        }
        // Telegram ids are 64-bit; one that went through a 32-bit column wrapped to a negative.
        let telegram = match u.telegram_id {
            Some(id) if id <= 0 => {
                report.warnings.push(format!(
                    "usuario {}: el id de Telegram {id} está desbordado (no cabía en INTEGER); no se vincula",
                    u.id
                ));
                None
            }
            Some(id) if users::Entity::find().filter(users::Column::TelegramUserId.eq(id)).one(db).await?.is_some() => {
                report
                    .warnings
                    .push(format!("usuario {}: su cuenta de Telegram ya está vinculada a otro usuario", u.id));
                None
            }
            other => other,
        };
        let user = users::ActiveModel {
            dni: Set(dni),
            first_name: Set(first.trim().to_owned()),
            last_name: Set(last.trim().to_owned()),
            email: Set(email),
            phone: Set(phone.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty())),
            telegram_user_id: Set(telegram),
            role: Set(role),
            password_hash: Set(None),
            is_active: Set(true),
            must_change_password: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        report.users.added += 1;
        user_ids.insert(u.id, (user.id, role));
    }
    report.users.refused += data.users.iter().filter(|u| u.deleted).count();
    for u in data.users.iter().filter(|u| u.deleted) {
        refuse(&mut report, "usuarios", u.id, "dado de baja en el sistema anterior".into());
    }

    // Officers: by code.
    let mut officer_ids: HashMap<i64, i64> = HashMap::new();
    for (n, o) in data.officers.iter().enumerate() {
        super::import::progress("efectivos", n, data.officers.len());
        if o.deleted {
            report.officers.refused += 1;
            refuse(&mut report, "efectivos", o.id, "dado de baja en el sistema anterior".into());
            continue;
        }
        let user_id = o.user_id.and_then(|id| user_ids.get(&id)).map(|(id, _)| *id);
        // Checked as the dashboard checks a new officer (code, names, rank, unit, lengths).
        let input = OfficerInput {
            code: o.code.clone(),
            first_name: if o.first_name.is_empty() { NO_FIRST_NAME.to_owned() } else { o.first_name.clone() },
            last_name: if o.last_name.is_empty() { NO_LAST_NAME.to_owned() } else { o.last_name.clone() },
            rank: o.rank.clone().unwrap_or_else(|| "Sin jerarquía".to_owned()),
            unit: o.unit.clone().unwrap_or_else(|| "Sin unidad".to_owned()),
            specialty: o.specialty.clone(),
            user_id,
        };
        let input = match crate::services::officers::validate_input(input) {
            Ok(input) => input,
            Err(e) => {
                report.officers.refused += 1;
                refuse(&mut report, "efectivos", o.id, crate::services::import::reason(e));
                continue;
            }
        };
        let Some(status) = officer_status(&o.status) else {
            report.officers.refused += 1;
            refuse(&mut report, "efectivos", o.id, format!("estado desconocido «{}»", o.status));
            continue;
        };
        let code = input.code.clone();
        if let Some(existing) = officers::Entity::find().filter(officers::Column::Code.eq(&code)).one(db).await? {
            if existing.deleted_at.is_some() {
                report.officers.refused += 1;
                refuse(&mut report, "efectivos", o.id, format!("el código {code} es de un efectivo dado de baja"));
            } else {
                report.officers.present += 1;
                officer_ids.insert(o.id, existing.id);
            }
            continue;
        }
        if o.position.is_some() && o.status_at.is_none() {
            report.warnings.push(format!("efectivo {}: posición sin fecha; se importa sin posición", o.id));
        }
        let position = o.position.filter(|_| o.status_at.is_some());
        let at = o.status_at.unwrap_or(now);
        let officer = officers::ActiveModel {
            user_id: Set(input.user_id),
            code: Set(input.code),
            first_name: Set(input.first_name),
            last_name: Set(input.last_name),
            rank: Set(input.rank),
            unit: Set(input.unit),
            specialty: Set(input.specialty),
            status: Set(status),
            status_changed_at: Set(at),
            last_lat: Set(position.map(|p| p.0)),
            last_lon: Set(position.map(|p| p.1)),
            last_position_at: Set(position.map(|_| at)),
            last_position_source: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
            ..Default::default()
        }
        .insert(db)
        .await?;
        report.officers.added += 1;
        officer_ids.insert(o.id, officer.id);
    }

    // Tasks: by code; the join table is the truth about who was assigned.
    let mut joined: HashMap<i64, BTreeSet<i64>> = HashMap::new();
    for (task, officer) in &data.assignments {
        joined.entry(*task).or_default().insert(*officer);
    }
    let mut history_of: HashMap<i64, Vec<&LegacyHistory>> = HashMap::new();
    for h in &data.history {
        history_of.entry(h.task_id).or_default().push(h);
    }
    task_service::reserve_custom_codes(db, data.tasks.iter().map(|t| t.code.trim().to_uppercase())).await?;
    for (n, t) in data.tasks.iter().enumerate() {
        super::import::progress("tareas", n, data.tasks.len());
        let refused = |report: &mut LegacyReport, reason: String| {
            report.tasks.refused += 1;
            report.refused.push(RefusedRow { file: "tareas", line: t.id.max(0) as u64, reason });
        };
        if t.deleted {
            refused(&mut report, "dada de baja en el sistema anterior".into());
            continue;
        }
        let (Some(kind), Some(status), Some(prio)) =
            (task_type(&t.task_type), task_status(&t.status), priority(t.priority.as_deref()))
        else {
            refused(
                &mut report,
                format!(
                    "tipo, estado o prioridad desconocidos («{}», «{}», «{}»)",
                    t.task_type,
                    t.status,
                    t.priority.as_deref().unwrap_or("")
                ),
            );
            continue;
        };
        if let (Some(start), Some(end)) = (t.actual_start, t.actual_end)
            && end < start
        {
            refused(&mut report, "termina antes de empezar".into());
            continue;
        }
        // Checked as the dashboard checks a new task (code, title, texts, schedule, place).
        let code = t.code.trim().to_uppercase();
        let scheduled_end = t.scheduled_end.filter(|end| t.scheduled_start.is_none_or(|s| *end > s));
        let (lat, lon) = (t.position.map(|p| p.0), t.position.map(|p| p.1));
        let mut errors = Errors::new();
        task_service::check_code(&mut errors, &code);
        task_service::check_title(&mut errors, t.title.trim());
        task_service::check_texts(
            &mut errors,
            t.description.as_deref(),
            t.location_text.as_deref(),
            t.notes.as_deref(),
        );
        task_service::check_schedule(&mut errors, t.scheduled_start, scheduled_end);
        task_service::check_location(&mut errors, lat, lon);
        if let Err(e) = errors.finish() {
            refused(&mut report, crate::services::import::reason(e));
            continue;
        }
        if tasks::Entity::find().filter(tasks::Column::Code.eq(&code)).one(db).await?.is_some() {
            report.tasks.present += 1;
            continue;
        }
        let in_join = joined.get(&t.id).cloned().unwrap_or_default();
        if let Some(array) = &t.array_officers {
            let in_array: BTreeSet<i64> = array.iter().copied().collect();
            if in_array != in_join {
                report.warnings.push(format!(
                    "tarea {code}: efectivos_asignados {in_array:?} y tarea_efectivos {in_join:?} no coinciden; se tomó tarea_efectivos"
                ));
            }
        }
        let mut officers_of_task = Vec::new();
        for old in &in_join {
            match officer_ids.get(old) {
                Some(id) => officers_of_task.push(*id),
                None => report.warnings.push(format!("tarea {code}: el efectivo {old} no se importó; no se asigna")),
            }
        }
        let supervisor = t
            .delegate_id
            .and_then(|id| user_ids.get(&id))
            .filter(|(_, role)| matches!(role, Role::Supervisor | Role::Admin))
            .map(|(id, _)| *id);
        let created_by = t.created_by_id.and_then(|id| user_ids.get(&id)).map_or(actor.user_id, |(id, _)| *id);
        let created_at = t.created_at.or(t.scheduled_start).unwrap_or(now);
        let task = tasks::ActiveModel {
            code: Set(code.clone()),
            title: Set(t.title.trim().to_owned()),
            description: Set(t.description.clone()),
            task_type: Set(kind),
            priority: Set(prio),
            status: Set(status),
            scheduled_start: Set(t.scheduled_start),
            scheduled_end: Set(scheduled_end),
            actual_start: Set(t.actual_start),
            actual_end: Set(t.actual_end),
            paused_at: Set((status == TaskStatus::Paused).then_some(t.actual_start.unwrap_or(now))),
            paused_seconds: Set(0),
            supervisor_id: Set(supervisor),
            created_by: Set(created_by),
            lat: Set(lat),
            lon: Set(lon),
            location_text: Set(t.location_text.clone()),
            notes: Set(t.notes.clone()),
            created_at: Set(created_at),
            updated_at: Set(now),
            deleted_at: Set(None),
            ..Default::default()
        }
        .insert(db)
        .await?;
        task_service::insert_assignments(&txn, task.id, &officers_of_task, actor, true, created_at).await?;
        let changes = history_of.get(&t.id).cloned().unwrap_or_default();
        let mut recorded = 0;
        for h in changes {
            let Some(to) = task_status(&h.to) else {
                report.warnings.push(format!("tarea {code}: un cambio a «{}» no se reconoce; se omite", h.to));
                continue;
            };
            task_status_history::ActiveModel {
                task_id: Set(task.id),
                from_status: Set(h.from.as_deref().and_then(task_status)),
                to_status: Set(to),
                changed_by: Set(h.user_id.and_then(|id| user_ids.get(&id)).map(|(id, _)| *id)),
                channel: Set(Channel::System),
                reason: Set(h.reason.as_deref().map(|r| cut(r, task_service::REASON_MAX))),
                created_at: Set(h.at),
                ..Default::default()
            }
            .insert(db)
            .await?;
            recorded += 1;
        }
        if recorded == 0 {
            task_status_history::ActiveModel {
                task_id: Set(task.id),
                from_status: Set(None),
                to_status: Set(status),
                changed_by: Set(Some(actor.user_id)),
                channel: Set(Channel::System),
                reason: Set(Some("Importada desde GRUPO GAD.".to_owned())),
                created_at: Set(created_at),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
        report.history += recorded;
        report.tasks.added += 1;
    }

    let entry = AuditEntry::new("import.legacy", "import", "legacy").after(json!({
        "schema": data.schema,
        "users": report.users,
        "officers": report.officers,
        "tasks": report.tasks,
        "history": report.history,
        "refused": report.refused.len(),
        "warnings": report.warnings.len(),
        "dry_run": dry_run,
    }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    if dry_run {
        drop(txn);
    } else {
        txn.commit().await?;
        report.written = true;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_vocabularies_map_to_gad() {
        assert_eq!(role_of("LEVEL_3"), Some(Role::Admin));
        assert_eq!(role_of("2"), Some(Role::Supervisor));
        assert_eq!(role_of("4"), None);
        assert_eq!(task_type("allanamiento"), Some(TaskType::Intervention));
        assert_eq!(task_type("PATRULLAJE"), Some(TaskType::Patrol));
        assert_eq!(task_type("otra cosa"), None);
        assert_eq!(task_status("finalizada"), Some(TaskStatus::Completed));
        assert_eq!(task_status("PAUSED"), Some(TaskStatus::Paused));
        assert_eq!(officer_status("en_licencia"), Some(OfficerStatus::Unavailable));
        assert_eq!(priority(None), Some(TaskPriority::Medium));
        assert_eq!(priority(Some("nope")), None);
        assert_eq!(numbers("{1,2,30}"), [1, 2, 30]);
        assert_eq!(numbers("[4, 5]"), [4, 5]);
        assert_eq!(split_name("Juan Carlos Pérez"), ("Juan".into(), "Carlos Pérez".into()));
    }
}

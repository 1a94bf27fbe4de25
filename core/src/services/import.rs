//! `gad import csv`: officers and tasks from the spreadsheets a force keeps today.
//!
//! The files are UTF-8 with or without a byte-order mark, separated by `;` or `,` (whichever
//! the header line uses more), with a header row naming the columns (case, accents and spaces
//! do not matter); dates are Argentine (`15/01/2031 08:00`, in the configured time zone) and
//! decimals take a comma or a point. The columns are in docs/OPERATIONS.md ("Importing").
//!
//! One transaction for the whole import: every row is checked, the valid ones are written,
//! the refused ones are reported with their line and reason; a dry run does all of it and rolls
//! back, so it reports exactly what the real run would do. The code is the stable key of a row:
//! an officer or task whose code already exists is left as it is, so a second run adds nothing.
//! Imported tasks are scheduled, assigned as the file says (overlaps allowed, as they were in
//! the old records), and their history says where they came from; one audit row records the
//! import. No event is published: nobody is notified of a spreadsheet's tasks, and other
//! processes see them when their views expire (seconds).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::actor::Actor;
use crate::db::WriteTxn;
use crate::entities::{officers, tasks};
use crate::error::{AppError, AppResult};
use crate::meta::AuditMeta;
use crate::permissions::{Capability, require};
use crate::services::audit::{self, AuditEntry};
use crate::services::tasks as task_service;
use crate::state::AppState;
use crate::validate::Errors;
use contract::domain::{TaskPriority, TaskType};
use contract::officers::OfficerInput;

/// The texts of the files to import (either may be absent).
#[derive(Clone, Debug, Default)]
pub struct CsvFiles {
    pub officers: Option<String>,
    pub tasks: Option<String>,
}

/// What happened to the rows of one file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Written by this run (or, in a dry run, that would be).
    pub added: usize,
    /// Already there (same code): left as they are.
    pub present: usize,
    pub refused: usize,
}

/// A row that was not imported, and why (in Spanish, for the person who fixes the file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedRow {
    pub file: &'static str,
    pub line: u64,
    pub reason: String,
}

#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    pub officers: Counts,
    pub tasks: Counts,
    pub refused: Vec<RefusedRow>,
    /// False for a dry run: nothing was written.
    pub written: bool,
}

/// Imports `files` as `actor` (admins: [`Capability::ImportData`]); `dry_run` writes nothing.
pub async fn import_csv(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    files: CsvFiles,
    dry_run: bool,
) -> AppResult<ImportReport> {
    require(actor, Capability::ImportData)?;
    let officer_sheet = files.officers.as_deref().map(|t| Sheet::read(t, "efectivos")).transpose()?;
    let task_sheet = files.tasks.as_deref().map(|t| Sheet::read(t, "tareas")).transpose()?;
    if let Some(sheet) = &officer_sheet {
        sheet.require_columns(&[&["codigo"], &["nombre"], &["apellido"], RANK, &["unidad"]])?;
    }
    if let Some(sheet) = &task_sheet {
        sheet.require_columns(&[&["codigo"], TITLE, &["tipo"]])?;
    }
    let mut report = ImportReport::default();
    let txn = WriteTxn::begin(state).await?;
    txn.plan_for_growing_tables().await?;
    // Officer codes known so far (the database's and the file's), to their ids.
    let mut officer_ids: HashMap<String, i64> = HashMap::new();

    if let Some(sheet) = &officer_sheet {
        let mut seen: HashMap<String, u64> = HashMap::new();
        for (n, (line, row)) in sheet.rows.iter().enumerate() {
            progress("efectivos", n, sheet.rows.len());
            let refuse = |report: &mut ImportReport, reason: String| {
                report.officers.refused += 1;
                report.refused.push(RefusedRow { file: "efectivos", line: *line, reason });
            };
            let input = match officer_input(sheet, row) {
                Ok(input) => input,
                Err(reason) => {
                    refuse(&mut report, reason);
                    continue;
                }
            };
            if let Some(first) = seen.get(&input.code).copied() {
                refuse(&mut report, format!("el código {} ya figura en la línea {first}", input.code));
                continue;
            }
            seen.insert(input.code.clone(), *line);
            let existing = officers::Entity::find().filter(officers::Column::Code.eq(&input.code)).one(&*txn).await?;
            match existing {
                // The code is taken for good (codes are unique, removed officers included):
                // neither revived nor given to tasks.
                Some(officer) if officer.deleted_at.is_some() => {
                    refuse(&mut report, format!("el código {} es de un efectivo dado de baja", input.code));
                }
                Some(officer) => {
                    report.officers.present += 1;
                    officer_ids.insert(officer.code, officer.id);
                }
                None => {
                    let officer = crate::services::officers::insert_new(&txn, actor, meta, input).await?;
                    report.officers.added += 1;
                    officer_ids.insert(officer.code, officer.id);
                }
            }
        }
    }

    if let Some(sheet) = &task_sheet {
        let codes = sheet.rows.iter().map(|(_, row)| sheet.get(row, &["codigo"]).unwrap_or_default().to_uppercase());
        task_service::reserve_custom_codes(&*txn, codes).await?;
        let tz = state.config.timezone;
        let at = Utc::now();
        let mut seen: HashMap<String, u64> = HashMap::new();
        for (n, (line, row)) in sheet.rows.iter().enumerate() {
            progress("tareas", n, sheet.rows.len());
            let refuse = |report: &mut ImportReport, reason: String| {
                report.tasks.refused += 1;
                report.refused.push(RefusedRow { file: "tareas", line: *line, reason });
            };
            let (task, codes) = match task_row(sheet, row, tz) {
                Ok(parsed) => parsed,
                Err(reason) => {
                    refuse(&mut report, reason);
                    continue;
                }
            };
            if let Some(first) = seen.get(&task.code).copied() {
                refuse(&mut report, format!("el código {} ya figura en la línea {first}", task.code));
                continue;
            }
            seen.insert(task.code.clone(), *line);
            if tasks::Entity::find().filter(tasks::Column::Code.eq(&task.code)).one(&*txn).await?.is_some() {
                report.tasks.present += 1;
                continue;
            }
            let mut ids = Vec::new();
            let mut missing = Vec::new();
            for code in codes {
                let id = match officer_ids.get(&code) {
                    Some(id) => Some(*id),
                    None => {
                        let found = officers::Entity::find()
                            .filter(officers::Column::Code.eq(&code))
                            .filter(officers::Column::DeletedAt.is_null())
                            .one(&*txn)
                            .await?;
                        found.map(|o| {
                            officer_ids.insert(o.code, o.id);
                            o.id
                        })
                    }
                };
                match id {
                    Some(id) if !ids.contains(&id) => ids.push(id),
                    Some(_) => {}
                    None => missing.push(code),
                }
            }
            if !missing.is_empty() {
                refuse(&mut report, format!("no existe el efectivo {}", missing.join(", ")));
                continue;
            }
            let reason = Some("Importada desde una planilla CSV.".to_owned());
            task_service::insert_task(&txn, actor, task, &ids, true, reason, at).await?;
            report.tasks.added += 1;
        }
    }

    let entry = AuditEntry::new("import.csv", "import", "csv").after(json!({
        "officers": report.officers,
        "tasks": report.tasks,
        "dry_run": dry_run,
    }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    if dry_run {
        // Dropped: rolled back, so the report is exactly what the real run would do.
        drop(txn);
    } else {
        txn.commit().await?;
        report.written = true;
    }
    Ok(report)
}

/// A progress line every thousand rows of a long import (the log, stderr).
pub(crate) fn progress(file: &str, done: usize, total: usize) {
    if done > 0 && done.is_multiple_of(1000) {
        tracing::info!(file, done, total, "importing: {}%", done * 100 / total.max(1));
    }
}

const RANK: &[&str] = &["jerarquia", "rango", "grado"];
const TITLE: &[&str] = &["titulo", "tarea"];

/// One row of an officers' file, checked as the dashboard checks a new officer.
fn officer_input(sheet: &Sheet, row: &[String]) -> Result<OfficerInput, String> {
    let input = OfficerInput {
        code: sheet.get(row, &["codigo"]).unwrap_or_default().to_owned(),
        first_name: sheet.get(row, &["nombre", "nombres"]).unwrap_or_default().to_owned(),
        last_name: sheet.get(row, &["apellido", "apellidos"]).unwrap_or_default().to_owned(),
        rank: sheet.get(row, RANK).unwrap_or_default().to_owned(),
        unit: sheet.get(row, &["unidad", "dependencia"]).unwrap_or_default().to_owned(),
        specialty: sheet.get(row, &["especialidad"]).map(str::to_owned),
        user_id: None,
    };
    crate::services::officers::validate_input(input).map_err(reason)
}

/// One row of a tasks' file: the task, checked as the dashboard checks a new one, and the
/// codes of its officers.
fn task_row(sheet: &Sheet, row: &[String], tz: chrono_tz::Tz) -> Result<(task_service::TaskRow, Vec<String>), String> {
    let mut problems = Vec::new();
    let code = sheet.get(row, &["codigo"]).unwrap_or_default().to_uppercase();
    let title = sheet.get(row, TITLE).unwrap_or_default().to_owned();
    let kind = sheet.get(row, &["tipo"]).unwrap_or_default();
    let task_type = TaskType::ALL
        .iter()
        .copied()
        .find(|t| [t.label_es(), t.as_str(), t.code_prefix()].iter().any(|name| plain(name) == plain(kind)));
    if task_type.is_none() {
        problems.push(format!("tipo desconocido «{kind}»"));
    }
    let priority = match sheet.get(row, &["prioridad"]) {
        None => Some(TaskPriority::Medium),
        Some(p) => {
            let found = TaskPriority::ALL
                .iter()
                .copied()
                .find(|t| [t.label_es(), t.as_str()].iter().any(|name| plain(name) == plain(p)));
            if found.is_none() {
                problems.push(format!("prioridad desconocida «{p}»"));
            }
            found
        }
    };
    let mut when = |names: &[&str]| match sheet.get(row, names) {
        None => None,
        Some(text) => local_instant(text, tz).or_else(|| {
            problems.push(format!("fecha ilegible «{text}» (dd/mm/aaaa hh:mm)"));
            None
        }),
    };
    let scheduled_start = when(&["inicio", "inicio_programado", "fecha"]);
    let scheduled_end = when(&["fin", "fin_programado"]);
    let mut number = |names: &[&str]| match sheet.get(row, names) {
        None => None,
        Some(text) => text.replace(',', ".").parse::<f64>().ok().filter(|v| v.is_finite()).or_else(|| {
            problems.push(format!("número ilegible «{text}»"));
            None
        }),
    };
    let lat = number(&["latitud", "lat"]);
    let lon = number(&["longitud", "lon"]);
    let location_text = task_service::clean(sheet.get(row, &["lugar", "ubicacion", "direccion"]).map(str::to_owned));
    let description = task_service::clean(sheet.get(row, &["descripcion"]).map(str::to_owned));
    let notes = task_service::clean(sheet.get(row, &["notas", "observaciones"]).map(str::to_owned));
    let officers: Vec<String> = sheet
        .get(row, &["efectivos", "codigos_efectivos"])
        .unwrap_or_default()
        .split(|c: char| c.is_whitespace() || matches!(c, '|' | '/' | ',' | ';'))
        .filter(|c| !c.is_empty())
        .map(str::to_uppercase)
        .collect();

    let mut errors = Errors::new();
    task_service::check_code(&mut errors, &code);
    task_service::check_title(&mut errors, &title);
    task_service::check_texts(&mut errors, description.as_deref(), location_text.as_deref(), notes.as_deref());
    task_service::check_schedule(&mut errors, scheduled_start, scheduled_end);
    task_service::check_location(&mut errors, lat, lon);
    if let Err(e) = errors.finish() {
        problems.push(reason(e));
    }
    match (problems.is_empty(), task_type, priority) {
        (true, Some(task_type), Some(priority)) => Ok((
            task_service::TaskRow {
                code,
                title,
                description,
                task_type,
                priority,
                scheduled_start,
                scheduled_end,
                supervisor_id: None,
                lat,
                lon,
                location_text,
                notes,
            },
            officers,
        )),
        _ => Err(problems.join("; ")),
    }
}

/// `15/01/2031 08:00` (or `15/01/2031`, or ISO `2031-01-15 08:00`) in `tz`.
fn local_instant(text: &str, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let text = text.trim();
    let naive = ["%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            ["%d/%m/%Y", "%Y-%m-%d"]
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(text, f).ok())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    if !crate::services::day_in_range(naive.date()) {
        return None;
    }
    tz.from_local_datetime(&naive).earliest().map(|t| t.with_timezone(&Utc))
}

/// The messages of a refused value, in one line.
pub(crate) fn reason(e: AppError) -> String {
    match e {
        AppError::Validation(fields) => fields.into_iter().map(|f| f.message).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

/// Lower case without accents, spaces as `_`: how headers and names are compared.
fn plain(text: &str) -> String {
    text.trim()
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'Á' | 'À' => 'a',
            'é' | 'è' | 'É' | 'È' => 'e',
            'í' | 'ì' | 'Í' | 'Ì' => 'i',
            'ó' | 'ò' | 'Ó' | 'Ò' => 'o',
            'ú' | 'ù' | 'ü' | 'Ú' | 'Ù' | 'Ü' => 'u',
            'ñ' | 'Ñ' => 'n',
            ' ' | '-' | '.' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// A CSV file read whole: its header (as [`plain`] names) and its non-empty rows with their
/// line numbers.
struct Sheet {
    name: &'static str,
    headers: Vec<String>,
    rows: Vec<(u64, Vec<String>)>,
}

impl Sheet {
    fn read(text: &str, name: &'static str) -> AppResult<Sheet> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // Lines end as Windows writes them or not (the reader's line numbers count `\n`).
        let text = text.replace("\r\n", "\n");
        let text = text.as_str();
        let first = text.lines().next().unwrap_or_default();
        let delimiter = if first.matches(';').count() > first.matches(',').count() { b';' } else { b',' };
        let unreadable =
            |e: &dyn std::fmt::Display| AppError::validation(name, &format!("{name}: no se pudo leer el archivo: {e}"));
        let mut reader = ::csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .trim(::csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers: Vec<String> = reader.headers().map_err(|e| unreadable(&e))?.iter().map(plain).collect();
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| unreadable(&e))?;
            if record.iter().all(str::is_empty) {
                continue;
            }
            let line = record.position().map(|p| p.line()).unwrap_or_default();
            rows.push((line, record.iter().map(str::to_owned).collect()));
        }
        Ok(Sheet { name, headers, rows })
    }

    /// Refuses the file when a column (any of its names) is missing.
    fn require_columns(&self, columns: &[&[&str]]) -> AppResult<()> {
        let mut errors = Errors::new();
        for names in columns {
            if !names.iter().any(|n| self.headers.iter().any(|h| h == n)) {
                errors.add(self.name, format!("{}: falta la columna «{}»", self.name, names[0]));
            }
        }
        errors.finish()
    }

    /// The first non-empty value among the columns called `names`.
    fn get<'a>(&self, row: &'a [String], names: &[&str]) -> Option<&'a str> {
        names.iter().find_map(|name| {
            let i = self.headers.iter().position(|h| h == name)?;
            row.get(i).map(|v| v.trim()).filter(|v| !v.is_empty())
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sheets_take_either_separator_a_bom_and_any_header_spelling() {
        let sheet =
            Sheet::read("\u{feff}Código;Título;Tipo\nPAT-1;\"Ronda; norte\";Patrullaje\n;;\n", "tareas").unwrap();
        assert_eq!(sheet.headers, ["codigo", "titulo", "tipo"]);
        assert_eq!(sheet.rows.len(), 1, "the empty row is skipped");
        assert_eq!(sheet.get(&sheet.rows[0].1, TITLE), Some("Ronda; norte"));
        assert_eq!(sheet.rows[0].0, 2);
        let sheet = Sheet::read("codigo,titulo\nX,\"a, b\"\n", "tareas").unwrap();
        assert_eq!(sheet.get(&sheet.rows[0].1, TITLE), Some("a, b"));
        assert!(sheet.require_columns(&[&["codigo"], &["tipo"]]).is_err());
    }

    #[test]
    fn argentine_dates_and_decimal_commas() {
        let tz = chrono_tz::America::Argentina::Buenos_Aires;
        let t = local_instant("15/01/2031 08:05", tz).unwrap();
        assert_eq!(t.to_rfc3339(), "2031-01-15T11:05:00+00:00");
        assert_eq!(local_instant("15/01/2031", tz).unwrap().to_rfc3339(), "2031-01-15T03:00:00+00:00");
        assert!(local_instant("31/02/2031", tz).is_none());
        assert!(local_instant("15/01/0031", tz).is_none(), "outside the years both backends store");
        let sheet =
            Sheet::read("codigo;titulo;tipo;latitud;longitud;prioridad\nPAT-X;Ronda;vig;-34,6;-58,4;ALTA\n", "tareas")
                .unwrap();
        let (row, _) = task_row(&sheet, &sheet.rows[0].1, tz).unwrap();
        assert_eq!((row.lat, row.lon), (Some(-34.6), Some(-58.4)));
        assert_eq!(row.task_type, TaskType::Surveillance);
        assert_eq!(row.priority, TaskPriority::High);
    }
}

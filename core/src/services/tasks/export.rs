//! Every task matching a filter, as CSV with a Spanish header, streamed a page at a time.

use super::*;
use crate::services::csv::{Cell, CsvStream, PAGE_ROWS, Sheet};

const HEADER: [&str; 17] = [
    "Código",
    "Título",
    "Tipo",
    "Prioridad",
    "Estado",
    "Inicio programado",
    "Fin programado",
    "Inicio real",
    "Fin real",
    "Duración (min)",
    "Delegado",
    "Efectivos",
    "Ubicación",
    "Latitud",
    "Longitud",
    "Descripción",
    "Notas",
];

/// Every task `actor` may see that matches `filter`, in the filter's order (its cursor and page
/// size ignored), with times in the configured zone. Permissions and the filter are checked
/// here; the rows are read as the stream is polled, [`PAGE_ROWS`] at a time.
pub async fn export_csv(state: &AppState, actor: &Actor, filter: TaskFilter) -> AppResult<CsvStream> {
    let filter = TaskFilter { cursor: None, limit: None, ..filter };
    let visible = filtered(state, actor, &filter)?.is_some();
    let (state, actor) = (state.clone(), actor.clone());
    Ok(CsvStream::paged(&HEADER, move |cursor: Option<Cursor>| {
        let (state, actor, filter) = (state.clone(), actor.clone(), filter.clone());
        async move {
            if !visible {
                return Ok((Vec::new(), None));
            }
            let Some(query) = export_page_query(&state, &actor, &filter, cursor, PAGE_ROWS)? else {
                return Ok((Vec::new(), None));
            };
            let mut rows: Vec<tasks::Model> = fetch_page(&state, &filter, query).await?;
            let more = rows.len() > PAGE_ROWS as usize;
            rows.truncate(PAGE_ROWS as usize);
            let next = if more { rows.last().map(|t| cursor_of(&filter, &PageRow::from(t.clone()))) } else { None };
            Ok((write_rows(&state, rows).await?, next))
        }
    }))
}

/// One page of rows as CSV.
async fn write_rows(state: &AppState, rows: Vec<tasks::Model>) -> AppResult<Vec<u8>> {
    let officers = officers_by_task(&state.db, rows.iter().map(|t| t.id).collect()).await?;
    let mut supervisor_ids: Vec<i64> = rows.iter().filter_map(|t| t.supervisor_id).collect();
    supervisor_ids.sort_unstable();
    supervisor_ids.dedup();
    let supervisors = names_of(state, &state.db, supervisor_ids).await?;
    let tz = state.config.timezone;
    let time = |t: Option<DateTime<Utc>>| t.map(|t| local_time(t, tz)).unwrap_or_default();
    let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut sheet = Sheet::new();
    for t in rows {
        let minutes = match (t.actual_start, t.actual_end) {
            (Some(s), Some(e)) => (((e - s).num_seconds() - t.paused_seconds).max(0) / 60).to_string(),
            _ => String::new(),
        };
        let names: Vec<&str> =
            officers.get(&t.id).map(|v| v.iter().map(|(_, n)| n.as_str()).collect()).unwrap_or_default();
        let supervisor = t.supervisor_id.and_then(|id| supervisors.get(&id)).map(String::as_str).unwrap_or_default();
        let (start, end, actual_start, actual_end) =
            (time(t.scheduled_start), time(t.scheduled_end), time(t.actual_start), time(t.actual_end));
        let (lat, lon, names) = (number(t.lat), number(t.lon), names.join("; "));
        sheet.row([
            Cell::Text(&t.code),
            Cell::Text(&t.title),
            Cell::Plain(t.task_type.label_es()),
            Cell::Plain(t.priority.label_es()),
            Cell::Plain(t.status.label_es()),
            Cell::Plain(&start),
            Cell::Plain(&end),
            Cell::Plain(&actual_start),
            Cell::Plain(&actual_end),
            Cell::Plain(&minutes),
            Cell::Text(supervisor),
            Cell::Text(&names),
            Cell::Text(t.location_text.as_deref().unwrap_or_default()),
            Cell::Plain(&lat),
            Cell::Plain(&lon),
            Cell::Text(t.description.as_deref().unwrap_or_default()),
            Cell::Text(t.notes.as_deref().unwrap_or_default()),
        ]);
    }
    sheet.take()
}

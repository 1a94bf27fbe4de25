//! Every task matching a filter, as CSV with a Spanish header.

use super::*;

/// Every task matching `filter` (in its order; cursor and page size ignored, at most
/// [`EXPORT_LIMIT`] rows) as CSV with a Spanish header and times in the configured zone.
pub async fn export_csv(state: &AppState, actor: &Actor, filter: TaskFilter) -> AppResult<String> {
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
    let mut out = String::new();
    let push_row = |out: &mut String, fields: &[(String, bool)]| {
        for (i, (value, free_text)) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(out, value, *free_text);
        }
        out.push_str("\r\n");
    };
    push_row(&mut out, &HEADER.map(|h| (h.to_owned(), false)));
    let Some(query) = filtered(state, actor, &filter)? else { return Ok(out) };
    let rows = ordered(query, &filter, None).limit(EXPORT_LIMIT + 1).all(&state.db).await?;
    if rows.len() as u64 > EXPORT_LIMIT {
        return Err(AppError::validation(
            "",
            "La exportación supera las 10000 tareas; restrinja los filtros e intente nuevamente.",
        ));
    }
    let officers = officers_by_task(&state.db, rows.iter().map(|t| t.id).collect()).await?;
    let mut supervisor_ids: Vec<i64> = rows.iter().filter_map(|t| t.supervisor_id).collect();
    supervisor_ids.sort_unstable();
    supervisor_ids.dedup();
    let supervisors = user_names(&state.db, supervisor_ids).await?;
    let tz = state.config.timezone;
    let time = |t: Option<DateTime<Utc>>| t.map(|t| local_time(t, tz)).unwrap_or_default();
    let text = |t: &Option<String>| t.clone().unwrap_or_default();
    for t in rows {
        let minutes = match (t.actual_start, t.actual_end) {
            (Some(s), Some(e)) => (((e - s).num_seconds() - t.paused_seconds).max(0) / 60).to_string(),
            _ => String::new(),
        };
        let names: Vec<String> =
            officers.get(&t.id).map(|v| v.iter().map(|(_, n)| n.clone()).collect()).unwrap_or_default();
        push_row(
            &mut out,
            &[
                (t.code.clone(), true),
                (t.title.clone(), true),
                (t.task_type.label_es().into(), false),
                (t.priority.label_es().into(), false),
                (t.status.label_es().into(), false),
                (time(t.scheduled_start), false),
                (time(t.scheduled_end), false),
                (time(t.actual_start), false),
                (time(t.actual_end), false),
                (minutes, false),
                (t.supervisor_id.and_then(|id| supervisors.get(&id).cloned()).unwrap_or_default(), true),
                (names.join("; "), true),
                (text(&t.location_text), true),
                (t.lat.map(|v| v.to_string()).unwrap_or_default(), false),
                (t.lon.map(|v| v.to_string()).unwrap_or_default(), false),
                (text(&t.description), true),
                (text(&t.notes), true),
            ],
        );
    }
    Ok(out)
}

//! Everything the bot says (Spanish) and its inline keyboards.
//!
//! Callback data, at most 64 bytes: `m:<menu item>`, `d:<task id>` (show / refresh),
//! `i:<task id>` (details), `f:<task id>` (ask to confirm finishing), `n:<task id>` (finish
//! with a note), `t:<task id>:<status>` (transition), `h:<t|a|f>:<page>` (`/historial` page),
//! `c:<step>` (the `/crear` wizard, see `wizard.rs`).

use carapax::types::InlineKeyboardButton;
use contract::ApiError;
use contract::domain::{BroadcastKind, LeaveKind, TaskStatus};
use contract::emergency::EmergencyOutcome;
use contract::feedback::FeedbackDigest;
use contract::roster::{Leave, Shift};
use contract::stats::TaskStatistics;
use contract::tasks::{TaskDetail, TaskSummary};

use super::callbacks::HistoryFilter;

/// At most this many tasks are sent by `/tareas` (one message each).
pub const MAX_TASKS: usize = 10;
/// The longest text Telegram takes in one message, in UTF-16 code units (an emoji may be two).
pub const MESSAGE_MAX: usize = 4096;
/// What ends a text cut to fit one message.
const CUT: &str = "…\n(texto recortado: véalo completo en el panel)";

/// `text` as one message: cut, saying so, when it is longer than Telegram takes (a task's long
/// description or notes), rather than refused by Telegram and lost.
pub fn fit(text: &str) -> String {
    if text.encode_utf16().count() <= MESSAGE_MAX {
        return text.to_owned();
    }
    let room = MESSAGE_MAX - CUT.encode_utf16().count();
    let mut used = 0;
    let kept: String = text
        .chars()
        .take_while(|c| {
            used += c.len_utf16();
            used <= room
        })
        .collect();
    format!("{kept}{CUT}")
}

/// `text` in as many messages as it takes (a broadcast is delivered whole): each at most
/// [`MESSAGE_MAX`] UTF-16 units, cut at a line's end where one is near.
pub fn parts(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.encode_utf16().count() > MESSAGE_MAX {
        let mut used = 0;
        let end = rest
            .char_indices()
            .find(|(_, c)| {
                used += c.len_utf16();
                used > MESSAGE_MAX
            })
            .map_or(rest.len(), |(i, _)| i);
        // A line's end in the last quarter, if there is one.
        let end = rest[..end].rfind('\n').filter(|at| *at > end * 3 / 4).map_or(end, |at| at + 1);
        parts.push(rest[..end].to_owned());
        rest = &rest[end..];
    }
    parts.push(rest.to_owned());
    parts
}
/// `/estadisticas` covers the last this many days, today included.
pub const STATS_DAYS: u64 = 30;

pub const UNLINKED: &str = "Su cuenta de Telegram no está vinculada a GAD. Pida un código de vinculación \
     en el panel (sección Usuarios) o a un administrador, y envíe /start <código>.";
pub const LINK_INVALID: &str = "No se pudo vincular la cuenta: el código no es válido, ya fue usado o venció. \
     Pida un código nuevo en el panel (sección Usuarios).";
pub const TWO_FACTOR_FIRST: &str = "Su rol requiere la verificación en dos pasos: configúrela en el panel (Mi cuenta) \
     antes de usar el bot.";
pub const UNLINKED_NOW: &str = "Esta cuenta de Telegram quedó desvinculada de GAD. \
Para volver a usar el bot, vincúlela con un código nuevo.";
pub const INTERNAL: &str = "Ocurrió un error interno. Intente nuevamente en unos minutos.";
/// The command menu registered with Telegram (`setMyCommands`): name, description.
pub const COMMANDS: [(&str, &str); 12] = [
    ("tareas", "Sus tareas activas"),
    ("finalizar", "Finalizar una tarea iniciada"),
    ("historial", "Sus tareas, por páginas"),
    ("crear", "Crear una tarea (supervisores)"),
    ("estadisticas", "Sus cifras de los últimos 30 días"),
    ("emergencia", "Reportar una emergencia en su ubicación"),
    ("feedback", "Enviar un comentario"),
    ("turnos", "Sus turnos y licencias"),
    ("licencia", "Solicitar una licencia"),
    ("cancelar", "Cancelar la operación en curso"),
    ("menu", "Menú principal"),
    ("ayuda", "Ayuda"),
];

pub const HELP: &str = "Comandos disponibles:\n\
     /tareas — sus tareas activas, con botones para iniciar, pausar, reanudar y finalizar\n\
     /finalizar [código] — finalizar una tarea iniciada\n\
     /historial [todas|activas|finalizadas] — sus tareas, por páginas\n\
     /crear — crear una tarea paso a paso (supervisores)\n\
     /estadisticas — sus cifras de los últimos 30 días\n\
     /emergencia — reportar una emergencia en su ubicación\n\
     /feedback <texto> — enviar un comentario\n\
     /turnos — sus turnos de los próximos 7 días y sus licencias\n\
     /licencia <tipo> <desde> <hasta> [motivo] — solicitar una licencia\n\
     /cancelar — cancelar la operación en curso\n\
     /desvincular — desvincular esta cuenta de Telegram de GAD\n\
     /ayuda — esta ayuda\n\n\
     Compartir su ubicación (o su ubicación en tiempo real) actualiza su posición en el mapa.";
pub const FORWARDED_LOCATION: &str = "Esa ubicación fue reenviada: no se registra como su posición. \
Para marcar el lugar de un hecho use /emergencia o /crear.";
pub const PRIVATE_ONLY: &str = "Por seguridad, use el bot en un chat privado conmigo.";
pub const CANCELLED: &str = "Operación cancelada.";
pub const NOTHING_TO_CANCEL: &str = "No hay ninguna operación en curso.";
pub const UNKNOWN_COMMAND: &str = "Comando no reconocido. Envíe /ayuda para ver los comandos.";
pub const UNKNOWN_INPUT: &str = "No entendí el mensaje. Envíe /ayuda para ver los comandos.";
pub const EDITED_IGNORED: &str = "Los mensajes editados no se procesan. Envíe el mensaje de nuevo, por favor.";
pub const HISTORY_USAGE: &str = "Uso: /historial [todas|activas|finalizadas]. Por ejemplo: /historial finalizadas";
/// Tasks per `/historial` page.
pub const HISTORY_PAGE: usize = 5;
pub const FINISH_NOTE_RETRY: &str = "Escriba una nota más corta, o envíe /cancelar.";
pub const NOTIFY_ASSIGNED: &str = "🆕 Se le asignó una tarea.";
pub const NOTIFY_UPDATED: &str = "✏️ Una de sus tareas fue modificada.";
pub const NO_TASKS: &str = "No tiene tareas activas.";
pub const FEEDBACK_USAGE: &str =
    "Escriba su comentario después del comando, por ejemplo:\n/feedback La radio del móvil 12 falla.";
pub const SEND_LOCATION: &str = "📍 Enviar mi ubicación";
pub const ASK_EMERGENCY_LOCATION: &str = "🚨 Emergencia: envíe la ubicación del hecho con el botón «Enviar mi ubicación» \
     o adjuntando una ubicación. Envíe /cancelar para desistir.";
pub const WAITING_LOCATION: &str = "Estoy esperando la ubicación de la emergencia. Envíe una ubicación o /cancelar.";
pub const EMERGENCY_DESCRIPTION: &str = "Emergencia reportada por Telegram";
pub const LOCATION_OK: &str = "📍 Ubicación actualizada.";
pub const LOCATION_NOT_READ: &str = "⚠️ No se pudo procesar la ubicación en este momento: envíela de nuevo en unos \
     segundos. Si reporta una emergencia y no puede esperar, comuníquese por radio.";
pub const LIVE_LOCATION_OK: &str =
    "📍 Ubicación en tiempo real recibida: su posición se actualizará mientras la comparta.";
pub const STALE_BUTTON: &str = "Este botón ya no es válido. Envíe /tareas para ver sus tareas.";
pub const CANNOT_FINISH: &str = "La tarea no puede finalizarse: debe estar en curso o pausada.";
pub const NOTHING_TO_FINISH: &str = "No tiene tareas iniciadas para finalizar.";

pub fn which_to_finish(codes: &[&str]) -> String {
    format!("Tiene varias tareas iniciadas: {}. Indique cuál, por ejemplo: /finalizar {}", codes.join(", "), codes[0])
}

pub fn task_not_found(code: &str) -> String {
    format!("No encontré la tarea «{code}» entre sus tareas. Envíe /tareas para verlas.")
}

pub fn linked(first_name: &str, last_name: &str) -> String {
    format!("✅ Cuenta vinculada: {first_name} {last_name}.")
}

pub fn menu_text() -> String {
    "GAD — menú principal. Elija una opción:".to_owned()
}

pub fn menu_keyboard() -> Vec<Vec<InlineKeyboardButton>> {
    vec![
        vec![
            InlineKeyboardButton::for_callback_data("📋 Mis tareas", "m:tareas"),
            InlineKeyboardButton::for_callback_data("📊 Estadísticas", "m:estadisticas"),
        ],
        vec![
            InlineKeyboardButton::for_callback_data("🗂 Historial", "m:historial"),
            InlineKeyboardButton::for_callback_data("➕ Crear tarea", "m:crear"),
        ],
        vec![
            InlineKeyboardButton::for_callback_data("🚨 Emergencia", "m:emergencia"),
            InlineKeyboardButton::for_callback_data("❓ Ayuda", "m:ayuda"),
        ],
    ]
}

/// A server function's refusal, as the person reads it.
pub fn error(e: &ApiError) -> String {
    let mut text = format!("⚠️ {}", e.message);
    for field in &e.fields {
        text.push_str(&format!("\n• {}", field.message));
    }
    text
}

pub fn tasks_header(total: usize, shown: usize) -> String {
    if total > shown {
        format!("Sus tareas activas: {total} (se muestran las {shown} próximas).")
    } else {
        format!("Sus tareas activas: {total}.")
    }
}

pub fn task(t: &TaskDetail) -> String {
    let mut lines = vec![
        format!("📋 {} — {}", t.code, t.title),
        format!(
            "Estado: {} · Prioridad: {} · Tipo: {}",
            t.status.label_es(),
            t.priority.label_es(),
            t.task_type.label_es()
        ),
    ];
    if let Some(start) = &t.scheduled_start_local {
        let end = t.scheduled_end_local.as_deref().map(|e| format!(" a {e}")).unwrap_or_default();
        lines.push(format!("Programada: {start}{end}"));
    }
    if let Some(start) = &t.actual_start_local {
        lines.push(format!("Iniciada: {start}"));
    }
    if let Some(end) = &t.actual_end_local {
        lines.push(format!("Finalizada: {end}"));
    }
    if let Some(seconds) = t.duration_seconds {
        lines.push(format!("Duración: {}", contract::format::duration(seconds as f64)));
    }
    if let Some(place) = &t.location_text {
        lines.push(format!("Lugar: {place}"));
    }
    if !t.assignments.is_empty() {
        let names: Vec<&str> = t.assignments.iter().map(|a| a.name.as_str()).collect();
        lines.push(format!("Efectivos: {}", names.join(", ")));
    }
    lines.join("\n")
}

/// One button per transition the viewer may make now (cancelling needs a reason and stays on
/// the dashboard), plus a refresh.
pub fn task_keyboard(t: &TaskDetail) -> Vec<Vec<InlineKeyboardButton>> {
    let mut row = Vec::new();
    for to in &t.allowed_transitions {
        let button = match to {
            TaskStatus::InProgress if t.status == TaskStatus::Scheduled => {
                InlineKeyboardButton::for_callback_data("▶️ Iniciar", format!("t:{}:in_progress", t.id))
            }
            TaskStatus::InProgress => {
                InlineKeyboardButton::for_callback_data("▶️ Reanudar", format!("t:{}:in_progress", t.id))
            }
            TaskStatus::Paused => InlineKeyboardButton::for_callback_data("⏸ Pausar", format!("t:{}:paused", t.id)),
            TaskStatus::Completed => InlineKeyboardButton::for_callback_data("✅ Finalizar", format!("f:{}", t.id)),
            TaskStatus::Scheduled | TaskStatus::Cancelled => continue,
        };
        row.push(button);
    }
    if t.can_acknowledge {
        row.insert(0, InlineKeyboardButton::for_callback_data("👍 Recibido", format!("a:{}", t.id)));
    }
    let mut keyboard = Vec::new();
    if !row.is_empty() {
        keyboard.push(row);
    }
    let mut last = vec![InlineKeyboardButton::for_callback_data("ℹ️ Detalles", format!("i:{}", t.id))];
    if !t.status.is_final() {
        last.push(InlineKeyboardButton::for_callback_data("🔄 Actualizar", format!("d:{}", t.id)));
    }
    keyboard.push(last);
    keyboard
}

/// Everything about a task: the card plus description, supervisor, notes and recent history.
pub fn task_info(t: &TaskDetail) -> String {
    let mut lines = vec![task(t)];
    if let Some(d) = t.description.as_deref().filter(|d| !d.is_empty()) {
        lines.push(format!("Descripción: {d}"));
    }
    if let Some(s) = &t.supervisor {
        lines.push(format!("Delegado: {s}"));
    }
    // Coordinates only where the task names no place: the card already says "Lugar".
    if let (Some(lat), Some(lon), None) = (t.lat, t.lon, t.location_text.as_deref().filter(|p| !p.trim().is_empty())) {
        lines.push(format!("Coordenadas: {lat:.5}, {lon:.5}"));
    }
    if let Some(n) = t.notes.as_deref().filter(|n| !n.is_empty()) {
        lines.push(format!("Notas: {n}"));
    }
    if !t.history.is_empty() {
        lines.push("Historial:".to_owned());
        for h in t.history.iter().rev().take(5).rev() {
            let by = h.by.as_deref().map(|b| format!(" — {b}")).unwrap_or_default();
            if h.from == Some(h.to) {
                // An assignment or an unassignment: its note says it.
                lines.push(format!("• {} {}{by}", h.at_local, h.reason.as_deref().unwrap_or("Actualizada")));
                continue;
            }
            let reason = h.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
            lines.push(format!("• {} {}{by}{reason}", h.at_local, h.to.label_es()));
        }
    }
    lines.join("\n")
}

pub fn ask_finish_note(code: &str) -> String {
    format!(
        "📝 Escriba la nota de cierre de la tarea {code} (se guarda en su historial). Envíe /cancelar para desistir."
    )
}

pub fn history(filter: HistoryFilter, shown: &[&TaskSummary], total: usize, page: usize, pages: usize) -> String {
    let which = match filter {
        HistoryFilter::All => "todas",
        HistoryFilter::Open => "activas",
        HistoryFilter::Finished => "finalizadas",
    };
    if total == 0 {
        return format!("🗂 Historial ({which}): no hay tareas.");
    }
    let count =
        if total == 1 { "1 tarea".to_owned() } else { format!("{} tareas", contract::format::count(total as u64)) };
    let mut lines = vec![format!("🗂 Historial ({which}): {count} — página {} de {pages}", page + 1)];
    for t in shown {
        let when = t.scheduled_start.as_deref().map(|w| format!(" · {w}")).unwrap_or_default();
        lines.push(format!("• {} — {} ({}{when})", t.code, t.title, t.status.label_es()));
    }
    lines.join("\n")
}

pub fn history_keyboard(
    filter: HistoryFilter,
    shown: &[&TaskSummary],
    page: usize,
    pages: usize,
) -> Vec<Vec<InlineKeyboardButton>> {
    let mut keyboard: Vec<Vec<InlineKeyboardButton>> = shown
        .iter()
        .map(|t| vec![InlineKeyboardButton::for_callback_data(format!("ℹ️ {}", t.code), format!("i:{}", t.id))])
        .collect();
    let mut nav = Vec::new();
    if page > 0 {
        nav.push(InlineKeyboardButton::for_callback_data("◀️ Anterior", format!("h:{}:{}", filter.code(), page - 1)));
    }
    if page + 1 < pages {
        nav.push(InlineKeyboardButton::for_callback_data("Siguiente ▶️", format!("h:{}:{}", filter.code(), page + 1)));
    }
    if !nav.is_empty() {
        keyboard.push(nav);
    }
    keyboard
}

pub fn notify_unassigned(code: &str) -> String {
    format!("ℹ️ La tarea {code} ya no está a su cargo.")
}

pub fn notify_status(code: &str, to: TaskStatus) -> String {
    format!("🔔 La tarea {code} pasó a «{}».", to.label_es())
}

pub fn notify_emergency(code: &str) -> String {
    format!(
        "🚨 EMERGENCIA {code}: se le asignó esta emergencia. Diríjase a la ubicación que sigue y envíe /tareas para iniciarla."
    )
}

/// The name of an emergency's pin: the task's place, else what the description says, else a
/// plain name (never bare coordinates: the pin shows where it is).
pub fn emergency_place(t: &TaskDetail) -> String {
    const MAX: usize = 100;
    let text = [t.location_text.as_deref(), t.description.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty())
        .unwrap_or("Lugar de la emergencia");
    let mut place: String = text.chars().take(MAX).collect();
    if text.chars().count() > MAX {
        place.pop();
        place.push('…');
    }
    place
}

/// A broadcast as the group reads it.
pub fn broadcast(kind: BroadcastKind, sender: Option<&str>, text: &str) -> String {
    let head = match kind {
        BroadcastKind::Urgent => "🚨 URGENTE",
        BroadcastKind::Alert => "⚠️ ALERTA",
        BroadcastKind::Info => "ℹ️ Información",
        BroadcastKind::Normal => "📢 Difusión",
    };
    let from = sender.map(|s| format!(" — {s}")).unwrap_or_default();
    format!("{head}{from}\n\n{text}")
}

pub fn confirm_finish(t: &TaskDetail) -> String {
    format!(
        "{}\n\n¿Confirma que desea finalizar la tarea {}? Puede agregar una nota de cierre opcional.",
        task(t),
        t.code
    )
}

pub fn confirm_keyboard(id: i64) -> Vec<Vec<InlineKeyboardButton>> {
    vec![
        vec![
            InlineKeyboardButton::for_callback_data("✅ Sí, finalizar", format!("t:{id}:completed")),
            InlineKeyboardButton::for_callback_data("📝 Con nota", format!("n:{id}")),
        ],
        vec![InlineKeyboardButton::for_callback_data("↩️ No", format!("d:{id}"))],
    ]
}

pub fn transition_done(to: TaskStatus) -> &'static str {
    match to {
        TaskStatus::InProgress => "Tarea en curso.",
        TaskStatus::Paused => "Tarea pausada.",
        TaskStatus::Completed => "Tarea finalizada.",
        TaskStatus::Cancelled => "Tarea cancelada.",
        TaskStatus::Scheduled => "Tarea actualizada.",
    }
}

pub const ACKNOWLEDGED: &str = "Recepción confirmada.";
/// Days of shifts `/turnos` shows.
pub const ROSTER_DAYS: u32 = 7;
pub const LEAVE_USAGE: &str = "Uso: /licencia <tipo> <desde> <hasta> [motivo]\n\
     Tipos: vacaciones, enfermedad, franco, capacitacion. Fechas: dd/mm/aaaa.\n\
     Por ejemplo: /licencia vacaciones 10/01/2027 20/01/2027 Viaje familiar";

/// The leave kind a word of `/licencia` names.
pub fn leave_kind(word: &str) -> Option<LeaveKind> {
    match word.to_lowercase().as_str() {
        "vacaciones" => Some(LeaveKind::Vacation),
        "enfermedad" => Some(LeaveKind::Sick),
        "franco" => Some(LeaveKind::DayOff),
        "capacitacion" | "capacitación" => Some(LeaveKind::Training),
        _ => None,
    }
}

pub fn leave_requested(leave: &Leave) -> String {
    format!(
        "📝 Licencia solicitada: {} del {} al {} ({}). Un supervisor la aprobará o rechazará.",
        leave.kind.label_es(),
        leave.first_day.format("%d/%m/%Y"),
        leave.last_day.format("%d/%m/%Y"),
        leave.status.label_es().to_lowercase()
    )
}

/// `/turnos`: shifts (local times) and the leave that has not ended.
pub fn roster(shifts: &[Shift], leaves: &[Leave], tz: chrono_tz::Tz, now: chrono::DateTime<chrono::Utc>) -> String {
    let mut text = String::from("🗓️ Sus turnos de los próximos 7 días:");
    if shifts.is_empty() {
        text.push_str("\nNo tiene turnos cargados.");
    }
    for s in shifts {
        let (a, b) = (s.starts_at.with_timezone(&tz), s.ends_at.with_timezone(&tz));
        text.push_str(&format!("\n• {} a {}", a.format("%d/%m %H:%M"), b.format("%d/%m %H:%M")));
    }
    let today = now.with_timezone(&tz).date_naive();
    let current: Vec<&Leave> = leaves.iter().filter(|l| l.last_day >= today).collect();
    if !current.is_empty() {
        text.push_str("\n\nSus licencias:");
        for l in current {
            text.push_str(&format!(
                "\n• {} del {} al {} — {}",
                l.kind.label_es(),
                l.first_day.format("%d/%m/%Y"),
                l.last_day.format("%d/%m/%Y"),
                l.status.label_es().to_lowercase()
            ));
        }
    }
    text
}

/// An escalation step of an overdue task.
pub fn notify_overdue(code: &str, priority: contract::domain::TaskPriority, target: &str, level: u8) -> String {
    let what = contract::sla::SlaTargetKind::parse(target).map_or(target, |k| k.label_es());
    format!(
        "⏰ Tarea vencida: {code} (prioridad {}). Objetivo incumplido: {}. Aviso {level} de 3.",
        priority.label_es().to_lowercase(),
        what.to_lowercase()
    )
}

pub fn feedback_thanks(category: &str) -> String {
    format!("🙏 ¡Gracias! Registramos su comentario (categoría: {category}).")
}

pub fn emergency(outcome: &EmergencyOutcome) -> String {
    let task = &outcome.task;
    let mut text = format!("🚨 Emergencia registrada: {} — {}.", task.code, task.title);
    if outcome.assigned_officer_ids.is_empty() {
        text.push('\n');
        text.push_str(
            outcome
                .not_dispatched
                .as_deref()
                .unwrap_or("No hay efectivos disponibles con posición reciente cerca del lugar."),
        );
        text.push_str(" La central fue alertada y asignará personal.");
        return text;
    }
    text.push_str("\nAsignado:");
    for id in &outcome.assigned_officer_ids {
        let name = task.assignments.iter().find(|a| a.officer_id == *id).map(|a| a.name.clone());
        let candidate = outcome.candidates.iter().find(|c| c.officer_id == *id);
        let name = name.or_else(|| candidate.map(|c| c.name.clone())).unwrap_or_else(|| format!("efectivo {id}"));
        match candidate {
            Some(c) => text.push_str(&format!("\n• {name} ({})", distance(c.distance_m))),
            None => text.push_str(&format!("\n• {name}")),
        }
    }
    text
}

pub fn stats(s: &TaskStatistics) -> String {
    let mut lines = vec![format!("📊 Estadísticas de los últimos {STATS_DAYS} días")];
    lines.push(format!("Tareas: {}", contract::format::count(s.total)));
    for c in &s.by_status {
        lines.push(format!("• {}: {}", c.status.label_es(), c.count));
    }
    lines.push(match s.completion_rate {
        Some(rate) => format!("Tasa de finalización: {:.0} %", rate * 100.0),
        None => "Tasa de finalización: sin tareas terminadas".to_owned(),
    });
    lines.push(format!("Finalizadas en el período: {}", s.completed_in_period));
    if let Some(avg) = s.average_seconds {
        lines.push(format!("Duración promedio: {}", contract::format::duration(avg)));
    }
    let streak = streak(s);
    lines.push(match streak {
        0 => "Racha: ningún día con una tarea finalizada".to_owned(),
        1 => "Racha: 1 día con una tarea finalizada".to_owned(),
        n => format!("Racha: {n} días seguidos con una tarea finalizada"),
    });
    let types: Vec<String> =
        s.by_type.iter().filter(|t| t.count > 0).map(|t| format!("{}: {}", t.task_type.label_es(), t.count)).collect();
    if !types.is_empty() {
        lines.push(format!("Por tipo: {}", types.join(", ")));
    }
    lines.join("\n")
}

/// Consecutive days, ending today (or yesterday if today has none yet), with at least one
/// completed task.
fn streak(s: &TaskStatistics) -> usize {
    let mut days = s.per_day.iter().rev().peekable();
    if days.peek().is_some_and(|d| d.completed == 0) {
        days.next();
    }
    days.take_while(|d| d.completed > 0).count()
}

/// "a 850 m", "a 3,4 km".
pub fn distance(metres: f64) -> String {
    format!("a {}", contract::format::distance(metres))
}

/// The weekly feedback digest, for supervisors and admins.
pub fn feedback_digest(d: &FeedbackDigest) -> String {
    let day = |date: chrono::NaiveDate| date.format("%d/%m").to_string();
    let mut text = format!(
        "📋 Resumen semanal de comentarios ({} al {})\nRecibidos: {} (la semana anterior: {})\n",
        day(d.week_start),
        day(d.week_start + chrono::Duration::days(6)),
        d.total,
        d.previous_total
    );
    if !d.by_category.is_empty() {
        let categories: Vec<String> = d.by_category.iter().map(|c| format!("{} {}", c.category, c.count)).collect();
        text += &format!("Por categoría: {}\n", categories.join(" · "));
    }
    text += "Sentimiento por semana (positivos / neutros / negativos):\n";
    for w in &d.trend {
        text += &format!("  {}: {} / {} / {}\n", day(w.week_start), w.positive, w.neutral, w.negative);
    }
    text += &format!("Por revisar: {}\n", d.open);
    if !d.worst.is_empty() {
        text += "Los más negativos:\n";
        for item in &d.worst {
            let short: String = item.text.chars().take(120).collect();
            let cut = if item.text.chars().count() > 120 { "…" } else { "" };
            text += &format!("• «{short}{cut}» ({})\n", item.category);
        }
    }
    text += "Detalle en el tablero, sección Comentarios.";
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_fit_telegram() {
        assert_eq!(fit("corto"), "corto");
        // Emoji count twice in Telegram's measure.
        let long = "🚓 patrulla ".repeat(500);
        let one = fit(&long);
        assert!(one.encode_utf16().count() <= MESSAGE_MAX, "{}", one.encode_utf16().count());
        assert!(one.ends_with("véalo completo en el panel)"));
        let pieces = parts(&long);
        assert!(pieces.len() > 1);
        assert!(pieces.iter().all(|p| p.encode_utf16().count() <= MESSAGE_MAX));
        assert_eq!(pieces.concat(), long, "a broadcast is delivered whole, in order");
        let lines = "línea de la difusión\n".repeat(400);
        let pieces = parts(&lines);
        assert!(pieces[..pieces.len() - 1].iter().all(|p| p.ends_with('\n')), "cut at lines' ends");
        assert_eq!(pieces.concat(), lines);
        assert_eq!(parts("hola"), ["hola"]);
    }
}

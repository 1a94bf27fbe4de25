//! The `/crear` wizard (supervisors and admins): type → title → priority → location (shared
//! location or «omitir») → officers (multi-select, paginated, nearest first when there is a
//! location) → start («ahora» or `dd/mm hh:mm`) → end (a duration such as «2 h», «90 min»,
//! «1,5», or an end time «18:00» / `dd/mm hh:mm`) → summary → confirm / cancel. Every task
//! made here has an end: an open-ended one would keep its officers from every later task.
//!
//! The draft is the chat's [`Conversation::Create`], persisted after every step, so a restart
//! loses nothing. Permissions come from the server functions: the wizard opens with
//! `list_officers` (which it needs anyway, and which only supervisors and admins may call) and
//! ends with `create_task`, the dashboard's own, which checks and validates everything again.
//!
//! Callback data (`c:` + step): `ty:<type>`, `pr:<priority>`, `skip` (no location),
//! `o:<officer id>` (toggle), `pg:<page>`, `done` (officers chosen), `now`, `h:<hours>` (the
//! end as a duration), `ok`, `back`,
//! `force` (accept a schedule overlap, recorded in the history), `x`.

use app::api::geo::officers_within_radius;
use app::api::officers::list_officers;
use app::api::tasks::create_task;
use app::server::harness::call_as;
use carapax::types::{InlineKeyboardButton, SendMessage};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use contract::domain::{TaskPriority, TaskType};
use contract::tasks::NewTask;
use gad_core::actor::Actor;
use serde::{Deserialize, Serialize};

use super::Bot;
use super::chat::{Conversation, Keyboard, edit, forget, remember, send, send_markup};
use super::render;

/// Officers per page of the officers step.
pub const OFFICERS_PAGE: usize = 6;
/// At most this many officers are offered.
const MAX_CANDIDATES: u32 = 200;
/// Radius of the nearest-first search when a location was given.
const NEAR_RADIUS_M: f64 = 100_000.0;
/// A start this far in the past is still accepted (typing takes time).
const PAST_GRACE_MINUTES: i64 = 5;
/// The durations offered as buttons in the end step, in hours.
const DURATION_BUTTONS: [i64; 4] = [1, 2, 4, 8];
/// The longest task the wizard makes (a week); longer ones are planned on the dashboard.
const MAX_DURATION_HOURS: i64 = 24 * 7;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    #[default]
    Type,
    Title,
    Priority,
    Location,
    Officers,
    Schedule,
    End,
    Confirm,
}

/// An officer offered in the officers step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub id: i64,
    pub name: String,
    pub distance_m: Option<f64>,
}

/// The task being composed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub step: Step,
    pub task_type: Option<TaskType>,
    pub title: Option<String>,
    pub priority: Option<TaskPriority>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub candidates: Vec<Candidate>,
    pub selected: Vec<i64>,
    pub page: usize,
    pub start: Option<DateTime<Utc>>,
    #[serde(default)]
    pub end: Option<DateTime<Utc>>,
    /// The last attempt was refused because an officer's schedule overlaps: offer the
    /// explicit override, as the dashboard does.
    #[serde(default)]
    pub overlap_refused: bool,
    #[serde(default)]
    pub allow_overlap: bool,
}

/// Task types offered (emergencies have their own command).
fn types() -> impl Iterator<Item = TaskType> {
    TaskType::ALL.iter().copied().filter(|t| *t != TaskType::Emergency)
}

/// `/crear`: refused politely by the server function unless supervisor or admin.
pub async fn start(bot: &Bot, chat_id: i64, actor: Actor) {
    let probe = call_as(&bot.state, Some(actor), || list_officers(None, None, None, None, Some(1))).await;
    if let Err(e) = probe {
        return send(bot, chat_id, &format!("{}\n{}", render::error(&e), CREATE_REFUSED), None).await;
    }
    let draft = Draft::default();
    if save(bot, chat_id, &draft).await {
        prompt(bot, chat_id, &draft, None).await;
    }
}

const CREATE_REFUSED: &str = "Crear tareas corresponde a supervisores y administradores.";

async fn save(bot: &Bot, chat_id: i64, draft: &Draft) -> bool {
    remember(bot, chat_id, &Conversation::Create(draft.clone())).await
}

/// Asks for the draft's current step; `retry` is prepended when the last answer was not valid.
async fn prompt(bot: &Bot, chat_id: i64, draft: &Draft, retry: Option<&str>) {
    let (question, keyboard) = question(draft, bot.state.config.timezone);
    let text = match retry {
        Some(why) => format!("⚠️ {why}\n\n{question}"),
        None => question,
    };
    send(bot, chat_id, &text, keyboard).await;
}

fn cancel_row() -> Vec<InlineKeyboardButton> {
    vec![InlineKeyboardButton::for_callback_data("✖️ Cancelar", "c:x")]
}

fn question(draft: &Draft, tz: chrono_tz::Tz) -> (String, Option<Keyboard>) {
    match draft.step {
        Step::Type => {
            let mut keyboard: Keyboard = types()
                .collect::<Vec<_>>()
                .chunks(2)
                .map(|pair| {
                    pair.iter()
                        .map(|t| InlineKeyboardButton::for_callback_data(t.label_es(), format!("c:ty:{}", t.as_str())))
                        .collect()
                })
                .collect();
            keyboard.push(cancel_row());
            ("➕ Nueva tarea (paso 1 de 7): elija el tipo.".to_owned(), Some(keyboard))
        }
        Step::Title => (
            "Paso 2 de 7: escriba el título de la tarea (entre 3 y 200 caracteres).".to_owned(),
            Some(vec![cancel_row()]),
        ),
        Step::Priority => {
            let mut keyboard: Keyboard = TaskPriority::ALL
                .chunks(3)
                .map(|row| {
                    row.iter()
                        .map(|p| InlineKeyboardButton::for_callback_data(p.label_es(), format!("c:pr:{}", p.as_str())))
                        .collect()
                })
                .collect();
            keyboard.push(cancel_row());
            ("Paso 3 de 7: elija la prioridad.".to_owned(), Some(keyboard))
        }
        Step::Location => (
            "Paso 4 de 7: comparta la ubicación de la tarea (📎 → Ubicación) o escriba «omitir».".to_owned(),
            Some(vec![vec![InlineKeyboardButton::for_callback_data("Omitir", "c:skip")], cancel_row()]),
        ),
        Step::Officers => (officers_text(draft), Some(officers_keyboard(draft))),
        Step::Schedule => (
            "Paso 6 de 7: ¿cuándo empieza? Escriba «ahora» o una fecha y hora como 25/12 08:30 \
             (o 25/12/2026 08:30)."
                .to_owned(),
            Some(vec![vec![InlineKeyboardButton::for_callback_data("Ahora", "c:now")], cancel_row()]),
        ),
        Step::End => {
            let buttons = DURATION_BUTTONS
                .iter()
                .map(|h| InlineKeyboardButton::for_callback_data(format!("{h} h"), format!("c:h:{h}")))
                .collect();
            (
                "Paso 7 de 7: ¿cuánto dura? Escriba la duración (2 h, 90 min, 1,5) o la hora de fin \
                 (18:00, o 26/12 08:00)."
                    .to_owned(),
                Some(vec![buttons, cancel_row()]),
            )
        }
        Step::Confirm => {
            let mut keyboard = vec![vec![
                InlineKeyboardButton::for_callback_data("✅ Crear", "c:ok"),
                InlineKeyboardButton::for_callback_data("👥 Cambiar efectivos", "c:back"),
            ]];
            if draft.overlap_refused {
                keyboard.push(vec![InlineKeyboardButton::for_callback_data(
                    "⚠️ Asignar igualmente (superposición)",
                    "c:force",
                )]);
            }
            keyboard.push(cancel_row());
            (summary(draft, tz), Some(keyboard))
        }
    }
}

fn officers_text(draft: &Draft) -> String {
    let order = if draft.lat.is_some() { " (los más cercanos primero)" } else { "" };
    if draft.candidates.is_empty() {
        return "Paso 5 de 7: no hay efectivos para asignar. Pulse «Listo» para continuar sin efectivos.".to_owned();
    }
    format!(
        "Paso 5 de 7: elija los efectivos{order}. Toque un nombre para marcarlo o desmarcarlo y pulse «Listo». \
         Seleccionados: {}.",
        draft.selected.len()
    )
}

fn pages(draft: &Draft) -> usize {
    draft.candidates.len().div_ceil(OFFICERS_PAGE).max(1)
}

fn officers_keyboard(draft: &Draft) -> Keyboard {
    let page = draft.page.min(pages(draft) - 1);
    let mut keyboard: Keyboard = draft
        .candidates
        .iter()
        .skip(page * OFFICERS_PAGE)
        .take(OFFICERS_PAGE)
        .map(|c| {
            let mark = if draft.selected.contains(&c.id) { "☑️" } else { "⬜" };
            let distance = c.distance_m.map(|d| format!(" ({})", render::distance(d))).unwrap_or_default();
            vec![InlineKeyboardButton::for_callback_data(
                format!("{mark} {}{distance}", c.name),
                format!("c:o:{}", c.id),
            )]
        })
        .collect();
    if pages(draft) > 1 {
        let mut nav = Vec::new();
        if page > 0 {
            nav.push(InlineKeyboardButton::for_callback_data("◀️", format!("c:pg:{}", page - 1)));
        }
        nav.push(InlineKeyboardButton::for_callback_data(
            format!("{}/{}", page + 1, pages(draft)),
            format!("c:pg:{page}"),
        ));
        if page + 1 < pages(draft) {
            nav.push(InlineKeyboardButton::for_callback_data("▶️", format!("c:pg:{}", page + 1)));
        }
        keyboard.push(nav);
    }
    keyboard.push(vec![
        InlineKeyboardButton::for_callback_data(format!("✅ Listo ({})", draft.selected.len()), "c:done"),
        InlineKeyboardButton::for_callback_data("✖️ Cancelar", "c:x"),
    ]);
    keyboard
}

fn summary(draft: &Draft, tz: chrono_tz::Tz) -> String {
    let mut lines = vec!["Resumen de la nueva tarea:".to_owned()];
    if let Some(t) = draft.task_type {
        lines.push(format!("Tipo: {}", t.label_es()));
    }
    if let Some(t) = &draft.title {
        lines.push(format!("Título: {t}"));
    }
    if let Some(p) = draft.priority {
        lines.push(format!("Prioridad: {}", p.label_es()));
    }
    lines.push(match (draft.lat, draft.lon) {
        (Some(lat), Some(lon)) => format!("Ubicación: {lat:.5}, {lon:.5}"),
        _ => "Ubicación: sin ubicación".to_owned(),
    });
    let names: Vec<&str> = draft
        .selected
        .iter()
        .filter_map(|id| draft.candidates.iter().find(|c| c.id == *id).map(|c| c.name.as_str()))
        .collect();
    lines.push(if names.is_empty() {
        "Efectivos: ninguno".to_owned()
    } else {
        format!("Efectivos: {}", names.join(", "))
    });
    lines.push(match draft.start {
        Some(start) => format!("Inicio: {}", gad_core::services::local_time(start, tz)),
        None => "Inicio: sin programar".to_owned(),
    });
    if let (Some(start), Some(end)) = (draft.start, draft.end) {
        let minutes = (end - start).num_minutes();
        lines.push(format!(
            "Fin: {} ({})",
            gad_core::services::local_time(end, tz),
            contract::format::duration(minutes as f64 * 60.0)
        ));
    }
    lines.push(String::new());
    lines.push("¿Crear la tarea?".to_owned());
    lines.join("\n")
}

/// Text typed during the wizard.
pub async fn on_text(bot: &Bot, chat_id: i64, actor: Actor, mut draft: Draft, text: &str) {
    let text = text.trim();
    match draft.step {
        Step::Type => match parse_type(text) {
            Some(t) => {
                draft.task_type = Some(t);
                advance(bot, chat_id, draft, Step::Title).await
            }
            None => prompt(bot, chat_id, &draft, Some("No reconozco ese tipo. Elija uno con los botones.")).await,
        },
        Step::Title => {
            let n = text.chars().count();
            if (3..=200).contains(&n) {
                draft.title = Some(text.to_owned());
                advance(bot, chat_id, draft, Step::Priority).await
            } else {
                prompt(bot, chat_id, &draft, Some("El título debe tener entre 3 y 200 caracteres.")).await
            }
        }
        Step::Priority => match parse_priority(text) {
            Some(p) => {
                draft.priority = Some(p);
                advance(bot, chat_id, draft, Step::Location).await
            }
            None => prompt(bot, chat_id, &draft, Some("No reconozco esa prioridad. Elija una con los botones.")).await,
        },
        Step::Location => {
            if matches!(fold(text).as_str(), "omitir" | "no" | "sin ubicacion") {
                enter_officers(bot, chat_id, actor, draft).await
            } else {
                prompt(bot, chat_id, &draft, Some("Envíe una ubicación de Telegram o escriba «omitir».")).await
            }
        }
        Step::Officers => {
            if fold(text) == "listo" {
                advance(bot, chat_id, draft, Step::Schedule).await
            } else {
                prompt(bot, chat_id, &draft, Some("Use los botones para elegir los efectivos y pulse «Listo».")).await
            }
        }
        Step::Schedule => match parse_start(text, Utc::now(), bot.state.config.timezone) {
            Ok(start) => {
                draft.start = Some(start);
                advance(bot, chat_id, draft, Step::End).await
            }
            Err(why) => prompt(bot, chat_id, &draft, Some(why)).await,
        },
        Step::End => {
            let start = draft.start.unwrap_or_else(Utc::now);
            match parse_end(text, start, bot.state.config.timezone) {
                Ok(end) => {
                    draft.end = Some(end);
                    advance(bot, chat_id, draft, Step::Confirm).await
                }
                Err(why) => prompt(bot, chat_id, &draft, Some(why)).await,
            }
        }
        Step::Confirm => {
            if matches!(fold(text).as_str(), "si" | "confirmar" | "crear") {
                confirm(bot, chat_id, actor, draft).await
            } else {
                prompt(bot, chat_id, &draft, Some("Pulse «Crear» para confirmar, o /cancelar.")).await
            }
        }
    }
}

/// A location shared during the wizard.
pub async fn on_location(bot: &Bot, chat_id: i64, actor: Actor, mut draft: Draft, lat: f64, lon: f64) {
    if draft.step != Step::Location {
        let why = "La ubicación no corresponde a este paso.";
        return prompt(bot, chat_id, &draft, Some(why)).await;
    }
    draft.lat = Some(lat);
    draft.lon = Some(lon);
    enter_officers(bot, chat_id, actor, draft).await
}

/// A wizard button; returns the callback answer (text, alert).
pub async fn on_callback(bot: &Bot, chat_id: i64, message_id: i64, actor: Actor, data: &str) -> (Option<String>, bool) {
    if data == "x" {
        let had = forget(bot, chat_id).await;
        send_markup(bot, SendMessage::new(chat_id, if had { render::CANCELLED } else { render::NOTHING_TO_CANCEL }))
            .await;
        return (None, false);
    }
    let Some(Conversation::Create(mut draft)) = super::chat::conversation(bot, chat_id).await else {
        return (Some(STALE.to_owned()), true);
    };
    let (head, arg) = data.split_once(':').unwrap_or((data, ""));
    match (draft.step, head) {
        (Step::Type, "ty") => match arg.parse::<TaskType>().ok().filter(|t| *t != TaskType::Emergency) {
            Some(t) => {
                draft.task_type = Some(t);
                advance(bot, chat_id, draft, Step::Title).await;
            }
            None => return (Some(STALE.to_owned()), true),
        },
        (Step::Priority, "pr") => match arg.parse::<TaskPriority>() {
            Ok(p) => {
                draft.priority = Some(p);
                advance(bot, chat_id, draft, Step::Location).await;
            }
            Err(_) => return (Some(STALE.to_owned()), true),
        },
        (Step::Location, "skip") => enter_officers(bot, chat_id, actor, draft).await,
        (Step::Officers, "o") => {
            let Some(id) = arg.parse::<i64>().ok().filter(|id| draft.candidates.iter().any(|c| c.id == *id)) else {
                return (Some(STALE.to_owned()), true);
            };
            if let Some(i) = draft.selected.iter().position(|s| *s == id) {
                draft.selected.remove(i);
            } else {
                draft.selected.push(id);
            }
            if save(bot, chat_id, &draft).await {
                edit(bot, chat_id, message_id, &officers_text(&draft), officers_keyboard(&draft)).await;
            }
        }
        (Step::Officers, "pg") => {
            let Some(page) = arg.parse::<usize>().ok().filter(|p| *p < pages(&draft)) else {
                return (Some(STALE.to_owned()), true);
            };
            draft.page = page;
            if save(bot, chat_id, &draft).await {
                edit(bot, chat_id, message_id, &officers_text(&draft), officers_keyboard(&draft)).await;
            }
        }
        (Step::Officers, "done") => advance(bot, chat_id, draft, Step::Schedule).await,
        (Step::Schedule, "now") => {
            draft.start = Some(Utc::now());
            advance(bot, chat_id, draft, Step::End).await;
        }
        (Step::End, "h") => match arg.parse::<i64>().ok().filter(|h| DURATION_BUTTONS.contains(h)) {
            Some(hours) => {
                draft.end = Some(draft.start.unwrap_or_else(Utc::now) + chrono::Duration::hours(hours));
                advance(bot, chat_id, draft, Step::Confirm).await;
            }
            None => return (Some(STALE.to_owned()), true),
        },
        (Step::Confirm, "ok") => confirm(bot, chat_id, actor, draft).await,
        (Step::Confirm, "force") if draft.overlap_refused => {
            draft.allow_overlap = true;
            confirm(bot, chat_id, actor, draft).await;
        }
        (Step::Confirm, "back") => {
            draft.overlap_refused = false;
            advance(bot, chat_id, draft, Step::Officers).await;
        }
        _ => return (Some(STALE.to_owned()), true),
    }
    (None, false)
}

const STALE: &str = "Ese botón corresponde a otro paso. Siga con el último mensaje o envíe /cancelar.";

async fn advance(bot: &Bot, chat_id: i64, mut draft: Draft, step: Step) {
    draft.step = step;
    if save(bot, chat_id, &draft).await {
        prompt(bot, chat_id, &draft, None).await;
    }
}

/// Loads the officers (nearest first when there is a location) and asks to choose.
async fn enter_officers(bot: &Bot, chat_id: i64, actor: Actor, mut draft: Draft) {
    let mut candidates: Vec<Candidate> = Vec::new();
    if let (Some(lat), Some(lon)) = (draft.lat, draft.lon) {
        let near = call_as(&bot.state, Some(actor.clone()), || {
            officers_within_radius(lat, lon, NEAR_RADIUS_M, MAX_CANDIDATES)
        })
        .await;
        match near {
            Ok(near) => candidates.extend(near.into_iter().map(|o| Candidate {
                id: o.officer_id,
                name: o.name,
                distance_m: Some(o.distance_m),
            })),
            Err(e) => return send(bot, chat_id, &render::error(&e), None).await,
        }
    }
    match call_as(&bot.state, Some(actor), || list_officers(None, None, None, None, Some(MAX_CANDIDATES))).await {
        Ok(page) => {
            for o in page.items {
                if !candidates.iter().any(|c| c.id == o.id) {
                    candidates.push(Candidate {
                        id: o.id,
                        name: format!("{} {}", o.first_name, o.last_name),
                        distance_m: None,
                    });
                }
            }
        }
        Err(e) => return send(bot, chat_id, &render::error(&e), None).await,
    }
    draft.candidates = candidates;
    draft.selected.clear();
    draft.page = 0;
    advance(bot, chat_id, draft, Step::Officers).await
}

/// Creates the task (and its assignments) through the dashboard's own server function.
async fn confirm(bot: &Bot, chat_id: i64, actor: Actor, draft: Draft) {
    let (Some(task_type), Some(title)) = (draft.task_type, draft.title.clone()) else {
        forget(bot, chat_id).await;
        return send(bot, chat_id, render::INTERNAL, None).await;
    };
    let mut task = NewTask::new(title, task_type);
    task.priority = draft.priority.unwrap_or(TaskPriority::Medium);
    task.lat = draft.lat;
    task.lon = draft.lon;
    task.scheduled_start = draft.start;
    task.scheduled_end = draft.end;
    task.officer_ids = draft.selected.clone();
    task.allow_overlap = draft.allow_overlap;
    // The draft is taken before the task is created: a second press of «Crear» (or the same
    // press handled twice) finds nothing to create and does nothing.
    if !forget(bot, chat_id).await {
        return;
    }
    match call_as(&bot.state, Some(actor), || create_task(task)).await {
        Ok(detail) => {
            let text = format!("✅ Tarea creada: {} — {}\n\n{}", detail.code, detail.title, render::task(&detail));
            send(bot, chat_id, &text, Some(render::task_keyboard(&detail))).await;
        }
        // The draft stays: the person can change the officers, override an overlap or cancel.
        Err(e) => {
            let mut draft = draft;
            draft.overlap_refused = e.code == contract::ErrorCode::Conflict && !draft.selected.is_empty();
            draft.allow_overlap = false;
            if save(bot, chat_id, &draft).await {
                prompt(bot, chat_id, &draft, Some(render::error(&e).trim_start_matches("⚠️ "))).await;
            }
        }
    }
}

/// Lowercase without Spanish accents, for matching typed words.
fn fold(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'á' => 'a',
            'é' => 'e',
            'í' => 'i',
            'ó' => 'o',
            'ú' | 'ü' => 'u',
            other => other,
        })
        .collect()
}

fn parse_type(text: &str) -> Option<TaskType> {
    let t = fold(text);
    types().find(|k| fold(k.label_es()) == t || k.as_str() == t)
}

fn parse_priority(text: &str) -> Option<TaskPriority> {
    let t = fold(text);
    TaskPriority::ALL.iter().copied().find(|p| fold(p.label_es()) == t || p.as_str() == t)
}

/// «ahora», `dd/mm hh:mm` (this year) or `dd/mm/aaaa hh:mm`, in the configured time zone; not
/// in the past.
pub fn parse_start(text: &str, now: DateTime<Utc>, tz: chrono_tz::Tz) -> Result<DateTime<Utc>, &'static str> {
    const FORMAT: &str = "No entendí la fecha. Escriba «ahora» o día/mes y hora, por ejemplo 25/12 08:30.";
    let text = fold(text);
    if text == "ahora" {
        return Ok(now);
    }
    let start = local_date_time(&text, now, tz).map_err(|e| if e.starts_with("No entendí") { FORMAT } else { e })?;
    if start < now - chrono::Duration::minutes(PAST_GRACE_MINUTES) {
        return Err("Esa fecha y hora ya pasaron. Indique un momento futuro o «ahora».");
    }
    Ok(start)
}

/// `dd/mm hh:mm` (the year of `now`) or `dd/mm/aaaa hh:mm` in `tz`; at most next year.
fn local_date_time(text: &str, now: DateTime<Utc>, tz: chrono_tz::Tz) -> Result<DateTime<Utc>, &'static str> {
    const FORMAT: &str = "No entendí la fecha. Escriba día/mes y hora, por ejemplo 25/12 08:30.";
    let (date, time) = text.trim().split_once(char::is_whitespace).ok_or(FORMAT)?;
    let time = NaiveTime::parse_from_str(time.trim(), "%H:%M").map_err(|_| FORMAT)?;
    let parts: Vec<&str> = date.split('/').collect();
    let number = |s: &str| s.parse::<u32>().map_err(|_| FORMAT);
    let (day, month, year) = match parts.as_slice() {
        [d, m] => (number(d)?, number(m)?, now.with_timezone(&tz).year()),
        [d, m, y] => (number(d)?, number(m)?, y.parse::<i32>().map_err(|_| FORMAT)?),
        _ => return Err(FORMAT),
    };
    if year > now.year() + 1 {
        return Err("La fecha está demasiado lejos: indique una dentro del próximo año.");
    }
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or("Esa fecha no existe. Revise el día y el mes.")?;
    let local = tz.from_local_datetime(&NaiveDateTime::new(date, time)).earliest().ok_or(FORMAT)?;
    Ok(local.with_timezone(&Utc))
}

/// The end of a task starting at `start`: a duration («2 h», «2h30», «90 min», «1,5» hours)
/// or an end time («18:00», the next day when that is not after the start; `dd/mm hh:mm`), in
/// the configured time zone. Always after the start, at most a week later.
pub fn parse_end(text: &str, start: DateTime<Utc>, tz: chrono_tz::Tz) -> Result<DateTime<Utc>, &'static str> {
    const FORMAT: &str = "No entendí. Escriba una duración (2 h, 90 min, 1,5) o la hora de fin (18:00).";
    let folded = fold(text);
    let text = folded.replace(' ', "");
    let end = if folded.contains('/') {
        local_date_time(&folded, start, tz)?
    } else if let Ok(time) = NaiveTime::parse_from_str(&text, "%H:%M") {
        let local_start = start.with_timezone(&tz);
        let mut day = local_start.date_naive();
        if time <= local_start.time() {
            day = day.succ_opt().ok_or(FORMAT)?;
        }
        tz.from_local_datetime(&NaiveDateTime::new(day, time)).earliest().ok_or(FORMAT)?.with_timezone(&Utc)
    } else {
        let minutes = parse_minutes(&text).ok_or(FORMAT)?;
        // Checked before any arithmetic: «1e300» or «999999999999999min» would overflow it.
        if minutes > MAX_DURATION_HOURS * 60 {
            return Err(TOO_LONG);
        }
        start + chrono::Duration::minutes(minutes)
    };
    if end <= start {
        return Err("El fin debe ser posterior al inicio.");
    }
    if end - start > chrono::Duration::hours(MAX_DURATION_HOURS) {
        return Err(TOO_LONG);
    }
    Ok(end)
}

const TOO_LONG: &str = "La tarea dura más de una semana: planifíquela desde el panel.";

/// «2», «2h», «2hs», «1,5», «1.5h», «2h30», «90min», «90m» → minutes.
fn parse_minutes(text: &str) -> Option<i64> {
    let hours = |s: &str| s.replace(',', ".").parse::<f64>().ok().filter(|h| h.is_finite() && *h > 0.0);
    let minutes = if let Some(m) = text.strip_suffix("min").or_else(|| text.strip_suffix('m')) {
        m.parse::<i64>().ok()?
    } else if let Some((h, m)) = text.split_once('h') {
        let m = m.trim_start_matches('s');
        let extra = if m.is_empty() {
            0
        } else {
            m.trim_end_matches("min").trim_end_matches('m').parse::<i64>().ok().filter(|m| *m < 60)?
        };
        ((hours(h)? * 60.0).round() as i64).saturating_add(extra)
    } else {
        (hours(text)? * 60.0).round() as i64
    };
    (minutes > 0).then_some(minutes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn start_times_are_parsed_in_the_local_zone_and_never_in_the_past() {
        let tz: chrono_tz::Tz = "America/Argentina/Buenos_Aires".parse().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
        assert_eq!(parse_start("Ahora", now, tz), Ok(now));
        // 25/12 08:30 in Buenos Aires (UTC−3) is 11:30 UTC.
        assert_eq!(parse_start("25/12 08:30", now, tz), Ok(Utc.with_ymd_and_hms(2026, 12, 25, 11, 30, 0).unwrap()));
        assert_eq!(parse_start("02/01/2027 00:00", now, tz), Ok(Utc.with_ymd_and_hms(2027, 1, 2, 3, 0, 0).unwrap()));
        assert!(parse_start("01/11 08:00", now, tz).unwrap_err().contains("ya pasaron"));
        assert!(parse_start("31/02 08:00", now, tz).unwrap_err().contains("no existe"));
        assert!(parse_start("mañana", now, tz).unwrap_err().contains("No entendí"));
        assert!(parse_start("25/12 25:00", now, tz).is_err());
    }

    #[test]
    fn ends_are_durations_or_times_after_the_start() {
        let tz: chrono_tz::Tz = "America/Argentina/Buenos_Aires".parse().unwrap();
        // 09:00 in Buenos Aires.
        let start = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
        let at = |h: u32, m: u32| Utc.with_ymd_and_hms(2026, 12, 3, h, m, 0).unwrap();
        assert_eq!(parse_end("2", start, tz), Ok(at(14, 0)));
        assert_eq!(parse_end("2 h", start, tz), Ok(at(14, 0)));
        assert_eq!(parse_end("1,5", start, tz), Ok(at(13, 30)));
        assert_eq!(parse_end("2h30", start, tz), Ok(at(14, 30)));
        assert_eq!(parse_end("90 min", start, tz), Ok(at(13, 30)));
        assert_eq!(parse_end("45m", start, tz), Ok(at(12, 45)));
        // An end time: today when after the start, else tomorrow.
        assert_eq!(parse_end("18:00", start, tz), Ok(at(21, 0)));
        assert_eq!(parse_end("08:00", start, tz), Ok(Utc.with_ymd_and_hms(2026, 12, 4, 11, 0, 0).unwrap()));
        assert_eq!(parse_end("04/12 10:00", start, tz), Ok(Utc.with_ymd_and_hms(2026, 12, 4, 13, 0, 0).unwrap()));
        assert!(parse_end("02/12 10:00", start, tz).unwrap_err().contains("posterior"));
        assert!(parse_end("0", start, tz).is_err());
        assert!(parse_end("-2", start, tz).is_err());
        assert!(parse_end("200 h", start, tz).unwrap_err().contains("semana"));
        assert!(parse_end("un rato", start, tz).unwrap_err().contains("No entendí"));
        assert!(parse_end("NaN", start, tz).is_err());
        // Refused before any arithmetic that would overflow (it panicked).
        for huge in ["1e300", "999999999999999min", "9223372036854775807m", "1e300h59", "1/1/-262143 10:00"] {
            assert!(parse_end(huge, start, tz).is_err(), "{huge}");
        }
        assert!(parse_end("1e300", start, tz).unwrap_err().contains("semana"));
    }

    #[test]
    fn typed_words_match_without_accents() {
        assert_eq!(parse_type("investigacion"), Some(TaskType::Investigation));
        assert_eq!(parse_type("Patrullaje"), Some(TaskType::Patrol));
        assert_eq!(parse_type("emergencia"), None);
        assert_eq!(parse_priority("ALTA"), Some(TaskPriority::High));
    }
}

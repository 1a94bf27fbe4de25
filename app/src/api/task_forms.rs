//! The task create/edit form as one server function over the default URL encoding, so the
//! form works as a plain HTML post without JavaScript. Every field arrives as text; parsing
//! errors and the service's own validation errors come back per field (Spanish). A plain
//! form post is redirected to the task on success, or back to the form, which shows the values
//! typed and the errors from a one-shot flash kept in the session (never in the URL).

use contract::ApiError;
use contract::tasks::TaskDetail;
use leptos::prelude::*;

/// Creates a task (`id` empty) or updates task `id` from the form's texts. Times are
/// `datetime-local` values in the configured time zone.
#[server(prefix = "/api/fn", endpoint = "save_task_form", output = crate::api::codec::JsonText)]
pub async fn save_task_form(
    #[server(default)] id: String,
    #[server(default)] code: String,
    #[server(default)] title: String,
    #[server(default)] description: String,
    #[server(default)] task_type: String,
    #[server(default)] priority: String,
    #[server(default)] scheduled_start: String,
    #[server(default)] scheduled_end: String,
    #[server(default)] lat: String,
    #[server(default)] lon: String,
    #[server(default)] location_text: String,
    #[server(default)] notes: String,
) -> Result<TaskDetail, ApiError> {
    use crate::server::context;
    use gad_core::services;

    let meta = context::request_meta();
    let values = [
        ("code", &code),
        ("title", &title),
        ("description", &description),
        ("task_type", &task_type),
        ("priority", &priority),
        ("scheduled_start", &scheduled_start),
        ("scheduled_end", &scheduled_end),
        ("lat", &lat),
        ("lon", &lon),
        ("location_text", &location_text),
        ("notes", &notes),
    ];
    // The task being edited, if any: a number, or no task at all (the form's page is built
    // from the number, never from the text sent: it becomes a `Location` header).
    let editing = match id.trim() {
        "" => None,
        id => Some(id.parse::<i64>().ok()),
    };
    let form_page = match editing {
        Some(Some(id)) => format!("/tareas/{id}/editar"),
        _ => "/tareas/nueva".to_owned(),
    };
    let result = context::serve(async |state, actor| {
        let fields = server::parse(
            state.config.timezone,
            server::Texts {
                code: &code,
                title: &title,
                description: &description,
                task_type: &task_type,
                priority: &priority,
                scheduled_start: &scheduled_start,
                scheduled_end: &scheduled_end,
                lat: &lat,
                lon: &lon,
                location_text: &location_text,
                notes: &notes,
            },
        )?;
        match editing {
            None => services::tasks::create(state, actor, &meta, fields.into_new()).await,
            Some(Some(id)) => services::tasks::update(state, actor, &meta, id, fields.into_update()).await,
            Some(None) => Err(gad_core::error::AppError::NotFound),
        }
    })
    .await;
    match &result {
        Ok(task) => crate::api::form_redirect(&meta, &result, &format!("/tareas/{}", task.id), &form_page),
        Err(error) => {
            let values = values.iter().map(|(k, v)| ((*k).to_owned(), (*v).clone())).collect();
            let outcome = || contract::flash::FormOutcome::TaskNotSaved { error: error.clone(), values };
            crate::api::flash::after_plain_post(&meta, &form_page, &form_page, outcome).await;
        }
    }
    result
}

#[cfg(feature = "ssr")]
mod server {
    use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

    use contract::FieldError;
    use contract::domain::{TaskPriority, TaskType};
    use contract::tasks::{NewTask, TaskUpdate};
    use gad_core::error::{AppError, AppResult};

    pub struct Texts<'a> {
        pub code: &'a str,
        pub title: &'a str,
        pub description: &'a str,
        pub task_type: &'a str,
        pub priority: &'a str,
        pub scheduled_start: &'a str,
        pub scheduled_end: &'a str,
        pub lat: &'a str,
        pub lon: &'a str,
        pub location_text: &'a str,
        pub notes: &'a str,
    }

    pub struct Parsed {
        code: Option<String>,
        title: String,
        description: Option<String>,
        task_type: TaskType,
        priority: TaskPriority,
        scheduled_start: Option<DateTime<Utc>>,
        scheduled_end: Option<DateTime<Utc>>,
        lat: Option<f64>,
        lon: Option<f64>,
        location_text: Option<String>,
        notes: Option<String>,
    }

    fn text(s: &str) -> Option<String> {
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_owned())
    }

    /// Parses the texts; every unreadable field is reported, not only the first.
    pub fn parse(tz: chrono_tz::Tz, t: Texts<'_>) -> AppResult<Parsed> {
        let mut errors: Vec<FieldError> = Vec::new();
        let mut fail = |field: &str, message: &str| {
            errors.push(FieldError { field: field.into(), message: message.into() });
        };
        let task_type = match t.task_type.trim().parse::<TaskType>() {
            Ok(v) => Some(v),
            Err(_) => {
                fail("task_type", "Elija un tipo de tarea.");
                None
            }
        };
        let priority = match t.priority.trim() {
            "" => Some(TaskPriority::Medium),
            p => p.parse::<TaskPriority>().ok().or_else(|| {
                fail("priority", "Elija una prioridad válida.");
                None
            }),
        };
        let mut time = |field: &str, value: &str| -> Option<DateTime<Utc>> {
            let value = value.trim();
            if value.is_empty() {
                return None;
            }
            let parsed = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
                .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"))
                .ok()
                .and_then(|naive| tz.from_local_datetime(&naive).earliest());
            match parsed {
                Some(at) => Some(at.with_timezone(&Utc)),
                None => {
                    fail(field, "Fecha y hora inválidas (use el formato dd/mm/aaaa hh:mm).");
                    None
                }
            }
        };
        let scheduled_start = time("scheduled_start", t.scheduled_start);
        let scheduled_end = time("scheduled_end", t.scheduled_end);
        let mut number = |field: &str, value: &str| -> Option<f64> {
            let value = value.trim().replace(',', ".");
            if value.is_empty() {
                return None;
            }
            match value.parse::<f64>() {
                Ok(v) if v.is_finite() => Some(v),
                _ => {
                    fail(field, "Escriba un número (por ejemplo -34.6037).");
                    None
                }
            }
        };
        let lat = number("lat", t.lat);
        let lon = number("lon", t.lon);
        let (Some(task_type), Some(priority), true) = (task_type, priority, errors.is_empty()) else {
            return Err(AppError::Validation(errors));
        };
        Ok(Parsed {
            code: text(t.code),
            title: t.title.trim().to_owned(),
            description: text(t.description),
            task_type,
            priority,
            scheduled_start,
            scheduled_end,
            lat,
            lon,
            location_text: text(t.location_text),
            notes: text(t.notes),
        })
    }

    impl Parsed {
        pub fn into_new(self) -> NewTask {
            NewTask {
                code: self.code,
                description: self.description,
                priority: self.priority,
                scheduled_start: self.scheduled_start,
                scheduled_end: self.scheduled_end,
                lat: self.lat,
                lon: self.lon,
                location_text: self.location_text,
                notes: self.notes,
                ..NewTask::new(self.title, self.task_type)
            }
        }

        /// Every field of the form is set (an empty field clears it); the code never changes.
        pub fn into_update(self) -> TaskUpdate {
            TaskUpdate {
                title: Some(self.title),
                description: Some(self.description),
                task_type: Some(self.task_type),
                priority: Some(self.priority),
                scheduled_start: Some(self.scheduled_start),
                scheduled_end: Some(self.scheduled_end),
                lat: Some(self.lat),
                lon: Some(self.lon),
                location_text: Some(self.location_text),
                supervisor_id: None,
                notes: Some(self.notes),
            }
        }
    }
}

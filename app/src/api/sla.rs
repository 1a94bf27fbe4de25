//! Server functions: the deadline targets (`/plazos`). Supervisors read them; admins set one
//! row at a time with a plain form (it works without JavaScript: the outcome is kept as a
//! one-shot flash and the browser goes back to the page).

use contract::ApiError;
use contract::domain::TaskPriority;
use contract::sla::SlaTarget;
use leptos::prelude::*;

/// Every target row: the every-type rows first, then each type's own.
#[server(prefix = "/api/fn", endpoint = "load_sla_targets", output = crate::api::codec::JsonText)]
pub async fn load_sla_targets() -> Result<Vec<SlaTarget>, ApiError> {
    use crate::server::context;
    context::serve(async |state, actor| gad_core::services::sla::list_targets(state, actor).await).await
}

/// The page's form: the minutes of a type (empty or `*`: every type) and priority, each
/// empty for "no target"; all three empty for a type removes its own row.
#[server(prefix = "/api/fn", endpoint = "set_sla_target_form", output = crate::api::codec::JsonText)]
pub async fn set_sla_target_form(
    task_type: String,
    priority: TaskPriority,
    ack_minutes: Option<String>,
    start_minutes: Option<String>,
    finish_minutes: Option<String>,
) -> Result<SlaTarget, ApiError> {
    use crate::server::context;
    use contract::flash::FormOutcome;
    use contract::sla::SlaTargetInput;
    use gad_core::validate::Errors;

    let meta = context::request_meta();
    let result = context::serve(async |state, actor| {
        let mut errors = Errors::new();
        let task_type = match task_type.trim() {
            "" | "*" => None,
            other => match other.parse() {
                Ok(t) => Some(t),
                Err(_) => {
                    errors.add("task_type", "Elija un tipo de tarea válido.");
                    None
                }
            },
        };
        let mut minutes = |field: &str, value: Option<String>| -> Option<i64> {
            let value = value.filter(|v| !v.trim().is_empty())?;
            let parsed = value.trim().parse::<i64>().ok();
            if parsed.is_none() {
                errors.add(field, "Los minutos deben ser un número entero.");
            }
            parsed
        };
        let input = SlaTargetInput {
            task_type,
            priority,
            ack_minutes: minutes("ack_minutes", ack_minutes),
            start_minutes: minutes("start_minutes", start_minutes),
            finish_minutes: minutes("finish_minutes", finish_minutes),
        };
        errors.finish()?;
        gad_core::services::sla::set_target(state, actor, &meta, input).await
    })
    .await;
    crate::api::flash::after_plain_post(&meta, "/plazos", "/plazos", || match &result {
        Ok(row) if row.ack_minutes.is_none() && row.start_minutes.is_none() && row.finish_minutes.is_none() => {
            FormOutcome::Saved("Objetivos guardados: sin plazos propios para esa fila.".to_owned())
        }
        Ok(_) => FormOutcome::Saved("Objetivos guardados.".to_owned()),
        Err(err) => FormOutcome::Failed(err.clone()),
    })
    .await;
    result
}

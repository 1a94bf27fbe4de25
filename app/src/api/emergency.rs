//! Emergencies (SPEC §4): anyone reports a point; GAD creates a critical `emergency` task
//! there, ranks the nearest available officers and dispatches the nearest (or the ones a
//! supervisor picks).

use contract::ApiError;
use leptos::prelude::*;

use contract::emergency::*;

/// Raises an emergency at (`lat`, `lon`). Without `assign`, the nearest officer is dispatched.
#[server(prefix = "/api/fn", endpoint = "raise_emergency", input = server_fn::codec::Json, output = crate::api::codec::JsonText)]
pub async fn raise_emergency(
    lat: f64,
    lon: f64,
    #[server(default)] description: Option<String>,
    #[server(default)] assign: EmergencyAssign,
) -> Result<EmergencyOutcome, ApiError> {
    use crate::server::context;
    use gad_core::services;

    let meta = context::request_meta();
    context::serve(async |state, actor| {
        services::emergency::raise(state, actor, &meta, lat, lon, description, assign).await
    })
    .await
}

/// The dashboard's emergency form (`/emergencia`, also opened from a map click): plain form
/// fields, so it works without JavaScript. `lat`/`lon` accept a decimal comma; an empty
/// `officer_id` dispatches the nearest available officer. A plain form post is sent to
/// `/emergencia?tarea=<id>` (the outcome) or back to the form with `?error=…`.
#[server(prefix = "/api/fn", endpoint = "report_emergency", output = crate::api::codec::JsonText)]
pub async fn report_emergency(
    lat: String,
    lon: String,
    #[server(default)] description: Option<String>,
    #[server(default)] officer_id: Option<String>,
) -> Result<EmergencyOutcome, ApiError> {
    use crate::server::context;
    use contract::FieldError;
    use gad_core::error::AppError;
    use gad_core::services;

    let meta = context::request_meta();
    let parse = |field: &str, text: &str, errors: &mut Vec<FieldError>| -> f64 {
        match text.trim().replace(',', ".").parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                let message =
                    if field == "lat" { "Ingrese una latitud válida." } else { "Ingrese una longitud válida." };
                errors.push(FieldError { field: field.into(), message: message.into() });
                f64::NAN
            }
        }
    };
    let result = context::respond(
        async {
            let mut errors = Vec::new();
            let (lat_v, lon_v) = (parse("lat", &lat, &mut errors), parse("lon", &lon, &mut errors));
            let officer = match officer_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => None,
                Some(text) => match text.parse::<i64>() {
                    Ok(id) => Some(id),
                    Err(_) => {
                        errors.push(FieldError { field: "officer_id".into(), message: "Efectivo inválido.".into() });
                        None
                    }
                },
            };
            if !errors.is_empty() {
                return Err(AppError::Validation(errors));
            }
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            let assign = officer.map_or(EmergencyAssign::Nearest(1), |id| EmergencyAssign::Officers(vec![id]));
            let raise = services::emergency::raise(&state, &actor, &meta, lat_v, lon_v, description, assign);
            context::as_writer(&state, &actor, raise).await
        }
        .await,
    );
    if meta.plain_form_post {
        match &result {
            Ok(outcome) => leptos_axum::redirect(&format!("/emergencia?tarea={}", outcome.task.id)),
            Err(err) => {
                let code =
                    serde_json::to_value(err.code).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                let field = err.fields.first().map(|f| f.field.clone()).unwrap_or_default();
                let lat: String =
                    lat.chars().filter(|c| c.is_ascii_digit() || matches!(c, '-' | '.' | ',')).take(20).collect();
                let lon: String =
                    lon.chars().filter(|c| c.is_ascii_digit() || matches!(c, '-' | '.' | ',')).take(20).collect();
                leptos_axum::redirect(&format!("/emergencia?error={code}&campo={field}&lat={lat}&lon={lon}"));
            }
        }
    }
    result
}

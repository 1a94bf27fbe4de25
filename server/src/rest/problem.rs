//! RFC 9457 problem details: every REST error is `application/problem+json` with a stable
//! `type` per error code and a Spanish `detail` for people.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use contract::{ApiError, ErrorCode, FieldError};
use gad_core::error::AppError;

#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of error, e.g. `urn:gad:problem:forbidden`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Field-level validation messages.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| "internal".into())
}

fn title(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Unauthenticated => "No autenticado",
        ErrorCode::Forbidden => "Prohibido",
        ErrorCode::NotFound => "No encontrado",
        ErrorCode::Validation => "Datos inválidos",
        ErrorCode::Conflict => "Conflicto",
        ErrorCode::InvalidCredentials => "Credenciales inválidas",
        ErrorCode::Locked => "Cuenta bloqueada",
        ErrorCode::PasswordChangeRequired => "Cambio de contraseña requerido",
        ErrorCode::RateLimited => "Demasiadas solicitudes",
        ErrorCode::Internal => "Error interno",
        ErrorCode::Unavailable => "Servicio no disponible",
        ErrorCode::Transport => "Solicitud inválida",
    }
}

impl Problem {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:gad:problem:{}", code_name(code)),
            title: title(code).into(),
            status: code.http_status(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(ErrorCode::RateLimited, "Demasiadas solicitudes. Espere y vuelva a intentar.")
        }
    }
}

impl From<ApiError> for Problem {
    fn from(err: ApiError) -> Self {
        Self { errors: err.fields, ..Self::new(err.code, err.message) }
    }
}

impl From<AppError> for Problem {
    fn from(err: AppError) -> Self {
        let retry_after = match err {
            AppError::RateLimited { retry_after } => Some(retry_after),
            _ => None,
        };
        Self { retry_after, ..ApiError::from(err).into() }
    }
}

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Self {
        let detail = match &rejection {
            JsonRejection::MissingJsonContentType(_) => {
                "El cuerpo debe ser JSON (Content-Type: application/json).".to_owned()
            }
            JsonRejection::JsonSyntaxError(_) => "El cuerpo no es JSON válido.".to_owned(),
            // serde's message names the offending field (unknown field, wrong type, missing).
            JsonRejection::JsonDataError(e) => format!("El JSON no tiene la forma esperada: {}", e.body_text()),
            JsonRejection::BytesRejection(_) => "No se pudo leer el cuerpo de la solicitud.".to_owned(),
            _ => "Solicitud inválida.".to_owned(),
        };
        let mut problem = Problem::new(ErrorCode::Validation, detail);
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            problem.status = 413;
            problem.detail = "El cuerpo de la solicitud es demasiado grande.".into();
        }
        problem
    }
}

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Self {
        // serde's message names the offending parameter (unknown, wrong type, missing).
        Problem::new(
            ErrorCode::Validation,
            format!("Los parámetros de la consulta no son válidos: {}", rejection.body_text()),
        )
    }
}

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Self {
        if rejection.status().is_server_error() {
            tracing::error!(error = %rejection.body_text(), "path extraction misconfigured");
            return Problem::new(ErrorCode::Internal, "Error interno del servidor.");
        }
        Problem::new(ErrorCode::Validation, format!("La ruta contiene un valor inválido: {}", rejection.body_text()))
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.retry_after;
        let mut response = (status, Json(self)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

pub type RestResult<T> = Result<T, Problem>;

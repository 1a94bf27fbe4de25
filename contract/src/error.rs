//! The error every server function returns: a stable code plus a Spanish message for the
//! person in front of the dashboard or the bot. Internal causes never cross this boundary.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    Validation,
    Conflict,
    InvalidCredentials,
    Locked,
    /// An admin reset the password: only changing it is allowed until the user does.
    PasswordChangeRequired,
    RateLimited,
    Internal,
    /// A dependency cannot take the request now (the database is read-only, full or down):
    /// nothing was done; retrying later may work.
    Unavailable,
    /// Transport or encoding failure between browser and server.
    Transport,
}

impl ErrorCode {
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Unauthenticated | ErrorCode::InvalidCredentials => 401,
            ErrorCode::Forbidden | ErrorCode::PasswordChangeRequired => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Validation | ErrorCode::Transport => 400,
            ErrorCode::Conflict => 409,
            ErrorCode::Locked => 423,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
        }
    }
}

/// One field that failed validation, with a Spanish message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), fields: Vec::new() }
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        tracing_free_log(&value);
        // On the server, a body we could not read (bad JSON, a missing field, invalid UTF-8, a
        // cut-off upload) is the caller's mistake: 400, not server_fn's default 500. (In the
        // browser the same errors mean the answer could not be read: a transport failure.)
        #[cfg(feature = "ssr")]
        if request_unreadable(&value) {
            if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(axum::http::StatusCode::BAD_REQUEST);
            }
            return ApiError::new(
                ErrorCode::Transport,
                "La solicitud no es válida: faltan datos o tienen un formato incorrecto.",
            );
        }
        ApiError::new(ErrorCode::Transport, "No se pudo comunicar con el servidor. Intente nuevamente.")
    }
}

/// Errors that mean the request itself was malformed (as opposed to a failed connection).
#[cfg(feature = "ssr")]
fn request_unreadable(err: &ServerFnErrorErr) -> bool {
    matches!(err, ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) | ServerFnErrorErr::Deserialization(_))
}

fn tracing_free_log(_err: &ServerFnErrorErr) {
    #[cfg(feature = "ssr")]
    tracing::warn!(error = %_err, "server function transport error");
}

pub type ApiResult<T> = Result<T, ApiError>;

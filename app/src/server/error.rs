//! The service layer's error, mapped once to the API error (status, code, Spanish message).

use sea_orm::DbErr;

use crate::api::{ApiError, ErrorCode, FieldError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not signed in")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("account locked")]
    Locked,
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn validation(field: &str, message: &str) -> Self {
        AppError::Validation(vec![FieldError { field: field.into(), message: message.into() }])
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        AppError::Internal(err.to_string())
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Unauthenticated => ErrorCode::Unauthenticated,
            AppError::Forbidden => ErrorCode::Forbidden,
            AppError::NotFound => ErrorCode::NotFound,
            AppError::Validation(_) => ErrorCode::Validation,
            AppError::Conflict(_) => ErrorCode::Conflict,
            AppError::InvalidCredentials => ErrorCode::InvalidCredentials,
            AppError::Locked => ErrorCode::Locked,
            AppError::Db(_) | AppError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        let code = err.code();
        let message = match &err {
            AppError::Unauthenticated => "Debe iniciar sesión.".to_owned(),
            AppError::Forbidden => "No tiene permiso para realizar esta acción.".to_owned(),
            AppError::NotFound => "El recurso solicitado no existe.".to_owned(),
            AppError::Validation(_) => "Revise los datos ingresados.".to_owned(),
            AppError::Conflict(msg) => msg.clone(),
            AppError::InvalidCredentials => "Credenciales inválidas.".to_owned(),
            AppError::Locked => {
                "Cuenta bloqueada temporalmente por intentos fallidos. Intente más tarde.".to_owned()
            }
            AppError::Db(inner) => {
                tracing::error!(error = %inner, "database error");
                "Error interno del servidor.".to_owned()
            }
            AppError::Internal(inner) => {
                tracing::error!(error = %inner, "internal error");
                "Error interno del servidor.".to_owned()
            }
        };
        let fields = match err {
            AppError::Validation(fields) => fields,
            _ => Vec::new(),
        };
        ApiError { code, message, fields }
    }
}

pub type AppResult<T> = Result<T, AppError>;

//! The service layer's error, mapped once to the API error (status, code, Spanish message).

use sea_orm::DbErr;

use contract::{ApiError, ErrorCode, FieldError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not signed in")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden,
    /// Not allowed, for a reason the caller can act on (said in Spanish).
    #[error("not allowed: {0}")]
    Refused(String),
    #[error("not found")]
    NotFound,
    /// The caller's budget of writes for this minute is spent ([`crate::ratelimit`]).
    #[error("rate limited for {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("account locked")]
    Locked,
    /// Signed in, but the role requires two-factor sign-in and the user has not enrolled yet:
    /// nothing but the enrolment is allowed.
    #[error("two-factor enrolment required")]
    TwoFactorSetupRequired,
    /// An admin reset the password: the user must choose a new one before anything else.
    #[error("password change required")]
    PasswordChangeRequired,
    #[error("database error: {0}")]
    Db(DbErr),
    /// The database cannot take writes now (read-only, full) or does not answer; the message
    /// says so to the user, the cause is logged.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The request's context is gone: the client disconnected and the render it started was
    /// dropped. Nobody is left to answer, and nothing is wrong with the server: not an error.
    #[error("request abandoned")]
    Abandoned,
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
            AppError::Forbidden | AppError::Refused(_) | AppError::TwoFactorSetupRequired => ErrorCode::Forbidden,
            AppError::NotFound => ErrorCode::NotFound,
            AppError::RateLimited { .. } => ErrorCode::RateLimited,
            AppError::Validation(_) => ErrorCode::Validation,
            AppError::Conflict(_) => ErrorCode::Conflict,
            AppError::InvalidCredentials => ErrorCode::InvalidCredentials,
            AppError::Locked => ErrorCode::Locked,
            AppError::PasswordChangeRequired => ErrorCode::PasswordChangeRequired,
            AppError::Db(_) | AppError::Internal(_) => ErrorCode::Internal,
            AppError::Unavailable(_) | AppError::Abandoned => ErrorCode::Unavailable,
        }
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        let code = err.code();
        let message = match &err {
            AppError::Unauthenticated => "Debe iniciar sesión.".to_owned(),
            AppError::Forbidden => "No tiene permiso para realizar esta acción.".to_owned(),
            AppError::NotFound => {
                "Lo que busca no existe: puede haber sido eliminado o la dirección es incorrecta.".to_owned()
            }
            AppError::Validation(_) => "Revise los datos ingresados.".to_owned(),
            AppError::RateLimited { .. } => {
                "Demasiadas acciones seguidas: espere un momento y vuelva a intentar.".to_owned()
            }
            AppError::Conflict(msg) | AppError::Refused(msg) => msg.clone(),
            AppError::InvalidCredentials => "Credenciales inválidas.".to_owned(),
            AppError::TwoFactorSetupRequired => {
                "Debe configurar la verificación en dos pasos antes de continuar.".to_owned()
            }
            AppError::Locked => "Cuenta bloqueada temporalmente por intentos fallidos. Intente más tarde.".to_owned(),
            AppError::PasswordChangeRequired => "Debe cambiar su contraseña antes de continuar.".to_owned(),
            AppError::Db(inner) => {
                tracing::error!(error = %inner, "database error");
                "Error interno del servidor.".to_owned()
            }
            AppError::Internal(inner) => {
                tracing::error!(error = %inner, "internal error");
                "Error interno del servidor.".to_owned()
            }
            AppError::Unavailable(cause) => {
                tracing::error!(%cause, "database unavailable");
                UNAVAILABLE.to_owned()
            }
            AppError::Abandoned => {
                tracing::debug!("request abandoned by its client");
                UNAVAILABLE.to_owned()
            }
        };
        let fields = match err {
            AppError::Validation(fields) => fields,
            _ => Vec::new(),
        };
        ApiError { code, message, fields }
    }
}

/// Database errors that break an invariant become clear, actionable errors; anything else is
/// internal. The schema's triggers raise stable tokens (see the `migrations` crate).
impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        use sea_orm::SqlErr;
        let text = err.to_string();
        if text.contains(migrations::OVERLAP_ERROR_TOKEN) {
            return AppError::Conflict("El efectivo ya tiene otra tarea programada o activa en ese horario.".into());
        }
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                AppError::Conflict("Ya existe un registro con esos datos (código, correo o DNI repetido).".into())
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                AppError::Conflict("El registro hace referencia a datos que no existen o está en uso.".into())
            }
            _ if is_unavailable(&err, &text) => AppError::Unavailable(text),
            _ if is_check_violation(&text) => AppError::Validation(vec![FieldError {
                field: String::new(),
                message: "Los datos no cumplen las reglas del sistema (fechas, coordenadas o valores permitidos)."
                    .into(),
            }]),
            _ => AppError::Db(err),
        }
    }
}

/// What the user reads when the database cannot take the operation.
pub const UNAVAILABLE: &str = "La base de datos no puede registrar cambios en este momento; no se guardó nada. Intente de nuevo en unos minutos y, si continúa, avise al administrador.";

/// The database refuses writes (SQLite: read-only file, disk full; PostgreSQL: read-only
/// transaction, disk full) or cannot be reached.
fn is_unavailable(err: &DbErr, text: &str) -> bool {
    matches!(err, DbErr::ConnectionAcquire(_) | DbErr::Conn(_))
        || text.contains("readonly database")
        || text.contains("database or disk is full")
        || text.contains("read-only transaction")
        || text.contains("No space left on device")
        || text.contains("could not extend file")
}

/// CHECK constraint failures: PostgreSQL SQLSTATE 23514 or SQLite's message.
fn is_check_violation(text: &str) -> bool {
    text.contains("23514") || text.contains("CHECK constraint failed") || text.contains("violates check constraint")
}

pub type AppResult<T> = Result<T, AppError>;

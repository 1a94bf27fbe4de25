//! Users: the first admin, and the current user's profile.

use chrono::Utc;
use rand::Rng;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use sha2::Digest;

use crate::api::auth::CurrentUser;
use crate::domain::Role;
use crate::server::actor::Actor;
use crate::server::entities::users;
use crate::server::error::{AppError, AppResult};
use crate::server::services::auth::hash_password;
use crate::server::state::AppState;

pub const MIN_PASSWORD_LEN: usize = 10;

pub async fn current_user(state: &AppState, actor: &Actor) -> AppResult<CurrentUser> {
    let user = users::Entity::find_by_id(actor.user_id).one(&state.db).await?.ok_or(AppError::Unauthenticated)?;
    Ok(CurrentUser {
        id: user.id,
        full_name: format!("{} {}", user.first_name, user.last_name),
        email: user.email,
        role: user.role,
    })
}

/// A random password of 20 characters from an unambiguous alphabet.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

pub fn validate_password(password: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AppError::validation(
            "password",
            &format!("La contraseña debe tener al menos {MIN_PASSWORD_LEN} caracteres."),
        ));
    }
    Ok(())
}

/// Outcome of [`ensure_admin`].
#[derive(Debug, PartialEq, Eq)]
pub enum AdminOutcome {
    /// An active admin already exists; nothing changed.
    Exists,
    /// Created with the given password.
    Created,
    /// Created with a generated password, to be shown once.
    CreatedWithGenerated(String),
}

/// Creates the first admin unless an active admin exists. Without a password one is generated.
pub async fn ensure_admin(state: &AppState, email: &str, password: Option<&str>) -> AppResult<AdminOutcome> {
    let db = &state.db;
    let exists = users::Entity::find()
        .filter(users::Column::Role.eq(Role::Admin))
        .filter(users::Column::DeletedAt.is_null())
        .filter(users::Column::IsActive.eq(true))
        .one(db)
        .await?
        .is_some();
    if exists {
        return Ok(AdminOutcome::Exists);
    }
    Ok(match create_admin(state, email, password).await? {
        Some(generated) => AdminOutcome::CreatedWithGenerated(generated),
        None => AdminOutcome::Created,
    })
}

/// Creates an admin account. Returns the password when it had to be generated.
pub async fn create_admin(state: &AppState, email: &str, password: Option<&str>) -> AppResult<Option<String>> {
    let email = email.trim().to_lowercase();
    if !email.contains('@') {
        return Err(AppError::validation("email", "Ingrese un correo electrónico válido."));
    }
    let taken = users::Entity::find().filter(users::Column::Email.eq(email.as_str())).one(&state.db).await?.is_some();
    if taken {
        return Err(AppError::Conflict(format!("Ya existe un usuario con el correo {email}.")));
    }
    let (password, generated) = match password {
        Some(p) => {
            validate_password(p)?;
            (p.to_owned(), None)
        }
        None => {
            let p = generate_password();
            (p.clone(), Some(p))
        }
    };
    let hash = hash_password(&password)?;
    // The dni is unique and unknown for a bootstrap admin: a placeholder derived from the email.
    let dni = format!("ADM-{}", &hex::encode(sha2::Sha256::digest(email.as_bytes()))[..12]);
    insert_user(
        &state.db,
        NewUser {
            dni,
            first_name: "Administrador".into(),
            last_name: "GAD".into(),
            email,
            role: Role::Admin,
            password_hash: Some(hash),
            telegram_user_id: None,
        },
    )
    .await?;
    Ok(generated)
}

pub struct NewUser {
    pub dni: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
    pub password_hash: Option<String>,
    pub telegram_user_id: Option<i64>,
}

/// Inserts a user row (callers validate and check permissions).
pub async fn insert_user(db: &impl ConnectionTrait, new: NewUser) -> AppResult<users::Model> {
    let now = Utc::now();
    let user = users::ActiveModel {
        dni: Set(new.dni),
        first_name: Set(new.first_name),
        last_name: Set(new.last_name),
        email: Set(new.email),
        phone: Set(None),
        telegram_user_id: Set(new.telegram_user_id),
        role: Set(new.role),
        password_hash: Set(new.password_hash),
        is_active: Set(true),
        last_login_at: Set(None),
        failed_login_count: Set(0),
        locked_until: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    };
    Ok(user.insert(db).await?)
}

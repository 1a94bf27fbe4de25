//! Users: the first admin, the admin CRUD (soft delete, roles with a last-admin guard),
//! passwords (own change, admin reset; both revoke every other credential); Telegram link
//! codes in `links`, personal API tokens in `tokens`.

use chrono::Utc;
use rand::Rng;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use sha2::Digest;

use crate::actor::Actor;
use crate::entities::users;
use crate::error::{AppError, AppResult};
use crate::services::auth::hash_password;
use crate::state::AppState;
use contract::auth::CurrentUser;
use contract::domain::Role;

pub const MIN_PASSWORD_LEN: usize = 10;

/// The acting user's profile. The actor was resolved from the user's row in this request, so
/// this reads nothing.
pub fn current_user(actor: &Actor) -> CurrentUser {
    CurrentUser {
        id: actor.user_id,
        full_name: actor.full_name.clone(),
        email: actor.email.clone(),
        role: actor.role,
        must_change_password: actor.must_change_password,
    }
}

/// A random password of 20 characters from an unambiguous alphabet.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

pub fn validate_password(password: &str) -> AppResult<()> {
    crate::services::auth::check_password_length(password)?;
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
    let dni = format!("ADM{}", &hex::encode(sha2::Sha256::digest(email.as_bytes()))[..9]);
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
        credential_epoch: Set(0),
        must_change_password: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    };
    Ok(user.insert(db).await?)
}

// ---------------------------------------------------------------------------------------------
// Administration (SPEC §5: admins only), link codes and API tokens.

use crate::db::WriteTxn;
use crate::entities::{api_tokens, telegram_links};
use crate::meta::AuditMeta;
use crate::permissions::{Capability, require, require_interactive, require_write};
use crate::services::audit::{self, AuditEntry};
use crate::services::officers;
use contract::Page;
use contract::domain::AuditSeverity;
use contract::users::{ApiTokenInfo, CreatedApiToken, CreatedUser, LinkCode, NewUserInput, UserSummary, UserUpdate};
use sea_orm::{Condition, PaginatorTrait, QueryOrder};

mod links;
mod tokens;

pub use links::*;
pub use tokens::*;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;
/// API tokens live this long unless their creator asks for less (or more, up to the maximum).
pub const TOKEN_DEFAULT_DAYS: u32 = 90;
pub const TOKEN_MAX_DAYS: u32 = 365;
/// Live (neither revoked nor expired) API tokens one user may hold: each token has a request
/// budget and may hold event streams of its own, so minting more would multiply both.
pub const TOKEN_MAX_LIVE: u64 = 20;
/// One-time Telegram link codes expire after this long.
pub const LINK_CODE_MINUTES: i64 = 15;
pub const TOKEN_PREFIX: &str = "gad_";

pub fn summary(u: &users::Model) -> UserSummary {
    UserSummary {
        id: u.id,
        dni: u.dni.clone(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        email: u.email.clone(),
        phone: u.phone.clone(),
        role: u.role,
        is_active: u.is_active,
        telegram_linked: u.telegram_user_id.is_some(),
        last_login_at: u.last_login_at,
        locked: u.locked_until.is_some_and(|t| t > Utc::now()),
    }
}

/// SHA-256 hex of a secret (tokens, link codes): what the database keeps.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::thread_rng();
    (0..len).map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char).collect()
}

async fn find_user(db: &impl ConnectionTrait, id: i64) -> AppResult<users::Model> {
    users::Entity::find_by_id(id).filter(users::Column::DeletedAt.is_null()).one(db).await?.ok_or(AppError::NotFound)
}

/// [`find_user`], the row locked until the transaction ends (on PostgreSQL; SQLite's writers
/// take turns anyway): a role change and a credential made for the user take turns, so none
/// is made on a role read just before it changes.
pub(crate) async fn find_user_locked(db: &impl ConnectionTrait, id: i64) -> AppResult<users::Model> {
    use sea_orm::QuerySelect;
    users::Entity::find_by_id(id)
        .filter(users::Column::DeletedAt.is_null())
        .lock(sea_orm::sea_query::LockType::NoKeyUpdate)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Refuses a credential (an API token, a link code) made by an actor read before their own
/// credentials ended: a password changed or reset, a deactivation, committed while this
/// request was on its way (or seen late by another replica's cache). Call after locking the
/// credential's owner (`owner`): the actor's row, if it is the owner's, is read under that lock.
pub(crate) async fn ensure_actor_current(
    db: &impl ConnectionTrait,
    actor: &Actor,
    owner: &users::Model,
) -> AppResult<()> {
    let current = if owner.id == actor.user_id {
        Some(owner.clone())
    } else {
        users::Entity::find_by_id(actor.user_id).filter(users::Column::DeletedAt.is_null()).one(db).await?
    };
    match current {
        Some(user) if user.is_active && user.credential_epoch == actor.credential_epoch => Ok(()),
        _ => Err(AppError::Unauthenticated),
    }
}

/// On a promotion to admin (by an admin, or by the identity provider at sign-in): ends what an
/// admin may have made for the user while they were not one — API tokens, link codes and the
/// Telegram link — which would otherwise act as the new admin (see
/// `tokens::create_api_token`, `links::create_link_code`). The user's sessions stay: only the
/// user could have signed them in. Call with the user's row locked ([`find_user_locked`]).
pub(crate) async fn end_credentials_made_for(db: &impl ConnectionTrait, id: i64) -> AppResult<()> {
    use sea_orm::sea_query::Expr;
    let now = Utc::now();
    api_tokens::Entity::update_many()
        .col_expr(api_tokens::Column::RevokedAt, Expr::value(Some(now)))
        .filter(api_tokens::Column::UserId.eq(id))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    telegram_links::Entity::update_many()
        .col_expr(telegram_links::Column::UsedAt, Expr::value(Some(now)))
        .filter(telegram_links::Column::UserId.eq(id))
        .filter(telegram_links::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    users::Entity::update_many()
        .col_expr(users::Column::TelegramUserId, Expr::value(Option::<i64>::None))
        .filter(users::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub(crate) fn validate_profile(dni: &str, first: &str, last: &str, email: &str) -> AppResult<()> {
    let mut errors = crate::validate::Errors::new();
    let mut bad = |field: &str, message: &str| errors.add(field, message);
    if !(7..=12).contains(&dni.len()) || !dni.chars().all(|c| c.is_ascii_alphanumeric()) {
        bad("dni", "El DNI debe tener entre 7 y 12 caracteres alfanuméricos.");
    }
    if first.trim().is_empty() || first.chars().count() > 100 {
        bad("first_name", "Ingrese el nombre (hasta 100 caracteres).");
    }
    if last.trim().is_empty() || last.chars().count() > 100 {
        bad("last_name", "Ingrese el apellido (hasta 100 caracteres).");
    }
    let valid_email = email.len() <= 254
        && email.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'));
    if !valid_email {
        bad("email", "Ingrese un correo electrónico válido.");
    }
    errors.finish()
}

/// Longest phone number kept, in characters.
const PHONE_MAX: usize = 30;

/// A phone number: digits, spaces and `+ - ( ) .`, at most [`PHONE_MAX`] characters.
pub(crate) fn validate_phone(phone: Option<&str>) -> AppResult<()> {
    let Some(phone) = phone.map(str::trim).filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let allowed = |c: char| c.is_ascii_digit() || " +-().".contains(c);
    if phone.chars().count() > PHONE_MAX || !phone.chars().all(allowed) {
        return Err(AppError::validation(
            "phone",
            "El teléfono admite hasta 30 caracteres: dígitos, espacios y + - ( ).",
        ));
    }
    Ok(())
}

/// Users matching `text` (name, email or DNI) and `role`, by id, cursor-paginated.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    text: Option<String>,
    role: Option<Role>,
    cursor: Option<String>,
    limit: Option<u32>,
) -> AppResult<Page<UserSummary>> {
    require(actor, Capability::ManageUsers)?;
    if text.as_deref().is_some_and(|t| t.chars().count() > 254) {
        return Err(AppError::validation("text", "El texto de búsqueda es demasiado largo."));
    }
    let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let after: i64 = match cursor.as_deref() {
        None | Some("") => 0,
        Some(c) => c.parse().map_err(|_| AppError::validation("cursor", "Cursor inválido."))?,
    };
    let mut query =
        users::Entity::find().filter(users::Column::DeletedAt.is_null()).filter(users::Column::Id.gt(after));
    if let Some(role) = role {
        query = query.filter(users::Column::Role.eq(role));
    }
    if let Some(text) = text.map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", text.replace(['%', '_'], ""));
        use sea_orm::sea_query::{Expr, ExprTrait, Func};
        let like = |col: users::Column| Expr::expr(Func::lower(Expr::col(col))).like(pattern.clone());
        query = query.filter(
            Condition::any()
                .add(like(users::Column::FirstName))
                .add(like(users::Column::LastName))
                .add(like(users::Column::Email))
                .add(like(users::Column::Dni)),
        );
    }
    let rows = crate::db::first_rows(&state.db, query.order_by_asc(users::Column::Id), u64::from(limit) + 1).await?;
    let more = rows.len() > limit as usize;
    let items: Vec<UserSummary> = rows.iter().take(limit as usize).map(summary).collect();
    let next_cursor = if more { items.last().map(|u| u.id.to_string()) } else { None };
    Ok(Page { items, next_cursor })
}

pub async fn get(state: &AppState, actor: &Actor, id: i64) -> AppResult<UserSummary> {
    if actor.user_id != id {
        require(actor, Capability::ManageUsers)?;
    }
    Ok(summary(&find_user(&state.db, id).await?))
}

pub async fn create(state: &AppState, actor: &Actor, meta: &AuditMeta, input: NewUserInput) -> AppResult<CreatedUser> {
    require(actor, Capability::ManageUsers)?;
    let email = input.email.trim().to_lowercase();
    let dni = input.dni.trim().to_owned();
    validate_profile(&dni, &input.first_name, &input.last_name, &email)?;
    validate_phone(input.phone.as_deref())?;
    let (password, generated) = match input.password.filter(|p| !p.is_empty()) {
        Some(p) => {
            validate_password(&p)?;
            (p, None)
        }
        None => {
            let p = generate_password();
            (p.clone(), Some(p))
        }
    };
    let hash = hash_password(&password)?;
    let txn = WriteTxn::begin(state).await?;
    let user = insert_user(
        &*txn,
        NewUser {
            dni,
            first_name: input.first_name.trim().into(),
            last_name: input.last_name.trim().into(),
            email,
            role: input.role,
            password_hash: Some(hash),
            telegram_user_id: None,
        },
    )
    .await?;
    let mut active: users::ActiveModel = user.clone().into();
    // Stored as checked: trimmed (`validate_phone` measures the trimmed text).
    active.phone = Set(input.phone.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()));
    let user = active.update(&*txn).await?;
    audit::append(&txn, Some(actor), meta, AuditEntry::new("user.create", "user", user.id).after(summary(&user)))
        .await?;
    let officer_code = if user.role == Role::Officer {
        Some(officers::ensure_for_user(&txn, actor, meta, &user, input.officer).await?.code)
    } else {
        None
    };
    txn.commit().await?;
    Ok(CreatedUser { user: summary(&user), generated_password: generated, officer_code })
}

/// Refuses changes that would leave the system without an active admin. The active admins'
/// rows are locked (on PostgreSQL; SQLite writes one at a time): two admins demoting each
/// other at once take turns, and the second sees the first's change.
pub(crate) async fn ensure_other_admin(db: &impl ConnectionTrait, except: i64) -> AppResult<()> {
    use sea_orm::QuerySelect;
    let admins: Vec<i64> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(users::Column::Role.eq(Role::Admin))
        .filter(users::Column::IsActive.eq(true))
        .filter(users::Column::DeletedAt.is_null())
        .order_by_asc(users::Column::Id)
        .lock_exclusive()
        .into_tuple()
        .all(db)
        .await?;
    if admins.iter().all(|id| *id == except) {
        return Err(AppError::Conflict("Debe quedar al menos un administrador activo.".into()));
    }
    Ok(())
}

pub async fn update(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    id: i64,
    update: UserUpdate,
) -> AppResult<UserSummary> {
    require(actor, Capability::ManageUsers)?;
    let txn = WriteTxn::begin(state).await?;
    // An admin's demotion locks the active admins in id order first (the last-admin guard), and
    // the user's row after: two admins demoting each other wait instead of deadlocking.
    let demoting_admin =
        find_user(&*txn, id).await?.role == Role::Admin && update.role.is_some_and(|r| r != Role::Admin);
    if demoting_admin {
        ensure_other_admin(&*txn, id).await?;
    }
    let user = find_user_locked(&*txn, id).await?;
    let before = summary(&user);
    let dni = update.dni.map(|d| d.trim().to_owned()).unwrap_or_else(|| user.dni.clone());
    let first = update.first_name.map(|s| s.trim().to_owned()).unwrap_or_else(|| user.first_name.clone());
    let last = update.last_name.map(|s| s.trim().to_owned()).unwrap_or_else(|| user.last_name.clone());
    let email = update.email.map(|e| e.trim().to_lowercase()).unwrap_or_else(|| user.email.clone());
    validate_profile(&dni, &first, &last, &email)?;
    validate_phone(update.phone.as_deref())?;
    let role = update.role.unwrap_or(user.role);
    // (Made an admin between the two reads: guarded now.)
    if user.role == Role::Admin && role != Role::Admin && !demoting_admin {
        ensure_other_admin(&*txn, id).await?;
    }
    if user.role != Role::Admin && role == Role::Admin {
        end_credentials_made_for(&*txn, id).await?;
    }
    let mut active: users::ActiveModel = user.into();
    active.dni = Set(dni);
    active.first_name = Set(first);
    active.last_name = Set(last);
    active.email = Set(email);
    if let Some(phone) = update.phone {
        active.phone = Set(Some(phone.trim().to_owned()).filter(|p| !p.is_empty()));
    }
    active.role = Set(role);
    active.updated_at = Set(Utc::now());
    let user = active.update(&*txn).await?;
    let entry = AuditEntry::new("user.update", "user", id).before(&before).after(summary(&user));
    audit::append(&txn, Some(actor), meta, entry).await?;
    // The officer profile follows the user: created with the officer role, released without
    // it, and named as the user.
    if role == Role::Officer {
        officers::ensure_for_user(&txn, actor, meta, &user, None).await?;
        if (before.first_name.as_str(), before.last_name.as_str())
            != (user.first_name.as_str(), user.last_name.as_str())
        {
            officers::follow_user_names(&txn, &user).await?;
        }
    } else if before.role == Role::Officer {
        officers::release_user(&txn, id).await?;
    }
    txn.commit().await?;
    Ok(summary(&user))
}

pub async fn set_active(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    id: i64,
    is_active: bool,
) -> AppResult<UserSummary> {
    require(actor, Capability::ManageUsers)?;
    if !is_active && id == actor.user_id {
        return Err(AppError::Conflict("No puede desactivar su propia cuenta.".into()));
    }
    let txn = WriteTxn::begin(state).await?;
    let user = find_user(&*txn, id).await?;
    if !is_active && user.role == Role::Admin {
        ensure_other_admin(&*txn, id).await?;
    }
    let now = Utc::now();
    let mut active: users::ActiveModel = user.into();
    active.is_active = Set(is_active);
    active.updated_at = Set(now);
    let user = active.update(&*txn).await?;
    if !is_active {
        // Reactivation must not revive what was signed in before.
        revoke_credentials(&txn, id, now).await?;
    }
    let action = if is_active { "user.activate" } else { "user.deactivate" };
    audit::append(&txn, Some(actor), meta, AuditEntry::new(action, "user", id)).await?;
    txn.commit().await?;
    Ok(summary(&user))
}

/// Ends every credential of `user_id` except the password: bumps the credential epoch, so
/// every dashboard session stamped before dies at its next request, revokes every API token
/// and every unused link code, and unlinks the Telegram account (a link is a credential too: an account taken over must
/// not keep the bot; the user links again with a new code). Part of the caller's transaction.
async fn revoke_credentials(txn: &WriteTxn, user_id: i64, now: chrono::DateTime<Utc>) -> AppResult<()> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    users::Entity::update_many()
        .col_expr(users::Column::CredentialEpoch, Expr::col(users::Column::CredentialEpoch).add(1))
        .col_expr(users::Column::TelegramUserId, Expr::value(Option::<i64>::None))
        .filter(users::Column::Id.eq(user_id))
        .exec(&**txn)
        .await?;
    api_tokens::Entity::update_many()
        .col_expr(api_tokens::Column::RevokedAt, Expr::value(Some(now)))
        .filter(api_tokens::Column::UserId.eq(user_id))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .exec(&**txn)
        .await?;
    // A link code not yet redeemed is a credential waiting: whoever asked for it would link
    // their Telegram account after the revocation.
    telegram_links::Entity::update_many()
        .col_expr(telegram_links::Column::UsedAt, Expr::value(Some(now)))
        .filter(telegram_links::Column::UserId.eq(user_id))
        .filter(telegram_links::Column::UsedAt.is_null())
        .exec(&**txn)
        .await?;
    Ok(())
}

/// What [`set_password`] did.
#[derive(Debug)]
pub struct PasswordSet {
    /// The generated password (an admin's reset without one given), to be shown once.
    pub generated: Option<String>,
    /// The actor changed their own password: the new credential epoch, to re-stamp the
    /// session that made the change (every other session and token of theirs has ended).
    pub own_epoch: Option<i64>,
}

/// Sets a user's password; every other session and every API token of that user ends.
///
/// - Your own password (anyone): `current_password` must be right (wrong guesses count
///   towards the login lockout) and the new one given and different.
/// - Someone else's (admins): the new password, or a generated one returned once; the
///   account is unlocked and must change the password at its next sign-in.
///
/// Never through an API token (a stolen token must not turn into the password).
pub async fn set_password(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    id: i64,
    current_password: Option<String>,
    password: Option<String>,
) -> AppResult<PasswordSet> {
    require_interactive(actor)?;
    if id == actor.user_id {
        require_write(actor)?;
        let new = password.unwrap_or_default();
        change_own_password(state, actor, meta, current_password.as_deref().unwrap_or_default(), &new).await
    } else {
        if actor.must_change_password {
            return Err(AppError::PasswordChangeRequired);
        }
        require(actor, Capability::ManageUsers)?;
        reset_password(state, actor, meta, id, password).await
    }
}

async fn change_own_password(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    current: &str,
    new: &str,
) -> AppResult<PasswordSet> {
    use crate::services::auth;
    let wrong = |message: &str| AppError::validation("current_password", message);
    if current.is_empty() {
        return Err(wrong("Ingrese su contraseña actual."));
    }
    auth::check_password_length(current)?;
    validate_password(new)?;
    if new == current {
        return Err(AppError::validation("password", "La nueva contraseña debe ser distinta de la actual."));
    }
    let user = find_user(&state.db, actor.user_id).await?;
    // The current password is guessed no faster here than at the login.
    let now = Utc::now();
    if auth::reserve_attempt(state, user.id, now).await?.is_none() {
        return Err(wrong("Demasiados intentos fallidos: la cuenta está bloqueada por un tiempo."));
    }
    if !auth::verify_blocking(current, user.password_hash.clone()).await {
        let entry = AuditEntry::new("user.password_change", "user", user.id).failed(AuditSeverity::Warning);
        audit::append_alone(state, Some(actor), meta, entry).await?;
        return Err(wrong("La contraseña actual no es correcta."));
    }
    let hash = hash_password(new)?;
    let txn = WriteTxn::begin(state).await?;
    let user = find_user(&*txn, actor.user_id).await?;
    let mut active: users::ActiveModel = user.into();
    active.password_hash = Set(Some(hash));
    active.must_change_password = Set(false);
    active.failed_login_count = Set(0);
    active.locked_until = Set(None);
    active.updated_at = Set(now);
    active.update(&*txn).await?;
    revoke_credentials(&txn, actor.user_id, now).await?;
    let epoch = find_user(&*txn, actor.user_id).await?.credential_epoch;
    let entry = AuditEntry {
        severity: AuditSeverity::Warning,
        ..AuditEntry::new("user.password_change", "user", actor.user_id)
    };
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.commit().await?;
    Ok(PasswordSet { generated: None, own_epoch: Some(epoch) })
}

async fn reset_password(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    id: i64,
    password: Option<String>,
) -> AppResult<PasswordSet> {
    let (password, generated) = match password.filter(|p| !p.is_empty()) {
        Some(p) => {
            validate_password(&p)?;
            (p, None)
        }
        None => {
            let p = generate_password();
            (p.clone(), Some(p))
        }
    };
    let hash = hash_password(&password)?;
    let now = Utc::now();
    let txn = WriteTxn::begin(state).await?;
    let user = find_user(&*txn, id).await?;
    let mut active: users::ActiveModel = user.into();
    active.password_hash = Set(Some(hash));
    active.must_change_password = Set(true);
    active.failed_login_count = Set(0);
    active.locked_until = Set(None);
    active.updated_at = Set(now);
    active.update(&*txn).await?;
    revoke_credentials(&txn, id, now).await?;
    let entry = AuditEntry { severity: AuditSeverity::Warning, ..AuditEntry::new("user.password_reset", "user", id) };
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.commit().await?;
    Ok(PasswordSet { generated, own_epoch: None })
}

/// Soft-deletes a user (admins only; never yourself or the last admin). Their sessions and
/// tokens stop working at once (inactive users resolve to nobody); the audit trail keeps
/// the row. Their email and DNI stay taken.
pub async fn delete(state: &AppState, actor: &Actor, meta: &AuditMeta, id: i64) -> AppResult<()> {
    require(actor, Capability::ManageUsers)?;
    if id == actor.user_id {
        return Err(AppError::Conflict("No puede eliminar su propia cuenta.".into()));
    }
    let txn = WriteTxn::begin(state).await?;
    let user = find_user(&*txn, id).await?;
    if user.role == Role::Admin {
        ensure_other_admin(&*txn, id).await?;
    }
    let before = summary(&user);
    let now = Utc::now();
    let mut active: users::ActiveModel = user.into();
    active.deleted_at = Set(Some(now));
    active.is_active = Set(false);
    active.telegram_user_id = Set(None);
    active.updated_at = Set(now);
    active.update(&*txn).await?;
    revoke_credentials(&txn, id, now).await?;
    audit::append(&txn, Some(actor), meta, AuditEntry::new("user.delete", "user", id).before(before)).await?;
    txn.commit().await
}

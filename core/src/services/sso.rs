//! Single sign-on (OpenID Connect): who a verified ID token names, as a GAD user.
//!
//! The server's `oidc` module runs the protocol (discovery, authorization code with PKCE,
//! token exchange, ID token verification); this is the rule for the person it returns:
//! - the role comes from the configured claim on every sign-in (a provider that stops naming
//!   one refuses the sign-in), so the provider stays the source of truth for its users;
//! - a user the provider signs in for the first time is created, without a password;
//! - an account with a local password (the first admin above all) is never taken over by the
//!   provider: it keeps signing in with its password;
//! - a deactivated or deleted account stays out;
//! - an account the provider created is bound to its subject: the same email from another
//!   subject is refused.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use crate::db::WriteTxn;
use crate::entities::users;
use crate::error::{AppError, AppResult};
use crate::meta::AuditMeta;
use crate::services::audit::{self, AuditEntry};
use crate::services::users::{NewUser, insert_user};
use crate::state::AppState;
use contract::domain::{AuditSeverity, Role};

/// What a verified ID token says about the person.
#[derive(Clone, Debug)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// The values of the configured role claim (a string claim is one value).
    pub role_values: Vec<String>,
}

/// Why a sign-in that would leave GAD without an active admin is refused.
pub const LAST_ADMIN: &str = "Su cuenta institucional ya no tiene el rol de administrador y GAD debe conservar al menos un administrador activo: pida que se designe otro antes de ingresar.";

/// Longest text kept from a claim.
const MAX_CLAIM: usize = 100;

fn clip(text: &str) -> String {
    text.trim().chars().take(MAX_CLAIM).collect()
}

/// The GAD user `identity` signs in as (created on a first sign-in), or why not, in Spanish;
/// the refusal's field says which (`email`, `role`, `inactive`, `local_account`, `other_subject`, `last_admin`).
/// Audited either way; the caller starts the session.
pub async fn sign_in(state: &AppState, meta: &AuditMeta, identity: Identity) -> AppResult<users::Model> {
    let Some(config) = &state.config.oidc else { return Err(AppError::NotFound) };
    let refuse = |reason: &str| {
        AuditEntry::new("auth.login_failed", "user", "")
            .after(serde_json::json!({ "method": "oidc", "reason": reason }))
            .failed(AuditSeverity::Warning)
    };
    let email = identity.email.as_deref().map(str::trim).map(str::to_lowercase).filter(|e| e.contains('@'));
    let Some(email) = email.filter(|e| e.len() <= 254) else {
        audit::append_alone(state, None, meta, refuse("no_email")).await?;
        return Err(AppError::validation("email", "El proveedor de identidad no informó un correo electrónico."));
    };
    // The highest role any value names.
    let role = identity.role_values.iter().filter_map(|v| config.role_of(v.trim())).max_by_key(|r| match r {
        Role::Officer => 0,
        Role::Supervisor => 1,
        Role::Admin => 2,
    });
    let Some(role) = role else {
        audit::append_alone(state, None, meta, refuse("no_role")).await?;
        return Err(AppError::validation("role", "Su cuenta institucional no tiene un rol de GAD asignado."));
    };
    // A DNI is required and unique: the provider's subject, hashed, stands in for it. It binds
    // the account to that subject: another of the provider's people who shows the same email
    // (an address changed or reused there) does not sign in as this account.
    let digest = Sha256::digest(format!("{}\n{}", identity.issuer, identity.subject));
    let dni = format!("SSO-{}", &hex::encode(digest)[..16]);
    let existing = users::Entity::find().filter(users::Column::Email.eq(email.as_str())).one(&state.db).await?;
    let user = match existing {
        Some(user) if user.deleted_at.is_some() || !user.is_active => {
            audit::append_alone(state, None, meta, refuse("inactive")).await?;
            return Err(AppError::validation("inactive", "Su cuenta de GAD está desactivada."));
        }
        Some(user) if user.password_hash.is_some() => {
            audit::append_alone(state, None, meta, refuse("local_account")).await?;
            return Err(AppError::validation(
                "local_account",
                "Esta cuenta de GAD ingresa con su contraseña, no con la cuenta institucional.",
            ));
        }
        Some(user) if user.dni.starts_with("SSO-") && user.dni != dni => {
            audit::append_alone(state, None, meta, refuse("other_subject")).await?;
            return Err(AppError::validation(
                "other_subject",
                "Este correo pertenece a otra cuenta institucional: consulte con un administrador.",
            ));
        }
        Some(user) => {
            let txn = WriteTxn::begin(state).await?;
            let before = user.role;
            // The provider took the admin role from the last active admin: the sign-in is
            // refused (the account stays as it was) rather than leave GAD without an admin.
            // (The admins' rows are locked in id order first, the user's after, as an admin's
            // change of role takes them: see `users::update`.)
            if before == Role::Admin
                && role != Role::Admin
                && let Err(err) = super::users::ensure_other_admin(&*txn, user.id).await
            {
                drop(txn);
                audit::append_alone(state, None, meta, refuse("last_admin")).await?;
                tracing::warn!(user_id = user.id, %err, "single sign-on would remove the last admin");
                return Err(AppError::validation("last_admin", LAST_ADMIN));
            }
            let user = super::users::find_user_locked(&*txn, user.id).await?;
            // Deactivated (or given a password) by an admin between the read above and the
            // lock: refused as the read would have refused it.
            if user.deleted_at.is_some() || !user.is_active || user.password_hash.is_some() {
                drop(txn);
                audit::append_alone(state, None, meta, refuse("inactive")).await?;
                return Err(AppError::validation("inactive", "Su cuenta de GAD está desactivada."));
            }
            // A promotion by the provider ends what was made for the user, as one by an admin.
            if user.role != Role::Admin && role == Role::Admin {
                super::users::end_credentials_made_for(&*txn, user.id).await?;
            }
            let mut model: users::ActiveModel = user.into();
            model.role = Set(role);
            model.last_login_at = Set(Some(Utc::now()));
            model.updated_at = Set(Utc::now());
            let user = model.update(&*txn).await?;
            let entry = AuditEntry::new("auth.login", "user", user.id)
                .after(serde_json::json!({ "method": "oidc", "role": role, "role_before": before }));
            audit::append(&txn, None, meta, entry).await?;
            txn.commit().await?;
            user
        }
        None => {
            let txn = WriteTxn::begin(state).await?;
            let first = identity.given_name.as_deref().map(clip).filter(|n| !n.is_empty());
            let last = identity.family_name.as_deref().map(clip).filter(|n| !n.is_empty());
            let user = insert_user(
                &*txn,
                NewUser {
                    dni,
                    first_name: first.unwrap_or_else(|| clip(email.split('@').next().unwrap_or("SSO"))),
                    last_name: last.unwrap_or_default(),
                    email: email.clone(),
                    role,
                    password_hash: None,
                    telegram_user_id: None,
                },
            )
            .await?;
            let mut model: users::ActiveModel = user.into();
            model.last_login_at = Set(Some(Utc::now()));
            let user = model.update(&*txn).await?;
            let entry = AuditEntry::new("auth.login", "user", user.id)
                .after(serde_json::json!({ "method": "oidc", "role": role, "created": true }));
            audit::append(&txn, None, meta, entry).await?;
            txn.commit().await?;
            user
        }
    };
    tracing::info!(user_id = user.id, "single sign-on succeeded");
    Ok(user)
}

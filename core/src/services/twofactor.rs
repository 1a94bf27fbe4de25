//! Two-factor sign-in for the dashboard: TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second
//! steps, one step of tolerance either side) and single-use recovery codes.
//!
//! - Enrolment: [`begin`] stores a fresh secret, unconfirmed, and hands it to its owner once
//!   more while unconfirmed (QR code and base32 text); [`confirm`] activates it with a current
//!   code and the password, and returns ten recovery codes (stored hashed, shown once).
//!   After confirmation the secret never leaves the server.
//! - Sign-in: a correct password for a user with an active secret does not sign in
//!   (`auth::LoginOutcome::SecondFactor`); [`verify_login`] does, with a current code or a
//!   recovery code. Wrong codes count toward the password lockout (`auth::reserve_attempt`).
//! - Replay: every accepted code stores its time step (`last_used_step`), and only a later
//!   step is accepted afterwards, with a conditional UPDATE, so two parallel requests with
//!   one code cannot both succeed. Recovery codes are spent the same way (`used_at`).
//! - Required roles (`Config::two_factor_required_roles`): [`require_enrolled`] is asked by
//!   `auth::actor_for_user`, so a required user without 2FA is refused by every door (pages,
//!   server functions, REST with the session or a token) except the enrolment functions here,
//!   which resolve the account with [`account_actor`].

use chrono::Utc;
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::actor::Actor;
use crate::db::WriteTxn;
use crate::entities::{user_recovery_codes, user_totp, users};
use crate::error::{AppError, AppResult};
use crate::meta::AuditMeta;
use crate::permissions::{Capability, require};
use crate::services::audit::{self, AuditEntry};
use crate::services::auth;
use crate::services::users::secret_hash;
use crate::state::AppState;
use contract::auth::CurrentUser;
use contract::domain::{AuditSeverity, Channel, Role};
use contract::twofactor::{Enrolment, TwoFactorInfo};

/// The issuer shown by authenticator apps.
pub const ISSUER: &str = "GAD";
/// How many recovery codes a user gets.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// How long the session waits for the code after a correct password.
pub const PENDING_LOGIN_MINUTES: i64 = 5;
/// Recovery codes: 10 characters of an alphabet without look-alikes (≈ 50 bits), shown as
/// `xxxxx-xxxxx`.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
const RECOVERY_LEN: usize = 10;
/// Longest code input looked at (anything longer is simply wrong).
const MAX_CODE_INPUT: usize = 64;
const STEP_SECONDS: u64 = 30;

fn build(secret: &str, account: &str) -> AppResult<Totp> {
    let secret = Secret::try_from_base32(secret).map_err(AppError::internal)?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        // The label may not contain ':'; e-mail addresses do not.
        .with_account_name(account.replace(':', ""))
        .build()
        .map_err(AppError::internal)
}

fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    Secret::from(bytes).to_base32()
}

fn now_seconds() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or(0)
}

fn enrolment(secret: &str, email: &str) -> AppResult<Enrolment> {
    let totp = build(secret, email)?;
    let uri = totp.to_url().map_err(AppError::internal)?;
    let qr =
        qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M).map_err(AppError::internal)?;
    let svg = qr.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).build();
    // Markup for inline use: no XML declaration, an accessible name.
    let svg = svg.find("<svg").map_or(svg.as_str(), |at| &svg[at..]).replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"Código QR para la aplicación de autenticación\" ",
        1,
    );
    let grouped = secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>();
    Ok(Enrolment { secret: grouped.join(" "), uri, qr_svg: svg })
}

fn new_recovery_code() -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    let raw: String =
        (0..RECOVERY_LEN).map(|_| RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char).collect();
    format!("{}-{}", &raw[..5], &raw[5..])
}

/// A recovery code as typed → its canonical form (lowercase, no spaces or dashes), if it
/// could be one.
fn canonical_recovery_code(input: &str) -> Option<String> {
    let code: String = input.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_lowercase).collect();
    (code.len() == RECOVERY_LEN && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(code)
}

/// Six digits, spaces ignored.
fn canonical_totp_code(input: &str) -> Option<String> {
    let code: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// Whether `role` must sign in with a second factor.
pub fn required_for(state: &AppState, role: Role) -> bool {
    state.config.two_factor_required_roles.contains(&role)
}

async fn confirmed_secret(db: &impl sea_orm::ConnectionTrait, user_id: i64) -> AppResult<Option<user_totp::Model>> {
    Ok(user_totp::Entity::find_by_id(user_id).one(db).await?.filter(|t| t.confirmed_at.is_some()))
}

/// Whether the user signs in with a second factor.
pub async fn is_active(state: &AppState, user_id: i64) -> AppResult<bool> {
    Ok(confirmed_secret(&state.db, user_id).await?.is_some())
}

/// For actor resolution: a user whose role requires two-factor sign-in and who has not
/// enrolled is refused ([`AppError::TwoFactorSetupRequired`]) until enrolled.
pub async fn require_enrolled(state: &AppState, user: &users::Model) -> AppResult<()> {
    if required_for(state, user.role) && !is_active(state, user.id).await? {
        return Err(AppError::TwoFactorSetupRequired);
    }
    Ok(())
}

/// The signed-in account for its own two-factor settings, enrolled or not (the only place
/// where a required user without 2FA is somebody).
pub async fn account_actor(state: &AppState, user_id: i64) -> AppResult<Actor> {
    let user = active_user(state, user_id).await?;
    auth::actor_from(state, user, Channel::Web).await
}

async fn active_user(state: &AppState, user_id: i64) -> AppResult<users::Model> {
    users::Entity::find_by_id(user_id)
        .filter(users::Column::DeletedAt.is_null())
        .one(&state.db)
        .await?
        .filter(|u| u.is_active)
        .ok_or(AppError::Unauthenticated)
}

fn current_user(actor: &Actor) -> CurrentUser {
    crate::services::users::current_user(actor)
}

/// The account page's view of the actor's own two-factor sign-in.
pub async fn status(state: &AppState, actor: &Actor) -> AppResult<TwoFactorInfo> {
    let row = user_totp::Entity::find_by_id(actor.user_id).one(&state.db).await?;
    let left = user_recovery_codes::Entity::find()
        .filter(user_recovery_codes::Column::UserId.eq(actor.user_id))
        .filter(user_recovery_codes::Column::UsedAt.is_null())
        .count(&state.db)
        .await?;
    let (active, active_since, enrolment) = match row {
        Some(t) if t.confirmed_at.is_some() => {
            (true, t.confirmed_at.map(|at| super::local_time(at, state.config.timezone)), None)
        }
        Some(t) => (false, None, Some(enrolment(&t.secret, &actor.email)?)),
        None => (false, None, None),
    };
    Ok(TwoFactorInfo {
        user: current_user(actor),
        active,
        required: required_for(state, actor.role),
        active_since,
        recovery_codes_left: if active { u32::try_from(left).unwrap_or(u32::MAX) } else { 0 },
        enrolment,
    })
}

/// Starts (or restarts) enrolment with a fresh secret. Refused while 2FA is active: disable
/// it first (that needs the password or a code).
pub async fn begin(state: &AppState, actor: &Actor, meta: &AuditMeta) -> AppResult<Enrolment> {
    let txn = WriteTxn::begin(state).await?;
    let existing = user_totp::Entity::find_by_id(actor.user_id).one(&*txn).await?;
    if existing.as_ref().is_some_and(|t| t.confirmed_at.is_some()) {
        return Err(AppError::Conflict("La verificación en dos pasos ya está activa.".into()));
    }
    let secret = new_secret();
    let now = Utc::now();
    if existing.is_some() {
        user_totp::Entity::delete_by_id(actor.user_id).exec(&*txn).await?;
    }
    user_totp::ActiveModel {
        user_id: Set(actor.user_id),
        secret: Set(secret.clone()),
        confirmed_at: Set(None),
        last_used_step: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&*txn)
    .await?;
    audit::append(&txn, Some(actor), meta, AuditEntry::new("auth.2fa_enrolment_started", "user", actor.user_id))
        .await?;
    txn.commit().await?;
    enrolment(&secret, &actor.email)
}

/// Stores fresh recovery codes (replacing any earlier ones) and returns them.
async fn replace_recovery_codes(txn: &WriteTxn, user_id: i64) -> AppResult<Vec<String>> {
    user_recovery_codes::Entity::delete_many()
        .filter(user_recovery_codes::Column::UserId.eq(user_id))
        .exec(&**txn)
        .await?;
    let now = Utc::now();
    let codes: Vec<String> = (0..RECOVERY_CODE_COUNT).map(|_| new_recovery_code()).collect();
    let rows = codes.iter().map(|code| user_recovery_codes::ActiveModel {
        user_id: Set(user_id),
        code_hash: Set(secret_hash(&canonical_recovery_code(code).unwrap_or_default())),
        used_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    });
    user_recovery_codes::Entity::insert_many(rows).exec(&**txn).await?;
    Ok(codes)
}

/// Accepts `code` for the secret `row` at most once: the matched time step must be later
/// than the last accepted one, and is stored in the same conditional UPDATE.
async fn spend_totp(
    db: &impl sea_orm::ConnectionTrait,
    row: &user_totp::Model,
    email: &str,
    code: &str,
) -> AppResult<bool> {
    let Some(code) = canonical_totp_code(code) else { return Ok(false) };
    // `check` compares in constant time, over the current step and one either side.
    let Some(step) = build(&row.secret, email)?.check(&code, now_seconds()) else { return Ok(false) };
    let step = i64::try_from(step).map_err(AppError::internal)?;
    let updated = user_totp::Entity::update_many()
        .col_expr(user_totp::Column::LastUsedStep, Expr::value(Some(step)))
        .col_expr(user_totp::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(user_totp::Column::UserId.eq(row.user_id))
        .filter(
            Condition::any()
                .add(user_totp::Column::LastUsedStep.is_null())
                .add(user_totp::Column::LastUsedStep.lt(step)),
        )
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Spends a recovery code of `user_id` (single use, atomically).
async fn spend_recovery_code(db: &impl sea_orm::ConnectionTrait, user_id: i64, code: &str) -> AppResult<bool> {
    let Some(code) = canonical_recovery_code(code) else { return Ok(false) };
    let updated = user_recovery_codes::Entity::update_many()
        .col_expr(user_recovery_codes::Column::UsedAt, Expr::value(Some(Utc::now())))
        .filter(user_recovery_codes::Column::UserId.eq(user_id))
        .filter(user_recovery_codes::Column::CodeHash.eq(secret_hash(&code)))
        .filter(user_recovery_codes::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

fn too_long(code: &str) -> bool {
    code.len() > MAX_CODE_INPUT
}

/// How recent a sign-in through the provider must be for an account without a password to
/// confirm its enrolment.
pub const FRESH_SIGN_IN_SECONDS: i64 = 10 * 60;

/// Activates the enrolment under way: `code` must come from the new secret (it proves the
/// app has it) and `password` must be the account's (adding a factor is an account change).
/// An account without a password (made by single sign-on) proves it with a sign-in of the
/// last [`FRESH_SIGN_IN_SECONDS`] instead (`signed_in_at`, Unix seconds): a stolen older
/// session cannot enrol its own phone and lock the owner out. Returns the recovery codes,
/// shown once.
pub async fn confirm(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    code: &str,
    password: &str,
    signed_in_at: Option<i64>,
) -> AppResult<Vec<String>> {
    let user = active_user(state, actor.user_id).await?;
    let fresh = signed_in_at.is_some_and(|at| Utc::now().timestamp() - at <= FRESH_SIGN_IN_SECONDS);
    match user.password_hash {
        Some(_) => check_password(state, &user, meta, password).await?,
        None if user.locked_until.is_some_and(|until| until > Utc::now()) => return Err(AppError::Locked),
        None if !fresh => {
            return Err(AppError::Refused(
                "Vuelva a ingresar con la cuenta institucional y active la verificación en los 10 minutos siguientes."
                    .into(),
            ));
        }
        None => {}
    }
    if too_long(code) || canonical_totp_code(code).is_none() {
        return Err(AppError::validation("code", "Ingrese el código de 6 dígitos que muestra la aplicación."));
    }
    let txn = WriteTxn::begin(state).await?;
    let row = user_totp::Entity::find_by_id(actor.user_id)
        .one(&*txn)
        .await?
        .filter(|t| t.confirmed_at.is_none())
        .ok_or_else(|| AppError::Conflict("No hay una configuración en curso: comience de nuevo.".into()))?;
    if !spend_totp(&*txn, &row, &actor.email, code).await? {
        return Err(AppError::validation(
            "code",
            "El código no es correcto. Revise la hora del teléfono y escriba el código actual.",
        ));
    }
    let now = Utc::now();
    user_totp::Entity::update_many()
        .col_expr(user_totp::Column::ConfirmedAt, Expr::value(Some(now)))
        .col_expr(user_totp::Column::UpdatedAt, Expr::value(now))
        .filter(user_totp::Column::UserId.eq(actor.user_id))
        .exec(&*txn)
        .await?;
    let codes = replace_recovery_codes(&txn, actor.user_id).await?;
    let entry =
        AuditEntry { severity: AuditSeverity::Warning, ..AuditEntry::new("auth.2fa_enabled", "user", actor.user_id) }
            .after(serde_json::json!({ "recovery_codes": RECOVERY_CODE_COUNT }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.commit().await?;
    Ok(codes)
}

/// Counts an attempt at a secret of `user` before it is checked ([`auth::reserve_attempt`]):
/// however many arrive in parallel, at most the lockout's threshold are ever checked.
/// Returns the failures so far (this attempt included), or `Locked`.
async fn reserve(state: &AppState, user: &users::Model) -> AppResult<i32> {
    auth::reserve_attempt(state, user.id, Utc::now()).await?.ok_or(AppError::Locked)
}

/// A reserved attempt that proved right: not a failure after all.
async fn passed(state: &AppState, user: &users::Model, failures: i32) -> AppResult<()> {
    auth::release_attempt(state, user.id, failures >= state.config.login_max_failures).await
}

/// The password check of an account change: a wrong password counts toward the lockout.
async fn check_password(state: &AppState, user: &users::Model, meta: &AuditMeta, password: &str) -> AppResult<()> {
    if password.is_empty() {
        return Err(AppError::validation("password", "Ingrese su contraseña actual."));
    }
    if password.len() > 1024 {
        return Err(AppError::InvalidCredentials);
    }
    let failures = reserve(state, user).await?;
    if !auth::verify_blocking(password, user.password_hash.clone()).await {
        auth::audit_refused_attempt(state, user.id, meta, "auth.2fa_proof_failed", "wrong_password", failures).await?;
        return Err(AppError::InvalidCredentials);
    }
    passed(state, user, failures).await
}

/// Proof for disabling or regenerating: the password, or else a current code (spent, so it
/// cannot be used again). Wrong answers count toward the lockout.
async fn check_proof(state: &AppState, actor: &Actor, meta: &AuditMeta, password: &str, code: &str) -> AppResult<()> {
    let user = active_user(state, actor.user_id).await?;
    if password.is_empty() && code.trim().is_empty() {
        return Err(AppError::validation("password", "Ingrese su contraseña actual o un código de la aplicación."));
    }
    if !password.is_empty() {
        return check_password(state, &user, meta, password).await;
    }
    let row = confirmed_secret(&state.db, user.id).await?.ok_or(AppError::NotFound)?;
    let failures = reserve(state, &user).await?;
    let txn = WriteTxn::begin(state).await?;
    let ok = !too_long(code) && spend_totp(&*txn, &row, &user.email, code).await?;
    txn.commit().await?;
    if !ok {
        auth::audit_refused_attempt(state, user.id, meta, "auth.2fa_proof_failed", "wrong_code", failures).await?;
        return Err(AppError::InvalidCredentials);
    }
    passed(state, &user, failures).await
}

/// Turns the actor's own two-factor sign-in off (the secret and recovery codes are deleted).
/// A user whose role requires it must enrol again before doing anything else.
pub async fn disable(state: &AppState, actor: &Actor, meta: &AuditMeta, password: &str, code: &str) -> AppResult<()> {
    check_proof(state, actor, meta, password, code).await?;
    let txn = WriteTxn::begin(state).await?;
    remove(&txn, actor.user_id).await?;
    let entry =
        AuditEntry { severity: AuditSeverity::Warning, ..AuditEntry::new("auth.2fa_disabled", "user", actor.user_id) };
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.commit().await
}

async fn remove(txn: &WriteTxn, user_id: i64) -> AppResult<()> {
    user_recovery_codes::Entity::delete_many()
        .filter(user_recovery_codes::Column::UserId.eq(user_id))
        .exec(&**txn)
        .await?;
    user_totp::Entity::delete_by_id(user_id).exec(&**txn).await?;
    Ok(())
}

/// New recovery codes for the actor (the old ones stop working); shown once.
pub async fn regenerate_recovery_codes(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    password: &str,
    code: &str,
) -> AppResult<Vec<String>> {
    if !is_active(state, actor.user_id).await? {
        return Err(AppError::Conflict("La verificación en dos pasos no está activa.".into()));
    }
    check_proof(state, actor, meta, password, code).await?;
    let txn = WriteTxn::begin(state).await?;
    let codes = replace_recovery_codes(&txn, actor.user_id).await?;
    let entry = AuditEntry::new("auth.2fa_recovery_codes_regenerated", "user", actor.user_id);
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.commit().await?;
    Ok(codes)
}

/// An admin removes another user's second factor (lost phone): the user signs in with the
/// password alone, and enrols again at once when the role requires it. One's own is turned
/// off from the account page, with proof.
pub async fn reset(state: &AppState, actor: &Actor, meta: &AuditMeta, user_id: i64) -> AppResult<()> {
    require(actor, Capability::ManageUsers)?;
    if user_id == actor.user_id {
        return Err(AppError::Conflict(
            "Su propia verificación en dos pasos se desactiva desde su cuenta, con su contraseña.".into(),
        ));
    }
    let txn = WriteTxn::begin(state).await?;
    let user = users::Entity::find_by_id(user_id)
        .filter(users::Column::DeletedAt.is_null())
        .one(&*txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let had = user_totp::Entity::find_by_id(user.id).one(&*txn).await?.is_some_and(|t| t.confirmed_at.is_some());
    remove(&txn, user.id).await?;
    let entry = AuditEntry { severity: AuditSeverity::Warning, ..AuditEntry::new("auth.2fa_reset", "user", user.id) }
        .after(serde_json::json!({ "was_active": had }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.commit().await
}

/// The second step of a sign-in: `code` is a current TOTP code or an unused recovery code of
/// `user_id` (whose password was just accepted). A wrong or replayed code counts toward the
/// lockout like a wrong password; success completes the sign-in (failures reset, audited).
pub async fn verify_login(state: &AppState, user_id: i64, code: &str, meta: &AuditMeta) -> AppResult<users::Model> {
    let user = active_user(state, user_id).await?;
    let row = confirmed_secret(&state.db, user.id).await?.ok_or(AppError::Unauthenticated)?;
    // Counted before the code is checked: parallel guesses cannot outrun the lockout.
    let Some(failures) = auth::reserve_attempt(state, user.id, Utc::now()).await? else {
        let entry = AuditEntry::new("auth.2fa_failed", "user", user.id)
            .after(serde_json::json!({ "reason": "locked" }))
            .failed(AuditSeverity::Warning);
        audit::append_alone(state, None, meta, entry).await?;
        return Err(AppError::Locked);
    };
    let txn = WriteTxn::begin(state).await?;
    let method = if too_long(code) {
        None
    } else if canonical_totp_code(code).is_some() {
        spend_totp(&*txn, &row, &user.email, code).await?.then_some("totp")
    } else {
        spend_recovery_code(&*txn, user.id, code).await?.then_some("recovery_code")
    };
    if method == Some("recovery_code") {
        let left = user_recovery_codes::Entity::find()
            .filter(user_recovery_codes::Column::UserId.eq(user.id))
            .filter(user_recovery_codes::Column::UsedAt.is_null())
            .count(&*txn)
            .await?;
        let entry = AuditEntry {
            severity: AuditSeverity::Warning,
            ..AuditEntry::new("auth.2fa_recovery_code_used", "user", user.id)
        }
        .after(serde_json::json!({ "recovery_codes_left": left }));
        audit::append(&txn, None, meta, entry).await?;
    }
    txn.commit().await?;
    let Some(method) = method else {
        auth::audit_refused_attempt(state, user.id, meta, "auth.2fa_failed", "wrong_code", failures).await?;
        return Err(AppError::InvalidCredentials);
    };
    // The failures and any lock the reservation set are cleared with the sign-in.
    auth::complete_login(state, user, meta, Some(method)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_as_typed() {
        assert_eq!(canonical_totp_code(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(canonical_totp_code("12345"), None);
        assert_eq!(canonical_totp_code("12345a"), None);
        let code = new_recovery_code();
        assert_eq!(code.len(), RECOVERY_LEN + 1);
        assert!(canonical_recovery_code(&code.to_uppercase()).is_some());
        assert_eq!(canonical_recovery_code("abcde fghjk").as_deref(), Some("abcdefghjk"));
        assert_eq!(canonical_recovery_code("abcde-fghj0"), None, "0 is not in the alphabet");
    }

    #[test]
    fn enrolment_has_uri_qr_and_grouped_secret() {
        let secret = new_secret();
        assert_eq!(secret.len(), 32, "160 bits in base32");
        let e = enrolment(&secret, "ana@gad.test").expect("enrolment");
        assert!(e.uri.starts_with("otpauth://totp/GAD:ana%40gad.test?secret="), "{}", e.uri);
        assert!(e.uri.contains("issuer=GAD"));
        assert!(e.qr_svg.starts_with("<svg role=\"img\""));
        assert_eq!(e.secret.replace(' ', ""), secret);
    }

    #[test]
    fn a_code_matches_its_step_and_neighbours_only() {
        let secret = new_secret();
        let totp = build(&secret, "ana@gad.test").expect("totp");
        let now = 1_800_000_000;
        let code = totp.generate(now).to_string();
        assert_eq!(totp.check(&code, now), Some(now / 30));
        assert!(totp.check(&code, now + 30).is_some());
        assert!(totp.check(&code, now + 90).is_none());
    }
}

//! The database password of the running app, rotated without downtime (PostgreSQL).
//!
//! PostgreSQL keeps one password per role, so two passwords cannot both work through a
//! switch on one role. The app role (`GAD_DB_APP_ROLE`, e.g. `gad_app`) therefore holds the
//! privileges (`gad migrate --app-role`) and the app logs in as one of its members,
//! `gad_app_1`, `gad_app_2`, …, each with its own password and nothing of its own:
//! `gad rotate db-password` adds the next member and writes its URL, the replicas move to it
//! one at a time (old and new both work meanwhile), and `gad rotate db-retire` removes the
//! older logins once nothing is connected as them. Passwords reach PostgreSQL only as SCRAM
//! verifiers computed here, so no statement or server log holds one.

use anyhow::{Context, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use sha2::{Digest, Sha256};
use std::path::Path;

/// PostgreSQL's default for SCRAM verifiers (`scram_iterations`).
const ITERATIONS: u32 = 4096;

/// What `rotate` made.
#[derive(Debug)]
pub struct NewLogin {
    /// The new member of the app role, e.g. `gad_app_3`.
    pub role: String,
    /// The logins that still work (to retire once the replicas moved).
    pub older: Vec<String>,
}

/// Adds the app role's next login with a new random password and writes the app's URL for
/// it into `url_file` (which holds the current one: its host, database and options are kept).
/// `owner` is a connection as the schema's owner.
pub async fn rotate(owner: &DatabaseConnection, app_role: &str, url_file: &Path) -> anyhow::Result<NewLogin> {
    check_backend(owner)?;
    gad_core::db::check_role_name(app_role).map_err(|e| anyhow!("{e}"))?;
    let current = std::fs::read_to_string(url_file)
        .with_context(|| format!("cannot read the app's database URL from {}", url_file.display()))?;
    let mut url = reqwest::Url::parse(current.trim())
        .map_err(|_| anyhow!("{} does not hold a postgres:// URL", url_file.display()))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        bail!("{} does not hold a postgres:// URL", url_file.display());
    }
    let user = url.username().to_owned();
    if user != app_role && login_number(app_role, &user).is_none() {
        bail!("the URL in {} logs in as {user}, not as {app_role} or one of its logins", url_file.display());
    }
    let role_exists = owner
        .query_one_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT 1 FROM pg_roles WHERE rolname = $1",
            [app_role.into()],
        ))
        .await?
        .is_some();
    if !role_exists {
        bail!("the role {app_role} does not exist (created with the database: deploy/postgres/init)");
    }
    let logins = logins(owner, app_role).await?;
    let next = logins.iter().map(|(n, _)| n + 1).max().unwrap_or(1);
    let role = format!("{app_role}_{next}");
    let password =
        format!("{}{}", gad_core::services::users::generate_password(), gad_core::services::users::generate_password());
    let salt: [u8; 16] = rand::random();
    let verifier = scram_verifier(&password, &salt, ITERATIONS);
    // Every character of the verifier is base64, digits, `$` or `:`: nothing to quote.
    owner
        .execute_unprepared(&format!(
            "CREATE ROLE {role} LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION \
             IN ROLE {app_role} PASSWORD '{verifier}'"
        ))
        .await
        .map_err(|e| anyhow!("cannot create the login {role}: {e}"))?;
    url.set_username(&role).map_err(|()| anyhow!("the URL cannot take a user name"))?;
    url.set_password(Some(&password)).map_err(|()| anyhow!("the URL cannot take a password"))?;
    if let Err(e) = write_secret(url_file, url.as_str()) {
        // Nothing half done: a login whose password no file holds is removed again.
        let _ = owner.execute_unprepared(&format!("DROP ROLE {role}")).await;
        return Err(e);
    }
    let mut older: Vec<String> = logins.into_iter().map(|(_, name)| name).collect();
    if can_login(owner, app_role).await? {
        older.insert(0, app_role.to_owned());
    }
    Ok(NewLogin { role, older })
}

/// Removes every login of the app role but the newest (and the role's own login, from before
/// the first rotation). Refused, with nothing changed, while any of them has a connection.
/// Returns the logins removed.
pub async fn retire(owner: &DatabaseConnection, app_role: &str) -> anyhow::Result<Vec<String>> {
    check_backend(owner)?;
    gad_core::db::check_role_name(app_role).map_err(|e| anyhow!("{e}"))?;
    let logins = logins(owner, app_role).await?;
    let Some(newest) = logins.iter().map(|(n, _)| *n).max() else {
        bail!("the role {app_role} has no logins yet: run `gad rotate db-password` first");
    };
    let mut old: Vec<String> = logins.into_iter().filter(|(n, _)| *n != newest).map(|(_, name)| name).collect();
    let group_logs_in = can_login(owner, app_role).await?;
    if group_logs_in {
        old.insert(0, app_role.to_owned());
    }
    let mut busy = Vec::new();
    for role in &old {
        let row = owner
            .query_one_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT count(*) AS n, \
                        string_agg(DISTINCT COALESCE(host(client_addr), 'local'), ', ') AS hosts \
                   FROM pg_stat_activity WHERE usename = $1",
                [role.as_str().into()],
            ))
            .await?
            .ok_or_else(|| anyhow!("pg_stat_activity returned nothing"))?;
        let n: i64 = row.try_get("", "n")?;
        if n > 0 {
            let hosts: Option<String> = row.try_get("", "hosts")?;
            busy.push(format!("{role}: {n} connections (from {})", hosts.unwrap_or_default()));
        }
    }
    if !busy.is_empty() {
        bail!(
            "still in use, nothing retired — recreate the services that connect as them first:\n  {}",
            busy.join("\n  ")
        );
    }
    for role in &old {
        let sql = if role == app_role {
            format!("ALTER ROLE {role} NOLOGIN PASSWORD NULL")
        } else {
            format!("DROP ROLE {role}")
        };
        owner.execute_unprepared(&sql).await.map_err(|e| anyhow!("cannot retire {role}: {e}"))?;
    }
    Ok(old)
}

/// PostgreSQL's SCRAM-SHA-256 verifier of `password` (RFC 5802/7677), as `CREATE ROLE …
/// PASSWORD` and `pg_authid.rolpassword` spell it. The passwords made here are ASCII, which
/// SASLprep leaves alone.
pub fn scram_verifier(password: &str, salt: &[u8], iterations: u32) -> String {
    let salted = salted_password(password, salt, iterations);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha256::digest(client_key);
    let server_key = hmac(&salted, b"Server Key");
    format!("SCRAM-SHA-256${iterations}:{}${}:{}", B64.encode(salt), B64.encode(stored_key), B64.encode(server_key))
}

/// PBKDF2-HMAC-SHA-256 of one block (the key is as long as the hash).
pub fn salted_password(password: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut block = salt.to_vec();
    block.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac(password.as_bytes(), &block);
    let mut out = u;
    for _ in 1..iterations {
        u = hmac(password.as_bytes(), &u);
        for (o, b) in out.iter_mut().zip(u) {
            *o ^= b;
        }
    }
    out
}

pub fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn check_backend(db: &DatabaseConnection) -> anyhow::Result<()> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        bail!("database logins apply to PostgreSQL only");
    }
    Ok(())
}

/// `n` when `name` is `<app_role>_<n>`.
fn login_number(app_role: &str, name: &str) -> Option<u32> {
    let n = name.strip_prefix(app_role)?.strip_prefix('_')?;
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then(|| n.parse().ok()).flatten()
}

/// The members of the app role named `<app_role>_<n>`, with their numbers.
async fn logins(owner: &DatabaseConnection, app_role: &str) -> anyhow::Result<Vec<(u32, String)>> {
    let rows = owner
        .query_all_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT r.rolname FROM pg_auth_members m \
               JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles r ON r.oid = m.member \
              WHERE g.rolname = $1",
            [app_role.into()],
        ))
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let name: String = row.try_get("", "rolname")?;
        if let Some(n) = login_number(app_role, &name) {
            out.push((n, name));
        }
    }
    out.sort();
    Ok(out)
}

async fn can_login(owner: &DatabaseConnection, role: &str) -> anyhow::Result<bool> {
    let row = owner
        .query_one_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = $1",
            [role.into()],
        ))
        .await?;
    Ok(row.map(|r| r.try_get::<bool>("", "rolcanlogin")).transpose()?.unwrap_or(false))
}

/// Replaces `path` with `text` at once (a reader sees the old file or the new, never half),
/// with the old file's mode and owner (the containers read it as their own user).
fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
    let old = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let tmp = path.with_extension("new");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    // Only root may give a file away; anyone else writes it as their own, as before.
    let _ = std::os::unix::fs::fchown(&file, Some(old.uid()), Some(old.gid()));
    file.set_permissions(std::fs::Permissions::from_mode(old.mode() & 0o777))?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 7677's example exchange (user "user", password "pencil"): the client proof made
    /// from our salted password is the RFC's, so the verifier PostgreSQL checks against is
    /// the one it would compute itself.
    #[test]
    fn the_salted_password_gives_rfc_7677_client_proof() {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let salted = salted_password("pencil", &salt, 4096);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key = Sha256::digest(client_key);
        let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
            r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
            c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let signature = hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(signature).map(|(k, s)| k ^ s).collect();
        assert_eq!(B64.encode(proof), "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
        let server_signature = hmac(&hmac(&salted, b"Server Key"), auth_message.as_bytes());
        assert_eq!(B64.encode(server_signature), "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
        let verifier = scram_verifier("pencil", &salt, 4096);
        assert!(verifier.starts_with("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"), "{verifier}");
    }

    #[test]
    fn logins_are_the_role_name_and_a_number() {
        assert_eq!(login_number("gad_app", "gad_app_12"), Some(12));
        for other in ["gad_app", "gad_app_", "gad_app_x", "gad_apple_1", "gad_app_1_2", "other_1"] {
            assert_eq!(login_number("gad_app", other), None, "{other}");
        }
    }
}

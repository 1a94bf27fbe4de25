//! The app's database password rotated with no downtime: `gad rotate db-password` adds a
//! login, replicas on the old and on the new one both work, and `gad rotate db-retire`
//! removes the old one only once nothing is connected as it (PostgreSQL).

use crate::common::{self, Backend, GadProcess};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::json;

async fn rolpassword(owner: &DatabaseConnection, role: &str) -> Option<String> {
    let row = owner
        .query_one_raw(Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            format!("SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'"),
        ))
        .await
        .unwrap()?;
    row.try_get("", "rolpassword").unwrap()
}

/// A replica signs in and creates a task, as the operations room would.
async fn works(replica: &GadProcess, title: &str) {
    let token = replica.admin_token().await;
    let created = reqwest::Client::new()
        .post(replica.url("/api/v1/tasks"))
        .bearer_auth(token)
        .json(&json!({ "title": title, "task_type": "patrol" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), reqwest::StatusCode::CREATED, "{}", created.text().await.unwrap());
}

/// `retire`, asked again while a stopped replica's sessions are still ending (a server notices
/// a closed socket a moment later).
async fn retire_once_idle(owner: &DatabaseConnection, role: &str) -> Vec<String> {
    for _ in 0..50 {
        match gad_server::db_logins::retire(owner, role).await {
            Ok(retired) => return retired,
            Err(e) if e.to_string().contains("still in use") => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("the old logins stayed in use");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_password_rotates_with_both_logins_working_meanwhile() {
    let owner_url = common::fresh_database(Backend::Postgres).await;
    let owner = Database::connect(&owner_url).await.unwrap();
    // As deploy/postgres/init creates it: the app role logs in itself before the first rotation.
    let role = format!("gad_app_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    owner.execute_unprepared(&format!("CREATE ROLE {role} LOGIN")).await.unwrap();
    gad_core::db::grant_app_role(&owner, &role).await.unwrap();
    let (base, db_name) = owner_url.rsplit_once('/').unwrap();
    let url_as = |user: &str| format!("{}/{db_name}", base.replacen("postgres@", &format!("{user}@"), 1));
    let dir = std::env::temp_dir().join(format!("gad-rotate-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url_file = dir.join("database_app_url");
    std::fs::write(&url_file, format!("{}\n", url_as(&role))).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o640)).unwrap();
    }

    let old = GadProcess::start(&url_as(&role), &[]).await;
    works(&old, "Antes de rotar").await;

    // Nothing to retire before a first rotation; a URL of another user is refused.
    let none = gad_server::db_logins::retire(&owner, &role).await.unwrap_err().to_string();
    assert!(none.contains("no logins yet"), "{none}");
    let other = dir.join("other_url");
    std::fs::write(&other, &owner_url).unwrap();
    let refused = gad_server::db_logins::rotate(&owner, &role, &other).await.unwrap_err().to_string();
    assert!(refused.contains("not as"), "{refused}");

    // The URL file cannot be rewritten (its temporary sibling is a directory): the login just
    // made is removed again, nothing half done.
    let blocker = dir.join("database_app_url.new");
    std::fs::create_dir(&blocker).unwrap();
    let unwritable = gad_server::db_logins::rotate(&owner, &role, &url_file).await.unwrap_err().to_string();
    assert!(unwritable.contains("cannot write"), "{unwritable}");
    assert_eq!(rolpassword(&owner, &format!("{role}_1")).await, None);
    let exists = owner
        .query_one_raw(Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            format!("SELECT 1 FROM pg_roles WHERE rolname = '{role}_1'"),
        ))
        .await
        .unwrap();
    assert!(exists.is_none(), "the login of a failed rotation is gone");
    std::fs::remove_dir(&blocker).unwrap();

    let made = gad_server::db_logins::rotate(&owner, &role, &url_file).await.unwrap();
    assert_eq!(made.role, format!("{role}_1"));
    assert_eq!(made.older, vec![role.clone()]);
    let new_url = std::fs::read_to_string(&url_file).unwrap().trim().to_owned();
    let parsed = reqwest::Url::parse(&new_url).unwrap();
    assert_eq!(parsed.username(), made.role);
    let password = parsed.password().unwrap().to_owned();
    assert!(password.len() >= 32, "a long generated password");
    assert_eq!(
        (parsed.host_str(), parsed.path()),
        (reqwest::Url::parse(&url_as(&role)).unwrap().host_str(), &*format!("/{db_name}"))
    );
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&url_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "the secret file keeps its mode");
    }
    // PostgreSQL kept our SCRAM verifier as it is (a malformed one would have been hashed as a
    // password): it is the one the password and its salt give.
    let stored = rolpassword(&owner, &made.role).await.expect("the login has a password");
    let salt = stored.split(['$', ':']).nth(2).unwrap();
    use base64::Engine as _;
    let salt = base64::engine::general_purpose::STANDARD.decode(salt).unwrap();
    assert_eq!(stored, gad_server::db_logins::scram_verifier(&password, &salt, 4096));
    assert!(!stored.contains(&password));

    // Through the switch both logins work: the old replica still serves, a new one joins.
    let new = GadProcess::start(&new_url, &[]).await;
    works(&new, "Con el acceso nuevo").await;
    works(&old, "Con el acceso viejo").await;
    // The new login has the role's privileges, no more: the audit log stays append-only.
    let as_new = Database::connect(&new_url).await.unwrap();
    assert!(as_new.execute_unprepared("DELETE FROM audit_log").await.is_err());

    // Retiring while the old replica is connected is refused, and changes nothing.
    let busy = gad_server::db_logins::retire(&owner, &role).await.unwrap_err().to_string();
    assert!(busy.contains(&role) && busy.contains("connections"), "{busy}");
    Database::connect(&url_as(&role)).await.expect("still a login after a refused retire").close().await.unwrap();

    drop(old); // the old replica recreated with the new URL
    let retired = retire_once_idle(&owner, &role).await;
    assert_eq!(retired, vec![role.clone()]);
    let err = Database::connect(&url_as(&role)).await.unwrap_err().to_string();
    assert!(err.contains("not permitted to log in"), "{err}");
    assert_eq!(rolpassword(&owner, &role).await, None, "the old password is gone");
    works(&new, "Después de retirar").await;

    // The next rotation retires the numbered login itself (dropped, not just locked).
    let next = gad_server::db_logins::rotate(&owner, &role, &url_file).await.unwrap();
    assert_eq!((next.role.as_str(), next.older.clone()), (&*format!("{role}_2"), vec![made.role.clone()]));
    let busy = gad_server::db_logins::retire(&owner, &role).await.unwrap_err().to_string();
    assert!(busy.contains(&made.role), "{busy}");
    as_new.close().await.unwrap();
    drop(new);
    let newest = GadProcess::start(std::fs::read_to_string(&url_file).unwrap().trim(), &[]).await;
    assert_eq!(retire_once_idle(&owner, &role).await, vec![made.role.clone()]);
    let gone = Database::connect(&new_url).await.unwrap_err().to_string();
    assert!(gone.contains("does not exist"), "{gone}");
    works(&newest, "Con el tercer acceso").await;

    // Tidy the cluster's roles (they outlive the test database).
    drop(newest);
    owner.close().await.unwrap();
    let admin = Database::connect(common::pg_server_url()).await.unwrap();
    let test_db = db_name.split('?').next().unwrap();
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename IN ('{role}', '{}')",
            next.role
        ))
        .await
        .unwrap();
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {test_db} WITH (FORCE)")).await.unwrap();
    for r in [next.role.as_str(), role.as_str()] {
        admin.execute_unprepared(&format!("DROP ROLE IF EXISTS {r}")).await.unwrap();
    }
    let _ = std::fs::remove_dir_all(dir);
}

//! `gad backup` / `gad restore` against a real local S3 server (moto, from PyPI, installed in
//! tools/.venv by `scripts/install-deps.sh --test`): the dump lands in the bucket, the server
//! reports the success time, and the dump restores to an equivalent database.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Backend, TestApp};
use gad_core::config::{BackupConfig, Secret};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

const ACCESS_KEY: &str = "gad-test-access-key";
const SECRET_KEY: &str = "gad-test-secret-key-not-printed";
const BUCKET: &str = "gad-backups";

struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `moto_server` on an ephemeral loopback port, with the backup bucket created.
async fn moto() -> Moto {
    let binary = std::env::var("GAD_TEST_MOTO_SERVER")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../tools/.venv/bin/moto_server").to_owned());
    let port = free_port();
    let child = Command::new(&binary)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{binary}: {e} (run scripts/install-deps.sh --test)"));
    let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http.get(format!("{}/moto-api/", moto.endpoint)).send().await.is_ok() {
            s3(&moto).create_bucket().bucket(BUCKET).send().await.unwrap();
            return moto;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("moto_server did not start on {port}");
}

fn s3(moto: &Moto) -> aws_sdk_s3::Client {
    gad_server::backup::s3_client(&BackupConfig {
        endpoint: Some(moto.endpoint.clone()),
        bucket: Some(BUCKET.into()),
        region: "us-east-1".into(),
        prefix: "gad/".into(),
        access_key_id: Some(Secret::new(ACCESS_KEY)),
        secret_access_key: Some(Secret::new(SECRET_KEY)),
        path_style: true,
    })
    .unwrap()
}

/// Runs `gad <args>` with DATABASE_URL and the S3 settings; returns (exit code, stdout+stderr).
fn gad(args: &[&str], database_url: &str, moto: &Moto) -> (i32, String) {
    let secret_file = std::env::temp_dir().join(format!("gad-s3-secret-{}", free_port()));
    std::fs::write(&secret_file, format!("{SECRET_KEY}\n")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_gad"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("RUST_LOG", "warn")
        .env("DATABASE_URL", database_url)
        .env("GAD_BACKUP_S3_ENDPOINT", &moto.endpoint)
        .env("GAD_BACKUP_S3_BUCKET", BUCKET)
        .env("GAD_BACKUP_S3_ACCESS_KEY_ID", ACCESS_KEY)
        // The secret from a file, as Docker secrets provide it.
        .env("GAD_BACKUP_S3_SECRET_ACCESS_KEY_FILE", &secret_file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&secret_file);
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!text.contains(SECRET_KEY), "the S3 secret was printed:\n{text}");
    (output.status.code().unwrap(), text)
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

const TABLES: [&str; 8] = [
    "users",
    "officers",
    "officer_positions",
    "tasks",
    "task_assignments",
    "task_status_history",
    "audit_log",
    "seaql_migrations",
];

/// Row counts of the domain tables, and a fingerprint of the audit chain's last hash.
async fn snapshot(database_url: &str) -> Vec<(String, i64)> {
    let db = Database::connect(database_url).await.unwrap();
    let mut counts = Vec::new();
    for table in TABLES {
        counts.push((table.to_owned(), scalar(&db, &format!("SELECT COUNT(*) FROM {table}")).await));
    }
    counts.push(("max(audit_log.id)".into(), scalar(&db, "SELECT COALESCE(MAX(id), 0) FROM audit_log").await));
    db.close().await.unwrap();
    counts
}

async fn backup_and_restore(backend: Backend) {
    let moto = moto().await;
    let app = TestApp::spawn(backend).await;
    let before = chrono::Utc::now().timestamp();

    let (code, out) = gad(&["backup"], &app.database_url, &moto);
    assert_eq!(code, 0, "{out}");
    let (name, extension) = match backend {
        Backend::Postgres => ("postgres", "dump"),
        Backend::Sqlite => ("sqlite", "sqlite.gz"),
    };
    assert!(out.contains(&format!("copia de seguridad subida: s3://{BUCKET}/gad/gad-{name}-")), "{out}");

    // The object is in the bucket, and it is a real dump.
    let listed = s3(&moto).list_objects_v2().bucket(BUCKET).prefix("gad/").send().await.unwrap();
    let mut keys: Vec<String> = listed.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect();
    keys.sort();
    assert_eq!(keys.len(), 2, "the dump and its manifest: {keys:?}");
    let key = keys[0].clone();
    assert!(key.ends_with(extension), "{key}");
    assert_eq!(keys[1], format!("{key}.manifest.json"));
    let object = s3(&moto).get_object().bucket(BUCKET).key(&key).send().await.unwrap();
    let meta = object.metadata().cloned().unwrap_or_default();
    let bytes = object.body.collect().await.unwrap().into_bytes();
    // PostgreSQL's custom format (compressed by pg_dump); SQLite's copy, gzipped.
    let magic: &[u8] = if backend == Backend::Postgres { b"PGDMP" } else { b"\x1f\x8b" };
    assert!(bytes.starts_with(magic), "not a {name} dump");
    assert!(bytes.len() > 10_000, "a dump of the demo data is not {} bytes", bytes.len());
    // Its checksum travels with it, its manifest lies beside it.
    let sha256 = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    assert_eq!(meta.get("sha256"), Some(&sha256), "{meta:?}");
    let manifest = s3(&moto).get_object().bucket(BUCKET).key(&keys[1]).send().await.unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&manifest.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!((manifest["sha256"].as_str(), manifest["backend"].as_str()), (Some(sha256.as_str()), Some(name)));
    assert_eq!(manifest["size_bytes"].as_u64(), Some(bytes.len() as u64));
    assert!(manifest["schema"].as_str().is_some_and(|s| s.starts_with('m')), "{manifest}");
    // Every table, with the rows it had when the dump was made.
    let db = Database::connect(&app.database_url).await.unwrap();
    for table in TABLES {
        let rows = scalar(&db, &format!("SELECT COUNT(*) FROM {table}")).await;
        assert_eq!(manifest["tables"][table]["rows"].as_i64(), Some(rows), "{table}: {manifest}");
        assert_eq!(manifest["tables"][table]["sha256"].as_str().map(str::len), Some(64), "{table}");
    }
    assert!(manifest["tables"].get("spatial_ref_sys").is_none(), "extensions' own tables are not GAD's");
    db.close().await.unwrap();

    // The running server reports the success time.
    let body = reqwest::get(app.url("/metrics")).await.unwrap().text().await.unwrap();
    let reported: f64 = body
        .lines()
        .find_map(|l| l.strip_prefix("gad_backup_last_success_timestamp_seconds "))
        .unwrap_or_else(|| panic!("no backup timestamp in:\n{body}"))
        .trim()
        .parse()
        .unwrap();
    let after = chrono::Utc::now().timestamp();
    assert!((before as f64..=after as f64).contains(&reported), "{before} <= {reported} <= {after}");

    // Restore into an empty database (the newest backup, found by listing the bucket).
    let target = match backend {
        Backend::Postgres => {
            let name = format!("gad_t_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(common::pg_server_url()).await.unwrap();
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
            admin.close().await.unwrap();
            let base = common::pg_server_url();
            format!("{}/{name}", base.rsplit_once('/').unwrap().0)
        }
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join("gad-tests");
            std::fs::create_dir_all(&dir).unwrap();
            format!("sqlite://{}/{}.db?mode=rwc", dir.display(), uuid::Uuid::new_v4().simple())
        }
    };
    let (code, out) = gad(&["restore"], &target, &moto);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&key), "{out}");

    let source = snapshot(&app.database_url).await;
    assert!(source.iter().any(|(t, n)| t == "tasks" && *n > 0), "{source:?}");
    assert_eq!(snapshot(&target).await, source);
    // The restored audit chain verifies, and the schema is current for this binary.
    let (code, out) = gad(&["audit", "verify"], &target, &moto);
    assert_eq!(code, 0, "{out}");
    let db = Database::connect(&target).await.unwrap();
    assert_eq!(migrations::schema_status(&db).await.unwrap(), migrations::SchemaStatus::Current);
    if backend == Backend::Postgres {
        assert_eq!(scalar(&db, "SELECT COUNT(*) FROM pg_extension WHERE extname = 'postgis'").await, 1);
    }
    db.close().await.unwrap();

    // A database that holds data is not overwritten without --force.
    let (code, out) = gad(&["restore", "--key", &key], &target, &moto);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("--force"), "{out}");
    let (code, out) = gad(&["restore", "--key", &key, "--force"], &target, &moto);
    assert_eq!(code, 0, "{out}");
    assert_eq!(snapshot(&target).await, source);

    // A dump altered in the bucket (one byte) is refused before anything is touched.
    let mut altered = bytes.to_vec();
    let middle = altered.len() / 2;
    altered[middle] ^= 0xFF;
    s3(&moto)
        .put_object()
        .bucket(BUCKET)
        .key(&key)
        .body(aws_sdk_s3::primitives::ByteStream::from(altered))
        .set_metadata(Some(meta))
        .send()
        .await
        .unwrap();
    let (code, out) = gad(&["restore", "--key", &key, "--force"], &target, &moto);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("does not match its checksum") && out.contains("nothing was restored"), "{out}");
    assert_eq!(snapshot(&target).await, source, "the database is untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backup_lands_in_s3_and_restores() {
    backup_and_restore(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_lands_in_s3_and_restores() {
    backup_and_restore(Backend::Sqlite).await;
}

/// `gad backup drill` restores the newest backup into a scratch database and finds every
/// table as the manifest says (recorded, reported by /metrics); a dump replaced by another
/// one with a matching checksum (a consistent forgery) fails on the digest this database
/// recorded, a manifest replaced on the tables that differ, a corrupted dump on its checksum,
/// a dump planted under a newer name is never taken for the newest; each failure is recorded
/// and leaves no scratch.
async fn drills(backend: Backend) {
    let moto = moto().await;
    let app = TestApp::spawn(backend).await;
    let (code, out) = gad(&["backup"], &app.database_url, &moto);
    assert_eq!(code, 0, "{out}");
    let before = chrono::Utc::now().timestamp();
    let (code, out) = gad(&["backup", "drill"], &app.database_url, &moto);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("simulacro correcto") && out.contains("tablas iguales al manifiesto"), "{out}");
    let body = reqwest::get(app.url("/metrics")).await.unwrap().text().await.unwrap();
    let reported: f64 = body
        .lines()
        .find_map(|l| l.strip_prefix("gad_backup_last_drill_success_timestamp_seconds "))
        .unwrap_or_else(|| panic!("no drill timestamp in:\n{body}"))
        .trim()
        .parse()
        .unwrap();
    assert!(reported >= before as f64, "{reported} >= {before}");

    let keys = |listed: aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output| {
        let mut keys: Vec<String> = listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .filter(|k| !k.ends_with(".manifest.json"))
            .collect();
        keys.sort();
        keys
    };
    let first = keys(s3(&moto).list_objects_v2().bucket(BUCKET).prefix("gad/").send().await.unwrap())[0].clone();

    // A second backup after a change, put under the first one's key with its own checksum.
    let db = Database::connect(&app.database_url).await.unwrap();
    db.execute_unprepared("UPDATE tasks SET title = 'Título cambiado' WHERE id = (SELECT MIN(id) FROM tasks)")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (code, out) = gad(&["backup"], &app.database_url, &moto);
    assert_eq!(code, 0, "{out}");
    let second = keys(s3(&moto).list_objects_v2().bucket(BUCKET).prefix("gad/").send().await.unwrap())[1].clone();
    assert_ne!(first, second);
    let other = s3(&moto).get_object().bucket(BUCKET).key(&second).send().await.unwrap();
    let other_meta = other.metadata().cloned();
    let other_bytes = other.body.collect().await.unwrap().into_bytes();
    let original = s3(&moto).get_object().bucket(BUCKET).key(&first).send().await.unwrap();
    let original_meta = original.metadata().cloned();
    let original_bytes = original.body.collect().await.unwrap().into_bytes();
    let put = |bytes: Vec<u8>, meta: Option<std::collections::HashMap<String, String>>| {
        let first = first.clone();
        let client = s3(&moto);
        async move {
            client
                .put_object()
                .bucket(BUCKET)
                .key(&first)
                .body(aws_sdk_s3::primitives::ByteStream::from(bytes))
                .set_metadata(meta)
                .send()
                .await
                .unwrap();
        }
    };
    put(other_bytes.to_vec(), other_meta).await;
    let (code, out) = gad(&["backup", "drill", "--key", &first], &app.database_url, &moto);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("simulacro FALLIDO"), "{out}");
    assert!(out.contains("is not the dump recorded when it was made"), "{out}");

    // The right dump beside another backup's manifest: the tables that differ are named.
    put(original_bytes.to_vec(), original_meta.clone()).await;
    let manifest = |key: &str| {
        let (client, key) = (s3(&moto), format!("{key}.manifest.json"));
        async move { client.get_object().bucket(BUCKET).key(key).send().await.unwrap().body.collect().await.unwrap() }
    };
    let (first_manifest, second_manifest) = (manifest(&first).await.into_bytes(), manifest(&second).await.into_bytes());
    let put_manifest = |bytes: Vec<u8>| {
        let (client, key) = (s3(&moto), format!("{first}.manifest.json"));
        async move {
            let body = aws_sdk_s3::primitives::ByteStream::from(bytes);
            client.put_object().bucket(BUCKET).key(key).body(body).send().await.unwrap();
        }
    };
    put_manifest(second_manifest.to_vec()).await;
    let (code, out) = gad(&["backup", "drill", "--key", &first], &app.database_url, &moto);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("tasks: ") && out.contains("differs from the manifest"), "{out}");
    assert!(!out.contains("users: "), "only the changed tables are named:\n{out}");
    put_manifest(first_manifest.to_vec()).await;

    // One byte flipped in the original: refused on its checksum.
    let mut corrupt = original_bytes.to_vec();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xFF;
    put(corrupt, original_meta.clone()).await;
    let (code, out) = gad(&["backup", "drill", "--key", &first], &app.database_url, &moto);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not match its checksum"), "{out}");

    // A dump planted under a newer name, checksum and manifest and all: a drill takes the
    // newest backup this database recorded, and refuses the planted one by name.
    let planted = match backend {
        Backend::Postgres => "gad/gad-postgres-29991231T000000Z.dump",
        Backend::Sqlite => "gad/gad-sqlite-29991231T000000Z.sqlite.gz",
    };
    let client = s3(&moto);
    let body = aws_sdk_s3::primitives::ByteStream::from(original_bytes.to_vec());
    client.put_object().bucket(BUCKET).key(planted).body(body).set_metadata(original_meta).send().await.unwrap();
    let body = aws_sdk_s3::primitives::ByteStream::from(first_manifest.to_vec());
    client.put_object().bucket(BUCKET).key(format!("{planted}.manifest.json")).body(body).send().await.unwrap();
    let (code, out) = gad(&["backup", "drill"], &app.database_url, &moto);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&second) && !out.contains(planted), "the recorded newest is drilled:\n{out}");
    let (code, out) = gad(&["backup", "drill", "--key", planted], &app.database_url, &moto);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("was not recorded by `gad backup` on this database"), "{out}");

    // Six drills recorded, two good; the metric says when the last good one was.
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM backup_drills").await, 6);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM backup_drills WHERE ok").await, 2);
    if backend == Backend::Postgres {
        let scratch = scalar(&db, "SELECT COUNT(*) FROM pg_database WHERE datname LIKE 'gad_drill_%'").await;
        assert_eq!(scratch, 0, "no scratch database is left behind");
    }
    db.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_drills_prove_backups_and_catch_tampering() {
    drills(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_drills_prove_backups_and_catch_tampering() {
    drills(Backend::Sqlite).await;
}

/// `gad backup prune`: the retention keeps the newest backup of each of the last days, weeks
/// and months and deletes the rest of this backend's backups; `--dry-run` deletes nothing;
/// objects that are not backups are never touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_keeps_the_retention_and_deletes_the_rest() {
    let moto = moto().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let client = s3(&moto);
    let _ = client.create_bucket().bucket(BUCKET).send().await;
    // Two backups a day for 40 days, and an object that is not a backup.
    let start = chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap().and_hms_opt(3, 0, 0).unwrap();
    let mut all = Vec::new();
    for day in 0..40 {
        for hour in [0, 12] {
            let t = start + chrono::Duration::days(day) + chrono::Duration::hours(hour);
            let key = format!("gad/gad-sqlite-{}.sqlite", t.format("%Y%m%dT%H%M%SZ"));
            client
                .put_object()
                .bucket(BUCKET)
                .key(&key)
                .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
                .send()
                .await
                .unwrap();
            all.push(key);
        }
    }
    client
        .put_object()
        .bucket(BUCKET)
        .key("gad/README.txt")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"notes"))
        .send()
        .await
        .unwrap();
    let keys = || async {
        let listed = s3(&moto).list_objects_v2().bucket(BUCKET).prefix("gad/").max_keys(1000).send().await.unwrap();
        listed.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect::<Vec<_>>()
    };

    let args = ["backup", "prune", "--daily", "3", "--weekly", "2", "--monthly", "2"];
    let (code, out) = gad(&[&args[..], &["--dry-run"]].concat(), &app.database_url, &moto);
    assert_eq!(code, 0, "{out}");
    assert_eq!(keys().await.len(), 81, "a dry run deletes nothing: {out}");

    let (code, out) = gad(&args, &app.database_url, &moto);
    assert_eq!(code, 0, "{out}");
    let left = keys().await;
    // The newest is Monday 9 Nov 15:00: 7, 8, 9 Nov (days); ISO weeks 46 (9 Nov) and 45 (its
    // newest, Sunday 8 Nov) add nothing new; months Nov and Oct add 31 Oct. The notes stay.
    let mut expected: Vec<String> = ["20261109T150000Z", "20261108T150000Z", "20261107T150000Z", "20261031T150000Z"]
        .iter()
        .map(|s| format!("gad/gad-sqlite-{s}.sqlite"))
        .collect();
    expected.push("gad/README.txt".into());
    expected.sort();
    let mut left_sorted = left.clone();
    left_sorted.sort();
    assert_eq!(left_sorted, expected, "{out}");
    assert!(out.contains("copias conservadas: 4; borradas: 76"), "{out}");
}

/// The backups page's data: admins see the newest backups and drills, newest first, with the
/// failed drill's reason; supervisors and officers are refused, and nobody unsigned.
async fn only_admins_see_backups_and_drills(backend: Backend) {
    use app::server::harness::call_as;
    use contract::ErrorCode;
    use contract::domain::Channel;
    use gad_core::services::backups::{record, record_drill};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let app = TestApp::spawn(backend).await;
    let db = &app.state.db;
    let name = if backend == Backend::Postgres { "postgres" } else { "sqlite" };
    record(db, 1_800_000_000, name, "gad/gad-x-1.dump", 12_345_678, "ab").await.unwrap();
    record(db, 1_800_086_400, name, "gad/gad-x-2.dump", 12_400_000, "cd").await.unwrap();
    record_drill(db, 1_800_000_100, "gad/gad-x-1.dump", true, 24, "").await.unwrap();
    record_drill(db, 1_800_086_500, "gad/gad-x-2.dump", false, 24, "tasks: 3 rows restored, 4 in the manifest")
        .await
        .unwrap();
    let state = &app.state;
    let actor = |email: &'static str| async move {
        let user = gad_core::entities::users::Entity::find()
            .filter(gad_core::entities::users::Column::Email.eq(email))
            .one(&state.db)
            .await
            .unwrap()
            .unwrap();
        gad_core::services::auth::actor_for_user(state, user.id, Channel::Web).await.unwrap()
    };
    let admin = actor("admin@gad.local").await;
    let seen = call_as(&app.state, Some(admin), app::api::backups::backups_overview).await.unwrap();
    assert_eq!(
        seen.backups.iter().map(|b| b.object_key.as_str()).collect::<Vec<_>>(),
        ["gad/gad-x-2.dump", "gad/gad-x-1.dump"]
    );
    assert_eq!(seen.backups[0].size_bytes, 12_400_000);
    assert_eq!(seen.backups[0].finished_at.timestamp(), 1_800_086_400);
    assert_eq!(seen.drills.iter().map(|d| d.ok).collect::<Vec<_>>(), [false, true]);
    assert_eq!(seen.drills[0].detail, "tasks: 3 rows restored, 4 in the manifest");
    assert_eq!(seen.drills[1].tables_checked, 24);
    for email in ["supervisor@gad.local", "efectivo1@gad.local"] {
        let who = actor(email).await;
        let refused = call_as(&app.state, Some(who), app::api::backups::backups_overview).await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::Forbidden, "{email}");
    }
    let refused = call_as(&app.state, None, app::api::backups::backups_overview).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Unauthenticated);
}
on_both_backends!(only_admins_see_backups_and_drills);

/// The digests a backup's manifest carries and a drill compares: every table of GAD's (not
/// PostGIS's own), stable from one read to the next, and a change to one row changes its
/// table's digest, not the others'. And the operator a command acts as (`--as`): any spelling
/// of an active user's e-mail, nobody else.
async fn table_digests_see_a_changed_row(backend: Backend) {
    use gad_core::services::auth::actor_for_operator;
    use gad_core::services::backups::table_digests;
    use sea_orm::TransactionTrait;

    let app = TestApp::spawn(backend).await;
    let db = &app.state.db;
    let read = || async {
        let txn = db.begin().await.unwrap();
        let digests = table_digests(&txn).await.unwrap();
        txn.commit().await.unwrap();
        digests
    };
    let first = read().await;
    for table in TABLES {
        assert!(first.contains_key(table), "{table} missing: {:?}", first.keys());
    }
    assert!(!first.contains_key("spatial_ref_sys"));
    assert_eq!(first["tasks"].rows, scalar(db, "SELECT COUNT(*) FROM tasks").await);
    // The same data, the same digests; the leases of the running app's consumers (the SLA
    // escalator renews its own every 10 s) are not data.
    let stable = |mut d: std::collections::BTreeMap<String, _>| {
        d.remove("event_consumers");
        d
    };
    assert_eq!(stable(read().await), stable(first.clone()), "the same data, the same digests");
    db.execute_unprepared("UPDATE tasks SET title = 'Título cambiado' WHERE id = (SELECT MIN(id) FROM tasks)")
        .await
        .unwrap();
    let second = read().await;
    assert_eq!(second["tasks"].rows, first["tasks"].rows);
    assert_ne!(second["tasks"].sha256, first["tasks"].sha256);
    for table in ["users", "officers", "audit_log", "seaql_migrations"] {
        assert_eq!(second[table], first[table], "{table} did not change");
    }

    let admin = actor_for_operator(&app.state, " Admin@GAD.local ").await.unwrap();
    assert_eq!(admin.role, contract::domain::Role::Admin);
    assert_eq!(admin.channel, contract::domain::Channel::System);
    assert!(actor_for_operator(&app.state, "nadie@gad.local").await.is_err());
}
on_both_backends!(table_digests_see_a_changed_row);

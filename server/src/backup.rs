//! `gad backup` and `gad restore`: a consistent dump of the database in an S3 bucket.
//!
//! - PostgreSQL: `pg_dump --format=custom` (the password goes through `PGPASSWORD`, never the
//!   command line); restored with `pg_restore --single-transaction`.
//! - SQLite: `VACUUM INTO` (a consistent copy while the server runs); restored by replacing
//!   the database file.
//!
//! The object is uploaded with the AWS SDK to `GAD_BACKUP_S3_BUCKET` under
//! `GAD_BACKUP_S3_PREFIX` as `gad-<backend>-<UTC time>.<dump|sqlite.gz>`, so keys sort by time:
//! PostgreSQL's custom format is compressed by pg_dump itself, the SQLite copy is gzipped. The
//! object carries its SHA-256 as metadata, and a [`Manifest`] lies beside it
//! (`<key>.manifest.json`): version, schema, and every table's row count and digest, read in
//! the very snapshot the dump was made from. A restore verifies the checksum before it
//! touches anything; `gad backup drill` restores into a scratch database and compares every
//! table with the manifest. Each success is recorded in the `backups` table and each drill in
//! `backup_drills`, which `/metrics` reports as `gad_backup_last_success_timestamp_seconds`
//! and `gad_backup_last_drill_success_timestamp_seconds`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};

use gad_core::config::{BackupConfig, Config};
use gad_core::services::backups::{TableDigest, table_digests};

/// What `gad backup` did.
#[derive(Clone, Debug)]
pub struct BackupOutcome {
    pub bucket: String,
    pub key: String,
    pub size_bytes: u64,
    pub finished_at_unix: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    fn of(config: &Config) -> Self {
        if config.is_sqlite() { Backend::Sqlite } else { Backend::Postgres }
    }
    fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
    /// The extension of a new backup.
    fn extension(self) -> &'static str {
        match self {
            Backend::Postgres => "dump",
            Backend::Sqlite => "sqlite.gz",
        }
    }
    /// Whether `key` names a backup of this backend (SQLite's before compression included).
    fn owns(self, key: &str) -> bool {
        match self {
            Backend::Postgres => key.ends_with(".dump"),
            Backend::Sqlite => key.ends_with(".sqlite") || key.ends_with(".sqlite.gz"),
        }
    }
    fn compression(self) -> &'static str {
        match self {
            Backend::Postgres => "pg_dump custom format (zlib)",
            Backend::Sqlite => "gzip",
        }
    }
}

/// Where a backup's manifest lies: beside it, `<key>.manifest.json`.
pub fn manifest_key(key: &str) -> String {
    format!("{key}.manifest.json")
}

/// What a backup holds, stored beside it (`<key>.manifest.json`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub gad_version: String,
    pub backend: String,
    pub created_at: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub compression: String,
    /// The newest migration applied.
    pub schema: Option<String>,
    /// Every table's rows and digest, from the snapshot the dump was made from.
    pub tables: BTreeMap<String, TableDigest>,
}

/// An S3 client from GAD's configuration (no AWS profile files, no instance metadata).
pub fn s3_client(backup: &BackupConfig) -> anyhow::Result<Client> {
    let (Some(key_id), Some(secret)) = (&backup.access_key_id, &backup.secret_access_key) else {
        bail!("GAD_BACKUP_S3_ACCESS_KEY_ID and GAD_BACKUP_S3_SECRET_ACCESS_KEY are required");
    };
    let mut builder = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(backup.region.clone()))
        .force_path_style(backup.path_style)
        .credentials_provider(Credentials::new(key_id.expose(), secret.expose(), None, None, "gad-config"));
    if let Some(endpoint) = &backup.endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    Ok(Client::from_conf(builder.build()))
}

fn bucket(backup: &BackupConfig) -> anyhow::Result<String> {
    backup.bucket.clone().context("GAD_BACKUP_S3_BUCKET is required")
}

/// A private scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> anyhow::Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = std::env::temp_dir().join(format!("gad-backup-{}-{}", std::process::id(), uuid_like()));
        // Private to this user: a dump holds every table (password hashes included), and the
        // shared temporary directory is readable by everyone.
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn uuid_like() -> String {
    format!("{:x}", chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default())
}

/// Dumps the database, uploads it with its manifest, and records the success.
pub async fn backup(config: &Config, db: &DatabaseConnection) -> anyhow::Result<BackupOutcome> {
    let bucket = bucket(&config.backup)?;
    let client = s3_client(&config.backup)?;
    let backend = Backend::of(config);
    let scratch = Scratch::new()?;
    let file = scratch.0.join(format!("gad.{}", backend.extension()));
    tracing::info!(backend = backend.name(), "backup: dumping the database");
    let tables = match backend {
        Backend::Postgres => {
            // The dump and the digests read one snapshot: a read-only repeatable-read
            // transaction exports it, pg_dump imports it, the digests are read in it.
            let txn = db
                .begin_with_config(Some(sea_orm::IsolationLevel::RepeatableRead), Some(sea_orm::AccessMode::ReadOnly))
                .await?;
            let row = txn
                .query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT pg_export_snapshot()"))
                .await?
                .context("no snapshot exported")?;
            let snapshot: String = row.try_get_by_index(0).map_err(|e| anyhow::anyhow!("{e}"))?;
            let database_url = config.database_url.expose().to_owned();
            let target = file.clone();
            let dump = tokio::task::spawn_blocking(move || pg_dump(&database_url, &target, Some(&snapshot)));
            let tables = table_digests(&txn).await;
            dump.await??;
            txn.commit().await?;
            tables?
        }
        Backend::Sqlite => {
            let copy = scratch.0.join("gad.sqlite");
            let path = copy.to_str().context("scratch path is not UTF-8")?.replace('\'', "''");
            db.execute_unprepared(&format!("VACUUM INTO '{path}'")).await.context("VACUUM INTO failed")?;
            let tables = sqlite_digests(&copy).await?;
            let (source, target) = (copy.clone(), file.clone());
            tokio::task::spawn_blocking(move || gzip(&source, &target)).await??;
            tables
        }
    };
    let size_bytes = std::fs::metadata(&file)?.len();
    tracing::info!(size_bytes, tables = tables.len(), "backup: dump written, uploading");
    if size_bytes == 0 {
        bail!("the dump is empty");
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let key = format!("{}gad-{}-{stamp}.{}", config.backup.prefix, backend.name(), backend.extension());
    let sha256 = sha256_of(&file)?;
    let manifest = Manifest {
        format: 2,
        gad_version: env!("CARGO_PKG_VERSION").to_owned(),
        backend: backend.name().to_owned(),
        created_at: chrono::Utc::now().to_rfc3339(),
        size_bytes,
        sha256: sha256.clone(),
        compression: backend.compression().to_owned(),
        schema: migrations::latest_applied(db).await.ok().flatten(),
        tables,
    };
    let body = ByteStream::from_path(&file).await.context("cannot read the dump")?;
    client
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .body(body)
        .metadata(SHA256_META, &sha256)
        .content_type("application/octet-stream")
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("upload to s3://{bucket}/{key} failed: {}", DisplayErrorContext(e)))?;
    let manifest_key = manifest_key(&key);
    client
        .put_object()
        .bucket(&bucket)
        .key(&manifest_key)
        .body(ByteStream::from(serde_json::to_vec_pretty(&manifest)?))
        .content_type("application/json")
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("upload to s3://{bucket}/{manifest_key} failed: {}", DisplayErrorContext(e)))?;

    let finished_at_unix = chrono::Utc::now().timestamp();
    gad_core::services::backups::record(db, finished_at_unix, backend.name(), &key, size_bytes, &sha256)
        .await
        .context("the backup was uploaded but could not be recorded")?;
    Ok(BackupOutcome { bucket, key, size_bytes, finished_at_unix })
}

/// The digests of a SQLite file, opened read-only.
async fn sqlite_digests(path: &Path) -> anyhow::Result<BTreeMap<String, TableDigest>> {
    let url = format!("sqlite://{}?mode=ro", path.display());
    let db = sea_orm::Database::connect(&url).await.with_context(|| format!("cannot open {}", path.display()))?;
    let txn = db.begin().await?;
    let tables = table_digests(&txn).await?;
    txn.commit().await?;
    db.close().await.ok();
    Ok(tables)
}

fn gzip(source: &Path, target: &Path) -> anyhow::Result<()> {
    let mut input = std::fs::File::open(source)?;
    let mut encoder = flate2::write::GzEncoder::new(std::fs::File::create(target)?, flate2::Compression::default());
    std::io::copy(&mut input, &mut encoder)?;
    encoder.finish()?.sync_all()?;
    Ok(())
}

fn gunzip(source: &Path, target: &Path) -> anyhow::Result<()> {
    let mut decoder = flate2::read::GzDecoder::new(std::fs::File::open(source)?);
    let mut output = std::fs::File::create(target)?;
    std::io::copy(&mut decoder, &mut output).context("the backup is not valid gzip")?;
    output.sync_all()?;
    Ok(())
}

/// The object metadata key of a backup's SHA-256 (hex).
pub const SHA256_META: &str = "sha256";

/// The SHA-256 of a file, hex, read in blocks.
fn sha256_of(path: &Path) -> anyhow::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = sha2::Sha256::new();
    let mut block = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut block)?;
        if n == 0 {
            break;
        }
        hasher.update(&block[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// `pg_dump` in custom format; the password travels in the environment, not in argv.
fn pg_dump(database_url: &str, target: &Path, snapshot: Option<&str>) -> anyhow::Result<()> {
    let (url, password) = split_password(database_url)?;
    let mut command = Command::new("pg_dump");
    command.args(["--format=custom", "--no-owner", "--no-acl", "--file"]).arg(target).arg("--dbname").arg(&url);
    if let Some(snapshot) = snapshot {
        command.arg(format!("--snapshot={snapshot}"));
    }
    run_pg(command, password, "pg_dump")
}

fn pg_restore(database_url: &str, source: &Path, clean: bool) -> anyhow::Result<()> {
    let (url, password) = split_password(database_url)?;
    let mut command = Command::new("pg_restore");
    command.args(["--no-owner", "--no-acl", "--exit-on-error", "--single-transaction"]);
    if clean {
        command.args(["--clean", "--if-exists"]);
    }
    command.arg("--dbname").arg(&url).arg(source);
    run_pg(command, password, "pg_restore")
}

fn run_pg(mut command: Command, password: Option<String>, tool: &str) -> anyhow::Result<()> {
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let output =
        command.output().with_context(|| format!("cannot run {tool} (is the PostgreSQL client installed?)"))?;
    if !output.status.success() {
        // libpq messages name hosts and databases, not passwords.
        bail!("{tool} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

/// The URL without its password, and the password (percent-decoded).
fn split_password(database_url: &str) -> anyhow::Result<(String, Option<String>)> {
    let mut url = reqwest::Url::parse(database_url).map_err(|_| anyhow::anyhow!("invalid DATABASE_URL"))?;
    let password = url.password().map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned());
    url.set_password(None).map_err(|_| anyhow::anyhow!("invalid DATABASE_URL"))?;
    Ok((url.to_string(), password))
}

/// Every object key under `prefix`, page by page.
async fn list_keys(client: &Client, bucket: &str, prefix: &str) -> anyhow::Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("cannot list s3://{bucket}/{prefix}: {}", DisplayErrorContext(e)))?;
        keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
        match page.next_continuation_token() {
            Some(next) if page.is_truncated().unwrap_or(false) => token = Some(next.to_owned()),
            _ => return Ok(keys),
        }
    }
}

/// The newest backup of this backend under the prefix.
pub async fn latest_key(config: &Config) -> anyhow::Result<String> {
    let bucket = bucket(&config.backup)?;
    let client = s3_client(&config.backup)?;
    let backend = Backend::of(config);
    let wanted = format!("{}gad-{}-", config.backup.prefix, backend.name());
    let newest = list_keys(&client, &bucket, &wanted).await?.into_iter().filter(|key| backend.owns(key)).max();
    newest.with_context(|| format!("no {} backup under s3://{bucket}/{wanted}", backend.name()))
}

/// How many backups to keep: the newest of each of the last `daily` days, `weekly` ISO weeks
/// and `monthly` months.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub daily: usize,
    pub weekly: usize,
    pub monthly: usize,
}

/// What a prune kept and deleted (keys, newest first).
#[derive(Debug, Default)]
pub struct Pruned {
    pub kept: Vec<String>,
    pub deleted: Vec<String>,
}

/// The keys `keep` retains among `backups` (key and time): the newest of each of the last
/// `daily` days, `weekly` ISO weeks and `monthly` months; the newest backup always.
pub fn retained(backups: &[(String, chrono::NaiveDateTime)], keep: Retention) -> std::collections::BTreeSet<String> {
    use chrono::Datelike;
    let mut newest_first: Vec<&(String, chrono::NaiveDateTime)> = backups.iter().collect();
    newest_first.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    let mut kept = std::collections::BTreeSet::new();
    if let Some((key, _)) = newest_first.first() {
        kept.insert(key.clone());
    }
    let mut bucket = |limit: usize, period: &dyn Fn(&chrono::NaiveDateTime) -> (i32, u32)| {
        let mut seen = Vec::new();
        for (key, at) in &newest_first {
            let p = period(at);
            if seen.len() >= limit {
                break;
            }
            if !seen.contains(&p) {
                seen.push(p);
                kept.insert(key.clone());
            }
        }
    };
    bucket(keep.daily, &|t| (t.year(), t.ordinal()));
    bucket(keep.weekly, &|t| (t.iso_week().year(), t.iso_week().week()));
    bucket(keep.monthly, &|t| (t.year(), t.month()));
    kept
}

/// Applies the retention to this backend's backups under the prefix (`dry_run`: deletes
/// nothing). Only objects named as `gad backup` names them are considered.
pub async fn prune(config: &Config, keep: Retention, dry_run: bool) -> anyhow::Result<Pruned> {
    let bucket = bucket(&config.backup)?;
    let client = s3_client(&config.backup)?;
    let backend = Backend::of(config);
    let wanted = format!("{}gad-{}-", config.backup.prefix, backend.name());
    let mut backups: Vec<(String, chrono::NaiveDateTime)> = list_keys(&client, &bucket, &wanted)
        .await?
        .into_iter()
        .filter(|key| backend.owns(key))
        .filter_map(|key| {
            let stamp = key.strip_prefix(&wanted)?.split('.').next()?;
            let at = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").ok()?;
            Some((key, at))
        })
        .collect();
    let kept = retained(&backups, keep);
    backups.sort_by_key(|b| std::cmp::Reverse(b.1));
    let mut pruned = Pruned::default();
    for (key, _) in backups {
        if kept.contains(&key) {
            pruned.kept.push(key);
            continue;
        }
        if !dry_run {
            // The manifest first: a backup is never left without one while it exists.
            for object in [manifest_key(&key), key.clone()] {
                client
                    .delete_object()
                    .bucket(&bucket)
                    .key(&object)
                    .send()
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot delete s3://{bucket}/{object}: {}", DisplayErrorContext(e)))?;
            }
            tracing::info!(key, "backup pruned");
        }
        pruned.deleted.push(key);
    }
    Ok(pruned)
}

/// Downloads `key` into `dir`, checks it against the checksum its object carries, and unpacks
/// it: the file to restore, the size and the SHA-256 of what was downloaded.
async fn fetch_verified(config: &Config, key: &str, dir: &Path) -> anyhow::Result<(PathBuf, u64, String)> {
    let bucket = bucket(&config.backup)?;
    let client = s3_client(&config.backup)?;
    let backend = Backend::of(config);
    if !backend.owns(key) {
        bail!("{key} is not a {} backup", backend.name());
    }
    let file = dir.join("download");
    let object = client
        .get_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot download s3://{bucket}/{key}: {}", DisplayErrorContext(e)))?;
    let expected_sha256 = object.metadata().and_then(|m| m.get(SHA256_META)).cloned();
    let mut body = object.body;
    let mut out = std::fs::File::create(&file)?;
    let mut size = 0u64;
    let mut reported = 0u64;
    tracing::info!(key, "downloading the backup");
    while let Some(chunk) = body.try_next().await.context("download interrupted")? {
        size += chunk.len() as u64;
        out.write_all(&chunk)?;
        // Progress every 64 MiB on the long downloads.
        if size - reported >= 64 << 20 {
            reported = size;
            tracing::info!(downloaded_bytes = size, "downloading the backup");
        }
    }
    out.sync_all()?;
    drop(out);
    let actual = sha256_of(&file)?;
    match expected_sha256 {
        Some(expected) => {
            if actual != expected {
                bail!(
                    "the backup {key} does not match its checksum (sha256 {actual}, expected {expected}): \
                     it is corrupt or was altered; nothing was restored"
                );
            }
            tracing::info!(sha256 = %actual, "backup checksum verified");
        }
        None => tracing::warn!(key, "the backup carries no checksum (made before checksums); not verified"),
    }
    if key.ends_with(".gz") {
        let plain = dir.join("download.plain");
        let (source, target) = (file.clone(), plain.clone());
        tokio::task::spawn_blocking(move || gunzip(&source, &target)).await??;
        return Ok((plain, size, actual));
    }
    Ok((file, size, actual))
}

/// Downloads `key` and restores it into `DATABASE_URL`. A database that already holds data
/// is refused unless `force` (PostgreSQL: `--clean`; SQLite: the file is replaced).
pub async fn restore(config: &Config, key: &str, force: bool) -> anyhow::Result<u64> {
    let backend = Backend::of(config);
    let scratch = Scratch::new()?;
    let (file, size, _) = fetch_verified(config, key, &scratch.0).await?;
    tracing::info!(size_bytes = size, "restore: downloaded, restoring into the database");

    match backend {
        Backend::Postgres => {
            let database_url = config.database_url.expose().to_owned();
            let db = gad_core::db::connect(config).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let tables = gad_core::services::backups::table_count(&db).await?;
            db.close().await.ok();
            if tables > 0 && !force {
                bail!("the target database already has {tables} tables; use --force to replace its contents");
            }
            tokio::task::spawn_blocking(move || pg_restore(&database_url, &file, tables > 0)).await??;
        }
        Backend::Sqlite => {
            let path = sqlite_path(config.database_url.expose())?;
            if std::fs::metadata(&path).is_ok_and(|m| m.len() > 0) && !force {
                bail!("{} already exists; use --force to replace it (stop gad first)", path.display());
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let staged = path.with_extension("restoring");
            std::fs::copy(&file, &staged)?;
            for suffix in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            std::fs::rename(&staged, &path)?;
        }
    }
    Ok(size)
}

/// What `gad backup drill` found.
#[derive(Clone, Debug)]
pub struct DrillReport {
    pub key: String,
    pub ok: bool,
    pub tables_checked: usize,
    /// One line per table that differs from the manifest (or the reason the drill failed).
    pub problems: Vec<String>,
}

/// Restores `key` (the newest backup when `None`) into a scratch database, compares every
/// table's rows and digest with the backup's manifest, drops the scratch, and records the
/// result in `backup_drills` (a drill that cannot complete — a corrupt dump, no manifest — is
/// recorded as failed). PostgreSQL: the scratch is a database created beside `DATABASE_URL`'s
/// (its user needs CREATEDB); SQLite: a file in a private temporary directory.
pub async fn drill(config: &Config, db: &DatabaseConnection, key: Option<String>) -> anyhow::Result<DrillReport> {
    // The newest backup this database recorded, not the newest name in the bucket: whoever
    // can write the bucket could put the newest name there.
    let key = match key {
        Some(key) => key,
        None => gad_core::services::backups::latest_recorded(db, Backend::of(config).name())
            .await?
            .context("no backup of this database is recorded: make one with `gad backup`, or name one with --key")?,
    };
    let outcome = drill_key(config, db, &key).await;
    let report = match outcome {
        Ok((tables_checked, problems)) => DrillReport { ok: problems.is_empty(), key, tables_checked, problems },
        Err(e) => DrillReport { ok: false, key, tables_checked: 0, problems: vec![format!("{e:#}")] },
    };
    gad_core::services::backups::record_drill(
        db,
        chrono::Utc::now().timestamp(),
        &report.key,
        report.ok,
        report.tables_checked,
        &report.problems.join("\n"),
    )
    .await
    .context("the drill ran but could not be recorded")?;
    Ok(report)
}

async fn drill_key(config: &Config, db: &DatabaseConnection, key: &str) -> anyhow::Result<(usize, Vec<String>)> {
    let bucket = bucket(&config.backup)?;
    let client = s3_client(&config.backup)?;
    let manifest_key = manifest_key(key);
    let object = client.get_object().bucket(&bucket).key(&manifest_key).send().await.map_err(|e| {
        anyhow::anyhow!("the backup has no manifest (s3://{bucket}/{manifest_key}): {}", DisplayErrorContext(e))
    })?;
    let bytes = object.body.collect().await.context("manifest download interrupted")?.into_bytes();
    let manifest: Manifest = serde_json::from_slice(&bytes).context("the manifest is not readable")?;
    let scratch = Scratch::new()?;
    let (file, _, sha256) = fetch_verified(config, key, &scratch.0).await?;
    // The dump must be the one `gad backup` recorded here: its object's checksum and manifest
    // are written by whoever writes the bucket, the record only by whoever writes the database.
    match gad_core::services::backups::recorded_digest(db, key).await? {
        Some(Some(recorded)) if recorded != sha256 => bail!(
            "the backup {key} is not the dump recorded when it was made (sha256 {sha256}, recorded {recorded}); \
             it was replaced in the bucket"
        ),
        Some(Some(_)) => {}
        Some(None) => tracing::warn!(key, "the backup was recorded before digests were kept; not compared"),
        None => bail!("the backup {key} was not recorded by `gad backup` on this database; not drilled"),
    }
    let restored = match Backend::of(config) {
        Backend::Sqlite => sqlite_digests(&file).await?,
        Backend::Postgres => {
            let name = format!("gad_drill_{}", chrono::Utc::now().format("%Y%m%d%H%M%S%f"));
            let scratch_url = database_url_named(config.database_url.expose(), &name)?;
            db.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.with_context(|| {
                format!("cannot create the scratch database {name} (the database user needs CREATEDB)")
            })?;
            let restored = async {
                let (url, source) = (scratch_url.clone(), file.clone());
                tokio::task::spawn_blocking(move || pg_restore(&url, &source, false)).await??;
                let scratch_db = sea_orm::Database::connect(&scratch_url).await?;
                let txn = scratch_db.begin().await?;
                let tables = table_digests(&txn).await;
                txn.commit().await.ok();
                scratch_db.close().await.ok();
                Ok::<_, anyhow::Error>(tables?)
            }
            .await;
            // The scratch goes whatever happened.
            if let Err(e) = db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await {
                tracing::warn!(error = %e, database = name, "scratch database not dropped");
            }
            restored?
        }
    };
    Ok((manifest.tables.len(), compare(&manifest.tables, &restored)))
}

/// The tables whose restored content differs from the manifest, in words.
fn compare(expected: &BTreeMap<String, TableDigest>, restored: &BTreeMap<String, TableDigest>) -> Vec<String> {
    let mut problems = Vec::new();
    for (table, want) in expected {
        match restored.get(table) {
            None => problems.push(format!("{table}: missing from the restored database")),
            Some(got) if got.rows != want.rows => {
                problems.push(format!("{table}: {} rows restored, {} in the manifest", got.rows, want.rows))
            }
            Some(got) if got.sha256 != want.sha256 => {
                problems.push(format!("{table}: {} rows, but their content differs from the manifest", got.rows))
            }
            Some(_) => {}
        }
    }
    for table in restored.keys().filter(|t| !expected.contains_key(*t)) {
        problems.push(format!("{table}: restored but not in the manifest"));
    }
    problems
}

/// `database_url` naming another database on the same server.
fn database_url_named(database_url: &str, name: &str) -> anyhow::Result<String> {
    let mut url = reqwest::Url::parse(database_url).map_err(|_| anyhow::anyhow!("invalid DATABASE_URL"))?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// The file of a `sqlite:` URL (`sqlite://data/gad.db?mode=rwc` → `data/gad.db`).
fn sqlite_path(url: &str) -> anyhow::Result<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).context("not a sqlite URL")?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        bail!("DATABASE_URL names no SQLite file");
    }
    Ok(PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_leave_the_url_for_the_environment() {
        let (url, password) =
            split_password("postgres://gad:p%40ss%2Fw0rd@db:5432/gad?sslmode=require").expect("valid");
        assert_eq!(url, "postgres://gad@db:5432/gad?sslmode=require");
        assert_eq!(password.as_deref(), Some("p@ss/w0rd"));
        assert_eq!(split_password("postgres://gad@db/gad").expect("valid").1, None);
    }

    #[test]
    fn a_dump_s_scratch_directory_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let scratch = Scratch::new().expect("created");
        let mode = std::fs::metadata(&scratch.0).expect("exists").permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        let path = scratch.0.clone();
        drop(scratch);
        assert!(!path.exists(), "removed when done");
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(sqlite_path("sqlite://data/gad.db?mode=rwc").expect("valid"), PathBuf::from("data/gad.db"));
        assert_eq!(sqlite_path("sqlite:///var/lib/gad/gad.db").expect("valid"), PathBuf::from("/var/lib/gad/gad.db"));
        assert!(sqlite_path("sqlite::memory:").is_err());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod retention_tests {
    use super::{Retention, retained};
    use chrono::NaiveDateTime;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    /// Daily backups for three months, two a day: the newest of each of the last 7 days, of 4
    /// ISO weeks and of 3 months are kept, nothing else.
    #[test]
    fn keeps_the_newest_per_day_week_and_month() {
        let mut backups = Vec::new();
        let start = at("2026-09-01 02:00");
        for day in 0..91 {
            for hour in [0, 12] {
                let t = start + chrono::Duration::days(day) + chrono::Duration::hours(hour);
                backups.push((format!("k{}", t.format("%Y%m%dT%H%M")), t));
            }
        }
        let kept = retained(&backups, Retention { daily: 7, weekly: 4, monthly: 3 });
        // The newest is 2026-11-30 14:00; days 24–30 Nov (7), weeks 49..46 add Sundays
        // 22, 15 Nov (2 more), months Nov, Oct, Sep add 31 Oct and 30 Sep (2 more).
        let expected = [
            "k20261130T1400",
            "k20261129T1400",
            "k20261128T1400",
            "k20261127T1400",
            "k20261126T1400",
            "k20261125T1400",
            "k20261124T1400",
            "k20261122T1400",
            "k20261115T1400",
            "k20261031T1400",
            "k20260930T1400",
        ];
        let mut expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        expected.sort();
        assert_eq!(kept.into_iter().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn the_newest_is_always_kept() {
        let backups = vec![("only".to_owned(), at("2026-01-01 00:00"))];
        let kept = retained(&backups, Retention { daily: 0, weekly: 0, monthly: 0 });
        assert!(kept.contains("only"));
    }
}

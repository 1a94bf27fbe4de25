//! The database side of `gad backup` / `gad restore`: the record of each successful backup
//! (read back by the `gad_backup_last_success_timestamp_seconds` gauge) and the check that a
//! database is empty before a restore. Dumping and uploading are the binary's job.

use sea_orm::sea_query::{Alias, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};

/// Records a backup that reached the bucket.
pub async fn record(
    db: &DatabaseConnection,
    finished_at_unix: i64,
    backend: &str,
    object_key: &str,
    size_bytes: u64,
) -> Result<(), DbErr> {
    let insert = Query::insert()
        .into_table(Alias::new("backups"))
        .columns([
            Alias::new("finished_at_unix"),
            Alias::new("backend"),
            Alias::new("object_key"),
            Alias::new("size_bytes"),
        ])
        .values([finished_at_unix.into(), backend.into(), object_key.into(), (size_bytes as i64).into()])
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .to_owned();
    db.execute(&insert).await.map(|_| ())
}

/// How many tables the database's `public` schema holds (0: nothing to overwrite).
pub async fn table_count(db: &DatabaseConnection) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("no answer".into()))?;
    row.try_get_by_index::<i64>(0).map_err(|e| DbErr::Custom(e.to_string()))
}

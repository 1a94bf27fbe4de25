//! Session storage for tower-sessions: Redis (through the shared bb8 pool) when `REDIS_URL` is
//! set, so every replica sees every session; in-process memory otherwise (embedded default).

use async_trait::async_trait;
use redis::AsyncCommands;
use tower_sessions::MemoryStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::state::RedisPool;

#[derive(Clone, Debug)]
pub enum GadSessionStore {
    Memory(MemoryStore),
    Redis(RedisSessionStore),
}

impl GadSessionStore {
    pub fn new(redis: Option<RedisPool>) -> Self {
        match redis {
            Some(pool) => GadSessionStore::Redis(RedisSessionStore { pool }),
            None => GadSessionStore::Memory(MemoryStore::default()),
        }
    }
}

#[async_trait]
impl SessionStore for GadSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            GadSessionStore::Memory(s) => s.create(record).await,
            GadSessionStore::Redis(s) => s.create(record).await,
        }
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            GadSessionStore::Memory(s) => s.save(record).await,
            GadSessionStore::Redis(s) => s.save(record).await,
        }
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            GadSessionStore::Memory(s) => s.load(id).await,
            GadSessionStore::Redis(s) => s.load(id).await,
        }
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            GadSessionStore::Memory(s) => s.delete(id).await,
            GadSessionStore::Redis(s) => s.delete(id).await,
        }
    }
}

/// Records stored as JSON under `gad:session:<id>` with the session's expiry as TTL.
#[derive(Clone)]
pub struct RedisSessionStore {
    pool: RedisPool,
}

impl std::fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisSessionStore")
    }
}

fn key(id: &Id) -> String {
    format!("gad:session:{id}")
}

/// Seconds until the record expires, rounded up (a short idle expiry must not lose a second).
fn ttl_seconds(record: &Record) -> u64 {
    let left = record.expiry_date - time::OffsetDateTime::now_utc();
    u64::try_from((left.whole_milliseconds() + 999) / 1000).unwrap_or(0).max(1)
}

fn backend(err: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

impl RedisSessionStore {
    async fn write(&self, record: &Record, only_if_new: bool) -> session_store::Result<bool> {
        let json = serde_json::to_string(record).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let mut conn = self.pool.get().await.map_err(backend)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(key(&record.id)).arg(json).arg("EX").arg(ttl_seconds(record));
        if only_if_new {
            cmd.arg("NX");
        }
        let reply: Option<String> = cmd.query_async(&mut *conn).await.map_err(backend)?;
        Ok(reply.is_some())
    }
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh id until the key is new (ids are random; a clash is astronomically rare).
        while !self.write(record, true).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.write(record, false).await.map(|_| ())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let mut conn = self.pool.get().await.map_err(backend)?;
        let json: Option<String> = conn.get(key(id)).await.map_err(backend)?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| session_store::Error::Decode(e.to_string()))).transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let mut conn = self.pool.get().await.map_err(backend)?;
        let _: i64 = conn.del(key(id)).await.map_err(backend)?;
        Ok(())
    }
}

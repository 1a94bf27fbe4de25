//! Session storage for tower-sessions: Redis (through the shared bb8 pool) when `REDIS_URL` is
//! set, so every replica sees every session; in-process memory otherwise (embedded default).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::AsyncCommands;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::state::RedisPool;

#[derive(Clone, Debug)]
pub enum GadSessionStore {
    Memory(MemorySessionStore),
    Redis(RedisSessionStore),
}

impl GadSessionStore {
    pub fn new(redis: Option<RedisPool>) -> Self {
        match redis {
            Some(pool) => GadSessionStore::Redis(RedisSessionStore { pool }),
            None => GadSessionStore::Memory(MemorySessionStore::default()),
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

/// Seals `plain` so that only a request carrying this session's cookie can read it: the key
/// is derived from the session id, which neither store keeps (Redis has only its digest, under
/// another derivation). For secrets a page shows once (a generated password, a new token),
/// kept in the session between a plain form post and the page it redirects to.
pub fn seal_for_session(id: &Id, plain: &[u8]) -> String {
    use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
    let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &flash_key(id)).expect("a 32-byte key"));
    let nonce: [u8; NONCE_LEN] = rand::random();
    let mut sealed = plain.to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut sealed)
        .expect("ChaCha20-Poly1305 seals any length a session holds");
    let mut out = nonce.to_vec();
    out.extend(sealed);
    hex::encode(out)
}

/// Opens what [`seal_for_session`] sealed for the same session id (`None`: another session's,
/// or altered).
pub fn open_for_session(id: &Id, sealed: &str) -> Option<Vec<u8>> {
    use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
    let sealed = hex::decode(sealed).ok()?;
    if sealed.len() < NONCE_LEN {
        return None;
    }
    let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &flash_key(id)).ok()?);
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut body = body.to_vec();
    let plain = key.open_in_place(nonce, Aad::empty(), &mut body).ok()?;
    Some(plain.to_vec())
}

fn flash_key(id: &Id) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::new()
        .chain_update(b"gad:sealed-for-session:")
        .chain_update(id.to_string().as_bytes())
        .finalize()
        .into()
}

/// In-process sessions (the embedded default, one process). tower-sessions' own memory store
/// never forgets a record, only refuses it once expired: every session that timed out stayed
/// in memory until a restart. Here expired records are swept at most once a minute, on a
/// write, and at most [`MEMORY_SESSIONS_MAX`] are kept: when full, the tenth nearest their
/// expiry (the longest idle) goes, so sessions opened and abandoned cannot grow the process.
#[derive(Clone, Debug)]
pub struct MemorySessionStore {
    inner: Arc<Mutex<MemoryInner>>,
    max: usize,
    sweep_every: Duration,
}

#[derive(Debug)]
struct MemoryInner {
    records: HashMap<Id, Record>,
    swept: Instant,
}

/// Most sessions kept in memory (a record is well under a kilobyte).
pub const MEMORY_SESSIONS_MAX: usize = 50_000;

impl Default for MemorySessionStore {
    fn default() -> Self {
        Self::with_limits(MEMORY_SESSIONS_MAX, Duration::from_secs(60))
    }
}

impl MemorySessionStore {
    pub fn with_limits(max: usize, sweep_every: Duration) -> Self {
        let inner = MemoryInner { records: HashMap::new(), swept: Instant::now() };
        Self { inner: Arc::new(Mutex::new(inner)), max: max.max(1), sweep_every }
    }

    /// How many records are held (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        // A panic while holding the lock leaves a map that is still consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores `record`: a new one only under a free id, an existing one only if it is still
    /// held (returns whether it was stored).
    fn put(&self, record: &Record, only_if_new: bool) -> bool {
        let mut inner = self.lock();
        let now = OffsetDateTime::now_utc();
        if inner.swept.elapsed() >= self.sweep_every {
            inner.records.retain(|_, r| r.expiry_date > now);
            inner.swept = Instant::now();
        }
        let held = inner.records.contains_key(&record.id);
        if only_if_new == held {
            return false;
        }
        if !held {
            crate::bounded::make_room(&mut inner.records, self.max, now, |r| r.expiry_date);
        }
        inner.records.insert(record.id, record.clone());
        true
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        while !self.put(record, true) {
            record.id = Id::default();
        }
        Ok(())
    }

    /// Updates a record still held; one deleted meanwhile (signed out, ended, expired) stays
    /// deleted: a request still running on its cookie cannot bring it back.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.put(record, false);
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = OffsetDateTime::now_utc();
        Ok(self.lock().records.get(id).filter(|r| r.expiry_date > now).cloned())
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.lock().records.remove(id);
        Ok(())
    }
}

/// Records stored as JSON under `gad:session:<SHA-256 of the id>` with the session's expiry as
/// TTL, without the id: whoever reads Redis or its backups finds no cookie to replay.
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
    use sha2::Digest;
    format!("gad:session:{}", hex::encode(sha2::Sha256::digest(id.to_string().as_bytes())))
}

/// What Redis keeps of a record: everything but its id.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    data: std::collections::HashMap<String, serde_json::Value>,
    expiry_date: OffsetDateTime,
}

/// Seconds until the record expires, rounded up (a short idle expiry must not lose a second).
fn ttl_seconds(record: &Record) -> u64 {
    let left = record.expiry_date - OffsetDateTime::now_utc();
    u64::try_from((left.whole_milliseconds() + 999) / 1000).unwrap_or(0).max(1)
}

fn backend(err: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

impl RedisSessionStore {
    /// `SET … NX` for a new record, `SET … XX` for an existing one (returns whether it was set).
    async fn write(&self, record: &Record, only_if_new: bool) -> session_store::Result<bool> {
        let stored = Stored { data: record.data.clone(), expiry_date: record.expiry_date };
        let json = serde_json::to_string(&stored).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let mut conn = self.pool.get().await.map_err(backend)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(key(&record.id)).arg(json).arg("EX").arg(ttl_seconds(record));
        cmd.arg(if only_if_new { "NX" } else { "XX" });
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

    /// As the memory store's: a record deleted meanwhile is not written back.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.write(record, false).await.map(|_| ())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let mut conn = self.pool.get().await.map_err(backend)?;
        let json: Option<String> = conn.get(key(id)).await.map_err(backend)?;
        let Some(json) = json else { return Ok(None) };
        let stored: Stored = serde_json::from_str(&json).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record { id: *id, data: stored.data, expiry_date: stored.expiry_date }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let mut conn = self.pool.get().await.map_err(backend)?;
        let _: i64 = conn.del(key(id)).await.map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn record(expires_in: time::Duration) -> Record {
        Record { id: Id::default(), data: HashMap::new(), expiry_date: OffsetDateTime::now_utc() + expires_in }
    }

    #[test]
    fn a_sealed_value_opens_only_for_its_session() {
        let (mine, other) = (Id::default(), Id::default());
        let sealed = seal_for_session(&mine, b"gad_secreto");
        assert!(!sealed.contains(&hex::encode(b"gad_secreto")));
        assert_eq!(open_for_session(&mine, &sealed).as_deref(), Some(&b"gad_secreto"[..]));
        assert_eq!(open_for_session(&other, &sealed), None);
        let flipped = if sealed.ends_with('0') { '1' } else { '0' };
        let altered = format!("{}{flipped}", &sealed[..sealed.len() - 1]);
        assert_eq!(open_for_session(&mine, &altered), None);
        assert_eq!(open_for_session(&mine, &sealed[..10]), None);
    }

    #[tokio::test]
    async fn expired_sessions_are_swept_and_the_store_is_bounded() {
        let store = MemorySessionStore::with_limits(100, Duration::ZERO);
        let mut gone = record(time::Duration::seconds(-1));
        store.create(&mut gone).await.unwrap();
        assert!(store.load(&gone.id).await.unwrap().is_none(), "an expired record is never answered");
        // Expiry is on inactivity: the latest expiry is the session active last.
        let mut live = record(time::Duration::hours(5));
        store.create(&mut live).await.unwrap();
        assert_eq!(store.len(), 1, "the expired record was swept by the next write");
        assert!(store.load(&live.id).await.unwrap().is_some());

        // Full: the longest idle make room; the newest stay.
        for minutes in 0..150 {
            let mut r = record(time::Duration::minutes(10 + minutes));
            store.create(&mut r).await.unwrap();
        }
        assert!(store.len() <= 100, "{} records held", store.len());
        let mut newest = record(time::Duration::hours(3));
        store.create(&mut newest).await.unwrap();
        assert!(store.load(&newest.id).await.unwrap().is_some());
        assert!(store.load(&live.id).await.unwrap().is_some(), "a session active a moment ago stays");
        store.delete(&newest.id).await.unwrap();
        assert!(store.load(&newest.id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_deleted_session_is_not_written_back_by_a_request_still_running() {
        let store = MemorySessionStore::default();
        let mut signed_in = record(time::Duration::hours(1));
        store.create(&mut signed_in).await.unwrap();
        signed_in.data.insert("seen".into(), serde_json::json!(1));
        store.save(&signed_in).await.unwrap();
        assert_eq!(store.load(&signed_in.id).await.unwrap().unwrap().data, signed_in.data, "a held record is updated");
        // Signed out while another request on the same cookie was running; that request ends
        // and saves what it loaded.
        store.delete(&signed_in.id).await.unwrap();
        store.save(&signed_in).await.unwrap();
        assert!(store.load(&signed_in.id).await.unwrap().is_none(), "the sign-out stands");
        assert!(store.is_empty());
    }
}

//! The Redis connection pool (bb8): bb8-redis's manager, with each connection tested at most
//! once a second instead of on every checkout.
//!
//! bb8 tests a connection each time it is taken from the pool (`test_on_check_out`), and
//! bb8-redis's test is a PING: a request that read its session and counted its rate limit
//! made four Redis round trips, two of them PINGs. A multiplexed connection never repairs
//! itself and bb8-redis cannot tell a broken one without that PING (`has_broken` is always
//! false), so the test stays — but a connection tested less than [`TESTED_FOR`] ago is handed
//! out as it is. A Redis that died is still noticed within a second on every connection, and a
//! command on a dead connection fails as it would have a moment after a PING: the callers fall
//! back (sessions, rate limits, idempotency keys).

use std::time::{Duration, Instant};

use bb8_redis::RedisConnectionManager;
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};

/// How long a passed test vouches for a connection.
pub const TESTED_FOR: Duration = Duration::from_secs(1);

pub type RedisPool = bb8::Pool<RedisManager>;

/// bb8-redis's manager, testing each connection at most once per [`TESTED_FOR`].
#[derive(Clone, Debug)]
pub struct RedisManager(RedisConnectionManager);

impl RedisManager {
    /// The URL may carry a password: the error never includes it.
    pub fn new(url: &str) -> Result<Self, RedisError> {
        RedisConnectionManager::new(url).map(Self)
    }
}

/// A pooled connection and when it last passed its test (or was opened).
pub struct RedisConn {
    conn: MultiplexedConnection,
    tested: Instant,
}

impl bb8::ManageConnection for RedisManager {
    type Connection = RedisConn;
    type Error = RedisError;

    async fn connect(&self) -> Result<RedisConn, RedisError> {
        Ok(RedisConn { conn: self.0.connect().await?, tested: Instant::now() })
    }

    async fn is_valid(&self, conn: &mut RedisConn) -> Result<(), RedisError> {
        if conn.tested.elapsed() < TESTED_FOR {
            return Ok(());
        }
        self.0.is_valid(&mut conn.conn).await?;
        conn.tested = Instant::now();
        Ok(())
    }

    fn has_broken(&self, conn: &mut RedisConn) -> bool {
        self.0.has_broken(&mut conn.conn)
    }
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        self.conn.req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        self.conn.req_packed_commands(cmd, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.conn.get_db()
    }
}

//! What the audit records about where a change came from, built by each door (the dashboard's
//! request context, the REST API's extractor, the bot, the command line) and handed to the
//! services, which know no door.

use contract::domain::Channel;

/// The door and, over HTTP, the client's address and user agent.
#[derive(Clone, Debug)]
pub struct AuditMeta {
    /// The door the request came through, for audit rows without an actor.
    pub channel: Channel,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl AuditMeta {
    /// A request that did not come over HTTP (bot, CLI, background job).
    pub fn internal(channel: Channel) -> Self {
        Self { channel, ip: None, user_agent: None }
    }
}

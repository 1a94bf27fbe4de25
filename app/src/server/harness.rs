//! The bot harness: runs a server function as a given actor, outside any HTTP request.
//!
//! The Telegram bot resolves the linked user's [`Actor`] and calls the very same server
//! functions as the dashboard through [`call_as`], so permissions and validation are identical
//! by construction. The actor lives only in this server-side reactive owner; a browser cannot
//! provide it.

use std::future::Future;

use leptos::prelude::*;
use leptos::reactive::computed::ScopedFuture;

use gad_core::actor::Actor;
use gad_core::state::AppState;

/// Context marker carrying the actor injected by the harness.
#[derive(Clone, Debug)]
pub struct BotActor(pub Actor);

/// Runs `call` (typically a server function call) with `state` and, if given, `actor` in
/// context. Without an actor the call is anonymous and protected functions refuse it.
pub async fn call_as<T, Fut>(state: &AppState, actor: Option<Actor>, call: impl FnOnce() -> Fut) -> T
where
    Fut: Future<Output = T>,
{
    let owner = Owner::new();
    owner.with(|| {
        provide_context(state.clone());
        if let Some(actor) = actor {
            provide_context(BotActor(actor));
        }
    });
    let result = owner.with(|| ScopedFuture::new(call())).await;
    drop(owner);
    result
}

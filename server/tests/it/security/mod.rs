//! Security regressions: every way in that an attacker found, tried again. Each module holds
//! one family of attacks; each test performs the attack against a real `gad` and asserts it
//! no longer works. Keep the list here complete: it is the security review's checklist.
mod edge;
mod identity;
mod requests;
pub(crate) mod twofactor;

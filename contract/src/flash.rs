//! One-shot outcomes of plain form posts (no JavaScript). A form door that answers a plain
//! post keeps what happened in the session and redirects back to its page; the page's loader
//! takes it (read and removed), so it is shown exactly once. One-time secrets (a generated
//! password, a Telegram link code, an API token) travel this way, never in a URL. With
//! JavaScript the same outcome is the server function's answer, shown at once.

use crate::ApiError;
use crate::officers::Officer;
use crate::users::{CreatedApiToken, CreatedUser, LinkCode, UserSummary};
use serde::{Deserialize, Serialize};

/// What a form post did, as the page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FormOutcome {
    UserCreated(CreatedUser),
    /// The new-user form was refused: the error and what was typed (never the password).
    UserNotCreated {
        error: ApiError,
        values: Vec<(String, String)>,
    },
    RoleChanged(UserSummary),
    ActiveChanged(UserSummary),
    /// `Some` when the password was generated (shown once).
    PasswordReset(Option<String>),
    /// The signed-in user changed their own password.
    PasswordChanged,
    LinkCode(LinkCode),
    ApiToken(CreatedApiToken),
    OfficerStatus(Officer),
    /// New two-factor recovery codes (shown once).
    RecoveryCodes(Vec<String>),
    /// The user's own two-factor sign-in was turned off.
    TwoFactorDisabled,
    /// An admin reset another user's two-factor sign-in.
    TwoFactorReset,
    /// The task form was refused: the error and what was typed (kept in the session, never in
    /// the URL: descriptions and internal notes do not belong in history or proxy logs).
    TaskNotSaved {
        error: ApiError,
        values: Vec<(String, String)>,
    },
    /// A page's form saved (shifts and leave, deadline targets): what was done, in words.
    Saved(String),
    /// Any other refused action of the page.
    Failed(ApiError),
}

impl FormOutcome {
    /// Whether the outcome shows a secret once (a generated password, a token, a link code,
    /// recovery codes): kept sealed for the session while it waits for its page.
    pub fn carries_secret(&self) -> bool {
        match self {
            FormOutcome::UserCreated(created) => created.generated_password.is_some(),
            FormOutcome::PasswordReset(generated) => generated.is_some(),
            FormOutcome::LinkCode(_) | FormOutcome::ApiToken(_) | FormOutcome::RecoveryCodes(_) => true,
            _ => false,
        }
    }

    /// The typed value of field `name` of a refused new-user or task form.
    pub fn typed(&self, name: &str) -> Option<String> {
        match self {
            FormOutcome::UserNotCreated { values, .. } | FormOutcome::TaskNotSaved { values, .. } => {
                values.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
            }
            _ => None,
        }
    }
}

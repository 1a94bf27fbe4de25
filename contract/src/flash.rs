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

/// The most of one typed value a refused form keeps for its page (the longest field a form
/// takes, a task's description, is 5 000 characters): what a post sends is not stored whole.
pub const KEPT_VALUE_MAX_CHARS: usize = 5_000;

impl FormOutcome {
    /// The outcome with every typed value cut to [`KEPT_VALUE_MAX_CHARS`] (and at most 16 of
    /// them: a form's own fields), as it is kept in the session.
    pub fn bounded(mut self) -> Self {
        if let FormOutcome::UserNotCreated { values, .. } | FormOutcome::TaskNotSaved { values, .. } = &mut self {
            values.truncate(16);
            for (_, value) in values.iter_mut() {
                if let Some((cut, _)) = value.char_indices().nth(KEPT_VALUE_MAX_CHARS) {
                    value.truncate(cut);
                }
            }
        }
        self
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_form_holds_bounded_values() {
        let long = "ñ".repeat(KEPT_VALUE_MAX_CHARS + 300);
        let values = (0..40).map(|i| (format!("f{i}"), long.clone())).collect();
        let outcome =
            FormOutcome::TaskNotSaved { error: ApiError::new(crate::ErrorCode::Validation, "x"), values }.bounded();
        let FormOutcome::TaskNotSaved { values, .. } = &outcome else { unreachable!() };
        assert_eq!(values.len(), 16);
        assert!(values.iter().all(|(_, v)| v.chars().count() == KEPT_VALUE_MAX_CHARS));
        assert_eq!(outcome.typed("f0").map(|v| v.len()), Some(KEPT_VALUE_MAX_CHARS * 2));
        let short = FormOutcome::UserNotCreated {
            error: ApiError::new(crate::ErrorCode::Validation, "x"),
            values: vec![("email".into(), "a@b.c".into())],
        };
        assert_eq!(short.clone().bounded(), short);
    }
}

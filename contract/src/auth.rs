//! Login, logout and "who am I".

use crate::domain::Role;
use serde::{Deserialize, Serialize};

/// The signed-in person, as the UI needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CurrentUser {
    pub id: i64,
    pub full_name: String,
    pub email: String,
    pub role: Role,
    /// An admin reset the password: the user must change it before anything else.
    #[serde(default)]
    pub must_change_password: bool,
}

/// Where a role lands after signing in: officers on their tasks, supervisors and admins on
/// the home with the live map.
pub fn home_for(role: crate::domain::Role) -> &'static str {
    match role {
        crate::domain::Role::Officer => "/tareas",
        crate::domain::Role::Supervisor | crate::domain::Role::Admin => "/",
    }
}

//! Who gets a Telegram notification: the linked, active users behind officers. Used by the
//! bot's notifier (a system job, no actor); what each person then reads is fetched through
//! the server functions as that person, so nobody learns more than they may see.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::entities::{officers, task_assignments, users};
use crate::error::AppResult;
use crate::state::AppState;

/// An officer who can be reached on Telegram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    pub officer_id: i64,
    pub user_id: i64,
    /// The private chat with a user has the user's id.
    pub telegram_user_id: i64,
}

/// The reachable ones among `officer_ids` (not deleted, with an active user linked to Telegram).
pub async fn officer_recipients(state: &AppState, officer_ids: &[i64]) -> AppResult<Vec<Recipient>> {
    if officer_ids.is_empty() {
        return Ok(Vec::new());
    }
    let officers = officers::Entity::find()
        .filter(officers::Column::Id.is_in(officer_ids.iter().copied()))
        .filter(officers::Column::DeletedAt.is_null())
        .all(&state.db)
        .await?;
    let user_ids: Vec<i64> = officers.iter().filter_map(|o| o.user_id).collect();
    let users = users::Entity::find()
        .filter(users::Column::Id.is_in(user_ids))
        .filter(users::Column::DeletedAt.is_null())
        .filter(users::Column::IsActive.eq(true))
        .filter(users::Column::TelegramUserId.is_not_null())
        .all(&state.db)
        .await?;
    let mut out: Vec<Recipient> = officers
        .iter()
        .filter_map(|o| {
            let user = users.iter().find(|u| Some(u.id) == o.user_id)?;
            Some(Recipient { officer_id: o.id, user_id: user.id, telegram_user_id: user.telegram_user_id? })
        })
        .collect();
    out.sort_by_key(|r| officer_ids.iter().position(|id| *id == r.officer_id));
    Ok(out)
}

/// The reachable officers assigned to a task.
pub async fn task_recipients(state: &AppState, task_id: i64) -> AppResult<Vec<Recipient>> {
    let officer_ids: Vec<i64> = task_assignments::Entity::find()
        .filter(task_assignments::Column::TaskId.eq(task_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|a| a.officer_id)
        .collect();
    officer_recipients(state, &officer_ids).await
}

/// The private chats an escalation step reaches: 1 the task's supervisor, 2 every supervisor,
/// 3 every admin (active users linked to Telegram), in user order.
pub async fn escalation_chats(state: &AppState, task_id: i64, level: u8) -> AppResult<Vec<i64>> {
    use crate::entities::tasks;
    use contract::domain::Role;
    use sea_orm::QueryOrder;
    let mut query = users::Entity::find()
        .filter(users::Column::DeletedAt.is_null())
        .filter(users::Column::IsActive.eq(true))
        .filter(users::Column::TelegramUserId.is_not_null());
    query = match level {
        1 => {
            let supervisor = tasks::Entity::find_by_id(task_id).one(&state.db).await?.and_then(|t| t.supervisor_id);
            let Some(supervisor) = supervisor else { return Ok(Vec::new()) };
            // Only while they still supervise: a supervisor made an officer since sees no
            // such task anywhere, and the bot must not tell them either.
            query
                .filter(users::Column::Id.eq(supervisor))
                .filter(users::Column::Role.is_in([Role::Supervisor, Role::Admin]))
        }
        2 => query.filter(users::Column::Role.eq(Role::Supervisor)),
        _ => query.filter(users::Column::Role.eq(Role::Admin)),
    };
    let users = query.order_by_asc(users::Column::Id).all(&state.db).await?;
    Ok(users.into_iter().filter_map(|u| u.telegram_user_id).collect())
}

/// The private chats of the active supervisors and admins linked to Telegram (who review
/// feedback), in user order.
pub async fn reviewer_chats(state: &AppState) -> AppResult<Vec<i64>> {
    use sea_orm::QueryOrder;
    let reviewers = users::Entity::find()
        .filter(users::Column::Role.is_in([contract::domain::Role::Supervisor, contract::domain::Role::Admin]))
        .filter(users::Column::DeletedAt.is_null())
        .filter(users::Column::IsActive.eq(true))
        .filter(users::Column::TelegramUserId.is_not_null())
        .order_by_asc(users::Column::Id)
        .all(&state.db)
        .await?;
    Ok(reviewers.into_iter().filter_map(|u| u.telegram_user_id).collect())
}

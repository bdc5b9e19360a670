//! The rule that keeps the portal administrable: an admin does not delete, suspend or demote
//! themselves through the admin routes, and the last active admin is never removed or demoted
//! (an API fuzzer signed in as the only admin otherwise deletes its own account in a second).
//! Checked against the stored users at the moment of the change.

use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;
use crate::users::model::{Role, UserDoc, UserStatus};

/// What a change does to an account's admin rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Delete,
    Suspend,
    Demote,
}

/// The change `role` and `status` make to `target`, if they take its admin rights away.
pub fn change_of(
    target: &UserDoc,
    role: Option<Role>,
    status: Option<UserStatus>,
) -> Option<Change> {
    if !target.is_active_admin() {
        return None;
    }
    if status == Some(UserStatus::Suspended) {
        Some(Change::Suspend)
    } else if role.is_some_and(|r| r != Role::Admin) {
        Some(Change::Demote)
    } else {
        None
    }
}

/// Refuses `change` of `target` by `actor` (None: the user themselves, outside the admin
/// routes) when it is an admin acting on themselves, or would leave no active admin.
pub async fn guard(
    state: &AppState,
    actor: Option<&str>,
    target: &UserDoc,
    change: Change,
) -> ApiResult<()> {
    if actor == Some(target.id.as_str()) {
        return Err(ApiError::new(
            Code::SelfChange,
            "Admins do not delete, suspend or demote themselves here; another admin can.",
        ));
    }
    // Each change takes an active admin's rights away: someone must be left to hold them.
    if target.is_active_admin() && crate::users::store::active_admins(state, 2).await? < 2 {
        let what = match change {
            Change::Delete => "removed",
            Change::Suspend => "suspended",
            Change::Demote => "demoted",
        };
        return Err(ApiError::new(
            Code::LastAdmin,
            format!("The last active admin cannot be {what}: make another admin first."),
        ));
    }
    Ok(())
}

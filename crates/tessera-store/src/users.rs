//! Resource owners: the people who sign in.

use async_trait::async_trait;
use tessera_core::UnixTime;

use crate::StoreResult;

#[derive(Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    /// An Argon2id PHC string, or `None` for an account that cannot sign in with a password.
    pub password_hash: Option<String>,
    pub created_at: UnixTime,
}

#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub created_at: UnixTime,
}

/// Never prints the password hash.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    async fn insert_user(&self, user: NewUser) -> StoreResult<User>;
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>>;
    /// Replaces a password hash by a stronger one of the same password (an imported Django
    /// hash by Argon2id after a sign-in), only if it is still `old`: a password changed in
    /// between is never overwritten. Returns whether it was replaced.
    async fn upgrade_password_hash(&self, user_id: i64, old: &str, new: &str) -> StoreResult<bool>;
}

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

/// A user as the operator's list shows one: never the hash, only whether there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    pub id: i64,
    pub username: String,
    pub email: String,
    /// Whether the user can sign in with a password.
    pub has_password: bool,
    pub created_at: UnixTime,
}

impl From<&User> for UserSummary {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            username: u.username.clone(),
            email: u.email.clone(),
            has_password: u.password_hash.is_some(),
            created_at: u.created_at,
        }
    }
}

#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    async fn insert_user(&self, user: NewUser) -> StoreResult<User>;
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>>;
    /// Every user, oldest first.
    async fn all_users(&self) -> StoreResult<Vec<UserSummary>>;
    /// Replaces a user's password hash (an Argon2id PHC string); returns whether the user
    /// exists.
    async fn set_password_hash(&self, user_id: i64, hash: &str) -> StoreResult<bool>;
    /// Deletes a user with their grants, tokens, codes, sessions and approvals in one
    /// statement; applications they registered stay, without an owner. Returns whether the
    /// user existed.
    async fn delete_user(&self, user_id: i64) -> StoreResult<bool>;
    /// Replaces a password hash by a stronger one of the same password (an imported Django
    /// hash by Argon2id after a sign-in), only if it is still `old`: a password changed in
    /// between is never overwritten. Returns whether it was replaced.
    async fn upgrade_password_hash(&self, user_id: i64, old: &str, new: &str) -> StoreResult<bool>;
}

//! Importing another server's data in one transaction: django-oauth-toolkit's users,
//! applications and live tokens (`tessera import-dot`). The binary reads the source and
//! decides what to bring; this aggregate writes it all or nothing, idempotently.

use async_trait::async_trait;
use tessera_core::UnixTime;
use tessera_core::client::GrantType;
use tessera_core::grant::NewToken;

use crate::{NewClient, StoreResult};

/// A user to import; its Django password hash is kept as is (verified natively, replaced by
/// Argon2id at the first sign-in), `None` for an account that cannot sign in.
#[derive(Clone, PartialEq, Eq)]
pub struct ImportedUser {
    pub username: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub created_at: UnixTime,
}

impl std::fmt::Debug for ImportedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedUser")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// An application to import, with its owner by username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedClient {
    pub client: NewClient,
    pub owner: Option<String>,
}

/// A grant to import: a live access token, its refresh token, or both; tokens are digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedGrant {
    pub client_id: String,
    pub username: Option<String>,
    pub kind: GrantType,
    pub scope: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub access_token: Option<NewToken>,
    pub refresh_token: Option<NewToken>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportBatch {
    /// Where it came from, as recorded (never with a password).
    pub source: String,
    pub at: UnixTime,
    pub users: Vec<ImportedUser>,
    pub clients: Vec<ImportedClient>,
    pub grants: Vec<ImportedGrant>,
}

/// What an import wrote, and what it found already there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub users_imported: u64,
    pub users_present: u64,
    pub clients_imported: u64,
    pub clients_present: u64,
    pub grants_imported: u64,
    pub grants_present: u64,
    pub tokens_imported: u64,
}

impl ImportCounts {
    /// Whether the import changed nothing (a second run).
    pub fn is_noop(&self) -> bool {
        self.users_imported + self.clients_imported + self.grants_imported == 0
    }
}

#[async_trait]
pub trait ImportStore: Send + Sync + 'static {
    /// Writes `batch` in one transaction. A user already present by username, an application
    /// already present with the same registration, a grant whose tokens are already present:
    /// each is left as it is and counted as present. An application whose client id is taken
    /// by a different registration fails the whole import ([`crate::StoreError::Conflict`]).
    async fn import(&self, batch: ImportBatch) -> StoreResult<ImportCounts>;

    /// Whether any import ever ran: only then may a token without Tessera's prefix be one
    /// of this store's (an imported one).
    async fn has_imports(&self) -> StoreResult<bool>;
}

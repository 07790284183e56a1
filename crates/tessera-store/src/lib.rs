//! Storage for Tessera, apart from any database driver: one trait per aggregate, the SQL that
//! every SQL backend shares, and the conformance suite every backend must pass.
//!
//! Each operation is one atomic unit ("insert this grant and its tokens", "rotate this refresh
//! token once", "revoke this grant"), so no transaction type leaks out and every backend can
//! implement it with a single transaction. Not-found is `Ok(None)`, never an error. Backends
//! store and load; every decision (a grant's expiry, who may do what) is made in
//! `tessera-core` and arrives here as a value.
//!
//! # Layout
//! - [`clients`], [`users`], [`sessions`], [`codes`], [`grants`], [`keys`], [`consents`],
//!   [`devices`], [`registrations`], [`admin_tokens`], [`maintenance`]: one trait per
//!   aggregate with its record types; [`Store`] is all of them together.
//! - [`sql`]: the SQL of every operation, written once for both SQL backends, which only
//!   supply a connection ([`sql::SqlConn`]) and transactions ([`sql::Database`]).
//! - [`janitor`]: background cleanup on any store.
//! - [`conformance`]: the checks every backend must pass, one module per aggregate, run by
//!   each backend's tests through [`store_conformance_tests!`].

pub mod admin_tokens;
pub mod clients;
pub mod codes;
pub mod conformance;
pub mod consents;
pub mod devices;
pub mod grants;
pub mod imports;
pub mod janitor;
pub mod keys;
pub mod maintenance;
pub mod registrations;
pub mod sessions;
pub mod sql;
pub mod users;

pub use admin_tokens::{AdminToken, AdminTokenStore};
pub use clients::{ClientStore, ClientUpdate, NewClient};
pub use codes::CodeStore;
pub use consents::{Consent, ConsentStore};
pub use devices::{DeviceAnswer, DeviceStore};
pub use grants::{GrantStore, GrantSummary, RotateOutcome};
pub use imports::{
    ImportBatch, ImportCounts, ImportStore, ImportedClient, ImportedGrant, ImportedUser,
};
pub use keys::{KeyStore, StoredKey};
pub use maintenance::{Maintenance, Purged};
pub use registrations::{ClientRegistration, RegisterOutcome, RegistrationStore};
pub use sessions::{NewSession, Session, SessionStore};
pub use users::{NewUser, User, UserStore, UserSummary};

/// Any error a driver reports, kept whole so its cause chain can be printed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value is taken (a client id, a username).
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The database could not be reached or answered with an error; the driver's error is
    /// the source, so the operator sees its whole chain (`role "x" does not exist`).
    #[error("store unavailable: {0}")]
    Unavailable(#[source] BoxError),
}

impl StoreError {
    pub fn unavailable(e: impl Into<BoxError>) -> Self {
        Self::Unavailable(e.into())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Every aggregate's store: what the server and the commands hold (as `Arc<dyn Store>`).
pub trait Store:
    ClientStore
    + UserStore
    + SessionStore
    + CodeStore
    + GrantStore
    + KeyStore
    + ConsentStore
    + ImportStore
    + DeviceStore
    + RegistrationStore
    + AdminTokenStore
    + Maintenance
{
}

impl<T> Store for T where
    T: ClientStore
        + UserStore
        + SessionStore
        + CodeStore
        + GrantStore
        + KeyStore
        + ConsentStore
        + ImportStore
        + DeviceStore
        + RegistrationStore
        + AdminTokenStore
        + Maintenance
{
}

/// Every aggregate trait, for code that calls store methods on a concrete backend type
/// (`Arc<dyn Store>` needs no import).
pub mod prelude {
    pub use crate::{
        AdminTokenStore, ClientStore, CodeStore, ConsentStore, DeviceStore, GrantStore,
        ImportStore, KeyStore, Maintenance, RegistrationStore, SessionStore, Store, UserStore,
    };
}

//! The OAuth 2.0 rules of Tessera, free of IO, async, web and SQL types.
//!
//! Every decision the server makes about a request lives here: handlers extract, call a function
//! of this crate with records, the time and randomness, and persist or answer what it returns.
//! That keeps the protocol testable in milliseconds and identical on every storage backend.
//!
//! # Layout
//! - [`form`]: strict `application/x-www-form-urlencoded` parsing (duplicates, bad UTF-8, NUL).
//! - [`error`]: the RFC 6749 section 5.2 error vocabulary.
//! - [`scope`]: scope syntax (RFC 6749 section 3.3) and the server's scope policy.
//! - [`token`]: prefixed opaque tokens, their checksums and SHA-256 digests.
//! - [`client`]: registered clients, grant types, and client authentication (section 2.3).
//! - [`grant`]: grants and their tokens: issuance, refresh rotation, reuse detection, activity.
//! - [`authorize`]: authorization requests: redirect URI matching, response types, prompt.
//! - [`code`]: authorization codes: single use, bound to client, redirect URI and PKCE.
//! - [`pkce`]: RFC 7636 challenges and verification.
//! - [`token_request`]: the token endpoint's request vocabulary (section 4 and 6).
//! - [`registration`]: registering a client (command line, pages and dynamic registration
//!   alike), usernames.
//! - [`client_metadata`]: dynamic client registration (RFC 7591, RFC 7592): the metadata read
//!   from JSON, the client information answered, initial access tokens.
//! - [`device`]: the device authorization grant (RFC 8628): user codes, polling decisions.
//! - [`revocation`]: RFC 7009 decisions.
//! - [`introspection`]: RFC 7662 responses.
//! - [`oidc`]: OpenID Connect claims: ID tokens, userinfo, JWT access tokens (RFC 9068).
//! - [`password`]: Argon2id hashing for user passwords and operator-chosen client secrets.
//! - [`entropy`], [`clock`]: the injected sources of randomness and time.

pub mod authorize;
pub mod client;
pub mod client_metadata;
pub mod clock;
pub mod code;
pub mod device;
pub mod entropy;
pub mod error;
pub mod form;
pub mod grant;
pub mod introspection;
pub mod oidc;
pub mod password;
pub mod pkce;
pub mod registration;
pub mod revocation;
pub mod scope;
pub mod token;
pub mod token_request;

pub use error::{ErrorCode, OAuthError};

/// Seconds since the Unix epoch. All times in records and decisions use it, so a test can set
/// the clock to any instant.
pub type UnixTime = i64;

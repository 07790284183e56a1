//! One error type for the crate. Messages name what failed, never key material.

use crate::algorithm::Algorithm;

#[derive(Debug, thiserror::Error)]
pub enum JoseError {
    /// The token is not a compact JWS this crate accepts (parts, base64url, JSON, `crit`).
    #[error("malformed JWS: {0}")]
    Malformed(&'static str),
    /// The signature or MAC does not match the signing input.
    #[error("the signature does not verify")]
    BadSignature,
    /// An `alg` this crate does not sign or verify with, or one that needs another kind of key.
    #[error("unsupported algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// The token's header names another algorithm than the key's: refused so that a public
    /// key can never be used as an HMAC secret, nor one signature scheme for another.
    #[error("the token's algorithm {header:?} is not the key's {key}")]
    AlgorithmMismatch { header: String, key: Algorithm },
    /// A JWK that lacks a member, has one of the wrong type, or describes an unusable key.
    #[error("invalid JWK: {0}")]
    InvalidJwk(&'static str),
    /// A sealed key failed authentication: the wrong key-encryption key, a record altered, or
    /// one moved to another key id or algorithm.
    #[error("the sealed key cannot be opened (wrong key-encryption key, or altered or moved)")]
    KeyDecryption,
    /// Key bytes that do not decode: a key-encryption key of the wrong length, or an opened
    /// private key that is not one of its algorithm.
    #[error("key encoding: {0}")]
    KeyEncoding(&'static str),
    /// The RSA or ECDSA implementation failed to generate a key or to sign.
    #[error("cryptographic operation failed: {0}")]
    Crypto(&'static str),
}

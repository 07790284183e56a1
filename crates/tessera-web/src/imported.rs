//! Tokens imported from django-oauth-toolkit (`tessera import-dot`): they carry no Tessera
//! prefix, so they are looked for only once an import has run, and only when the text has
//! the shape of an oauthlib token. Tessera's own tokens keep every prefix and checksum rule:
//! text with a Tessera prefix is never looked up this way.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use tessera_core::UnixTime;
use tessera_core::grant::{TokenContext, TokenType};
use tessera_core::token::TokenDigest;
use tessera_store::StoreResult;

use crate::state::AppState;

/// Whether this store holds imported tokens, read again at most this often (seconds), so an
/// import made while nodes run reaches them without a restart.
const RECHECK_SECONDS: i64 = 30;

#[derive(Debug)]
pub struct Imports {
    known: AtomicBool,
    checked_at: AtomicI64,
}

impl Default for Imports {
    fn default() -> Self {
        Self {
            known: AtomicBool::new(false),
            checked_at: AtomicI64::new(i64::MIN),
        }
    }
}

impl Imports {
    async fn any(&self, state: &AppState, now: UnixTime) -> StoreResult<bool> {
        if self.known.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let at = self.checked_at.load(Ordering::Relaxed);
        if at != i64::MIN && now - at < RECHECK_SECONDS && now >= at {
            return Ok(false);
        }
        let any = state.store.has_imports().await?;
        self.known.store(any, Ordering::Relaxed);
        self.checked_at.store(now, Ordering::Relaxed);
        Ok(any)
    }
}

/// Whether `text` could be a token DOT issued: oauthlib's generator writes letters and digits
/// (30 by default); DOT allows up to 255 characters.
fn dot_shaped(text: &str) -> bool {
    (20..=255).contains(&text.len())
        && !text.starts_with("ts")
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

/// The imported token of `token_type` with this text, if an import brought it.
pub async fn find(
    state: &AppState,
    text: &str,
    token_type: Option<TokenType>,
) -> StoreResult<Option<TokenContext>> {
    if !dot_shaped(text) || !state.imports.any(state, state.now()).await? {
        return Ok(None);
    }
    // DOT's token_checksum is this same SHA-256 of the text.
    let digest = TokenDigest::of(text);
    let types = match token_type {
        Some(t) => vec![t],
        None => vec![TokenType::AccessToken, TokenType::RefreshToken],
    };
    for t in types {
        if let Some(found) = state.store.find_token(t, &digest).await? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_oauthlib_shaped_text_is_looked_up() {
        assert!(dot_shaped("vPqa5JzqYkXQ6oMqGH3Hq9nFEb2tDL"));
        for not in [
            "short",
            "tsat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "has space in it and is long enough",
            "eyJhbGciOiJSUzI1NiJ9.eyJ9.c2lnbmF0dXJl\u{0}",
        ] {
            assert!(!dot_shaped(not), "{not}");
        }
    }
}

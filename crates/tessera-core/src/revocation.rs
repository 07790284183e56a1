//! RFC 7009 token revocation, decided.
//!
//! The endpoint answers 200 to every authenticated client whatever the token (section 2.2), so
//! the decision only says what changes and what the audit log records.

use crate::client::Client;
use crate::grant::TokenContext;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationDecision {
    /// The client's own token: revoke its whole grant, every access and refresh token of it.
    RevokeGrant { grant_id: i64 },
    /// The client's own token, whose grant is already revoked: nothing to write.
    AlreadyRevoked { grant_id: i64 },
    /// Another client's token: left untouched (an audit event, not an error).
    NotOwner { grant_id: i64 },
    /// Not a token this server knows.
    Unknown,
}

impl RevocationDecision {
    /// The audit log's `outcome` field.
    pub fn outcome(self) -> &'static str {
        match self {
            Self::RevokeGrant { .. } => "revoked",
            Self::AlreadyRevoked { .. } => "already_revoked",
            Self::NotOwner { .. } => "not_owner",
            Self::Unknown => "unknown_token",
        }
    }
}

/// Any token of a grant the client owns revokes the grant, also an expired or already rotated
/// one: the client is saying it is done with that authorization.
pub fn decide_revocation(found: Option<&TokenContext>, client: &Client) -> RevocationDecision {
    match found {
        None => RevocationDecision::Unknown,
        Some(ctx) if ctx.client_pk != client.id => RevocationDecision::NotOwner {
            grant_id: ctx.grant_id,
        },
        Some(ctx) if ctx.grant_revoked_at.is_some() => RevocationDecision::AlreadyRevoked {
            grant_id: ctx.grant_id,
        },
        Some(ctx) => RevocationDecision::RevokeGrant {
            grant_id: ctx.grant_id,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::tests::{client, refresh_ctx};

    #[test]
    fn decisions() {
        let ctx = refresh_ctx(1);
        assert_eq!(
            decide_revocation(Some(&ctx), &client(1)),
            RevocationDecision::RevokeGrant { grant_id: 5 }
        );
        assert_eq!(
            decide_revocation(Some(&ctx), &client(2)),
            RevocationDecision::NotOwner { grant_id: 5 }
        );
        assert_eq!(
            decide_revocation(None, &client(1)),
            RevocationDecision::Unknown
        );
        let mut expired_used = ctx.clone();
        expired_used.used_at = Some(1);
        expired_used.expires_at = 0;
        assert_eq!(
            decide_revocation(Some(&expired_used), &client(1)),
            RevocationDecision::RevokeGrant { grant_id: 5 },
            "an expired or rotated token still ends its grant"
        );
        let mut revoked = ctx;
        revoked.grant_revoked_at = Some(9);
        assert_eq!(
            decide_revocation(Some(&revoked), &client(1)),
            RevocationDecision::AlreadyRevoked { grant_id: 5 }
        );
    }
}

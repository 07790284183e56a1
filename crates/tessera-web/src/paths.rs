//! Every path the server answers, defined once. The trailing slash is optional on each.

pub const AUTHORIZE: &str = "/o/authorize/";
pub const TOKEN: &str = "/o/token/";
pub const REVOKE: &str = "/o/revoke_token/";
pub const INTROSPECT: &str = "/o/introspect/";
pub const USERINFO: &str = "/o/userinfo/";
/// RFC 8414 section 3: the metadata of an issuer whose path is `/o`.
pub const AUTHORIZATION_SERVER_METADATA: &str = "/.well-known/oauth-authorization-server/o";
/// Where clients that build the metadata URL differently look too.
pub const METADATA_ALIASES: [&str; 3] = [
    AUTHORIZATION_SERVER_METADATA,
    "/.well-known/oauth-authorization-server",
    "/o/.well-known/oauth-authorization-server",
];
pub const LOGIN: &str = "/accounts/login/";
pub const LOGOUT: &str = "/accounts/logout/";
pub const APPLICATIONS: &str = "/o/applications/";
pub const APPLICATION_REGISTER: &str = "/o/applications/register/";
pub const AUTHORIZED_TOKENS: &str = "/o/authorized_tokens/";
pub const HEALTH: &str = "/health";
pub const READY: &str = "/ready";

/// The base URL the endpoints hang from: the issuer without its `/o` path.
pub fn base_of_issuer(issuer: &str) -> &str {
    let issuer = issuer.trim_end_matches('/');
    issuer.strip_suffix("/o").unwrap_or(issuer)
}

/// The absolute URL of `path` for this issuer.
pub fn endpoint(issuer: &str, path: &str) -> String {
    format!("{}{}", base_of_issuer(issuer), path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_the_issuer() {
        assert_eq!(
            endpoint("http://127.0.0.1:8000/o", TOKEN),
            "http://127.0.0.1:8000/o/token/"
        );
        assert_eq!(
            endpoint("https://auth.example.com/o/", REVOKE),
            "https://auth.example.com/o/revoke_token/"
        );
        assert_eq!(
            endpoint("https://auth.example.com", INTROSPECT),
            "https://auth.example.com/o/introspect/"
        );
    }
}

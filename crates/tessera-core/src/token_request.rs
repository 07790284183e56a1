//! The token endpoint's requests (RFC 6749 sections 4.1.3, 4.3.2, 4.4.2 and 6).

use std::fmt;

use crate::client::GrantType;
use crate::error::{ErrorCode, OAuthError};
use crate::form::Form;

/// A token request, parsed from its form. Credentials are handled apart, by
/// [`crate::client::presented_credentials`].
#[derive(Clone, PartialEq, Eq)]
pub enum TokenRequest {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    Password {
        username: String,
        password: String,
        scope: Option<String>,
    },
    ClientCredentials {
        scope: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<String>,
    },
    /// RFC 8628 section 3.4: a device polling for the user's answer.
    DeviceCode {
        device_code: String,
    },
}

/// The `grant_type` of the device authorization grant (RFC 8628 section 3.4).
pub const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.grant_type_name())
    }
}

impl TokenRequest {
    /// The `grant_type` value of the request.
    pub fn grant_type_name(&self) -> &'static str {
        match self {
            Self::AuthorizationCode { .. } => "authorization_code",
            Self::Password { .. } => "password",
            Self::ClientCredentials { .. } => "client_credentials",
            Self::RefreshToken { .. } => "refresh_token",
            Self::DeviceCode { .. } => DEVICE_CODE_GRANT_TYPE,
        }
    }

    /// The registration a client needs for this request; `None` for `refresh_token`, which
    /// is allowed to any client registered for a grant that issues refresh tokens.
    pub fn required_grant_type(&self) -> Option<GrantType> {
        match self {
            Self::AuthorizationCode { .. } => Some(GrantType::AuthorizationCode),
            Self::Password { .. } => Some(GrantType::Password),
            Self::ClientCredentials { .. } => Some(GrantType::ClientCredentials),
            Self::RefreshToken { .. } => None,
            Self::DeviceCode { .. } => Some(GrantType::DeviceCode),
        }
    }

    pub fn parse(form: &Form) -> Result<Self, OAuthError> {
        let required = |name: &'static str, msg: &'static str| {
            form.get(name)
                .map(str::to_owned)
                .ok_or_else(|| OAuthError::invalid_request(msg))
        };
        let optional = |name: &str| form.get(name).map(str::to_owned);
        let grant_type = form
            .get("grant_type")
            .ok_or_else(|| OAuthError::invalid_request("The grant_type parameter is missing."))?;
        match grant_type {
            "authorization_code" => Ok(Self::AuthorizationCode {
                code: required("code", "The code parameter is missing.")?,
                redirect_uri: optional("redirect_uri"),
                code_verifier: optional("code_verifier"),
            }),
            "password" => Ok(Self::Password {
                username: required("username", "The username parameter is missing.")?,
                password: required("password", "The password parameter is missing.")?,
                scope: optional("scope"),
            }),
            "client_credentials" => Ok(Self::ClientCredentials {
                scope: optional("scope"),
            }),
            "refresh_token" => Ok(Self::RefreshToken {
                refresh_token: required(
                    "refresh_token",
                    "The refresh_token parameter is missing.",
                )?,
                scope: optional("scope"),
            }),
            DEVICE_CODE_GRANT_TYPE => Ok(Self::DeviceCode {
                device_code: required("device_code", "The device_code parameter is missing.")?,
            }),
            _ => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "The grant type is not supported by this server.",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::parse;

    fn req(body: &str) -> Result<TokenRequest, ErrorCode> {
        TokenRequest::parse(&parse(body.as_bytes()).expect("form")).map_err(|e| e.code)
    }

    #[test]
    fn parses_each_grant() {
        assert_eq!(
            req("grant_type=client_credentials&scope=read"),
            Ok(TokenRequest::ClientCredentials {
                scope: Some("read".into())
            })
        );
        assert_eq!(
            req("grant_type=password&username=a&password=b"),
            Ok(TokenRequest::Password {
                username: "a".into(),
                password: "b".into(),
                scope: None
            })
        );
        assert_eq!(
            req("grant_type=refresh_token&refresh_token=r&scope="),
            Ok(TokenRequest::RefreshToken {
                refresh_token: "r".into(),
                scope: None
            })
        );
    }

    #[test]
    fn errors() {
        assert_eq!(req("scope=read"), Err(ErrorCode::InvalidRequest));
        assert_eq!(req("grant_type="), Err(ErrorCode::InvalidRequest));
        assert_eq!(
            req("grant_type=UNKNOWN"),
            Err(ErrorCode::UnsupportedGrantType)
        );
        assert_eq!(
            req("grant_type=password&username=a"),
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            req("grant_type=refresh_token"),
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            req("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"),
            Err(ErrorCode::InvalidRequest),
            "a poll without its device_code (DOT answers 500)"
        );
    }

    #[test]
    fn parses_a_device_poll() {
        let r = req(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=tsdc_x",
        )
        .expect("valid");
        assert_eq!(
            r,
            TokenRequest::DeviceCode {
                device_code: "tsdc_x".into()
            }
        );
        assert_eq!(r.required_grant_type(), Some(GrantType::DeviceCode));
        assert_eq!(r.grant_type_name(), DEVICE_CODE_GRANT_TYPE);
    }
}

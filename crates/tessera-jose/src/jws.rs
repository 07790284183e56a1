//! JWS compact serialization (RFC 7515 section 7.1): sign, decode without trust, verify.
//!
//! Decoding and verification are separate steps because the verifier needs the header (its
//! `kid`) and often the claims (`iss`, `client_id`) to choose the key. Nothing in
//! [`Unverified`] may be trusted until [`Unverified::verify`] or
//! [`Unverified::verify_hs256`] succeeds.

use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::algorithm::Algorithm;
use crate::b64;
use crate::error::JoseError;
use crate::key::VerifyingKey;

/// Longer tokens are refused before any decoding: no legitimate ID token, client assertion or
/// request object comes near it, and it bounds the work an anonymous caller can ask for.
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

/// The protected header members this crate reads. Others are ignored, except `crit`, which
/// is refused since no extension is understood (RFC 7515 section 4.1.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub alg: String,
    pub typ: Option<String>,
    pub kid: Option<String>,
}

/// A decoded, not yet verified, compact JWS.
#[derive(Debug, Clone)]
pub struct Unverified {
    pub header: Header,
    pub claims: Value,
    signing_input: String,
    signature: Vec<u8>,
}

#[derive(Serialize)]
struct OutHeader<'a> {
    alg: &'a str,
    typ: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

/// HS256 with `secret` as the HMAC key (OIDC Core section 10.1: the client secret's octets).
/// Header `{"alg":"HS256","typ":typ}`, no `kid`. An empty secret is refused; other length
/// policy belongs to whoever issued the secret.
pub fn sign_hs256(secret: &[u8], typ: &str, claims: &Value) -> Result<String, JoseError> {
    let mac = hmac_key(secret)?;
    sign_compact(Algorithm::HS256, typ, None, claims, |input| {
        Ok(mac
            .clone()
            .chain_update(input)
            .finalize()
            .into_bytes()
            .to_vec())
    })
}

/// Splits and parses a compact JWS without verifying it. Refuses anything but three strict
/// base64url parts, a header or payload that is not a JSON object, a header without a string
/// `alg`, `alg` `none` in any case, and `crit`.
pub fn decode(token: &str) -> Result<Unverified, JoseError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JoseError::Malformed("too long"));
    }
    let mut parts = token.split('.');
    let (Some(header_part), Some(payload_part), Some(signature_part), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JoseError::Malformed("not three dot-separated parts"));
    };
    let header = json_object(header_part, "the header is not a base64url JSON object")?;
    let claims = json_object(payload_part, "the payload is not a base64url JSON object")?;
    let signature = b64::decode(signature_part)
        .ok_or(JoseError::Malformed("the signature is not base64url"))?;

    if header.contains_key("crit") {
        return Err(JoseError::Malformed(
            "critical header extensions are not supported",
        ));
    }
    let string = |name: &str| -> Result<Option<String>, JoseError> {
        match header.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(JoseError::Malformed("a header member is not a string")),
        }
    };
    let alg = string("alg")?.ok_or(JoseError::Malformed("the header has no alg"))?;
    // An unsecured JWS must never pass for a signed one, however a later check is written.
    if alg.eq_ignore_ascii_case("none") {
        return Err(JoseError::UnsupportedAlgorithm(alg));
    }
    let header = Header {
        alg,
        typ: string("typ")?,
        kid: string("kid")?,
    };
    Ok(Unverified {
        header,
        claims: Value::Object(claims),
        signing_input: format!("{header_part}.{payload_part}"),
        signature,
    })
}

impl Unverified {
    /// Verifies with `key`. The header's `alg` must be exactly the key's algorithm, so a token
    /// cannot choose how it is checked (no HS256 with a public key as secret, no downgrade).
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), JoseError> {
        self.expect_alg(key.algorithm())?;
        key.verify_bytes(self.signing_input.as_bytes(), &self.signature)
    }

    /// Verifies an HS256 token with `secret`; the MAC is compared in constant time.
    pub fn verify_hs256(&self, secret: &[u8]) -> Result<(), JoseError> {
        self.expect_alg(Algorithm::HS256)?;
        hmac_key(secret)?
            .chain_update(self.signing_input.as_bytes())
            .verify_slice(&self.signature)
            .map_err(|_| JoseError::BadSignature)
    }

    fn expect_alg(&self, alg: Algorithm) -> Result<(), JoseError> {
        if self.header.alg == alg.as_str() {
            Ok(())
        } else {
            Err(JoseError::AlgorithmMismatch {
                header: self.header.alg.clone(),
                key: alg,
            })
        }
    }
}

/// `header.payload.signature`, each base64url. Claims must be a JSON object, as a JWT's are
/// (RFC 7519 section 7.2), so that [`decode`] accepts every token signed here.
pub(crate) fn sign_compact(
    alg: Algorithm,
    typ: &str,
    kid: Option<&str>,
    claims: &Value,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, JoseError>,
) -> Result<String, JoseError> {
    if !claims.is_object() {
        return Err(JoseError::Malformed("the claims are not a JSON object"));
    }
    let header = OutHeader {
        alg: alg.as_str(),
        typ,
        kid,
    };
    let header = serde_json::to_vec(&header)
        .map_err(|_| JoseError::Malformed("the header does not serialize"))?;
    let payload = serde_json::to_vec(claims)
        .map_err(|_| JoseError::Malformed("the claims do not serialize"))?;
    let mut token = format!("{}.{}", b64::encode(header), b64::encode(payload));
    let signature = sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&b64::encode(signature));
    Ok(token)
}

fn hmac_key(secret: &[u8]) -> Result<Hmac<Sha256>, JoseError> {
    if secret.is_empty() {
        return Err(JoseError::KeyEncoding("an HMAC secret must not be empty"));
    }
    // HMAC takes keys of any length; the error is unreachable but typed.
    Hmac::<Sha256>::new_from_slice(secret)
        .map_err(|_| JoseError::KeyEncoding("unusable HMAC secret"))
}

fn json_object(part: &str, problem: &'static str) -> Result<Map<String, Value>, JoseError> {
    let bytes = b64::decode(part).ok_or(JoseError::Malformed(problem))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(JoseError::Malformed(problem)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys::key;
    use proptest::prelude::*;
    use serde_json::json;

    const SECRET: &[u8] = b"a client secret of thirty-two or more bytes";

    fn claims() -> Value {
        json!({"iss": "client", "sub": "client", "aud": "https://op.example/token", "jti": "1"})
    }

    fn token(header: &str, payload: &str, signature: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            b64::encode(header),
            b64::encode(payload),
            b64::encode(signature)
        )
    }

    #[test]
    fn hs256_round_trip_with_a_secret() {
        let token = sign_hs256(SECRET, "JWT", &claims()).expect("signs");
        let decoded = decode(&token).expect("decodes");
        assert_eq!(
            decoded.header,
            Header {
                alg: "HS256".into(),
                typ: Some("JWT".into()),
                kid: None,
            }
        );
        assert_eq!(decoded.claims, claims());
        decoded.verify_hs256(SECRET).expect("verifies");

        let err = decoded.verify_hs256(b"another secret");
        assert!(matches!(err, Err(JoseError::BadSignature)), "{err:?}");
        let err = decoded.verify_hs256(&SECRET[..SECRET.len() - 1]);
        assert!(matches!(err, Err(JoseError::BadSignature)), "{err:?}");
    }

    #[test]
    fn hs256_refuses_an_empty_secret() {
        assert!(sign_hs256(b"", "JWT", &claims()).is_err());
        let token = sign_hs256(SECRET, "JWT", &claims()).expect("signs");
        assert!(decode(&token).expect("decodes").verify_hs256(b"").is_err());
    }

    /// The classic confusion: an HS256 token "signed" with the server's public key as the
    /// HMAC secret must not pass against that public key.
    #[test]
    fn verify_refuses_a_header_alg_other_than_the_keys() {
        let rsa = key(Algorithm::RS256);
        let public_jwk = serde_json::to_vec(&rsa.public_jwk()).expect("serializes");
        let forged = sign_hs256(&public_jwk, "JWT", &claims()).expect("signs");
        let err = decode(&forged)
            .expect("decodes")
            .verify(&rsa.verifying_key());
        assert!(
            matches!(&err, Err(JoseError::AlgorithmMismatch { header, key: Algorithm::RS256 }) if header == "HS256"),
            "{err:?}"
        );

        // A valid ES256 token relabelled RS256 is refused too, before any RSA arithmetic.
        let es = key(Algorithm::ES256).sign("JWT", &claims()).expect("signs");
        let err = decode(&es).expect("decodes").verify(&rsa.verifying_key());
        assert!(
            matches!(err, Err(JoseError::AlgorithmMismatch { .. })),
            "{err:?}"
        );

        // And an asymmetric token is never checked as HS256.
        let rs = rsa.sign("JWT", &claims()).expect("signs");
        let err = decode(&rs).expect("decodes").verify_hs256(SECRET);
        assert!(
            matches!(err, Err(JoseError::AlgorithmMismatch { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn decode_refuses_alg_none_in_any_case() {
        for alg in ["none", "None", "NONE"] {
            let unsecured = token(&format!(r#"{{"alg":"{alg}"}}"#), r#"{"sub":"a"}"#, b"");
            let err = decode(&unsecured);
            assert!(
                matches!(err, Err(JoseError::UnsupportedAlgorithm(_))),
                "{alg}: {err:?}"
            );
        }
    }

    #[test]
    fn decode_refuses_malformed_tokens() {
        let good = sign_hs256(SECRET, "JWT", &claims()).expect("signs");
        let parts: Vec<&str> = good.split('.').collect();
        let malformed = [
            String::new(),
            ".".into(),
            "..".into(),
            "...".into(),
            format!("{}.{}", parts[0], parts[1]),
            format!("{good}."),
            format!("{good}.{}", parts[2]),
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            format!("{}.{}.{}=", parts[0], parts[1], parts[2]),
            format!("{}.{}+.{}", parts[0], parts[1], parts[2]),
            format!(" {good}"),
            token("not json", r#"{"sub":"a"}"#, b"sig"),
            token(r#"{"alg":"HS256"}"#, "not json", b"sig"),
            token(r#"["HS256"]"#, r#"{"sub":"a"}"#, b"sig"),
            token(r#"{"alg":"HS256"}"#, r#"["a"]"#, b"sig"),
            token(r#"{"alg":"HS256"}"#, r#""a string""#, b"sig"),
            token(r#"{"typ":"JWT"}"#, r#"{"sub":"a"}"#, b"sig"),
            token(r#"{"alg":256}"#, r#"{"sub":"a"}"#, b"sig"),
            token(r#"{"alg":"HS256","kid":1}"#, r#"{"sub":"a"}"#, b"sig"),
            token(
                r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
                r#"{"sub":"a"}"#,
                b"sig",
            ),
            "a".repeat(MAX_TOKEN_LEN + 1),
        ];
        for text in malformed {
            assert!(decode(&text).is_err(), "{text:?}");
        }
        assert!(decode(&good).is_ok());
    }

    #[test]
    fn signing_refuses_claims_that_are_not_an_object() {
        assert!(sign_hs256(SECRET, "JWT", &json!(["a"])).is_err());
        assert!(key(Algorithm::EdDSA).sign("JWT", &json!("a")).is_err());
    }

    #[test]
    fn the_header_carries_alg_typ_and_kid() {
        let token = key(Algorithm::EdDSA)
            .sign("at+jwt", &claims())
            .expect("signs");
        let header: Value = serde_json::from_slice(
            &b64::decode(token.split('.').next().expect("a part")).expect("decodes"),
        )
        .expect("JSON");
        assert_eq!(
            header,
            json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "EdDSA-test"})
        );
    }

    proptest! {
        #[test]
        fn decode_never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
            let _ = decode(&text);
        }

        #[test]
        fn decode_and_verify_never_panic_on_three_arbitrary_parts(
            header in proptest::collection::vec(any::<u8>(), 0..64),
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            signature in proptest::collection::vec(any::<u8>(), 0..300),
            alg in prop::sample::select(vec!["RS256", "ES256", "EdDSA", "HS256", "none", "x"]),
        ) {
            // Arbitrary bytes, and well-formed JSON around arbitrary signatures, so that the
            // verifiers see garbage too and not only the parser.
            let headers = [header, format!(r#"{{"alg":"{alg}"}}"#).into_bytes()];
            let payloads = [payload, b"{}".to_vec()];
            for (header, payload) in headers.iter().flat_map(|h| payloads.iter().map(move |p| (h, p))) {
                let text = format!(
                    "{}.{}.{}",
                    b64::encode(header),
                    b64::encode(payload),
                    b64::encode(&signature)
                );
                if let Ok(unverified) = decode(&text) {
                    for alg in Algorithm::ASYMMETRIC {
                        prop_assert!(unverified.verify(&key(alg).verifying_key()).is_err());
                    }
                    prop_assert!(unverified.verify_hs256(SECRET).is_err());
                }
            }
        }
    }
}

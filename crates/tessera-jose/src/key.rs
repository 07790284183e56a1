//! Asymmetric signing keys: generated from injected entropy, sealed under the KEK for storage,
//! published as JWKs, and read back from JWKs for verification.
//!
//! Sealed plaintexts, by algorithm (what [`SigningKey::seal`] encrypts):
//! - RS256: the private key as PKCS#8 DER (RFC 5208), the format other tools read;
//! - ES256: the 32-byte big-endian P-256 scalar (SEC 1 section 2.3.7);
//! - EdDSA: the 32-byte Ed25519 seed (RFC 8032 section 5.1.5).
//!
//! The sealed record is `version || nonce || ciphertext`: version 1, a 96-bit random nonce,
//! AES-256-GCM output with its tag. The additional data binds the version, the algorithm and the
//! key id, so a sealed blob copied onto another key's row refuses to open instead of signing
//! under the wrong identity.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use p256::elliptic_curve::Generate;
use rsa::BoxedUint;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::signature::{Keypair, SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::Sha256;
use tessera_core::entropy::Entropy;
use zeroize::Zeroizing;

use crate::algorithm::Algorithm;
use crate::b64;
use crate::error::JoseError;
use crate::kek::Kek;
use crate::rng::EntropyRng;

/// RSA modulus size of generated keys: RFC 7518 section 3.3's minimum, and what relying
/// parties expect. Verification accepts 2048 to 8192 bits.
const RSA_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 8192;

const SEAL_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// A private signing key with its key id. `Debug` shows the kid and algorithm only.
pub struct SigningKey {
    kid: String,
    private: PrivateKey,
}

enum PrivateKey {
    Rs256(Box<rsa::pkcs1v15::SigningKey<Sha256>>),
    Es256(p256::ecdsa::SigningKey),
    EdDsa(ed25519_dalek::SigningKey),
}

impl SigningKey {
    /// RS256: RSA 2048; ES256: P-256; EdDSA: Ed25519. HS256 keys are client secrets, never
    /// generated here.
    pub fn generate(
        alg: Algorithm,
        kid: String,
        entropy: &dyn Entropy,
    ) -> Result<SigningKey, JoseError> {
        let private = match alg {
            Algorithm::RS256 => {
                let key = rsa::PrivateKey::new(&mut EntropyRng(entropy), RSA_BITS)
                    .map_err(|_| JoseError::Crypto("RSA key generation failed"))?;
                PrivateKey::Rs256(Box::new(rsa::pkcs1v15::SigningKey::new(key)))
            }
            Algorithm::ES256 => PrivateKey::Es256(p256::ecdsa::SigningKey::generate_from_rng(
                &mut EntropyRng(entropy),
            )),
            Algorithm::EdDSA => {
                // Every 32-byte string is a valid Ed25519 seed (RFC 8032 section 5.1.5).
                let mut seed = Zeroizing::new([0u8; 32]);
                entropy.fill(seed.as_mut());
                PrivateKey::EdDsa(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
            Algorithm::HS256 => return Err(JoseError::UnsupportedAlgorithm(alg.to_string())),
        };
        Ok(SigningKey { kid, private })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn algorithm(&self) -> Algorithm {
        match self.private {
            PrivateKey::Rs256(_) => Algorithm::RS256,
            PrivateKey::Es256(_) => Algorithm::ES256,
            PrivateKey::EdDsa(_) => Algorithm::EdDSA,
        }
    }

    /// The private key encrypted under `kek` for storage (format in the module docs). A fresh
    /// random nonce each time: a 96-bit nonce repeats with negligible probability over the few
    /// keys a server ever seals.
    pub fn seal(&self, kek: &Kek, entropy: &dyn Entropy) -> Result<Vec<u8>, JoseError> {
        let plaintext: Zeroizing<Vec<u8>> = match &self.private {
            PrivateKey::Rs256(key) => Zeroizing::new(
                key.to_pkcs8_der()
                    .map_err(|_| JoseError::KeyEncoding("cannot encode the RSA key as PKCS#8"))?
                    .as_bytes()
                    .to_vec(),
            ),
            PrivateKey::Es256(key) => Zeroizing::new(key.to_bytes().to_vec()),
            PrivateKey::EdDsa(key) => Zeroizing::new(key.to_bytes().to_vec()),
        };
        let mut nonce = [0u8; NONCE_LEN];
        entropy.fill(&mut nonce);
        let aad = seal_aad(&self.kid, self.algorithm());
        let ciphertext = cipher(kek)
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| JoseError::Crypto("AES-GCM sealing failed"))?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(SEAL_VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Opens what [`SigningKey::seal`] produced, for the same `kid` and `alg` only.
    pub fn open(
        kid: &str,
        alg: Algorithm,
        sealed: &[u8],
        kek: &Kek,
    ) -> Result<SigningKey, JoseError> {
        if alg == Algorithm::HS256 {
            return Err(JoseError::UnsupportedAlgorithm(alg.to_string()));
        }
        let (&version, rest) = sealed.split_first().ok_or(JoseError::KeyDecryption)?;
        if version != SEAL_VERSION {
            return Err(JoseError::KeyEncoding("unknown sealed-key format version"));
        }
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(JoseError::KeyDecryption);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| JoseError::KeyDecryption)?;
        let aad = seal_aad(kid, alg);
        let plaintext = Zeroizing::new(
            cipher(kek)
                .decrypt(
                    &Nonce::from(nonce),
                    Payload {
                        msg: ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| JoseError::KeyDecryption)?,
        );
        let private = match alg {
            Algorithm::RS256 => {
                let key = rsa::PrivateKey::from_pkcs8_der(&plaintext)
                    .map_err(|_| JoseError::KeyEncoding("the sealed RSA key is not PKCS#8"))?;
                PrivateKey::Rs256(Box::new(rsa::pkcs1v15::SigningKey::new(key)))
            }
            Algorithm::ES256 => PrivateKey::Es256(
                p256::ecdsa::SigningKey::from_slice(&plaintext)
                    .map_err(|_| JoseError::KeyEncoding("the sealed key is not a P-256 scalar"))?,
            ),
            Algorithm::EdDSA => {
                let seed: &[u8; 32] = plaintext
                    .as_slice()
                    .try_into()
                    .map_err(|_| JoseError::KeyEncoding("the sealed key is not an Ed25519 seed"))?;
                PrivateKey::EdDsa(ed25519_dalek::SigningKey::from_bytes(seed))
            }
            Algorithm::HS256 => return Err(JoseError::UnsupportedAlgorithm(alg.to_string())),
        };
        Ok(SigningKey {
            kid: kid.to_owned(),
            private,
        })
    }

    /// The public half as a JWK, ready for the JWKS document.
    pub fn public_jwk(&self) -> Value {
        self.verifying_key().to_jwk()
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        let public = match &self.private {
            PrivateKey::Rs256(key) => PublicKey::Rs256(key.verifying_key()),
            PrivateKey::Es256(key) => PublicKey::Es256(*key.verifying_key()),
            PrivateKey::EdDsa(key) => PublicKey::EdDsa(key.verifying_key()),
        };
        VerifyingKey {
            kid: self.kid.clone(),
            public,
        }
    }

    /// A compact JWS of `claims` with header `{"alg", "typ", "kid"}`.
    pub fn sign(&self, typ: &str, claims: &Value) -> Result<String, JoseError> {
        crate::jws::sign_compact(self.algorithm(), typ, Some(&self.kid), claims, |input| {
            self.sign_bytes(input)
        })
    }

    /// The raw JWS signature of `input`: PKCS#1 v1.5, fixed-size `r || s`, or Ed25519's 64
    /// bytes. RSA signs without blinding (no entropy reaches this call); rsa 0.10's private
    /// operation runs in constant time, which is what closed RUSTSEC-2023-0071. ECDSA nonces
    /// are deterministic (RFC 6979), so no entropy is needed there either.
    fn sign_bytes(&self, input: &[u8]) -> Result<Vec<u8>, JoseError> {
        match &self.private {
            PrivateKey::Rs256(key) => {
                let signature: rsa::pkcs1v15::Signature = key
                    .try_sign(input)
                    .map_err(|_| JoseError::Crypto("RSA signing failed"))?;
                Ok(signature.to_vec())
            }
            PrivateKey::Es256(key) => {
                let signature: p256::ecdsa::Signature = key
                    .try_sign(input)
                    .map_err(|_| JoseError::Crypto("ECDSA signing failed"))?;
                Ok(signature.to_bytes().to_vec())
            }
            PrivateKey::EdDsa(key) => Ok(key.sign(input).to_bytes().to_vec()),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.algorithm())
            .finish_non_exhaustive()
    }
}

fn cipher(kek: &Kek) -> Aes256Gcm {
    let key: &Key<Aes256Gcm> = kek.bytes().into();
    Aes256Gcm::new(key)
}

/// Version, then the algorithm name (which has no NUL), a NUL, then the kid: no two
/// (alg, kid) pairs give the same bytes.
fn seal_aad(kid: &str, alg: Algorithm) -> Vec<u8> {
    let mut aad = Vec::with_capacity(1 + 6 + 1 + kid.len());
    aad.push(SEAL_VERSION);
    aad.extend_from_slice(alg.as_str().as_bytes());
    aad.push(0);
    aad.extend_from_slice(kid.as_bytes());
    aad
}

/// `{"keys": [...]}` (RFC 7517 section 5): the public JWKs of `keys`, in order.
pub fn jwks<'a>(keys: impl IntoIterator<Item = &'a SigningKey>) -> Value {
    let keys: Vec<Value> = keys.into_iter().map(SigningKey::public_jwk).collect();
    json!({ "keys": keys })
}

/// A public key with its key id, as published in a JWK, for verification.
#[derive(Clone, Debug)]
pub struct VerifyingKey {
    kid: String,
    public: PublicKey,
}

#[derive(Clone, Debug)]
enum PublicKey {
    Rs256(rsa::pkcs1v15::VerifyingKey<Sha256>),
    Es256(p256::ecdsa::VerifyingKey),
    EdDsa(ed25519_dalek::VerifyingKey),
}

impl VerifyingKey {
    /// Reads a public JWK (RFC 7517; RFC 7518 section 6 for RSA and EC, RFC 8037 for OKP).
    /// `alg`, when present, must agree with `kty` and `crv`; when absent it follows from them.
    /// A missing `kid` reads as the empty string. A JWK whose `use` is not `sig` is refused.
    /// Private members, if any, are ignored.
    pub fn from_jwk(jwk: &Value) -> Result<VerifyingKey, JoseError> {
        let object = jwk
            .as_object()
            .ok_or(JoseError::InvalidJwk("not a JSON object"))?;
        let member = |name: &'static str| -> Result<Option<&str>, JoseError> {
            match object.get(name) {
                None => Ok(None),
                Some(Value::String(text)) => Ok(Some(text)),
                Some(_) => Err(JoseError::InvalidJwk("a member is not a string")),
            }
        };
        let required = |name: &'static str| -> Result<&str, JoseError> {
            member(name)?.ok_or(JoseError::InvalidJwk("a required member is missing"))
        };
        let bytes = |name: &'static str| -> Result<Vec<u8>, JoseError> {
            b64::decode(required(name)?).ok_or(JoseError::InvalidJwk("a member is not base64url"))
        };

        if member("use")?.is_some_and(|usage| usage != "sig") {
            return Err(JoseError::InvalidJwk("the key is not for signatures"));
        }
        let kty = required("kty")?;
        let alg = match member("alg")? {
            Some(name) => Algorithm::parse(name)
                .ok_or_else(|| JoseError::UnsupportedAlgorithm(name.to_owned()))?,
            None => match kty {
                "RSA" => Algorithm::RS256,
                "EC" => Algorithm::ES256,
                "OKP" => Algorithm::EdDSA,
                "oct" => Algorithm::HS256,
                _ => return Err(JoseError::InvalidJwk("unknown kty")),
            },
        };
        let public = match (alg, kty) {
            (Algorithm::RS256, "RSA") => {
                let n = bytes("n")?;
                let e = bytes("e")?;
                PublicKey::Rs256(rsa::pkcs1v15::VerifyingKey::new(rsa_public_key(&n, &e)?))
            }
            (Algorithm::ES256, "EC") => {
                if required("crv")? != "P-256" {
                    return Err(JoseError::InvalidJwk("ES256 needs crv P-256"));
                }
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(JoseError::InvalidJwk("P-256 coordinates are 32 bytes"));
                }
                let mut sec1 = Vec::with_capacity(65);
                sec1.push(0x04);
                sec1.extend_from_slice(&x);
                sec1.extend_from_slice(&y);
                PublicKey::Es256(
                    p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                        .map_err(|_| JoseError::InvalidJwk("not a point on P-256"))?,
                )
            }
            (Algorithm::EdDSA, "OKP") => {
                if required("crv")? != "Ed25519" {
                    return Err(JoseError::InvalidJwk("EdDSA needs crv Ed25519"));
                }
                let x: [u8; 32] = bytes("x")?
                    .try_into()
                    .map_err(|_| JoseError::InvalidJwk("an Ed25519 key is 32 bytes"))?;
                PublicKey::EdDsa(
                    ed25519_dalek::VerifyingKey::from_bytes(&x)
                        .map_err(|_| JoseError::InvalidJwk("not an Ed25519 point"))?,
                )
            }
            (Algorithm::HS256, _) | (_, "oct") => {
                return Err(JoseError::UnsupportedAlgorithm(
                    Algorithm::HS256.to_string(),
                ));
            }
            _ => return Err(JoseError::InvalidJwk("kty does not match alg")),
        };
        Ok(VerifyingKey {
            kid: member("kid")?.unwrap_or_default().to_owned(),
            public,
        })
    }

    /// The public JWK: `kty`, `kid`, `use: sig`, `alg` and the key's members, base64url.
    pub fn to_jwk(&self) -> Value {
        let (kid, alg) = (self.kid.as_str(), self.algorithm().as_str());
        match &self.public {
            PublicKey::Rs256(key) => {
                let key: &rsa::PublicKey = key.as_ref();
                json!({
                    "kty": "RSA", "kid": kid, "use": "sig", "alg": alg,
                    "n": b64::encode(key.n_bytes()),
                    "e": b64::encode(key.e_bytes()),
                })
            }
            PublicKey::Es256(key) => {
                // Uncompressed, both coordinates are present (a verifying key is never the
                // identity, the one point without them).
                let point = key.to_sec1_point(false);
                let coordinate = |c: Option<&[u8]>| c.map(b64::encode).unwrap_or_default();
                json!({
                    "kty": "EC", "kid": kid, "use": "sig", "alg": alg, "crv": "P-256",
                    "x": coordinate(point.x().map(|x| x.as_slice())),
                    "y": coordinate(point.y().map(|y| y.as_slice())),
                })
            }
            PublicKey::EdDsa(key) => json!({
                "kty": "OKP", "kid": kid, "use": "sig", "alg": alg,
                "crv": "Ed25519", "x": b64::encode(key.as_bytes()),
            }),
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn algorithm(&self) -> Algorithm {
        match self.public {
            PublicKey::Rs256(_) => Algorithm::RS256,
            PublicKey::Es256(_) => Algorithm::ES256,
            PublicKey::EdDsa(_) => Algorithm::EdDSA,
        }
    }

    /// Checks a raw JWS signature over `input`. The caller has already matched the header's
    /// `alg` to this key.
    pub(crate) fn verify_bytes(&self, input: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        let verified = match &self.public {
            PublicKey::Rs256(key) => rsa::pkcs1v15::Signature::try_from(signature)
                .and_then(|signature| key.verify(input, &signature)),
            // JOSE's fixed r || s form only (RFC 7518 section 3.4), never DER.
            PublicKey::Es256(key) if signature.len() == 64 => {
                p256::ecdsa::Signature::from_slice(signature)
                    .and_then(|signature| key.verify(input, &signature))
            }
            PublicKey::Es256(_) => return Err(JoseError::BadSignature),
            // Strict: refuses small-order keys and non-canonical signatures (malleability).
            PublicKey::EdDsa(key) => ed25519_dalek::Signature::from_slice(signature)
                .and_then(|signature| key.verify_strict(input, &signature)),
        };
        verified.map_err(|_| JoseError::BadSignature)
    }
}

/// An RSA public key from JWK `n` and `e` (unsigned big-endian), 2048 to 8192 bits. Leading
/// zero octets, which RFC 7518 forbids but some encoders emit, are tolerated.
fn rsa_public_key(n: &[u8], e: &[u8]) -> Result<rsa::PublicKey, JoseError> {
    let strip =
        |bytes: &[u8]| -> Vec<u8> { bytes.iter().copied().skip_while(|&b| b == 0).collect() };
    let (n, e) = (strip(n), strip(e));
    // Bound the sizes before allocating big integers from untrusted input.
    if n.is_empty() || n.len() > RSA_MAX_BITS / 8 || e.is_empty() || e.len() > 8 {
        return Err(JoseError::InvalidJwk(
            "RSA modulus or exponent out of range",
        ));
    }
    rsa::PublicKey::new_with_size_limits(
        BoxedUint::from_be_slice_vartime(&n),
        BoxedUint::from_be_slice_vartime(&e),
        RSA_BITS..=RSA_MAX_BITS,
    )
    .map_err(|_| JoseError::InvalidJwk("not a usable RSA public key"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jws;
    use crate::test_keys::key;
    use tessera_core::entropy::SeededEntropy;

    fn claims() -> Value {
        json!({"iss": "https://op.example", "sub": "alice", "aud": "rp", "exp": 1_900_000_000})
    }

    #[test]
    fn sign_then_verify_with_the_published_jwk_for_each_algorithm() {
        for alg in Algorithm::ASYMMETRIC {
            let key = key(alg);
            let token = key.sign("JWT", &claims()).expect("signs");
            let verifying = VerifyingKey::from_jwk(&key.public_jwk()).expect("a valid JWK");
            assert_eq!(verifying.algorithm(), alg);
            assert_eq!(verifying.kid(), key.kid());
            let decoded = jws::decode(&token).expect("decodes");
            decoded.verify(&verifying).expect("verifies");
            assert_eq!(decoded.claims, claims());
            assert_eq!(
                decoded.header,
                jws::Header {
                    alg: alg.as_str().to_owned(),
                    typ: Some("JWT".to_owned()),
                    kid: Some(key.kid().to_owned()),
                }
            );
        }
    }

    #[test]
    fn a_tampered_payload_or_signature_fails_for_each_algorithm() {
        for alg in Algorithm::ASYMMETRIC {
            let key = key(alg);
            let verifying = key.verifying_key();
            let token = key.sign("JWT", &claims()).expect("signs");
            let parts: Vec<&str> = token.split('.').collect();

            let forged = b64::encode(br#"{"sub":"mallory"}"#);
            let other_payload = format!("{}.{forged}.{}", parts[0], parts[2]);
            let err = jws::decode(&other_payload)
                .expect("decodes")
                .verify(&verifying);
            assert!(
                matches!(err, Err(JoseError::BadSignature)),
                "{alg}: {err:?}"
            );

            let mut signature = b64::decode(parts[2]).expect("decodes");
            signature[10] ^= 1;
            let other_signature = format!("{}.{}.{}", parts[0], parts[1], b64::encode(&signature));
            let err = jws::decode(&other_signature)
                .expect("decodes")
                .verify(&verifying);
            assert!(
                matches!(err, Err(JoseError::BadSignature)),
                "{alg}: {err:?}"
            );

            let truncated = format!(
                "{}.{}.{}",
                parts[0],
                parts[1],
                b64::encode(&signature[..32])
            );
            let err = jws::decode(&truncated).expect("decodes").verify(&verifying);
            assert!(
                matches!(err, Err(JoseError::BadSignature)),
                "{alg}: {err:?}"
            );
        }
    }

    #[test]
    fn a_key_does_not_verify_another_keys_signature() {
        let other = SigningKey::generate(Algorithm::ES256, "other".into(), &SeededEntropy::new(7))
            .expect("generates");
        let token = other.sign("JWT", &claims()).expect("signs");
        let err = jws::decode(&token)
            .expect("decodes")
            .verify(&key(Algorithm::ES256).verifying_key());
        assert!(matches!(err, Err(JoseError::BadSignature)), "{err:?}");
    }

    #[test]
    fn es256_signatures_are_the_fixed_64_byte_form() {
        let token = key(Algorithm::ES256).sign("JWT", &claims()).expect("signs");
        let signature = b64::decode(token.rsplit('.').next().expect("a part")).expect("decodes");
        assert_eq!(signature.len(), 64);
        // A DER encoding of the same signature is refused.
        let (r, s) = signature.split_at(32);
        let der_int = |v: &[u8]| {
            let mut out = vec![0x02, 33, 0];
            out.extend_from_slice(v);
            out
        };
        let mut der = vec![0x30, 70];
        der.extend(der_int(r));
        der.extend(der_int(s));
        let (input, _) = token.rsplit_once('.').expect("a compact JWS");
        let der_token = format!("{input}.{}", b64::encode(&der));
        let err = jws::decode(&der_token)
            .expect("decodes")
            .verify(&key(Algorithm::ES256).verifying_key());
        assert!(matches!(err, Err(JoseError::BadSignature)), "{err:?}");
    }

    #[test]
    fn rs256_signatures_are_as_long_as_the_2048_bit_modulus() {
        let token = key(Algorithm::RS256).sign("JWT", &claims()).expect("signs");
        let signature = b64::decode(token.rsplit('.').next().expect("a part")).expect("decodes");
        assert_eq!(signature.len(), 256);
    }

    #[test]
    fn public_jwks_have_the_members_relying_parties_read() {
        let rsa = key(Algorithm::RS256).public_jwk();
        assert_eq!(rsa["kty"], "RSA");
        assert_eq!(rsa["e"], "AQAB");
        assert_eq!(
            b64::decode(rsa["n"].as_str().expect("a string member"))
                .expect("decodes")
                .len(),
            256
        );
        assert_eq!(rsa["use"], "sig");
        assert_eq!(rsa["alg"], "RS256");
        assert_eq!(rsa["kid"], "RS256-test");

        let ec = key(Algorithm::ES256).public_jwk();
        assert_eq!(
            (&ec["kty"], &ec["crv"], &ec["alg"]),
            (&json!("EC"), &json!("P-256"), &json!("ES256"))
        );
        assert_eq!(
            b64::decode(ec["x"].as_str().expect("a string member"))
                .expect("decodes")
                .len(),
            32
        );
        assert_eq!(
            b64::decode(ec["y"].as_str().expect("a string member"))
                .expect("decodes")
                .len(),
            32
        );

        let okp = key(Algorithm::EdDSA).public_jwk();
        assert_eq!(
            (&okp["kty"], &okp["crv"], &okp["alg"]),
            (&json!("OKP"), &json!("Ed25519"), &json!("EdDSA"))
        );
        assert_eq!(
            b64::decode(okp["x"].as_str().expect("a string member"))
                .expect("decodes")
                .len(),
            32
        );

        for jwk in [rsa, ec, okp] {
            assert!(jwk.get("d").is_none(), "no private member is published");
            assert_eq!(
                VerifyingKey::from_jwk(&jwk).expect("a valid JWK").to_jwk(),
                jwk
            );
        }
    }

    #[test]
    fn jwks_lists_every_key_in_order() {
        let keys: Vec<&SigningKey> = Algorithm::ASYMMETRIC.iter().map(|&a| key(a)).collect();
        let set = jwks(keys.iter().copied());
        let kids: Vec<&str> = set["keys"]
            .as_array()
            .expect("an array")
            .iter()
            .map(|k| k["kid"].as_str().expect("a string member"))
            .collect();
        assert_eq!(kids, ["RS256-test", "ES256-test", "EdDSA-test"]);
    }

    #[test]
    fn generation_draws_only_on_the_injected_entropy() {
        for alg in [Algorithm::ES256, Algorithm::EdDSA] {
            let a =
                SigningKey::generate(alg, "k".into(), &SeededEntropy::new(3)).expect("generates");
            let b =
                SigningKey::generate(alg, "k".into(), &SeededEntropy::new(3)).expect("generates");
            let c =
                SigningKey::generate(alg, "k".into(), &SeededEntropy::new(4)).expect("generates");
            assert_eq!(a.public_jwk(), b.public_jwk());
            assert_ne!(a.public_jwk(), c.public_jwk());
        }
    }

    #[test]
    fn hs256_keys_are_not_generated_or_opened() {
        let err = SigningKey::generate(Algorithm::HS256, "h".into(), &SeededEntropy::new(1));
        assert!(
            matches!(err, Err(JoseError::UnsupportedAlgorithm(_))),
            "{err:?}"
        );
        let kek = Kek::generate(&SeededEntropy::new(1));
        let sealed = key(Algorithm::ES256)
            .seal(&kek, &SeededEntropy::new(2))
            .expect("seals");
        let err = SigningKey::open("ES256-test", Algorithm::HS256, &sealed, &kek);
        assert!(
            matches!(err, Err(JoseError::UnsupportedAlgorithm(_))),
            "{err:?}"
        );
    }

    #[test]
    fn seal_then_open_gives_back_the_same_key() {
        let kek = Kek::generate(&SeededEntropy::new(10));
        for alg in Algorithm::ASYMMETRIC {
            let key = key(alg);
            let sealed = key.seal(&kek, &SeededEntropy::new(13)).expect("seals");
            assert_eq!(sealed[0], SEAL_VERSION);
            let opened = SigningKey::open(key.kid(), alg, &sealed, &kek).expect("opens");
            assert_eq!(opened.kid(), key.kid());
            assert_eq!(opened.algorithm(), alg);
            assert_eq!(opened.public_jwk(), key.public_jwk());
            // The opened private key signs what the original's public key accepts.
            let token = opened.sign("JWT", &claims()).expect("signs");
            jws::decode(&token)
                .expect("decodes")
                .verify(&key.verifying_key())
                .expect("verifies");
        }
    }

    #[test]
    fn sealing_twice_uses_fresh_nonces_and_hides_the_key() {
        let kek = Kek::generate(&SeededEntropy::new(10));
        let entropy = SeededEntropy::new(12);
        let key = key(Algorithm::EdDSA);
        let first = key.seal(&kek, &entropy).expect("seals");
        let second = key.seal(&kek, &entropy).expect("seals");
        assert_ne!(first[1..1 + NONCE_LEN], second[1..1 + NONCE_LEN]);
        assert_ne!(first, second);
        let PrivateKey::EdDsa(private) = &key.private else {
            unreachable!()
        };
        let seed = private.to_bytes();
        assert!(!first.windows(32).any(|w| w == seed));
        assert_eq!(first.len(), 1 + NONCE_LEN + 32 + TAG_LEN);
    }

    #[test]
    fn open_with_another_kek_fails() {
        // SeededEntropy sets the seed's low bit: 20 and 21 would be the same generator.
        let kek = Kek::generate(&SeededEntropy::new(20));
        let other = Kek::generate(&SeededEntropy::new(22));
        assert_ne!(kek.fingerprint(), other.fingerprint());
        for alg in Algorithm::ASYMMETRIC {
            let sealed = key(alg).seal(&kek, &SeededEntropy::new(24)).expect("seals");
            let err = SigningKey::open(key(alg).kid(), alg, &sealed, &other);
            assert!(
                matches!(err, Err(JoseError::KeyDecryption)),
                "{alg}: {err:?}"
            );
        }
    }

    #[test]
    fn open_under_another_kid_or_algorithm_fails() {
        let kek = Kek::generate(&SeededEntropy::new(30));
        let key = key(Algorithm::ES256);
        let sealed = key.seal(&kek, &SeededEntropy::new(33)).expect("seals");
        for (kid, alg) in [
            ("ES256-tesT", Algorithm::ES256),
            ("ES256-test ", Algorithm::ES256),
            ("", Algorithm::ES256),
            ("ES256-test", Algorithm::EdDSA),
            ("ES256-test", Algorithm::RS256),
        ] {
            let err = SigningKey::open(kid, alg, &sealed, &kek);
            assert!(
                matches!(err, Err(JoseError::KeyDecryption)),
                "{kid:?} {alg}: {err:?}"
            );
        }
    }

    #[test]
    fn open_refuses_altered_or_truncated_records() {
        let kek = Kek::generate(&SeededEntropy::new(40));
        let key = key(Algorithm::EdDSA);
        let sealed = key.seal(&kek, &SeededEntropy::new(43)).expect("seals");
        for i in 1..sealed.len() {
            let mut altered = sealed.clone();
            altered[i] ^= 0x80;
            let err = SigningKey::open(key.kid(), Algorithm::EdDSA, &altered, &kek);
            assert!(
                matches!(err, Err(JoseError::KeyDecryption)),
                "byte {i}: {err:?}"
            );
        }
        for len in 0..sealed.len() {
            assert!(SigningKey::open(key.kid(), Algorithm::EdDSA, &sealed[..len], &kek).is_err());
        }
        let mut version = sealed.clone();
        version[0] = 2;
        let err = SigningKey::open(key.kid(), Algorithm::EdDSA, &version, &kek);
        assert!(matches!(err, Err(JoseError::KeyEncoding(_))), "{err:?}");
    }

    #[test]
    fn debug_shows_kid_and_algorithm_only() {
        for alg in Algorithm::ASYMMETRIC {
            let debug = format!("{:?}", key(alg));
            assert_eq!(
                debug,
                format!("SigningKey {{ kid: \"{alg}-test\", alg: {alg}, .. }}")
            );
        }
    }

    #[test]
    fn from_jwk_refuses_unusable_or_mismatched_keys() {
        let rsa = key(Algorithm::RS256).public_jwk();
        let ec = key(Algorithm::ES256).public_jwk();
        let okp = key(Algorithm::EdDSA).public_jwk();
        let with = |jwk: &Value, name: &str, value: Value| {
            let mut jwk = jwk.clone();
            jwk[name] = value;
            jwk
        };
        let without = |jwk: &Value, name: &str| {
            let mut jwk = jwk.clone();
            jwk.as_object_mut().expect("an object").remove(name);
            jwk
        };
        let refused = [
            json!("not an object"),
            with(&rsa, "alg", json!("ES256")),
            with(&rsa, "alg", json!("none")),
            with(&rsa, "alg", json!("PS256")),
            with(&rsa, "use", json!("enc")),
            with(&rsa, "kid", json!(7)),
            without(&rsa, "n"),
            without(&rsa, "kty"),
            // A 1024-bit modulus is below RFC 7518's minimum for RS256.
            with(&rsa, "n", json!(b64::encode([0xff_u8; 128]))),
            with(&rsa, "n", json!("not base64!")),
            with(&ec, "crv", json!("P-384")),
            with(&ec, "x", json!(b64::encode([0u8; 32]))),
            with(&ec, "y", json!(b64::encode([1u8; 31]))),
            with(&okp, "crv", json!("X25519")),
            with(&okp, "x", json!(b64::encode([1u8; 31]))),
            json!({"kty": "oct", "k": "c2VjcmV0"}),
            json!({"kty": "oct", "alg": "HS256", "k": "c2VjcmV0"}),
        ];
        for jwk in refused {
            assert!(VerifyingKey::from_jwk(&jwk).is_err(), "{jwk}");
        }
    }

    #[test]
    fn from_jwk_infers_the_algorithm_and_tolerates_a_missing_kid() {
        for alg in Algorithm::ASYMMETRIC {
            let mut jwk = key(alg).public_jwk();
            let object = jwk.as_object_mut().expect("an object");
            object.remove("alg");
            object.remove("kid");
            object.remove("use");
            let verifying = VerifyingKey::from_jwk(&jwk).expect("a valid JWK");
            assert_eq!(verifying.algorithm(), alg);
            assert_eq!(verifying.kid(), "");
        }
    }
}

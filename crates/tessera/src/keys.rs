//! The key-encryption key file and the `tessera keys` commands.
//!
//! The KEK is the one secret a deployment keeps outside its database: signing keys are stored
//! sealed under it, so a dump of the database alone yields no usable private key. Every node
//! of a deployment reads the same file; a node whose KEK cannot open the stored keys refuses
//! to start rather than sign differently from the others.

use std::io::Write;
use std::path::Path;

use std::sync::Arc;

use anyhow::{Context, anyhow};
use tessera_core::UnixTime;
use tessera_core::entropy::Entropy;
use tessera_jose::{Algorithm, Kek};
use tessera_store::Store;
use tessera_web::operator::{Operator, OperatorError, key_json, key_status};

use crate::config::Config;

/// Reads the KEK file; `None` when it does not exist.
fn read_kek(path: &Path) -> crate::Result<Option<Kek>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "cannot read the key-encryption key file {}",
                path.display()
            )));
        }
    };
    warn_if_readable_by_others(path);
    Kek::from_base64(&text)
        .map(Some)
        .with_context(|| format!("{} is not a key-encryption key", path.display()))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(file = %path.display(), "the key-encryption key file is readable by other users; chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

/// Writes a new KEK to `path`, readable by its owner only, never over an existing file.
fn write_kek(path: &Path, kek: &Kek) -> crate::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| {
        format!(
            "cannot create the key-encryption key file {}",
            path.display()
        )
    })?;
    writeln!(file, "{}", kek.to_base64())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The deployment's KEK: read from its file, or, when neither the file nor any stored key
/// exists yet, generated into a new 0600 file, so `tessera serve` needs no setup.
pub async fn load_kek(
    config: &Config,
    store: &dyn Store,
    entropy: &dyn Entropy,
) -> crate::Result<Kek> {
    let path = config.key_encryption_key_path();
    if let Some(kek) = read_kek(&path)? {
        return Ok(kek);
    }
    let stored = store.signing_keys().await.with_context(|| {
        format!(
            "{} does not exist, and the store cannot be asked whether a key-encryption key was made before",
            path.display()
        )
    })?;
    if !stored.is_empty() {
        return Err(anyhow!(
            "the store holds signing keys sealed with a key-encryption key, but {} does not exist: copy that file from another node of this deployment, or set key_encryption_key_file",
            path.display()
        ));
    }
    let kek = Kek::generate(entropy);
    write_kek(&path, &kek)?;
    tracing::warn!(
        file = %path.display(),
        fingerprint = %kek.fingerprint(),
        "generated a key-encryption key; every node of this deployment needs this file, and the signing keys cannot be opened without it: back it up"
    );
    Ok(kek)
}

/// Opens every stored key with `kek`: a node (or a command) whose key-encryption key differs
/// from the one the keys were sealed with is refused before anything signs.
pub async fn check(store: &dyn Store, kek: &Kek) -> crate::Result<()> {
    for stored in store.signing_keys().await? {
        let alg = Algorithm::parse(&stored.algorithm)
            .ok_or_else(|| anyhow!("signing key {} has an unknown algorithm", stored.kid))?;
        tessera_jose::SigningKey::open(&stored.kid, alg, &stored.sealed, kek).with_context(
            || {
                format!(
                    "the key-encryption key (fingerprint {}) does not open signing key {}; every node needs the same key-encryption key file",
                    kek.fingerprint(),
                    stored.kid
                )
            },
        )?;
    }
    Ok(())
}

/// The algorithms `keys rotate` may name.
pub fn parse_algorithm(text: &str) -> crate::Result<Algorithm> {
    match Algorithm::parse(text) {
        Some(Algorithm::HS256) => Err(anyhow!(
            "HS256 has no server key: it would sign with a client's secret, which Tessera keeps only as a hash; expected RS256, ES256 or EdDSA"
        )),
        Some(alg) => Ok(alg),
        None => Err(anyhow!(
            "unknown algorithm {text:?}: expected RS256, ES256 or EdDSA"
        )),
    }
}

/// `tessera keys list`.
pub async fn list(operator: &Operator, now: UnixTime, as_json: bool) -> crate::Result<String> {
    let keys = operator
        .keys()
        .await
        .map_err(crate::commands::operator_error)?;
    if as_json {
        let list: Vec<_> = keys.iter().map(|k| key_json(k, now)).collect();
        return Ok(serde_json::to_string(&list)?);
    }
    if keys.is_empty() {
        return Ok("no signing keys yet: the server makes an RS256 key when it starts".into());
    }
    let mut out = format!(
        "{:<24} {:<9} {:<10} {}",
        "KID", "ALGORITHM", "STATUS", "UNTIL"
    );
    for k in &keys {
        let until = k.publish_until.map_or("-".to_owned(), |t| t.to_string());
        out.push_str(&format!(
            "\n{:<24} {:<9} {:<10} {}",
            k.kid,
            k.algorithm,
            key_status(k, now),
            until
        ));
    }
    Ok(out)
}

/// `tessera keys rotate`: a new key per algorithm (those named, or every algorithm that has a
/// signing key, RS256 at least); the old ones stay published until what they signed expires.
pub async fn rotate(
    config: &Config,
    operator: &Operator,
    kek: Kek,
    now: UnixTime,
    algorithms: &[Algorithm],
    as_json: bool,
) -> crate::Result<String> {
    let publish_until = now + config.signed_token_lifetime();
    let made = operator
        .rotate_keys(Arc::new(kek), algorithms, publish_until)
        .await
        .map_err(crate::commands::operator_error)?;
    if as_json {
        let list: Vec<_> = made.iter().map(|k| key_json(k, now)).collect();
        return Ok(serde_json::to_string(&list)?);
    }
    let mut lines: Vec<String> = made
        .iter()
        .map(|k| format!("{} now signs with {}", k.algorithm, k.kid))
        .collect();
    lines.push(format!(
        "previous keys stay published until {publish_until} (the longest ID token or JWT access token lifetime from now); nodes sign with the new keys within {} seconds",
        tessera_web::keyring::REFRESH_SECONDS
    ));
    Ok(lines.join("\n"))
}

/// `tessera keys retire KID`: removes a key no longer signing, at once.
pub async fn retire(operator: &Operator, kid: &str) -> crate::Result<String> {
    match operator.retire_key(kid).await {
        Ok(()) => Ok(format!(
            "{kid} retired: tokens it signed no longer verify and it is gone from the JWKS"
        )),
        Err(OperatorError::NotFound(_)) => {
            Err(anyhow!("no signing key {kid:?} (see tessera keys list)"))
        }
        Err(OperatorError::Invalid(_)) => {
            let alg = operator
                .keys()
                .await
                .ok()
                .and_then(|keys| keys.into_iter().find(|k| k.kid == kid))
                .map(|k| k.algorithm)
                .unwrap_or_default();
            Err(anyhow!(
                "{kid} still signs: run tessera keys rotate --algorithm {alg} first"
            ))
        }
        Err(e) => Err(crate::commands::operator_error(e)),
    }
}

//! Configuration, lowest to highest precedence: built-in defaults, `tessera.toml` (path from
//! `--config` or `TESSERA_CONFIG`), `TESSERA_*` environment variables, command-line flags.
//!
//! Every source is first reduced to text per key, then each key is parsed once, so a bad value
//! gets the same clear message wherever it came from, naming that source. Unknown keys in the
//! file are refused; environment variables that are not settings are ignored.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tessera_core::grant::Lifetimes;
use tessera_core::scope::{Scope, ScopePolicy};
use tessera_web::Settings;
use tessera_web::ratelimit::RateLimitSettings;

/// The keys of the file, which are also the environment variables upper-cased with the
/// `TESSERA_` prefix.
pub const KEYS: &[&str] = &[
    "bind",
    "database_url",
    "issuer",
    "log_format",
    "scopes",
    "default_scopes",
    "access_token_expire_seconds",
    "refresh_token_expire_seconds",
    "authorization_code_expire_seconds",
    "id_token_expire_seconds",
    "janitor_interval_seconds",
    "janitor_batch_size",
    "max_body_bytes",
    "rate_limit_window_seconds",
    "rate_limit_principal_failures",
    "rate_limit_address_failures",
    "pkce_allow_plain",
    "database_pool_max_size",
    "database_timeout_seconds",
    "database_statement_timeout_seconds",
    "session_expire_seconds",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database_url: String,
    pub issuer: String,
    pub log_format: LogFormat,
    pub scopes: ScopePolicy,
    pub lifetimes: Lifetimes,
    /// Seconds between janitor runs; 0 turns the janitor off.
    pub janitor_interval_seconds: u64,
    pub janitor_batch_size: u32,
    pub max_body_bytes: usize,
    pub rate_limits: RateLimitSettings,
    /// Whether PKCE `plain` is accepted (off: S256 only).
    pub pkce_allow_plain: bool,
    pub session_seconds: i64,
    pub pool: tessera_store_postgres::PoolSettings,
}

impl Config {
    pub fn web_settings(&self) -> Settings {
        Settings {
            issuer: self.issuer.clone(),
            lifetimes: self.lifetimes,
            scopes: self.scopes.clone(),
            max_body_bytes: self.max_body_bytes,
            rate_limits: self.rate_limits,
            pkce: tessera_core::pkce::PkcePolicy {
                allow_plain: self.pkce_allow_plain,
            },
            session_seconds: self.session_seconds,
        }
    }
}

/// Where a value came from, for error messages.
#[derive(Debug, Clone)]
enum Source {
    Default,
    File(PathBuf),
    Env(String),
    Flag(&'static str),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Default => f.write_str("the default"),
            Self::File(p) => write!(f, "{}", p.display()),
            Self::Env(name) => write!(f, "environment variable {name}"),
            Self::Flag(name) => write!(f, "flag --{name}"),
        }
    }
}

/// Values given on the command line, by key.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub values: Vec<(&'static str, String)>,
}

fn toml_to_text(key: &str, value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        toml::Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{key}: expected a list of strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.join(" ")),
        other => Err(format!(
            "{key}: expected a string or an integer, got {}",
            other.type_str()
        )),
    }
}

fn read_file(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("config file {}: {}", path.display(), e.message()))?;
    let mut out = Vec::new();
    for (key, value) in &table {
        if !KEYS.contains(&key.as_str()) {
            return Err(format!(
                "config file {}: unknown key {key:?} (known keys: {})",
                path.display(),
                KEYS.join(", ")
            ));
        }
        let text =
            toml_to_text(key, value).map_err(|e| format!("config file {}: {e}", path.display()))?;
        out.push((key.clone(), text));
    }
    Ok(out)
}

/// Loads the configuration from `env` (the process environment in production) and flags.
pub fn load(env: &BTreeMap<String, String>, overrides: &Overrides) -> Result<Config, String> {
    let mut values: BTreeMap<&'static str, (String, Source)> = BTreeMap::new();
    let config_path = overrides
        .config
        .clone()
        .or_else(|| env.get("TESSERA_CONFIG").map(PathBuf::from));
    if let Some(path) = &config_path {
        for (key, text) in read_file(path)? {
            if let Some(k) = KEYS.iter().find(|k| **k == key) {
                values.insert(k, (text, Source::File(path.clone())));
            }
        }
    }
    for key in KEYS {
        let name = format!("TESSERA_{}", key.to_ascii_uppercase());
        if let Some(v) = env.get(&name) {
            values.insert(key, (v.clone(), Source::Env(name)));
        }
    }
    for (key, v) in &overrides.values {
        values.insert(key, (v.clone(), Source::Flag(flag_name(key))));
    }
    build(&values)
}

fn flag_name(key: &'static str) -> &'static str {
    match key {
        "bind" => "bind",
        "database_url" => "database-url",
        "issuer" => "issuer",
        _ => key,
    }
}

fn build(values: &BTreeMap<&'static str, (String, Source)>) -> Result<Config, String> {
    let get = |key: &'static str, default: &str| -> (String, Source) {
        values
            .get(key)
            .cloned()
            .unwrap_or_else(|| (default.to_owned(), Source::Default))
    };
    fn bad(key: &str, source: &Source, why: impl std::fmt::Display) -> String {
        format!("invalid {key} from {source}: {why}")
    }
    let positive = |key: &'static str, default: i64| -> Result<i64, String> {
        let (text, source) = get(key, &default.to_string());
        match text.trim().parse::<i64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(bad(
                key,
                &source,
                format!("{text:?} is not a positive whole number of seconds"),
            )),
        }
    };
    let count = |key: &'static str, default: u64| -> Result<u64, String> {
        let (text, source) = get(key, &default.to_string());
        text.trim()
            .parse::<u64>()
            .map_err(|_| bad(key, &source, format!("{text:?} is not a whole number")))
    };

    let (bind_text, source) = get("bind", "127.0.0.1:8000");
    let bind: SocketAddr = bind_text.parse().map_err(|_| {
        bad(
            "bind",
            &source,
            format!("{bind_text:?} is not an address like 127.0.0.1:8000"),
        )
    })?;

    let (database_url, source) = get("database_url", "sqlite://tessera.db");
    if tessera_store_sqlite::path_from_url(&database_url).is_none()
        && !tessera_store_postgres::is_postgres_url(&database_url)
    {
        return Err(bad(
            "database_url",
            &source,
            "expected sqlite://PATH or postgres://USER@HOST:PORT/DATABASE",
        ));
    }

    let (issuer, source) = get("issuer", &format!("http://{bind}/o"));
    let issuer = issuer.trim_end_matches('/').to_owned();
    let valid_issuer = (issuer.starts_with("https://") || issuer.starts_with("http://"))
        && !issuer.contains(['?', '#', ' '])
        && issuer
            .split("://")
            .nth(1)
            .is_some_and(|rest| !rest.is_empty());
    if !valid_issuer {
        return Err(bad(
            "issuer",
            &source,
            "expected an http(s) URL without query or fragment",
        ));
    }

    let (format_text, source) = get("log_format", "text");
    let log_format = match format_text.as_str() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            return Err(bad(
                "log_format",
                &source,
                format!("{other:?} is not text or json"),
            ));
        }
    };

    let defaults = ScopePolicy::default();
    let (scopes_text, source) = get("scopes", &defaults.supported.to_string());
    let supported =
        Scope::parse(&scopes_text).map_err(|_| bad("scopes", &source, "malformed scope list"))?;
    if supported.is_empty() {
        return Err(bad("scopes", &source, "at least one scope is required"));
    }
    let (default_text, source) = get("default_scopes", &defaults.default.to_string());
    let default = Scope::parse(&default_text)
        .map_err(|_| bad("default_scopes", &source, "malformed scope list"))?;
    if !default.is_subset(&supported) {
        return Err(bad(
            "default_scopes",
            &source,
            "every default scope must be in scopes",
        ));
    }

    let lifetimes = Lifetimes {
        access_token: positive("access_token_expire_seconds", 3600)?,
        refresh_token: positive("refresh_token_expire_seconds", 30 * 24 * 3600)?,
        authorization_code: positive("authorization_code_expire_seconds", 60)?,
        id_token: positive("id_token_expire_seconds", 3600)?,
    };
    let batch = count("janitor_batch_size", 500)?;
    let (plain_text, source) = get("pkce_allow_plain", "false");
    let pkce_allow_plain = match plain_text.as_str() {
        "true" | "1" | "yes" => true,
        "false" | "0" | "no" => false,
        other => {
            return Err(bad(
                "pkce_allow_plain",
                &source,
                format!("{other:?} is not true or false"),
            ));
        }
    };
    let rate_defaults = RateLimitSettings::default();
    Ok(Config {
        bind,
        database_url,
        issuer,
        log_format,
        scopes: ScopePolicy { supported, default },
        lifetimes,
        pkce_allow_plain,
        session_seconds: positive("session_expire_seconds", 12 * 3600)?,
        pool: tessera_store_postgres::PoolSettings {
            max_size: usize::try_from(positive("database_pool_max_size", 16)?).unwrap_or(16),
            timeout: std::time::Duration::from_secs(
                positive("database_timeout_seconds", 5)?.unsigned_abs(),
            ),
            statement_timeout: std::time::Duration::from_secs(
                positive("database_statement_timeout_seconds", 10)?.unsigned_abs(),
            ),
        },
        janitor_interval_seconds: count("janitor_interval_seconds", 300)?,
        janitor_batch_size: u32::try_from(batch.clamp(1, 1_000_000)).unwrap_or(1000),
        max_body_bytes: usize::try_from(count("max_body_bytes", 64 * 1024)?.max(1024))
            .unwrap_or(65536),
        rate_limits: RateLimitSettings {
            window_seconds: positive("rate_limit_window_seconds", rate_defaults.window_seconds)?,
            per_principal: u32::try_from(count(
                "rate_limit_principal_failures",
                rate_defaults.per_principal.into(),
            )?)
            .map_err(|_| "rate_limit_principal_failures is too large".to_owned())?,
            per_address: u32::try_from(count(
                "rate_limit_address_failures",
                rate_defaults.per_address.into(),
            )?)
            .map_err(|_| "rate_limit_address_failures is too large".to_owned())?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults() {
        let c = load(&env(&[]), &Overrides::default()).expect("defaults load");
        assert_eq!(c.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(c.database_url, "sqlite://tessera.db");
        assert_eq!(c.issuer, "http://127.0.0.1:8000/o");
        assert_eq!(c.lifetimes, Lifetimes::default());
        assert_eq!(c.scopes, ScopePolicy::default());
    }

    #[test]
    fn precedence_file_env_flag() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tessera.toml");
        std::fs::write(
            &path,
            "access_token_expire_seconds = 100\nrefresh_token_expire_seconds = 200\nscopes = [\"read\", \"write\", \"admin\"]\nbind = \"127.0.0.1:9000\"\n",
        )
        .expect("write");
        let e = env(&[
            ("TESSERA_REFRESH_TOKEN_EXPIRE_SECONDS", "300"),
            ("TESSERA_BIND", "127.0.0.1:9100"),
            ("TESSERA_NOT_A_SETTING", "ignored"),
            ("HOME", "/root"),
        ]);
        let overrides = Overrides {
            config: Some(path),
            values: vec![("bind", "127.0.0.1:9200".into())],
        };
        let c = load(&e, &overrides).expect("loads");
        assert_eq!(c.lifetimes.access_token, 100, "from the file");
        assert_eq!(c.lifetimes.refresh_token, 300, "env beats the file");
        assert_eq!(c.bind.to_string(), "127.0.0.1:9200", "flag beats env");
        assert_eq!(
            c.issuer, "http://127.0.0.1:9200/o",
            "issuer follows the bind address"
        );
        assert!(c.scopes.supported.contains("admin"));
    }

    #[test]
    fn refuses_unknown_keys_and_bad_values() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "acces_token_expire_seconds = 5\n").expect("write");
        let err = load(
            &env(&[]),
            &Overrides {
                config: Some(path),
                values: vec![],
            },
        )
        .expect_err("unknown key");
        assert!(
            err.contains("unknown key \"acces_token_expire_seconds\""),
            "{err}"
        );

        let err = load(
            &env(&[("TESSERA_ACCESS_TOKEN_EXPIRE_SECONDS", "-5")]),
            &Overrides::default(),
        )
        .expect_err("negative");
        assert!(err.contains("TESSERA_ACCESS_TOKEN_EXPIRE_SECONDS"), "{err}");
        for (k, v) in [
            ("TESSERA_BIND", "nowhere"),
            ("TESSERA_ISSUER", "ftp://x"),
            ("TESSERA_LOG_FORMAT", "xml"),
            ("TESSERA_DATABASE_URL", "mysql://x"),
            ("TESSERA_DATABASE_POOL_MAX_SIZE", "0"),
            ("TESSERA_DEFAULT_SCOPES", "read nuke"),
        ] {
            assert!(
                load(&env(&[(k, v)]), &Overrides::default()).is_err(),
                "{k}={v}"
            );
        }
        let err = load(
            &env(&[("TESSERA_CONFIG", "/nonexistent/t.toml")]),
            &Overrides::default(),
        )
        .expect_err("missing file");
        assert!(err.contains("/nonexistent/t.toml"));
    }
}

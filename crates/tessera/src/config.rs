//! Configuration, lowest to highest precedence: built-in defaults, `tessera.toml` (path from
//! `--config` or `TESSERA_CONFIG`), `TESSERA_*` environment variables, command-line flags.
//!
//! Every key is declared once, in the [`keys!`] list below: its name, type, default, parser,
//! doc and, where it has one, its flag. The file key, the `TESSERA_*` variable, the flag, the
//! list of known keys and the [`Config`] field all come from that one declaration, so they
//! cannot drift apart.
//!
//! Every source is first reduced to text per key, then each key is parsed once, so a bad value
//! gets the same clear message wherever it came from, naming that source. Unknown keys in the
//! file are refused; environment variables that are not settings are ignored.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tessera_core::grant::Lifetimes;
use tessera_core::scope::{Scope, ScopePolicy};
use tessera_store_postgres::PoolSettings;
use tessera_web::ratelimit::RateLimitSettings;
use tessera_web::state::DynamicRegistration;
use tessera_web::{ConnectionLimits, Settings};

/// Why the configuration was refused. Typed, unlike the binary's errors, because its callers
/// (and tests) tell a file problem from a bad value, and because an unreadable file keeps its
/// I/O error as `source()` for the binary's cause chain.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The line and column are computed here because the TOML error's own text is a
    /// multi-line snippet, and the binary prints one line.
    #[error("config file {}: TOML syntax error at line {line}, column {column}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("config file {}: unknown key {key:?} (known keys: {})", path.display(), known_keys())]
    UnknownKey { path: PathBuf, key: String },
    #[error("config file {}: {key}: expected {expected}", path.display())]
    FileValue {
        path: PathBuf,
        key: String,
        expected: String,
    },
    #[error("invalid {key} from {origin}: {why}")]
    Invalid {
        key: &'static str,
        origin: Origin,
        why: String,
    },
}

/// Where a value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Env(String),
    Flag(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Default => f.write_str("the default"),
            Self::File(p) => write!(f, "{}", p.display()),
            Self::Env(name) => write!(f, "environment variable {name}"),
            Self::Flag(name) => write!(f, "flag --{name}"),
        }
    }
}

/// Which commands take a key's flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagScope {
    /// Every command (they all open the store).
    Every,
    /// `serve` only: the other commands neither listen nor issue.
    Serve,
}

#[derive(Debug, Clone, Copy)]
pub struct Flag {
    pub scope: FlagScope,
    /// The placeholder in `--help` (`--bind ADDR`).
    pub value_name: &'static str,
}

/// One key's declaration, as the command line and the file reader need it.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The file key; the variable and the flag are derived from it.
    pub name: &'static str,
    pub doc: &'static str,
    pub flag: Option<Flag>,
}

impl Key {
    pub fn env_var(&self) -> String {
        format!("TESSERA_{}", self.name.to_ascii_uppercase())
    }

    /// `--database-url` for `database_url`, as clap spells field names.
    pub fn flag_name(&self) -> String {
        self.name.replace('_', "-")
    }
}

fn known_keys() -> String {
    KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

/// The text of each key, and where it came from, before parsing.
#[derive(Debug, Default)]
struct Values(BTreeMap<&'static str, (String, Origin)>);

impl Values {
    fn get(&self, key: &'static str, default: impl FnOnce() -> String) -> (String, Origin) {
        self.0
            .get(key)
            .cloned()
            .unwrap_or_else(|| (default(), Origin::Default))
    }
}

/// Declares every key. For each: doc comment, `name: Type = default, parser` and, if it has a
/// flag, `flag Every|Serve "VALUE_NAME"`. The default is any `Display` expression and may use
/// keys declared above it (the issuer follows the bind address); it is parsed like any other
/// source, so a default can never bypass validation. The parser takes the text and returns the
/// value or why the text is wrong; it too may use keys above it.
macro_rules! keys {
    (@flag) => { None };
    (@flag $scope:ident $value_name:literal) => {
        Some(Flag { scope: FlagScope::$scope, value_name: $value_name })
    };
    ($(
        $(#[doc = $doc:literal])*
        $name:ident: $ty:ty = $default:expr, $parse:expr $(, flag $scope:ident $value_name:literal)?;
    )*) => {
        /// The effective configuration: one field per key, named as the file key.
        #[derive(Debug, Clone)]
        pub struct Config {
            $( $(#[doc = $doc])* pub $name: $ty, )*
        }

        /// Every key, in declaration order.
        pub const KEYS: &[Key] = &[ $(
            Key {
                name: stringify!($name),
                doc: concat!($($doc),*),
                flag: keys!(@flag $($scope $value_name)?),
            },
        )* ];

        /// Parses each key in declaration order; `seen` gets the text each key was parsed from
        /// and where that text came from.
        fn build(
            values: &Values,
            seen: &mut Vec<(&'static str, String, Origin)>,
        ) -> Result<Config, ConfigError> {
            $(
                let $name: $ty = {
                    let (text, origin) = values.get(stringify!($name), || ($default).to_string());
                    let value = ($parse)(text.as_str()).map_err(|why: String| {
                        ConfigError::Invalid { key: stringify!($name), origin: origin.clone(), why }
                    })?;
                    seen.push((stringify!($name), text, origin));
                    value
                };
            )*
            Ok(Config { $($name),* })
        }
    };
}

keys! {
    /// Address to listen on: IP:PORT or HOST:PORT (localhost:8000).
    bind: BindAddress = "127.0.0.1:8000", parse_bind, flag Serve "ADDR";
    /// Store URL: sqlite://PATH for the embedded SQLite file (one node), or
    /// postgres://USER[:PASSWORD]@HOST:PORT/DATABASE[?sslmode=...] for PostgreSQL (any number
    /// of nodes).
    database_url: String = "sqlite://tessera.db", parse_database_url, flag Every "URL";
    /// Issuer URL, never taken from a request; by default it follows the bind address.
    issuer: String = format!("http://{bind}/o"), parse_issuer, flag Serve "URL";
    /// Log format on stderr: auto (text on a terminal, JSON otherwise), text or json; the
    /// level comes from RUST_LOG.
    log_format: LogFormat = "auto", parse_log_format;
    /// Address of a listener of its own for /metrics (then the main listener answers 404
    /// there); empty: /metrics on the main listener.
    metrics_bind: Option<BindAddress> = "", parse_optional_bind;
    /// Address of the admin API's listener (Bearer admin tokens from
    /// `tessera admin-token create`); empty: no admin API.
    admin_bind: Option<BindAddress> = "", parse_optional_bind;
    /// Scopes the server knows.
    scopes: Scope = ScopePolicy::default().supported, parse_scopes;
    /// Scopes granted when a client asks for none; each must be in `scopes`.
    default_scopes: Scope = ScopePolicy::default().default,
        |text: &str| parse_default_scopes(text, &scopes);
    access_token_expire_seconds: i64 = Lifetimes::default().access_token, positive_seconds;
    refresh_token_expire_seconds: i64 = Lifetimes::default().refresh_token, positive_seconds;
    authorization_code_expire_seconds: i64 =
        Lifetimes::default().authorization_code, positive_seconds;
    id_token_expire_seconds: i64 = Lifetimes::default().id_token, positive_seconds;
    /// How long a device code and its user code wait for the user (RFC 8628).
    device_code_expire_seconds: i64 = Lifetimes::default().device_code, positive_seconds;
    /// Seconds between janitor runs; 0 turns the janitor off.
    janitor_interval_seconds: u64 = 300, whole_number;
    /// Rows deleted per statement, kept within 1 to 1,000,000.
    janitor_batch_size: u32 = 500, |text: &str| {
        whole_number(text).map(|n| u32::try_from(n.clamp(1, 1_000_000)).unwrap_or(1_000_000))
    };
    /// Largest request body accepted; at least 1024.
    max_body_bytes: usize = 64 * 1024, |text: &str| {
        whole_number(text).map(|n| usize::try_from(n.max(1024)).unwrap_or(usize::MAX))
    };
    rate_limit_window_seconds: i64 =
        RateLimitSettings::default().window_seconds, positive_seconds;
    /// Failed authentications per client id, or failed logins per username, per window.
    rate_limit_principal_failures: u32 =
        RateLimitSettings::default().per_principal, whole_number_u32;
    /// Failures per remote address per window.
    rate_limit_address_failures: u32 =
        RateLimitSettings::default().per_address, whole_number_u32;
    /// Failures per client id or username across every address per window; a browser where
    /// the user signed in before (known-device cookie) is not held by it.
    rate_limit_principal_total_failures: u32 =
        RateLimitSettings::default().per_principal_total, whole_number_u32;
    /// Redis URL (redis://127.0.0.1:6379) where every node counts failures together; empty:
    /// each node counts alone, in memory.
    redis_url: String = "", |text: &str| {
        if text.is_empty() || text.starts_with("redis://") || text.starts_with("rediss://") {
            Ok(text.to_owned())
        } else {
            Err("expected redis://HOST:PORT or empty".to_owned())
        }
    };
    /// Reverse proxies (addresses or networks, space- or comma-separated) whose
    /// X-Forwarded-For names the client; requests from anyone else are counted by their own
    /// address.
    trusted_proxies: String = "", |text: &str| {
        text.split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(tessera_web::address::Network::parse)
            .collect::<Result<Vec<_>, String>>()
            .map(|_| text.to_owned())
    };
    /// Whether PKCE `plain` is accepted (off: S256 only).
    pkce_allow_plain: bool = false, parse_bool;
    /// PostgreSQL connections per node.
    database_pool_max_size: usize = PoolSettings::default().max_size, |text: &str| {
        positive_count(text).map(|n| usize::try_from(n).unwrap_or(usize::MAX))
    };
    /// Bounds connecting and waiting for a pooled connection.
    database_timeout_seconds: i64 =
        PoolSettings::default().timeout.as_secs(), positive_seconds;
    /// Enforced by PostgreSQL on every statement.
    database_statement_timeout_seconds: i64 =
        PoolSettings::default().statement_timeout.as_secs(), positive_seconds;
    /// Length of a browser session.
    session_expire_seconds: i64 = 12 * 3600, positive_seconds;
    /// Time a client has to send a request's headers; an idle keep-alive connection is closed
    /// after as long.
    header_read_timeout_seconds: i64 =
        ConnectionLimits::default().header_read_timeout.as_secs(), positive_seconds;
    /// Time a client has to send a request's body.
    body_read_timeout_seconds: i64 =
        ConnectionLimits::default().body_read_timeout.as_secs(), positive_seconds;
    /// Connections served at once; more wait in the kernel's queue until one closes.
    max_connections: usize = ConnectionLimits::default().max_connections, |text: &str| {
        positive_count(text).map(|n| usize::try_from(n).unwrap_or(usize::MAX))
    };
    /// Lifetime of JWT access tokens (applications with --access-token-format jwt): short,
    /// since a resource server validating them offline sees a revocation only at expiry.
    jwt_access_token_expire_seconds: i64 = 300, positive_seconds;
    /// How long a user's approval of an application is remembered.
    consent_expire_seconds: i64 = 90 * 24 * 3600, positive_seconds;
    /// Dynamic client registration (RFC 7591/7592) at /o/register/: off (no endpoint), open
    /// (anyone, rate limited per address) or token (an initial access token from
    /// `tessera registration-token create` as a Bearer).
    dynamic_registration: DynamicRegistration = "off", |text: &str| {
        DynamicRegistration::parse(text).ok_or_else(|| format!("{text:?} is not off, open or token"))
    };
    /// File holding the key-encryption key that seals the signing keys in the store; every
    /// node of a deployment needs the same file. Empty: beside the SQLite database
    /// (DATABASE.kek), or tessera.kek in the working directory for PostgreSQL; made (0600)
    /// at first start when the store holds no key yet.
    key_encryption_key_file: String = "", |text: &str| Ok::<_, String>(text.to_owned()),
        flag Every "FILE";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Text when stderr is a terminal (a person reads it), JSON otherwise (a machine does).
    Auto,
    Text,
    Json,
}

/// An address to listen on, as the operator wrote it (`localhost:8000`) and as resolved.
/// The text is kept because the default issuer follows it: a server bound with
/// `--bind localhost:8000` names itself `http://localhost:8000/o`, as its users type it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindAddress {
    pub text: String,
    pub addr: SocketAddr,
}

impl std::fmt::Display for BindAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// `IP:PORT`, or `HOST:PORT` resolved now (the first address the resolver gives, IPv4
/// first, so `localhost` means 127.0.0.1 as most people expect).
fn parse_bind(text: &str) -> Result<BindAddress, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(BindAddress {
            text: text.to_owned(),
            addr,
        });
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!(
            "{text:?} is not an address like 127.0.0.1:8000 or localhost:8000 (the port is missing)"
        ));
    };
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{text:?}: {port:?} is not a port number"))?;
    if host.is_empty() {
        return Err(format!("{text:?}: the host is missing"));
    }
    let mut addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .map_err(|e| format!("{text:?}: cannot resolve {host:?}: {e}"))?
        .collect();
    addrs.sort_by_key(|a| !a.is_ipv4());
    let addr = addrs
        .first()
        .copied()
        .ok_or_else(|| format!("{text:?}: {host:?} has no address"))?;
    Ok(BindAddress {
        text: text.to_owned(),
        addr,
    })
}

fn parse_optional_bind(text: &str) -> Result<Option<BindAddress>, String> {
    if text.is_empty() {
        Ok(None)
    } else {
        parse_bind(text).map(Some)
    }
}

/// The value is never quoted back: it may hold a password.
fn parse_database_url(text: &str) -> Result<String, String> {
    if tessera_store_sqlite::path_from_url(text).is_none()
        && !tessera_store_postgres::is_postgres_url(text)
    {
        return Err("expected sqlite://PATH or postgres://USER@HOST:PORT/DATABASE".into());
    }
    Ok(text.to_owned())
}

fn parse_issuer(text: &str) -> Result<String, String> {
    let issuer = text.trim_end_matches('/').to_owned();
    let valid = (issuer.starts_with("https://") || issuer.starts_with("http://"))
        && !issuer.contains(['?', '#', ' '])
        && issuer
            .split("://")
            .nth(1)
            .is_some_and(|rest| !rest.is_empty());
    if valid {
        Ok(issuer)
    } else {
        Err("expected an http(s) URL without query or fragment".into())
    }
}

fn parse_log_format(text: &str) -> Result<LogFormat, String> {
    match text {
        "auto" => Ok(LogFormat::Auto),
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(format!("{other:?} is not auto, text or json")),
    }
}

fn parse_scopes(text: &str) -> Result<Scope, String> {
    let scopes = Scope::parse(text).map_err(|_| "malformed scope list".to_owned())?;
    if scopes.is_empty() {
        return Err("at least one scope is required".into());
    }
    Ok(scopes)
}

fn parse_default_scopes(text: &str, supported: &Scope) -> Result<Scope, String> {
    let default = Scope::parse(text).map_err(|_| "malformed scope list".to_owned())?;
    if !default.is_subset(supported) {
        return Err("every default scope must be in scopes".into());
    }
    Ok(default)
}

fn positive_seconds(text: &str) -> Result<i64, String> {
    match text.trim().parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{text:?} is not a positive whole number of seconds"
        )),
    }
}

fn positive_count(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{text:?} is not a positive whole number")),
    }
}

fn whole_number(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<u64>()
        .map_err(|_| format!("{text:?} is not a whole number"))
}

fn whole_number_u32(text: &str) -> Result<u32, String> {
    u32::try_from(whole_number(text)?).map_err(|_| format!("{text:?} is too large"))
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        other => Err(format!("{other:?} is not true or false")),
    }
}

impl Config {
    pub fn lifetimes(&self) -> Lifetimes {
        Lifetimes {
            access_token: self.access_token_expire_seconds,
            refresh_token: self.refresh_token_expire_seconds,
            authorization_code: self.authorization_code_expire_seconds,
            id_token: self.id_token_expire_seconds,
            device_code: self.device_code_expire_seconds,
        }
    }

    pub fn scope_policy(&self) -> ScopePolicy {
        ScopePolicy {
            supported: self.scopes.clone(),
            default: self.default_scopes.clone(),
        }
    }

    pub fn rate_limits(&self) -> RateLimitSettings {
        RateLimitSettings {
            window_seconds: self.rate_limit_window_seconds,
            per_principal: self.rate_limit_principal_failures,
            per_address: self.rate_limit_address_failures,
            per_principal_total: self.rate_limit_principal_total_failures,
        }
    }

    pub fn pool(&self) -> PoolSettings {
        PoolSettings {
            max_size: self.database_pool_max_size,
            timeout: Duration::from_secs(self.database_timeout_seconds.unsigned_abs()),
            statement_timeout: Duration::from_secs(
                self.database_statement_timeout_seconds.unsigned_abs(),
            ),
        }
    }

    pub fn web_settings(&self) -> Settings {
        Settings {
            issuer: self.issuer.clone(),
            lifetimes: self.lifetimes(),
            scopes: self.scope_policy(),
            max_body_bytes: self.max_body_bytes,
            rate_limits: self.rate_limits(),
            pkce: tessera_core::pkce::PkcePolicy {
                allow_plain: self.pkce_allow_plain,
            },
            session_seconds: self.session_expire_seconds,
            jwt_access_token_seconds: self.jwt_access_token_expire_seconds,
            consent_seconds: self.consent_expire_seconds,
            dynamic_registration: self.dynamic_registration,
            limits: ConnectionLimits {
                header_read_timeout: Duration::from_secs(
                    self.header_read_timeout_seconds.unsigned_abs(),
                ),
                body_read_timeout: Duration::from_secs(
                    self.body_read_timeout_seconds.unsigned_abs(),
                ),
                max_connections: self.max_connections,
            },
            redis_url: (!self.redis_url.is_empty()).then(|| self.redis_url.clone()),
            trusted_proxies: self
                .trusted_proxies
                .split([' ', ','])
                .filter_map(|s| tessera_web::address::Network::parse(s).ok())
                .collect(),
            metrics_on_main_listener: self.metrics_bind.is_none(),
        }
    }

    /// Where the key-encryption key lives: the configured file, or the default beside the
    /// SQLite database (in the working directory for PostgreSQL).
    pub fn key_encryption_key_path(&self) -> PathBuf {
        if !self.key_encryption_key_file.is_empty() {
            return PathBuf::from(&self.key_encryption_key_file);
        }
        match tessera_store_sqlite::path_from_url(&self.database_url) {
            Some(db) => {
                let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
                name.push(".kek");
                db.with_file_name(name)
            }
            None => PathBuf::from("tessera.kek"),
        }
    }

    /// How long a retired signing key must stay published: until the last token it signed
    /// (an ID token or a JWT access token) has expired.
    pub fn signed_token_lifetime(&self) -> i64 {
        self.id_token_expire_seconds
            .max(self.jwt_access_token_expire_seconds)
    }
}

/// Each key's default as text, for `--help`; empty if the defaults do not parse, which the
/// unit tests rule out.
pub fn default_texts() -> BTreeMap<&'static str, String> {
    let mut seen = Vec::new();
    let _ = build(&Values::default(), &mut seen);
    seen.into_iter().map(|(k, v, _)| (k, v)).collect()
}

/// One effective setting, for `tessera check-config`: the text it was parsed from (secrets
/// redacted) and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub key: &'static str,
    pub value: String,
    pub origin: Origin,
}

/// Keys whose value may hold a password (a URL with user information): shown redacted.
fn redacted(key: &str, text: &str) -> String {
    if key.ends_with("_url") {
        redact_url(text)
    } else {
        text.to_owned()
    }
}

/// Loads the configuration like [`load`], and also says, for every key, the text in force
/// (secrets redacted) and its source.
pub fn load_with_sources(
    env: &BTreeMap<String, String>,
    overrides: &Overrides,
) -> Result<(Config, Vec<Setting>), ConfigError> {
    let values = gather(env, overrides)?;
    let mut seen = Vec::new();
    let config = build(&values, &mut seen)?;
    let settings = seen
        .into_iter()
        .map(|(key, text, origin)| Setting {
            key,
            value: redacted(key, &text),
            origin,
        })
        .collect();
    Ok((config, settings))
}

/// `TESSERA_*` variables that name no setting, each with the closest variable that does
/// (when one is close enough to be a likely typo). They are ignored, as the environment is
/// shared with other programs, but an operator who misspelled one is told at start.
pub fn unknown_variables(env: &BTreeMap<String, String>) -> Vec<(String, Option<String>)> {
    const NOT_KEYS: [&str; 1] = ["TESSERA_CONFIG"];
    env.keys()
        .filter(|name| name.starts_with("TESSERA_") && !NOT_KEYS.contains(&name.as_str()))
        .filter(|name| !KEYS.iter().any(|k| k.env_var() == **name))
        .map(|name| {
            let closest = KEYS
                .iter()
                .map(Key::env_var)
                .chain(NOT_KEYS.iter().map(|s| s.to_string()))
                .map(|known| (strsim::levenshtein(name, &known), known))
                .min()
                .filter(|(distance, known)| *distance <= 3.max(known.len() / 4))
                .map(|(_, known)| known);
            (name.clone(), closest)
        })
        .collect()
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let path = match path.split_once('?') {
        Some((before, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{before}?{}", query.join("&"))
        }
        None => path.to_owned(),
    };
    format!("{scheme}://{authority}{path}")
}

/// Values given on the command line, by key.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub values: Vec<(&'static str, String)>,
}

fn toml_to_text(path: &Path, key: &str, value: &toml::Value) -> Result<String, ConfigError> {
    let expected = |what: &str| ConfigError::FileValue {
        path: path.to_owned(),
        key: key.to_owned(),
        expected: what.to_owned(),
    };
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        toml::Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| expected("a list of strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.join(" ")),
        other => Err(expected(&format!(
            "a string or an integer, got {}",
            other.type_str()
        ))),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn read_file(path: &Path) -> Result<Vec<(&'static Key, String)>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let (line, column) = e
            .span()
            .map_or((1, 1), |span| line_and_column(&text, span.start));
        ConfigError::Syntax {
            path: path.to_owned(),
            line,
            column,
            message: e.message().split_whitespace().collect::<Vec<_>>().join(" "),
        }
    })?;
    let mut out = Vec::new();
    for (name, value) in &table {
        let key = KEYS
            .iter()
            .find(|k| k.name == name)
            .ok_or_else(|| ConfigError::UnknownKey {
                path: path.to_owned(),
                key: name.clone(),
            })?;
        out.push((key, toml_to_text(path, name, value)?));
    }
    Ok(out)
}

/// Loads the configuration from `env` (the process environment in production) and flags.
pub fn load(env: &BTreeMap<String, String>, overrides: &Overrides) -> Result<Config, ConfigError> {
    build(&gather(env, overrides)?, &mut Vec::new())
}

/// Every source reduced to text per key, the highest precedence winning.
fn gather(env: &BTreeMap<String, String>, overrides: &Overrides) -> Result<Values, ConfigError> {
    let mut values = Values::default();
    let config_path = overrides
        .config
        .clone()
        .or_else(|| env.get("TESSERA_CONFIG").map(PathBuf::from));
    if let Some(path) = &config_path {
        for (key, text) in read_file(path)? {
            values
                .0
                .insert(key.name, (text, Origin::File(path.clone())));
        }
    }
    for key in KEYS {
        let name = key.env_var();
        if let Some(v) = env.get(&name) {
            values.0.insert(key.name, (v.clone(), Origin::Env(name)));
        }
    }
    for (name, v) in &overrides.values {
        if let Some(key) = KEYS.iter().find(|k| k.name == *name) {
            values
                .0
                .insert(key.name, (v.clone(), Origin::Flag(key.flag_name())));
        }
    }
    Ok(values)
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
        assert_eq!(c.lifetimes(), Lifetimes::default());
        assert_eq!(c.lifetimes().device_code, 600);
        assert_eq!(c.scope_policy(), ScopePolicy::default());
        assert_eq!(c.dynamic_registration, DynamicRegistration::Off);
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
        assert_eq!(c.lifetimes().access_token, 100, "from the file");
        assert_eq!(c.lifetimes().refresh_token, 300, "env beats the file");
        assert_eq!(c.bind.to_string(), "127.0.0.1:9200", "flag beats env");
        assert_eq!(
            c.issuer, "http://127.0.0.1:9200/o",
            "issuer follows the bind address"
        );
        assert!(c.scope_policy().supported.contains("admin"));
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
        .expect_err("unknown key")
        .to_string();
        assert!(
            err.contains("unknown key \"acces_token_expire_seconds\""),
            "{err}"
        );

        let err = load(
            &env(&[("TESSERA_ACCESS_TOKEN_EXPIRE_SECONDS", "-5")]),
            &Overrides::default(),
        )
        .expect_err("negative")
        .to_string();
        assert!(err.contains("TESSERA_ACCESS_TOKEN_EXPIRE_SECONDS"), "{err}");
        for (k, v) in [
            ("TESSERA_BIND", "nowhere"),
            ("TESSERA_ISSUER", "ftp://x"),
            ("TESSERA_LOG_FORMAT", "xml"),
            ("TESSERA_BIND", "localhost"),
            ("TESSERA_BIND", "localhost:http"),
            ("TESSERA_BIND", "no-such-host.invalid:8000"),
            ("TESSERA_METRICS_BIND", "nowhere"),
            ("TESSERA_DATABASE_URL", "mysql://x"),
            ("TESSERA_DATABASE_POOL_MAX_SIZE", "0"),
            ("TESSERA_DEFAULT_SCOPES", "read nuke"),
            ("TESSERA_DYNAMIC_REGISTRATION", "yes"),
            ("TESSERA_DEVICE_CODE_EXPIRE_SECONDS", "0"),
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
        .expect_err("missing file")
        .to_string();
        assert!(err.contains("/nonexistent/t.toml"));
    }

    #[test]
    fn every_key_has_a_file_key_a_variable_and_a_default_that_parses() {
        let defaults = default_texts();
        for key in KEYS {
            assert!(
                defaults.contains_key(key.name),
                "{} has a default",
                key.name
            );
            assert_eq!(
                key.env_var(),
                format!("TESSERA_{}", key.name.to_uppercase())
            );
        }
        assert_eq!(defaults.len(), KEYS.len());
        let flags: Vec<String> = KEYS
            .iter()
            .filter(|k| k.flag.is_some())
            .map(Key::flag_name)
            .collect();
        assert_eq!(
            flags,
            ["bind", "database-url", "issuer", "key-encryption-key-file"]
        );
    }

    #[test]
    fn a_toml_syntax_error_names_its_line_and_column() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.toml");
        std::fs::write(
            &path,
            "bind = \"127.0.0.1:9000\"\n\naccess_token_expire_seconds = = 5\n",
        )
        .expect("write");
        let err = load(
            &env(&[]),
            &Overrides {
                config: Some(path.clone()),
                values: vec![],
            },
        )
        .expect_err("syntax error");
        assert!(
            matches!(
                err,
                ConfigError::Syntax {
                    line: 3,
                    column: 31,
                    ..
                }
            ),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("line 3"), "{text}");
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert_eq!(text.lines().count(), 1, "{text}");
    }

    #[test]
    fn values_name_their_source() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "log_format = \"xml\"\n").expect("write");
        let file = |values| Overrides {
            config: Some(path.clone()),
            values,
        };
        let err = load(&env(&[]), &file(vec![]))
            .expect_err("file")
            .to_string();
        assert_eq!(
            err,
            format!(
                "invalid log_format from {}: \"xml\" is not auto, text or json",
                path.display()
            )
        );
        let err = load(&env(&[]), &file(vec![("bind", "x".into())]))
            .expect_err("flag")
            .to_string();
        assert!(err.starts_with("invalid bind from flag --bind: "), "{err}");
        let err = load(
            &env(&[("TESSERA_RATE_LIMIT_ADDRESS_FAILURES", "99999999999")]),
            &Overrides::default(),
        )
        .expect_err("too large")
        .to_string();
        assert!(
            err.contains("environment variable TESSERA_RATE_LIMIT_ADDRESS_FAILURES"),
            "{err}"
        );
    }

    #[test]
    fn redacts_passwords_in_urls() {
        assert_eq!(
            redact_url("postgres://tessera:hunter2@db:5432/t?sslmode=disable"),
            "postgres://tessera:***@db:5432/t?sslmode=disable"
        );
        assert_eq!(
            redact_url("postgres://tessera@db/t?password=hunter2"),
            "postgres://tessera@db/t?password=***"
        );
        assert_eq!(
            redact_url("sqlite:///var/lib/t.db"),
            "sqlite:///var/lib/t.db"
        );
        assert_eq!(redact_url("sqlite:t.db"), "sqlite:t.db");
    }

    #[test]
    fn bind_takes_host_names_and_the_issuer_keeps_them() {
        let c = load(
            &env(&[("TESSERA_BIND", "localhost:8123")]),
            &Overrides::default(),
        )
        .expect("a host name resolves");
        assert_eq!(c.bind.addr.port(), 8123);
        assert!(c.bind.addr.ip().is_loopback(), "{}", c.bind.addr);
        assert_eq!(c.issuer, "http://localhost:8123/o");
        assert_eq!(c.metrics_bind, None, "/metrics on the main listener");
        assert_eq!(c.admin_bind, None, "no admin API unless asked");
        assert_eq!(c.log_format, LogFormat::Auto);
    }

    #[test]
    fn a_misspelled_variable_is_named_with_the_closest_setting() {
        let unknown = unknown_variables(&env(&[
            ("TESSERA_ACCES_TOKEN_EXPIRE_SECONDS", "60"),
            ("TESSERA_BIND", "127.0.0.1:1"),
            ("TESSERA_CONFIG", "t.toml"),
            ("TESSERA_ZZZZZZZZZZZZZZZZZZZ", "1"),
            ("HOME", "/root"),
        ]));
        assert_eq!(
            unknown,
            [
                (
                    "TESSERA_ACCES_TOKEN_EXPIRE_SECONDS".to_owned(),
                    Some("TESSERA_ACCESS_TOKEN_EXPIRE_SECONDS".to_owned())
                ),
                ("TESSERA_ZZZZZZZZZZZZZZZZZZZ".to_owned(), None),
            ]
        );
    }

    #[test]
    fn sources_are_named_and_secrets_redacted() {
        let (_, settings) = load_with_sources(
            &env(&[
                ("TESSERA_DATABASE_URL", "postgres://tessera:hunter2@db/t"),
                ("TESSERA_REDIS_URL", "redis://:sesame@cache:6379"),
            ]),
            &Overrides {
                config: None,
                values: vec![("bind", "127.0.0.1:9000".into())],
            },
        )
        .expect("loads");
        let find = |k: &str| settings.iter().find(|s| s.key == k).expect(k).clone();
        let db = find("database_url");
        assert_eq!(db.value, "postgres://tessera:***@db/t");
        assert_eq!(db.origin, Origin::Env("TESSERA_DATABASE_URL".into()));
        assert!(!find("redis_url").value.contains("sesame"));
        assert_eq!(find("bind").origin, Origin::Flag("bind".into()));
        assert_eq!(find("scopes").origin, Origin::Default);
        assert_eq!(settings.len(), KEYS.len());
    }
}

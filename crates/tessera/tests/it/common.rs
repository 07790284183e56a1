//! A real server per test, and helpers to provision it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tessera_core::client::{AccessTokenFormat, ClientType, GrantType, SecretHash};
use tessera_core::clock::FixedClock;
use tessera_core::entropy::{SeededEntropy, alphanumeric};
use tessera_core::token::{self, TokenKind};
use tessera_jose::Kek;
use tessera_store::{NewClient, NewUser, Store};
use tessera_store_sqlite::SqliteStore;
use tessera_web::paths;
use tessera_web::{AppState, Settings};
use tokio::sync::oneshot;

/// Which store the suite runs on: each test binary sets `crate::BACKEND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database for one test: its URL, and what must live as long as it.
pub async fn fresh_db() -> (Box<dyn std::any::Any + Send + Sync>, String) {
    match crate::BACKEND {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}", dir.path().join("tessera.db").display());
            (Box::new(dir), url)
        }
        Backend::Postgres => {
            let schema = tessera_store_postgres::testing::TestSchema::create().await;
            let url = schema.url.clone();
            (Box::new(schema), url)
        }
    }
}

/// Opens (and migrates) the store at `url`, as a node would.
pub async fn open_store(url: &str) -> Arc<dyn Store> {
    if tessera_store_postgres::is_postgres_url(url) {
        let store =
            tessera_store_postgres::PostgresStore::new(url, Default::default()).expect("pool");
        store.migrate().await.expect("migrate");
        Arc::new(store)
    } else {
        Arc::new(SqliteStore::open_url(url).expect("open store"))
    }
}

/// Everything the store holds, as text: the database file for SQLite, every row of every
/// table for PostgreSQL. Tests search it for values that must never be stored in clear.
pub async fn everything_stored(url: &str) -> String {
    if tessera_store_postgres::is_postgres_url(url) {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        let mut out = String::new();
        for table in [
            "users",
            "clients",
            "grants",
            "access_tokens",
            "refresh_tokens",
            "authorization_codes",
            "sessions",
            "signing_keys",
            "consents",
            "device_codes",
            "initial_access_tokens",
            "client_registrations",
            "admin_tokens",
        ] {
            for row in client
                .query(&format!("SELECT t::text FROM {table} t"), &[])
                .await
                .expect("dump")
            {
                out.push_str(row.get::<_, &str>(0));
                out.push('\n');
            }
        }
        out
    } else {
        let path = url.trim_start_matches("sqlite://");
        let mut bytes = std::fs::read(path).expect("database file");
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// A seed no other server of this run (nor of a concurrent run) uses, so nodes sharing one
/// database never mint the same token.
fn fresh_seed() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::SeqCst)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub store: Arc<dyn Store>,
    /// The server's clock, which only the test moves.
    pub clock: Arc<FixedClock>,
    /// The server's randomness, also used for the test's own fixtures.
    pub entropy: Arc<SeededEntropy>,
    pub http: reqwest::Client,
    pub issuer: String,
    /// The node's guessing limits, to see whether they count in Redis yet.
    pub limiter: Arc<tessera_web::ratelimit::RateLimiter>,
    /// The database URL, for a second node or the CLI.
    pub database_url: String,
    /// Where this node's admin API listens (as `admin_bind` would give it one).
    pub admin_addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    _db: Box<dyn std::any::Any + Send + Sync>,
}

#[derive(Debug, Clone)]
pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
}

impl TestClient {
    pub fn secret(&self) -> &str {
        self.secret.as_deref().unwrap_or("")
    }

    pub fn basic(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.id, self.secret()))
        )
    }
}

/// A token response as JSON, with accessors.
#[derive(Debug, Clone)]
pub struct Tokens(pub Value);

impl Tokens {
    pub fn access(&self) -> String {
        self.0["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }
    pub fn refresh(&self) -> String {
        self.0["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub const START: i64 = 1_800_000_000;
pub const REDIRECT: &str = "https://app.example/cb";
pub const POST_LOGOUT: &str = "https://app.example/signed-out";

/// The key-encryption key of every in-process test server: nodes of one deployment share it.
pub fn test_kek() -> Kek {
    Kek::from_bytes(&[7; 32]).expect("32 bytes")
}

/// The key-encryption key file every `tessera` process of the test run reads, made once
/// (atomically, so concurrent tests never read half of it).
pub fn test_kek_file() -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("tessera-tests.kek");
    if !path.exists() {
        let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
        std::fs::write(&tmp, format!("{}\n", test_kek().to_base64())).expect("write kek");
        std::fs::rename(&tmp, &path).expect("install kek");
    }
    path
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|s| s).await
    }

    pub async fn start_with(configure: impl FnOnce(Settings) -> Settings) -> Self {
        let (db, database_url) = fresh_db().await;
        Self::start_on(db, database_url, configure).await
    }

    /// Another node on the same database as `self` (its own store, pool and memory).
    pub async fn second_node(&self) -> Self {
        Self::start_on(Box::new(()), self.database_url.clone(), |s| s).await
    }

    /// Another node on the same database, configured by `configure`.
    pub async fn second_node_with(&self, configure: impl FnOnce(Settings) -> Settings) -> Self {
        Self::start_on(Box::new(()), self.database_url.clone(), configure).await
    }

    async fn start_on(
        db: Box<dyn std::any::Any + Send + Sync>,
        database_url: String,
        configure: impl FnOnce(Settings) -> Settings,
    ) -> Self {
        let store = open_store(&database_url).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let issuer = format!("http://{addr}/o");
        let settings = configure(Settings::new(issuer.clone()));
        let clock = Arc::new(FixedClock::new(START));
        let entropy = Arc::new(SeededEntropy::new(fresh_seed()));
        let state = AppState::new(
            store.clone(),
            settings,
            clock.clone(),
            entropy.clone(),
            test_kek(),
        );
        let limiter = state.limiter.clone();
        let (tx, rx) = oneshot::channel::<()>();
        let admin_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let admin_addr = admin_listener.local_addr().expect("addr");
        let (admin_tx, admin_rx) = oneshot::channel::<()>();
        tokio::spawn(tessera_web::serve_admin(
            admin_listener,
            state.clone(),
            async {
                let _ = admin_rx.await;
            },
        ));
        tokio::spawn(tessera_web::serve(listener, state, async move {
            let _ = rx.await;
            let _ = admin_tx.send(());
        }));
        Self {
            addr,
            store,
            clock,
            entropy,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            issuer,
            limiter,
            database_url,
            admin_addr,
            shutdown: Some(tx),
            _db: db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A URL of this node's admin API.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{}", self.admin_addr, path)
    }

    pub fn advance(&self, seconds: i64) {
        self.clock.advance(seconds);
    }

    /// A client with full control over its registration; `secret: None` generates one for a
    /// confidential client.
    pub async fn client_with(
        &self,
        client_type: ClientType,
        grants: &[GrantType],
        redirect_uris: &[&str],
        origins: &[&str],
        secret: Option<SecretHash>,
        skip_authorization: bool,
    ) -> TestClient {
        let id = alphanumeric(&*self.entropy, 24);
        let (text, hash) = match (client_type, secret) {
            (ClientType::Public, _) => (None, SecretHash::None),
            (ClientType::Confidential, Some(hash)) => (None, hash),
            (ClientType::Confidential, None) => {
                let t = token::generate(TokenKind::ClientSecret, &*self.entropy);
                (Some(t.text), SecretHash::Sha256(t.digest.0))
            }
        };
        self.store
            .insert_client(NewClient {
                client_id: id.clone(),
                name: "Test app".into(),
                client_type,
                grant_types: grants.to_vec(),
                secret: hash,
                redirect_uris: redirect_uris.iter().map(|o| o.to_string()).collect(),
                post_logout_redirect_uris: vec![],
                allowed_origins: origins.iter().map(|o| o.to_string()).collect(),
                user_id: None,
                skip_authorization,
                algorithm: None,
                access_token_format: Default::default(),
                logout_revokes_grants: false,
                allowed_scopes: None,
                introspect_any: true,
                created_at: START,
            })
            .await
            .expect("insert client");
        TestClient { id, secret: text }
    }

    /// A confidential OpenID Connect application: `grants`, redirecting to [`REDIRECT`],
    /// returning to [`POST_LOGOUT`] after sign-out, with the given signing algorithm and
    /// access token format.
    pub async fn oidc_app(
        &self,
        grants: &[GrantType],
        algorithm: Option<&str>,
        format: AccessTokenFormat,
        logout_revokes_grants: bool,
    ) -> TestClient {
        let id = alphanumeric(&*self.entropy, 24);
        let t = token::generate(TokenKind::ClientSecret, &*self.entropy);
        self.store
            .insert_client(NewClient {
                client_id: id.clone(),
                name: "OIDC app".into(),
                client_type: ClientType::Confidential,
                grant_types: grants.to_vec(),
                secret: SecretHash::Sha256(t.digest.0),
                redirect_uris: vec![REDIRECT.into()],
                post_logout_redirect_uris: vec![POST_LOGOUT.into()],
                allowed_origins: vec![],
                user_id: None,
                skip_authorization: false,
                algorithm: algorithm.map(str::to_owned),
                access_token_format: format,
                logout_revokes_grants,
                allowed_scopes: None,
                introspect_any: true,
                created_at: START,
            })
            .await
            .expect("insert client");
        TestClient {
            id,
            secret: Some(t.text),
        }
    }

    /// A confidential client for the password and client-credentials grants.
    pub async fn confidential(&self) -> TestClient {
        self.client_with(
            ClientType::Confidential,
            &[GrantType::Password, GrantType::ClientCredentials],
            &[],
            &[],
            None,
            false,
        )
        .await
    }

    /// Changes a registered client's allowed scopes, as an operator would.
    pub async fn set_scopes(&self, client: &TestClient, allowed: Option<&str>) {
        let c = self
            .store
            .client_by_client_id(&client.id)
            .await
            .expect("store")
            .expect("client");
        self.store
            .update_client(
                c.id,
                tessera_store::ClientUpdate {
                    name: c.name,
                    grant_types: c.grant_types,
                    redirect_uris: c.redirect_uris,
                    post_logout_redirect_uris: c.post_logout_redirect_uris,
                    allowed_origins: c.allowed_origins,
                    algorithm: c.algorithm,
                    access_token_format: c.access_token_format,
                    logout_revokes_grants: c.logout_revokes_grants,
                    allowed_scopes: allowed.map(str::to_owned),
                    updated_at: START,
                },
            )
            .await
            .expect("update");
    }

    /// A confidential client an operator allowed the introspection scope: a resource server.
    pub async fn resource_server(&self) -> TestClient {
        let app = self.confidential().await;
        self.set_scopes(&app, Some("read write introspection"))
            .await;
        app
    }

    /// A confidential client whose secret was chosen by an operator (Argon2id).
    pub async fn confidential_with_secret(&self, secret: &str) -> TestClient {
        let hash = tessera_core::password::hash(secret, &*self.entropy).expect("hash");
        let mut c = self
            .client_with(
                ClientType::Confidential,
                &[GrantType::Password, GrantType::ClientCredentials],
                &[],
                &[],
                Some(SecretHash::Argon2(hash)),
                false,
            )
            .await;
        c.secret = Some(secret.to_owned());
        c
    }

    pub async fn public(&self, origins: &[&str]) -> TestClient {
        self.client_with(
            ClientType::Public,
            &[GrantType::Password],
            &[],
            origins,
            None,
            false,
        )
        .await
    }

    pub async fn user(&self, username: &str, password: &str) {
        let hash = tessera_core::password::hash(password, &*self.entropy).expect("hash");
        self.store
            .insert_user(NewUser {
                username: username.into(),
                email: format!("{username}@example.com"),
                password_hash: Some(hash),
                created_at: START,
            })
            .await
            .expect("insert user");
    }

    /// POSTs a form with the given extra headers.
    pub async fn post(
        &self,
        path: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self
            .http
            .post(self.url(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.expect("request")
    }

    /// POSTs a form authenticated with the client's credentials in the body.
    pub async fn post_as(&self, path: &str, client: &TestClient, body: &str) -> reqwest::Response {
        let creds = match &client.secret {
            Some(s) => format!("client_id={}&client_secret={}", client.id, s),
            None => format!("client_id={}", client.id),
        };
        self.post(path, &format!("{body}&{creds}"), &[]).await
    }

    /// A client for the authorization code flow, redirecting to `https://app.example/cb`.
    pub async fn web_app(&self, client_type: ClientType) -> TestClient {
        self.client_with(
            client_type,
            &[GrantType::AuthorizationCode],
            &[REDIRECT],
            &[],
            None,
            false,
        )
        .await
    }

    /// Tokens from the password grant for `username`.
    pub async fn password_tokens(
        &self,
        client: &TestClient,
        username: &str,
        password: &str,
    ) -> Tokens {
        let r = self
            .post_as(
                paths::TOKEN,
                client,
                &format!("grant_type=password&username={username}&password={password}"),
            )
            .await;
        assert_eq!(r.status(), 200);
        Tokens(r.json().await.expect("json"))
    }

    /// An access token from the client credentials grant.
    pub async fn client_token(&self, client: &TestClient, scope: Option<&str>) -> String {
        let body = match scope {
            Some(s) => format!("grant_type=client_credentials&scope={s}"),
            None => "grant_type=client_credentials".to_owned(),
        };
        let r = self.post_as(paths::TOKEN, client, &body).await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.expect("json");
        v["access_token"].as_str().expect("access_token").to_owned()
    }

    pub async fn introspect(&self, introspector: &TestClient, token: &str) -> Value {
        let r = self
            .post_as(paths::INTROSPECT, introspector, &format!("token={token}"))
            .await;
        assert_eq!(r.status(), 200);
        r.json().await.expect("json")
    }

    pub async fn is_active(&self, introspector: &TestClient, token: &str) -> bool {
        self.introspect(introspector, token).await["active"] == true
    }
}

/// Reads an error response: status, `error` code.
pub async fn error_of(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.expect("error body is JSON");
    (status, body["error"].as_str().unwrap_or("").to_owned())
}

/// The real `tessera` binary.
pub fn bin() -> std::process::Command {
    bin_env(std::process::Command::new(env!("CARGO_BIN_EXE_tessera")))
}

/// `c` with the environment every `tessera` process of the tests gets (`c` may run the
/// binary through another program).
pub fn bin_env(mut c: std::process::Command) -> std::process::Command {
    // The tests' own environment must not configure the binary.
    for (k, _) in std::env::vars() {
        if k.starts_with("TESSERA_") {
            c.env_remove(k);
        }
    }
    // Every process of the run shares one key-encryption key, as the nodes of a deployment
    // do, so no test leaves a generated key file behind.
    c.env("TESSERA_KEY_ENCRYPTION_KEY_FILE", test_kek_file());
    c
}

/// Runs the binary to completion: (exit code, stdout, stderr).
pub fn run(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    use std::io::Write;
    let mut child = bin()
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn tessera");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Where a `listening` log record says the server listens, in the JSON or the text format.
fn listening_address(line: &str) -> Option<String> {
    if let Ok(v) = serde_json::from_str::<Value>(line) {
        return (v["fields"]["message"] == "listening")
            .then(|| v["fields"]["address"].as_str().map(str::to_owned))
            .flatten();
    }
    line.contains("listening")
        .then(|| line.split("address=").nth(1)?.split_whitespace().next())
        .flatten()
        .map(str::to_owned)
}

/// A `tessera serve` process on a free loopback port; killed when dropped. Its stderr (JSON
/// log records) is kept line by line.
pub struct BinServer {
    pub child: std::process::Child,
    pub addr: String,
    pub log: Arc<std::sync::Mutex<Vec<String>>>,
}

impl BinServer {
    pub fn start(database_url: &str) -> Self {
        Self::start_with_env(database_url, &[])
    }

    /// A server with settings from `TESSERA_*` variables, as an operator would give them.
    pub fn start_with_env(database_url: &str, env: &[(&str, &str)]) -> Self {
        Self::start_with(
            &[
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--database-url",
                database_url,
            ],
            env,
        )
    }

    /// `tessera ARGS` (a `serve` command), until it logs where it listens.
    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = bin();
        command
            .args(args)
            .env("TESSERA_LOG_FORMAT", "json")
            .envs(env.iter().copied());
        Self::launch(command)
            .unwrap_or_else(|log| panic!("the server did not say where it listens: {log:?}"))
    }

    /// Runs `command` (a `serve` command) until it logs where it listens, in either log
    /// format; its stderr is kept line by line. `Err` holds what it logged when it exited, or
    /// went a minute without listening.
    pub fn launch(mut command: std::process::Command) -> Result<Self, Vec<String>> {
        use std::io::BufRead;
        let mut child = command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn tessera serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().expect("lock").push(line.clone());
                if let Some(addr) = listening_address(&line) {
                    let _ = tx.send(addr);
                }
            }
        });
        match rx.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(addr) => Ok(Self { child, addr, log }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let lines = log.lock().expect("lock").clone();
                Err(lines)
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Every log record so far, parsed (non-JSON lines are left out).
    pub fn records(&self) -> Vec<Value> {
        self.log
            .lock()
            .expect("lock")
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The log records so far, once one matches `found` (or after 10 seconds).
    pub async fn wait_for_record(&self, found: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let records = self.records();
            if records.iter().any(&found) || tokio::time::Instant::now() > deadline {
                return records;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM: the graceful shutdown an orchestrator asks for.
    pub fn sigterm(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for BinServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Creates an application with the CLI and returns (client_id, client_secret).
pub fn create_app(db: &str, client_type: &str, grants: &str) -> (String, Option<String>) {
    let (code, out, err) = run(
        &[
            "createapplication",
            client_type,
            grants,
            "--json",
            "--database-url",
            db,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    (
        v["client_id"].as_str().expect("client_id").to_owned(),
        v["client_secret"].as_str().map(str::to_owned),
    )
}

/// Undoes the escaping of the pages (`tessera_web::html::Escape`).
pub fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The hidden inputs of the first form in a page, in order.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for part in html.split("<input type=\"hidden\" ").skip(1) {
        let attr = |name: &str| {
            part.split(&format!("{name}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .map(unescape)
        };
        if let (Some(n), Some(v)) = (attr("name"), attr("value")) {
            out.push((n, v));
        }
    }
    out
}

/// A browser made of HTTP requests: it keeps cookies and does not follow redirects, so each
/// step of the sign-in flow can be checked.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: std::collections::BTreeMap<String, String>,
}

impl Browser {
    pub fn new(server: &TestServer) -> Self {
        Self {
            http: server.http.clone(),
            base: server.url(""),
            cookies: Default::default(),
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        }
    }

    fn remember(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all("set-cookie") {
            let text = v.to_str().expect("ascii cookie");
            let pair = text.split(';').next().expect("pair");
            if let Some((k, v)) = pair.split_once('=') {
                if text.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get(&mut self, url: &str) -> reqwest::Response {
        let r = self
            .http
            .get(self.absolute(url))
            .header("Cookie", self.cookie_header())
            .send()
            .await
            .expect("GET");
        self.remember(&r);
        r
    }

    pub async fn post_form(&mut self, url: &str, fields: &[(String, String)]) -> reqwest::Response {
        let body = fields
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    tessera_core::form::encode(k),
                    tessera_core::form::encode(v)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        let r = self
            .http
            .post(self.absolute(url))
            .header("Cookie", self.cookie_header())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST");
        self.remember(&r);
        r
    }

    /// Signs in through the login page.
    pub async fn sign_in(&mut self, username: &str, password: &str) -> reqwest::Response {
        let page = self.get(paths::LOGIN).await.text().await.expect("page");
        let mut fields = hidden_fields(&page);
        fields.push(("username".into(), username.into()));
        fields.push(("password".into(), password.into()));
        self.post_form(paths::LOGIN, &fields).await
    }

    /// Follows an authorization URL through sign-in (if needed) and consent, pressing
    /// `button` (`allow` or `deny`); returns the final redirect's Location.
    pub async fn authorize(
        &mut self,
        url: &str,
        username: &str,
        password: &str,
        button: &str,
    ) -> String {
        let mut r = self.get(url).await;
        if r.status() == 302 {
            let to = location(&r);
            if to.starts_with(paths::LOGIN) {
                let page = self.get(&to).await.text().await.expect("login page");
                let mut fields = hidden_fields(&page);
                fields.push(("username".into(), username.into()));
                fields.push(("password".into(), password.into()));
                let signed_in = self.post_form(paths::LOGIN, &fields).await;
                assert_eq!(signed_in.status(), 303, "sign-in succeeded");
                r = self.get(&location(&signed_in)).await;
            } else {
                return to;
            }
        }
        if r.status() == 302 {
            return location(&r);
        }
        assert_eq!(r.status(), 200, "the consent page");
        let page = r.text().await.expect("consent page");
        let mut fields = hidden_fields(&page);
        fields.push((button.into(), "x".into()));
        let r = self.post_form(paths::AUTHORIZE, &fields).await;
        assert_eq!(r.status(), 302, "consent answered with a redirect");
        location(&r)
    }
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .expect("ascii")
        .to_owned()
}

/// The query (or fragment) parameters of a URL.
pub fn params_of(url: &str) -> std::collections::BTreeMap<String, String> {
    let query = url.split_once(['?', '#']).map(|(_, q)| q).unwrap_or("");
    let form = tessera_core::form::parse(query.as_bytes()).expect("valid query");
    let mut out = std::collections::BTreeMap::new();
    for k in [
        "code",
        "state",
        "error",
        "error_description",
        "iss",
        "access_token",
        "token_type",
        "expires_in",
        "scope",
        "id_token",
    ] {
        if let Some(v) = form.get(k) {
            out.insert(k.to_owned(), v.to_owned());
        }
    }
    out
}

//! What each command does. Each returns the text to print on stdout, or an error whose cause
//! chain `main` prints on one line.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use serde_json::json;
use tessera_core::client::{self, AccessTokenFormat, Client, ClientType, GrantType};
use tessera_core::clock::{Clock, SystemClock};
use tessera_core::entropy::{Entropy, OsEntropy};
use tessera_core::grant::{self, NewGrant};
use tessera_core::password;
use tessera_core::registration::{
    Registered, Registration, RegistrationError, SecretChoice, register, validate_username,
};
use tessera_store::janitor;
use tessera_store::{NewClient, NewUser, Store, StoreError, User};
use tessera_store_postgres::{PostgresStore, is_postgres_url};
use tessera_store_sqlite::SqliteStore;
use tessera_web::AppState;

use crate::cli::{Command, CreateApplication, KeysCommand, RegistrationTokenCommand};
use crate::config::{self, Config, LogFormat, Overrides, redact_url};
use crate::keys;

type CommandResult = crate::Result<String>;

/// The process's clock: the server and every command read time from it.
fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// The process's randomness: the one place the operating system's generator is made; the
/// server and every command draw from it.
fn entropy() -> Arc<dyn Entropy> {
    Arc::new(OsEntropy)
}

async fn find_user(store: &dyn Store, name: &str) -> crate::Result<User> {
    store
        .user_by_username(name)
        .await?
        .ok_or_else(|| anyhow!("no user named {name:?}"))
}

async fn find_client(store: &dyn Store, client_id: &str) -> crate::Result<Client> {
    store
        .client_by_client_id(client_id)
        .await?
        .ok_or_else(|| anyhow!("no client with id {client_id:?}"))
}

/// Loads the configuration for a command and starts logging at `default_level` (unless
/// `RUST_LOG` says otherwise).
fn load_config(overrides: &Overrides, default_level: &str) -> crate::Result<Config> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let config = config::load(&env, overrides)?;
    init_logging(config.log_format, default_level);
    Ok(config)
}

/// Opens the store the URL names. With `require`, a PostgreSQL database must answer now (and
/// is migrated); otherwise a node may start before its database and connect when it can.
async fn open_store(config: &Config, require: bool) -> crate::Result<Arc<dyn Store>> {
    if is_postgres_url(&config.database_url) {
        let store = PostgresStore::new(&config.database_url, config.pool())?;
        match store.migrate().await {
            Ok(()) => {}
            Err(e) if require => return Err(e.into()),
            Err(e) => {
                tracing::warn!(error = %e, "the database is not reachable yet; /ready answers 503 until it is")
            }
        }
        Ok(Arc::new(store))
    } else {
        let store = SqliteStore::open_url(&config.database_url)?;
        Ok(Arc::new(store))
    }
}

/// Writes `text` with every control character (and the Unicode line and paragraph
/// separators) escaped, so no value, whatever a request put in it, can end a log line and
/// start a forged record of its own.
fn escape_controls(text: &str, out: &mut dyn std::fmt::Write) -> std::fmt::Result {
    for c in text.chars() {
        if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            write!(out, "{}", c.escape_default())?;
        } else {
            out.write_char(c)?;
        }
    }
    Ok(())
}

fn init_logging(format: LogFormat, default_level: &str) {
    use tracing_subscriber::field::MakeExt;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        // The text format writes values as they are; these fields escape them first (JSON
        // escapes by itself).
        LogFormat::Text => builder
            .fmt_fields(
                tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
                    let text = format!("{value:?}");
                    if field.name() != "message" {
                        write!(w, "{}=", field.name())?;
                    }
                    escape_controls(&text, w)
                })
                .delimited(" "),
            )
            .try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

pub async fn run(command: Command) -> CommandResult {
    match command {
        Command::Serve { config } => {
            let config = load_config(&config.overrides, "info")?;
            serve(config).await
        }
        Command::Migrate { store } => {
            let config = load_config(&store.overrides, "warn")?;
            open_store(&config, true).await?;
            Ok(format!(
                "migrations applied to {}",
                redact_url(&config.database_url)
            ))
        }
        Command::Createapplication(args) => {
            let config = load_config(&args.store.overrides, "warn")?;
            create_application(&config, *args).await
        }
        Command::Createuser {
            username,
            email,
            password_stdin,
            store,
        } => {
            let config = load_config(&store.overrides, "warn")?;
            create_user(&config, username, email, password_stdin).await
        }
        Command::Cleartokens { store } => {
            let config = load_config(&store.overrides, "warn")?;
            let store = open_store(&config, true).await?;
            let p = janitor::purge_all(&*store, &*clock(), config.janitor_batch_size).await?;
            Ok(format!(
                "deleted {} grants, {} access tokens, {} refresh tokens, {} codes, sessions, approvals and retired keys",
                p.grants, p.access_tokens, p.refresh_tokens, p.other
            ))
        }
        Command::Revoke {
            user,
            client,
            json,
            store,
        } => {
            let config = load_config(&store.overrides, "warn")?;
            revoke(&config, user, client, json).await
        }
        Command::Keys { command } => keys_command(command).await,
        Command::ImportDot {
            source,
            user_table,
            username_column,
            email_column,
            json,
            store,
        } => {
            let config = load_config(&store.overrides, "warn")?;
            let target = open_store(&config, true).await?;
            let users = crate::import_dot::UserTable {
                table: user_table,
                username: username_column,
                email: email_column,
            };
            let (batch, report) = crate::import_dot::read(
                &source,
                &users,
                &*entropy(),
                clock().now(),
                config.refresh_token_expire_seconds,
            )
            .await?;
            let report = crate::import_dot::run(&*target, batch, report).await?;
            Ok(if json {
                report.json().to_string()
            } else {
                report.text()
            })
        }
        Command::RegistrationToken {
            command:
                RegistrationTokenCommand::Create {
                    max_clients,
                    json,
                    store,
                },
        } => {
            let config = load_config(&store.overrides, "warn")?;
            create_registration_token(&config, max_clients, json).await
        }
        Command::Createtoken {
            client_id,
            user,
            scope,
            count,
            json,
            store,
        } => {
            let config = load_config(&store.overrides, "warn")?;
            create_tokens(&config, &client_id, user, scope, count, json).await
        }
    }
}

async fn keys_command(command: KeysCommand) -> CommandResult {
    let now = clock().now();
    match command {
        KeysCommand::List { json, store } => {
            let config = load_config(&store.overrides, "warn")?;
            let store = open_store(&config, true).await?;
            keys::list(&*store, now, json).await
        }
        KeysCommand::Rotate { algorithm, store } => {
            let config = load_config(&store.overrides, "warn")?;
            let store = open_store(&config, true).await?;
            let entropy = entropy();
            let kek = keys::load_kek(&config, &*store, &*entropy).await?;
            keys::check(&*store, &kek).await?;
            keys::rotate(&config, &*store, &kek, &*entropy, now, &algorithm).await
        }
        KeysCommand::Retire { kid, store } => {
            let config = load_config(&store.overrides, "warn")?;
            let store = open_store(&config, true).await?;
            keys::retire(&*store, &kid).await
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

async fn serve(config: Config) -> CommandResult {
    let store = open_store(&config, false).await?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let local = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let clock = clock();
    let entropy = entropy();
    let kek = keys::load_kek(&config, &*store, &*entropy).await?;
    let state = AppState::new(
        store.clone(),
        config.web_settings(),
        clock.clone(),
        entropy,
        kek,
    );
    let now = clock.now();
    match state.keys.check(now).await {
        // The first start of a deployment: the default key, made now rather than on the
        // first sign-in.
        Ok(0) => {
            state
                .keys
                .signer(tessera_jose::Algorithm::RS256, now)
                .await
                .context("cannot make the first signing key")?;
        }
        Ok(_) => {}
        // A node may start before its database (/ready says 503 until it answers); the keys
        // are opened, and a mismatch reported, when it does.
        Err(tessera_web::keyring::KeyError::Store(e)) => {
            tracing::warn!(error = %e, "the signing keys cannot be read yet");
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context(
                "cannot start: the key-encryption key does not open the stored signing keys; every node needs the same key-encryption key file",
            ));
        }
    }
    if config.janitor_interval_seconds > 0 {
        tokio::spawn(janitor::run(
            store,
            clock,
            Duration::from_secs(config.janitor_interval_seconds),
            config.janitor_batch_size,
        ));
    }
    tracing::info!(address = %local, issuer = %config.issuer, database = %redact_url(&config.database_url), "listening");
    tessera_web::serve(listener, state, shutdown_signal())
        .await
        .context("server error")?;
    Ok(String::new())
}

fn split_list(text: Option<String>) -> Vec<String> {
    text.map(|t| t.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Words a refused registration for the command line: the flag to change, where there is one.
fn registration_error(e: RegistrationError) -> anyhow::Error {
    match e {
        RegistrationError::RedirectUriRequired => anyhow!(
            "--redirect-uris is required for authorization-code, implicit and openid-hybrid applications"
        ),
        RegistrationError::SecretForPublicClient => {
            anyhow!("a public client has no secret: drop --client-secret")
        }
        RegistrationError::EmptySecret => anyhow!("--client-secret must not be empty"),
        RegistrationError::Name => anyhow!("--name must be 1 to 255 characters"),
        RegistrationError::IntrospectionForPublicClient => anyhow!(
            "--allowed-scopes: a public client cannot be allowed introspection (its client_id alone proves nothing)"
        ),
        other => other.into(),
    }
}

async fn create_application(config: &Config, args: CreateApplication) -> CommandResult {
    let client_type = ClientType::parse(&args.client_type).ok_or_else(|| {
        anyhow!(
            "invalid client type {:?}: expected confidential or public",
            args.client_type
        )
    })?;
    let registration = Registration {
        name: args.name,
        client_type,
        grant_types: client::parse_grant_types(&args.grant_types).map_err(anyhow::Error::msg)?,
        redirect_uris: split_list(args.redirect_uris),
        post_logout_redirect_uris: split_list(args.post_logout_redirect_uris),
        allowed_origins: split_list(args.allowed_origins),
        algorithm: args.algorithm,
        access_token_format: AccessTokenFormat::parse(&args.access_token_format).ok_or_else(
            || {
                anyhow!(
                    "invalid --access-token-format {:?}: expected opaque or jwt",
                    args.access_token_format
                )
            },
        )?,
        logout_revokes_grants: args.logout_revokes_grants,
        allowed_scopes: args.allowed_scopes.clone(),
        introspect_any: match args.introspection.as_str() {
            "all" => true,
            "own" => false,
            other => {
                return Err(anyhow!(
                    "invalid --introspection {other:?}: expected all or own"
                ));
            }
        },
        client_id: args.client_id,
        secret: args
            .client_secret
            .map_or(SecretChoice::Generate, SecretChoice::Chosen),
    };
    // `register` checks every rule first; a chosen secret then costs an Argon2id hash, so it
    // runs off the runtime's worker threads.
    let registered = tokio::task::spawn_blocking({
        let registration = registration.clone();
        let entropy = entropy();
        move || register(&registration, &*entropy)
    })
    .await
    .context("the hashing task failed")?
    .map_err(registration_error)?;
    let store = open_store(config, true).await?;
    let user_id = match &args.user {
        Some(name) => Some(find_user(&*store, name).await?.id),
        None => None,
    };
    let Registered {
        client_id,
        name,
        secret,
        secret_text,
    } = registered;
    store
        .insert_client(NewClient {
            client_id: client_id.clone(),
            name: name.clone(),
            client_type,
            grant_types: registration.grant_types,
            secret,
            redirect_uris: registration.redirect_uris,
            post_logout_redirect_uris: registration.post_logout_redirect_uris,
            allowed_origins: registration.allowed_origins,
            user_id,
            skip_authorization: args.skip_authorization,
            algorithm: registration.algorithm,
            access_token_format: registration.access_token_format,
            logout_revokes_grants: registration.logout_revokes_grants,
            allowed_scopes: registration.allowed_scopes,
            introspect_any: registration.introspect_any,
            created_at: clock().now(),
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => anyhow!("a client with id {client_id:?} already exists"),
            other => other.into(),
        })?;
    if args.json {
        Ok(json!({"client_id": client_id, "client_secret": secret_text}).to_string())
    } else {
        let mut out = format!("Application {name:?} created.\nclient_id: {client_id}");
        if let Some(s) = secret_text {
            out.push_str(&format!(
                "\nclient_secret: {s}\n(the secret is shown once; only its hash is stored)"
            ));
        }
        Ok(out)
    }
}

async fn create_user(
    config: &Config,
    username: String,
    email: Option<String>,
    password_stdin: bool,
) -> CommandResult {
    validate_username(&username).map_err(anyhow::Error::msg)?;
    let password_hash = if password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let password = line
            .strip_suffix('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .unwrap_or(&line)
            .to_owned();
        if password.is_empty() {
            return Err(anyhow!("the password read from standard input is empty"));
        }
        let hash = tokio::task::spawn_blocking(move || password::hash(&password, &*entropy()))
            .await
            .context("the hashing task failed")?
            .map_err(anyhow::Error::msg)?;
        Some(hash)
    } else {
        None
    };
    let store = open_store(config, true).await?;
    let user = store
        .insert_user(NewUser {
            username: username.clone(),
            email: email.unwrap_or_default(),
            password_hash,
            created_at: clock().now(),
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => anyhow!("a user named {username:?} already exists"),
            other => other.into(),
        })?;
    Ok(format!(
        "User {:?} created (id {}).",
        user.username, user.id
    ))
}

async fn revoke(
    config: &Config,
    user: Option<String>,
    client: Option<String>,
    as_json: bool,
) -> CommandResult {
    let store = open_store(config, true).await?;
    let now = clock().now();
    let (what, count) = match (user, client) {
        (Some(name), _) => {
            let u = find_user(&*store, &name).await?;
            let n = store.revoke_grants_of_user(u.id, now).await?;
            (json!({"user": name}), n)
        }
        (None, Some(id)) => {
            let c = find_client(&*store, &id).await?;
            let n = store.revoke_grants_of_client(c.id, now).await?;
            (json!({"client_id": id}), n)
        }
        (None, None) => return Err(anyhow!("give --user or --client")),
    };
    tracing::info!(target: "tessera::audit", event = "bulk_revocation", target = %what, grants = count, outcome = "revoked");
    if as_json {
        let mut out = what;
        out["revoked_grants"] = json!(count);
        Ok(out.to_string())
    } else {
        Ok(format!("revoked {count} grants"))
    }
}

async fn create_tokens(
    config: &Config,
    client_id: &str,
    user: Option<String>,
    scope: Option<String>,
    count: u32,
    as_json: bool,
) -> CommandResult {
    if count == 0 {
        return Err(anyhow!("--count must be at least 1"));
    }
    let store = open_store(config, true).await?;
    let client = find_client(&*store, client_id).await?;
    let scope = config
        .scope_policy()
        .resolve_for(&client, scope.as_deref())
        .map_err(|e| anyhow!("invalid --scope: {e}"))?;
    if client.access_token_format == AccessTokenFormat::Jwt {
        return Err(anyhow!(
            "{client_id} issues JWT access tokens, which need the server's signing keys: get them from the token endpoint (createtoken issues opaque tokens only)"
        ));
    }
    let user_id = match &user {
        Some(name) => Some(find_user(&*store, name).await?.id),
        None => None,
    };
    let kind = if user_id.is_some() {
        GrantType::Password
    } else {
        GrantType::ClientCredentials
    };
    // Many inserts in flight at once: the SQLite writer commits them in groups and PostgreSQL
    // spreads them over the pool, so minting a million tokens takes seconds, not hours.
    let mut lines = Vec::with_capacity(count as usize);
    let mut in_flight = tokio::task::JoinSet::new();
    let (clock, entropy) = (clock(), entropy());
    for i in 0..count {
        let now = clock.now();
        let issuance = grant::mint(&*entropy, now, &config.lifetimes(), &scope, None);
        let expires_at = issuance.lives_until();
        lines.push(if as_json {
            serde_json::to_string(&issuance.response)?
        } else {
            issuance.response.access_token
        });
        let store = store.clone();
        let grant = NewGrant {
            client_pk: client.id,
            user_id,
            kind,
            scope: scope.to_string(),
            created_at: now,
            expires_at,
            auth_time: None,
        };
        in_flight
            .spawn(async move { store.insert_grant(grant, issuance.access_token, None).await });
        if in_flight.len() >= 256 || i + 1 == count {
            while let Some(done) = in_flight.join_next().await {
                done.context("an insert task failed")??;
            }
        }
    }
    Ok(lines.join("\n"))
}

/// `tessera registration-token create`: an initial access token for dynamic registration,
/// printed once; the store keeps its digest and counts the clients registered with it.
async fn create_registration_token(
    config: &Config,
    max_clients: Option<u32>,
    as_json: bool,
) -> CommandResult {
    if max_clients == Some(0) {
        return Err(anyhow!("--max-clients must be at least 1"));
    }
    let store = open_store(config, true).await?;
    let token = tessera_core::token::generate(
        tessera_core::token::TokenKind::InitialAccessToken,
        &*entropy(),
    );
    store
        .insert_initial_access_token(&token.digest, max_clients.map(i64::from), clock().now())
        .await?;
    if as_json {
        Ok(json!({"initial_access_token": token.text, "max_clients": max_clients}).to_string())
    } else {
        Ok(token.text)
    }
}

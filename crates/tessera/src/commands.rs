//! What each command does. Each returns the text to print on stdout, or an error whose cause
//! chain `main` prints on one line.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use serde_json::json;
use tessera_core::client::{
    self, Client, ClientType, GrantType, SecretHash, validate_client_id, validate_registration,
};
use tessera_core::entropy::alphanumeric;
use tessera_core::grant::{self, NewGrant};
use tessera_core::password;
use tessera_core::token::{self, TokenKind};
use tessera_store::{NewClient, NewUser, Store, StoreError, User};
use tessera_store_postgres::{PostgresStore, is_postgres_url};
use tessera_store_sqlite::SqliteStore;
use tessera_web::{AppState, Clock, OsEntropy, SystemClock};

use crate::cli::{Command, CreateApplication};
use crate::config::{self, Config, LogFormat, Overrides, redact_url};

type CommandResult = crate::Result<String>;

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

fn init_logging(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
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
            create_application(&config, args).await
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
            let p =
                tessera_web::janitor::purge_all(&*store, &SystemClock, config.janitor_batch_size)
                    .await?;
            Ok(format!(
                "deleted {} grants, {} access tokens, {} refresh tokens, {} codes and sessions",
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
    let state = AppState::new(store.clone(), config.web_settings());
    if config.janitor_interval_seconds > 0 {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        tokio::spawn(tessera_web::janitor::run(
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

async fn create_application(config: &Config, args: CreateApplication) -> CommandResult {
    let client_type = ClientType::parse(&args.client_type).ok_or_else(|| {
        anyhow!(
            "invalid client type {:?}: expected confidential or public",
            args.client_type
        )
    })?;
    let grant_types = client::parse_grant_types(&args.grant_types).map_err(anyhow::Error::msg)?;
    let redirect_uris = split_list(args.redirect_uris);
    let post_logout_redirect_uris = split_list(args.post_logout_redirect_uris);
    let allowed_origins = split_list(args.allowed_origins);
    validate_registration(
        &grant_types,
        &redirect_uris,
        &post_logout_redirect_uris,
        &allowed_origins,
    )
    .map_err(|e| anyhow!(e.replace("a redirect URI is required", "--redirect-uris is required")))?;
    let mut entropy = OsEntropy;
    let client_id = match args.client_id {
        Some(id) => {
            validate_client_id(&id).map_err(anyhow::Error::msg)?;
            id
        }
        None => alphanumeric(&mut entropy, 40),
    };
    let (secret_text, secret) = match (client_type, args.client_secret) {
        (ClientType::Public, Some(_)) => {
            return Err(anyhow!(
                "a public client has no secret: drop --client-secret"
            ));
        }
        (ClientType::Public, None) => (None, SecretHash::None),
        (ClientType::Confidential, Some(chosen)) => {
            if chosen.is_empty() {
                return Err(anyhow!("--client-secret must not be empty"));
            }
            let hash = tokio::task::spawn_blocking({
                let chosen = chosen.clone();
                move || password::hash(&chosen, &mut OsEntropy)
            })
            .await
            .context("the hashing task failed")?
            .map_err(anyhow::Error::msg)?;
            (Some(chosen), SecretHash::Argon2(hash))
        }
        (ClientType::Confidential, None) => {
            let generated = token::generate(TokenKind::ClientSecret, &mut entropy);
            let hash = SecretHash::Sha256(generated.digest.0);
            (Some(generated.text), hash)
        }
    };
    let store = open_store(config, true).await?;
    let user_id = match &args.user {
        Some(name) => Some(find_user(&*store, name).await?.id),
        None => None,
    };
    let name = args.name.unwrap_or_else(|| client_id.clone());
    store
        .insert_client(NewClient {
            client_id: client_id.clone(),
            name: name.clone(),
            client_type,
            grant_types,
            secret,
            redirect_uris,
            post_logout_redirect_uris,
            allowed_origins,
            user_id,
            skip_authorization: args.skip_authorization,
            algorithm: args.algorithm,
            created_at: SystemClock.now(),
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

fn validate_username(name: &str) -> crate::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 150
        && !name.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(anyhow!(
            "invalid username {name:?}: use 1 to 150 characters without spaces"
        ))
    }
}

async fn create_user(
    config: &Config,
    username: String,
    email: Option<String>,
    password_stdin: bool,
) -> CommandResult {
    validate_username(&username)?;
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
        let hash = tokio::task::spawn_blocking(move || password::hash(&password, &mut OsEntropy))
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
            created_at: SystemClock.now(),
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
    let now = SystemClock.now();
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
    let scope = config
        .scope_policy()
        .resolve(scope.as_deref())
        .map_err(|e| anyhow!("invalid --scope: {e}"))?;
    let store = open_store(config, true).await?;
    let client = find_client(&*store, client_id).await?;
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
    for i in 0..count {
        let now = SystemClock.now();
        let issuance = grant::mint(&mut OsEntropy, now, &config.lifetimes(), &scope, None);
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

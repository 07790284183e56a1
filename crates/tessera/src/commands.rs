//! What each command does. Each returns the text to print on stdout, or an error whose cause
//! chain `main` prints on one line.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use serde_json::json;
use tessera_core::client::{self, AccessTokenFormat, Client, ClientType, GrantType};
use tessera_core::clock::{Clock, SystemClock};
use tessera_core::entropy::{Entropy, OsEntropy};
use tessera_core::grant::{self, NewGrant};
use tessera_core::registration::{
    ApplicationChanges, Registration, RegistrationError, SecretChoice,
};
use tessera_store::janitor;
use tessera_store::{Purged, Store, User};
use tessera_store_postgres::{PostgresStore, is_postgres_url};
use tessera_store_sqlite::SqliteStore;
use tessera_web::AppState;
use tessera_web::operator::{
    NewApplication, Operator, OperatorError, Via, application_json, grant_json, user_json,
};

use crate::cli::{
    AdminTokenCommand, ApplicationCommand, ClientTypeArg, Command, CreateApplication, GrantCommand,
    IntrospectionArg, KeysCommand, RegistrationTokenCommand, TokenFormatArg, UpdateApplication,
    UserCommand,
};
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

/// The operator's hands on `store`, for the command line.
fn operator(store: Arc<dyn Store>) -> Operator {
    Operator::new(store, clock(), entropy(), Via::CommandLine)
}

/// An operator action's refusal, for the command line (its words already name what was
/// wrong; a registration refusal names the flag to change).
pub fn operator_error(e: OperatorError) -> anyhow::Error {
    match e {
        OperatorError::Registration(e) => registration_error(e),
        OperatorError::Store(e) => e.into(),
        other => anyhow::Error::new(other),
    }
}

/// Loads the configuration for a command and starts logging at `default_level` (unless
/// `RUST_LOG` says otherwise); warns about `TESSERA_*` variables that name no setting.
fn load_config(overrides: &Overrides, default_level: &str) -> crate::Result<Config> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let config = config::load(&env, overrides)?;
    init_logging(config.log_format, default_level);
    warn_unknown_variables(&env);
    Ok(config)
}

fn warn_unknown_variables(env: &BTreeMap<String, String>) {
    for (name, closest) in config::unknown_variables(env) {
        match closest {
            Some(known) => tracing::warn!(
                variable = %name,
                "{name} is not a Tessera setting and is ignored; did you mean {known}?"
            ),
            None => tracing::warn!(
                variable = %name,
                "{name} is not a Tessera setting and is ignored (tessera check-config lists the settings)"
            ),
        }
    }
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
    let terminal = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(terminal);
    let format = match format {
        LogFormat::Auto if terminal => LogFormat::Text,
        LogFormat::Auto => LogFormat::Json,
        chosen => chosen,
    };
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
        LogFormat::Json | LogFormat::Auto => builder.json().try_init(),
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
            json,
            store,
        } => {
            let config = load_config(&store.overrides, "warn")?;
            create_user(&config, username, email, password_stdin, json).await
        }
        Command::Cleartokens { json, store } => {
            let config = load_config(&store.overrides, "warn")?;
            clear_tokens(&config, json).await
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
        Command::Application(command) => application_command(command).await,
        Command::User(command) => user_command(command).await,
        Command::Grant(GrantCommand::List {
            user,
            client,
            json,
            store,
        }) => {
            let config = load_config(&store.overrides, "warn")?;
            list_grants(&config, user, client, json).await
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
            let mut progress = Progress::new();
            progress.show(|| format!("reading {}", redact_url(&source)));
            let (batch, report) = crate::import_dot::read(
                &source,
                &users,
                &*entropy(),
                clock().now(),
                config.refresh_token_expire_seconds,
            )
            .await?;
            progress.show(|| "writing users, applications and tokens in one transaction".into());
            let report = crate::import_dot::run(&*target, batch, report).await?;
            let elapsed = progress.finish();
            Ok(if json {
                report.json().to_string()
            } else {
                format!("{} ({:.1} s)", report.text(), elapsed.as_secs_f64())
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
        Command::AdminToken(command) => admin_token_command(command).await,
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
        Command::CheckConfig { json, config } => check_config(&config.overrides, json),
        Command::Completions { shell } => {
            let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut command, "tessera", &mut out);
            Ok(String::from_utf8_lossy(&out).trim_end().to_owned())
        }
        Command::Man => {
            let command = <crate::cli::Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut out)
                .context("cannot render the manual page")?;
            Ok(String::from_utf8_lossy(&out).trim_end().to_owned())
        }
    }
}

/// `1 grant`, `2 grants`.
pub fn plural(n: u64, thing: &str) -> String {
    if n == 1 {
        format!("{n} {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// Progress of a long command, on stderr and only when stderr is a terminal (a person
/// watching); a pipe or a log file gets the summary alone.
struct Progress {
    terminal: bool,
    started: Instant,
    last: Option<Instant>,
}

impl Progress {
    fn new() -> Self {
        Self {
            terminal: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last: None,
        }
    }

    /// Rewrites the progress line, at most ten times a second.
    fn show(&mut self, line: impl FnOnce() -> String) {
        if !self.terminal
            || self
                .last
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(Instant::now());
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{} ({:.1} s)",
            line(),
            self.started.elapsed().as_secs_f64()
        );
        let _ = err.flush();
    }

    /// Clears the progress line; returns the time taken.
    fn finish(&self) -> Duration {
        if self.terminal && self.last.is_some() {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
        self.started.elapsed()
    }
}

async fn clear_tokens(config: &Config, as_json: bool) -> CommandResult {
    let store = open_store(config, true).await?;
    let mut progress = Progress::new();
    let mut total = Purged::default();
    progress.show(|| "deleting expired and revoked rows".to_owned());
    let p = janitor::purge_all_with(&*store, &*clock(), config.janitor_batch_size, |batch| {
        total.add(*batch);
        progress.show(|| format!("deleted {} so far", plural(total.total(), "row")));
    })
    .await?;
    let elapsed = progress.finish();
    if as_json {
        return Ok(json!({
            "grants": p.grants,
            "access_tokens": p.access_tokens,
            "refresh_tokens": p.refresh_tokens,
            "other": p.other,
            "seconds": elapsed.as_secs_f64(),
        })
        .to_string());
    }
    Ok(format!(
        "deleted {}, {}, {} and {} (codes, sessions, approvals, retired keys) in {:.1} s",
        plural(p.grants, "grant"),
        plural(p.access_tokens, "access token"),
        plural(p.refresh_tokens, "refresh token"),
        plural(p.other, "other row"),
        elapsed.as_secs_f64()
    ))
}

async fn application_command(command: ApplicationCommand) -> CommandResult {
    match command {
        ApplicationCommand::List { json, store } => {
            let config = load_config(&store.overrides, "warn")?;
            let op = operator(open_store(&config, true).await?);
            let apps = op.applications().await.map_err(operator_error)?;
            if json {
                let list: Vec<_> = apps
                    .iter()
                    .map(|(c, owner)| application_json(c, owner.as_deref()))
                    .collect();
                return Ok(serde_json::to_string(&list)?);
            }
            if apps.is_empty() {
                return Ok("no applications yet (tessera createapplication makes one)".into());
            }
            let mut out = format!(
                "{:<42} {:<12} {:<12} {}",
                "CLIENT_ID", "TYPE", "OWNER", "NAME"
            );
            for (c, owner) in &apps {
                out.push_str(&format!(
                    "\n{:<42} {:<12} {:<12} {}",
                    c.client_id,
                    c.client_type.as_str(),
                    owner.as_deref().unwrap_or("-"),
                    c.name
                ));
            }
            Ok(out)
        }
        ApplicationCommand::Show {
            client_id,
            json,
            store,
        } => {
            let config = load_config(&store.overrides, "warn")?;
            let op = operator(open_store(&config, true).await?);
            let client = op.application(&client_id).await.map_err(operator_error)?;
            let owner = op.owner_of(&client).await.map_err(operator_error)?;
            Ok(show_application(&client, owner.as_deref(), json))
        }
        ApplicationCommand::Update(args) => {
            let config = load_config(&args.store.overrides, "warn")?;
            update_application(&config, *args).await
        }
        ApplicationCommand::Delete {
            client_id,
            json,
            store,
        } => {
            let config = load_config(&store.overrides, "warn")?;
            let op = operator(open_store(&config, true).await?);
            op.delete_application(&client_id)
                .await
                .map_err(operator_error)?;
            if json {
                Ok(json!({"client_id": client_id, "deleted": true}).to_string())
            } else {
                Ok(format!(
                    "application {client_id} deleted, with every grant and token it had"
                ))
            }
        }
    }
}

/// One application: a JSON object, or one `field value` line per field.
fn show_application(client: &Client, owner: Option<&str>, as_json: bool) -> String {
    let v = application_json(client, owner);
    if as_json {
        return v.to_string();
    }
    let mut out = Vec::new();
    if let Some(fields) = v.as_object() {
        for (k, value) in fields {
            let text = match value {
                serde_json::Value::Null => "-".to_owned(),
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(items) if items.is_empty() => "-".to_owned(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(" "),
                other => other.to_string(),
            };
            out.push(format!("{k:<26} {text}"));
        }
    }
    out.join("\n")
}

fn token_format(arg: TokenFormatArg) -> AccessTokenFormat {
    match arg {
        TokenFormatArg::Opaque => AccessTokenFormat::Opaque,
        TokenFormatArg::Jwt => AccessTokenFormat::Jwt,
    }
}

async fn update_application(config: &Config, args: UpdateApplication) -> CommandResult {
    let list = |text: &Option<String>| text.clone().map(|t| split_list(Some(t)));
    let changes = ApplicationChanges {
        name: args.name.clone(),
        grant_types: args
            .grant_types
            .as_deref()
            .map(client::parse_grant_types)
            .transpose()
            .map_err(anyhow::Error::msg)?,
        redirect_uris: list(&args.redirect_uris),
        post_logout_redirect_uris: list(&args.post_logout_redirect_uris),
        allowed_origins: list(&args.allowed_origins),
        algorithm: args.algorithm.map(|a| Some(a.as_str().to_owned())),
        access_token_format: args.access_token_format.map(token_format),
        logout_revokes_grants: args.logout_revokes_grants,
        allowed_scopes: args
            .allowed_scopes
            .as_ref()
            .map(|s| (!s.trim().is_empty()).then(|| s.trim().to_owned())),
    };
    if changes.is_empty() {
        return Err(anyhow!(
            "nothing to change: give at least one option (see tessera application update --help)"
        ));
    }
    let op = operator(open_store(config, true).await?);
    let client = op
        .update_application(&args.client_id, &changes)
        .await
        .map_err(operator_error)?;
    if args.json {
        let owner = op.owner_of(&client).await.map_err(operator_error)?;
        Ok(application_json(&client, owner.as_deref()).to_string())
    } else {
        Ok(format!("application {} updated", client.client_id))
    }
}

/// One line of standard input, its line ending dropped.
fn read_password() -> crate::Result<String> {
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
    Ok(password)
}

async fn user_command(command: UserCommand) -> CommandResult {
    match command {
        UserCommand::List { json, store } => {
            let config = load_config(&store.overrides, "warn")?;
            let op = operator(open_store(&config, true).await?);
            let users = op.users().await.map_err(operator_error)?;
            if json {
                let list: Vec<_> = users.iter().map(user_json).collect();
                return Ok(serde_json::to_string(&list)?);
            }
            if users.is_empty() {
                return Ok("no users yet (tessera createuser makes one)".into());
            }
            let mut out = format!(
                "{:<6} {:<24} {:<9} {}",
                "ID", "USERNAME", "PASSWORD", "EMAIL"
            );
            for u in &users {
                out.push_str(&format!(
                    "\n{:<6} {:<24} {:<9} {}",
                    u.id,
                    u.username,
                    if u.has_password { "set" } else { "none" },
                    u.email
                ));
            }
            Ok(out)
        }
        UserCommand::Show {
            username,
            json,
            store,
        } => {
            let config = load_config(&store.overrides, "warn")?;
            let op = operator(open_store(&config, true).await?);
            let user = op.user(&username).await.map_err(operator_error)?;
            let summary = tessera_store::UserSummary::from(&user);
            if json {
                return Ok(user_json(&summary).to_string());
            }
            Ok(format!(
                "id         {}\nusername   {}\nemail      {}\npassword   {}\ncreated_at {}",
                summary.id,
                summary.username,
                if summary.email.is_empty() {
                    "-"
                } else {
                    &summary.email
                },
                if summary.has_password {
                    "set"
                } else {
                    "none: cannot sign in (tessera user set-password)"
                },
                summary.created_at
            ))
        }
        UserCommand::SetPassword {
            username,
            password_stdin: _,
            json,
            store,
        } => {
            let config = load_config(&store.overrides, "warn")?;
            let password = read_password()?;
            let op = operator(open_store(&config, true).await?);
            op.set_password(&username, password)
                .await
                .map_err(operator_error)?;
            if json {
                Ok(json!({"username": username, "password_set": true}).to_string())
            } else {
                Ok(format!("password of {username} set: they can sign in"))
            }
        }
        UserCommand::Delete {
            username,
            json,
            store,
        } => {
            let config = load_config(&store.overrides, "warn")?;
            let op = operator(open_store(&config, true).await?);
            op.delete_user(&username).await.map_err(operator_error)?;
            if json {
                Ok(json!({"username": username, "deleted": true}).to_string())
            } else {
                Ok(format!(
                    "user {username} deleted, with their grants, tokens and sessions"
                ))
            }
        }
    }
}

async fn list_grants(
    config: &Config,
    user: Option<String>,
    client: Option<String>,
    as_json: bool,
) -> CommandResult {
    let op = operator(open_store(config, true).await?);
    let grants = match (&user, &client) {
        (Some(name), _) => op.grants_of_user(name).await,
        (None, Some(id)) => op.grants_of_application(id).await,
        (None, None) => return Err(anyhow!("give --user or --client")),
    }
    .map_err(operator_error)?;
    if as_json {
        let list: Vec<_> = grants.iter().map(grant_json).collect();
        return Ok(serde_json::to_string(&list)?);
    }
    if grants.is_empty() {
        return Ok("no live grants".into());
    }
    let mut out = format!(
        "{:<8} {:<42} {:<16} {:<20} {:<24} {}",
        "GRANT", "CLIENT_ID", "USER", "KIND", "SCOPE", "EXPIRES_AT"
    );
    for g in &grants {
        out.push_str(&format!(
            "\n{:<8} {:<42} {:<16} {:<20} {:<24} {}",
            g.grant_id,
            g.client_id,
            g.username.as_deref().unwrap_or("-"),
            g.kind,
            g.scope,
            g.expires_at
        ));
    }
    Ok(out)
}

fn check_config(overrides: &Overrides, as_json: bool) -> CommandResult {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let (config, settings) = config::load_with_sources(&env, overrides)?;
    init_logging(config.log_format, "warn");
    warn_unknown_variables(&env);
    if as_json {
        let mut out = serde_json::Map::new();
        for s in &settings {
            out.insert(
                s.key.to_owned(),
                json!({"value": s.value, "source": s.origin.to_string()}),
            );
        }
        return Ok(serde_json::Value::Object(out).to_string());
    }
    let width = settings.iter().map(|s| s.key.len()).max().unwrap_or(0);
    let mut out = Vec::new();
    for s in &settings {
        let value = if s.value.is_empty() {
            "(empty)"
        } else {
            &s.value
        };
        out.push(format!("{:<width$} = {value}  ({})", s.key, s.origin));
    }
    Ok(out.join("\n"))
}

async fn admin_token_command(command: AdminTokenCommand) -> CommandResult {
    match command {
        AdminTokenCommand::Create { name, json, store } => {
            let config = load_config(&store.overrides, "warn")?;
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().any(char::is_control) {
                return Err(anyhow!(
                    "--name must say who holds the token (no control characters)"
                ));
            }
            let store = open_store(&config, true).await?;
            let token = tessera_core::token::generate(
                tessera_core::token::TokenKind::AdminToken,
                &*entropy(),
            );
            let made = store
                .insert_admin_token(&name, &token.digest, clock().now())
                .await?;
            tracing::info!(target: "tessera::audit", event = "admin_token_created", via = "cli", id = made.id, name = %made.name);
            if json {
                Ok(
                    json!({"id": made.id, "name": made.name, "admin_token": token.text})
                        .to_string(),
                )
            } else {
                Ok(format!(
                    "{}\n(admin token {} for {:?}: shown once, only its digest is stored)",
                    token.text, made.id, made.name
                ))
            }
        }
        AdminTokenCommand::List { json, store } => {
            let config = load_config(&store.overrides, "warn")?;
            let store = open_store(&config, true).await?;
            let tokens = store.admin_tokens().await?;
            if json {
                let list: Vec<_> = tokens
                    .iter()
                    .map(|t| {
                        json!({
                            "id": t.id,
                            "name": t.name,
                            "created_at": t.created_at,
                            "revoked_at": t.revoked_at,
                        })
                    })
                    .collect();
                return Ok(serde_json::to_string(&list)?);
            }
            if tokens.is_empty() {
                return Ok("no admin tokens (tessera admin-token create --name NAME)".into());
            }
            let mut out = format!(
                "{:<6} {:<12} {:<12} {}",
                "ID", "CREATED_AT", "REVOKED_AT", "NAME"
            );
            for t in &tokens {
                out.push_str(&format!(
                    "\n{:<6} {:<12} {:<12} {}",
                    t.id,
                    t.created_at,
                    t.revoked_at.map_or("-".to_owned(), |r| r.to_string()),
                    t.name
                ));
            }
            Ok(out)
        }
        AdminTokenCommand::Revoke { id, json, store } => {
            let config = load_config(&store.overrides, "warn")?;
            let store = open_store(&config, true).await?;
            if !store.revoke_admin_token(id, clock().now()).await? {
                return Err(anyhow!(
                    "no live admin token {id} (see tessera admin-token list)"
                ));
            }
            tracing::info!(target: "tessera::audit", event = "admin_token_revoked", via = "cli", id);
            if json {
                Ok(json!({"id": id, "revoked": true}).to_string())
            } else {
                Ok(format!("admin token {id} revoked"))
            }
        }
    }
}

async fn keys_command(command: KeysCommand) -> CommandResult {
    let now = clock().now();
    match command {
        KeysCommand::List { json, store } => {
            let config = load_config(&store.overrides, "warn")?;
            let store = open_store(&config, true).await?;
            keys::list(&operator(store), now, json).await
        }
        KeysCommand::Rotate {
            algorithm,
            json,
            store,
        } => {
            let config = load_config(&store.overrides, "warn")?;
            let algorithms = algorithm
                .iter()
                .map(|a| keys::parse_algorithm(a.as_str()))
                .collect::<crate::Result<Vec<_>>>()?;
            let store = open_store(&config, true).await?;
            let entropy = entropy();
            let kek = keys::load_kek(&config, &*store, &*entropy).await?;
            keys::check(&*store, &kek).await?;
            keys::rotate(&config, &operator(store), kek, now, &algorithms, json).await
        }
        KeysCommand::Retire { kid, store } => {
            let config = load_config(&store.overrides, "warn")?;
            let store = open_store(&config, true).await?;
            keys::retire(&operator(store), &kid).await
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
    tracing::info!("shutting down: finishing the requests in flight");
}

async fn listen(bind: &config::BindAddress, what: &str) -> crate::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(bind.addr)
        .await
        .with_context(|| format!("cannot listen on {bind} ({}) for {what}", bind.addr))
}

fn local_address(listener: &tokio::net::TcpListener) -> crate::Result<std::net::SocketAddr> {
    listener
        .local_addr()
        .context("cannot read the listening address")
}

async fn serve(config: Config) -> CommandResult {
    // Before anything is measured: the recorder is the process's.
    tessera_web::metrics::install();
    let store = open_store(&config, false).await?;
    let listener = listen(&config.bind, "the server").await?;
    let local = local_address(&listener)?;
    let metrics_listener = match &config.metrics_bind {
        Some(bind) => Some(listen(bind, "metrics").await?),
        None => None,
    };
    let admin_listener = match &config.admin_bind {
        Some(bind) => Some(listen(bind, "the admin API").await?),
        None => None,
    };
    let clock = clock();
    let entropy = entropy();
    let kek = keys::load_kek(&config, &*store, &*entropy).await?;
    let mut settings = config.web_settings();
    settings.metrics_on_main_listener = metrics_listener.is_none();
    let limits = settings.limits;
    let state = AppState::new(store.clone(), settings, clock.clone(), entropy, kek);
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
    let janitor = (config.janitor_interval_seconds > 0).then(|| {
        tokio::spawn(janitor::run(
            store.clone(),
            clock,
            Duration::from_secs(config.janitor_interval_seconds),
            config.janitor_batch_size,
        ))
    });

    // One signal stops every listener; each then lets its requests in flight finish.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let mut servers = tokio::task::JoinSet::new();
    if let Some(l) = metrics_listener {
        tracing::info!(address = %local_address(&l)?, "metrics listening");
        servers.spawn(tessera_web::serve_metrics(l, limits, until_stopped()));
    }
    if let Some(l) = admin_listener {
        tracing::info!(address = %local_address(&l)?, "admin API listening");
        servers.spawn(tessera_web::serve_admin(l, state.clone(), until_stopped()));
    }
    tracing::info!(address = %local, issuer = %config.issuer, database = %redact_url(&config.database_url), "listening");
    servers.spawn(tessera_web::serve(listener, state, until_stopped()));
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let mut failed = None;
    while let Some(done) = servers.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failed = Some(anyhow::Error::new(e).context("server error")),
            Err(e) => failed = Some(anyhow::Error::new(e).context("a listener task failed")),
        }
    }
    // Every request has had its answer, so every write it made is committed; the janitor
    // stops between statements, and the store commits what is queued, then closes.
    if let Some(janitor) = janitor {
        janitor.abort();
        let _ = janitor.await;
    }
    store.close().await;
    tracing::info!("store closed; stopped");
    match failed {
        Some(e) => Err(e),
        None => Ok(String::new()),
    }
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
    let client_type = match args.client_type {
        ClientTypeArg::Confidential => ClientType::Confidential,
        ClientTypeArg::Public => ClientType::Public,
    };
    let registration = Registration {
        name: args.name,
        client_type,
        grant_types: client::parse_grant_types(&args.grant_types).map_err(anyhow::Error::msg)?,
        redirect_uris: split_list(args.redirect_uris),
        post_logout_redirect_uris: split_list(args.post_logout_redirect_uris),
        allowed_origins: split_list(args.allowed_origins),
        algorithm: args.algorithm.map(|a| a.as_str().to_owned()),
        access_token_format: token_format(args.access_token_format),
        logout_revokes_grants: args.logout_revokes_grants,
        allowed_scopes: args.allowed_scopes.clone(),
        introspect_any: args.introspection == IntrospectionArg::All,
        client_id: args.client_id,
        secret: args
            .client_secret
            .map_or(SecretChoice::Generate, SecretChoice::Chosen),
    };
    // The rules first, before the store is opened: a refused registration touches nothing.
    registration.check().map_err(registration_error)?;
    let op = operator(open_store(config, true).await?);
    let (client, secret_text) = op
        .create_application(NewApplication {
            registration,
            owner: args.user.clone(),
            skip_authorization: args.skip_authorization,
        })
        .await
        .map_err(operator_error)?;
    if args.json {
        Ok(json!({"client_id": client.client_id, "client_secret": secret_text}).to_string())
    } else {
        let mut out = format!(
            "Application {:?} created.\nclient_id: {}",
            client.name, client.client_id
        );
        if let Some(user) = &args.user {
            out.push_str(&format!(
                "\n(on {user}'s applications page, {})",
                tessera_web::paths::APPLICATIONS
            ));
        }
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
    as_json: bool,
) -> CommandResult {
    tessera_core::registration::validate_username(&username).map_err(anyhow::Error::msg)?;
    let password = if password_stdin {
        Some(read_password()?)
    } else {
        None
    };
    let op = operator(open_store(config, true).await?);
    let user = op
        .create_user(&username, email, password)
        .await
        .map_err(operator_error)?;
    if user.password_hash.is_none() {
        // Not an error (an account may be made before its password is known), but a user
        // who cannot sign in is rarely what was meant.
        eprintln!(
            "warning: {} has no password and cannot sign in until one is set: tessera user set-password {} --password-stdin",
            user.username, user.username
        );
    }
    if as_json {
        return Ok(user_json(&tessera_store::UserSummary::from(&user)).to_string());
    }
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
    let op = operator(open_store(config, true).await?);
    let mut progress = Progress::new();
    let (what, count) = match (user, client) {
        (Some(name), _) => {
            progress.show(|| format!("revoking every grant of {name}"));
            let n = op
                .revoke_grants_of_user(&name)
                .await
                .map_err(operator_error)?;
            (json!({"user": name}), n)
        }
        (None, Some(id)) => {
            progress.show(|| format!("revoking every grant of {id}"));
            let n = op
                .revoke_grants_of_application(&id)
                .await
                .map_err(operator_error)?;
            (json!({"client_id": id}), n)
        }
        (None, None) => return Err(anyhow!("give --user or --client")),
    };
    let elapsed = progress.finish();
    if as_json {
        let mut out = what;
        out["revoked_grants"] = json!(count);
        Ok(out.to_string())
    } else {
        Ok(format!(
            "revoked {} in {:.1} s",
            plural(count, "grant"),
            elapsed.as_secs_f64()
        ))
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

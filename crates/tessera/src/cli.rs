//! The command line, mirroring DOT's management commands (README.md, "Commands").
//!
//! The configuration flags are not declared here: each comes from its key's declaration in
//! [`crate::config`], so a key's flag, file key and variable cannot disagree.

use std::path::PathBuf;

use clap::{Arg, ArgMatches, Args, FromArgMatches, Parser, Subcommand};

use crate::config::{FlagScope, KEYS, Key, Overrides};

#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "An OAuth 2.0 and OpenID Connect authorization server"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// `--config` and the flags of the configuration keys a command takes: with `SERVE`, also
/// those only `serve` takes (`--bind`, `--issuer`).
#[derive(Debug, Clone, Default)]
pub struct ConfigArgs<const SERVE: bool> {
    pub overrides: Overrides,
}

/// The flags of every command but `serve`.
pub type StoreArgs = ConfigArgs<false>;
/// The flags of `serve`.
pub type ServeArgs = ConfigArgs<true>;

const CONFIG_ARG: &str = "config";

impl<const SERVE: bool> ConfigArgs<SERVE> {
    fn keys() -> impl Iterator<Item = &'static Key> {
        KEYS.iter()
            .filter(|k| k.flag.is_some_and(|f| SERVE || f.scope == FlagScope::Every))
    }
}

impl<const SERVE: bool> FromArgMatches for ConfigArgs<SERVE> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut args = Self::default();
        args.update_from_arg_matches(matches)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        if let Some(path) = matches.get_one::<PathBuf>(CONFIG_ARG) {
            self.overrides.config = Some(path.clone());
        }
        for key in Self::keys() {
            if let Some(value) = matches.get_one::<String>(key.name) {
                self.overrides.values.retain(|(name, _)| *name != key.name);
                self.overrides.values.push((key.name, value.clone()));
            }
        }
        Ok(())
    }
}

impl<const SERVE: bool> Args for ConfigArgs<SERVE> {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        let defaults = crate::config::default_texts();
        for key in Self::keys() {
            let mut help = key.doc.trim().to_owned();
            if let Some(default) = defaults.get(key.name) {
                help.push_str(&format!(" [default: {default}]"));
            }
            help.push_str(&format!(" [env: {}]", key.env_var()));
            let mut arg = Arg::new(key.name).long(key.flag_name()).help(help);
            if let Some(flag) = key.flag {
                arg = arg.value_name(flag.value_name);
            }
            cmd = cmd.arg(arg);
        }
        cmd.arg(
            Arg::new(CONFIG_ARG)
                .long(CONFIG_ARG)
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("Configuration file (TOML) [env: TESSERA_CONFIG]"),
        )
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        #[command(flatten)]
        config: ServeArgs,
    },
    /// Apply the store's migrations.
    Migrate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Register an application (DOT's createapplication).
    Createapplication(Box<CreateApplication>),
    /// Create a user.
    Createuser {
        username: String,
        #[arg(long)]
        email: Option<String>,
        /// Read the password from one line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Delete expired and revoked tokens.
    Cleartokens {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke every grant of a user or of a client.
    Revoke {
        #[arg(
            long,
            value_name = "USERNAME",
            conflicts_with = "client",
            required_unless_present = "client"
        )]
        user: Option<String>,
        #[arg(long, value_name = "CLIENT_ID")]
        client: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Manage the signing keys of ID tokens and JWT access tokens.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Initial access tokens for dynamic client registration (dynamic_registration = token).
    RegistrationToken {
        #[command(subcommand)]
        command: RegistrationTokenCommand,
    },
    /// Import a django-oauth-toolkit database: users, applications and live tokens, in one
    /// transaction; a second run changes nothing.
    ImportDot {
        /// The Django project's database: sqlite://PATH or postgres://USER@HOST:PORT/DB.
        source: String,
        /// The user table of a custom user model.
        #[arg(long, value_name = "TABLE", default_value = "auth_user")]
        user_table: String,
        #[arg(long, value_name = "COLUMN", default_value = "username")]
        username_column: String,
        #[arg(long, value_name = "COLUMN", default_value = "email")]
        email_column: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Issue access tokens directly (service tokens, tests, load tests).
    Createtoken {
        client_id: String,
        #[arg(long, value_name = "USERNAME")]
        user: Option<String>,
        #[arg(long)]
        scope: Option<String>,
        #[arg(long, default_value_t = 1)]
        count: u32,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the signing keys: which sign, which are still published and until when.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Make a new signing key; the previous one stays published until the tokens it signed
    /// expire.
    Rotate {
        /// RS256, ES256 or EdDSA (repeatable); default: every algorithm in use.
        #[arg(long, value_name = "ALG")]
        algorithm: Vec<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove a retired key now: it leaves the JWKS and what it signed no longer verifies.
    Retire {
        kid: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum RegistrationTokenCommand {
    /// Make an initial access token (RFC 7591): printed once, stored as its digest. A client
    /// registers at /o/register/ with it as a Bearer token.
    Create {
        /// How many clients it may register; default: no limit.
        #[arg(long, value_name = "N")]
        max_clients: Option<u32>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Args)]
pub struct CreateApplication {
    /// confidential or public.
    pub client_type: String,
    /// Comma-separated: authorization-code, implicit, password, client-credentials,
    /// openid-hybrid, urn:ietf:params:oauth:grant-type:device_code.
    pub grant_types: String,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub client_id: Option<String>,
    #[arg(long)]
    pub client_secret: Option<String>,
    #[arg(long, value_name = "\"U1 U2\"")]
    pub redirect_uris: Option<String>,
    #[arg(long, value_name = "\"U1 U2\"")]
    pub post_logout_redirect_uris: Option<String>,
    #[arg(long, value_name = "\"O1 O2\"")]
    pub allowed_origins: Option<String>,
    #[arg(long, value_name = "USERNAME")]
    pub user: Option<String>,
    #[arg(long)]
    pub skip_authorization: bool,
    /// ID token and JWT access token signing algorithm: RS256 (default), ES256 or EdDSA.
    #[arg(long, value_name = "ALG")]
    pub algorithm: Option<String>,
    /// opaque (default) or jwt (RFC 9068 access tokens, still revocable by introspection).
    #[arg(long, value_name = "FORMAT", default_value = "opaque")]
    pub access_token_format: String,
    /// Signing out through this application (RP-initiated logout) revokes the user's grants
    /// of it.
    #[arg(long)]
    pub logout_revokes_grants: bool,
    /// The scopes it may be granted; default: every configured scope but introspection,
    /// which only this flag can allow (never to a public client).
    #[arg(long, value_name = "\"S1 S2\"")]
    pub allowed_scopes: Option<String>,
    /// At the introspection endpoint: all (every token, as a resource server) or own (only
    /// tokens issued to it).
    #[arg(long, value_name = "all|own", default_value = "all")]
    pub introspection: String,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

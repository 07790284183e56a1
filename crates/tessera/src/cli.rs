//! The command line, mirroring DOT's management commands (README.md, "Commands").
//!
//! The configuration flags are not declared here: each comes from its key's declaration in
//! [`crate::config`], so a key's flag, file key and variable cannot disagree.

use std::path::PathBuf;

use clap::{Arg, ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::config::{FlagScope, KEYS, Key, Overrides};

#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "An OAuth 2.0 and OpenID Connect authorization server",
    after_help = "Each command reads its settings from flags, TESSERA_* variables and the --config file; `tessera check-config` shows what is in force and where it came from."
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
        /// 1 to 150 characters without spaces.
        username: String,
        /// The user's email address (the OpenID Connect email claim).
        #[arg(long)]
        email: Option<String>,
        /// Read the password from one line of standard input; without it the user cannot sign
        /// in until `tessera user set-password`.
        #[arg(long)]
        password_stdin: bool,
        /// Print the user as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Delete expired and revoked tokens, codes, sessions and approvals now (the janitor does
    /// it in the background).
    Cleartokens {
        /// Print the totals as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke every grant of a user or of a client.
    Revoke {
        /// Revoke every grant this user gave.
        #[arg(
            long,
            value_name = "USERNAME",
            conflicts_with = "client",
            required_unless_present = "client"
        )]
        user: Option<String>,
        /// Revoke every grant of this application.
        #[arg(long, value_name = "CLIENT_ID")]
        client: Option<String>,
        /// Print the outcome as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List, show, change and delete applications.
    #[command(subcommand)]
    Application(ApplicationCommand),
    /// List, show and delete users, and set their passwords.
    #[command(subcommand)]
    User(UserCommand),
    /// List the live grants of a user or of an application.
    #[command(subcommand)]
    Grant(GrantCommand),
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
    /// Bearer tokens for the admin API (admin_bind).
    #[command(subcommand)]
    AdminToken(AdminTokenCommand),
    /// Import a django-oauth-toolkit database: users, applications and live tokens, in one
    /// transaction; a second run changes nothing.
    ImportDot {
        /// The Django project's database: sqlite://PATH or postgres://USER@HOST:PORT/DB.
        source: String,
        /// The user table of a custom user model.
        #[arg(long, value_name = "TABLE", default_value = "auth_user")]
        user_table: String,
        /// The user table's username column.
        #[arg(long, value_name = "COLUMN", default_value = "username")]
        username_column: String,
        /// The user table's email column.
        #[arg(long, value_name = "COLUMN", default_value = "email")]
        email_column: String,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Issue access tokens directly (service tokens, tests, load tests).
    Createtoken {
        /// The application the tokens are issued to.
        client_id: String,
        /// Issue the tokens on behalf of this user (a password grant); default: the client
        /// itself (client credentials).
        #[arg(long, value_name = "USERNAME")]
        user: Option<String>,
        /// Space-separated scopes; default: the default scopes the application may have.
        #[arg(long, value_name = "\"S1 S2\"")]
        scope: Option<String>,
        /// How many tokens, each its own grant.
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// Print one JSON token response per line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print the effective settings, each with where it came from (secrets redacted).
    CheckConfig {
        /// Print the settings as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ServeArgs,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), made from the same definitions as --help.
    Man,
}

/// The signing algorithms an application or a key may use (any case). HS256 is accepted
/// here only to be refused with its reason (see docs/behaviour.md, "ID tokens").
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlgorithmArg {
    #[value(name = "RS256")]
    Rs256,
    #[value(name = "ES256")]
    Es256,
    #[value(name = "EdDSA")]
    EdDsa,
    #[value(name = "HS256", hide = true)]
    Hs256,
}

impl AlgorithmArg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
            Self::Hs256 => "HS256",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientTypeArg {
    /// It keeps a secret (a web server).
    Confidential,
    /// It cannot keep a secret (a single-page or mobile app, a TV).
    Public,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenFormatArg {
    /// Random tokens only Tessera can read (tsat_...).
    Opaque,
    /// RFC 9068 JWT access tokens, still revocable by introspection.
    Jwt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IntrospectionArg {
    /// Every token, as a resource server.
    All,
    /// Only tokens issued to it.
    Own,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the signing keys: which sign, which are still published and until when.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Make a new signing key; the previous one stays published until the tokens it signed
    /// expire.
    Rotate {
        /// Repeatable; default: every algorithm in use.
        #[arg(long, value_name = "ALG", ignore_case = true)]
        algorithm: Vec<AlgorithmArg>,
        /// Print the new keys as a JSON array.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove a retired key now: it leaves the JWKS and what it signed no longer verifies.
    Retire {
        /// The key's id, as `keys list` shows it.
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
        /// Print {"initial_access_token": ..., "max_clients": ...}.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminTokenCommand {
    /// Make an admin API token: printed once, stored as its digest.
    Create {
        /// Who or what holds it (shown in the list and in audit records).
        #[arg(long, value_name = "NAME")]
        name: String,
        /// Print {"id": ..., "name": ..., "admin_token": ...}.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the admin tokens (never their text), revoked ones too.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke an admin token at once.
    Revoke {
        /// The token's id, as `admin-token list` shows it.
        id: i64,
        /// Print the outcome as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApplicationCommand {
    /// List every application.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show one application.
    Show {
        /// The application's client id.
        client_id: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Change an application: each option given replaces the stored value.
    Update(Box<UpdateApplication>),
    /// Delete an application with every grant and token it had.
    Delete {
        /// The application's client id.
        client_id: String,
        /// Print the outcome as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List every user.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show one user.
    Show {
        /// The user's username.
        username: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set a user's password, read from one line of standard input.
    SetPassword {
        /// The user's username.
        username: String,
        /// Read the password from one line of standard input (required: a password is
        /// never an argument, which other users of the machine could read).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Print the outcome as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Delete a user with their grants, tokens and sessions; their applications stay.
    Delete {
        /// The user's username.
        username: String,
        /// Print the outcome as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum GrantCommand {
    /// List live grants (unrevoked, not expired), newest first.
    List {
        /// The grants this user gave.
        #[arg(
            long,
            value_name = "USERNAME",
            conflicts_with = "client",
            required_unless_present = "client"
        )]
        user: Option<String>,
        /// The grants of this application.
        #[arg(long, value_name = "CLIENT_ID")]
        client: Option<String>,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Args)]
pub struct CreateApplication {
    /// Whether it can keep a secret.
    pub client_type: ClientTypeArg,
    /// Comma-separated: authorization-code, implicit, password, client-credentials,
    /// openid-hybrid, urn:ietf:params:oauth:grant-type:device_code.
    pub grant_types: String,
    /// Shown on the consent page; default: the client id.
    #[arg(long)]
    pub name: Option<String>,
    /// Choose the client id (URL-safe characters); default: 40 random characters.
    #[arg(long)]
    pub client_id: Option<String>,
    /// Choose the secret (stored as an Argon2id hash); default: a generated 256-bit secret.
    #[arg(long)]
    pub client_secret: Option<String>,
    /// Where the browser may return after authorization (space-separated).
    #[arg(long, value_name = "\"U1 U2\"")]
    pub redirect_uris: Option<String>,
    /// Where RP-initiated logout may return (space-separated).
    #[arg(long, value_name = "\"U1 U2\"")]
    pub post_logout_redirect_uris: Option<String>,
    /// Browser origins that may call the token and revocation endpoints (public clients).
    #[arg(long, value_name = "\"O1 O2\"")]
    pub allowed_origins: Option<String>,
    /// The user whose applications page shows it (and who may edit it there).
    #[arg(long, value_name = "USERNAME")]
    pub user: Option<String>,
    /// Never ask users for consent.
    #[arg(long)]
    pub skip_authorization: bool,
    /// ID token and JWT access token signing algorithm (any case); default: RS256.
    #[arg(long, value_name = "ALG", ignore_case = true)]
    pub algorithm: Option<AlgorithmArg>,
    /// Its access tokens' format.
    #[arg(long, value_name = "FORMAT", default_value = "opaque")]
    pub access_token_format: TokenFormatArg,
    /// Signing out through this application (RP-initiated logout) revokes the user's grants
    /// of it.
    #[arg(long)]
    pub logout_revokes_grants: bool,
    /// The scopes it may be granted; default: every configured scope but introspection,
    /// which only this flag can allow (never to a public client).
    #[arg(long, value_name = "\"S1 S2\"")]
    pub allowed_scopes: Option<String>,
    /// At the introspection endpoint, which tokens it may learn about.
    #[arg(long, default_value = "all")]
    pub introspection: IntrospectionArg,
    /// Print {"client_id": ..., "client_secret": ...} (the secret is null for public clients).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct UpdateApplication {
    /// The application's client id.
    pub client_id: String,
    /// A new name.
    #[arg(long)]
    pub name: Option<String>,
    /// Comma-separated grant types (replaces the list).
    #[arg(long, value_name = "G1,G2")]
    pub grant_types: Option<String>,
    /// Redirect URIs, space-separated (replaces the list; "" empties it).
    #[arg(long, value_name = "\"U1 U2\"")]
    pub redirect_uris: Option<String>,
    /// Post-logout redirect URIs, space-separated (replaces the list).
    #[arg(long, value_name = "\"U1 U2\"")]
    pub post_logout_redirect_uris: Option<String>,
    /// Allowed browser origins, space-separated (replaces the list).
    #[arg(long, value_name = "\"O1 O2\"")]
    pub allowed_origins: Option<String>,
    /// Signing algorithm (any case).
    #[arg(long, value_name = "ALG", ignore_case = true)]
    pub algorithm: Option<AlgorithmArg>,
    /// Access token format.
    #[arg(long, value_name = "FORMAT")]
    pub access_token_format: Option<TokenFormatArg>,
    /// Whether signing out through it revokes the user's grants of it.
    #[arg(long, value_name = "BOOL")]
    pub logout_revokes_grants: Option<bool>,
    /// Allowed scopes, space-separated ("" for the default: every scope but introspection).
    #[arg(long, value_name = "\"S1 S2\"")]
    pub allowed_scopes: Option<String>,
    /// Print the application as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Every command and every argument explains itself in `--help` (and so in the man page
    /// and the completions, made from the same definitions).
    #[test]
    fn every_command_and_argument_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if arg
                    .get_help()
                    .is_none_or(|h| h.to_string().trim().is_empty())
                {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                let name = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() {
                    missing.push(name.clone());
                }
                walk(sub, &name, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "tessera", &mut missing);
        assert_eq!(missing, Vec::<String>::new(), "without help text");
        Cli::command().debug_assert();
    }
}

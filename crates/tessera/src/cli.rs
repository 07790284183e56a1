//! The command line (SPEC section 2), mirroring DOT's management commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Store URL: sqlite://PATH (default sqlite://tessera.db).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Configuration file (TOML).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on (default 127.0.0.1:8000).
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
        /// Issuer URL (default http://<bind>/o).
        #[arg(long, value_name = "URL")]
        issuer: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Apply the store's migrations.
    Migrate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Register an application (DOT's createapplication).
    Createapplication(CreateApplication),
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
    #[arg(long, value_parser = ["RS256", "ES256", "EdDSA", "HS256"])]
    pub algorithm: Option<String>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

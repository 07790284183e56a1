//! The command line: each command, its `--json`, and its errors.

use serde_json::Value;
use tessera_core::clock::{Clock, SystemClock};
use tessera_core::grant::{TokenState, TokenType};
use tessera_core::token::TokenDigest;
use tessera_web::paths;

use crate::common::{BinServer, create_app, run};

async fn db() -> (Box<dyn std::any::Any + Send + Sync>, String) {
    crate::common::fresh_db().await
}

async fn state_of(db: &str, token: &str, token_type: TokenType) -> Option<TokenState> {
    let store = crate::common::open_store(db).await;
    store
        .find_token(token_type, &TokenDigest::of(token))
        .await
        .expect("find")
        .map(|c| c.state(SystemClock.now()))
}

fn assert_one_line_error(code: i32, err: &str) {
    assert_ne!(code, 0);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line on stderr: {err:?}"
    );
    assert!(!err.trim().is_empty());
}

#[tokio::test]
async fn createapplication_json_and_text() {
    let (_dir, url) = db().await;
    let (id, secret) = create_app(&url, "confidential", "client-credentials,password");
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
    let secret = secret.expect("a confidential client gets a secret");
    assert!(secret.starts_with("tscs_"));
    let (_, public_secret) = create_app(&url, "public", "password");
    assert!(public_secret.is_none(), "JSON null for public clients");

    let (code, out, _) = run(
        &[
            "createapplication",
            "confidential",
            "password",
            "--name",
            "Billing",
            "--client-id",
            "billing.v2",
            "--client-secret",
            "chosen secret",
            "--database-url",
            &url,
        ],
        None,
    );
    assert_eq!(code, 0);
    assert!(out.contains("billing.v2"));

    // The store keeps only hashes.
    let stored = crate::common::everything_stored(&url).await;
    assert!(stored.contains("billing.v2"), "the dump sees the data");
    assert!(
        !stored.contains(&secret),
        "a generated secret is never stored in clear"
    );
    assert!(
        !stored.contains("chosen secret"),
        "an operator's secret is never stored in clear"
    );
}

#[tokio::test]
async fn createapplication_errors() {
    let (_dir, url) = db().await;
    create_app(&url, "confidential", "password");
    let cases: Vec<Vec<&str>> = vec![
        vec!["createapplication", "confidential", "password,teleport"],
        vec![
            "createapplication",
            "public",
            "password",
            "--client-secret",
            "x",
        ],
        vec!["createapplication", "confidential", "authorization-code"],
        vec![
            "createapplication",
            "confidential",
            "authorization-code",
            "--redirect-uris",
            "/relative",
        ],
        vec![
            "createapplication",
            "public",
            "password",
            "--allowed-origins",
            "https://spa.example/path",
        ],
        vec![
            "createapplication",
            "public",
            "password",
            "--client-id",
            "has space",
        ],
        vec![
            "createapplication",
            "public",
            "password",
            "--user",
            "nobody",
        ],
    ];
    for args in cases {
        let mut args = args.clone();
        args.extend(["--database-url", &url]);
        let (code, out, err) = run(&args, None);
        assert_one_line_error(code, &err);
        assert!(out.is_empty(), "{args:?} printed {out}");
    }
    let (code, _, _) = run(
        &[
            "createapplication",
            "public",
            "password",
            "--client-id",
            "dup",
            "--database-url",
            &url,
        ],
        None,
    );
    assert_eq!(code, 0);
    let (code, _, err) = run(
        &[
            "createapplication",
            "public",
            "password",
            "--client-id",
            "dup",
            "--database-url",
            &url,
        ],
        None,
    );
    assert_one_line_error(code, &err);
    assert!(err.contains("already exists"));
}

#[tokio::test]
async fn createuser_reads_one_line_from_stdin() {
    let (_dir, url) = db().await;
    let (code, out, err) = run(
        &[
            "createuser",
            "alice",
            "--email",
            "a@example.com",
            "--password-stdin",
            "--database-url",
            &url,
        ],
        Some("s3cret pass\r\nignored\n"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("alice"));
    let (code, _, err) = run(&["createuser", "alice", "--database-url", &url], None);
    assert_one_line_error(code, &err);
    let (code, _, err) = run(&["createuser", "bad name", "--database-url", &url], None);
    assert_one_line_error(code, &err);
    let (code, _, err) = run(
        &[
            "createuser",
            "bob",
            "--password-stdin",
            "--database-url",
            &url,
        ],
        Some(""),
    );
    assert_one_line_error(code, &err);
}

#[tokio::test]
async fn createtoken_revoke_and_cleartokens() {
    let (_dir, url) = db().await;
    let (client_id, _) = create_app(&url, "confidential", "client-credentials,password");
    let (code, _, _) = run(&["createuser", "alice", "--database-url", &url], None);
    assert_eq!(code, 0);

    let (code, out, err) = run(
        &[
            "createtoken",
            &client_id,
            "--count",
            "3",
            "--scope",
            "read",
            "--database-url",
            &url,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let plain: Vec<String> = out.lines().map(str::to_owned).collect();
    assert_eq!(plain.len(), 3);
    assert!(plain.iter().all(|t| t.starts_with("tsat_")));

    let (code, out, _) = run(
        &[
            "createtoken",
            &client_id,
            "--user",
            "alice",
            "--count",
            "2",
            "--json",
            "--database-url",
            &url,
        ],
        None,
    );
    assert_eq!(code, 0);
    let user_tokens: Vec<String> = out
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("one JSON token response per line");
            assert_eq!(v["token_type"], "Bearer");
            assert_eq!(v["scope"], "read write");
            v["access_token"].as_str().expect("token").to_owned()
        })
        .collect();
    assert_eq!(user_tokens.len(), 2);

    let (code, out, _) = run(
        &[
            "revoke",
            "--user",
            "alice",
            "--json",
            "--database-url",
            &url,
        ],
        None,
    );
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["revoked_grants"], 2);
    for t in &user_tokens {
        assert_eq!(
            state_of(&url, t, TokenType::AccessToken).await,
            Some(TokenState::Revoked)
        );
    }
    assert_eq!(
        state_of(&url, &plain[0], TokenType::AccessToken).await,
        Some(TokenState::Active)
    );

    let (code, out, _) = run(
        &["revoke", "--client", &client_id, "--database-url", &url],
        None,
    );
    assert_eq!(code, 0);
    assert!(out.contains("revoked 3 grants"), "{out}");

    let (code, out, _) = run(&["cleartokens", "--database-url", &url], None);
    assert_eq!(code, 0);
    assert!(out.contains("5 access tokens"), "{out}");
    assert_eq!(
        state_of(&url, &plain[0], TokenType::AccessToken).await,
        None
    );

    for args in [
        vec!["createtoken", "nobody"],
        vec!["createtoken", client_id.as_str(), "--scope", "nuke"],
        vec!["createtoken", client_id.as_str(), "--user", "nobody"],
        vec!["revoke", "--user", "nobody"],
        vec!["revoke", "--client", "nobody"],
    ] {
        let mut args = args.clone();
        args.extend(["--database-url", &url]);
        let (code, _, err) = run(&args, None);
        assert_one_line_error(code, &err);
    }
}

#[tokio::test]
async fn migrate_and_bad_configuration() {
    let (_dir, url) = db().await;
    let (code, out, _) = run(&["migrate", "--database-url", &url], None);
    assert_eq!(code, 0);
    assert!(out.contains("migrations applied"));
    let (code, _, err) = run(&["migrate", "--database-url", "mysql://nowhere"], None);
    assert_one_line_error(code, &err);
    let out = crate::common::bin()
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &url])
        .env("TESSERA_ACCESS_TOKEN_EXPIRE_SECONDS", "soon")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_one_line_error(1, &err);
    assert!(err.contains("TESSERA_ACCESS_TOKEN_EXPIRE_SECONDS"), "{err}");
}

/// The README walkthrough, end to end with the real binary and curl.
#[tokio::test]
async fn readme_walkthrough() {
    let (_dir, url) = db().await;
    let (client_id, secret) = create_app(&url, "confidential", "password,client-credentials");
    let secret = secret.expect("secret");
    let (code, _, _) = run(
        &[
            "createuser",
            "alice",
            "--password-stdin",
            "--database-url",
            &url,
        ],
        Some("wonderland\n"),
    );
    assert_eq!(code, 0);
    let server = BinServer::start(&url);
    let curl = |args: Vec<String>| {
        let out = std::process::Command::new("curl")
            .arg("--silent")
            .args(args)
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let token: Value = serde_json::from_str(&curl(vec![
        "--user".into(),
        format!("{client_id}:{secret}"),
        "--data".into(),
        "grant_type=password&username=alice&password=wonderland".into(),
        server.url(paths::TOKEN),
    ]))
    .expect("token response");
    let at = token["access_token"].as_str().expect("access token");
    let introspect = |t: &str| -> Value {
        serde_json::from_str(&curl(vec![
            "--data".into(),
            format!("token={t}&client_id={client_id}&client_secret={secret}"),
            server.url(paths::INTROSPECT),
        ]))
        .expect("introspection")
    };
    assert_eq!(introspect(at)["active"], true);
    let status = curl(vec![
        "--write-out".into(),
        "%{http_code}".into(),
        "--data".into(),
        format!("token={at}&client_id={client_id}&client_secret={secret}"),
        server.url(paths::REVOKE),
    ]);
    assert_eq!(status, "200");
    assert_eq!(introspect(at), serde_json::json!({"active": false}));
}

/// Runs curl with `args` (silently); its standard output.
fn curl(args: &[&str]) -> String {
    let out = std::process::Command::new("curl")
        .arg("--silent")
        .args(args)
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The README's device-flow walkthrough with the real binary and curl; the user answers with
/// a cookie-keeping HTTP browser where the README has a phone.
#[tokio::test]
async fn readme_device_flow_walkthrough() {
    let (_dir, url) = db().await;
    let (tv, secret) = create_app(
        &url,
        "public",
        "urn:ietf:params:oauth:grant-type:device_code",
    );
    assert!(secret.is_none());
    let (code, _, _) = run(
        &[
            "createuser",
            "alice",
            "--password-stdin",
            "--database-url",
            &url,
        ],
        Some("wonderland\n"),
    );
    assert_eq!(code, 0);
    let server = BinServer::start(&url);
    let device: Value = serde_json::from_str(&curl(&[
        "--data",
        &format!("client_id={tv}&scope=read"),
        &server.url(paths::DEVICE_AUTHORIZATION),
    ]))
    .expect("device authorization response");
    let device_code = device["device_code"].as_str().expect("device_code");
    let user_code = device["user_code"].as_str().expect("user_code");
    // A server bound to port 0 names itself with port 0 (the issuer follows --bind).
    assert!(
        device["verification_uri"]
            .as_str()
            .expect("uri")
            .ends_with(paths::DEVICE)
    );
    assert_eq!(
        (device["expires_in"].as_i64(), device["interval"].as_i64()),
        (Some(600), Some(5))
    );
    let poll = || -> Value {
        serde_json::from_str(&curl(&[
            "--data",
            &format!(
                "grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code={device_code}&client_id={tv}"
            ),
            &server.url(paths::TOKEN),
        ]))
        .expect("token endpoint answer")
    };
    assert_eq!(poll()["error"], "authorization_pending");

    let mut phone = crate::common::Browser {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http"),
        base: server.url(""),
        cookies: Default::default(),
    };
    phone.sign_in("alice", "wonderland").await;
    let (status, page) = crate::device::answer(&mut phone, user_code, "allow").await;
    assert_eq!(status, 200, "{page}");
    let tokens = poll();
    assert!(
        tokens["access_token"]
            .as_str()
            .expect("tokens")
            .starts_with("tsat_")
    );
    assert!(tokens["refresh_token"].as_str().is_some());
    assert_eq!(tokens["scope"], "read");
    assert_eq!(poll()["error"], "invalid_grant", "once");
}

/// The README's registration walkthrough with the real binary and curl.
#[tokio::test]
async fn readme_registration_walkthrough() {
    let (_dir, url) = db().await;
    let server = BinServer::start_with_env(&url, &[("TESSERA_DYNAMIC_REGISTRATION", "token")]);
    let (code, out, err) = run(
        &[
            "registration-token",
            "create",
            "--max-clients",
            "10",
            "--database-url",
            &url,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let iat = out.trim().to_owned();
    let registered: Value = serde_json::from_str(&curl(&[
        "-H",
        &format!("Authorization: Bearer {iat}"),
        "-H",
        "Content-Type: application/json",
        "--data",
        r#"{"client_name":"Photo book","redirect_uris":["http://127.0.0.1:8080/callback"],"scope":"openid read","contacts":["ops@photos.example"]}"#,
        &server.url(paths::REGISTER),
    ]))
    .expect("client information");
    let client_id = registered["client_id"].as_str().expect("client_id");
    assert!(
        registered["client_secret"]
            .as_str()
            .expect("secret")
            .starts_with("tscs_")
    );
    // A server bound to port 0 names itself with port 0 (the issuer follows --bind).
    let path = paths::register_client(client_id);
    assert!(
        registered["registration_client_uri"]
            .as_str()
            .expect("uri")
            .ends_with(&path)
    );
    let uri = &server.url(&path);
    let rat = registered["registration_access_token"]
        .as_str()
        .expect("token");
    let read: Value =
        serde_json::from_str(&curl(&["-H", &format!("Authorization: Bearer {rat}"), uri]))
            .expect("read");
    assert_eq!(read["scope"], "openid read");
    let rat = read["registration_access_token"]
        .as_str()
        .expect("new token");
    let updated: Value = serde_json::from_str(&curl(&[
        "-X",
        "PUT",
        "-H",
        &format!("Authorization: Bearer {rat}"),
        "-H",
        "Content-Type: application/json",
        "--data",
        &format!(
            r#"{{"client_id":"{client_id}","client_name":"Photo book 2","redirect_uris":["http://127.0.0.1:8080/callback"]}}"#
        ),
        uri,
    ]))
    .expect("update");
    assert_eq!(updated["client_name"], "Photo book 2");
    assert!(updated.get("contacts").is_none(), "left out, so removed");
    let rat = updated["registration_access_token"]
        .as_str()
        .expect("new token");
    let status = curl(&[
        "--write-out",
        "%{http_code}",
        "-X",
        "DELETE",
        "-H",
        &format!("Authorization: Bearer {rat}"),
        uri,
    ]);
    assert_eq!(status, "204");
}

/// A database refusal reaches the operator with the database's own reason, not only the
/// pool's "db error": the binary prints the whole cause chain on one line.
#[tokio::test]
async fn a_refused_database_login_says_why() {
    let (code, out, err) = run(
        &[
            "migrate",
            "--database-url",
            "postgres://nosuchuser@127.0.0.1:5432/test",
        ],
        None,
    );
    assert_one_line_error(code, &err);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("role \"nosuchuser\" does not exist"), "{err}");
}

/// A TOML syntax error names the file and the line, so the operator need not bisect the file.
#[tokio::test]
async fn a_config_file_syntax_error_names_its_line() {
    let (_dir, url) = db().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tessera.toml");
    std::fs::write(
        &path,
        "# Tessera\nbind = \"127.0.0.1:0\"\nlog_format = text\nscopes = [\"read\"]\n",
    )
    .expect("write");
    let path_text = path.display().to_string();
    let (code, _, err) = run(
        &["migrate", "--config", &path_text, "--database-url", &url],
        None,
    );
    assert_one_line_error(code, &err);
    assert!(err.contains(&path_text), "{err}");
    assert!(err.contains("line 3,"), "{err}");
}

#[tokio::test]
async fn createapplication_oidc_options_and_the_hs256_refusal() {
    let (_db, url) = db().await;
    let (code, out, err) = run(
        &[
            "createapplication",
            "confidential",
            "authorization-code",
            "--redirect-uris",
            "https://app.example/cb",
            "--post-logout-redirect-uris",
            "https://app.example/bye",
            "--algorithm",
            "ES256",
            "--access-token-format",
            "jwt",
            "--logout-revokes-grants",
            "--client-id",
            "oidc-app",
            "--database-url",
            &url,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("oidc-app"));
    let store = crate::common::open_store(&url).await;
    let app = store
        .client_by_client_id("oidc-app")
        .await
        .expect("store")
        .expect("registered");
    assert_eq!(app.algorithm.as_deref(), Some("ES256"));
    assert_eq!(
        app.access_token_format,
        tessera_core::client::AccessTokenFormat::Jwt
    );
    assert!(app.logout_revokes_grants);

    // HS256 would need the client secret in clear: refused, saying why and what to use.
    let (code, _, err) = run(
        &[
            "createapplication",
            "confidential",
            "authorization-code",
            "--redirect-uris",
            "https://app.example/cb",
            "--algorithm",
            "HS256",
            "--database-url",
            &url,
        ],
        None,
    );
    assert_one_line_error(code, &err);
    assert!(err.contains("hash") && err.contains("RS256"), "{err}");
    let (code, _, err) = run(
        &[
            "createapplication",
            "public",
            "password",
            "--access-token-format",
            "paseto",
            "--database-url",
            &url,
        ],
        None,
    );
    assert_eq!(code, 2, "a command line clap refuses: {err}");
    assert!(err.contains("[possible values: opaque, jwt]"), "{err}");
}

/// `tessera serve` with the default key-encryption key location, until it listens or exits;
/// and what it logged.
fn serve_with_default_kek(url: &str) -> (Option<crate::common::BinServer>, String) {
    let mut command = crate::common::bin();
    command
        .env_remove("TESSERA_KEY_ENCRYPTION_KEY_FILE")
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", url])
        .env("TESSERA_LOG_FORMAT", "json");
    match crate::common::BinServer::launch(command) {
        Ok(server) => {
            let log = server.log.lock().expect("lock").join("\n");
            (Some(server), log)
        }
        Err(lines) => (None, lines.join("\n")),
    }
}

#[tokio::test]
async fn the_key_encryption_key_is_made_once_kept_private_and_required() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_file = dir.path().join("tessera.db");
    let url = format!("sqlite://{}", db_file.display());
    let kek_file = dir.path().join("tessera.db.kek");

    let (server, log) = serve_with_default_kek(&url);
    let server = server.unwrap_or_else(|| panic!("serve failed: {log}"));
    assert!(kek_file.exists(), "made beside the database");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kek_file)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    }
    assert!(
        log.contains("generated a key-encryption key") && log.contains("tessera.db.kek"),
        "{log}"
    );
    let kek_text = std::fs::read_to_string(&kek_file).expect("kek");
    drop(server);

    // The database alone holds no usable private key: the key that opens them is not in it.
    let stored = crate::common::everything_stored(&url).await;
    assert!(stored.contains("RS256"), "the key row is there");
    assert!(!stored.contains(kek_text.trim()));

    // A restart keeps the same file and keys.
    let (server, log) = serve_with_default_kek(&url);
    assert!(server.is_some(), "{log}");
    assert!(!log.contains("generated a key-encryption key"));
    drop(server);
    assert_eq!(std::fs::read_to_string(&kek_file).expect("kek"), kek_text);

    // Without the file, a store that has keys refuses to start, and says what to do.
    std::fs::rename(&kek_file, dir.path().join("moved.kek")).expect("move");
    let (server, log) = serve_with_default_kek(&url);
    assert!(server.is_none(), "must not start");
    assert!(log.contains("copy that file"), "{log}");
    assert!(!kek_file.exists(), "no new key is made over existing keys");

    // With another key-encryption key, it refuses too.
    let other = tessera_jose::Kek::generate(&tessera_core::entropy::OsEntropy);
    std::fs::write(&kek_file, other.to_base64()).expect("write");
    let (server, log) = serve_with_default_kek(&url);
    assert!(server.is_none(), "must not start");
    assert!(
        log.contains("does not open the stored signing keys"),
        "{log}"
    );
}

/// What clap says about a command line it refuses, whole: exit 2, the error and where to
/// read more.
fn clap_error(args: &[&str]) -> String {
    let (code, out, err) = run(args, None);
    assert_eq!(code, 2, "{args:?}: {err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.starts_with("error: "), "{args:?}: {err}");
    assert!(err.contains("try '--help'"), "{args:?}: {err}");
    err
}

#[tokio::test]
async fn a_refused_command_line_says_what_is_missing_valid_or_meant() {
    let err = clap_error(&["createapplication"]);
    assert!(
        err.contains("<CLIENT_TYPE>") && err.contains("<GRANT_TYPES>"),
        "the missing arguments are named: {err}"
    );
    let err = clap_error(&["createapplication", "public"]);
    assert!(err.contains("<GRANT_TYPES>"), "{err}");
    let err = clap_error(&["createapplication", "secret-agent", "password"]);
    assert!(
        err.contains("[possible values: confidential, public]"),
        "{err}"
    );
    let err = clap_error(&[
        "createapplication",
        "public",
        "password",
        "--algorithm",
        "none",
    ]);
    assert!(
        err.contains("[possible values: RS256, ES256, EdDSA]"),
        "{err}"
    );
    let err = clap_error(&["servee"]);
    assert!(
        err.contains("similar subcommand") && err.contains("'serve'"),
        "{err}"
    );
    let err = clap_error(&["revoke"]);
    assert!(err.contains("--user <USERNAME>"), "{err}");
    let err = clap_error(&["user", "set-password", "alice"]);
    assert!(err.contains("--password-stdin"), "{err}");
    let err = clap_error(&["grant", "list"]);
    assert!(err.contains("--user <USERNAME>"), "{err}");

    // Any case of a signing algorithm is the algorithm.
    let (_db, url) = db().await;
    let (code, _, err) = run(
        &[
            "createapplication",
            "public",
            "password",
            "--algorithm",
            "es256",
            "--client-id",
            "lower",
            "--database-url",
            &url,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let store = crate::common::open_store(&url).await;
    let app = store
        .client_by_client_id("lower")
        .await
        .expect("store")
        .expect("app");
    assert_eq!(app.algorithm.as_deref(), Some("ES256"));
}

#[tokio::test]
async fn help_names_both_stores_and_completions_and_man_come_from_the_same_definitions() {
    let (code, out, _) = run(&["migrate", "--help"], None);
    assert_eq!(code, 0);
    assert!(
        out.contains("sqlite://") && out.contains("postgres://"),
        "{out}"
    );
    let (code, out, _) = run(&["completions", "bash"], None);
    assert_eq!(code, 0);
    for word in [
        "application",
        "set-password",
        "check-config",
        "--password-stdin",
    ] {
        assert!(out.contains(word), "bash completion knows {word}");
    }
    let (code, out, _) = run(&["man"], None);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(".ie") || out.contains(".TH tessera"),
        "{}",
        &out[..200.min(out.len())]
    );
    assert!(out.contains("createapplication"));
    let (code, _, err) = run(&["completions", "tcsh"], None);
    assert_eq!(code, 2, "{err}");
}

#[tokio::test]
async fn applications_are_listed_shown_changed_and_deleted() {
    let (_db, url) = db().await;
    let db_args = ["--database-url", url.as_str()];
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(db_args);
        run(&all, None)
    };
    let (code, out, _) = cli(&["application", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("no applications"), "{out}");
    let (code, _, _) = cli(&[
        "createapplication",
        "confidential",
        "authorization-code",
        "--client-id",
        "web",
        "--name",
        "Web",
        "--redirect-uris",
        "https://web.example/cb",
    ]);
    assert_eq!(code, 0);
    create_app(&url, "public", "password");

    let (code, out, _) = cli(&["application", "list", "--json"]);
    assert_eq!(code, 0);
    let list: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    assert_eq!(list[0]["client_id"], "web");
    assert!(list[0].get("client_secret").is_none(), "never a secret");
    let (code, out, _) = cli(&["application", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("web") && out.contains("CLIENT_ID"), "{out}");

    let (code, out, _) = cli(&["application", "show", "web", "--json"]);
    assert_eq!(code, 0);
    let web: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        web["redirect_uris"],
        serde_json::json!(["https://web.example/cb"])
    );
    let (code, out, _) = cli(&["application", "show", "web"]);
    assert_eq!(code, 0);
    assert!(out.contains("https://web.example/cb"), "{out}");

    let (code, out, err) = cli(&[
        "application",
        "update",
        "web",
        "--name",
        "Web 2",
        "--redirect-uris",
        "https://web.example/cb2 https://web.example/cb3",
        "--algorithm",
        "eddsa",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let web: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(web["name"], "Web 2");
    assert_eq!(web["algorithm"], "EdDSA");
    assert_eq!(web["redirect_uris"].as_array().map(Vec::len), Some(2));

    // Bad input: the registration rules, unknown ids, nothing to change.
    for (args, says) in [
        (
            vec!["application", "update", "web", "--redirect-uris", ""],
            "--redirect-uris is required",
        ),
        (
            vec![
                "application",
                "update",
                "web",
                "--redirect-uris",
                "javascript:alert(1)",
            ],
            "javascript",
        ),
        (vec!["application", "update", "web"], "nothing to change"),
        (
            vec!["application", "update", "nobody", "--name", "x"],
            "no application",
        ),
        (vec!["application", "show", "nobody"], "no application"),
        (vec!["application", "delete", "nobody"], "no application"),
        (
            vec!["application", "update", "web", "--grant-types", "teleport"],
            "unknown grant type",
        ),
    ] {
        let (code, out, err) = cli(&args);
        assert_one_line_error(code, &err);
        assert!(out.is_empty());
        assert!(err.contains(says), "{args:?}: {err}");
    }

    let (code, out, _) = cli(&["application", "delete", "web", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).expect("json"),
        serde_json::json!({"client_id": "web", "deleted": true})
    );
    let (code, _, _) = cli(&["application", "show", "web"]);
    assert_eq!(code, 1);
}

#[tokio::test]
async fn users_are_listed_shown_given_a_password_and_deleted() {
    let (_db, url) = db().await;
    let (code, _, err) = run(&["createuser", "alice", "--database-url", &url], None);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: alice has no password")
            && err.contains("tessera user set-password alice --password-stdin"),
        "a user who cannot sign in is pointed out: {err}"
    );
    let (code, out, _) = run(
        &["user", "show", "alice", "--json", "--database-url", &url],
        None,
    );
    assert_eq!(code, 0);
    let alice: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(alice["has_password"], false);

    // The password fixes it: alice can sign in.
    let (code, out, err) = run(
        &[
            "user",
            "set-password",
            "alice",
            "--password-stdin",
            "--database-url",
            &url,
        ],
        Some("wonderland\n"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("alice"));
    let (client_id, secret) = create_app(&url, "confidential", "password");
    let secret = secret.expect("secret");
    let server = BinServer::start(&url);
    let r = reqwest::Client::new()
        .post(server.url(paths::TOKEN))
        .basic_auth(&client_id, Some(&secret))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=password&username=alice&password=wonderland")
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 200, "alice signs in with the password set");
    let tokens: Value = r.json().await.expect("json");
    let access = tokens["access_token"].as_str().expect("token").to_owned();

    let (code, out, _) = run(&["user", "list", "--json", "--database-url", &url], None);
    assert_eq!(code, 0);
    let users: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(users[0]["username"], "alice");
    assert_eq!(users[0]["has_password"], true);
    assert!(!out.contains("argon2"), "never a hash");
    let (code, out, _) = run(&["user", "list", "--database-url", &url], None);
    assert_eq!(code, 0);
    assert!(out.contains("alice"), "{out}");

    let (code, out, _) = run(
        &[
            "grant",
            "list",
            "--user",
            "alice",
            "--json",
            "--database-url",
            &url,
        ],
        None,
    );
    assert_eq!(code, 0);
    let grants: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(grants.as_array().map(Vec::len), Some(1));
    assert_eq!(grants[0]["client_id"], client_id.as_str());
    assert_eq!(grants[0]["kind"], "password");
    assert!(!out.contains(&access));
    let (code, out, _) = run(
        &[
            "grant",
            "list",
            "--client",
            &client_id,
            "--database-url",
            &url,
        ],
        None,
    );
    assert_eq!(code, 0);
    assert!(out.contains("alice"), "{out}");

    for (args, stdin, says) in [
        (
            vec!["user", "set-password", "nobody", "--password-stdin"],
            Some("x\n"),
            "no user",
        ),
        (
            vec!["user", "set-password", "alice", "--password-stdin"],
            Some("\n"),
            "empty",
        ),
        (vec!["user", "show", "nobody"], None, "no user"),
        (vec!["user", "delete", "nobody"], None, "no user"),
        (vec!["grant", "list", "--user", "nobody"], None, "no user"),
        (
            vec!["grant", "list", "--client", "nobody"],
            None,
            "no application",
        ),
    ] {
        let mut args = args.clone();
        args.extend(["--database-url", &url]);
        let (code, _, err) = run(&args, stdin);
        assert_one_line_error(code, &err);
        assert!(err.contains(says), "{args:?}: {err}");
    }

    // Deleting alice revokes what she granted, at once.
    let (code, _, _) = run(&["user", "delete", "alice", "--database-url", &url], None);
    assert_eq!(code, 0);
    let v: Value = reqwest::Client::new()
        .post(server.url(paths::INTROSPECT))
        .basic_auth(&client_id, Some(&secret))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("token={access}"))
        .send()
        .await
        .expect("introspect")
        .json()
        .await
        .expect("json");
    assert_eq!(v, serde_json::json!({"active": false}));
}

#[tokio::test]
async fn createapplication_user_puts_it_on_their_page() {
    let server = crate::common::TestServer::start().await;
    server.user("alice", "wonderland").await;
    let (code, out, err) = run(
        &[
            "createapplication",
            "confidential",
            "client-credentials",
            "--name",
            "Alice's service",
            "--client-id",
            "alices-service",
            "--user",
            "alice",
            "--database-url",
            &server.database_url,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(paths::APPLICATIONS), "{out}");
    let mut browser = crate::common::Browser::new(&server);
    browser.sign_in("alice", "wonderland").await;
    let page = browser
        .get(paths::APPLICATIONS)
        .await
        .text()
        .await
        .expect("page");
    assert!(
        page.contains("alices-service") && page.contains("Alice&#x27;s service"),
        "{page}"
    );
}

#[tokio::test]
async fn bulk_commands_say_what_they_did_in_good_english() {
    let (_db, url) = db().await;
    let (client_id, _) = create_app(&url, "confidential", "client-credentials");
    let (code, _, _) = run(&["createtoken", &client_id, "--database-url", &url], None);
    assert_eq!(code, 0);
    let (code, out, _) = run(
        &["revoke", "--client", &client_id, "--database-url", &url],
        None,
    );
    assert_eq!(code, 0);
    assert!(out.starts_with("revoked 1 grant in "), "{out}");
    let (code, out, _) = run(&["cleartokens", "--database-url", &url], None);
    assert_eq!(code, 0);
    assert!(
        out.contains("1 access token,") && out.contains(" in "),
        "{out}"
    );
    let (code, out, _) = run(&["cleartokens", "--json", "--database-url", &url], None);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["access_tokens"], 0);

    // On a terminal, cleartokens shows its progress on stderr (here through `script`, which
    // gives it one); in a pipe, only the summary.
    let (code, _, err) = run(&["cleartokens", "--database-url", &url], None);
    assert_eq!(code, 0);
    assert!(!err.contains("deleting"), "{err}");
    let command = format!(
        "{} cleartokens --database-url {url}",
        env!("CARGO_BIN_EXE_tessera")
    );
    let out = crate::common::bin_env(std::process::Command::new("script"))
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("script");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("deleting expired and revoked rows"), "{text}");
    assert!(text.contains("deleted 0 grants"), "{text}");
}

#[tokio::test]
async fn check_config_names_sources_and_hides_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tessera.toml");
    std::fs::write(&path, "access_token_expire_seconds = 120\n").expect("write");
    let out = crate::common::bin()
        .args([
            "check-config",
            "--config",
            &path.display().to_string(),
            "--bind",
            "localhost:9000",
            "--json",
        ])
        .env(
            "TESSERA_DATABASE_URL",
            "postgres://tessera:hunter2@db.internal/t",
        )
        .env("TESSERA_ACCES_TOKEN_EXPIRE_SECONDS", "60")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(v["access_token_expire_seconds"]["value"], "120");
    assert_eq!(
        v["access_token_expire_seconds"]["source"],
        path.display().to_string()
    );
    assert_eq!(v["bind"]["source"], "flag --bind");
    assert_eq!(v["issuer"]["value"], "http://localhost:9000/o");
    assert_eq!(v["scopes"]["source"], "the default");
    assert_eq!(
        v["database_url"]["value"],
        "postgres://tessera:***@db.internal/t"
    );
    assert!(!stdout.contains("hunter2") && !stderr.contains("hunter2"));
    assert!(
        stderr.contains("TESSERA_ACCES_TOKEN_EXPIRE_SECONDS")
            && stderr.contains("did you mean TESSERA_ACCESS_TOKEN_EXPIRE_SECONDS"),
        "a misspelled variable is pointed out: {stderr}"
    );
    let out = crate::common::bin()
        .args(["check-config"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("bind") && text.contains("(the default)"),
        "{text}"
    );
}

/// `--bind` takes a host name, and the issuer keeps it; a misspelled variable is warned about
/// at start; no PostgreSQL NOTICE reaches the log.
#[tokio::test]
async fn serve_binds_host_names_and_warns_about_misspelled_variables() {
    let (_db, url) = db().await;
    let server = BinServer::start_with(
        &["serve", "--bind", "localhost:0", "--database-url", &url],
        &[("TESSERA_JANITOR_INTERVAL_SECOND", "5")],
    );
    let v: Value = reqwest::get(server.url(paths::OPENID_CONFIGURATION))
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(v["issuer"], "http://localhost:0/o");
    let records = server
        .wait_for_record(|r| r["fields"]["variable"] == "TESSERA_JANITOR_INTERVAL_SECOND")
        .await;
    let warning = records
        .iter()
        .find(|r| r["fields"]["variable"] == "TESSERA_JANITOR_INTERVAL_SECOND")
        .expect("a warning");
    assert_eq!(warning["level"], "WARN");
    assert!(
        warning["fields"]["message"]
            .as_str()
            .expect("message")
            .contains("did you mean TESSERA_JANITOR_INTERVAL_SECONDS"),
        "{warning}"
    );
    drop(server);
    // A second start on the same database: nothing to migrate, nothing to say about it.
    let again = BinServer::start(&url);
    reqwest::get(again.url(paths::READY)).await.expect("ready");
    let log = again.log.lock().expect("lock").join("\n");
    assert!(
        !log.contains("NOTICE") && !log.contains("already exists"),
        "{log}"
    );
}

/// The README's sign-in walkthrough (DOT's tutorial, part 1) with the real binary, as
/// written: the browser is a cookie-keeping HTTP client, whose address bar is the
/// `Location` it is sent to (port 8080, where nothing listens), and curl exchanges the code.
#[tokio::test]
async fn readme_sign_in_walkthrough() {
    let (_db, url) = db().await;
    let (code, out, err) = run(
        &[
            "createapplication",
            "confidential",
            "authorization-code",
            "--name",
            "Tutorial web app",
            "--redirect-uris",
            "http://127.0.0.1:8080/callback",
            "--json",
            "--database-url",
            &url,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let app: Value = serde_json::from_str(out.trim()).expect("json");
    let client_id = app["client_id"].as_str().expect("id").to_owned();
    let secret = app["client_secret"].as_str().expect("secret").to_owned();
    let (code, _, _) = run(
        &[
            "createuser",
            "alice",
            "--password-stdin",
            "--database-url",
            &url,
        ],
        Some("wonderland\n"),
    );
    assert_eq!(code, 0);
    let server = BinServer::start(&url);
    let (challenge, verifier) = oauth2::PkceCodeChallenge::new_random_sha256();
    let (challenge, verifier) = (challenge.as_str().to_owned(), verifier.secret().to_owned());
    let authorize = server.url(&format!(
        "{}?response_type=code&client_id={client_id}&state=xyz&scope=read+write&code_challenge={challenge}&code_challenge_method=S256",
        paths::AUTHORIZE
    ));
    let mut browser = crate::common::Browser {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http"),
        base: server.url(""),
        cookies: Default::default(),
    };
    let landed = browser
        .authorize(&authorize, "alice", "wonderland", "allow")
        .await;
    assert!(
        landed.starts_with("http://127.0.0.1:8080/callback?code=tsac_"),
        "{landed}"
    );
    let params = crate::common::params_of(&landed);
    assert_eq!(params["state"], "xyz");
    let tokens: Value = serde_json::from_str(&curl(&[
        "-u",
        &format!("{client_id}:{secret}"),
        "--data",
        &format!(
            "grant_type=authorization_code&code={}&code_verifier={verifier}",
            params["code"]
        ),
        &server.url(paths::TOKEN),
    ]))
    .expect("token response");
    assert_eq!(tokens["scope"], "read write");
    assert!(
        tokens["access_token"]
            .as_str()
            .expect("token")
            .starts_with("tsat_")
    );
}

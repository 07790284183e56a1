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
        vec!["createapplication", "secret-agent", "password"],
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
        vec![
            "createapplication",
            "public",
            "password",
            "--algorithm",
            "none",
        ],
        vec!["createapplication", "public"],
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
        vec!["revoke"],
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
    assert_one_line_error(code, &err);
    assert!(err.contains("opaque or jwt"), "{err}");
}

/// `tessera serve` with the default key-encryption key location, until it listens or exits.
fn serve_with_default_kek(url: &str) -> (Option<crate::common::BinServer>, String) {
    use std::io::BufRead;
    let mut child = crate::common::bin()
        .env_remove("TESSERA_KEY_ENCRYPTION_KEY_FILE")
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", url])
        .env("TESSERA_LOG_FORMAT", "json")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let mut log = String::new();
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.expect("read");
        log.push_str(&line);
        log.push('\n');
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
            && v["fields"]["message"] == "listening"
        {
            let addr = v["fields"]["address"].as_str().expect("address").to_owned();
            return (Some(crate::common::BinServer { child, addr }), log);
        }
    }
    let _ = child.wait();
    (None, log)
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

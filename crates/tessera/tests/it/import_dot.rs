//! Moving from django-oauth-toolkit: a database made by DOT itself (in a throwaway virtualenv
//! with Django and DOT from the package index), imported with `tessera import-dot`, then used
//! as DOT's clients and users would (docs/behaviour.md, "Moving from DOT").

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tessera_core::clock::{Clock, SystemClock};
use tessera_web::paths;

use crate::common::{Browser, TestClient, TestServer, run};

/// A Python with Django and django-oauth-toolkit, made once per build directory.
fn dot_python() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dot-venv");
    let python = venv.join("bin/python");
    let ready = || {
        Command::new(&python)
            .args(["-c", "import django, oauth2_provider"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ready() {
        return python;
    }
    // One maker at a time: the lock is a directory, made atomically.
    let lock = venv.with_extension("lock");
    for _ in 0..600 {
        if std::fs::create_dir(&lock).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        if ready() {
            return python;
        }
    }
    if !ready() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 (with venv) is needed to make a DOT database");
        assert!(made.success(), "python3 -m venv failed");
        let installed = Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "--quiet",
                "django>=4.2",
                "django-oauth-toolkit>=3,<4",
            ])
            .status()
            .expect("pip");
        assert!(
            installed.success(),
            "pip install django django-oauth-toolkit failed"
        );
    }
    let _ = std::fs::remove_dir(&lock);
    assert!(ready(), "Django and DOT importable");
    python
}

/// A DOT database made by DOT: its path and what the script reported.
fn dot_database(dir: &Path) -> (PathBuf, Value) {
    let db = dir.join("dot.sqlite3");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/dot/make_dot_database.py");
    let out = Command::new(dot_python())
        .arg(&script)
        .arg(&db)
        .output()
        .expect("run the DOT script");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let facts = serde_json::from_slice(&out.stdout).expect("one JSON object");
    (db, facts)
}

fn client(facts: &Value, which: &str) -> TestClient {
    TestClient {
        id: facts[which]["client_id"]
            .as_str()
            .expect("client_id")
            .to_owned(),
        secret: facts[which]["secret"].as_str().map(str::to_owned),
    }
}

fn text(facts: &Value, token: &str, field: &str) -> String {
    facts[token][field].as_str().expect("token").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dot_database_moves_over_and_nobody_signs_in_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (dot_db, facts) = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || dot_database(&dir)
    })
    .await
    .expect("DOT database");
    let server = TestServer::start().await;
    // DOT's tokens expire in real time.
    server.clock.set(SystemClock.now());
    let source = format!("sqlite://{}", dot_db.display());
    let import = |json: bool| {
        let mut args = vec![
            "import-dot",
            source.as_str(),
            "--database-url",
            &server.database_url,
        ];
        if json {
            args.push("--json");
        }
        run(&args, None)
    };
    let (code, out, err) = import(true);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(out.trim()).expect("JSON report");
    assert_eq!(report["changed"], true);
    assert_eq!(report["users"]["imported"], 2);
    assert_eq!(report["applications"]["imported"], 3);
    assert_eq!(report["skipped"]["revoked refresh token"], 1);

    let hashed = client(&facts, "hashed");
    let clear = client(&facts, "clear");

    // The imported access token is active, with its scope and user; the client introspecting
    // authenticates with the secret DOT gave it (a Django hash, verified natively).
    let live = text(&facts, "live", "access_token");
    let answer = server.introspect(&hashed, &live).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["scope"], "read write");
    assert_eq!(answer["username"], "alice");
    assert_eq!(answer["client_id"], hashed.id.as_str());
    assert!(
        server
            .is_active(&clear, &text(&facts, "public_live", "access_token"))
            .await
    );

    // Its refresh token refreshes, and rotates, on Tessera.
    let refresh = text(&facts, "live", "refresh_token");
    let r = server
        .post_as(
            paths::TOKEN,
            &hashed,
            &format!("grant_type=refresh_token&refresh_token={refresh}"),
        )
        .await;
    assert_eq!(r.status(), 200);
    let fresh: Value = r.json().await.expect("json");
    assert!(
        fresh["access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("tsat_"))
    );
    assert!(
        !server.is_active(&hashed, &live).await,
        "rotation revoked the old access token"
    );
    let r = server
        .post_as(
            paths::TOKEN,
            &hashed,
            &format!("grant_type=refresh_token&refresh_token={refresh}"),
        )
        .await;
    assert_eq!(
        r.status(),
        400,
        "used once; replayed, it ends the grant as any Tessera refresh token would"
    );

    // The seed's revocation request, with the clear secret DOT kept: revoked.
    let clear_live = text(&facts, "clear_live", "access_token");
    let r = server
        .post_as(paths::REVOKE, &clear, &format!("token={clear_live}"))
        .await;
    assert_eq!(r.status(), 200);
    assert!(!server.is_active(&hashed, &clear_live).await);

    // What DOT had revoked or let expire is not active here either.
    assert!(
        !server
            .is_active(&hashed, &text(&facts, "revoked", "access_token"))
            .await
    );
    assert!(
        !server
            .is_active(&hashed, &text(&facts, "expired", "access_token"))
            .await
    );

    // alice signs in with her old password, which is then upgraded to Argon2id; bob was
    // inactive and stays unable to.
    let mut browser = Browser::new(&server);
    assert_eq!(browser.sign_in("alice", "wonderland").await.status(), 303);
    let alice = server
        .store
        .user_by_username("alice")
        .await
        .expect("store")
        .expect("imported");
    assert!(
        alice
            .password_hash
            .as_deref()
            .is_some_and(|h| h.starts_with("$argon2id$")),
        "upgraded at the first sign-in"
    );
    assert_eq!(
        Browser::new(&server)
            .sign_in("alice", "wonderland")
            .await
            .status(),
        303
    );
    let r = server
        .post_as(
            paths::TOKEN,
            &hashed,
            "grant_type=password&username=bob&password=builder",
        )
        .await;
    assert_eq!(r.status(), 400, "an inactive user cannot sign in");
    // The hashed client secret was re-stored in Tessera's form at its first use.
    let app = server
        .store
        .client_by_client_id(&hashed.id)
        .await
        .expect("store")
        .expect("imported");
    match app.secret {
        tessera_core::client::SecretHash::Argon2(h) => assert!(h.starts_with("$argon2id$")),
        other => panic!("{other:?}"),
    }

    // A second import changes nothing and says so.
    let (code, out, err) = import(false);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("nothing to import"), "{out}");

    // A target where one of DOT's client ids already names another application: refused, and
    // nothing at all is written.
    let (_other_db, other) = crate::common::fresh_db().await;
    let (code, _, err) = run(
        &[
            "createapplication",
            "public",
            "password",
            "--client-id",
            &hashed.id,
            "--name",
            "Someone else",
            "--database-url",
            &other,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&["import-dot", &source, "--database-url", &other], None);
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains(&hashed.id) && err.contains("nothing written"),
        "{err}"
    );
    let store = crate::common::open_store(&other).await;
    assert!(
        store
            .user_by_username("alice")
            .await
            .expect("store")
            .is_none()
    );
    assert!(!store.has_imports().await.expect("store"));
}

#[tokio::test]
async fn what_is_not_a_dot_database_is_refused_and_nothing_written() {
    let (_db, url) = crate::common::fresh_db().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.sqlite3");
    rusqlite::Connection::open(&empty)
        .and_then(|c| c.execute_batch("CREATE TABLE something (id INTEGER)"))
        .expect("sqlite");
    for (source, says) in [
        (
            format!("sqlite://{}", empty.display()),
            "not a Django database",
        ),
        (
            format!("sqlite://{}", dir.path().join("missing.sqlite3").display()),
            "no SQLite database",
        ),
        ("mysql://x".to_owned(), "must be sqlite"),
    ] {
        let (code, out, err) = run(&["import-dot", &source, "--database-url", &url], None);
        assert_ne!(code, 0);
        assert!(out.is_empty());
        assert!(err.contains(says), "{source}: {err}");
    }
    // A Django database migrated past what this version reads.
    let newer = dir.path().join("newer.sqlite3");
    rusqlite::Connection::open(&newer)
        .and_then(|c| {
            c.execute_batch(
                "CREATE TABLE django_migrations (app TEXT, name TEXT);
                 INSERT INTO django_migrations VALUES ('oauth2_provider', '0099_future');",
            )
        })
        .expect("sqlite");
    let (code, _, err) = run(
        &[
            "import-dot",
            &format!("sqlite://{}", newer.display()),
            "--database-url",
            &url,
        ],
        None,
    );
    assert_ne!(code, 0);
    assert!(err.contains("newer"), "{err}");
    let store = crate::common::open_store(&url).await;
    assert!(
        !store.has_imports().await.expect("store"),
        "nothing written"
    );
}

//! TLS to the local PostgreSQL server with certificates this test makes: the server is given
//! a certificate signed by a throwaway CA for the duration of the test, then its own back.
//!
//! Reconfiguring the server needs root (to hand the key to the `postgres` user) and a server
//! at 127.0.0.1:5432 with trust authentication, as on this machine kind and in CI.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
use tessera_store::prelude::*;
use tessera_store_postgres::testing::{TestSchema, server_url};
use tessera_store_postgres::tls::connect;
use tessera_store_postgres::{PoolSettings, PostgresStore};

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

fn ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("ca");
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// A server certificate for `names` signed by `ca`: (certificate PEM, key PEM).
fn leaf(ca: &Ca, names: &[&str]) -> (String, String) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    for name in names {
        params.subject_alt_names.push(match name.parse() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName((*name).try_into().expect("dns name")),
        });
    }
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, &ca.issuer).expect("leaf");
    (cert.pem(), key.serialize_pem())
}

fn postgres_ids() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("passwd");
    let line = passwd
        .lines()
        .find(|l| l.starts_with("postgres:"))
        .expect("a postgres user");
    let fields: Vec<&str> = line.split(':').collect();
    (
        fields[2].parse().expect("uid"),
        fields[3].parse().expect("gid"),
    )
}

async fn admin() -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&server_url(), tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL at 127.0.0.1:5432");
    tokio::spawn(conn);
    client
}

/// Points the server at `cert` and `key` (made readable by it) until dropped.
struct ServerCert {
    dir: PathBuf,
}

impl ServerCert {
    async fn install(dir: &Path, cert: &str, key: &str) -> Self {
        let (uid, gid) = postgres_ids();
        std::fs::create_dir_all(dir).expect("dir");
        std::os::unix::fs::chown(dir, Some(uid), Some(gid)).expect("chown dir (needs root)");
        let cert_file = dir.join("server.crt");
        let key_file = dir.join("server.key");
        std::fs::write(&cert_file, cert).expect("cert");
        std::fs::write(&key_file, key).expect("key");
        for f in [&cert_file, &key_file] {
            std::os::unix::fs::chown(f, Some(uid), Some(gid)).expect("chown (needs root)");
            std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        let db = admin().await;
        // One statement each: ALTER SYSTEM refuses to run inside a transaction block.
        for statement in [
            format!("ALTER SYSTEM SET ssl_cert_file = '{}'", cert_file.display()),
            format!("ALTER SYSTEM SET ssl_key_file = '{}'", key_file.display()),
            "SELECT pg_reload_conf()".to_owned(),
        ] {
            db.batch_execute(&statement).await.expect("configure");
        }
        // The server reloads asynchronously.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        Self {
            dir: dir.to_path_buf(),
        }
    }
}

impl Drop for ServerCert {
    fn drop(&mut self) {
        let dir = self.dir.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                let db = admin().await;
                for statement in [
                    "ALTER SYSTEM RESET ssl_cert_file",
                    "ALTER SYSTEM RESET ssl_key_file",
                    "SELECT pg_reload_conf()",
                ] {
                    let _ = db.batch_execute(statement).await;
                }
            });
            let _ = std::fs::remove_dir_all(dir);
        })
        .join();
    }
}

fn with_tls(url: &str, query: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

/// Whether the store at `url` answers (migrations applied over that connection).
async fn store_works(url: &str) -> Result<(), String> {
    let store = PostgresStore::new(url, PoolSettings::default()).map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| format!("{e:?}"))?;
    store.ping().await.map_err(|e| e.to_string())
}

/// Whether a connection made the store's way is encrypted, as the server sees it.
async fn encrypted(url: &str) -> bool {
    connect(url)
        .await
        .expect("connect")
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("query")
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_modes_against_a_certificate_this_test_makes() {
    let schema = TestSchema::create().await;
    let dir = std::env::temp_dir().join(format!("tessera-pg-tls-{}", std::process::id()));
    let ours = ca("Tessera test CA");
    let stranger = ca("Someone else's CA");
    let ca_file = dir.with_extension("ca.pem");
    let stranger_file = dir.with_extension("other-ca.pem");
    std::fs::write(&ca_file, &ours.pem).expect("ca");
    std::fs::write(&stranger_file, &stranger.pem).expect("ca");
    let root = |file: &Path| {
        format!(
            "sslrootcert={}",
            tessera_core::form::encode(&file.display().to_string())
        )
    };

    {
        let (cert, key) = leaf(&ours, &["localhost", "127.0.0.1"]);
        let _server = ServerCert::install(&dir, &cert, &key).await;
        let full = with_tls(
            &schema.url,
            &format!("sslmode=verify-full&{}", root(&ca_file)),
        );
        store_works(&full).await.expect("verify-full with our CA");
        assert!(encrypted(&full).await);
        assert!(encrypted(&with_tls(&schema.url, "sslmode=require")).await);
        assert!(
            encrypted(&with_tls(&schema.url, "sslmode=prefer")).await,
            "prefer encrypts when the server offers it"
        );
        assert!(
            !encrypted(&schema.url).await,
            "without an sslmode, a loopback connection is plain text"
        );
        assert!(!encrypted(&with_tls(&schema.url, "sslmode=disable")).await);
        let err = store_works(&with_tls(
            &schema.url,
            &format!("sslmode=verify-full&{}", root(&stranger_file)),
        ))
        .await
        .expect_err("another CA's root does not vouch for this server");
        assert!(err.to_lowercase().contains("certificate"), "{err}");
    }
    {
        // A certificate for another name: verify-ca accepts it, verify-full does not.
        let (cert, key) = leaf(&ours, &["db.example"]);
        let _server = ServerCert::install(&dir, &cert, &key).await;
        store_works(&with_tls(
            &schema.url,
            &format!("sslmode=verify-ca&{}", root(&ca_file)),
        ))
        .await
        .expect("verify-ca checks the chain only");
        let err = store_works(&with_tls(
            &schema.url,
            &format!("sslmode=verify-full&{}", root(&ca_file)),
        ))
        .await
        .expect_err("the name must match under verify-full");
        assert!(err.to_lowercase().contains("certificate"), "{err}");
    }
    let _ = std::fs::remove_file(&ca_file);
    let _ = std::fs::remove_file(&stranger_file);
}

//! A real OCI registry for tests: Debian's `docker-registry` on 127.0.0.1
//! with a free port and storage in a temp dir, killed when dropped.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// A running registry.
pub(crate) struct TestRegistry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub(crate) address: String,
    dir: tempfile::TempDir,
}

/// Whether missing prerequisites must fail the test rather than skip it.
pub(crate) fn strict() -> bool {
    std::env::var("XB_TEST_STRICT").as_deref() == Ok("1")
        || std::env::var("CI").as_deref() == Ok("true")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

fn answers_v2(address: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(address) else {
        return false;
    };
    let request = format!("GET /v2/ HTTP/1.0\r\nHost: {address}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200")
}

impl TestRegistry {
    /// Starts a registry, or returns `None` (after saying why) where the
    /// binary is missing outside strict mode.
    #[expect(
        clippy::print_stderr,
        reason = "a skipped test says why on the test's stderr"
    )]
    pub(crate) fn start() -> Option<Self> {
        if !Path::new(REGISTRY_BIN).exists() {
            let why = format!("{REGISTRY_BIN} is missing (apt-get install docker-registry)");
            assert!(!strict(), "{why}");
            eprintln!("skipping: {why}");
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        for _attempt in 0..5 {
            let address = format!("127.0.0.1:{}", free_port());
            let config = dir.path().join("config.yml");
            fs_err::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {address}\n",
                    dir.path().join("data").display()
                ),
            )
            .expect("write registry config");
            let mut child = Command::new(REGISTRY_BIN)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("docker-registry starts");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if answers_v2(&address) {
                    return Some(Self {
                        child,
                        address,
                        dir,
                    });
                }
                if child.try_wait().ok().flatten().is_some() {
                    break; // the port was taken meanwhile; try another
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("docker-registry did not come up on 127.0.0.1");
    }

    /// Where the registry keeps blobs, for tests that corrupt them.
    pub(crate) fn storage(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

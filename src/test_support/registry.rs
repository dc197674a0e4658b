//! A real registry for tests: Debian's `docker-registry` serving a temp
//! directory on `127.0.0.1` at a free port, optionally behind htpasswd
//! Basic auth, killed when dropped; plus pushing the busybox OCI layout
//! `testdata/images/busybox-oci.sh` builds, with skopeo.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::graph::{Digest, Reference};
use crate::registry::{RegistryClient, RegistryOptions};

const REGISTRY_BINARY: &str = "/usr/bin/docker-registry";

/// Whether a missing tool must fail the test instead of skipping it.
pub(crate) fn strict() -> bool {
    std::env::var("XB_TEST_STRICT").as_deref() == Ok("1")
        || std::env::var("CI").as_deref() == Ok("true")
}

/// Skip (or, when strict, fail) because `why`.
pub(crate) fn skip(why: &str) {
    assert!(
        !strict(),
        "{why} (XB_TEST_STRICT=1 or CI=true forbids skipping)"
    );
    eprintln!("skipping: {why}");
}

/// A running `docker-registry`; dropped, it is killed and its storage removed.
pub(crate) struct TestRegistry {
    child: Child,
    /// `127.0.0.1:<port>`, the registry part of references to it.
    pub(crate) host: String,
    storage: PathBuf,
    dir: tempfile::TempDir,
}

impl TestRegistry {
    /// A registry without auth, or `None` (after saying why) when the
    /// binary is missing outside strict mode.
    pub(crate) fn start() -> Option<Self> {
        Self::launch(None)
    }

    /// A registry that wants Basic auth as `username`/`password`.
    pub(crate) fn start_with_htpasswd(username: &str, password: &str) -> Option<Self> {
        Self::launch(Some((username, password)))
    }

    fn launch(htpasswd: Option<(&str, &str)>) -> Option<Self> {
        if !Path::new(REGISTRY_BINARY).exists() {
            skip(&format!(
                "{REGISTRY_BINARY} not installed (apt-get install docker-registry)"
            ));
            return None;
        }
        let dir = tempfile::tempdir().expect("create registry temp dir");
        let storage = dir.path().join("storage");
        fs_err::create_dir(&storage).expect("create registry storage");
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: {host}\n",
            storage.display()
        );
        if let Some((username, password)) = htpasswd {
            let hash = bcrypt::hash(password, 4).expect("bcrypt a test password");
            let path = dir.path().join("htpasswd");
            fs_err::write(&path, format!("{username}:{hash}\n")).expect("write htpasswd");
            let _ = write!(
                config,
                "auth:\n  htpasswd:\n    realm: xb-test\n    path: {}\n",
                path.display()
            );
        }
        let config_path = dir.path().join("config.yml");
        fs_err::write(&config_path, config).expect("write registry config");
        let log =
            fs_err::File::create(dir.path().join("registry.log")).expect("create registry log");
        let child = Command::new(REGISTRY_BINARY)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle").into_parts().0)
            .stderr(log.into_parts().0)
            .spawn()
            .expect("start docker-registry");
        let mut registry = Self {
            child,
            host,
            storage,
            dir,
        };
        registry.wait_until_ready();
        Some(registry)
    }

    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("poll docker-registry") {
                panic!("docker-registry exited with {status}: {}", self.log());
            }
            if let Ok(mut stream) = TcpStream::connect(&self.host) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let request = format!("GET /v2/ HTTP/1.0\r\nHost: {}\r\n\r\n", self.host);
                let mut answer = String::new();
                if stream.write_all(request.as_bytes()).is_ok()
                    && stream.read_to_string(&mut answer).is_ok()
                    && answer.starts_with("HTTP/1.")
                {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "docker-registry did not answer on {}: {}",
            self.host,
            self.log()
        );
    }

    /// A client without credentials (it reads no real docker config).
    pub(crate) fn client(&self) -> RegistryClient {
        RegistryClient::new(RegistryOptions {
            docker_config: Some(self.dir.path().join("no-docker-config.json")),
            ..RegistryOptions::default()
        })
    }

    /// `<host>/<rest>` as a reference, e.g. `registry.reference("test/app:v1")`.
    pub(crate) fn reference(&self, rest: &str) -> Reference {
        format!("{}/{rest}", self.host)
            .parse()
            .expect("valid test reference")
    }

    /// What the registry logged so far.
    pub(crate) fn log(&self) -> String {
        fs_err::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Where the registry keeps blob `digest` (to tamper with in tests).
    pub(crate) fn blob_path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.storage
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(&hex)
            .join("data")
    }

    /// A scratch directory that lives as long as the registry.
    pub(crate) fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// Build the busybox OCI layout with `testdata/images/busybox-oci.sh`
    /// and copy it to `<host>/<repository>:<tag>` with skopeo. `None`
    /// (after saying why) when busybox or skopeo is missing.
    pub(crate) fn push_busybox(&self, repository: &str, tag: &str) -> Option<PathBuf> {
        for tool in ["/bin/busybox", "/usr/bin/skopeo"] {
            if !Path::new(tool).exists() {
                skip(&format!("{tool} not installed"));
                return None;
            }
        }
        let layout = self
            .dir
            .path()
            .join(format!("layout-{}", repository.replace('/', "-")));
        if !layout.exists() {
            let script =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/images/busybox-oci.sh");
            run(Command::new("bash").arg(script).arg(&layout));
        }
        run(Command::new("skopeo").args([
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            &format!("oci:{}:latest", layout.display()),
            &format!("docker://{}/{repository}:{tag}", self.host),
        ]));
        Some(layout)
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `command`, panicking with its output when it fails.
pub(crate) fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("run {command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed with {}:\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// The image the OCI layout at `layout` tags `latest`: its manifest
/// digest and bytes, and its config and layer descriptors as
/// `(digest, bytes)`.
pub(crate) struct LayoutImage {
    pub(crate) manifest_digest: Digest,
    pub(crate) manifest: Vec<u8>,
    pub(crate) config: (Digest, Vec<u8>),
    pub(crate) layers: Vec<(Digest, Vec<u8>)>,
}

pub(crate) fn read_layout(layout: &Path) -> LayoutImage {
    let blob = |digest: &str| -> (Digest, Vec<u8>) {
        let digest: Digest = digest.parse().expect("digest in layout");
        let bytes =
            fs_err::read(layout.join("blobs/sha256").join(digest.hex())).expect("layout blob");
        (digest, bytes)
    };
    let index: serde_json::Value =
        serde_json::from_slice(&fs_err::read(layout.join("index.json")).expect("index.json"))
            .expect("index json");
    let (manifest_digest, manifest) = blob(
        index["manifests"][0]["digest"]
            .as_str()
            .expect("manifest digest"),
    );
    let parsed: serde_json::Value = serde_json::from_slice(&manifest).expect("manifest json");
    LayoutImage {
        manifest_digest,
        config: blob(parsed["config"]["digest"].as_str().expect("config digest")),
        layers: parsed["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .map(|layer| blob(layer["digest"].as_str().expect("layer digest")))
            .collect(),
        manifest,
    }
}

//! Registry credentials the way the Docker CLI stores them: the
//! `config.json` in `$DOCKER_CONFIG` (else `~/.docker`), its `auths`
//! entries (base64 `auth`, or `username`/`password`, or an
//! `identitytoken`), and the `credHelpers` / `credsStore` programs
//! (`docker-credential-<name> get`, server URL on stdin, JSON on stdout).
//! Using the credentials in the HTTP exchange is left to `auth`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::Deserialize;

use super::error::{Error, Result};

/// The key the Docker CLI files Docker Hub credentials under.
const DOCKER_HUB_SERVER: &str = "https://index.docker.io/v1/";

/// What a registry is told to prove who we are.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Basic {
        username: String,
        password: String,
    },
    /// An `OAuth2` refresh token (`identitytoken`), traded at the token realm.
    IdentityToken(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Self::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

/// Where credentials are looked up.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    /// The `config.json` to read; a missing file means no credentials.
    config_path: Option<PathBuf>,
    /// `PATH` for finding `docker-credential-*` programs; `None` inherits ours.
    helper_path: Option<OsString>,
}

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

impl CredentialStore {
    /// Credentials from `config_path`, or when `None` from
    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    pub fn new(config_path: Option<PathBuf>) -> Self {
        let config_path = config_path.or_else(default_config_path);
        Self {
            config_path,
            helper_path: None,
        }
    }

    /// Look `docker-credential-*` programs up in `path` instead of `$PATH`.
    #[must_use]
    pub fn with_helper_path(mut self, path: impl Into<OsString>) -> Self {
        self.helper_path = Some(path.into());
        self
    }

    /// The credentials for `registry` (`host[:port]` as in a reference),
    /// `None` when the user has none for it.
    pub fn lookup(&self, registry: &str) -> Result<Option<Credentials>> {
        let Some(path) = &self.config_path else {
            return Ok(None);
        };
        let config = match fs_err::read(path) {
            Ok(bytes) => serde_json::from_slice::<ConfigFile>(&bytes).map_err(|source| {
                Error::ParseDockerConfig {
                    path: path.clone(),
                    source,
                }
            })?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(Error::ReadDockerConfig {
                    path: path.clone(),
                    source,
                });
            }
        };
        let wanted = normalize_server(registry);
        let helper = config
            .cred_helpers
            .iter()
            .find(|(server, _)| normalize_server(server) == wanted)
            .map(|(_, helper)| helper)
            .or(config.creds_store.as_ref());
        if let Some(helper) = helper {
            if let Some(found) = self.run_helper(helper, registry)? {
                return Ok(Some(found));
            }
        }
        config
            .auths
            .iter()
            .find(|(server, _)| normalize_server(server) == wanted)
            .map(|(_, entry)| decode_entry(path, registry, entry))
            .transpose()
            .map(Option::flatten)
    }

    /// Ask `docker-credential-<helper>`; `None` when it knows nothing.
    fn run_helper(&self, helper: &str, registry: &str) -> Result<Option<Credentials>> {
        let program = format!("docker-credential-{helper}");
        let mut command = Command::new(&program);
        command
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(path) = &self.helper_path {
            command.env("PATH", path);
        }
        let run_error = |source| Error::RunCredentialHelper {
            program: program.clone(),
            source,
        };
        let mut child = command.spawn().map_err(run_error)?;
        let server = helper_server_name(registry);
        if let Some(mut stdin) = child.stdin.take() {
            // A helper may exit without reading; its answer tells the rest.
            match stdin.write_all(server.as_bytes()) {
                Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(run_error(error));
                }
                _ => {}
            }
        }
        let output = child.wait_with_output().map_err(run_error)?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            // The helper protocol reports an unknown server on stdout.
            if stdout.contains("credentials not found") {
                return Ok(None);
            }
            let stderr = String::from_utf8_lossy(&output.stderr);
            let message = if stdout.trim().is_empty() {
                stderr.trim().to_owned()
            } else {
                stdout.trim().to_owned()
            };
            return Err(Error::CredentialHelper {
                program,
                registry: registry.to_owned(),
                message,
            });
        }
        let answer: HelperAnswer =
            serde_json::from_slice(&output.stdout).map_err(|source| Error::CredentialHelper {
                program: program.clone(),
                registry: registry.to_owned(),
                message: format!("unreadable answer: {source}"),
            })?;
        Ok(Some(if answer.username == "<token>" {
            Credentials::IdentityToken(answer.secret)
        } else {
            Credentials::Basic {
                username: answer.username,
                password: answer.secret,
            }
        }))
    }
}

fn default_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|dir| !dir.is_empty()) {
        return Some(Path::new(&dir).join("config.json"));
    }
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(|home| Path::new(&home).join(".docker/config.json"))
}

/// The registry host a config key names: `https://ghcr.io/v1/` → `ghcr.io`;
/// every Docker Hub alias → `docker.io`.
fn normalize_server(server: &str) -> String {
    let without_scheme = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"))
        .unwrap_or(server);
    let host = without_scheme
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_owned()
        }
        _ => host,
    }
}

/// The server name a credential helper files `registry` under.
fn helper_server_name(registry: &str) -> &str {
    if normalize_server(registry) == "docker.io" {
        DOCKER_HUB_SERVER
    } else {
        registry
    }
}

fn decode_entry(path: &Path, registry: &str, entry: &AuthEntry) -> Result<Option<Credentials>> {
    if let Some(token) = entry
        .identitytoken
        .as_ref()
        .filter(|token| !token.is_empty())
    {
        return Ok(Some(Credentials::IdentityToken(token.clone())));
    }
    if let Some(auth) = entry.auth.as_ref().filter(|auth| !auth.is_empty()) {
        let invalid = || Error::DecodeAuth {
            path: path.to_owned(),
            registry: registry.to_owned(),
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| invalid())?;
        let text = String::from_utf8(decoded).map_err(|_| invalid())?;
        let (username, password) = text.split_once(':').ok_or_else(invalid)?;
        return Ok(Some(Credentials::Basic {
            username: username.to_owned(),
            password: password.trim_end_matches('\n').to_owned(),
        }));
    }
    match (&entry.username, &entry.password) {
        (Some(username), Some(password)) if !username.is_empty() => Ok(Some(Credentials::Basic {
            username: username.clone(),
            password: password.clone(),
        })),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn store_with(config: &str) -> (tempfile::TempDir, CredentialStore) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        fs_err::write(&path, config).unwrap();
        let store = CredentialStore::new(Some(path)).with_helper_path(dir.path());
        (dir, store)
    }

    #[expect(clippy::unnecessary_wraps, reason = "compared with lookup's Option")]
    fn basic(username: &str, password: &str) -> Option<Credentials> {
        Some(Credentials::Basic {
            username: username.to_owned(),
            password: password.to_owned(),
        })
    }

    #[test]
    fn auths_entries_decode_base64_and_plain_fields() {
        // "alice:s3cr:et" — the password may itself hold a colon.
        let (_dir, store) = store_with(
            r#"{"auths": {
                "https://index.docker.io/v1/": {"auth": "YWxpY2U6czNjcjpldA=="},
                "http://127.0.0.1:5000": {"username": "bob", "password": "pw"},
                "ghcr.io": {"identitytoken": "refresh-me"}
            }}"#,
        );
        assert_eq!(
            store.lookup("docker.io").unwrap(),
            basic("alice", "s3cr:et")
        );
        assert_eq!(store.lookup("127.0.0.1:5000").unwrap(), basic("bob", "pw"));
        assert_eq!(
            store.lookup("ghcr.io").unwrap(),
            Some(Credentials::IdentityToken("refresh-me".to_owned()))
        );
        assert_eq!(store.lookup("quay.io").unwrap(), None);
    }

    #[test]
    fn missing_config_means_anonymous_and_broken_config_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = CredentialStore::new(Some(dir.path().join("nope.json")));
        assert_eq!(missing.lookup("docker.io").unwrap(), None);

        let (_dir, broken) = store_with("{not json");
        let error = broken.lookup("docker.io").unwrap_err();
        assert!(error.to_string().contains("config.json"), "{error}");

        let (_dir, bad_auth) = store_with(r#"{"auths": {"ghcr.io": {"auth": "bm9jb2xvbg=="}}}"#);
        let error = bad_auth.lookup("ghcr.io").unwrap_err();
        assert!(matches!(error, Error::DecodeAuth { .. }), "{error:?}");
    }

    fn write_helper(dir: &Path, name: &str, script: &str) {
        let path = dir.join(format!("docker-credential-{name}"));
        fs_err::write(&path, format!("#!/bin/sh\n{script}")).unwrap();
        fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn cred_helpers_win_over_auths_and_get_the_server_on_stdin() {
        let (dir, store) = store_with(
            r#"{"auths": {"registry.test": {"auth": "dTpw"}},
                "credHelpers": {"registry.test": "fake", "docker.io": "fake"}}"#,
        );
        write_helper(
            dir.path(),
            "fake",
            r#"read server
case "$server" in
  registry.test) echo '{"ServerURL":"registry.test","Username":"carol","Secret":"from-helper"}' ;;
  https://index.docker.io/v1/) echo '{"Username":"<token>","Secret":"hub-token"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
"#,
        );
        assert_eq!(
            store.lookup("registry.test").unwrap(),
            basic("carol", "from-helper")
        );
        assert_eq!(
            store.lookup("docker.io").unwrap(),
            Some(Credentials::IdentityToken("hub-token".to_owned()))
        );
    }

    #[test]
    fn creds_store_falls_back_to_auths_when_it_knows_nothing() {
        let (dir, store) =
            store_with(r#"{"credsStore": "empty", "auths": {"registry.test": {"auth": "dTpw"}}}"#);
        write_helper(
            dir.path(),
            "empty",
            "echo 'credentials not found in native keychain'; exit 1\n",
        );
        assert_eq!(store.lookup("registry.test").unwrap(), basic("u", "p"));
    }

    #[test]
    fn failing_or_missing_helper_is_an_error_naming_it() {
        let (dir, store) = store_with(r#"{"credsStore": "broken"}"#);
        write_helper(dir.path(), "broken", "echo 'keychain locked' >&2; exit 3\n");
        let error = store.lookup("registry.test").unwrap_err();
        assert!(
            error.to_string().contains("docker-credential-broken")
                && error.to_string().contains("keychain locked"),
            "{error}"
        );

        let (_dir, store) = store_with(r#"{"credsStore": "absent"}"#);
        let error = store.lookup("registry.test").unwrap_err();
        assert!(
            matches!(error, Error::RunCredentialHelper { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn server_keys_normalize_to_hosts() {
        assert_eq!(normalize_server("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalize_server("registry-1.docker.io"), "docker.io");
        assert_eq!(
            normalize_server("http://LOCALHOST:5000/v2/"),
            "localhost:5000"
        );
        assert_eq!(helper_server_name("docker.io"), DOCKER_HUB_SERVER);
        assert_eq!(helper_server_name("ghcr.io"), "ghcr.io");
    }
}

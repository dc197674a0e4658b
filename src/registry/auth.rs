//! Registry authentication: reading `WWW-Authenticate` challenges, Basic
//! auth, and the Bearer token flow of the distribution spec (ask the realm
//! for a token scoped to `repository:<name>:<actions>`, anonymously or with
//! the user's credentials, and reuse it until it expires). Where the
//! credentials come from is left to `credentials`; when to retry a request
//! after a 401 is left to the client.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;
use ureq::http::Method;

use super::credentials::{CredentialStore, Credentials};
use super::error::{Error, Result};
use super::transport::{Body, Request, Transport, error_message};

/// How long a token lives when the realm does not say (the spec's default).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// A token is renewed this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(10);

/// What a registry's `WWW-Authenticate` header asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic {
        realm: Option<String>,
    },
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

impl Challenge {
    /// Read a `WWW-Authenticate` value (`Bearer realm="…",service="…"`).
    /// When the header offers several schemes, Bearer is preferred.
    pub fn parse(header: &str) -> Option<Self> {
        let challenges = split_challenges(header);
        let pick = |wanted: &str| {
            challenges
                .iter()
                .find(|(scheme, _)| scheme.eq_ignore_ascii_case(wanted))
        };
        if let Some((_, params)) = pick("bearer") {
            let get = |key: &str| {
                params
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(key))
                    .map(|(_, value)| value.clone())
            };
            return Some(Self::Bearer {
                realm: get("realm").filter(|realm| !realm.is_empty())?,
                service: get("service"),
                scope: get("scope"),
            });
        }
        pick("basic").map(|(_, params)| Self::Basic {
            realm: params
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("realm"))
                .map(|(_, value)| value.clone()),
        })
    }
}

/// `scheme param=value, param="quoted, value", scheme2 …` → schemes with params.
fn split_challenges(header: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut challenges: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut rest = header.trim();
    while !rest.is_empty() {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        let token_end = rest
            .find(|c: char| c == '=' || c == ',' || c.is_whitespace())
            .unwrap_or(rest.len());
        let token = &rest[..token_end];
        let after = rest[token_end..].trim_start();
        if token.is_empty() {
            break;
        }
        if let Some(value_start) = after.strip_prefix('=') {
            // A parameter of the current challenge.
            let value_start = value_start.trim_start();
            let (value, remaining) = if let Some(quoted) = value_start.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((index, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, escaped)) = chars.next() {
                                value.push(escaped);
                            }
                        }
                        '"' => {
                            end = index + 1;
                            break;
                        }
                        _ => value.push(c),
                    }
                }
                (value, &quoted[end.min(quoted.len())..])
            } else {
                let end = value_start.find(',').unwrap_or(value_start.len());
                (value_start[..end].trim().to_owned(), &value_start[end..])
            };
            if let Some((_, params)) = challenges.last_mut() {
                params.push((token.to_owned(), value));
            }
            rest = remaining;
        } else {
            challenges.push((token.to_owned(), Vec::new()));
            rest = after;
        }
    }
    challenges
}

/// Access to one repository: `repository:<name>:pull` or `:pull,push`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub repository: String,
    pub push: bool,
}

impl Scope {
    pub fn pull(repository: &str) -> Self {
        Self {
            repository: repository.to_owned(),
            push: false,
        }
    }

    pub fn push(repository: &str) -> Self {
        Self {
            repository: repository.to_owned(),
            push: true,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let actions = if self.push { "pull,push" } else { "pull" };
        write!(f, "repository:{}:{actions}", self.repository)
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

struct Token {
    header: String,
    expires: Instant,
}

#[derive(Default)]
struct State {
    challenges: HashMap<String, Challenge>,
    credentials: HashMap<String, Option<Credentials>>,
    /// By registry and the scopes joined with spaces.
    tokens: HashMap<(String, String), Token>,
}

/// Remembers each registry's challenge, the user's credentials and the
/// tokens fetched, and turns them into `Authorization` headers.
pub(crate) struct Authenticator {
    store: CredentialStore,
    state: Mutex<State>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    pub(crate) fn new(store: CredentialStore) -> Self {
        Self {
            store,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere cannot leave these caches inconsistent.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Record the challenge of a 401 answer, dropping tokens it rejected.
    pub(crate) fn on_challenge(&self, registry: &str, header: &str) -> Result<()> {
        let challenge = Challenge::parse(header).ok_or_else(|| Error::ParseChallenge {
            registry: registry.to_owned(),
            header: header.to_owned(),
        })?;
        let mut state = self.state();
        state.tokens.retain(|(known, _), _| known != registry);
        state.challenges.insert(registry.to_owned(), challenge);
        Ok(())
    }

    /// Whether `registry` has challenged us before.
    pub(crate) fn knows(&self, registry: &str) -> bool {
        self.state().challenges.contains_key(registry)
    }

    /// The `Authorization` header for a request to `registry` needing
    /// `scopes`, fetching a token when the registry wants one. `None` when
    /// the registry has not asked for anything, or asks for Basic and we have
    /// no credentials.
    pub(crate) fn authorization(
        &self,
        transport: &Transport,
        registry: &str,
        scopes: &[Scope],
    ) -> Result<Option<String>> {
        let Some(challenge) = self.state().challenges.get(registry).cloned() else {
            return Ok(None);
        };
        let credentials = self.credentials(registry)?;
        match challenge {
            Challenge::Basic { .. } => Ok(match credentials {
                Some(Credentials::Basic { username, password }) => {
                    Some(basic_header(&username, &password))
                }
                _ => None,
            }),
            Challenge::Bearer {
                realm,
                service,
                scope: _,
            } => {
                let scope_key = scopes
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" ");
                let key = (registry.to_owned(), scope_key);
                if let Some(token) = self.state().tokens.get(&key) {
                    if token.expires > Instant::now() {
                        return Ok(Some(token.header.clone()));
                    }
                }
                let token = fetch_token(
                    transport,
                    registry,
                    &realm,
                    service.as_deref(),
                    scopes,
                    credentials.as_ref(),
                )?;
                let header = token.header.clone();
                self.state().tokens.insert(key, token);
                Ok(Some(header))
            }
        }
    }

    fn credentials(&self, registry: &str) -> Result<Option<Credentials>> {
        if let Some(known) = self.state().credentials.get(registry) {
            return Ok(known.clone());
        }
        let found = self.store.lookup(registry)?;
        self.state()
            .credentials
            .insert(registry.to_owned(), found.clone());
        Ok(found)
    }
}

fn basic_header(username: &str, password: &str) -> String {
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {encoded}")
}

/// Percent-encode a query or form component (RFC 3986 unreserved kept).
fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn token_parameters(service: Option<&str>, scopes: &[Scope]) -> Vec<(&'static str, String)> {
    let mut parameters = Vec::new();
    if let Some(service) = service {
        parameters.push(("service", service.to_owned()));
    }
    for scope in scopes {
        parameters.push(("scope", scope.to_string()));
    }
    parameters
}

fn encode_parameters(parameters: &[(&str, String)]) -> String {
    parameters
        .iter()
        .map(|(name, value)| format!("{name}={}", encode_component(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Ask the token realm for a token: GET with Basic credentials (or none),
/// or the `OAuth2` refresh-token POST when we hold an identity token.
fn fetch_token(
    transport: &Transport,
    registry: &str,
    realm: &str,
    service: Option<&str>,
    scopes: &[Scope],
    credentials: Option<&Credentials>,
) -> Result<Token> {
    let mut parameters = token_parameters(service, scopes);
    let form;
    let (mut request, authorization) = match credentials {
        Some(Credentials::IdentityToken(refresh_token)) => {
            parameters.push(("grant_type", "refresh_token".to_owned()));
            parameters.push(("client_id", "xb".to_owned()));
            parameters.push(("refresh_token", refresh_token.clone()));
            form = encode_parameters(&parameters);
            let request = Request::new(Method::POST, realm.to_owned())
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(Body::Bytes(form.as_bytes()));
            (request, None)
        }
        other => {
            let separator = if realm.contains('?') { '&' } else { '?' };
            let query = encode_parameters(&parameters);
            let url = if query.is_empty() {
                realm.to_owned()
            } else {
                format!("{realm}{separator}{query}")
            };
            let authorization = match other {
                Some(Credentials::Basic { username, password }) => {
                    Some(basic_header(username, password))
                }
                _ => None,
            };
            (Request::new(Method::GET, url), authorization)
        }
    };
    let response = transport.send(&mut request, authorization.as_deref())?;
    let status = response.status().as_u16();
    if status == 401 || status == 403 {
        return Err(Error::Unauthorized {
            registry: registry.to_owned(),
            repository: scopes
                .first()
                .map(|scope| scope.repository.clone())
                .unwrap_or_default(),
            message: error_message(response),
        });
    }
    if status != 200 {
        return Err(Error::UnexpectedStatus {
            method: request.method_name(),
            url: request.url.clone(),
            status,
            message: error_message(response),
        });
    }
    let bytes = response
        .into_body()
        .with_config()
        .limit(1024 * 1024)
        .read_to_vec()
        .map_err(|source| Error::ReadResponse {
            url: request.url.clone(),
            source: source.into_io(),
        })?;
    let parse_error = |source| Error::ParseToken {
        registry: registry.to_owned(),
        realm: realm.to_owned(),
        source,
    };
    let answer: TokenAnswer = serde_json::from_slice(&bytes).map_err(parse_error)?;
    let token = answer
        .token
        .or(answer.access_token)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            parse_error(serde::de::Error::custom(
                "neither token nor access_token is set",
            ))
        })?;
    let lifetime = answer
        .expires_in
        .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs)
        .saturating_sub(TOKEN_MARGIN);
    Ok(Token {
        header: format!("Bearer {token}"),
        expires: Instant::now() + lifetime,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge_with_quoted_params() {
        let header = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#;
        assert_eq!(
            Challenge::parse(header),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".to_owned(),
                service: Some("registry.docker.io".to_owned()),
                scope: Some("repository:library/busybox:pull".to_owned()),
            })
        );
    }

    #[test]
    fn bearer_challenge_with_commas_in_scope_escapes_and_odd_spacing() {
        let header = r#"bearer  realm = "https://r.test/t?x=1" , scope="repository:a/b:pull,push",error="insufficient_scope", note="say \"hi\"""#;
        let Some(Challenge::Bearer {
            realm,
            service,
            scope,
        }) = Challenge::parse(header)
        else {
            panic!("not bearer");
        };
        assert_eq!(realm, "https://r.test/t?x=1");
        assert_eq!(service, None);
        assert_eq!(scope.as_deref(), Some("repository:a/b:pull,push"));
        let params = split_challenges(header);
        assert_eq!(params[0].1.last().unwrap().1, r#"say "hi""#);
    }

    #[test]
    fn basic_challenge_and_preference_for_bearer() {
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic {
                realm: Some("Registry Realm".to_owned())
            })
        );
        assert!(matches!(
            Challenge::parse(r#"Basic realm="x", Bearer realm="https://t.test/token""#),
            Some(Challenge::Bearer { .. })
        ));
        assert_eq!(Challenge::parse("Bearer service=\"x\""), None, "no realm");
        assert_eq!(Challenge::parse("Negotiate"), None);
        assert_eq!(Challenge::parse(""), None);
    }

    #[test]
    fn scope_and_token_query_are_encoded() {
        assert_eq!(
            Scope::pull("library/busybox").to_string(),
            "repository:library/busybox:pull"
        );
        assert_eq!(Scope::push("a/b").to_string(), "repository:a/b:pull,push");
        let query = encode_parameters(&token_parameters(
            Some("registry.docker.io"),
            &[Scope::push("a/b"), Scope::pull("c")],
        ));
        assert_eq!(
            query,
            "service=registry.docker.io&scope=repository%3Aa%2Fb%3Apull%2Cpush&scope=repository%3Ac%3Apull"
        );
        assert_eq!(basic_header("user", "pa:ss"), "Basic dXNlcjpwYTpzcw==");
    }

    /// A one-request HTTP server on loopback that records the request and
    /// answers with `answer`.
    fn serve_once(answer: &'static str) -> (String, std::thread::JoinHandle<String>) {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut request = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                request.push_str(&line);
            }
            let mut stream = reader.into_inner();
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            )
            .unwrap();
            request
        });
        (url, handle)
    }

    #[test]
    fn token_flow_sends_basic_credentials_and_scope_and_caches_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        // "alice:pw"
        fs_err::write(
            &config,
            r#"{"auths":{"registry.test":{"auth":"YWxpY2U6cHc="}}}"#,
        )
        .unwrap();
        let authenticator = Authenticator::new(CredentialStore::new(Some(config)));
        let transport = Transport::new("xb-test", Vec::new());
        let (realm, server) = serve_once(r#"{"token":"abc","expires_in":300}"#);
        authenticator
            .on_challenge(
                "registry.test",
                &format!(r#"Bearer realm="{realm}",service="svc""#),
            )
            .unwrap();
        let scopes = [Scope::pull("team/app")];
        let header = authenticator
            .authorization(&transport, "registry.test", &scopes)
            .unwrap();
        assert_eq!(header.as_deref(), Some("Bearer abc"));
        let request = server.join().unwrap();
        assert!(
            request.starts_with(
                "GET /token?service=svc&scope=repository%3Ateam%2Fapp%3Apull HTTP/1.1"
            ),
            "{request}"
        );
        assert!(
            request
                .to_ascii_lowercase()
                .contains("authorization: basic ywxpy2u6chc="),
            "{request}"
        );
        // The server is gone: a second call must come from the cache.
        let again = authenticator
            .authorization(&transport, "registry.test", &scopes)
            .unwrap();
        assert_eq!(again.as_deref(), Some("Bearer abc"));
    }

    #[test]
    fn basic_challenge_uses_credentials_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        fs_err::write(
            &config,
            r#"{"auths":{"with.test":{"username":"u","password":"p"}}}"#,
        )
        .unwrap();
        let authenticator = Authenticator::new(CredentialStore::new(Some(config)));
        let transport = Transport::new("xb-test", Vec::new());
        for registry in ["with.test", "without.test"] {
            authenticator
                .on_challenge(registry, r#"Basic realm="r""#)
                .unwrap();
        }
        let scopes = [Scope::pull("x")];
        assert_eq!(
            authenticator
                .authorization(&transport, "with.test", &scopes)
                .unwrap()
                .as_deref(),
            Some("Basic dTpw")
        );
        assert_eq!(
            authenticator
                .authorization(&transport, "without.test", &scopes)
                .unwrap(),
            None
        );
        assert!(
            authenticator
                .on_challenge("x.test", "Digest nonce=1")
                .is_err()
        );
    }
}

//! The registry client: its options, and the one path every request takes
//! (URL of a repository endpoint, `Authorization` from `auth`, one retry
//! after a 401 challenge, 401/403 turned into [`Error::Unauthorized`]).
//! What the requests are — pulling and pushing — lives in `pull` and `push`.

use std::path::PathBuf;

use ureq::http::Response;

use super::auth::{Authenticator, Scope};
use super::credentials::CredentialStore;
use super::error::{Error, Result};
use super::transport::{Request, Transport, error_message};
use crate::graph::Reference;

/// How a [`RegistryClient`] reaches registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Registries (`host` or `host:port`) spoken to in plain HTTP although
    /// they are not on loopback (`--insecure-registry`).
    pub insecure_hosts: Vec<String>,
    /// The Docker `config.json` holding credentials; `None` reads
    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
    pub user_agent: String,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            insecure_hosts: Vec::new(),
            docker_config: None,
            user_agent: format!("xb/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// A client of OCI distribution registries. It is `Send + Sync`: one
/// client serves parallel downloads and shares tokens between them.
#[derive(Debug)]
pub struct RegistryClient {
    transport: Transport,
    auth: Authenticator,
}

impl RegistryClient {
    pub fn new(options: RegistryOptions) -> Self {
        Self::with_credentials(options.clone(), CredentialStore::new(options.docker_config))
    }

    /// A client taking credentials from `store` instead of the Docker config.
    pub fn with_credentials(options: RegistryOptions, store: CredentialStore) -> Self {
        Self {
            transport: Transport::new(&options.user_agent, options.insecure_hosts),
            auth: Authenticator::new(store),
        }
    }

    /// `scheme://host/v2/<repository>/<tail>` for `reference`'s repository.
    pub(crate) fn repository_url(&self, reference: &Reference, tail: &str) -> String {
        format!(
            "{}/v2/{}/{tail}",
            self.transport.api_base(&reference.registry),
            reference.repository
        )
    }

    /// `scheme://host` of `reference`'s registry.
    pub(crate) fn api_base(&self, reference: &Reference) -> String {
        self.transport.api_base(&reference.registry)
    }

    /// Send `request` to `reference`'s registry with the access `scopes`
    /// need. A 401 is answered once by following its challenge (when the
    /// body can be sent again); a second 401, or a 403, is
    /// [`Error::Unauthorized`]. Any other answer is the caller's to judge.
    pub(crate) fn call(
        &self,
        reference: &Reference,
        scopes: &[Scope],
        request: &mut Request<'_>,
    ) -> Result<Response<ureq::Body>> {
        let registry = reference.registry.as_str();
        let unauthorized = |message: String| Error::Unauthorized {
            registry: registry.to_owned(),
            repository: reference.repository.clone(),
            message,
        };
        let first = self.auth.authorization(&self.transport, registry, scopes)?;
        let response = self.transport.send(request, first.as_deref())?;
        match response.status().as_u16() {
            401 => {}
            403 => return Err(unauthorized(error_message(response))),
            _ => return Ok(response),
        }
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let message = error_message(response);
        let Some(challenge) = challenge else {
            return Err(unauthorized(message));
        };
        if !request.is_replayable() {
            return Err(unauthorized(message));
        }
        self.auth.on_challenge(registry, &challenge)?;
        let second = self.auth.authorization(&self.transport, registry, scopes)?;
        if second.is_none()
            || (second == first
                && second
                    .as_deref()
                    .is_some_and(|header| header.starts_with("Basic ")))
        {
            let message = if second.is_none() {
                format!("{message} (no credentials for {registry} in the docker config)")
            } else {
                message
            };
            return Err(unauthorized(message.trim_start().to_owned()));
        }
        let response = self.transport.send(request, second.as_deref())?;
        match response.status().as_u16() {
            401 | 403 => Err(unauthorized(error_message(response))),
            _ => Ok(response),
        }
    }

    /// Whether `registry` asked for authentication before (for tests and
    /// diagnostics).
    /// GETs `url` for `ADD https://…`, with the retries of registry
    /// requests; any status but 200 is an error naming the URL.
    pub fn get_url(&self, url: &str) -> Result<Response<ureq::Body>> {
        let mut request = Request::new(ureq::http::Method::GET, url.to_owned());
        let response = self.transport.send(&mut request, None)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(Error::UnexpectedStatus {
                method: "GET",
                url: url.to_owned(),
                status,
                message: error_message(response),
            });
        }
        Ok(response)
    }

    pub fn has_challenged(&self, registry: &str) -> bool {
        self.auth.knows(registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Digest;
    use crate::test_support::registry::TestRegistry;

    fn client_with_config(registry: &TestRegistry, config: &str) -> RegistryClient {
        let path = registry.scratch().join(format!(
            "config-{}.json",
            Digest::of(config.as_bytes()).hex()
        ));
        fs_err::write(&path, config).unwrap();
        RegistryClient::new(RegistryOptions {
            docker_config: Some(path),
            ..RegistryOptions::default()
        })
    }

    #[test]
    fn basic_auth_from_the_docker_config_reaches_an_htpasswd_registry() {
        let Some(registry) = TestRegistry::start_with_htpasswd("alice", "s3cret") else {
            return;
        };
        let reference: Reference = format!("{}/private/app:v1", registry.host).parse().unwrap();
        let blob = b"private bytes";
        let digest = Digest::of(blob);

        // "alice:s3cret"
        let good = client_with_config(
            &registry,
            &format!(
                r#"{{"auths":{{"{}":{{"auth":"YWxpY2U6czNjcmV0"}}}}}}"#,
                registry.host
            ),
        );
        good.push_blob(&reference, &digest, blob.len() as u64, &mut &blob[..])
            .unwrap();
        assert!(good.has_challenged(&registry.host));
        let mut out = Vec::new();
        good.fetch_blob(&reference, &digest, blob.len() as u64, &mut out)
            .unwrap();
        assert_eq!(out, blob);

        let anonymous = client_with_config(&registry, "{}");
        let error = anonymous.blob_exists(&reference, &digest).unwrap_err();
        assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
        assert!(
            error.to_string().contains(&registry.host)
                && error.to_string().contains("no credentials"),
            "{error}"
        );

        let wrong = client_with_config(
            &registry,
            &format!(
                r#"{{"auths":{{"http://{}":{{"username":"alice","password":"nope"}}}}}}"#,
                registry.host
            ),
        );
        let error = wrong
            .fetch_blob(&reference, &digest, blob.len() as u64, &mut Vec::new())
            .unwrap_err();
        assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
    }

    #[test]
    fn bearer_challenge_is_answered_with_a_scoped_token() {
        use crate::test_support::http::{ScriptedServer, answer};
        let mut server = ScriptedServer::bind();
        let challenge = format!(
            r#"Bearer realm="http://{}/token",service="registry.test""#,
            server.host
        );
        let token = br#"{"access_token":"tok-123","expires_in":600}"#;
        server.serve(vec![
            answer(
                "401 Unauthorized",
                &[("WWW-Authenticate", &challenge)],
                b"",
                0,
            ),
            answer(
                "200 OK",
                &[("Content-Type", "application/json")],
                token,
                token.len(),
            ),
            answer("200 OK", &[], b"", 0),
        ]);
        let client = RegistryClient::new(RegistryOptions {
            docker_config: Some("/nonexistent/config.json".into()),
            ..RegistryOptions::default()
        });
        let reference: Reference = format!("{}/team/app:v1", server.host).parse().unwrap();
        assert!(client.blob_exists(&reference, &Digest::of(b"x")).unwrap());
        let requests = server.requests();
        assert_eq!(requests.len(), 3, "{requests:?}");
        assert!(
            requests[1].starts_with(
                "GET /token?service=registry.test&scope=repository%3Ateam%2Fapp%3Apull%2Cpush "
            ),
            "{}",
            requests[1]
        );
        assert!(
            !requests[1].to_ascii_lowercase().contains("authorization"),
            "anonymous token request: {}",
            requests[1]
        );
        assert!(
            requests[2]
                .to_ascii_lowercase()
                .contains("authorization: bearer tok-123"),
            "{}",
            requests[2]
        );
    }
}

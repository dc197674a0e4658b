//! HTTP for the registry client: which scheme and host a registry is reached
//! at, one ureq agent (rustls, xb's own name resolver), and sending a request
//! with bounded retries. Authentication and what the requests mean are left
//! to `auth` and the client.
//!
//! TLS is used for every registry except loopback hosts (`localhost`,
//! `127.0.0.0/8`, `::1`) and those the user listed as insecure, which are
//! spoken to in plain HTTP. Docker Hub (`docker.io`) is served from
//! `registry-1.docker.io`.

use std::io::Read;
use std::net::IpAddr;
use std::time::Duration;

use ureq::http::{self, Response};
use ureq::unversioned::transport::DefaultConnector;
use ureq::{Agent, AsSendBody, SendBody};

use super::dns::StaticResolver;
use super::error::{Error, Result};
use crate::graph::reference::DOCKER_HUB;

/// How many times a request is tried before its failure is reported.
pub(crate) const ATTEMPTS: u32 = 3;

/// The first pause between tries; it doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// The body of a request. Only `Empty` and `Bytes` can be sent again, so
/// only those are retried.
pub(crate) enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    Reader {
        reader: &'a mut dyn Read,
        length: u64,
    },
}

/// One HTTP request, before authentication is added.
pub(crate) struct Request<'a> {
    pub(crate) method: http::Method,
    pub(crate) url: String,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Body<'a>,
}

impl<'a> Request<'a> {
    pub(crate) fn new(method: http::Method, url: String) -> Self {
        Self {
            method,
            url,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn body(mut self, body: Body<'a>) -> Self {
        self.body = body;
        self
    }

    pub(crate) fn method_name(&self) -> &'static str {
        method_name(&self.method)
    }

    /// Whether the body can be sent again after a failed try.
    pub(crate) fn is_replayable(&self) -> bool {
        !matches!(self.body, Body::Reader { .. })
    }
}

fn method_name(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::HEAD => "HEAD",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        _ => "request",
    }
}

/// The HTTP side of a registry client.
#[derive(Debug)]
pub(crate) struct Transport {
    agent: Agent,
    insecure_hosts: Vec<String>,
}

impl Transport {
    pub(crate) fn new(user_agent: &str, insecure_hosts: Vec<String>) -> Self {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(user_agent)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_per_read(Some(Duration::from_secs(120)))
            .max_redirects(10)
            .build();
        let agent = Agent::with_parts(config, DefaultConnector::new(), StaticResolver);
        Self {
            agent,
            insecure_hosts,
        }
    }

    /// `scheme://host[:port]` of the registry's API.
    pub(crate) fn api_base(&self, registry: &str) -> String {
        let host = api_host(registry);
        let scheme = if is_loopback(registry)
            || self
                .insecure_hosts
                .iter()
                .any(|insecure| insecure == registry || insecure == host)
        {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{host}")
    }

    /// Send `request`, adding `authorization` when given. 5xx answers, 429
    /// and dropped connections are retried with backoff when the body can be
    /// sent again; any other answer is returned as is.
    pub(crate) fn send(
        &self,
        request: &mut Request<'_>,
        authorization: Option<&str>,
    ) -> Result<Response<ureq::Body>> {
        let attempts = if request.is_replayable() { ATTEMPTS } else { 1 };
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let outcome = self.send_once(request, authorization);
            let retry = match &outcome {
                Ok(response) => is_retryable_status(response.status().as_u16()),
                Err(error) => is_retryable_error(error),
            };
            if !retry || attempt >= attempts {
                return outcome.map_err(|source| Error::Request {
                    method: request.method_name(),
                    url: request.url.clone(),
                    attempts: attempt,
                    source: Box::new(source),
                });
            }
            tracing::debug!(
                method = request.method_name(),
                url = request.url,
                attempt,
                "retrying registry request"
            );
            std::thread::sleep(backoff);
            backoff *= 2;
            attempt += 1;
        }
    }

    fn send_once(
        &self,
        request: &mut Request<'_>,
        authorization: Option<&str>,
    ) -> Result<Response<ureq::Body>, ureq::Error> {
        let mut builder = http::Request::builder()
            .method(request.method.clone())
            .uri(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        if let Some(authorization) = authorization {
            builder = builder.header("Authorization", authorization);
        }
        // A proxy from the environment never stands between us and loopback.
        let direct = request
            .url
            .parse::<http::Uri>()
            .ok()
            .and_then(|uri| uri.host().map(is_loopback))
            .unwrap_or(false);
        match &mut request.body {
            Body::Empty if request.method == http::Method::GET => {
                self.run(builder.body(())?, direct)
            }
            Body::Empty => self.run(builder.body(&[][..])?, direct),
            Body::Bytes(bytes) => self.run(builder.body(*bytes)?, direct),
            Body::Reader { reader, length } => {
                let builder = builder.header("Content-Length", length.to_string());
                self.run(builder.body(SendBody::from_reader(reader))?, direct)
            }
        }
    }

    fn run(
        &self,
        request: http::Request<impl AsSendBody>,
        direct: bool,
    ) -> Result<Response<ureq::Body>, ureq::Error> {
        if direct {
            let request = self.agent.configure_request(request).proxy(None).build();
            self.agent.run(request)
        } else {
            self.agent.run(request)
        }
    }
}

/// The host the registry's API answers at.
pub(crate) fn api_host(registry: &str) -> &str {
    if registry == DOCKER_HUB || registry == "index.docker.io" {
        "registry-1.docker.io"
    } else {
        registry
    }
}

/// Whether `registry` (`host[:port]`) is this machine.
pub(crate) fn is_loopback(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        registry.split(':').next().unwrap_or_default()
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status) && status != 501 && status != 505
}

fn is_retryable_error(error: &ureq::Error) -> bool {
    matches!(
        error,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::Protocol(_)
    )
}

/// Resolve a `Location` header (absolute or relative) against `base`
/// (`scheme://host`).
pub(crate) fn absolute_url(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_owned()
    } else if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        format!("{base}/{location}")
    }
}

/// The registry's error messages from a failed answer's body (the
/// distribution spec's `{"errors":[{"code","message"}]}`), else its start.
pub(crate) fn error_message(response: Response<ureq::Body>) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorEntry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let mut body = response.into_body();
    let Ok(bytes) = body.with_config().limit(64 * 1024).read_to_vec() else {
        return String::new();
    };
    if let Ok(parsed) = serde_json::from_slice::<Errors>(&bytes) {
        return parsed
            .errors
            .iter()
            .map(
                |entry| match (entry.code.is_empty(), entry.message.is_empty()) {
                    (false, false) => format!("{} ({})", entry.message, entry.code),
                    (true, _) => entry.message.clone(),
                    (false, true) => entry.code.clone(),
                },
            )
            .collect::<Vec<_>>()
            .join("; ");
    }
    String::from_utf8_lossy(&bytes)
        .chars()
        .take(200)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in [
            "localhost",
            "localhost:5000",
            "127.0.0.1",
            "127.1.2.3:443",
            "[::1]:5000",
            "[::1]",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "docker.io",
            "10.0.0.1:5000",
            "[fe80::1]:5000",
            "localhost.example.com",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn plain_http_only_for_loopback_and_insecure_hosts() {
        let transport = Transport::new("xb-test", vec!["registry.lan:5000".to_owned()]);
        assert_eq!(
            transport.api_base("127.0.0.1:5000"),
            "http://127.0.0.1:5000"
        );
        assert_eq!(
            transport.api_base("registry.lan:5000"),
            "http://registry.lan:5000"
        );
        assert_eq!(transport.api_base("registry.lan"), "https://registry.lan");
        assert_eq!(transport.api_base("ghcr.io"), "https://ghcr.io");
        assert_eq!(
            transport.api_base("docker.io"),
            "https://registry-1.docker.io"
        );
    }

    #[test]
    fn location_is_made_absolute() {
        let base = "http://127.0.0.1:5000";
        assert_eq!(
            absolute_url(base, "/v2/a/blobs/uploads/x?_state=1"),
            "http://127.0.0.1:5000/v2/a/blobs/uploads/x?_state=1"
        );
        assert_eq!(
            absolute_url(base, "https://s3.example/upload"),
            "https://s3.example/upload"
        );
    }

    #[test]
    fn retry_only_server_errors_and_throttling() {
        assert!(is_retryable_status(500));
        assert!(is_retryable_status(503));
        assert!(is_retryable_status(429));
        assert!(!is_retryable_status(404));
        assert!(!is_retryable_status(401));
        assert!(!is_retryable_status(501));
    }

    #[test]
    fn dropped_connections_are_retried_then_reported() {
        // A server that accepts and closes every connection at once.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counter = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                drop(stream);
            }
        });
        let transport = Transport::new("xb-test", Vec::new());
        let url = format!("http://127.0.0.1:{port}/v2/");
        let mut request = Request::new(http::Method::GET, url.clone());
        let error = transport.send(&mut request, None).unwrap_err();
        assert!(
            matches!(
                &error,
                Error::Request {
                    attempts: ATTEMPTS,
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains(&url), "{error}");
        assert!(accepted.load(std::sync::atomic::Ordering::SeqCst) >= ATTEMPTS);
    }

    #[test]
    fn server_errors_are_retried_until_an_answer_is_good() {
        use crate::test_support::http::{ScriptedServer, answer};
        let mut server = ScriptedServer::bind();
        server.serve(vec![
            answer("503 Service Unavailable", &[], b"", 0),
            answer("502 Bad Gateway", &[], b"", 0),
            answer("200 OK", &[], b"{}", 2),
        ]);
        let transport = Transport::new("xb-test", Vec::new());
        let mut request = Request::new(http::Method::GET, format!("http://{}/v2/", server.host));
        let response = transport.send(&mut request, None).unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(server.requests().len(), 3);
    }
}

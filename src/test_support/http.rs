//! A scripted HTTP server on loopback for tests of behaviour a real
//! registry will not show on demand: dropped connections, 5xx answers,
//! token challenges. Each connection gets the next canned answer, then is
//! closed; the request heads are recorded.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub(crate) struct ScriptedServer {
    /// `127.0.0.1:<port>`.
    pub(crate) host: String,
    listener: Option<TcpListener>,
    requests: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl ScriptedServer {
    /// Listen now, so answers can name the host; answer with [`Self::serve`].
    pub(crate) fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let host = listener.local_addr().expect("local address").to_string();
        Self {
            host,
            listener: Some(listener),
            requests: Arc::default(),
            thread: None,
        }
    }

    /// Answer successive connections with `answers` (raw HTTP bytes).
    pub(crate) fn serve(&mut self, answers: Vec<Vec<u8>>) {
        let listener = self.listener.take().expect("serve called once");
        let requests = Arc::clone(&self.requests);
        self.thread = Some(std::thread::spawn(move || {
            for answer in answers {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                let mut reader = BufReader::new(stream);
                let mut head = String::new();
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut body = vec![0u8; length];
                let _ = reader.read_exact(&mut body);
                requests.lock().expect("requests lock").push(head);
                let mut stream = reader.into_inner();
                let _ = stream.write_all(&answer);
            }
        }));
    }

    /// The request heads received so far (request line and headers).
    pub(crate) fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("requests lock").clone()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        // The thread ends after its last answer; do not wait on a test
        // that failed before using them all.
        drop(self.thread.take());
    }
}

/// An HTTP/1.1 answer closing the connection; `body_sent` may be shorter
/// than `content_length` to simulate a dropped connection.
pub(crate) fn answer(
    status: &str,
    headers: &[(&str, &str)],
    body_sent: &[u8],
    content_length: usize,
) -> Vec<u8> {
    let mut out =
        format!("HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {content_length}\r\n");
    for (name, value) in headers {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body_sent);
    bytes
}

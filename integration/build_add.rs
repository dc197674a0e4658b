//! ADD beyond COPY: local tars unpacked (and `--unpack=false`), archives
//! whose entries escape refused, and http(s) sources pinned by `--checksum`
//! from a loopback server the test runs.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::TestContext;
use crate::common::image::oci_archive_filesystem;

/// A loopback HTTP server answering every GET with `body`.
struct FileServer {
    url: String,
    requests: Arc<AtomicUsize>,
}

fn serve(body: &'static [u8]) -> FileServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let url = format!(
        "http://{}/files/tool.txt",
        listener.local_addr().expect("an address")
    );
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&requests);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("a stream"));
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|read| read > 2) {
                line.clear();
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nLast-Modified: Tue, 15 Nov 1994 12:45:26 GMT\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body);
        }
    });
    FileServer { url, requests }
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

fn build(context: &TestContext, dest: &str) -> crate::common::Run {
    let store = context.path().join("store").display().to_string();
    context.run(&[
        "build",
        "--root",
        &store,
        "--progress=plain",
        "-o",
        &format!("type=oci,dest={dest}"),
        ".",
    ])
}

fn gzip_tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o640);
        header.set_uid(1000);
        header.set_gid(1000);
        let name = &mut header.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_cksum();
        builder.append(&header, *data).expect("append");
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&builder.into_inner().expect("a tar"))
        .expect("gzip");
    gz.finish().expect("gzip")
}

#[test]
fn add_unpacks_local_tars_unless_told_not_to() {
    let context = TestContext::new();
    fs_err::write(
        context.path().join("bundle.tar.gz"),
        gzip_tar(&[("app/run.sh", b"#!/bin/sh\n"), ("app/data.txt", b"data")]),
    )
    .unwrap();
    context.write(
        "Dockerfile",
        "FROM scratch\nADD bundle.tar.gz /opt/\nADD --unpack=false bundle.tar.gz /kept/\n",
    );
    build(&context, "out.tar").assert_success();
    let files = oci_archive_filesystem(&context.path().join("out.tar"));
    assert_eq!(files["/opt/app/data.txt"].data, b"data");
    assert_eq!(files["/opt/app/run.sh"].mode, 0o640);
    assert_eq!(files["/opt/app/run.sh"].uid, 1000);
    assert!(files.contains_key("/kept/bundle.tar.gz"));
    assert!(!files.contains_key("/opt/bundle.tar.gz"));
}

#[test]
fn add_refuses_archive_entries_that_escape() {
    let context = TestContext::new();
    fs_err::write(
        context.path().join("evil.tar.gz"),
        gzip_tar(&[("../../../escape.txt", b"out")]),
    )
    .unwrap();
    context.write("Dockerfile", "FROM scratch\nADD evil.tar.gz /opt/\n");
    let run = build(&context, "out.tar");
    run.assert_exit(1);
    assert!(run.stderr.contains("evil.tar.gz"), "{}", run.stderr);
    assert!(run.stderr.contains("escape.txt"), "{}", run.stderr);
    assert!(!context.path().join("out.tar").exists());
}

#[test]
fn add_url_with_checksum_is_verified_and_cached() {
    let body: &'static [u8] = b"a downloaded tool\n";
    let server = serve(body);
    let context = TestContext::new();
    context.write(
        "Dockerfile",
        &format!(
            "FROM scratch\nADD --checksum={} {} /bin/\n",
            sha256(body),
            server.url
        ),
    );
    build(&context, "one.tar").assert_success();
    let files = oci_archive_filesystem(&context.path().join("one.tar"));
    assert_eq!(files["/bin/tool.txt"].data, body);
    assert_eq!(files["/bin/tool.txt"].mode, 0o600);
    assert_eq!(
        files["/bin/tool.txt"].mtime, 784_903_526,
        "from Last-Modified"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);

    // Pinned by checksum: the second build is cached without a download.
    let again = build(&context, "two.tar");
    again.assert_success();
    assert!(again.stderr.contains("CACHED"), "{}", again.stderr);
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);

    // A wrong checksum fails, naming both digests.
    let wrong = sha256(b"something else");
    context.write(
        "Dockerfile",
        &format!(
            "FROM scratch\nADD --checksum={wrong} {} /bin/\n",
            server.url
        ),
    );
    let failed = build(&context, "three.tar");
    failed.assert_exit(1);
    assert!(failed.stderr.contains(&wrong), "{}", failed.stderr);
    assert!(failed.stderr.contains(&sha256(body)), "{}", failed.stderr);
    assert!(!context.path().join("three.tar").exists());
}

#[test]
fn add_url_without_checksum_is_keyed_by_content() {
    let server = serve(b"unpinned\n");
    let context = TestContext::new();
    context.write(
        "Dockerfile",
        &format!("FROM scratch\nADD {} /got.txt\n", server.url),
    );
    build(&context, "one.tar").assert_success();
    let files = oci_archive_filesystem(&context.path().join("one.tar"));
    assert_eq!(files["/got.txt"].data, b"unpinned\n");
    let again = build(&context, "two.tar");
    again.assert_success();
    assert_eq!(server.requests.load(Ordering::SeqCst), 2, "fetched again");
    assert!(again.stderr.contains("CACHED"), "{}", again.stderr);
}

//! `pulse serve` end to end: the token is created once (0600, printed once), the server listens
//! on loopback and answers the JSON API with the token only.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
use common::isolated;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};

/// Starts `pulse serve --bind 127.0.0.1:0` under `home`; the child, the lines it printed up to
/// the "Serving" line, and the address.
fn start(home: &std::path::Path) -> (Child, Vec<String>, String) {
    let mut child = isolated(home)
        .args(["--db"])
        .arg(home.join("pulse.db"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "serve ended: {lines:?}"
        );
        let done = line.starts_with("Serving");
        lines.push(line.trim_end().to_string());
        if done {
            break;
        }
    }
    let addr = lines
        .last()
        .unwrap()
        .split("http://")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    (child, lines, addr)
}

/// A GET over a plain TCP connection: the status line and the body.
fn get(addr: &str, path: &str, token: Option<&str>) -> (String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.lines().next().unwrap().to_string();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

#[test]
fn serve_creates_its_token_once_and_answers_the_api_with_it_only() {
    let home = tempfile::tempdir().unwrap();
    let (mut child, lines, addr) = start(home.path());
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let token_file = home.path().join("pulse").join("server-token");
    let token = std::fs::read_to_string(&token_file).unwrap();
    assert_eq!(token.len(), 64);
    assert!(lines[0].starts_with("Access token") && lines[0].ends_with(&token));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (status, _) = get(&addr, "/api/runs", None);
    assert!(status.contains("401"), "{status}");
    let (status, body) = get(&addr, "/api/runs", Some(&token));
    assert!(status.contains("200"), "{status}");
    assert_eq!(body.trim(), "[]");
    child.kill().unwrap();
    child.wait().unwrap();

    // A second start reuses the token and does not print it.
    let (mut child, lines, addr) = start(home.path());
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(!lines[0].contains(&token));
    let (status, _) = get(&addr, "/api/clock", Some(&token));
    assert!(status.contains("200"), "{status}");
    child.kill().unwrap();
    child.wait().unwrap();
}

//! A real SMTP server for the tests (mailin-embedded on a free local port) that records every
//! message it accepts, can refuse transactions with 4xx or 5xx, plus a small MIME reader to assert
//! on what arrived: headers (RFC 2047 encoded-words decoded), the text and HTML alternatives
//! (quoted-printable or base64 decoded) and the links in them.

use std::io;
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use mailin_embedded::{Action, Handler, Response, Server, response};

use crate::helpers::{TestApp, spawn_app_with};

/// The public URL the mail tests give the app: links in messages start with it, and
/// `Message-ID`s end with `@connect.test>`.
pub const PUBLIC_URL: &str = "https://connect.test";
/// The sender the mail tests configure.
pub const MAIL_FROM: &str = "CONNECT <no-reply@connect.test>";

/// How long a wait for mail lasts before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(25);

/// How the server answers the end of each transaction (the final `.` of `DATA`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 250: every message is accepted.
    Accept,
    /// 451 for the next `n` transactions, then 250.
    TempFailFirst(usize),
    /// 554 for every transaction.
    RejectAll,
}

/// One transaction the server saw.
#[derive(Debug, Clone)]
pub struct Received {
    pub envelope_from: String,
    pub envelope_to: Vec<String>,
    pub raw: Vec<u8>,
}

#[derive(Debug)]
struct Shared {
    mode: Mode,
    accepted: Vec<Received>,
    refused: Vec<(u16, Received)>,
}

/// A refusal at the end of `DATA` that also ends the session: mailin keeps a session whose
/// `DATA` was refused in its data state, so the client's next command (lettre's `QUIT`) would be
/// read as message text and never answered.
fn refuse(mut r: Response) -> Response {
    r.action = Action::Close;
    r
}

/// One handler per SMTP session (mailin clones it), all sharing the record.
#[derive(Clone)]
struct Recorder {
    shared: Arc<Mutex<Shared>>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Recorder {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        self.from = from.to_owned();
        self.to.clear();
        self.data.clear();
        response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        self.to.push(to.to_owned());
        response::OK
    }

    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let received = Received {
            envelope_from: self.from.clone(),
            envelope_to: self.to.clone(),
            raw: std::mem::take(&mut self.data),
        };
        let mut shared = self.shared.lock().unwrap();
        match shared.mode {
            Mode::Accept => {
                shared.accepted.push(received);
                response::OK
            }
            Mode::TempFailFirst(0) => {
                shared.mode = Mode::Accept;
                shared.accepted.push(received);
                response::OK
            }
            Mode::TempFailFirst(n) => {
                shared.mode = Mode::TempFailFirst(n.saturating_sub(1));
                shared.refused.push((451, received));
                refuse(response::INTERNAL_ERROR)
            }
            Mode::RejectAll => {
                shared.refused.push((554, received));
                refuse(response::TRANSACTION_FAILED)
            }
        }
    }
}

/// A test SMTP server listening on `127.0.0.1:<port>` until the test process ends.
pub struct SmtpServer {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl SmtpServer {
    /// A server that accepts everything.
    pub fn start() -> Self {
        Self::start_with(Mode::Accept)
    }

    pub fn start_with(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared {
            mode,
            accepted: Vec::new(),
            refused: Vec::new(),
        }));
        let handler = Recorder {
            shared: shared.clone(),
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        };
        let mut server = Server::new(handler);
        server
            .with_name("smtp.test")
            .with_num_threads(64)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { port, shared }
    }

    /// `CONNECT_SMTP_URL` for this server.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The settings that point an app at this server with fast polling and immediate retries.
    pub fn settings(&self) -> Vec<(String, String)> {
        vec![
            ("CONNECT_SMTP_URL".into(), self.url()),
            ("CONNECT_MAIL_POLL_MS".into(), "50".into()),
            ("CONNECT_MAIL_RETRY_BASE_SECS".into(), "0".into()),
            ("CONNECT_PUBLIC_URL".into(), PUBLIC_URL.into()),
            ("CONNECT_MAIL_FROM".into(), MAIL_FROM.into()),
        ]
    }

    pub fn set_mode(&self, mode: Mode) {
        self.shared.lock().unwrap().mode = mode;
    }

    /// Every accepted message so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().accepted.clone()
    }

    /// Every accepted message so far, parsed.
    pub fn messages(&self) -> Vec<Mail> {
        self.received().iter().map(Mail::parse).collect()
    }

    /// The accepted messages whose envelope goes to `address`.
    pub fn messages_to(&self, address: &str) -> Vec<Mail> {
        self.messages()
            .into_iter()
            .filter(|m| m.envelope_to.iter().any(|t| t == address))
            .collect()
    }

    /// The refused transactions' messages, parsed.
    pub fn refused(&self) -> Vec<Mail> {
        self.shared
            .lock()
            .unwrap()
            .refused
            .iter()
            .map(|(_, r)| Mail::parse(r))
            .collect()
    }

    /// How many transactions were refused, with which codes.
    pub fn refused_codes(&self) -> Vec<u16> {
        self.shared
            .lock()
            .unwrap()
            .refused
            .iter()
            .map(|(c, _)| *c)
            .collect()
    }

    fn summary(&self) -> String {
        let msgs = self.messages();
        let list: Vec<String> = msgs
            .iter()
            .map(|m| format!("{:?} {:?}", m.envelope_to, m.subject()))
            .collect();
        format!(
            "{} accepted: [{}]; refused: {:?}",
            msgs.len(),
            list.join(", "),
            self.refused_codes()
        )
    }

    /// Waits (polling, at most `within`) until at least `n` messages arrived; returns them all.
    pub async fn wait_for_within(&self, n: usize, within: Duration) -> Vec<Mail> {
        let start = Instant::now();
        loop {
            if self.received().len() >= n {
                return self.messages();
            }
            if start.elapsed() > within {
                panic!(
                    "waited {within:?} for {n} message(s) on the test SMTP server; got {}",
                    self.summary()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits (polling, at most 10 s) until at least `n` messages arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        self.wait_for_within(n, WAIT).await
    }

    /// Waits (at most 10 s) until at least `n` messages went to `address`; returns those.
    pub async fn wait_for_to(&self, address: &str, n: usize) -> Vec<Mail> {
        let start = Instant::now();
        loop {
            let got = self.messages_to(address);
            if got.len() >= n {
                return got;
            }
            if start.elapsed() > WAIT {
                panic!(
                    "waited {WAIT:?} for {n} message(s) to {address}; got {}",
                    self.summary()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits (at most 10 s) until `n` transactions were refused.
    pub async fn wait_for_refusals(&self, n: usize) {
        let start = Instant::now();
        while self.refused_codes().len() < n {
            if start.elapsed() > WAIT {
                panic!(
                    "waited {WAIT:?} for {n} refused transaction(s); got {}",
                    self.summary()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Asserts that for `period` the number of accepted messages stays `expected`.
    pub async fn assert_quiet(&self, expected: usize, period: Duration) {
        let start = Instant::now();
        loop {
            let n = self.received().len();
            assert_eq!(n, expected, "unexpected messages: {}", self.summary());
            if start.elapsed() > period {
                return;
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// An app that sends through `smtp` (fast polling, immediate retries), plus `extra` settings.
pub async fn spawn_mail_app_with(smtp: &SmtpServer, extra: &[(&str, &str)]) -> TestApp {
    let owned = smtp.settings();
    let mut settings: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    settings.extend_from_slice(extra);
    spawn_app_with(&settings).await
}

pub async fn spawn_mail_app(smtp: &SmtpServer) -> TestApp {
    spawn_mail_app_with(smtp, &[]).await
}

/// Polls `check` (every 25 ms, at most 10 s) until it returns `Some`; fails with `what`.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if start.elapsed() > WAIT {
            panic!("gave up after {WAIT:?} waiting for {what}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// One MIME part: its headers and decoded body.
#[derive(Debug, Clone)]
pub struct Part {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Part {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The media type alone, lower case (`text/plain`).
    pub fn media_type(&self) -> String {
        media_type(self.header("Content-Type").unwrap_or("text/plain"))
    }
}

/// A received message, parsed.
#[derive(Debug, Clone)]
pub struct Mail {
    pub envelope_from: String,
    pub envelope_to: Vec<String>,
    pub raw: String,
    /// Unfolded, still encoded.
    pub headers: Vec<(String, String)>,
    /// The parts of a multipart body, or the single body.
    pub parts: Vec<Part>,
}

impl Mail {
    pub fn parse(r: &Received) -> Mail {
        let raw = String::from_utf8_lossy(&r.raw).into_owned();
        let (headers, body) = split_entity(&raw);
        let content_type = find_header(&headers, "Content-Type")
            .unwrap_or("text/plain")
            .to_owned();
        let parts = if media_type(&content_type).starts_with("multipart/") {
            let boundary = param(&content_type, "boundary").expect("a multipart boundary");
            split_multipart(body, &boundary)
                .into_iter()
                .map(|p| {
                    let (headers, body) = split_entity(p);
                    let body = decode_body(&headers, body);
                    Part { headers, body }
                })
                .collect()
        } else {
            vec![Part {
                body: decode_body(&headers, body),
                headers: headers.clone(),
            }]
        };
        Mail {
            envelope_from: r.envelope_from.clone(),
            envelope_to: r.envelope_to.clone(),
            raw,
            headers,
            parts,
        }
    }

    /// A header as it was sent (unfolded, not decoded).
    pub fn raw_header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// A header with its RFC 2047 encoded-words decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        self.raw_header(name).map(decode_rfc2047)
    }

    pub fn subject(&self) -> String {
        self.header("Subject").unwrap_or_default()
    }

    pub fn message_id(&self) -> String {
        self.raw_header("Message-ID")
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    }

    pub fn content_type(&self) -> String {
        media_type(self.raw_header("Content-Type").unwrap_or("text/plain"))
    }

    fn part(&self, media: &str) -> &Part {
        self.parts
            .iter()
            .find(|p| p.media_type() == media)
            .unwrap_or_else(|| panic!("no {media} part in:\n{}", self.raw))
    }

    /// The decoded `text/plain` alternative.
    pub fn text(&self) -> &str {
        &self.part("text/plain").body
    }

    /// The decoded `text/html` alternative.
    pub fn html(&self) -> &str {
        &self.part("text/html").body
    }

    /// The token of the first `<PUBLIC_URL><path_prefix><token>` link in the text part, checked
    /// to be the same in the HTML part.
    pub fn link_token(&self, path_prefix: &str) -> String {
        let from_text = link_token(self.text(), path_prefix)
            .unwrap_or_else(|| panic!("no {PUBLIC_URL}{path_prefix}… link in:\n{}", self.text()));
        let from_html = link_token(&html_unescape(self.html()), path_prefix)
            .unwrap_or_else(|| panic!("no {PUBLIC_URL}{path_prefix}… link in:\n{}", self.html()));
        assert_eq!(
            from_text, from_html,
            "the two alternatives link differently"
        );
        from_text
    }
}

/// The token after `<PUBLIC_URL><path_prefix>` in `body` (URL-safe base64 characters).
pub fn link_token(body: &str, path_prefix: &str) -> Option<String> {
    let needle = format!("{PUBLIC_URL}{path_prefix}");
    let start = body.find(&needle)? + needle.len();
    let token: String = body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!token.is_empty()).then_some(token)
}

/// Undoes the escaping HTML templates apply (`&lt;`, `&#x2f;`, …), for searching an HTML part.
pub fn html_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&amp;", "&")
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A parameter of a structured header (`boundary`, `charset`), unquoted.
pub fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Splits an entity into its unfolded headers and its (still encoded) body.
fn split_entity(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = match raw.find("\r\n\r\n") {
        Some(i) => (&raw[..i], &raw[i + 4..]),
        None => (raw, ""),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push_str(line);
            }
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim_start().to_owned()));
        }
    }
    (headers, body)
}

fn split_multipart<'a>(body: &'a str, boundary: &str) -> Vec<&'a str> {
    let delimiter = format!("--{boundary}");
    body.split(delimiter.as_str())
        .skip(1)
        .take_while(|chunk| !chunk.starts_with("--"))
        .map(|chunk| {
            let chunk = chunk.strip_prefix("\r\n").unwrap_or(chunk);
            chunk.strip_suffix("\r\n").unwrap_or(chunk)
        })
        .collect()
}

fn decode_body(headers: &[(String, String)], body: &str) -> String {
    let encoding = find_header(headers, "Content-Transfer-Encoding")
        .unwrap_or("7bit")
        .trim()
        .to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "quoted-printable" => decode_quoted_printable(body),
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .expect("valid base64 body")
        }
        _ => body.as_bytes().to_vec(),
    };
    String::from_utf8(bytes)
        .expect("a UTF-8 body")
        .replace("\r\n", "\n")
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Quoted-printable (RFC 2045): `=XX` is a byte, `=` at a line end a soft break.
pub fn decode_quoted_printable(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if b[i + 1..].starts_with(b"\n") {
                i += 2;
                continue;
            }
            if let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Decodes one `=?charset?B|Q?text?=` word at the start of `s`: (bytes, length consumed).
fn encoded_word(s: &str) -> Option<(Vec<u8>, usize)> {
    let rest = s.strip_prefix("=?")?;
    let (charset, rest) = rest.split_once('?')?;
    if !charset.eq_ignore_ascii_case("utf-8") && !charset.eq_ignore_ascii_case("us-ascii") {
        return None;
    }
    let (enc, rest) = rest.split_once('?')?;
    let end = rest.find("?=")?;
    let text = &rest[..end];
    if text.contains(char::is_whitespace) {
        return None;
    }
    let bytes = match enc {
        "B" | "b" => base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?,
        "Q" | "q" => decode_quoted_printable(&text.replace('_', " ")),
        _ => return None,
    };
    let consumed = 2 + charset.len() + 1 + enc.len() + 1 + end + 2;
    Some((bytes, consumed))
}

/// Decodes RFC 2047 encoded-words in a header value; whitespace between two adjacent
/// encoded-words is dropped, as the RFC says.
pub fn decode_rfc2047(value: &str) -> String {
    let mut out: Vec<u8> = Vec::new();
    let mut rest = value;
    let mut after_word = false;
    while !rest.is_empty() {
        let Some(start) = rest.find("=?") else {
            out.extend_from_slice(rest.as_bytes());
            break;
        };
        let before = &rest[..start];
        match encoded_word(&rest[start..]) {
            Some((bytes, len)) => {
                if !(after_word && before.chars().all(char::is_whitespace)) {
                    out.extend_from_slice(before.as_bytes());
                }
                out.extend_from_slice(&bytes);
                rest = &rest[start + len..];
                after_word = true;
            }
            None => {
                out.extend_from_slice(&rest.as_bytes()[..start + 2]);
                rest = &rest[start + 2..];
                after_word = false;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The parser itself must be right for the mail tests to mean anything.
#[test]
fn the_mime_reader_decodes_what_lettre_encodes() {
    assert_eq!(
        decode_rfc2047("=?utf-8?b?U3lrZWh1c2V0IMOYc3Rmb2xk?= =?utf-8?b?IEhG?="),
        "Sykehuset Østfold HF"
    );
    assert_eq!(
        decode_rfc2047("Invitasjon til =?utf-8?q?=C3=98stfold_HF?= i dag"),
        "Invitasjon til Østfold HF i dag"
    );
    assert_eq!(decode_rfc2047("plain =? text"), "plain =? text");
    assert_eq!(
        String::from_utf8(decode_quoted_printable("Hei p=C3=A5 deg, lang=\r\nlinje")).unwrap(),
        "Hei på deg, langlinje"
    );
    let raw = "From: a@b.c\r\nSubject: =?utf-8?b?w6bDuA==?=\r\n =?utf-8?b?w6Y=?=\r\nContent-Type: multipart/alternative;\r\n boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\naMOlbg==\r\n--XX\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>h=C3=A5n</p>\r\n--XX--\r\n";
    let m = Mail::parse(&Received {
        envelope_from: "a@b.c".into(),
        envelope_to: vec!["d@e.f".into()],
        raw: raw.as_bytes().to_vec(),
    });
    assert_eq!(m.subject(), "æøæ");
    assert_eq!(m.content_type(), "multipart/alternative");
    assert_eq!(m.text(), "hån");
    assert_eq!(m.html(), "<p>hån</p>");
    assert_eq!(
        html_unescape("&lt;b&gt;x&lt;&#x2f;b&gt; &amp;lt;"),
        "<b>x</b> &lt;"
    );
    assert_eq!(
        link_token(
            "go to https://connect.test/invitations/ab-C_9.\n",
            "/invitations/"
        ),
        Some("ab-C_9".into())
    );
}

// API helpers for the mail tests.

impl Mail {
    /// The notification id behind the `Message-ID` (`<id@host>`).
    pub fn notification_id(&self) -> String {
        let mid = self.message_id();
        mid.trim_start_matches('<')
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

/// Invites someone (as admin), asserting 201; returns the invitation.
pub async fn invite(app: &TestApp, admin: &str, body: &serde_json::Value) -> serde_json::Value {
    let res = app.post("/api/v1/invitations", admin, body).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status.as_u16(), 201, "POST /invitations: {text}");
    serde_json::from_str(&text).unwrap()
}

/// `GET /api/v1/notifications?<query>` (asserting 200): the items.
pub async fn notifications(app: &TestApp, token: &str, query: &str) -> Vec<serde_json::Value> {
    app.list_items(&format!("/api/v1/notifications?limit=200&{query}"), token)
        .await
}

/// Polls `GET /api/v1/notifications/{id}` (at most 10 s) until its state is `state`.
pub async fn wait_for_state(
    app: &TestApp,
    token: &str,
    id: &str,
    state: &str,
) -> serde_json::Value {
    let path = format!("/api/v1/notifications/{id}");
    let start = Instant::now();
    loop {
        let n = app.get_ok(&path, token).await;
        if n["state"] == state {
            return n;
        }
        if start.elapsed() > WAIT {
            panic!("notification {id} never reached state {state} within {WAIT:?}: {n}");
        }
        tokio::time::sleep(POLL).await;
    }
}

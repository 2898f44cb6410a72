//! Reading back what the file mailer wrote (`connect mail links`): the `.eml` files under
//! `<data_dir>/mail/`, decoded as a mail client would, so a link can be copied whole.
//!
//! A grep of the raw file is not enough: the text part is quoted-printable, whose 76-character
//! lines soft-wrap a long link (`=` at the end of a line), and the HTML part writes `/` as `&#x2f;`.
//! This reads what lettre writes (one `multipart/alternative` of a plain and an HTML part, bodies
//! in 7bit, quoted-printable or base64, headers possibly in RFC 2047 encoded words); it is not a
//! general MIME parser.

use std::io;
use std::path::{Path, PathBuf};

use base64::Engine as _;

/// One message as `connect mail links` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub file: PathBuf,
    /// The `To` header, decoded (`"Ola Nordmann" <ola@example.org>`).
    pub to: String,
    pub subject: String,
    pub date: String,
    /// The decoded plain-text part.
    pub text: String,
    /// The decoded `text/calendar` part (an invitation's iCalendar object, CRLF kept), if any.
    pub calendar: Option<String>,
    /// The `method` parameter of that part's `Content-Type` (`REQUEST`, `CANCEL`).
    pub calendar_method: Option<String>,
    /// The decoded `invite.ics` attachment, if any.
    pub ics_attachment: Option<String>,
}

impl Mail {
    /// Whether the message went to `email` (the address, compared case-insensitively).
    pub fn is_to(&self, email: &str) -> bool {
        let address = match (self.to.rfind('<'), self.to.rfind('>')) {
            (Some(start), Some(end)) if start < end => &self.to[start + 1..end],
            _ => self.to.as_str(),
        };
        address.trim().eq_ignore_ascii_case(email.trim())
    }

    /// The http(s) links of the plain-text part, in order.
    pub fn links(&self) -> Vec<String> {
        links(&self.text)
    }
}

/// The messages in `dir`, newest first (files are named by the notification's UUIDv7 id, so
/// their names sort in the order the messages were queued). A missing folder holds no messages.
pub fn read_dir(dir: &Path) -> io::Result<Vec<Mail>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // `.<id>.eml.tmp` is a message being written.
        if path.is_file() && name.ends_with(".eml") && !name.starts_with('.') {
            files.push(path);
        }
    }
    files.sort_by(|a, b| b.cmp(a));
    files
        .into_iter()
        .map(|path| {
            let raw = std::fs::read(&path)?;
            Ok(parse(path, &String::from_utf8_lossy(&raw)))
        })
        .collect()
}

/// Parses one message as lettre writes it.
pub fn parse(file: PathBuf, raw: &str) -> Mail {
    let raw_crlf = raw;
    let raw = raw.replace("\r\n", "\n");
    let (headers, body) = split_head(&raw);
    let headers = parse_headers(headers);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| decode_words(v))
            .unwrap_or_default()
    };
    // The calendar parts keep their CRLF line ends: they are read from the raw text.
    let (raw_head, raw_body) = match raw_crlf.find("\r\n\r\n") {
        Some(i) => (&raw_crlf[..i], &raw_crlf[i + 4..]),
        None => split_head(raw_crlf),
    };
    let raw_headers = parse_headers(&raw_head.replace("\r\n", "\n"));
    let calendar = find_part(&raw_headers, raw_body, &|ct, _| {
        media_type(ct) == "text/calendar"
    })
    .map(|(ct, bytes)| (ct, String::from_utf8_lossy(&bytes).into_owned()));
    Mail {
        file,
        to: header("To"),
        subject: header("Subject"),
        date: header("Date"),
        text: plain_text(&headers, body),
        calendar: calendar.as_ref().map(|(_, c)| c.clone()),
        calendar_method: calendar
            .as_ref()
            .and_then(|(ct, _)| parameter(ct, "method")),
        ics_attachment: find_part(&raw_headers, raw_body, &|ct, disposition| {
            media_type(ct) != "text/calendar"
                && (parameter(ct, "name").as_deref() == Some("invite.ics")
                    || parameter(disposition, "filename").as_deref() == Some("invite.ics"))
        })
        .map(|(_, bytes)| String::from_utf8_lossy(&bytes).into_owned()),
    }
}

/// Headers and body, split at the first empty line.
fn split_head(raw: &str) -> (&str, &str) {
    match raw.find("\n\n") {
        Some(i) => (&raw[..i], &raw[i + 2..]),
        None => (raw, ""),
    }
}

/// `(name, value)` pairs, folded lines joined.
fn parse_headers(head: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    headers
}

fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// The value of a `Content-Type` parameter (`boundary="…"`).
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (n, v) = p.trim().split_once('=')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The first leaf part (at any depth) whose `Content-Type` and `Content-Disposition` satisfy
/// `wanted`: its `Content-Type` and its decoded bytes. Lines may end in CRLF or LF.
fn find_part(
    headers: &[(String, String)],
    body: &str,
    wanted: &dyn Fn(&str, &str) -> bool,
) -> Option<(String, Vec<u8>)> {
    let content_type = header_value(headers, "Content-Type");
    if media_type(content_type).starts_with("multipart/") {
        let boundary = parameter(content_type, "boundary")?;
        let delimiter = format!("--{boundary}");
        for part in body.split(&delimiter).skip(1) {
            if part.starts_with("--") {
                break;
            }
            let part = part
                .strip_prefix("\r\n")
                .or_else(|| part.strip_prefix('\n'))
                .unwrap_or(part);
            let (head, part_body) = match (part.find("\r\n\r\n"), part.find("\n\n")) {
                (Some(i), _) => (&part[..i], &part[i + 4..]),
                (None, Some(i)) => (&part[..i], &part[i + 2..]),
                (None, None) => (part, ""),
            };
            // The CRLF before the next delimiter belongs to the delimiter.
            let part_body = part_body
                .strip_suffix("\r\n")
                .or_else(|| part_body.strip_suffix('\n'))
                .unwrap_or(part_body);
            let found = find_part(
                &parse_headers(&head.replace("\r\n", "\n")),
                part_body,
                wanted,
            );
            if found.is_some() {
                return found;
            }
        }
        return None;
    }
    if !wanted(content_type, header_value(headers, "Content-Disposition")) {
        return None;
    }
    let encoding = header_value(headers, "Content-Transfer-Encoding").to_ascii_lowercase();
    let bytes = match encoding.trim() {
        // A hard line break of quoted-printable is a CRLF of the canonical text (RFC 2045 §6.7).
        "quoted-printable" => decode_quoted_printable(body)
            .into_iter()
            .flat_map(|b| match b {
                b'\n' => vec![b'\r', b'\n'],
                b => vec![b],
            })
            .collect(),
        "base64" => {
            let compact: String = body.split_whitespace().collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .unwrap_or_default()
        }
        _ => body.as_bytes().to_vec(),
    };
    Some((content_type.to_owned(), bytes))
}

/// The decoded `text/plain` part of a message (the first one found, at any depth).
fn plain_text(headers: &[(String, String)], body: &str) -> String {
    let content_type = header_value(headers, "Content-Type");
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media_type.starts_with("multipart/") {
        let Some(boundary) = parameter(content_type, "boundary") else {
            return String::new();
        };
        let delimiter = format!("--{boundary}");
        for part in body.split(&delimiter).skip(1) {
            if part.starts_with("--") {
                break;
            }
            let part = part.strip_prefix('\n').unwrap_or(part);
            let (head, part_body) = split_head(part);
            let text = plain_text(&parse_headers(head), part_body);
            if !text.is_empty() {
                return text;
            }
        }
        String::new()
    } else if media_type.is_empty() || media_type == "text/plain" {
        let encoding = header_value(headers, "Content-Transfer-Encoding").to_ascii_lowercase();
        let bytes = match encoding.trim() {
            "quoted-printable" => decode_quoted_printable(body),
            "base64" => {
                let compact: String = body.split_whitespace().collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .unwrap_or_default()
            }
            _ => body.as_bytes().to_vec(),
        };
        String::from_utf8_lossy(&bytes).trim_end().to_owned()
    } else {
        String::new()
    }
}

/// Decodes a quoted-printable body (RFC 2045 §6.7): `=XX` is the byte XX, and `=` at the end of
/// a line is a soft line break, joining the line to the next. Malformed escapes are kept as
/// written, as decoders are advised to.
pub fn decode_quoted_printable(body: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut lines = body.split('\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        // Trailing white space was added in transport and is not part of the text.
        let line = line.trim_end_matches([' ', '\t']);
        let (line, soft) = match line.strip_suffix('=') {
            Some(rest) => (rest, true),
            None => (line, false),
        };
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
                (b'=', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                    let value = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                    out.push(value as u8);
                    i += 3;
                }
                (b, _, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        if !soft && lines.peek().is_some() {
            out.push(b'\n');
        }
    }
    out
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) in a header value; the white
/// space between two adjacent encoded words is dropped, as the RFC says.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let Some(word) = encoded_word(&rest[start..]) else {
            out.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
            last_was_word = false;
            continue;
        };
        let between = &rest[..start];
        if !(last_was_word && between.trim().is_empty()) {
            out.push_str(between);
        }
        out.push_str(&word.text);
        rest = &rest[start + word.len..];
        last_was_word = true;
    }
    out.push_str(rest);
    out
}

struct EncodedWord {
    text: String,
    /// Characters of the input it took.
    len: usize,
}

/// The encoded word at the start of `s`, if it is one.
fn encoded_word(s: &str) -> Option<EncodedWord> {
    let inner = s.strip_prefix("=?")?;
    let (_charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let payload = &inner[..end];
    let bytes = match encoding {
        "b" | "B" => base64::engine::general_purpose::STANDARD
            .decode(payload)
            .ok()?,
        "q" | "Q" => decode_quoted_printable(&payload.replace('_', " ")),
        _ => return None,
    };
    let len = s.len() - inner.len() + end + 2;
    Some(EncodedWord {
        text: String::from_utf8_lossy(&bytes).into_owned(),
        len,
    })
}

/// The `http://` and `https://` links in `text`, in order, without trailing punctuation.
pub fn links(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'')) {
        for scheme in ["https://", "http://"] {
            if let Some(i) = word.find(scheme) {
                let link = word[i..].trim_end_matches(['.', ',', ';', ':', ')', '!', '?']);
                if link.len() > scheme.len() {
                    found.push(link.to_owned());
                }
                break;
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An invitation as the file mailer wrote it: the link's line is 77 characters, so
    /// quoted-printable soft-wraps it two characters before its end.
    const INVITATION: &str = "From: CONNECT <no-reply@localhost>\r\n\
To: \"Ola Nordmann\" <Ola@Nordlys.example>\r\n\
Subject: =?utf-8?b?VGlsYmFrZXN0aWxsIHBhc3NvcmRldCB0aWwgQ09OTkVDVCDigJMgw6bDuMOl?=\r\n\
Message-ID: <01a2499b-7b38-755c-a990-31b7f2186986@127.0.0.1>\r\n\
MIME-Version: 1.0\r\n\
Date: Sun, 06 Dec 2026 04:27:36 +0000\r\n\
Content-Type: multipart/alternative;\r\n \
boundary=\"GEubOWRf3C2jgqSmTiL02zKKhZ5ZfwjdadBhXmKa\"\r\n\
\r\n\
--GEubOWRf3C2jgqSmTiL02zKKhZ5ZfwjdadBhXmKa\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Hei Ola Nordmann,\r\n\
\r\n\
Du f=C3=A5r rollen partnerrepresentant for Nordlys Onkologi AS.\r\n\
\r\n\
Opprett kontoen din her (lenken kan brukes =C3=A9n gang og gjelder til 2026=\r\n\
-12-13):\r\n\
http://127.0.0.1:18080/invitations/J0_pviqdiE3iJmDe6MSEJ7C86y-iV9XXzyiZeouP=\r\n\
8mE\r\n\
\r\n\
Hvis du ikke ventet denne e-posten, kan du se bort fra den.\r\n\
--GEubOWRf3C2jgqSmTiL02zKKhZ5ZfwjdadBhXmKa\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
<p><a href=3D\"http:&#x2f;&#x2f;127.0.0.1:18080&#x2f;invitations&#x2f;J0_pvi=\r\n\
qdiE3iJmDe6MSEJ7C86y-iV9XXzyiZeouP8mE\">Opprett kontoen din</a></p>\r\n\
--GEubOWRf3C2jgqSmTiL02zKKhZ5ZfwjdadBhXmKa--\r\n";

    #[test]
    fn a_soft_wrapped_link_is_joined_whole() {
        let decoded = decode_quoted_printable(
            "http://127.0.0.1:18080/invitations/J0_pviqdiE3iJmDe6MSEJ7C86y-iV9XXzyiZeouP=\r\n8mE\r\n",
        );
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "http://127.0.0.1:18080/invitations/J0_pviqdiE3iJmDe6MSEJ7C86y-iV9XXzyiZeouP8mE\n"
        );
    }

    #[test]
    fn quoted_printable_decodes_escapes_and_keeps_malformed_ones() {
        let decoded = decode_quoted_printable("f=C3=A5r a=3Db =ZZ 100%=\n\nend  \nx");
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "får a=b =ZZ 100%\nend\nx"
        );
    }

    #[test]
    fn a_message_reads_as_a_mail_client_shows_it() {
        let mail = parse(PathBuf::from("x.eml"), INVITATION);
        assert_eq!(mail.to, "\"Ola Nordmann\" <Ola@Nordlys.example>");
        assert!(mail.is_to("ola@nordlys.example"));
        assert!(!mail.is_to("kari@nordlys.example"));
        assert_eq!(mail.subject, "Tilbakestill passordet til CONNECT – æøå");
        assert_eq!(mail.date, "Sun, 06 Dec 2026 04:27:36 +0000");
        assert!(mail.text.contains("Du får rollen"));
        assert!(mail.text.contains("gjelder til 2026-12-13):"));
        assert_eq!(
            mail.links(),
            ["http://127.0.0.1:18080/invitations/J0_pviqdiE3iJmDe6MSEJ7C86y-iV9XXzyiZeouP8mE"]
        );
    }

    #[test]
    fn base64_parts_and_adjacent_encoded_words_decode() {
        let raw = "To: =?utf-8?b?w5h5dmluZA==?= =?utf-8?q?_=C3=85s?= <oyvind@example.org>\n\
Subject: plain\n\
Content-Type: text/plain; charset=utf-8\n\
Content-Transfer-Encoding: base64\n\
\n\
U2UgaHR0cHM6Ly9leGFtcGxlLm9yZy9wYXRoP2E9MSZi\nPTIuIE9nIGh0dHA6Ly94Lw==\n";
        let mail = parse(PathBuf::from("y.eml"), raw);
        assert_eq!(mail.to, "Øyvind Ås <oyvind@example.org>");
        assert_eq!(
            mail.text,
            "Se https://example.org/path?a=1&b=2. Og http://x/"
        );
        assert_eq!(
            mail.links(),
            ["https://example.org/path?a=1&b=2", "http://x/"]
        );
    }

    #[test]
    fn messages_are_read_newest_first_and_a_missing_folder_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_dir(&dir.path().join("mail")).unwrap().is_empty());
        std::fs::write(dir.path().join("01a2-old.eml"), "Subject: old\n\nhttp://a/").unwrap();
        std::fs::write(dir.path().join("01a3-new.eml"), "Subject: new\n\nhttp://b/").unwrap();
        std::fs::write(dir.path().join(".01a4.eml.tmp"), "Subject: partial\n\n").unwrap();
        let mails = read_dir(dir.path()).unwrap();
        let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
        assert_eq!(subjects, ["new", "old"]);
        assert_eq!(mails[0].links(), ["http://b/"]);
    }

    /// A message with a calendar, as the transport builds it, reads back with its calendar part
    /// (CRLF kept, method from the part's type) and its `invite.ics` attachment, and the text.
    #[test]
    fn a_calendar_part_and_its_attachment_read_back() {
        use crate::notifications::transport::{Outgoing, body};
        for title in ["Board meeting", "Styremøte – æøå"] {
            let ics = format!(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:CANCEL\r\nBEGIN:VEVENT\r\nUID:x@y\r\nSUMMARY:{title}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
            );
            let m = Outgoing {
                id: "1".into(),
                to_email: "a@example.org".into(),
                to_name: None,
                subject: "s".into(),
                text: "Hello https://x.example/a".into(),
                html: "<p>Hello</p>".into(),
                message_id: "<1@x>".into(),
                calendar: Some(ics.clone()),
            };
            let message = lettre::Message::builder()
                .from("CONNECT <no-reply@localhost>".parse().unwrap())
                .to("a@example.org".parse().unwrap())
                .subject("s")
                .multipart(body(&m).unwrap())
                .unwrap();
            let raw = String::from_utf8(message.formatted()).unwrap();
            assert!(raw.contains("Content-Type: multipart/mixed"), "{raw}");
            assert!(raw.contains("multipart/alternative"), "{raw}");
            let mail = parse(PathBuf::from("c.eml"), &raw);
            assert_eq!(mail.calendar.as_deref(), Some(ics.as_str()), "{raw}");
            assert_eq!(mail.calendar_method.as_deref(), Some("CANCEL"));
            assert_eq!(mail.ics_attachment.as_deref(), Some(ics.as_str()), "{raw}");
            assert_eq!(mail.text, "Hello https://x.example/a");
        }
        let plain = parse(PathBuf::from("p.eml"), INVITATION);
        assert_eq!(plain.calendar, None);
        assert_eq!(plain.ics_attachment, None);
    }
}

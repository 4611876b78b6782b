//! Inbound email: one raw RFC 5322 message read into [`InboundEmail`].
//!
//! MIME itself (charsets, transfer encodings, RFC 2047 words, multipart trees) is
//! mail-parser's work. What is decided here is what Frontdesk needs on top: which part is
//! the customer's text, which parts are files, what the customer newly wrote in a reply
//! ([`strip_quoted`]), and whether the mail was sent by a machine ([`InboundEmail::automated`])
//! so that it is never answered automatically, which is how reply loops between two
//! autoresponders are avoided.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use mail_parser::{
    Address, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};
use regex::Regex;
use scraper::{ElementRef, Html, Node};

/// One email as Frontdesk reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundEmail {
    /// The lowercased addr-spec of From.
    pub from_address: String,
    /// From's display name, decoded (RFC 2047).
    pub from_name: Option<String>,
    /// The addresses of To and Cc, lowercased, each once, in header order.
    pub to: Vec<String>,
    /// Decoded; "" when absent.
    pub subject: String,
    /// Without angle brackets.
    pub message_id: Option<String>,
    /// Ids without brackets; an empty header is an empty list.
    pub in_reply_to: Vec<String>,
    /// Ids without brackets, in header order.
    pub references: Vec<String>,
    /// Unix milliseconds from the Date header.
    pub date: Option<i64>,
    /// The new text the customer wrote: quoted history and signature removed.
    pub text: String,
    /// The whole readable body (text part, or HTML converted to text), before stripping,
    /// with `\n` line endings.
    pub full_text: String,
    pub attachments: Vec<EmailAttachment>,
    /// Why this must never be answered automatically, when it must not (auto-reply,
    /// bounce, mailing list...). None for a person's mail.
    pub automated: Option<String>,
}

/// A file or inline image carried by an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAttachment {
    pub file_name: Option<String>,
    /// Lowercased `type/subtype`, e.g. "image/png".
    pub content_type: String,
    /// Without brackets.
    pub content_id: Option<String>,
    /// Content-Disposition inline, or referenced as `cid:` by the HTML.
    pub inline: bool,
    pub size_bytes: u64,
    /// Decoded from its transfer encoding; a text part is given as UTF-8.
    pub data: Vec<u8>,
}

/// Why a raw message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("the message cannot be read as RFC 5322 mail")]
    NotMail,
    #[error("the message has no From address")]
    NoSender,
}

/// Reads one raw message (CRLF or LF line endings).
pub fn parse_email(raw: &[u8]) -> Result<InboundEmail, EmailError> {
    if !looks_like_header_section(raw) {
        return Err(EmailError::NotMail);
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(EmailError::NotMail)?;
    if message.root_part().headers.is_empty() {
        return Err(EmailError::NotMail);
    }

    let sender = message
        .from()
        .and_then(|from| from.iter().find(|addr| addr.address.is_some()))
        .ok_or(EmailError::NoSender)?;
    let from_address = sender
        .address()
        .map(|address| address.trim().to_lowercase())
        .filter(|address| !address.is_empty())
        .ok_or(EmailError::NoSender)?;
    let from_name = sender
        .name()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty());

    let mut to = Vec::new();
    for address in message.all_to().chain(message.all_cc()) {
        push_addresses(&mut to, address);
    }

    let full_text = body_text(&message);
    let text = strip_quoted(&full_text);
    let automated = automated_reason(&message, &from_address);

    Ok(InboundEmail {
        from_address,
        from_name,
        to,
        subject: message.subject().unwrap_or_default().trim().to_string(),
        message_id: message
            .message_id()
            .map(strip_brackets)
            .filter(|id| !id.is_empty()),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        date: message
            .date()
            .filter(|date| date.is_valid())
            .map(|date| date.to_timestamp() * 1000),
        text,
        full_text,
        attachments: attachments(&message),
        automated,
    })
}

/// A message starts with a header field (`name:` of printable ASCII) or, in an mbox copy,
/// a `From ` line. mail-parser reads anything at all as a message with an empty header, so
/// binary junk or an empty upload is turned away here instead of becoming a mail without
/// a sender.
fn looks_like_header_section(raw: &[u8]) -> bool {
    let first_line = raw.split(|&byte| byte == b'\n').next().unwrap_or_default();
    if first_line.starts_with(b"From ") {
        return true;
    }
    let Some(colon) = first_line.iter().position(|&byte| byte == b':') else {
        return false;
    };
    let name = &first_line[..colon];
    !name.is_empty() && name.iter().all(|&byte| (b'!'..=b'~').contains(&byte))
}

fn push_addresses(out: &mut Vec<String>, address: &Address<'_>) {
    for addr in address.iter() {
        let Some(email) = addr.address() else {
            continue;
        };
        let email = email.trim().to_lowercase();
        if !email.is_empty() && !out.contains(&email) {
            out.push(email);
        }
    }
}

fn strip_brackets(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

/// Message ids of In-Reply-To or References: mail-parser gives one id as text and several
/// as a list, and an empty header as nothing.
fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let found: Vec<String> = match value {
        HeaderValue::Text(id) => vec![strip_brackets(id)],
        HeaderValue::TextList(list) => list.iter().map(|id| strip_brackets(id)).collect(),
        _ => Vec::new(),
    };
    found.into_iter().filter(|id| !id.is_empty()).collect()
}

/// The readable body: the text parts mail-parser picked (text/plain preferred in
/// multipart/alternative, HTML otherwise), less the ones that are named files.
fn body_text(message: &Message<'_>) -> String {
    let texts: Vec<String> = body_part_ids(message)
        .into_iter()
        .filter_map(|id| match &message.parts.get(id)?.body {
            PartType::Text(text) => Some(normalize_newlines(text)),
            PartType::Html(html) => Some(html_to_text(html)),
            _ => None,
        })
        .collect();
    texts.join("\n").trim_end().to_string()
}

fn body_part_ids(message: &Message<'_>) -> Vec<usize> {
    let readable = |ids: &[u32]| -> Vec<usize> {
        ids.iter()
            .map(|&id| id as usize)
            .filter(|&id| {
                message
                    .parts
                    .get(id)
                    .is_some_and(|part| is_text_body(part) && !is_file(part))
            })
            .collect()
    };
    let text = readable(&message.text_body);
    if text.is_empty() {
        readable(&message.html_body)
    } else {
        text
    }
}

fn is_text_body(part: &MessagePart<'_>) -> bool {
    matches!(part.body, PartType::Text(_) | PartType::Html(_))
}

/// A part the sender attached as a file, even when it is inline text (Netscape sends an
/// attached .txt as `inline; filename=...`, which mail-parser counts as body text).
fn is_file(part: &MessagePart<'_>) -> bool {
    part.attachment_name().is_some()
        || part
            .content_disposition()
            .is_some_and(|disposition| disposition.is_attachment())
}

fn attachments(message: &Message<'_>) -> Vec<EmailAttachment> {
    // mail-parser lists files in `attachments`, but an inline image or inline named text
    // of a multipart/mixed may sit only in the body lists, so those are looked at too.
    let body_ids = body_part_ids(message);
    let mut ids: BTreeSet<usize> = message.attachments.iter().map(|&id| id as usize).collect();
    for &id in message.text_body.iter().chain(&message.html_body) {
        let id = id as usize;
        let Some(part) = message.parts.get(id) else {
            continue;
        };
        if !body_ids.contains(&id) && (!is_text_body(part) || is_file(part)) {
            ids.insert(id);
        }
    }
    let html: Vec<String> = message
        .html_body
        .iter()
        .filter_map(|&id| match &message.parts.get(id as usize)?.body {
            PartType::Html(html) => Some(html.to_lowercase()),
            _ => None,
        })
        .collect();

    ids.into_iter()
        .filter_map(|id| message.parts.get(id))
        .filter(|part| !matches!(part.body, PartType::Multipart(_)))
        .map(|part| {
            let content_id = part
                .content_id()
                .map(strip_brackets)
                .filter(|id| !id.is_empty());
            let referenced = content_id.as_ref().is_some_and(|cid| {
                let needle = format!("cid:{}", cid.to_lowercase());
                html.iter().any(|html| html.contains(&needle))
            });
            let inline = referenced
                || part
                    .content_disposition()
                    .is_some_and(|disposition| disposition.is_inline());
            let data = part.contents().to_vec();
            EmailAttachment {
                file_name: part
                    .attachment_name()
                    .map(|name| name.trim().to_string())
                    .filter(|name| !name.is_empty()),
                content_type: content_type(part),
                content_id,
                inline,
                size_bytes: data.len() as u64,
                data,
            }
        })
        .collect()
}

fn content_type(part: &MessagePart<'_>) -> String {
    if let Some(ctype) = part.content_type() {
        let main = ctype.ctype().to_ascii_lowercase();
        return match ctype.subtype() {
            Some(sub) => format!("{main}/{}", sub.to_ascii_lowercase()),
            None => main,
        };
    }
    // RFC 2045's default, and what mail-parser assumed when it decoded the part.
    match part.body {
        PartType::Text(_) => "text/plain",
        PartType::Html(_) => "text/html",
        PartType::Message(_) => "message/rfc822",
        _ => "application/octet-stream",
    }
    .to_string()
}

/// The raw values of every top-level header called `name`, unfolded.
fn raw_headers<'m>(message: &'m Message<'_>, name: &'m str) -> impl Iterator<Item = String> + 'm {
    message
        .root_part()
        .headers
        .iter()
        .filter(move |header| header.name.as_str().eq_ignore_ascii_case(name))
        .filter_map(|header| {
            let raw = message
                .raw_message
                .get(header.offset_start as usize..header.offset_end as usize)?;
            let value = String::from_utf8_lossy(raw);
            Some(value.split_whitespace().collect::<Vec<_>>().join(" "))
        })
}

/// Why a message was sent by a machine, naming the evidence, or None for a person's mail.
///
/// `X-Auto-Response-Suppress` is deliberately not evidence: Outlook puts it on ordinary
/// mail that people write, to ask others' autoresponders to stay quiet.
fn automated_reason(message: &Message<'_>, from_address: &str) -> Option<String> {
    // RFC 3834: any value but "no" means the message was generated automatically.
    for value in raw_headers(message, "Auto-Submitted") {
        let token = first_token(&value);
        if !token.is_empty() && token != "no" {
            return Some(format!("Auto-Submitted: {value}"));
        }
    }
    for name in ["X-Autoreply", "X-Autorespond"] {
        for value in raw_headers(message, name) {
            let token = first_token(&value);
            if token != "no" && token != "false" && token != "0" {
                return Some(format!("{name}: {value}"));
            }
        }
    }
    for value in raw_headers(message, "Precedence") {
        if matches!(
            first_token(&value).as_str(),
            "bulk" | "junk" | "list" | "auto_reply"
        ) {
            return Some(format!("Precedence: {value}"));
        }
    }
    if message.root_part().is_content_type("multipart", "report") {
        return Some("bounce or report: Content-Type multipart/report".to_string());
    }
    if let Some(kind) = report_part(message) {
        return Some(format!("bounce or report: a {kind} part"));
    }
    // A null reverse-path is what delivery reports and other notifications are sent with
    // (RFC 5321 section 4.5.5), precisely so that nothing answers them.
    if let Some(value) = raw_headers(message, "Return-Path").next() {
        if value.replace(' ', "") == "<>" {
            return Some("Return-Path: <>".to_string());
        }
    }
    let local_part = from_address.split('@').next().unwrap_or_default();
    if local_part == "mailer-daemon" || local_part == "postmaster" {
        return Some(format!("From: {from_address}"));
    }
    for name in ["List-Id", "List-Unsubscribe"] {
        if let Some(value) = raw_headers(message, name).next() {
            return Some(format!("mailing list: {name}: {value}"));
        }
    }
    None
}

/// The lowercased first word of a header value, without a trailing comment or parameter.
fn first_token(value: &str) -> String {
    value
        .split(|c: char| c == ';' || c == '(' || c.is_whitespace())
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// A delivery status or read receipt anywhere in the MIME tree, for reports that were not
/// sent as multipart/report.
fn report_part(message: &Message<'_>) -> Option<&'static str> {
    const REPORTS: [&str; 3] = [
        "delivery-status",
        "global-delivery-status",
        "disposition-notification",
    ];
    message.parts.iter().find_map(|part| {
        let ctype = part.content_type()?;
        if !ctype.ctype().eq_ignore_ascii_case("message") {
            return None;
        }
        let subtype = ctype.subtype()?;
        REPORTS
            .iter()
            .find(|report| subtype.eq_ignore_ascii_case(report))
            .map(|report| match *report {
                "disposition-notification" => "message/disposition-notification",
                "global-delivery-status" => "message/global-delivery-status",
                _ => "message/delivery-status",
            })
    })
}

fn normalize_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// The subject with reply/forward prefixes (Re:, RE:, Fwd:, FW:, AW:, WG:, SV:, Antw:,
/// "Re[2]:", repeated, any case) and surrounding whitespace removed, lowercased, inner
/// whitespace collapsed: what a conservative thread fallback compares.
pub fn normalized_subject(subject: &str) -> String {
    static PREFIX: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^\s*(?:re|fwd|fw|aw|wg|sv|antw)\s*(?:\[\d+\]|\(\d+\))?\s*:")
            .expect("the prefix pattern is valid")
    });
    let mut rest = subject;
    while let Some(found) = PREFIX.find(rest) {
        rest = &rest[found.end()..];
    }
    rest.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The new part of a reply: drops `>`-quoted lines, everything from an attribution line
/// ("On <date>, <name> wrote:" — possibly wrapped over two lines —, "Le … a écrit :",
/// "Am … schrieb …:", "El … escribió:"), an Outlook header block ("-----Original
/// Message-----", or a "From: … / Sent: … / To: … / Subject: …" block, also
/// "________________________________" separator followed by From:), and a signature after
/// a line that is exactly "-- " (or "--"), or common mobile footers ("Sent from my
/// iPhone"). Trims trailing blank lines. If stripping would leave nothing, returns the
/// full text trimmed.
pub fn strip_quoted(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let cut = history_start(&lines).unwrap_or(lines.len());

    let mut kept: Vec<&str> = Vec::new();
    // Trailing spaces carry nothing (old clients pad lines with them), and the signature
    // separator's own space has already been looked at.
    for line in lines[..cut].iter().map(|line| line.trim_end()) {
        if line.trim_start().starts_with('>') {
            continue;
        }
        // Dropping an interleaved quote leaves blank lines on both sides of it; one is
        // enough, and none are wanted before the first line.
        if line.is_empty() && kept.last().is_none_or(|last| last.is_empty()) {
            continue;
        }
        kept.push(line);
    }
    while kept.last().is_some_and(|last| last.is_empty()) {
        kept.pop();
    }
    if kept.is_empty() {
        return lines.join("\n").trim().to_string();
    }
    kept.join("\n")
}

/// The first line that belongs to quoted history or a signature.
fn history_start(lines: &[&str]) -> Option<usize> {
    let trimmed: Vec<&str> = lines.iter().map(|line| line.trim()).collect();
    (0..lines.len()).find(|&i| {
        let line = trimmed[i];
        lines[i] == "-- "
            || lines[i] == "--"
            || is_mobile_footer(line)
            || ORIGINAL_MESSAGE.is_match(line)
            || (is_underscore_rule(line) && next_non_blank(&trimmed, i + 1).is_some_and(is_from))
            || is_header_block(&trimmed, i)
            || is_attribution(&trimmed, i)
    })
}

static ORIGINAL_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine|mensaje original|oorspronkelijk bericht)\s*-{2,}$",
    )
    .expect("the original-message pattern is valid")
});

static ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:on\s.+\swrote|le\s.+\sa\s+écrit|am\s.+\s(?:schrieb|geschrieben)(?:\s.*)?|el\s.+\sescribió|op\s.+\sschreef(?:\s.*)?)\s*:$",
    )
    .expect("the attribution pattern is valid")
});

static MOBILE_FOOTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:sent from my \S.*|sent from (?:outlook|mail|yahoo mail|aol mobile mail)\b.*|get outlook for \S.*|von meinem \S.* gesendet\.?|envoyé de mon \S.*|enviado desde mi \S.*)$",
    )
    .expect("the mobile footer pattern is valid")
});

/// A footer is a short line of its own; a sentence that merely starts the same way is not.
fn is_mobile_footer(line: &str) -> bool {
    line.chars().count() <= 60 && MOBILE_FOOTER.is_match(line)
}

fn is_attribution(trimmed: &[&str], i: usize) -> bool {
    // Long enough for a date, a name and an address, short enough not to swallow a
    // paragraph that happens to start with "On".
    const LONGEST: usize = 300;
    let line = trimmed[i];
    if line.len() <= LONGEST && ATTRIBUTION.is_match(line) {
        return true;
    }
    // Clients wrap a long attribution, often inside the sender's address. A next line that
    // is a whole attribution itself is not the second half of this one.
    match trimmed.get(i + 1) {
        Some(next) if !line.is_empty() && !next.is_empty() && !ATTRIBUTION.is_match(next) => {
            let joined = format!("{line} {next}");
            joined.len() <= LONGEST && ATTRIBUTION.is_match(&joined)
        }
        _ => false,
    }
}

fn is_underscore_rule(line: &str) -> bool {
    line.len() >= 10 && line.bytes().all(|byte| byte == b'_')
}

fn next_non_blank<'a>(trimmed: &[&'a str], from: usize) -> Option<&'a str> {
    trimmed
        .iter()
        .skip(from)
        .find(|line| !line.is_empty())
        .copied()
}

/// Outlook's header labels in English, German, French, Spanish and Dutch. Outlook may bold
/// them, which a plain-text rendering shows as `*From:*`.
fn header_label(line: &str) -> Option<&'static str> {
    const LABELS: [(&str, &str); 21] = [
        ("from", "from"),
        ("von", "from"),
        ("de", "from"),
        ("van", "from"),
        ("sent", "date"),
        ("date", "date"),
        ("gesendet", "date"),
        ("datum", "date"),
        ("envoyé", "date"),
        ("enviado", "date"),
        ("fecha", "date"),
        ("verzonden", "date"),
        ("to", "to"),
        ("an", "to"),
        ("à", "to"),
        ("para", "to"),
        ("aan", "to"),
        ("subject", "subject"),
        ("betreff", "subject"),
        ("objet", "subject"),
        ("asunto", "subject"),
    ];
    let line = line.trim_start_matches('*');
    let (label, _) = line.split_once(':')?;
    let label = label.trim_end_matches('*').trim().to_lowercase();
    LABELS
        .iter()
        .find(|(name, _)| *name == label)
        .map(|(_, field)| *field)
        .or_else(|| (label == "cc" || label == "onderwerp").then_some("other"))
}

fn is_from(line: &str) -> bool {
    header_label(line) == Some("from")
}

/// A "From:" line followed directly by at least two more of the fields Outlook quotes
/// (Sent, To, Subject...): one "From:" alone is too common in a customer's own words.
fn is_header_block(trimmed: &[&str], i: usize) -> bool {
    if !is_from(trimmed[i]) {
        return false;
    }
    let fields: BTreeSet<&str> = trimmed[i + 1..]
        .iter()
        .take(6)
        .map_while(|line| header_label(line))
        .collect();
    fields.iter().filter(|field| **field != "from").count() >= 2
}

/// HTML to readable text, keeping the line structure that [`strip_quoted`] works on:
/// blocks start new lines, paragraphs and headings are set apart by a blank line, and a
/// blockquote's lines are prefixed with `>` the way a plain-text client quotes.
/// mail-parser's own converter breaks lines only at `<br>` and `</p>`, so a reply written
/// in `<div>`s, as Gmail and Outlook write them, would become one line.
fn html_to_text(html: &str) -> String {
    let document = Html::parse_document(html);
    let mut writer = TextWriter::default();
    writer.element(document.root_element());
    writer.finish()
}

#[derive(Default)]
struct TextWriter {
    out: String,
    pending_space: bool,
    in_pre: usize,
}

impl TextWriter {
    fn element(&mut self, element: ElementRef<'_>) {
        let name = element.value().name();
        match name {
            "head" | "style" | "script" | "template" | "title" | "noscript" => return,
            "br" => {
                self.newline();
                return;
            }
            "hr" => {
                self.line_break();
                return;
            }
            "blockquote" => {
                self.blockquote(element);
                return;
            }
            _ => {}
        }
        let paragraph = matches!(name, "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6");
        let block = paragraph || is_block(name);
        if paragraph {
            self.paragraph_break();
        } else if block {
            self.line_break();
        } else if matches!(name, "td" | "th") {
            self.pending_space = true;
        }
        if name == "pre" {
            self.in_pre += 1;
        }
        for child in element.children() {
            match child.value() {
                Node::Text(text) => self.text(text),
                Node::Element(_) => {
                    if let Some(child) = ElementRef::wrap(child) {
                        self.element(child);
                    }
                }
                _ => {}
            }
        }
        if name == "pre" {
            self.in_pre -= 1;
        }
        if paragraph {
            self.paragraph_break();
        } else if block {
            self.line_break();
        }
    }

    fn blockquote(&mut self, element: ElementRef<'_>) {
        let mut inner = TextWriter::default();
        for child in element.children() {
            match child.value() {
                Node::Text(text) => inner.text(text),
                Node::Element(_) => {
                    if let Some(child) = ElementRef::wrap(child) {
                        inner.element(child);
                    }
                }
                _ => {}
            }
        }
        let quoted = inner.finish();
        self.line_break();
        for line in quoted.lines() {
            if line.is_empty() {
                self.out.push('>');
            } else {
                self.out.push_str("> ");
                self.out.push_str(line);
            }
            self.out.push('\n');
        }
        self.pending_space = false;
    }

    fn text(&mut self, text: &str) {
        if self.in_pre > 0 {
            self.out.push_str(&normalize_newlines(text));
            self.pending_space = false;
            return;
        }
        for c in text.chars() {
            // A no-break space is kept: it is written on purpose, unlike source layout.
            if c.is_whitespace() && c != '\u{a0}' {
                self.pending_space = true;
                continue;
            }
            if self.pending_space && !self.out.is_empty() && !self.out.ends_with('\n') {
                self.out.push(' ');
            }
            self.pending_space = false;
            self.out.push(c);
        }
    }

    fn newline(&mut self) {
        self.out
            .truncate(self.out.trim_end_matches([' ', '\t']).len());
        self.out.push('\n');
        self.pending_space = false;
    }

    fn line_break(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.newline();
        }
        self.pending_space = false;
    }

    fn paragraph_break(&mut self) {
        self.line_break();
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    /// Trailing spaces dropped, runs of blank lines cut to one, no blank lines at either
    /// end.
    fn finish(self) -> String {
        let mut lines: Vec<&str> = Vec::new();
        for line in self.out.lines().map(str::trim_end) {
            if line.is_empty() && lines.last().is_none_or(|last| last.is_empty()) {
                continue;
            }
            lines.push(line);
        }
        while lines.last().is_some_and(|last| last.is_empty()) {
            lines.pop();
        }
        lines.join("\n")
    }
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "article"
            | "aside"
            | "body"
            | "center"
            | "dd"
            | "div"
            | "dl"
            | "dt"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "header"
            | "html"
            | "li"
            | "main"
            | "nav"
            | "ol"
            | "pre"
            | "section"
            | "table"
            | "tr"
            | "ul"
    )
}

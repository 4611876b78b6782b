//! Email replies over SMTP, threaded so that they land in the customer's conversation in
//! their mail client: our own Message-ID, In-Reply-To the customer's latest message, and
//! References along the thread; a plain text part and an HTML one.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::send::SendError;

/// One reply to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailReply {
    pub from: String,
    pub from_name: Option<String>,
    pub to: String,
    pub subject: String,
    pub text: String,
    /// Without angle brackets; the caller chooses it, so a retry sends the same id and the
    /// receiving server can tell the copies apart from two replies.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
}

/// The subject a reply carries: the thread's, with one "Re: " in front.
pub fn reply_subject(subject: &str) -> String {
    let subject = subject.trim();
    let lower = subject.to_lowercase();
    if lower.starts_with("re:") {
        return subject.to_string();
    }
    if subject.is_empty() {
        return "Re: your message".to_string();
    }
    format!("Re: {subject}")
}

/// Sends `reply` through the SMTP server at `smtp_url` (`smtp://`, `smtps://`, with
/// `?tls=required` for STARTTLS; user and password in the URL). A refusal the server
/// calls permanent is [`SendError::Refused`]; anything else may pass on a retry.
pub async fn send_mail(
    smtp_url: &str,
    reply: &MailReply,
    timeout: Duration,
) -> Result<(), SendError> {
    let message = build(reply)?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
        .map_err(|err| SendError::Refused {
            reason: format!("the SMTP URL cannot be used: {}", without_secrets(&err)),
        })?
        .timeout(Some(timeout))
        .build();
    match transport.send(message).await {
        Ok(_) => Ok(()),
        Err(err) if err.is_permanent() => Err(SendError::Refused {
            reason: format!(
                "the mail server refused the reply: {}",
                without_secrets(&err)
            ),
        }),
        Err(err) => Err(SendError::Retry {
            reason: format!(
                "the mail server did not take the reply: {}",
                without_secrets(&err)
            ),
            retry_after: None,
        }),
    }
}

fn build(reply: &MailReply) -> Result<Message, SendError> {
    let refused = |what: &str, err: &dyn std::fmt::Display| SendError::Refused {
        reason: format!("{what} is not a usable address: {err}"),
    };
    let from_address = reply
        .from
        .parse()
        .map_err(|err| refused("the channel's address", &err))?;
    let to_address = reply
        .to
        .parse()
        .map_err(|err| refused("the customer's address", &err))?;
    let mut builder = Message::builder()
        .from(Mailbox::new(reply.from_name.clone(), from_address))
        .to(Mailbox::new(None, to_address))
        .subject(reply.subject.clone())
        .message_id(Some(format!("<{}>", reply.message_id)));
    if let Some(parent) = &reply.in_reply_to {
        builder = builder.in_reply_to(format!("<{parent}>"));
    }
    if !reply.references.is_empty() {
        let chain: Vec<String> = reply
            .references
            .iter()
            .map(|id| format!("<{id}>"))
            .collect();
        builder = builder.references(chain.join(" "));
    }
    let html = format!(
        "<!doctype html><html><body><div style=\"white-space: pre-wrap\">{}</div></body></html>",
        escape_html(&reply.text)
    );
    builder
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(reply.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html),
                ),
        )
        .map_err(|err| SendError::Refused {
            reason: format!("the reply cannot be written as mail: {err}"),
        })
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// An SMTP error's text with anything after a `://` cut, so that a URL holding a password
/// cannot reach a log through it.
fn without_secrets(err: &dyn std::fmt::Display) -> String {
    let text = err.to_string();
    match text.find("://") {
        Some(at) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_carry_one_re() {
        assert_eq!(
            reply_subject("Where is my order?"),
            "Re: Where is my order?"
        );
        assert_eq!(
            reply_subject("RE: Where is my order?"),
            "RE: Where is my order?"
        );
        assert_eq!(reply_subject("  "), "Re: your message");
    }

    #[test]
    fn a_reply_is_threaded_and_has_text_and_html() {
        let reply = MailReply {
            from: "help@shop.example".into(),
            from_name: Some("Hearth & Home".into()),
            to: "ana@example.com".into(),
            subject: "Re: order 1234".into(),
            text: "It ships <today> & arrives Friday.".into(),
            message_id: "frontdesk.42@shop.example".into(),
            in_reply_to: Some("abc@mail.example.com".into()),
            references: vec![
                "first@mail.example.com".into(),
                "abc@mail.example.com".into(),
            ],
        };
        let formatted = String::from_utf8(build(&reply).unwrap().formatted()).unwrap();
        assert!(
            formatted.contains("Message-ID: <frontdesk.42@shop.example>"),
            "{formatted}"
        );
        assert!(
            formatted.contains("In-Reply-To: <abc@mail.example.com>"),
            "{formatted}"
        );
        assert!(
            formatted.contains("References: <first@mail.example.com> <abc@mail.example.com>"),
            "{formatted}"
        );
        assert!(formatted.contains("multipart/alternative"), "{formatted}");
        // The HTML part is quoted-printable: its soft line breaks joined, it reads escaped.
        let unwrapped = formatted.replace("=\r\n", "");
        assert!(
            unwrapped.contains("&lt;today&gt; &amp; arrives"),
            "{formatted}"
        );
        assert!(
            formatted.contains("It ships <today> & arrives Friday."),
            "{formatted}"
        );
    }

    #[test]
    fn a_bad_address_is_a_refusal_that_names_it() {
        let reply = MailReply {
            from: "help@shop.example".into(),
            from_name: None,
            to: "not an address".into(),
            subject: "Re: x".into(),
            text: "x".into(),
            message_id: "m@shop.example".into(),
            in_reply_to: None,
            references: Vec::new(),
        };
        let err = build(&reply).unwrap_err();
        assert!(err.to_string().contains("customer's address"), "{err}");
    }
}

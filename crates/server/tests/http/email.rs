//! Email through the raw-message webhook and replies through a real SMTP server on
//! loopback (aiosmtpd, writing what it receives to a maildir): threading by the ids a
//! reply names, automated mail recorded but never answered; on SQLite and PostgreSQL.
//!
//! The SMTP tests need Python with aiosmtpd (`pip install aiosmtpd`; the interpreter is
//! `python3`, or FRONTDESK_TEST_PYTHON). Without it they say they were skipped and pass,
//! unless FRONTDESK_TEST_MAIL=required, as in CI.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use frontdesk_channels::email::{parse_email, InboundEmail};
use frontdesk_channels::ChannelConfig;
use frontdesk_core::{Author, Channel, Message, Role};
use frontdesk_store::{ConversationFilter, Readers};
use reqwest::StatusCode;

use crate::support::{free_port, skip_mail_test, wait_until_listening, TestServer, LOST_CARD};

const WEBHOOK_SECRET: &str = "test-mail-secret";
const SHOP: &str = "help@shop.example";

/// A real SMTP server of our own on a free loopback port.
struct SmtpSink {
    process: Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpSink {
    fn start() -> Option<SmtpSink> {
        let python = std::env::var("FRONTDESK_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let present = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !present {
            skip_mail_test(&format!("{python} has no aiosmtpd"));
            return None;
        }
        let port = free_port();
        let maildir = tempfile::tempdir().unwrap();
        let process = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let sink = SmtpSink {
            process,
            port,
            maildir,
        };
        wait_until_listening(port, "the SMTP server");
        Some(sink)
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, oldest first.
    fn received(&self) -> Vec<InboundEmail> {
        let new = self.maildir.path().join("mail").join("new");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&new)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort_by_key(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok());
        files
            .iter()
            .map(|path| parse_email(&std::fs::read(path).unwrap()).unwrap())
            .collect()
    }

    async fn wait_for(&self, count: usize) -> Vec<InboundEmail> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "{} mails received, not {count}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

pub(crate) async fn add_email(server: &TestServer, smtp_url: Option<String>) -> i64 {
    let config = ChannelConfig::Email {
        address: SHOP.into(),
        webhook_secret: WEBHOOK_SECRET.into(),
        imap_url: None,
        smtp_url,
    };
    let json = serde_json::to_string(&config).unwrap();
    let channel = server.store.add_channel(Channel::Email, "mail", &json);
    channel.await.unwrap().id
}

pub(crate) async fn post_mail(server: &TestServer, channel: i64, raw: &[u8]) -> StatusCode {
    server
        .client
        .post(server.url(&format!("/webhooks/email/{channel}")))
        .header("x-frontdesk-token", WEBHOOK_SECRET)
        .header("content-type", "message/rfc822")
        .body(raw.to_vec())
        .send()
        .await
        .unwrap()
        .status()
}

fn mail(from: &str, id: &str, subject: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {SHOP}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Thu, 19 Aug 2021 14:14:31 +0000\r\n{extra_headers}\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

async fn all_messages(server: &TestServer) -> Vec<Message> {
    let mut all = Vec::new();
    let filter = ConversationFilter::default();
    for conversation in server.store.conversations(&filter).await.unwrap() {
        let messages = server.store.messages(conversation.id, None, Readers::Team);
        all.extend(messages.await.unwrap());
    }
    all
}

fn fixture(name: &str) -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/email/"
    );
    std::fs::read(format!("{path}{name}")).unwrap()
}

async fn real_mail_is_stored_as_its_new_text(server: TestServer) {
    let channel = add_email(&server, None).await;
    for name in [
        "plain_us_ascii_eudora.eml",
        "netscape_png_attachment.eml",
        "iso8859_qp_multipart_alternative.eml",
        "html_only_chatwoot.eml",
        "reply_with_gmail_quote.eml",
    ] {
        assert_eq!(
            post_mail(&server, channel, &fixture(name)).await,
            StatusCode::OK,
            "{name}"
        );
    }
    // Delivered twice: stored once.
    let again = fixture("reply_with_gmail_quote.eml");
    assert_eq!(post_mail(&server, channel, &again).await, StatusCode::OK);

    let customer: Vec<Message> = all_messages(&server)
        .await
        .into_iter()
        .filter(|m| m.author == Author::Customer)
        .collect();
    assert_eq!(customer.len(), 5);
    let gmail = customer
        .iter()
        .find(|m| m.subject.as_deref() == Some("Re: Checking mail forwarding to cw inbox"))
        .unwrap();
    assert_eq!(
        gmail.text,
        "Yes, I am providing you step how to reproduce this issue"
    );
    assert!(gmail
        .original_text
        .as_deref()
        .unwrap()
        .contains("Any update on this?"));
    let netscape = customer
        .iter()
        .find(|m| m.subject.as_deref() == Some("Test message from Netscape Communicator 4.7"))
        .unwrap();
    let names: Vec<&str> = netscape
        .attachments
        .iter()
        .filter_map(|a| a.file_name.as_deref())
        .collect();
    assert_eq!(
        names,
        ["blueball.png", "greenball.png", "hareandtoroise.txt"]
    );
    let german = customer
        .iter()
        .find(|m| m.subject.as_deref() == Some("Die Hasen und die Frösche"))
        .unwrap();
    assert!(german.text.contains("Frösche"), "{}", german.text);

    // The same sender's two unrelated subjects are two conversations.
    let filter = ConversationFilter::default();
    assert_eq!(server.store.conversations(&filter).await.unwrap().len(), 5);
}

async fn mail_without_the_secret_stores_nothing(server: TestServer) {
    let channel = add_email(&server, None).await;
    let raw = mail("ana@example.com", "a1@example.com", "Hello", "", "hello");
    let response = server
        .client
        .post(server.url(&format!("/webhooks/email/{channel}")))
        .header("x-frontdesk-token", "guess")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(all_messages(&server).await.is_empty());
}

async fn threads_follow_references_and_never_mix_senders(server: TestServer) {
    let channel = add_email(&server, None).await;
    let first = mail(
        "ana@example.com",
        "a1@example.com",
        "Order 1234",
        "",
        "Where is it?",
    );
    let second = mail(
        "ana@example.com",
        "a2@example.com",
        "Re: Order 1234",
        "",
        "Any news?",
    );
    let other_sender = mail(
        "bo@example.com",
        "b1@example.com",
        "Order 1234",
        "",
        "Mine too",
    );
    let by_reference = mail(
        "ana@example.com",
        "a3@example.com",
        "Something else",
        "In-Reply-To: <never-issued@example.com>\r\nReferences: <x@example.com>\r\n <a1@example.com>\r\n",
        "About that order again",
    );
    // A stranger naming Ana's message: answering into her conversation would send the
    // assistant's reply, and so the stranger's question, to her.
    let stranger = mail(
        "cy@example.com",
        "c1@example.com",
        "Re: Order 1234",
        "In-Reply-To: <a1@example.com>\r\nReferences: <a1@example.com>\r\n",
        "Forwarded to me",
    );
    for raw in [first, second, other_sender, by_reference, stranger] {
        assert_eq!(post_mail(&server, channel, &raw).await, StatusCode::OK);
    }
    let messages = all_messages(&server).await;
    let conversation_of = |text: &str| {
        messages
            .iter()
            .find(|m| m.text == text)
            .unwrap()
            .conversation_id
    };
    assert_eq!(
        conversation_of("Where is it?"),
        conversation_of("Any news?")
    );
    assert_ne!(conversation_of("Where is it?"), conversation_of("Mine too"));
    assert_eq!(
        conversation_of("Where is it?"),
        conversation_of("About that order again"),
        "the References chain names the thread's first message"
    );
    assert_ne!(
        conversation_of("Where is it?"),
        conversation_of("Forwarded to me")
    );

    // An auto-responder answering our reply before its sending was recorded (here: no
    // SMTP server, so it never is) names our id, which names the message it carried.
    let ours = messages
        .iter()
        .find(|m| m.author != Author::Customer && m.conversation_id == conversation_of("Mine too"))
        .map(|m| m.id);
    // The assistant may still be answering; a made-up reply of ours does as well.
    let reply_id = match ours {
        Some(id) => id,
        None => wait_for_reply(&server, conversation_of("Mine too")).await,
    };
    let away = mail(
        "bo@example.com",
        "b2@example.com",
        "Out of office",
        &format!(
            "Auto-Submitted: auto-replied\r\nIn-Reply-To: <frontdesk.{reply_id}@shop.example>\r\n"
        ),
        "Away until Monday",
    );
    assert_eq!(post_mail(&server, channel, &away).await, StatusCode::OK);
    let messages = all_messages(&server).await;
    let away = messages
        .iter()
        .find(|m| m.text == "Away until Monday")
        .unwrap();
    assert_eq!(away.conversation_id, conversation_of("Mine too"));
}

/// The id of the first message in the conversation that is not the customer's.
async fn wait_for_reply(server: &TestServer, conversation: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let messages = server
            .store
            .messages(conversation, None, Readers::Team)
            .await
            .unwrap();
        if let Some(reply) = messages.iter().find(|m| m.author != Author::Customer) {
            return reply.id;
        }
        assert!(Instant::now() < deadline, "the conversation got no reply");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn replies_thread_and_auto_replies_are_never_answered(server: TestServer) {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let channel = add_email(&server, Some(sink.url())).await;
    let question = mail(
        "ana@example.com",
        "q1@example.com",
        "My card",
        "",
        LOST_CARD.0,
    );
    assert_eq!(post_mail(&server, channel, &question).await, StatusCode::OK);
    let sent = sink.wait_for(1).await;
    let reply = &sent[0];
    assert_eq!(reply.subject, "Re: My card");
    assert_eq!(reply.from_address, SHOP);
    assert_eq!(reply.to, ["ana@example.com"]);
    assert_eq!(reply.in_reply_to, ["q1@example.com"]);
    assert!(reply.references.contains(&"q1@example.com".to_string()));
    let our_id = reply.message_id.clone().unwrap();
    // The mail server has the reply a moment before the outbox records its id.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !all_messages(&server)
        .await
        .iter()
        .any(|m| m.provider_message_id.as_deref() == Some(our_id.as_str()))
    {
        assert!(
            Instant::now() < deadline,
            "our reply's id was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // An out-of-office answer to our reply: kept in the thread, never answered.
    let away = mail(
        "ana@example.com",
        "ooo1@example.com",
        "Automatic reply: Re: My card",
        &format!("Auto-Submitted: auto-replied\r\nIn-Reply-To: <{our_id}>\r\n"),
        "I am away until Monday.",
    );
    assert_eq!(post_mail(&server, channel, &away).await, StatusCode::OK);
    // The customer's own reply names an id we never issued, and ours in References.
    let follow_up = mail(
        "ana@example.com",
        "q2@example.com",
        "Re: My card",
        &format!(
            "In-Reply-To: <draft-123@mail.example.com>\r\nReferences: <q1@example.com> <{our_id}>\r\n"
        ),
        "Thanks! How can I change the PIN of my card?",
    );
    assert_eq!(
        post_mail(&server, channel, &follow_up).await,
        StatusCode::OK
    );
    let sent = sink.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        sink.received().len(),
        2,
        "the out-of-office reply got no answer"
    );
    assert_eq!(sent[1].in_reply_to, ["q2@example.com"]);

    let messages = all_messages(&server).await;
    let conversations: std::collections::BTreeSet<i64> =
        messages.iter().map(|m| m.conversation_id).collect();
    assert_eq!(conversations.len(), 1, "one thread: {messages:?}");
    let away = messages.iter().find(|m| m.text.contains("away")).unwrap();
    assert_eq!(
        away.automated.as_deref(),
        Some("Auto-Submitted: auto-replied")
    );
}

/// The bytes of a small PNG-like file, and the same in base64 as the mail carries them.
const PNG_BYTES: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
const PNG_BASE64: &str = "iVBORw0KGgoAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYn";

async fn attachments_are_kept_and_served_so_nothing_in_them_runs(server: TestServer) {
    let channel = add_email(&server, None).await;
    let agent = crate::team::member(&server, "agent@shop.example", Role::Agent).await;
    // Over the 10 MiB kept per file: listed, not kept.
    let big_line = format!("{}\r\n", "a".repeat(1022));
    let big = big_line.repeat(11 * 1024);
    let raw = format!(
        "From: ana@example.com\r\nTo: {SHOP}\r\nSubject: Receipt\r\n\
         Message-ID: <files@example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere is my receipt.\r\n\
         --b1\r\nContent-Type: image/png; name=\"receipt.png\"\r\n\
         Content-Disposition: attachment; filename=\"receipt.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{PNG_BASE64}\r\n\
         --b1\r\nContent-Type: text/html; name=\"page.html\"\r\n\
         Content-Disposition: attachment; filename=\"page.html\"\r\n\r\n\
         <script>document.title='ran'</script>\r\n\
         --b1\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\n\
         Content-Disposition: attachment; filename=\"big.bin\"\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{big}\
         --b1--\r\n"
    );
    assert_eq!(
        post_mail(&server, channel, raw.as_bytes()).await,
        StatusCode::OK
    );

    let messages = all_messages(&server).await;
    let message = messages
        .iter()
        .find(|m| m.author == Author::Customer)
        .expect("the mail is stored");
    let names: Vec<(Option<&str>, bool)> = message
        .attachments
        .iter()
        .map(|a| (a.file_name.as_deref(), a.kept))
        .collect();
    assert_eq!(
        names,
        [
            (Some("receipt.png"), true),
            (Some("page.html"), true),
            (Some("big.bin"), false)
        ]
    );

    let path = |position: usize| {
        server.url(&format!(
            "/api/v1/messages/{}/attachments/{position}",
            message.id
        ))
    };
    let image = server
        .client
        .get(path(0))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(image.headers()["content-type"], "image/png");
    assert_eq!(image.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        image.headers()["content-disposition"],
        "attachment; filename=\"receipt.png\"; filename*=UTF-8''receipt%2Epng"
    );
    let bytes = image.bytes().await.unwrap();
    assert_eq!(&bytes[..8], &PNG_BYTES);
    assert_eq!(bytes.len(), 48);

    // A page is handed over as bytes of no type, sandboxed, never as HTML.
    let page = server
        .client
        .get(path(1))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["content-type"], "application/octet-stream");
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("sandbox") && policy.contains("default-src 'none'"));
    assert!(page.text().await.unwrap().contains("<script>"));

    let not_kept = server
        .client
        .get(path(2))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(not_kept.status(), StatusCode::NOT_FOUND);
    let stranger = server.client.get(path(0)).send().await.unwrap();
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);
    let nonsense = server.client.get(path(0).replace("/0", "/-1"));
    let nonsense = nonsense.bearer_auth(&agent).send().await.unwrap();
    assert_eq!(nonsense.status(), StatusCode::BAD_REQUEST);
}

on_both_backends!(
    settings = crate::channels::quick_outbox;
    real_mail_is_stored_as_its_new_text,
    mail_without_the_secret_stores_nothing,
    threads_follow_references_and_never_mix_senders,
    replies_thread_and_auto_replies_are_never_answered,
    attachments_are_kept_and_served_so_nothing_in_them_runs,
);

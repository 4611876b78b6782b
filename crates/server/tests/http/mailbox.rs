//! Email read from a real IMAP server on loopback (Debian's dovecot, started by the
//! test with a configuration of its own): new mail is taken as it arrives (IDLE) or at
//! the next look (servers without IDLE), once, across restarts; on SQLite and
//! PostgreSQL.
//!
//! The tests need dovecot (`apt-get install dovecot-imapd`) and root, since dovecot
//! drops privileges to its own users. Without them they say they were skipped and
//! pass, unless FRONTDESK_TEST_MAIL=required, as in CI.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use frontdesk_channels::ChannelConfig;
use frontdesk_core::{Author, Channel, Message};
use frontdesk_server::{MailboxSettings, ServerSettings};
use frontdesk_store::{ConversationFilter, MailboxPosition, Readers, Store};

use crate::support::{self, skip_mail_test, TestServer};

const USER: &str = "help@shop.test";
const PASSWORD: &str = "mail-pass";
/// The owner dovecot reads and writes the mail as: `nobody`.
const MAIL_UID: u32 = 65534;

/// A dovecot of our own, serving plain IMAP on a free loopback port from a temporary
/// folder.
struct Dovecot {
    process: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Dovecot {
    /// Starts dovecot, announcing IDLE or not.
    fn start(with_idle: bool) -> Option<Dovecot> {
        let binary = ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
            .into_iter()
            .map(PathBuf::from)
            .find(|path| path.exists());
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::metadata(dir.path()).unwrap().uid() == 0;
        let Some(binary) = binary.filter(|_| root) else {
            skip_mail_test("dovecot is not installed, or the tests do not run as root");
            return None;
        };

        let port = support::free_port();
        for folder in ["run", "state", "mail", "home"] {
            std::fs::create_dir(dir.path().join(folder)).unwrap();
        }
        for folder in ["mail", "home"] {
            std::os::unix::fs::chown(dir.path().join(folder), Some(MAIL_UID), Some(MAIL_UID))
                .unwrap();
        }
        std::fs::write(
            dir.path().join("users"),
            format!("{USER}:{{PLAIN}}{PASSWORD}\n"),
        )
        .unwrap();
        let config = dir.path().join("dovecot.conf");
        std::fs::write(&config, configuration(dir.path(), port, with_idle)).unwrap();

        let process = Command::new(binary)
            .arg("-F")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let dovecot = Dovecot {
            process,
            port,
            _dir: dir,
        };
        support::wait_until_listening(port, "dovecot");
        Some(dovecot)
    }

    fn url(&self) -> String {
        let user = USER.replace('@', "%40");
        format!("imap://{user}:{PASSWORD}@127.0.0.1:{}/INBOX", self.port)
    }

    /// Puts a message into the inbox as a mail client would, received at `received`
    /// (an IMAP date-time) or now.
    async fn deliver(&self, raw: &[u8], received: Option<&str>) {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap().unwrap();
        let mut session = client
            .login(USER, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .unwrap();
        let date = received.map(|date| format!("\"{date}\""));
        session
            .append("INBOX", None, date.as_deref(), raw)
            .await
            .unwrap();
        session.logout().await.unwrap();
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM, so that the master takes its own children down with it.
        if let Ok(pid) = i32::try_from(self.process.id()) {
            // SAFETY: kill(2) on our own child's id; no memory is involved.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let _ = self.process.wait();
    }
}

fn configuration(dir: &Path, port: u16, with_idle: bool) -> String {
    let dir = dir.display();
    // Without IDLE in the list, a client must poll.
    let capabilities = if with_idle {
        ""
    } else {
        "imap_capability = IMAP4rev1 LITERAL+ SASL-IR\n"
    };
    format!(
        "base_dir = {dir}/run\n\
         state_dir = {dir}/state\n\
         log_path = {dir}/dovecot.log\n\
         instance_name = frontdesk-test-{port}\n\
         protocols = imap\n\
         listen = 127.0.0.1\n\
         ssl = no\n\
         disable_plaintext_auth = no\n\
         auth_mechanisms = plain login\n\
         first_valid_uid = 1\n\
         mail_location = maildir:{dir}/mail/%u\n\
         {capabilities}\
         passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {dir}/users\n}}\n\
         userdb {{\n  driver = static\n  args = uid={MAIL_UID} gid={MAIL_UID} home={dir}/home/%u\n}}\n\
         service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    \
         port = {port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n"
    )
}

/// Mail is only looked for when the server says it came, or, without IDLE, at `poll`.
fn reading_every(poll: Duration) -> ServerSettings {
    ServerSettings {
        mailbox: MailboxSettings {
            poll_interval: poll,
            first_retry: Duration::from_millis(100),
            longest_retry: Duration::from_millis(500),
            ..MailboxSettings::default()
        },
        ..ServerSettings::default()
    }
}

fn mail(from: &str, id: Option<&str>, subject: &str, body: &str) -> Vec<u8> {
    let id = id
        .map(|id| format!("Message-ID: <{id}>\r\n"))
        .unwrap_or_default();
    format!(
        "From: {from}\r\nTo: {USER}\r\nSubject: {subject}\r\n{id}\
         Date: Sat, 05 Dec 2026 10:00:00 +0000\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

async fn add_mailbox(store: &Store, url: String) -> i64 {
    let config = ChannelConfig::Email {
        address: USER.into(),
        webhook_secret: "test-mail-secret".into(),
        imap_url: Some(url),
        smtp_url: None,
    };
    let json = serde_json::to_string(&config).unwrap();
    store
        .add_channel(Channel::Email, "mailbox", &json)
        .await
        .unwrap()
        .id
}

async fn customer_messages(store: &Store) -> Vec<Message> {
    let mut all = Vec::new();
    for conversation in store
        .conversations(&ConversationFilter::default())
        .await
        .unwrap()
    {
        let messages = store
            .messages(conversation.id, None, Readers::Team)
            .await
            .unwrap();
        all.extend(
            messages
                .into_iter()
                .filter(|m| m.author == Author::Customer),
        );
    }
    all.sort_by_key(|m| m.id);
    all
}

async fn wait_for_customer_messages(store: &Store, count: usize) -> Vec<Message> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let messages = customer_messages(store).await;
        if messages.len() >= count {
            return messages;
        }
        assert!(
            Instant::now() < deadline,
            "{} messages taken from the mailbox, not {count}",
            messages.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The server under test, started here since the mailbox must exist before it starts
/// (the one `with_server` gave is left alone: it looked for mailboxes before there was
/// one, and looks again only after the long poll interval).
async fn mail_arrives_by_idle_and_is_taken_once_across_restarts(server: TestServer) {
    let Some(dovecot) = Dovecot::start(true) else {
        return;
    };
    let channel = add_mailbox(&server.store, dovecot.url()).await;
    // Ten minutes: only IDLE can bring mail in within the test's time.
    let settings = reading_every(Duration::from_secs(600));

    let first = support::start(&server.store, settings.clone(), true).await;
    // The reader has logged in once it has remembered where the empty mailbox stands.
    let deadline = Instant::now() + Duration::from_secs(20);
    while server
        .store
        .mailbox_position(channel)
        .await
        .unwrap()
        .is_none()
    {
        assert!(Instant::now() < deadline, "the mailbox was never read");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let question = mail(
        "ana@example.com",
        Some("q1@example.com"),
        "My card",
        "I lost my card",
    );
    dovecot.deliver(&question, None).await;
    let taken = wait_for_customer_messages(&server.store, 1).await;
    assert_eq!(taken[0].text, "I lost my card");
    assert_eq!(taken[0].subject.as_deref(), Some("My card"));
    first.stop().await;

    // Mail that comes while no server runs, one of them without a Message-ID.
    let later = mail(
        "bo@example.com",
        Some("q2@example.com"),
        "PIN",
        "How do I change my PIN?",
    );
    dovecot.deliver(&later, None).await;
    let bare = mail(
        "cy@example.com",
        None,
        "Hello",
        "Is the shop open on Sunday?",
    );
    dovecot.deliver(&bare, None).await;
    // Mail that comes back from our own address, as a mailbox's sent mail can.
    let own = mail(
        USER,
        Some("frontdesk.77@shop.test"),
        "Re: PIN",
        "Our own reply",
    );
    dovecot.deliver(&own, None).await;

    let second = support::start(&server.store, settings, true).await;
    let taken = wait_for_customer_messages(&server.store, 4).await;
    let texts: Vec<&str> = taken.iter().map(|m| m.text.as_str()).collect();
    let expected = [
        "I lost my card",
        "How do I change my PIN?",
        "Is the shop open on Sunday?",
        "Our own reply",
    ];
    assert_eq!(texts, expected);
    assert!(
        taken[3].automated.is_some(),
        "our own mail is never answered"
    );
    let position = server.store.mailbox_position(channel).await.unwrap();
    assert_eq!(position.unwrap().last_uid, 4);
    // The restarted reader fetched only what was new: nothing was found to be taken
    // already.
    let metrics = second.test_server(&server.store).text("/metrics").await;
    assert!(
        !metrics
            .lines()
            .any(|l| l.contains("channel=\"email\"") && l.contains("outcome=\"duplicate\"")),
        "{metrics}"
    );

    // A burst, each message announced while the one before is being taken.
    for n in 0..10 {
        let id = format!("burst{n}@example.com");
        let burst = mail(
            "dee@example.com",
            Some(&id),
            &format!("Burst {n}"),
            "Hello?",
        );
        dovecot.deliver(&burst, None).await;
    }
    wait_for_customer_messages(&server.store, 14).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(customer_messages(&server.store).await.len(), 14);
    second.stop().await;
}

/// A mailbox read anew (here: renumbered since the last read) yields only recent mail;
/// a server without IDLE is looked at again every poll interval.
async fn without_idle_the_mailbox_is_polled_and_old_mail_is_left(server: TestServer) {
    let Some(dovecot) = Dovecot::start(false) else {
        return;
    };
    // A week-old message already in the mailbox when it is connected.
    let week_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(7 * 24);
    let week_ago = week_ago.strftime("%d-%b-%Y %H:%M:%S +0000").to_string();
    let old = mail(
        "old@example.com",
        Some("old@example.com"),
        "Old",
        "An old question",
    );
    dovecot.deliver(&old, Some(&week_ago)).await;
    let fresh = mail(
        "ana@example.com",
        Some("fresh@example.com"),
        "Card",
        "I lost my card",
    );
    dovecot.deliver(&fresh, None).await;
    let channel = add_mailbox(&server.store, dovecot.url()).await;
    // Read before under another UIDVALIDITY, as after a move to another server.
    let before = MailboxPosition {
        uid_validity: 7,
        last_uid: 500,
    };
    server
        .store
        .set_mailbox_position(channel, before)
        .await
        .unwrap();

    let reader = support::start(
        &server.store,
        reading_every(Duration::from_millis(200)),
        true,
    );
    let reader = reader.await;
    let taken = wait_for_customer_messages(&server.store, 1).await;
    assert_eq!(taken[0].text, "I lost my card");

    let next = mail(
        "bo@example.com",
        Some("next@example.com"),
        "PIN",
        "How do I change my PIN?",
    );
    dovecot.deliver(&next, None).await;
    let taken = wait_for_customer_messages(&server.store, 2).await;
    assert_eq!(taken[1].text, "How do I change my PIN?");
    assert!(taken.iter().all(|m| m.text != "An old question"));
    let position = server
        .store
        .mailbox_position(channel)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(position.last_uid, 3);
    reader.stop().await;
}

/// A mailbox that could not be read (a wrong password) is read once its settings are
/// replaced, without a restart.
async fn a_corrected_mailbox_is_read_without_a_restart(server: TestServer) {
    let Some(dovecot) = Dovecot::start(true) else {
        return;
    };
    let wrong = dovecot.url().replace(PASSWORD, "not-the-password");
    let channel = add_mailbox(&server.store, wrong).await;
    let reader = support::start(
        &server.store,
        reading_every(Duration::from_millis(200)),
        true,
    )
    .await;
    let question = mail(
        "ana@example.com",
        Some("fixed@example.com"),
        "Card",
        "I lost my card",
    );
    dovecot.deliver(&question, None).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(customer_messages(&server.store).await.is_empty());
    assert!(server
        .store
        .mailbox_position(channel)
        .await
        .unwrap()
        .is_none());

    let config = ChannelConfig::Email {
        address: USER.into(),
        webhook_secret: "test-mail-secret".into(),
        imap_url: Some(dovecot.url()),
        smtp_url: None,
    };
    let json = serde_json::to_string(&config).unwrap();
    let replaced = server
        .store
        .replace_channel_config(Channel::Email, "mailbox", &json);
    assert_eq!(replaced.await.unwrap().id, channel);
    let taken = wait_for_customer_messages(&server.store, 1).await;
    assert_eq!(taken[0].text, "I lost my card");
    reader.stop().await;
}

/// The server `with_server` starts looks for mailboxes only this rarely, so the tests'
/// own servers are the ones reading.
pub(crate) fn rarely_looking() -> ServerSettings {
    reading_every(Duration::from_secs(600))
}

on_both_backends!(
    settings = crate::mailbox::rarely_looking;
    mail_arrives_by_idle_and_is_taken_once_across_restarts,
    without_idle_the_mailbox_is_polled_and_old_mail_is_left,
    a_corrected_mailbox_is_read_without_a_restart,
);

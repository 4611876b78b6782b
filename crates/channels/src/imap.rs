//! Reading an email channel's mailbox over IMAP: log in, find the messages that arrived
//! after the last one taken, fetch them whole, and wait for more with IDLE where the
//! server offers it. What has been taken is remembered by the caller (a UID and the
//! mailbox's UIDVALIDITY); this module never changes the mailbox, so the business's
//! own mail client still shows every message as it was.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_imap::{Client, Session};
use futures_util::TryStreamExt as _;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

/// What can go wrong reading a mailbox. Messages never carry the password.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("the IMAP URL is not usable: {0}")]
    Url(String),
    #[error("could not reach the IMAP server {address}: {source}")]
    Connect {
        address: String,
        source: std::io::Error,
    },
    #[error("TLS with the IMAP server {host} failed: {reason}")]
    Tls { host: String, reason: String },
    #[error("the IMAP server refused the login of {user}: {reason}")]
    Login { user: String, reason: String },
    #[error("the IMAP server could not open the mailbox {mailbox}: {reason}")]
    Select { mailbox: String, reason: String },
    #[error("the IMAP server did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the IMAP conversation failed: {0}")]
    Protocol(String),
}

impl From<async_imap::error::Error> for ImapError {
    fn from(err: async_imap::error::Error) -> Self {
        ImapError::Protocol(err.to_string())
    }
}

/// Where a mailbox is and how to log in to it, from `imap://` (plain, for a server on
/// the same host) or `imaps://` (TLS) URLs such as
/// `imaps://help%40shop.example:secret@mail.shop.example:993/INBOX`.
#[derive(Clone, PartialEq, Eq)]
pub struct MailboxUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub user: String,
    password: String,
    /// `INBOX` when the URL names none.
    pub mailbox: String,
}

// Written by hand so that the password never reaches a log.
impl fmt::Debug for MailboxUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailboxUrl")
            .field("tls", &self.tls)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("mailbox", &self.mailbox)
            .finish_non_exhaustive()
    }
}

impl MailboxUrl {
    pub fn parse(text: &str) -> Result<MailboxUrl, ImapError> {
        let url = url::Url::parse(text).map_err(|err| {
            ImapError::Url(format!("{err} (expected imaps://user:password@host/INBOX)"))
        })?;
        let (tls, default_port) = match url.scheme() {
            "imaps" => (true, 993),
            "imap" => (false, 143),
            other => {
                return Err(ImapError::Url(format!(
                    "the scheme is {other:?}; use imaps:// (or imap:// for a server on this host)"
                )))
            }
        };
        let host = url
            .host_str()
            .filter(|host| !host.is_empty())
            .ok_or_else(|| ImapError::Url("it names no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let user = decoded(url.username(), "user name")?;
        if user.is_empty() {
            return Err(ImapError::Url(
                "it names no user (imaps://user:password@host)".into(),
            ));
        }
        let password = decoded(url.password().unwrap_or_default(), "password")?;
        if password.is_empty() {
            return Err(ImapError::Url(format!("it gives no password for {user}")));
        }
        let path = decoded(url.path().trim_start_matches('/'), "mailbox")?;
        let mailbox = if path.is_empty() {
            "INBOX".to_string()
        } else {
            path
        };
        Ok(MailboxUrl {
            tls,
            host,
            port: url.port().unwrap_or(default_port),
            user,
            password,
            mailbox,
        })
    }

    fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

fn decoded(part: &str, what: &str) -> Result<String, ImapError> {
    percent_encoding::percent_decode_str(part)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| ImapError::Url(format!("its {what} is not valid UTF-8")))
}

/// The connection under a session: plain TCP or TLS over it.
trait Transport: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Transport for T {}

type Connection = Box<dyn Transport>;

/// A message waiting in the mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub uid: u32,
    pub size: u32,
    /// When the mailbox received it (INTERNALDATE), in Unix milliseconds.
    pub received_ms: Option<i64>,
}

/// What ended a wait for new mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// The server said something changed.
    Changed,
    /// Nothing happened for as long as asked; look anyway, since not every change is
    /// announced.
    Quiet,
}

/// A logged-in session with one mailbox selected.
pub struct Mailbox {
    session: Session<Connection>,
    uid_validity: u32,
    idle: bool,
    timeout: Duration,
}

impl fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailbox")
            .field("uid_validity", &self.uid_validity)
            .field("idle", &self.idle)
            .finish_non_exhaustive()
    }
}

impl Mailbox {
    /// Connects, logs in and selects the URL's mailbox; every step gives up after
    /// `timeout`.
    pub async fn open(url: &MailboxUrl, timeout: Duration) -> Result<Mailbox, ImapError> {
        let address = url.address();
        let tcp = within(timeout, async {
            TcpStream::connect(&address)
                .await
                .map_err(|source| ImapError::Connect {
                    address: address.clone(),
                    source,
                })
        })
        .await?;
        let connection: Connection = if url.tls {
            Box::new(within(timeout, tls(url, tcp)).await?)
        } else {
            Box::new(tcp)
        };

        let mut client = Client::new(connection);
        // The server speaks first; a server that does not is not an IMAP server.
        let greeting = within(timeout, async {
            client
                .read_response()
                .await
                .map_err(|err| ImapError::Protocol(err.to_string()))
        })
        .await?;
        if greeting.is_none() {
            return Err(ImapError::Protocol(format!(
                "{address} closed before greeting"
            )));
        }

        let mut session = within(timeout, async {
            client
                .login(&url.user, &url.password)
                .await
                .map_err(|(err, _)| ImapError::Login {
                    user: url.user.clone(),
                    reason: err.to_string(),
                })
        })
        .await?;
        let capabilities = within(timeout, async { Ok(session.capabilities().await?) }).await?;
        let idle = capabilities.has_str("IDLE");
        let selected = within(timeout, async {
            session
                .select(&url.mailbox)
                .await
                .map_err(|err| ImapError::Select {
                    mailbox: url.mailbox.clone(),
                    reason: err.to_string(),
                })
        })
        .await?;
        // RFC 3501 requires UIDVALIDITY; without it UIDs cannot be remembered safely.
        let uid_validity = selected.uid_validity.ok_or_else(|| {
            ImapError::Protocol(format!("the mailbox {} has no UIDVALIDITY", url.mailbox))
        })?;
        Ok(Mailbox {
            session,
            uid_validity,
            idle,
            timeout,
        })
    }

    /// Changes when the server renumbers the mailbox; UIDs from another validity mean
    /// nothing here.
    pub fn uid_validity(&self) -> u32 {
        self.uid_validity
    }

    /// Whether the server tells of new mail as it comes (IDLE); otherwise poll.
    pub fn supports_idle(&self) -> bool {
        self.idle
    }

    /// The messages whose UID is above `after`, oldest first.
    pub async fn waiting_after(&mut self, after: u32) -> Result<Vec<Waiting>, ImapError> {
        let set = format!("{}:*", after.saturating_add(1));
        let fetches = within(self.timeout, async {
            // Some servers (dovecot among them) bring a session's view of the mailbox up
            // to date only between commands: without this, mail that came since the last
            // command would be seen one look later.
            self.session.noop().await?;
            let stream = self
                .session
                .uid_fetch(&set, "(UID RFC822.SIZE INTERNALDATE)")
                .await?;
            Ok(stream.try_collect::<Vec<_>>().await?)
        })
        .await?;

        // `n:*` names the newest message even when its UID is below n.
        let mut waiting: Vec<Waiting> = fetches
            .iter()
            .filter_map(|fetch| {
                Some(Waiting {
                    uid: fetch.uid?,
                    size: fetch.size.unwrap_or(0),
                    received_ms: fetch.internal_date().map(|date| date.timestamp_millis()),
                })
            })
            .filter(|message| message.uid > after)
            .collect();
        waiting.sort_by_key(|message| message.uid);
        waiting.dedup();
        Ok(waiting)
    }

    /// The whole message as it is stored, without marking it read. `None` when it has
    /// gone (another client deleted it meanwhile).
    pub async fn fetch(&mut self, uid: u32) -> Result<Option<Vec<u8>>, ImapError> {
        let fetches = within(self.timeout, async {
            let stream = self
                .session
                .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
                .await?;
            Ok(stream.try_collect::<Vec<_>>().await?)
        })
        .await?;
        Ok(fetches
            .iter()
            .find(|fetch| fetch.uid == Some(uid))
            .and_then(|fetch| fetch.body())
            .map(<[u8]>::to_vec))
    }

    /// Whether the server announced a change (new mail, most likely) since the last
    /// call, in answer to other commands. Such an announcement is made once: a caller
    /// about to wait must look again first, or wait for mail that has already come.
    pub fn heard_of_changes(&mut self) -> bool {
        let mut heard = false;
        while self.session.unsolicited_responses.try_recv().is_ok() {
            heard = true;
        }
        heard
    }

    /// Waits with IDLE until the server announces a change or `longest` passes. Only
    /// call it when [`Mailbox::supports_idle`].
    pub async fn wait(self, longest: Duration) -> Result<(Mailbox, Woken), ImapError> {
        let Mailbox {
            session,
            uid_validity,
            idle,
            timeout,
        } = self;
        let mut handle = session.idle();
        within(timeout, async { Ok(handle.init().await?) }).await?;
        let woken = {
            // The library's own timeout restarts with every keep-alive the server sends
            // ("* OK Still here" every few minutes), so it would never end: the wait is
            // interrupted from here instead.
            let (waiting, interrupt) = handle.wait_with_timeout(longest);
            let mut waiting = std::pin::pin!(waiting);
            let response = tokio::select! {
                response = &mut waiting => response?,
                _ = tokio::time::sleep(longest) => {
                    drop(interrupt);
                    within(timeout, async { Ok(waiting.await?) }).await?
                }
            };
            match response {
                async_imap::extensions::idle::IdleResponse::NewData(_) => Woken::Changed,
                _ => Woken::Quiet,
            }
        };
        let session = within(timeout, async { Ok(handle.done().await?) }).await?;
        let mailbox = Mailbox {
            session,
            uid_validity,
            idle,
            timeout,
        };
        Ok((mailbox, woken))
    }

    /// Says goodbye; a server that does not answer is left behind.
    pub async fn close(mut self) {
        let _ = within(self.timeout, async { Ok(self.session.logout().await?) }).await;
    }
}

async fn within<T>(
    timeout: Duration,
    step: impl std::future::Future<Output = Result<T, ImapError>>,
) -> Result<T, ImapError> {
    tokio::time::timeout(timeout, step)
        .await
        .map_err(|_| ImapError::Timeout(timeout))?
}

async fn tls(
    url: &MailboxUrl,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ImapError> {
    let failed = |reason: String| ImapError::Tls {
        host: url.host.clone(),
        reason,
    };
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    // ring, as lettre's SMTP uses: rustls now prefers aws-lc-rs for its post-quantum key
    // exchange, which would add a C build of its own. Switching both together to
    // aws-lc-rs lifts this.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| failed(err.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(url.host.clone())
        .map_err(|err| failed(err.to_string()))?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|err| {
            failed(format!(
                "{err} (imaps:// speaks TLS from the first byte, usually on port 993; a \
                 server on port 143 wants imap://)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_gives_server_login_and_mailbox() {
        let url = MailboxUrl::parse("imaps://help%40shop.test:p%3Ass@mail.shop.test/Support")
            .expect("a full URL parses");
        assert!(url.tls);
        assert_eq!(url.host, "mail.shop.test");
        assert_eq!(url.port, 993);
        assert_eq!(url.user, "help@shop.test");
        assert_eq!(url.password, "p:ss");
        assert_eq!(url.mailbox, "Support");

        let plain = MailboxUrl::parse("imap://help:secret@127.0.0.1:1143").expect("plain parses");
        assert!(!plain.tls);
        assert_eq!(plain.port, 1143);
        assert_eq!(plain.mailbox, "INBOX");
    }

    #[test]
    fn a_url_missing_a_part_says_which() {
        let cases = [
            ("https://help:secret@mail.shop.test", "scheme"),
            ("imaps://mail.shop.test", "no user"),
            ("imaps://help@mail.shop.test", "no password"),
            ("not a url", "expected imaps://"),
        ];
        for (text, expected) in cases {
            let err = MailboxUrl::parse(text).expect_err(text).to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn the_password_stays_out_of_debug_output() {
        let url = MailboxUrl::parse("imaps://help:hunter2@mail.shop.test").expect("parses");
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}

//! Email channels with an IMAP mailbox: one reader per mailbox takes each new message
//! into the conversations exactly as a message posted to the email webhook is taken
//! (`channels::store_mail`), then waits for more: with IDLE where the server offers it,
//! otherwise by looking again every poll interval.
//!
//! Where reading stopped is stored after every message (the mailbox's UIDVALIDITY and
//! the last UID taken), so a restart carries on from there. A crash between storing a
//! message and storing the position reads that message again; its Message-ID (or, when
//! it has none, a digest of its bytes) keeps it from being stored twice.

use std::collections::HashMap;
use std::time::Duration;

use frontdesk_channels::imap::{ImapError, Mailbox, MailboxUrl};
use frontdesk_channels::ChannelConfig;
use frontdesk_core::Channel;
use frontdesk_store::{MailboxPosition, StoreError, WebhookProblem};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::channels::store_mail;
use crate::AppState;

/// How mailboxes are read.
#[derive(Debug, Clone)]
pub struct MailboxSettings {
    /// How often a mailbox whose server has no IDLE is looked at, and how often the
    /// channels are looked at for a mailbox added meanwhile.
    pub poll_interval: Duration,
    /// One IDLE lasts at most this long before the mailbox is looked at anyway (servers
    /// end an IDLE after 30 minutes, and some changes are never announced).
    pub idle_refresh: Duration,
    /// How long one step of the IMAP conversation (connect, log in, fetch) may take.
    pub step_timeout: Duration,
    /// The wait after a mailbox's first failure; it doubles with each further one.
    pub first_retry: Duration,
    /// The longest wait between two tries at a failing mailbox.
    pub longest_retry: Duration,
    /// A mailbox read for the first time yields only mail it received this recently:
    /// a long-kept support inbox must not have years of old mail answered at once.
    pub first_read_window: Duration,
    /// Larger messages are not fetched; each is recorded as a webhook problem.
    pub max_message_bytes: u32,
}

impl Default for MailboxSettings {
    fn default() -> Self {
        MailboxSettings {
            poll_interval: Duration::from_secs(60),
            idle_refresh: Duration::from_secs(10 * 60),
            step_timeout: Duration::from_secs(30),
            first_retry: Duration::from_secs(5),
            longest_retry: Duration::from_secs(5 * 60),
            first_read_window: Duration::from_secs(24 * 60 * 60),
            max_message_bytes: 25 * 1024 * 1024,
        }
    }
}

/// Why one round of reading a mailbox ended.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One channel's reader, with the settings it was started from.
struct Reader {
    config: String,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// Starts a reader for every email channel with an IMAP URL, and for each one added
/// later; restarts one whose settings were replaced; until `stop` is cancelled, then
/// waits for the readers to end.
pub(crate) async fn read_mailboxes(state: AppState, stop: CancellationToken) {
    let mut readers: HashMap<i64, Reader> = HashMap::new();
    loop {
        match state.store.channels().await {
            Ok(channels) => {
                for stored in channels.into_iter().filter(|c| c.kind == Channel::Email) {
                    if let Some(reader) = readers.get(&stored.id) {
                        if reader.config == stored.config {
                            continue;
                        }
                        tracing::info!(
                            channel = stored.id,
                            "the channel's settings changed; reading its mailbox anew"
                        );
                    }
                    // The old reader is gone before the new one starts, so that the two
                    // never fetch side by side.
                    if let Some(replaced) = readers.remove(&stored.id) {
                        replaced.stop.cancel();
                        let _ = replaced.task.await;
                    }
                    let own_stop = stop.child_token();
                    // Nothing to read, or a URL already reported as unusable: an idle
                    // entry, so that the URL is looked at again only when it changes.
                    let task = match mailbox_url(stored.id, &stored.config) {
                        Some(url) => {
                            let reader =
                                read_mailbox(state.clone(), stored.id, url, own_stop.clone());
                            tokio::spawn(reader)
                        }
                        None => tokio::spawn(async {}),
                    };
                    let reader = Reader {
                        config: stored.config,
                        stop: own_stop,
                        task,
                    };
                    readers.insert(stored.id, reader);
                }
            }
            Err(err) => tracing::warn!(%err, "could not list the channels to read mailboxes"),
        }

        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(state.settings.mailbox.poll_interval) => {}
        }
    }
    for (_, reader) in readers {
        let _ = reader.task.await;
    }
}

/// The channel's mailbox, when it has one that can be read; an unusable URL is said
/// once here.
fn mailbox_url(channel_id: i64, config: &str) -> Option<MailboxUrl> {
    let imap_url = match serde_json::from_str(config) {
        Ok(ChannelConfig::Email {
            imap_url: Some(url),
            ..
        }) => url,
        Ok(_) => return None,
        Err(err) => {
            tracing::error!(channel = channel_id, %err, "the email channel's settings cannot be read");
            return None;
        }
    };
    match MailboxUrl::parse(&imap_url) {
        Ok(url) => Some(url),
        Err(err) => {
            tracing::error!(channel = channel_id, %err, "the mailbox is not read");
            None
        }
    }
}

/// Reads one mailbox until `stop`, reconnecting after failures with doubling waits.
async fn read_mailbox(state: AppState, channel_id: i64, url: MailboxUrl, stop: CancellationToken) {
    let settings = state.settings.mailbox.clone();
    let mut failures: u32 = 0;
    loop {
        let ended = tokio::select! {
            _ = stop.cancelled() => return,
            ended = read_until_failure(&state, channel_id, &url, &mut failures) => ended,
        };
        failures = failures.saturating_add(1);
        let doublings = failures.saturating_sub(1).min(20);
        let wait = settings
            .first_retry
            .saturating_mul(1 << doublings)
            .min(settings.longest_retry);
        tracing::warn!(
            channel = channel_id,
            server = %url.host,
            user = %url.user,
            err = %ended,
            retry_in_s = wait.as_secs_f64(),
            "reading the mailbox failed"
        );
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Logs in, takes what is new, waits for more, and again, until something fails.
async fn read_until_failure(
    state: &AppState,
    channel_id: i64,
    url: &MailboxUrl,
    failures: &mut u32,
) -> ReadError {
    let settings = &state.settings.mailbox;
    let mut mailbox = match Mailbox::open(url, settings.step_timeout).await {
        Ok(mailbox) => mailbox,
        Err(err) => return err.into(),
    };
    *failures = 0;
    tracing::info!(
        channel = channel_id,
        mailbox = %url.mailbox,
        user = %url.user,
        idle = mailbox.supports_idle(),
        "reading the mailbox"
    );

    loop {
        if let Err(err) = take_new_mail(state, channel_id, &mut mailbox).await {
            return err;
        }
        // Mail that came while the last came in was announced then; look again at once.
        if mailbox.heard_of_changes() {
            continue;
        }
        if mailbox.supports_idle() {
            match mailbox.wait(settings.idle_refresh).await {
                Ok((still_open, _)) => mailbox = still_open,
                Err(err) => return err.into(),
            }
        } else {
            tokio::time::sleep(settings.poll_interval).await;
        }
    }
}

/// Stores every message that came after the remembered position, oldest first, moving
/// the position past each one as soon as it is stored.
async fn take_new_mail(
    state: &AppState,
    channel_id: i64,
    mailbox: &mut Mailbox,
) -> Result<(), ReadError> {
    let settings = &state.settings.mailbox;
    let uid_validity = mailbox.uid_validity();
    let remembered = state.store.mailbox_position(channel_id).await?;
    // A renumbered mailbox is read as a new one, window included: after a server
    // migration, months of old mail must not be answered.
    let first_read = remembered.is_none_or(|position| position.uid_validity != uid_validity);
    let after = match remembered {
        Some(position) if position.uid_validity == uid_validity => position.last_uid,
        Some(_) => {
            tracing::info!(
                channel = channel_id,
                "the mailbox was renumbered; reading its recent mail again (messages taken \
                 before are recognised by their Message-ID)"
            );
            0
        }
        None => 0,
    };

    let waiting = mailbox.waiting_after(after).await?;
    let oldest_wanted = jiff::Timestamp::now().as_millisecond()
        - i64::try_from(settings.first_read_window.as_millis()).unwrap_or(i64::MAX);
    let mut skipped_as_old = 0_usize;
    for message in waiting {
        let too_old = first_read && message.received_ms.is_some_and(|at| at < oldest_wanted);
        if too_old {
            skipped_as_old += 1;
        } else if message.size > settings.max_message_bytes {
            let detail = format!(
                "mailbox message {} is {} bytes, over the limit of {}; it was not fetched",
                message.uid, message.size, settings.max_message_bytes
            );
            tracing::warn!(channel = channel_id, %detail, "mail kept aside");
            state
                .store
                .record_webhook_problem(channel_id, WebhookProblem::Unsupported, &detail, b"")
                .await?;
        } else if let Some(bytes) = mailbox.fetch(message.uid).await? {
            store_mail(state, channel_id, &bytes).await?;
        }
        let position = MailboxPosition {
            uid_validity,
            last_uid: message.uid,
        };
        state
            .store
            .set_mailbox_position(channel_id, position)
            .await?;
    }

    if first_read {
        if skipped_as_old > 0 {
            tracing::info!(
                channel = channel_id,
                skipped = skipped_as_old,
                "mail older than the first-read window left unanswered in the mailbox"
            );
        }
        // Remembered even for an empty mailbox, so that the window applies only once.
        let now_at = state.store.mailbox_position(channel_id).await?;
        if now_at.is_none_or(|position| position.uid_validity != uid_validity) {
            let position = MailboxPosition {
                uid_validity,
                last_uid: after,
            };
            state
                .store
                .set_mailbox_position(channel_id, position)
                .await?;
        }
    }
    Ok(())
}

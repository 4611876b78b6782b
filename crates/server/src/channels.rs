//! Connected channels on the server's side: webhook deliveries in, replies out.
//!
//! A delivery is verified against its channel's secret before its body is read, its
//! customer messages are stored (once each, however often the provider sends them), and
//! only then does the provider get its 200. The assistant answers each new message in a
//! task of its own, in the conversation's turn.
//!
//! Replies leave through the outbox: [`deliver_replies`] claims due rows, sends each
//! part through the channel's adapter, and records every outcome, retrying with growing,
//! jittered waits (or the provider's own Retry-After) until the provider accepts or
//! refuses for good.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use axum::http::HeaderMap;
use frontdesk_channels::{ChannelConfig, InboundEvent, InboundMessage, SendError};
use frontdesk_core::{Attachment, AttachmentKind, Channel};
use frontdesk_store::{
    AttachmentFile, Inbound, InboundRecord, OutboxItem, Readers, SentPart, Store, StoreError,
    WebhookProblem,
};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::conversation::answer_stored;
use crate::error::ApiError;
use crate::AppState;

/// How the outbox sends: how often, how patiently, how many at once.
#[derive(Debug, Clone)]
pub struct OutboxSettings {
    /// Attempts before a reply is marked failed.
    pub max_attempts: u32,
    /// The wait after the first failed attempt; it doubles with each further one.
    pub first_retry: Duration,
    /// The longest wait between attempts, unless the provider asks for longer.
    pub longest_retry: Duration,
    /// How long one call to a provider may take.
    pub send_timeout: Duration,
    /// How often the outbox looks for due replies when nothing wakes it.
    pub poll_interval: Duration,
    /// Replies being sent at once.
    pub concurrency: usize,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        OutboxSettings {
            max_attempts: 8,
            first_retry: Duration::from_secs(2),
            longest_retry: Duration::from_secs(10 * 60),
            send_timeout: Duration::from_secs(15),
            poll_interval: Duration::from_secs(1),
            concurrency: 16,
        }
    }
}

/// The most a provider's Retry-After is honoured for: beyond a day the reply is stale.
const LONGEST_PROVIDER_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// WhatsApp lets a business write freely only this long after the customer last wrote.
pub(crate) const WHATSAPP_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// A channel as the server uses it: its stored row with the settings read.
pub(crate) struct ConnectedChannel {
    pub id: i64,
    pub kind: Channel,
    pub name: String,
    pub config: ChannelConfig,
}

/// The connected channels, read from the store on first use. A channel added while the
/// server runs is found on its first delivery.
///
/// An entry is read again once it is [`CHANNEL_SETTINGS_TTL`] old, so settings replaced
/// by another process (`channels add --replace`, another instance) take effect within
/// that time, on every backend. Shortcoming: until then the old secret still verifies;
/// an event from whoever replaced them, dropping the entry at once as the knowledge's
/// retraining event does, would close that window.
#[derive(Default)]
pub(crate) struct ChannelCache {
    known: RwLock<HashMap<i64, (Arc<ConnectedChannel>, std::time::Instant)>>,
}

/// How long a channel's settings are used before they are read from the store again.
const CHANNEL_SETTINGS_TTL: Duration = Duration::from_secs(30);

impl ChannelCache {
    pub(crate) async fn get(
        &self,
        store: &Store,
        id: i64,
    ) -> Result<Option<Arc<ConnectedChannel>>, ApiError> {
        let cached = self
            .known
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .filter(|(_, read_at)| read_at.elapsed() < CHANNEL_SETTINGS_TTL)
            .map(|(channel, _)| channel.clone());
        if cached.is_some() {
            return Ok(cached);
        }
        let Some(stored) = store.channel(id).await? else {
            return Ok(None);
        };
        let config: ChannelConfig = serde_json::from_str(&stored.config).map_err(|err| {
            ApiError::Internal(format!(
                "channel {id}'s stored settings cannot be read: {err}"
            ))
        })?;
        let channel = Arc::new(ConnectedChannel {
            id,
            kind: stored.kind,
            name: stored.name,
            config,
        });
        self.known
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, (channel.clone(), std::time::Instant::now()));
        Ok(Some(channel))
    }
}

/// Looks up a channel of `kind` for a webhook route; any other channel is not found, so
/// a route cannot be used to probe which ids exist on other channels.
pub(crate) async fn channel_for_route(
    state: &AppState,
    kind: Channel,
    id: i64,
) -> Result<Arc<ConnectedChannel>, ApiError> {
    match state.channels.get(&state.store, id).await? {
        Some(channel) if channel.kind == kind => Ok(channel),
        _ => Err(ApiError::NotFound("no such channel")),
    }
}

/// Meta's subscription handshake: echoes the challenge when the verify token matches.
pub(crate) async fn handshake(
    state: &AppState,
    kind: Channel,
    id: i64,
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
) -> Result<String, ApiError> {
    let channel = channel_for_route(state, kind, id).await?;
    let expected = channel
        .config
        .verify_token()
        .ok_or(ApiError::NotFound("no such channel"))?;
    frontdesk_channels::hub_challenge(mode, token, challenge, expected).map_err(|err| {
        tracing::warn!(channel = id, %err, "webhook subscription handshake refused");
        match err {
            frontdesk_channels::VerifyError::Mismatch(_) => {
                ApiError::Forbidden("the verify token does not match this channel's")
            }
            // A missing or malformed parameter says what it is: the caller can fix it.
            other => ApiError::BadRequest {
                message: format!("the subscription handshake is refused: {other}"),
                field: None,
            },
        }
    })
}

/// Takes one webhook delivery: verify, store, answer later. Returns once everything the
/// delivery carried is durably stored (or recorded as not taken).
pub(crate) async fn take_delivery(
    state: &AppState,
    kind: Channel,
    id: i64,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), ApiError> {
    let channel = channel_for_route(state, kind, id).await?;
    verify(&channel, headers, body).map_err(|err| {
        tracing::warn!(channel = id, kind = %kind, %err, "webhook delivery refused");
        state.metrics.count_webhook(kind, "refused");
        ApiError::WebhookRefused(err.to_string())
    })?;

    let events = match frontdesk_channels::parse(kind, body) {
        Ok(events) => events,
        Err(err) => {
            // Signed by the provider but not in a shape we read: kept, and answered 200 so
            // the provider does not send it again and again.
            let detail = format!("the body could not be read: {err}");
            tracing::warn!(channel = id, kind = %kind, %detail, "webhook delivery kept aside");
            state.metrics.count_webhook(kind, "unreadable");
            state
                .store
                .record_webhook_problem(id, WebhookProblem::Unsupported, &detail, body)
                .await?;
            return Ok(());
        }
    };

    let mut not_taken = Vec::new();
    for event in events {
        if let Err(err) = take_event(state, &channel, event, &mut not_taken).await {
            state.metrics.count_webhook(kind, "failed");
            if kind != Channel::Telegram {
                // Nothing of this event was stored: the provider's retry is safe (stored
                // messages are recognised) and is what gets it stored.
                return Err(err);
            }
            // Telegram resends an update it got no 200 for before sending any newer
            // one, so one update we cannot take would hold up the chat for good: it is
            // recorded instead, with the body, for a person to look at.
            let detail = format!("taking it failed: {err:?}");
            state
                .store
                .record_webhook_problem(id, WebhookProblem::Failed, &detail, body)
                .await?;
        }
    }
    if !not_taken.is_empty() {
        let detail = not_taken.join("; ");
        tracing::info!(channel = id, kind = %kind, %detail, "parts of a delivery not taken");
        state
            .store
            .record_webhook_problem(id, WebhookProblem::Unsupported, &detail, body)
            .await?;
    }
    state.metrics.count_webhook(kind, "taken");
    Ok(())
}

fn verify(
    channel: &ConnectedChannel,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), frontdesk_channels::VerifyError> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let secret = channel.config.delivery_secret();
    match channel.kind {
        Channel::Telegram => frontdesk_channels::verify_secret_token(
            secret,
            header("x-telegram-bot-api-secret-token"),
        ),
        Channel::Email => {
            frontdesk_channels::verify_secret_token(secret, header("x-frontdesk-token"))
        }
        Channel::Whatsapp | Channel::Messenger | Channel::Instagram | Channel::Widget => {
            frontdesk_channels::verify_hub_signature(secret, body, header("x-hub-signature-256"))
        }
    }
}

async fn take_event(
    state: &AppState,
    channel: &ConnectedChannel,
    event: InboundEvent,
    not_taken: &mut Vec<String>,
) -> Result<(), ApiError> {
    match event {
        InboundEvent::Message(message) => take_message(state, channel, message, not_taken).await,
        InboundEvent::Edited {
            provider_message_id,
            text,
            edited_at,
            ..
        } => {
            let edited = state
                .store
                .edit_inbound(channel.id, &provider_message_id, &text, edited_at)
                .await?;
            match edited {
                Some(message) => state.events.message(&message).await,
                None => not_taken.push(format!("an edit of unknown message {provider_message_id}")),
            }
            Ok(())
        }
        InboundEvent::Status {
            provider_message_id,
            receipt,
            error,
            ..
        } => {
            let updated = state
                .store
                .record_receipt(channel.id, &provider_message_id, receipt, error.as_deref())
                .await?;
            match updated {
                Some(message) => state.events.message(&message).await,
                // A status for a message we do not know (sent before this channel was
                // connected, or by another system on the same number) changes nothing.
                None => tracing::debug!(
                    channel = channel.id,
                    %provider_message_id,
                    "status for a message we did not send"
                ),
            }
            Ok(())
        }
        InboundEvent::Watermark {
            conversation_key,
            provider_message_ids,
            watermark,
            receipt,
        } => {
            for provider_id in &provider_message_ids {
                if let Some(message) = state
                    .store
                    .record_receipt(channel.id, provider_id, receipt, None)
                    .await?
                {
                    state.events.message(&message).await;
                }
            }
            if watermark > 0 {
                let updated = state
                    .store
                    .record_receipts_up_to(channel.id, &conversation_key, watermark, receipt)
                    .await?;
                for message in &updated {
                    state.events.message(message).await;
                }
            }
            Ok(())
        }
        InboundEvent::Echo {
            provider_message_id,
        } => {
            // Our own page's message coming back: never a customer's, never answered.
            tracing::debug!(channel = channel.id, %provider_message_id, "echo of our message");
            Ok(())
        }
        InboundEvent::Unsupported { what } => {
            not_taken.push(what);
            Ok(())
        }
    }
}

async fn take_message(
    state: &AppState,
    channel: &ConnectedChannel,
    mut message: InboundMessage,
    not_taken: &mut Vec<String>,
) -> Result<(), ApiError> {
    // One Meta app may serve several numbers through one webhook: a message to another
    // of them is not this channel's to store or answer from this number.
    if let ChannelConfig::Whatsapp {
        phone_number_id, ..
    } = &channel.config
    {
        let ours = format!("{phone_number_id}:");
        if !message.conversation_key.starts_with(&ours) {
            not_taken.push(format!(
                "a message to another business number ({})",
                message.conversation_key
            ));
            return Ok(());
        }
    }
    if let Some(callback_id) = message.provider_message_id.strip_prefix("callback:") {
        acknowledge_callback(state, channel, callback_id);
    }
    // A choice without a title (a postback, a callback) still says what was chosen.
    if message.text.trim().is_empty() {
        if let Some(choice) = &message.interaction {
            message.text = choice
                .title
                .clone()
                .unwrap_or_else(|| choice.payload.clone());
        }
    }
    let record = InboundRecord {
        channel_id: channel.id,
        channel: channel.kind,
        conversation_key: message.conversation_key,
        reply_to: message.reply_to,
        sender_name: message.sender_name,
        text: message.text,
        attachments: message.attachments,
        provider_message_id: message.provider_message_id,
        sent_at: message.provider_timestamp,
        new_token: crate::routes::new_conversation_token(),
        contact_key: None,
        subject: None,
        original_text: None,
        subject_key: None,
        automated: None,
        files: Vec::new(),
    };
    match state.store.store_inbound(&record).await? {
        Inbound::Duplicate => {
            state.metrics.count_webhook(channel.kind, "duplicate");
            tracing::debug!(
                channel = channel.id,
                provider_message_id = %record.provider_message_id,
                "a message delivered again was recognised"
            );
        }
        Inbound::New {
            conversation,
            message,
        } => {
            state.events.message(&message).await;
            tracing::info!(
                channel = channel.id,
                conversation = conversation.id,
                message = message.id,
                "customer message stored"
            );
            // A photo or a sticker alone gives the assistant nothing to answer; the team
            // sees it in the inbox. In a Telegram group (negative chat ids) members talk
            // among themselves: an answer to every line would be noise, so the team
            // decides there. (`Store::unanswered_channel_messages` leaves the same out of
            // the start-up sweep.)
            let group_chat =
                channel.kind == Channel::Telegram && record.conversation_key.starts_with('-');
            if !message.text.trim().is_empty() && !group_chat {
                answer_stored(state, *message);
            }
        }
    }
    Ok(())
}

/// Mail that names no earlier message joins the sender's thread with the same subject
/// only when that thread changed this recently; older, it starts a new conversation.
const SUBJECT_THREAD_WINDOW_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// Takes one raw RFC 5322 message posted by a mail-forwarding service: the channel's
/// webhook secret must come with it. The message joins the sender's thread that its
/// In-Reply-To or References name (one of their messages or one of our replies), else the
/// sender's thread with the same subject, else starts one: two senders' mail never meets
/// in one conversation, since replies go to the conversation's customer. Automated mail
/// is stored and shown, never answered.
pub(crate) async fn take_email(
    state: &AppState,
    id: i64,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), ApiError> {
    let channel = channel_for_route(state, Channel::Email, id).await?;
    verify(&channel, headers, body).map_err(|err| {
        tracing::warn!(channel = id, %err, "email delivery refused");
        state.metrics.count_webhook(Channel::Email, "refused");
        ApiError::WebhookRefused(err.to_string())
    })?;
    store_mail(state, id, body).await?;
    Ok(())
}

/// Why mail that came back to the channel is its own: sent from the channel's address,
/// or one of our replies (our Message-IDs are `frontdesk.<message id>@…`), as when a
/// mailbox's own outgoing mail lands in it. Answering it would answer ourselves, round
/// and round.
async fn own_mail(
    state: &AppState,
    id: i64,
    email: &frontdesk_channels::email::InboundEmail,
) -> Option<String> {
    let ours_by_id = email
        .message_id
        .as_deref()
        .is_some_and(|message_id| message_id.starts_with("frontdesk."));
    if ours_by_id {
        return Some("one of our own replies came back".into());
    }
    // The channel was found a moment ago by whoever passed the mail on.
    let channel = state.channels.get(&state.store, id).await.ok()??;
    let ChannelConfig::Email { address, .. } = &channel.config else {
        return None;
    };
    let from_us = email.from_address.eq_ignore_ascii_case(address.trim());
    from_us.then(|| format!("sent from this channel's own address, {address}"))
}

/// What became of one raw mail message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MailOutcome {
    /// Stored as a new message (and answered, unless it is automated).
    Taken,
    /// The same message was stored before.
    Duplicate,
    /// Not a mail message; kept aside as a webhook problem.
    Unreadable,
}

/// Stores one raw RFC 5322 message that came to the email channel `id`, however it came
/// (posted by a forwarding service, or read from the mailbox), threads it and has the
/// assistant answer it.
pub(crate) async fn store_mail(
    state: &AppState,
    id: i64,
    body: &[u8],
) -> Result<MailOutcome, StoreError> {
    let mut email = match frontdesk_channels::email::parse_email(body) {
        Ok(email) => email,
        Err(err) => {
            let detail = format!("the body is not a mail message: {err}");
            tracing::warn!(channel = id, %detail, "email delivery kept aside");
            state.metrics.count_webhook(Channel::Email, "unreadable");
            state
                .store
                .record_webhook_problem(id, WebhookProblem::Unsupported, &detail, body)
                .await?;
            return Ok(MailOutcome::Unreadable);
        }
    };

    let automated = match email.automated.clone() {
        Some(why) => Some(why),
        None => own_mail(state, id, &email).await,
    };
    let sender = email.from_address.clone();
    let subject_key = frontdesk_channels::email::normalized_subject(&email.subject);
    // The parent first, then the chain from its newest end.
    let mut named: Vec<String> = email.in_reply_to.clone();
    named.extend(email.references.iter().rev().cloned());
    let thread = match state.store.email_thread(id, &sender, &named).await? {
        Some(thread) => Some(thread),
        None => {
            state
                .store
                .email_thread_by_subject(id, &sender, &subject_key, SUBJECT_THREAD_WINDOW_MS)
                .await?
        }
    };
    // A message without a Message-ID is recognised on redelivery by its bytes.
    let provider_message_id = email.message_id.clone().unwrap_or_else(|| {
        use sha2::Digest as _;
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(body)))
    });
    // Shortcoming: a Message-ID is unique per channel, not per sender, so mail from a
    // second sender reusing an id already stored is taken as a redelivery and dropped
    // (logged below). Keying on sender and id would lift it; threading looks ids up by
    // sender already.
    let conversation_key = thread.unwrap_or_else(|| format!("thread:{provider_message_id}"));
    let (attachments, files) = kept_attachments(std::mem::take(&mut email.attachments));
    let record = InboundRecord {
        channel_id: id,
        channel: Channel::Email,
        conversation_key,
        reply_to: sender.clone(),
        sender_name: email.from_name.clone(),
        text: email.text.clone(),
        attachments,
        provider_message_id,
        sent_at: email
            .date
            .unwrap_or_else(|| jiff::Timestamp::now().as_millisecond()),
        new_token: crate::routes::new_conversation_token(),
        contact_key: Some(sender),
        subject: Some(email.subject.clone()),
        original_text: (email.full_text.trim() != email.text.trim()).then_some(email.full_text),
        subject_key: Some(subject_key),
        automated: automated.clone(),
        files,
    };
    match state.store.store_inbound(&record).await? {
        Inbound::Duplicate => {
            state.metrics.count_webhook(Channel::Email, "duplicate");
            tracing::info!(
                channel = id,
                sender = %record.reply_to,
                message_id = %record.provider_message_id,
                "mail with a Message-ID already stored was not stored again"
            );
            Ok(MailOutcome::Duplicate)
        }
        Inbound::New {
            conversation,
            message,
        } => {
            state.events.message(&message).await;
            state.metrics.count_webhook(Channel::Email, "taken");
            match &automated {
                Some(why) => tracing::info!(
                    channel = id,
                    conversation = conversation.id,
                    reason = %why,
                    "automated mail stored; the assistant does not answer it"
                ),
                None => {
                    tracing::info!(
                        channel = id,
                        conversation = conversation.id,
                        message = message.id,
                        "customer email stored"
                    );
                    answer_stored(state, *message);
                }
            }
            Ok(MailOutcome::Taken)
        }
    }
}

/// The largest email attachment whose bytes are kept; a larger one is listed only.
pub(crate) const MAX_KEPT_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;

/// An email's attachments as the inbox lists them, and the bytes of each one small
/// enough to keep, which the team opens through `GET /api/v1/messages/{id}/attachments/{n}`.
/// The bytes are moved, not copied: a message may carry 25 MiB of them.
fn kept_attachments(
    attachments: Vec<frontdesk_channels::email::EmailAttachment>,
) -> (Vec<Attachment>, Vec<AttachmentFile>) {
    let mut listed = Vec::with_capacity(attachments.len());
    let mut files = Vec::new();
    for (position, attachment) in attachments.into_iter().enumerate() {
        let mut entry = mail_attachment(&attachment);
        let position = u32::try_from(position).unwrap_or(u32::MAX);
        if attachment.data.len() <= MAX_KEPT_ATTACHMENT_BYTES {
            use sha2::Digest as _;
            entry.sha256 = Some(hex::encode(sha2::Sha256::digest(&attachment.data)));
            entry.kept = true;
            files.push(AttachmentFile {
                position,
                content_type: attachment.content_type,
                file_name: entry.file_name.clone(),
                bytes: attachment.data,
            });
        }
        listed.push(entry);
    }
    (listed, files)
}

/// The longest file name kept, in characters; longer ones keep their end (the extension).
const LONGEST_FILE_NAME: usize = 200;

/// A file name as the customer gave it, less what only serves to mislead: direction
/// controls (`invoice\u{202e}fdp.exe` shows as "invoiceexe.pdf"), other control
/// characters, and path separators; and no longer than [`LONGEST_FILE_NAME`].
fn plain_file_name(name: &str) -> String {
    let misleading = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    let kept: Vec<char> = name
        .chars()
        .filter(|c| !misleading(*c))
        .map(|c| if c == '/' || c == '\\' { '_' } else { c })
        .collect();
    let start = kept.len().saturating_sub(LONGEST_FILE_NAME);
    kept[start..].iter().collect()
}

/// An email attachment as the inbox lists it: name, type, size and content id.
fn mail_attachment(attachment: &frontdesk_channels::email::EmailAttachment) -> Attachment {
    let kind = match attachment
        .content_type
        .split('/')
        .next()
        .unwrap_or_default()
    {
        "image" => AttachmentKind::Image,
        "audio" => AttachmentKind::Audio,
        "video" => AttachmentKind::Video,
        _ => AttachmentKind::Document,
    };
    Attachment {
        kind,
        media_id: attachment.content_id.clone(),
        url: None,
        mime_type: Some(attachment.content_type.clone()),
        sha256: None,
        file_name: attachment.file_name.as_deref().map(plain_file_name),
        size_bytes: Some(attachment.size_bytes),
        location: None,
        kept: false,
    }
}

/// How far back the start-up sweep looks for channel messages left unanswered.
const UNANSWERED_WINDOW_MS: i64 = 60 * 60 * 1000;

/// Answers the channel messages that were stored but not answered: the process stopped
/// between a webhook's 200 and the assistant's reply, or the message came while the
/// knowledge was still loading. Runs once, as soon as the assistant is ready; older
/// messages are left to the team, for whom a late automatic answer would be a surprise.
pub(crate) async fn answer_what_was_left(state: AppState, stop: CancellationToken) {
    while state.engine().is_none() {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
    let since = jiff::Timestamp::now().as_millisecond() - UNANSWERED_WINDOW_MS;
    match state.store.unanswered_channel_messages(since).await {
        Ok(left) => {
            if !left.is_empty() {
                tracing::info!(
                    messages = left.len(),
                    "answering channel messages left unanswered"
                );
            }
            for message in left {
                answer_stored(&state, message);
            }
        }
        Err(err) => tracing::warn!(%err, "cannot look for unanswered channel messages"),
    }
}

/// Tells Telegram a pressed button was received, in the background: the acknowledgement
/// only stops the button's spinner, so a failure is logged and not retried.
fn acknowledge_callback(state: &AppState, channel: &ConnectedChannel, callback_id: &str) {
    let Some(request) =
        frontdesk_channels::send::acknowledge_callback(&channel.config, callback_id)
    else {
        return;
    };
    let timeout = state.settings.outbox.send_timeout;
    let channel_name = channel.name.clone();
    state.tasks.spawn(async move {
        let client = match reqwest::Client::builder().timeout(timeout).build() {
            Ok(client) => client,
            Err(err) => {
                tracing::warn!(%err, "cannot set up the HTTP client for a button acknowledgement");
                return;
            }
        };
        if let Err(err) = frontdesk_channels::send(&client, &request).await {
            tracing::warn!(channel = %channel_name, %err, "a pressed button was not acknowledged");
        }
    });
}

/// Sends the outbox's due replies until `stop`, waking when a reply is queued on this
/// instance and polling for those queued elsewhere or due for a retry.
pub(crate) async fn deliver_replies(state: AppState, stop: CancellationToken) {
    let settings = state.settings.outbox.clone();
    let client = match reqwest::Client::builder()
        .timeout(settings.send_timeout)
        .connect_timeout(settings.send_timeout.min(Duration::from_secs(5)))
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            tracing::error!(%err, "cannot set up the HTTP client: replies to channels stay queued");
            return;
        }
    };
    match state.store.take_over_interrupted_sends().await {
        Ok(0) => {}
        Ok(taken) => tracing::info!(
            replies = taken,
            "sending again what a stopped server was sending"
        ),
        Err(err) => tracing::warn!(%err, "interrupted sends wait for their leases to run out"),
    }
    // A claim is held long enough for every part of the longest reply to time out once.
    let lease_ms = i64::try_from(settings.send_timeout.as_millis() * 8 + 5_000).unwrap_or(i64::MAX);
    let batch = u32::try_from(settings.concurrency * 2).unwrap_or(32);
    loop {
        let claimed = match state.store.claim_outbox(batch, lease_ms).await {
            Ok(claimed) => claimed,
            Err(err) => {
                tracing::warn!(%err, "cannot read the outbox; trying again shortly");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = state.events.outbox_queued() => {}
                _ = tokio::time::sleep(settings.poll_interval) => {}
            }
            continue;
        }
        futures_util::stream::iter(claimed)
            .for_each_concurrent(settings.concurrency, |item| {
                let state = &state;
                let client = &client;
                async move { send_reply(state, client, item).await }
            })
            .await;
        if stop.is_cancelled() {
            return;
        }
    }
}

/// Sends one reply's remaining parts and records what became of it.
async fn send_reply(state: &AppState, client: &reqwest::Client, item: OutboxItem) {
    let channel = match state.channels.get(&state.store, item.channel_id).await {
        Ok(Some(channel)) => channel,
        Ok(None) => {
            finish_failed(state, &item, "its channel is no longer connected").await;
            return;
        }
        Err(err) => {
            tracing::warn!(
                ?err,
                reply = item.message_id,
                "cannot read a reply's channel"
            );
            retry_later(
                state,
                &item,
                None,
                "its channel's settings could not be read",
            )
            .await;
            return;
        }
    };
    if item.interrupted {
        // None of these providers takes an idempotency key for a send, so a part the
        // stopped sender got through may reach the customer twice.
        tracing::warn!(
            reply = item.message_id,
            channel = %channel.name,
            part = item.parts_sent + 1,
            "a reply's sender stopped part-way; sending again from the part it was on, \
             which the customer may receive twice"
        );
    }

    if channel.kind == Channel::Email {
        send_mail_reply(state, &channel, &item).await;
        return;
    }

    let parts = frontdesk_channels::send::parts(channel.kind, &item.text);
    let last = parts.len().saturating_sub(1);
    let mut first_id = None;
    for (index, part) in parts.iter().enumerate().skip(item.parts_sent as usize) {
        let is_last = index == last;
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        let outcome = match frontdesk_channels::send::request(&channel.config, &item.reply_to, part)
        {
            Ok(request) => frontdesk_channels::send(client, &request).await,
            Err(err) => Err(err),
        };
        match outcome {
            Ok(sent) => {
                if first_id.is_none() {
                    first_id.clone_from(&sent.provider_message_id);
                }
                if is_last {
                    let part = SentPart {
                        index,
                        provider_message_id: sent.provider_message_id.as_deref(),
                    };
                    finish_sent(state, &item, Some(part), first_id.as_deref()).await;
                    return;
                }
                if let Err(err) = state
                    .store
                    .outbox_part_sent(&item, index, sent.provider_message_id.as_deref())
                    .await
                {
                    // The part is out but not recorded: the lease runs out and the next
                    // attempt sends it again, which the warning above reports.
                    tracing::error!(%err, reply = item.message_id, "a sent part was not recorded");
                    return;
                }
            }
            Err(err) => {
                not_sent(state, &item, err).await;
                return;
            }
        }
    }
    // Only a reply whose every part went out on an earlier attempt gets here.
    finish_sent(state, &item, None, first_id.as_deref()).await;
}

async fn finish_sent(
    state: &AppState,
    item: &OutboxItem,
    last_part: Option<SentPart<'_>>,
    provider_message_id: Option<&str>,
) {
    state.metrics.count_reply_delivery("sent");
    match state
        .store
        .outbox_sent(item, last_part, provider_message_id)
        .await
    {
        Ok(Some(message)) => state.events.message(&message).await,
        Ok(None) => {}
        Err(err) => tracing::error!(%err, reply = item.message_id, "a sent reply was not recorded"),
    }
}

/// What a failed attempt leads to: another attempt later, or the reply marked failed.
async fn not_sent(state: &AppState, item: &OutboxItem, err: SendError) {
    match err {
        SendError::Retry {
            reason,
            retry_after,
        } => {
            if item.attempts >= state.settings.outbox.max_attempts {
                let reason = format!("gave up after {} attempts: {reason}", item.attempts);
                finish_failed(state, item, &reason).await;
            } else {
                retry_later(state, item, retry_after, &reason).await;
            }
        }
        SendError::OutsideWindow => {
            let reason = "WhatsApp only delivers free-form replies within 24 hours of the \
                          customer's last message; outside it, only approved template \
                          messages can be sent";
            finish_failed(state, item, reason).await;
        }
        SendError::Refused { reason } | SendError::Unsupported(reason) => {
            finish_failed(state, item, &reason).await;
        }
    }
}

/// How many earlier messages of a thread a reply's References names: enough for any
/// client to thread it, short enough for any server's header limits.
const MAX_REFERENCES: usize = 20;

/// Sends an email reply through the channel's SMTP server, threaded on the customer's
/// latest message. Its Message-ID is derived from the reply's id, so a retry after an
/// interrupted attempt sends the same id and the customer's server can drop the copy.
async fn send_mail_reply(state: &AppState, channel: &ConnectedChannel, item: &OutboxItem) {
    let ChannelConfig::Email {
        address, smtp_url, ..
    } = &channel.config
    else {
        finish_failed(
            state,
            item,
            "the channel's settings are not an email channel's",
        )
        .await;
        return;
    };
    let Some(smtp_url) = smtp_url else {
        let reason = "the email channel has no SMTP server to send through (--smtp-url)";
        finish_failed(state, item, reason).await;
        return;
    };
    let thread = match state
        .store
        .messages(item.conversation_id, None, Readers::Customer)
        .await
    {
        Ok(thread) => thread,
        Err(err) => {
            retry_later(
                state,
                item,
                None,
                &format!("the thread could not be read: {err}"),
            )
            .await;
            return;
        }
    };
    // Ids a mail client knows: the customer's Message-IDs and our earlier replies'.
    let known_ids: Vec<&str> = thread
        .iter()
        .filter(|message| message.id != item.message_id)
        .filter_map(|message| message.provider_message_id.as_deref())
        .filter(|id| !id.starts_with("sha256:"))
        .collect();
    let latest_from_customer = thread.iter().rev().find(|message| {
        message.author == frontdesk_core::Author::Customer && message.provider_message_id.is_some()
    });
    let subject = latest_from_customer
        .and_then(|message| message.subject.as_deref())
        .unwrap_or_default();
    let in_reply_to = latest_from_customer
        .and_then(|message| message.provider_message_id.clone())
        .filter(|id| !id.starts_with("sha256:"));
    let start = known_ids.len().saturating_sub(MAX_REFERENCES);
    let domain = address.rsplit('@').next().unwrap_or("frontdesk.invalid");
    let message_id = format!("frontdesk.{}@{domain}", item.message_id);
    let reply = frontdesk_channels::smtp::MailReply {
        from: address.clone(),
        from_name: None,
        to: item.reply_to.clone(),
        subject: frontdesk_channels::smtp::reply_subject(subject),
        text: item.text.clone(),
        message_id: message_id.clone(),
        in_reply_to,
        references: known_ids[start..].iter().map(|id| id.to_string()).collect(),
    };
    let timeout = state.settings.outbox.send_timeout;
    match frontdesk_channels::smtp::send_mail(smtp_url, &reply, timeout).await {
        Ok(()) => {
            let part = SentPart {
                index: 0,
                provider_message_id: Some(&message_id),
            };
            finish_sent(state, item, Some(part), Some(&message_id)).await;
        }
        Err(err) => not_sent(state, item, err).await,
    }
}

async fn retry_later(
    state: &AppState,
    item: &OutboxItem,
    provider_wait: Option<Duration>,
    reason: &str,
) {
    let wait = match provider_wait {
        Some(wait) => wait.min(LONGEST_PROVIDER_WAIT),
        None => backoff(&state.settings.outbox, item.attempts),
    };
    let at = jiff::Timestamp::now().as_millisecond()
        + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
    tracing::info!(
        reply = item.message_id,
        attempt = item.attempts,
        wait_ms = wait.as_millis() as u64,
        %reason,
        "a reply will be sent again"
    );
    state.metrics.count_reply_delivery("retried");
    if let Err(err) = state.store.outbox_retry_at(item, at, reason).await {
        tracing::error!(%err, reply = item.message_id, "a reply's retry was not recorded");
    }
}

async fn finish_failed(state: &AppState, item: &OutboxItem, reason: &str) {
    tracing::warn!(reply = item.message_id, %reason, "a reply could not be delivered");
    state.metrics.count_reply_delivery("failed");
    match state.store.outbox_failed(item, reason).await {
        Ok(Some(message)) => state.events.message(&message).await,
        Ok(None) => {}
        Err(err) => {
            tracing::error!(%err, reply = item.message_id, "a failed reply was not recorded")
        }
    }
}

/// The wait before attempt `attempts + 1`: doubling from the first wait, capped, and
/// spread over its upper half at random so that replies failed together do not all come
/// back together.
fn backoff(settings: &OutboxSettings, attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(30);
    let full = settings
        .first_retry
        .saturating_mul(1 << doublings)
        .min(settings.longest_retry);
    let half = full / 2;
    half + full.mul_f64(rand::random::<f64>() * 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_what_only_misleads() {
        assert_eq!(plain_file_name("invoice\u{202e}fdp.exe"), "invoicefdp.exe");
        assert_eq!(plain_file_name("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(plain_file_name("a\r\nb.txt"), "ab.txt");
        assert_eq!(plain_file_name("ticket été 😀.pdf"), "ticket été 😀.pdf");
        let long = format!("{}.pdf", "x".repeat(5000));
        let kept = plain_file_name(&long);
        assert_eq!(kept.chars().count(), LONGEST_FILE_NAME);
        assert!(kept.ends_with(".pdf"));
    }

    #[test]
    fn waits_double_up_to_the_longest_with_jitter() {
        let settings = OutboxSettings {
            first_retry: Duration::from_secs(2),
            longest_retry: Duration::from_secs(60),
            ..OutboxSettings::default()
        };
        for _ in 0..50 {
            let first = backoff(&settings, 1);
            assert!(first >= Duration::from_secs(1) && first <= Duration::from_secs(2));
            let third = backoff(&settings, 3);
            assert!(third >= Duration::from_secs(4) && third <= Duration::from_secs(8));
            let late = backoff(&settings, 40);
            assert!(late >= Duration::from_secs(30) && late <= Duration::from_secs(60));
        }
    }
}

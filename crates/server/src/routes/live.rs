//! The widget's live connection: a WebSocket per open chat panel, on which the server
//! pushes the conversation's public messages and status changes as they happen.
//!
//! Frames from the server: `{"type":"message","message":{…}}`,
//! `{"type":"status","status":"assigned"}`, `{"type":"draft","text":"…"}` (a generated
//! answer so far, until its `message` arrives) and `{"type":"error","error":"…"}`. The one
//! frame a client sends is `{"type":"resume","after":ID}`, after which it gets every
//! public message stored after ID, then the current status. Customers still send their
//! messages with `POST …/messages`: a plain request that either stored the message or
//! failed is easier to make durable than a frame on a socket that may be half-dead.
//!
//! No gap between catch-up and live: the socket subscribes to the events before it reads
//! anything from the store, and remembers which message ids it has sent, so a message
//! both read and heard is sent once. A client may therefore see a live message before
//! older ones from a catch-up it asked for; it orders them by id.

use std::collections::HashSet;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message as Frame, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use frontdesk_core::{ConversationStatus, Message, Visibility};
use frontdesk_store::Readers;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;
use tokio::time::{interval_at, Instant, MissedTickBehavior};

use super::widget::{find, CustomerMessage};
use crate::error::ApiError;
use crate::events::Event;
use crate::AppState;

/// How often the server pings: often enough that proxies with a one-minute idle
/// timeout keep the connection open.
const PING_EVERY: Duration = Duration::from_secs(25);
/// A client silent (not even a pong) for this long is gone: its socket is closed rather
/// than held.
const SILENT_LIMIT: Duration = Duration::from_secs(70);
/// Client frames are a few dozen bytes; anything much larger is not a widget.
const MAX_CLIENT_FRAME: usize = 4 * 1024;
/// The socket's read buffer. The library's default, 128 KiB, is filled with zeros on the
/// first read, so every open socket would keep 128 KiB resident: 640 MB for 5,000 open
/// chat panels. Client frames fit in this one; a larger frame grows it for the read.
const READ_BUFFER: usize = MAX_CLIENT_FRAME;
/// WebSocket close code 1001: the server is going away (shutting down).
const GOING_AWAY: u16 = 1001;
/// WebSocket close code 1002: the client broke the protocol (or sent a frame too large).
const PROTOCOL_ERROR: u16 = 1002;
/// A close frame's reason fits in 123 bytes.
const CLOSE_REASON_BYTES: usize = 123;

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ServerFrame<'a> {
    Message {
        message: CustomerMessage,
    },
    Status {
        status: ConversationStatus,
    },
    /// An answer being generated, as far as it has been released: shown until the
    /// stored reply (a `message` frame) replaces it.
    Draft {
        text: &'a str,
    },
    Error {
        error: &'a str,
    },
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ClientFrame {
    Resume { after: Option<i64> },
}

/// `GET /api/v1/widget/conversations/{token}/live`. The token is checked before the
/// upgrade, so an unknown one gets a plain 404 rather than a socket that closes at once.
pub(super) async fn live(
    State(state): State<AppState>,
    Path(token): Path<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let conversation = find(&state, &token).await?;
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::bad_request(format!(
            "this route takes a WebSocket connection: {}",
            rejection.body_text()
        ))
    })?;
    let live = Live {
        conversation_id: conversation.id,
        status: conversation.status,
        sent: HashSet::new(),
    };
    // Subscribed before the handshake is answered, so that the socket hears everything
    // published once the client holds it (the socket itself starts a moment later).
    let events = state.events.subscribe();
    Ok(upgrade
        .read_buffer_size(READ_BUFFER)
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        .on_upgrade(move |socket| run(state, socket, live, events)))
}

/// What one socket knows of its conversation.
struct Live {
    conversation_id: i64,
    /// The status the client was last told of (or found the conversation in).
    status: ConversationStatus,
    /// Ids of the messages sent on this socket, so that none is sent twice.
    sent: HashSet<i64>,
}

/// The socket ended: the client left, or it can no longer be written to.
struct Closed;

async fn run(state: AppState, mut socket: WebSocket, mut live: Live, mut events: Receiver<Event>) {
    let _counted = state.metrics.open_socket();
    let mut ping = interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut heard_at = Instant::now();
    tracing::debug!(conversation = live.conversation_id, "widget socket opened");

    loop {
        let step = tokio::select! {
            () = state.shutdown.cancelled() => {
                let _ = socket
                    .send(Frame::Close(Some(CloseFrame {
                        code: GOING_AWAY,
                        reason: Utf8Bytes::from_static("the server is restarting"),
                    })))
                    .await;
                break;
            }
            received = socket.recv() => match received {
                Some(Ok(frame)) => {
                    heard_at = Instant::now();
                    from_client(&state, &mut socket, &mut live, frame).await
                }
                // A read error (an oversized or malformed frame, a reset) ends the socket;
                // the client is told why in a close frame, if it is still there to hear.
                Some(Err(err)) => {
                    tracing::debug!(%err, conversation = live.conversation_id, "unreadable frame");
                    let reason = close_reason(&format!("the frame could not be read: {err}"));
                    let close = CloseFrame {
                        code: PROTOCOL_ERROR,
                        reason: reason.into(),
                    };
                    let _ = socket.send(Frame::Close(Some(close))).await;
                    Err(Closed)
                }
                None => Err(Closed),
            },
            event = events.recv() => on_event(&state, &mut socket, &mut live, &mut events, event)
                .await,
            _ = ping.tick() => {
                if heard_at.elapsed() > SILENT_LIMIT {
                    Err(Closed)
                } else {
                    socket.send(Frame::Ping(Default::default())).await.map_err(|_| Closed)
                }
            }
        };
        if step.is_err() {
            break;
        }
    }
    tracing::debug!(conversation = live.conversation_id, "widget socket closed");
}

async fn from_client(
    state: &AppState,
    socket: &mut WebSocket,
    live: &mut Live,
    frame: Frame,
) -> Result<(), Closed> {
    match frame {
        Frame::Text(text) => match serde_json::from_str::<ClientFrame>(text.as_str()) {
            Ok(ClientFrame::Resume { after }) => catch_up(state, socket, live, after).await,
            Err(err) => {
                let error = format!(
                    "a frame must be JSON such as {{\"type\":\"resume\",\"after\":12}}: {err}"
                );
                send(socket, &ServerFrame::Error { error: &error }).await
            }
        },
        Frame::Binary(_) => {
            let error = "binary frames are not understood; send JSON text";
            send(socket, &ServerFrame::Error { error }).await
        }
        Frame::Close(_) => Err(Closed),
        // Pongs only show the client is alive; axum answers pings itself.
        Frame::Ping(_) | Frame::Pong(_) => Ok(()),
    }
}

async fn on_event(
    state: &AppState,
    socket: &mut WebSocket,
    live: &mut Live,
    events: &mut Receiver<Event>,
    event: Result<Event, RecvError>,
) -> Result<(), Closed> {
    match event {
        Ok(Event::Message { message }) if message.conversation_id == live.conversation_id => {
            send_message(socket, live, &message).await
        }
        Ok(Event::Conversation { conversation }) if conversation.id == live.conversation_id => {
            send_status(socket, live, conversation.status, false).await
        }
        Ok(Event::Draft {
            conversation_id,
            text,
        }) if conversation_id == live.conversation_id => {
            send(socket, &ServerFrame::Draft { text: &text }).await
        }
        // Events from another instance may have been lost: what was missed is in the store.
        Ok(Event::Missed) => catch_up(state, socket, live, None).await,
        Ok(_) => Ok(()),
        // Fell behind the broadcast: what was missed is in the store.
        Err(RecvError::Lagged(_)) => {
            *events = events.resubscribe();
            catch_up(state, socket, live, None).await
        }
        Err(RecvError::Closed) => Err(Closed),
    }
}

/// Sends every public message after `after` not sent yet, then the current status.
async fn catch_up(
    state: &AppState,
    socket: &mut WebSocket,
    live: &mut Live,
    after: Option<i64>,
) -> Result<(), Closed> {
    let read = async {
        let messages = state
            .store
            .messages(live.conversation_id, after, Readers::Customer)
            .await?;
        let conversation = state.store.conversation(live.conversation_id).await?;
        Ok::<_, frontdesk_store::StoreError>((messages, conversation))
    };
    let (messages, conversation) = match read.await {
        Ok(read) => read,
        Err(err) => {
            tracing::error!(%err, conversation = live.conversation_id, "catch-up failed");
            let error = "the history could not be read; fetch it with GET …/messages?after=ID";
            return send(socket, &ServerFrame::Error { error }).await;
        }
    };
    for message in &messages {
        send_message(socket, live, message).await?;
    }
    match conversation {
        Some(conversation) => send_status(socket, live, conversation.status, true).await,
        None => Err(Closed),
    }
}

/// Sends `message` unless it is private to the team or was sent already.
async fn send_message(
    socket: &mut WebSocket,
    live: &mut Live,
    message: &Message,
) -> Result<(), Closed> {
    if message.visibility != Visibility::Public || !live.sent.insert(message.id) {
        return Ok(());
    }
    let message = CustomerMessage::from(message);
    send(socket, &ServerFrame::Message { message }).await
}

/// Sends the status when it changed, or always when `even_if_same` (a catch-up tells
/// the client where things stand, whatever it last heard).
async fn send_status(
    socket: &mut WebSocket,
    live: &mut Live,
    status: ConversationStatus,
    even_if_same: bool,
) -> Result<(), Closed> {
    if status == live.status && !even_if_same {
        return Ok(());
    }
    live.status = status;
    send(socket, &ServerFrame::Status { status }).await
}

/// `text` cut to what a close frame can carry, at a character boundary.
fn close_reason(text: &str) -> String {
    let mut end = text.len().min(CLOSE_REASON_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

async fn send(socket: &mut WebSocket, frame: &ServerFrame<'_>) -> Result<(), Closed> {
    let json = match serde_json::to_string(frame) {
        Ok(json) => json,
        Err(err) => {
            tracing::error!(%err, "a widget frame cannot be written as JSON");
            return Ok(());
        }
    };
    socket
        .send(Frame::Text(json.into()))
        .await
        .map_err(|_| Closed)
}

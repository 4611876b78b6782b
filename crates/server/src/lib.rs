//! Frontdesk's HTTP server: health and metrics for operators, the stateless answer
//! endpoint for integrations, and the website widget's conversations.
//!
//! A [`Server`] is built from a [`Store`], [`ServerSettings`] and, once it is loaded, the
//! answer [`Engine`]. [`Server::serve`] runs it on a listener until a shutdown future
//! completes, then finishes the requests in flight.
//!
//! What the widget side promises (see `conversation.rs`):
//!
//! - a customer message is stored before anything acknowledges it;
//! - the turns of one conversation run one after the other, never two at once;
//! - once the assistant hands off, it stays silent until a person hands back.

mod access;
pub mod analytics;
pub mod auth;
mod channels;
mod connections;
mod conversation;
mod error;
mod events;
mod extract;
pub mod hours;
mod learning;
mod limits;
mod mailbox;
pub mod maturity;
mod metrics;
mod origin;
mod phrasing;
mod routes;

use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::Router;
use frontdesk_generate::{GenerationSettings, Generator};
use frontdesk_knowledge::Engine;
use frontdesk_store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use crate::channels::OutboxSettings;
use crate::connections::Connections;
use crate::conversation::TurnLocks;
use crate::events::Events;
pub use crate::hours::{BusinessHours, HandoffSettings};
pub use crate::learning::Trainer;
use crate::limits::Limiters;
pub use crate::limits::RateLimits;
pub use crate::mailbox::MailboxSettings;
use crate::metrics::Metrics;

/// The largest request body accepted unless the settings say otherwise: a chat message
/// of a few paragraphs fits with room to spare.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024;

/// How long a client has to send a request's line and headers unless the settings say
/// otherwise: far more than any real client over a slow mobile link needs, and short
/// enough that a client trickling bytes cannot hold connections for long.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections open at once, open WebSockets included, unless the settings say otherwise.
/// Each takes a file descriptor: the process's open-files limit must be above it.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// What the server is told at start-up.
#[derive(Clone)]
pub struct ServerSettings {
    /// When set, `POST /api/v1/answer` requires `Authorization: Bearer <token>`.
    pub api_token: Option<String>,
    /// Larger request bodies are refused with 413.
    pub max_body_bytes: usize,
    /// The address customers reach this server at, as they see it (behind a proxy it
    /// differs from the listen address).
    pub public_url: Option<String>,
    /// Requests per minute the public side accepts before answering 429.
    pub rate_limits: RateLimits,
    /// The websites (`https://shop.example`) whose pages may use the widget's routes;
    /// empty allows any, which suits trying it out locally.
    pub allowed_origins: Vec<String>,
    /// What a customer handed to a person is told about the wait.
    pub handoff: HandoffSettings,
    /// Reverse proxies whose `X-Forwarded-For` names the client for the rate limits.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// A connection that has not delivered a whole request line and headers this long
    /// after it opened, or after its previous response, is closed (this also ends idle
    /// kept-alive connections).
    pub header_read_timeout: Duration,
    /// Connections open at once, WebSockets included; further ones wait to be accepted
    /// until one closes.
    pub max_connections: usize,
    /// When set, answers are phrased by this model from the retrieved sources.
    pub generation: Option<GenerationSettings>,
    /// How replies to connected channels are sent and retried.
    pub outbox: OutboxSettings,
    /// How email channels' IMAP mailboxes are read.
    pub mailbox: MailboxSettings,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            api_token: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            public_url: None,
            rate_limits: RateLimits::default(),
            allowed_origins: Vec::new(),
            handoff: HandoffSettings::default(),
            trusted_proxies: Vec::new(),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            generation: None,
            outbox: OutboxSettings::default(),
            mailbox: MailboxSettings::default(),
        }
    }
}

// Written by hand so that the token can never reach a log through `{:?}`.
impl std::fmt::Debug for ServerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSettings")
            .field("api_token", &self.api_token.as_ref().map(|_| "<set>"))
            .field("max_body_bytes", &self.max_body_bytes)
            .field("public_url", &self.public_url)
            .field("rate_limits", &self.rate_limits)
            .field("allowed_origins", &self.allowed_origins)
            .field("handoff", &self.handoff)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_connections", &self.max_connections)
            .field("generation", &self.generation)
            .field("outbox", &self.outbox)
            .field("mailbox", &self.mailbox)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("the server settings are not usable: {0}")]
    Settings(String),
    #[error("cannot set up the metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// The HTTP server. Cloning is cheap; clones share everything.
#[derive(Clone)]
pub struct Server {
    state: AppState,
}

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

pub(crate) struct Shared {
    pub store: Store,
    pub settings: ServerSettings,
    pub metrics: Metrics,
    pub turns: TurnLocks,
    /// Conversation turns run as tasks of their own; shutdown waits for them.
    pub tasks: TaskTracker,
    /// What the team's live inbox hears about.
    pub events: Events,
    pub limiters: Limiters,
    /// Cancelled when shutdown begins, so that endless responses (event streams) end
    /// and let their connections close.
    pub shutdown: CancellationToken,
    /// Empty until the knowledge is loaded; replaced whole when it is rebuilt.
    engine: RwLock<Option<Arc<Engine>>>,
    /// Retraining on the team's feedback.
    pub learning: learning::Learning,
    /// Phrases answers when the owner has set a model.
    pub generator: Option<Generator>,
    /// Connected channels' settings, read once each.
    pub(crate) channels: channels::ChannelCache,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub(crate) fn engine(&self) -> Option<Arc<Engine>> {
        self.engine
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_engine(&self, engine: Arc<Engine>) {
        *self.engine.write().unwrap_or_else(PoisonError::into_inner) = Some(engine);
    }

    /// Sets `engine` unless one is already there; returns whether it was set.
    fn set_engine_if_none(&self, engine: Arc<Engine>) -> bool {
        let mut slot = self.engine.write().unwrap_or_else(PoisonError::into_inner);
        if slot.is_some() {
            return false;
        }
        *slot = Some(engine);
        true
    }
}

impl Server {
    pub fn new(store: Store, mut settings: ServerSettings) -> Result<Server, ServerError> {
        if settings.max_body_bytes == 0 {
            return Err(ServerError::Settings(
                "the largest request body must be at least one byte".to_string(),
            ));
        }
        if settings.header_read_timeout.is_zero() {
            return Err(ServerError::Settings(
                "the header read timeout must be longer than zero".to_string(),
            ));
        }
        if settings.max_connections == 0 || settings.max_connections > MAX_CONNECTIONS_CEILING {
            return Err(ServerError::Settings(format!(
                "the connection cap must be between 1 and {MAX_CONNECTIONS_CEILING}"
            )));
        }
        if let Some(url) = &settings.public_url {
            check_public_url(url)?;
        }
        let limiters = Limiters::new(settings.rate_limits);
        settings.allowed_origins = settings
            .allowed_origins
            .iter()
            .map(|allowed| origin::normalize(allowed))
            .collect::<Result<_, _>>()
            .map_err(ServerError::Settings)?;
        let generator = match &settings.generation {
            Some(generation) => Some(
                Generator::new(generation.clone())
                    .map_err(|err| ServerError::Settings(err.to_string()))?,
            ),
            None => None,
        };
        let learning = learning::Learning::default();
        let shared = Shared {
            events: Events::new(store.clone(), learning.wanted()),
            store,
            settings,
            metrics: Metrics::new()?,
            turns: TurnLocks::default(),
            tasks: TaskTracker::new(),
            limiters,
            shutdown: CancellationToken::new(),
            engine: RwLock::new(None),
            learning,
            generator,
            channels: channels::ChannelCache::default(),
        };
        Ok(Server {
            state: AppState(Arc::new(shared)),
        })
    }

    /// Puts `engine` in charge of every answer from now on; requests already deciding
    /// finish with the one they started with.
    pub fn set_engine(&self, engine: Arc<Engine>) {
        self.state.set_engine(engine);
    }

    /// Puts the engine loaded at start-up in charge, unless a retrain finished while it
    /// loaded: that one was built from newer knowledge and stays. Returns whether `engine`
    /// was put in charge.
    pub fn set_first_engine(&self, engine: Arc<Engine>) -> bool {
        self.state.set_engine_if_none(engine)
    }

    /// Lets the server retrain the assistant on the team's feedback, in the background,
    /// without a restart. Without a trainer, feedback is stored and learned at the next
    /// start or `frontdesk retrain`.
    pub fn set_trainer(&self, trainer: Trainer) {
        self.state.learning.set_trainer(trainer);
    }

    /// Every route, with tracing, metrics, the body limit and panic recovery.
    pub fn router(&self) -> Router {
        // Layers wrap what is above them: the last one added runs first.
        routes::routes(&self.state)
            .layer(axum::middleware::from_fn_with_state(
                self.state.clone(),
                origin::widget_origins,
            ))
            .layer(DefaultBodyLimit::max(self.state.settings.max_body_bytes))
            .layer(CatchPanicLayer::custom(error::panic_response))
            .layer(axum::middleware::from_fn_with_state(
                self.state.clone(),
                metrics::track,
            ))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_span)
                    .on_response(()),
            )
            .with_state(self.state.clone())
    }

    /// Serves on `listener` until `shutdown` completes, then stops accepting and waits
    /// for the requests in flight (and the conversation turns they started) to finish.
    ///
    /// While serving, it hears the events of the other instances on the same database
    /// and passes them to this instance's live streams.
    ///
    /// While serving, connections slow to send their headers are closed and at most
    /// `max_connections` are open at once (see `connections.rs`).
    pub async fn serve<F>(&self, listener: TcpListener, shutdown: F) -> Result<(), ServerError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let settings = &self.state.settings;
        if settings.public_url.is_none() {
            tracing::info!(
                "no public address set (server.public_url): customers on channels other than \
                 the widget are not sent a rating link when their conversation is resolved"
            );
        }
        let connections = Connections::new(settings.header_read_timeout, settings.max_connections);
        let sweeper = tokio::spawn(sweep_limits(self.state.clone()));
        let trainer = tokio::spawn(learning::retrain_when_asked(self.state.clone()));
        let stop_outbox = CancellationToken::new();
        let outbox = tokio::spawn(channels::deliver_replies(
            self.state.clone(),
            stop_outbox.clone(),
        ));
        let mailboxes = tokio::spawn(mailbox::read_mailboxes(
            self.state.clone(),
            stop_outbox.clone(),
        ));
        let leftovers = tokio::spawn(channels::answer_what_was_left(
            self.state.clone(),
            stop_outbox.clone(),
        ));
        // Other instances' events are heard from before the first request is accepted, so
        // that a stream opened here hears everything published after it opened.
        let stop_relay = CancellationToken::new();
        let (ready, relay_ready) = tokio::sync::oneshot::channel();
        let relay = tokio::spawn({
            let state = self.state.clone();
            let stop = stop_relay.clone();
            async move { state.events.relay(stop, ready).await }
        });
        let _ = relay_ready.await;
        connections
            .accept_until(listener, self.router(), shutdown)
            .await;
        // Endless responses (event streams, WebSockets) end now, so that their
        // connections can close.
        self.state.shutdown.cancel();
        // In-flight requests get SHUTDOWN_GRACE; a client that stalls half-way through a
        // request must not keep the process alive for ever.
        if !connections.drain(SHUTDOWN_GRACE).await {
            tracing::warn!(
                grace_s = SHUTDOWN_GRACE.as_secs(),
                "requests still in flight after the grace period; closing their connections"
            );
            connections.abort().await;
        }
        // A turn whose customer disconnected has no request left to wait for, but its
        // reply must still be stored before the process goes.
        self.state.tasks.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.state.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("conversation turns still running after the grace period");
        }
        sweeper.abort();
        trainer.abort();
        // A send in flight finishes or times out; what is left stays queued for the next
        // start.
        stop_outbox.cancel();
        leftovers.abort();
        if tokio::time::timeout(SHUTDOWN_GRACE, mailboxes)
            .await
            .is_err()
        {
            tracing::warn!("mailboxes were still being read after the grace period");
        }
        if tokio::time::timeout(SHUTDOWN_GRACE, outbox).await.is_err() {
            tracing::warn!("replies were still being sent after the grace period");
        }
        stop_relay.cancel();
        if let Err(err) = relay.await {
            tracing::error!(%err, "the task relaying other instances' events failed");
        }
        Ok(())
    }
}

/// How long requests and conversation turns in flight may take to finish after the
/// shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The most connections a cap may allow: tokio's semaphore counts no further.
const MAX_CONNECTIONS_CEILING: usize = tokio::sync::Semaphore::MAX_PERMITS;

async fn sweep_limits(state: AppState) {
    let mut every = tokio::time::interval(limits::SWEEP_EVERY);
    loop {
        every.tick().await;
        state.limiters.sweep();
    }
}

/// One span per request, named by its route template: the raw path would put widget
/// tokens (secrets) into the logs and make every conversation its own label.
fn request_span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(metrics::UNMATCHED_ROUTE, MatchedPath::as_str);
    tracing::info_span!("request", method = %request.method(), route)
}

fn check_public_url(url: &str) -> Result<(), ServerError> {
    let parsed: axum::http::Uri = url.parse().map_err(|err| {
        ServerError::Settings(format!("the public URL {url:?} is not a URL: {err}"))
    })?;
    let scheme_ok = matches!(parsed.scheme_str(), Some("http" | "https"));
    if !scheme_ok || parsed.authority().is_none() {
        return Err(ServerError::Settings(format!(
            "the public URL {url:?} must start with http:// or https:// and name a host"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_must_be_absolute_http() {
        assert!(check_public_url("https://help.shop.example").is_ok());
        assert!(check_public_url("http://127.0.0.1:8080/").is_ok());
        assert!(check_public_url("help.shop.example").is_err());
        assert!(check_public_url("ftp://help.shop.example").is_err());
    }

    #[test]
    fn settings_never_print_the_token() {
        let settings = ServerSettings {
            api_token: Some("hunter2".to_string()),
            ..ServerSettings::default()
        };
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}

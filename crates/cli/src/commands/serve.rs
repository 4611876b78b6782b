//! `frontdesk serve`: the HTTP server, until Ctrl-C or SIGTERM.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use frontdesk_knowledge::EngineSettings;
use frontdesk_server::{RateLimits, Server, ServerSettings, Trainer};
use frontdesk_store::Store;
use tokio::net::TcpListener;

use crate::config::ServerConfig;
use crate::workspace::Workspace;

/// The server's settings from the command line and environment; each one left unset is
/// taken from the settings file's `[server]` table, else its default (`frontdesk config
/// default` lists them).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on [default: 127.0.0.1:8080]. Loopback by default: put a
    /// reverse proxy in front, or name a public address on purpose.
    #[arg(long, env = "FRONTDESK_LISTEN")]
    listen: Option<String>,

    /// The address customers reach this server at (for example https://help.shop.example),
    /// when it differs from the listen address.
    #[arg(long, env = "FRONTDESK_PUBLIC_URL")]
    public_url: Option<String>,

    /// Require `Authorization: Bearer TOKEN` on the answer endpoint.
    #[arg(long, env = "FRONTDESK_API_TOKEN", hide_env_values = true)]
    api_token: Option<String>,

    /// Largest request body accepted, in bytes; larger ones get 413 [default: 4096].
    #[arg(long, env = "FRONTDESK_MAX_BODY_BYTES")]
    max_body_bytes: Option<usize>,

    /// Widget requests per minute from one client address before 429 (a burst of as
    /// many is allowed) [default: 120].
    #[arg(long, env = "FRONTDESK_WIDGET_REQUESTS_PER_MINUTE")]
    widget_requests_per_minute: Option<NonZeroU32>,

    /// Customer messages per minute in one conversation before 429 [default: 20].
    #[arg(long, env = "FRONTDESK_MESSAGES_PER_MINUTE")]
    messages_per_minute: Option<NonZeroU32>,

    /// A website (for example https://shop.example) whose pages may use the chat widget;
    /// repeat for several. None given: any website may.
    #[arg(
        long = "allowed-origin",
        value_name = "ORIGIN",
        env = "FRONTDESK_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    allowed_origins: Vec<String>,

    /// A reverse proxy (its IP address) whose X-Forwarded-For header names the client
    /// for the rate limits; repeat for several. None given: the TCP peer is the client.
    #[arg(
        long = "trusted-proxy",
        value_name = "IP",
        env = "FRONTDESK_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<IpAddr>,
    /// How long a client may take to send a request's headers (for example 10s) before its
    /// connection is closed; an idle kept-alive connection is closed after as long
    /// [default: 10s].
    #[arg(long, env = "FRONTDESK_HEADER_READ_TIMEOUT")]
    header_read_timeout: Option<humantime::Duration>,

    /// Connections open at once, WebSockets included; more wait to be accepted. Keep the
    /// open-files limit (`ulimit -n`) above it [default: 10000].
    #[arg(long, env = "FRONTDESK_MAX_CONNECTIONS")]
    max_connections: Option<usize>,

    /// Answer with the FAQ's own text even when a language model is set
    /// (`[generation]` in the settings file, or FRONTDESK_LLM_BASE_URL).
    #[arg(long)]
    no_generate: bool,
}

pub async fn run(workspace: &Workspace, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let args = args.over(&workspace.config().server);
    args.check()?;
    let store = workspace.open_store().await?;
    let settings = workspace.engine_settings(None)?;
    serve_until_stopped(workspace, store, args, settings, |_| {
        std::future::ready(Ok(()))
    })
    .await
}

/// The server's settings once the command line, the environment, the settings file and
/// the defaults have each had their say.
pub struct ServeSettings {
    listen: String,
    public_url: Option<String>,
    api_token: Option<String>,
    max_body_bytes: usize,
    widget_requests_per_minute: NonZeroU32,
    messages_per_minute: NonZeroU32,
    allowed_origins: Vec<String>,
    trusted_proxies: Vec<IpAddr>,
    header_read_timeout: std::time::Duration,
    max_connections: usize,
    no_generate: bool,
}

impl ServeArgs {
    /// Each setting from the command line or environment when given, else from `file`
    /// (which holds the defaults for what the settings file leaves out).
    pub fn over(self, file: &ServerConfig) -> ServeSettings {
        ServeSettings {
            listen: self.listen.unwrap_or_else(|| file.listen.clone()),
            public_url: self.public_url.or_else(|| file.public_url.clone()),
            api_token: self.api_token.or_else(|| file.api_token.clone()),
            max_body_bytes: self.max_body_bytes.unwrap_or(file.max_body_bytes),
            widget_requests_per_minute: self
                .widget_requests_per_minute
                .unwrap_or(file.widget_requests_per_minute),
            messages_per_minute: self.messages_per_minute.unwrap_or(file.messages_per_minute),
            // An empty list is what clap gives when neither flag nor variable is set.
            allowed_origins: match self.allowed_origins.is_empty() {
                true => file.allowed_origins.clone(),
                false => self.allowed_origins,
            },
            trusted_proxies: match self.trusted_proxies.is_empty() {
                true => file.trusted_proxies.clone(),
                false => self.trusted_proxies,
            },
            header_read_timeout: self
                .header_read_timeout
                .map_or(file.header_read_timeout.0, Into::into),
            max_connections: self.max_connections.unwrap_or(file.max_connections),
            no_generate: self.no_generate,
        }
    }
}

impl ServeSettings {
    /// Refuses settings that would start a server other than the one asked for; done before
    /// anything is opened or written.
    pub fn check(&self) -> anyhow::Result<()> {
        // An empty token would quietly leave the endpoint open to anyone: refuse it.
        if self
            .api_token
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            anyhow::bail!(
                "the API token (--api-token, FRONTDESK_API_TOKEN or server.api_token in the \
                 settings file) is set but empty; unset it to serve without a token"
            );
        }
        Ok(())
    }
}

/// Listens, loads the knowledge, runs `on_listening` with the bound address and the public
/// URL (when one is set) once the assistant can answer, then serves until Ctrl-C or
/// SIGTERM. `args` must have passed [`ServeSettings::check`].
///
/// The server accepts connections while the knowledge loads, which can take minutes when
/// the index is rebuilt with the sentence model: `/healthz` answers, `/readyz` says
/// `"engine": "loading"` with a 503, and customers' messages get a 503 until it is done.
/// A supervisor probing the server so sees it alive instead of refusing connections.
pub async fn serve_until_stopped<F, Fut>(
    workspace: &Workspace,
    store: Store,
    args: ServeSettings,
    engine_settings: EngineSettings,
    on_listening: F,
) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Listening) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let trainer = Trainer::new(Some(workspace.index_dir()), engine_settings.clone());
    let settings = ServerSettings {
        api_token: args.api_token,
        max_body_bytes: args.max_body_bytes,
        public_url: args.public_url,
        rate_limits: RateLimits {
            widget_requests_per_address: args.widget_requests_per_minute,
            messages_per_conversation: args.messages_per_minute,
        },
        allowed_origins: args.allowed_origins,
        handoff: workspace.config().handoff.settings()?,
        trusted_proxies: args.trusted_proxies,
        header_read_timeout: args.header_read_timeout,
        max_connections: args.max_connections,
        generation: workspace.generation_settings(args.no_generate)?,
        outbox: frontdesk_server::OutboxSettings::default(),
        mailbox: frontdesk_server::MailboxSettings::default(),
    };
    if let Some(generation) = &settings.generation {
        tracing::info!(
            base_url = generation.base_url,
            model = generation.model,
            "answers are phrased by a language model; the FAQ's own text goes when it fails"
        );
    }
    let public_url = settings.public_url.clone();
    let token_required = settings.api_token.is_some();
    let server = Server::new(store.clone(), settings)?;
    // Set before the knowledge loads, so that feedback given meanwhile is learned by a
    // retrain rather than lost.
    server.set_trainer(trainer);

    // Listened for before the address is announced: a SIGTERM sent the moment a
    // supervisor sees the server up must stop it gracefully, not kill it.
    let shutdown = shutdown_signal();
    let listener = TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(
        %address,
        public_url = public_url.as_deref().unwrap_or("(not set)"),
        backend = store.backend(),
        token_required,
        "listening"
    );
    let serving = tokio::spawn({
        let server = server.clone();
        async move { server.serve(listener, shutdown).await }
    });

    // The knowledge loads on this thread (a rebuild keeps it busy) while the runtime's
    // workers serve. A server that cannot load it stops with the reason.
    //
    // Known shortcoming: a SIGTERM that arrives during a start-up rebuild stops the
    // accepting at once but the process only when the build ends, because the build
    // never looks for a cancellation; a flag it checked between its steps would lift it.
    let loading_started = std::time::Instant::now();
    let engine = match workspace.engine(&store, engine_settings).await {
        Ok(engine) => engine,
        Err(err) => {
            serving.abort();
            return Err(err);
        }
    };
    if !server.set_first_engine(Arc::new(engine)) {
        tracing::info!("a retrain finished while the knowledge loaded; keeping its result");
    }
    tracing::info!(
        elapsed_ms = loading_started.elapsed().as_millis() as u64,
        "assistant ready to answer"
    );
    on_listening(Listening {
        address,
        public_url,
    })
    .await?;
    serving.await.context("the server stopped unexpectedly")??;
    store.close().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Where a started server can be reached.
pub struct Listening {
    /// The address the listener is bound to (the real port when port 0 was asked for).
    pub address: SocketAddr,
    pub public_url: Option<String>,
}

impl Listening {
    /// The base URL to show people: the public URL when set, else the bound address, with
    /// a listener on every interface shown as loopback (a browser cannot open 0.0.0.0).
    pub fn base_url(&self) -> String {
        if let Some(url) = &self.public_url {
            return url.trim_end_matches('/').to_string();
        }
        let mut address = self.address;
        if address.ip().is_unspecified() {
            let loopback: IpAddr = match address {
                SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
            };
            address.set_ip(loopback);
        }
        format!("http://{address}")
    }
}

/// Completes on Ctrl-C or, on Unix, SIGTERM (what service managers and containers send).
/// The signals are taken over when this is called, not when the future is first polled.
fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let (interrupt, terminate) = signals;
            let wait = |stream: std::io::Result<tokio::signal::unix::Signal>,
                        name: &'static str| {
                async move {
                    match stream {
                        Ok(mut stream) => {
                            stream.recv().await;
                        }
                        Err(err) => {
                            tracing::warn!(%err, signal = name, "cannot listen for the signal");
                            std::future::pending::<()>().await;
                        }
                    }
                }
            };
            tokio::select! {
                () = wait(interrupt, "SIGINT") => {}
                () = wait(terminate, "SIGTERM") => {}
            }
        }
        #[cfg(not(unix))]
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down: finishing the requests in flight");
    }
}

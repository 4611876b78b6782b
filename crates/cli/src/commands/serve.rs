//! `frontdesk serve`: the HTTP server, until Ctrl-C or SIGTERM.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use frontdesk_knowledge::EngineSettings;
use frontdesk_server::{
    RateLimits, Server, ServerSettings, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONNECTIONS,
};
use frontdesk_store::Store;
use tokio::net::TcpListener;

use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on. Loopback by default: put a reverse proxy in front,
    /// or name a public address on purpose.
    #[arg(long, env = "FRONTDESK_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,

    /// The address customers reach this server at (for example https://help.shop.example),
    /// when it differs from the listen address.
    #[arg(long, env = "FRONTDESK_PUBLIC_URL")]
    public_url: Option<String>,

    /// Require `Authorization: Bearer TOKEN` on the answer endpoint.
    #[arg(long, env = "FRONTDESK_API_TOKEN", hide_env_values = true)]
    api_token: Option<String>,

    /// Largest request body accepted, in bytes; larger ones get 413.
    #[arg(long, env = "FRONTDESK_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,

    /// Widget requests per minute from one client address before 429 (a burst of as
    /// many is allowed).
    #[arg(long, env = "FRONTDESK_WIDGET_REQUESTS_PER_MINUTE",
          default_value_t = RateLimits::default().widget_requests_per_address)]
    widget_requests_per_minute: NonZeroU32,

    /// Customer messages per minute in one conversation before 429.
    #[arg(long, env = "FRONTDESK_MESSAGES_PER_MINUTE",
          default_value_t = RateLimits::default().messages_per_conversation)]
    messages_per_minute: NonZeroU32,

    /// A website (for example https://shop.example) whose pages may use the chat widget;
    /// repeat for several. None given: any website may.
    #[arg(
        long = "allowed-origin",
        value_name = "ORIGIN",
        env = "FRONTDESK_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    allowed_origins: Vec<String>,

    /// How long a client may take to send a request's headers (for example 10s) before its
    /// connection is closed; an idle kept-alive connection is closed after as long.
    #[arg(long, env = "FRONTDESK_HEADER_READ_TIMEOUT",
          default_value_t = humantime::Duration::from(DEFAULT_HEADER_READ_TIMEOUT))]
    header_read_timeout: humantime::Duration,

    /// Connections open at once, WebSockets included; more wait to be accepted. Keep the
    /// open-files limit (`ulimit -n`) above it.
    #[arg(long, env = "FRONTDESK_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
}

pub async fn run(workspace: &Workspace, args: ServeArgs) -> anyhow::Result<ExitCode> {
    args.check()?;
    let store = workspace.open_store().await?;
    let settings = workspace.engine_settings(None)?;
    serve_until_stopped(workspace, store, args, settings, |_| {
        std::future::ready(Ok(()))
    })
    .await
}

impl ServeArgs {
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
                "the API token (--api-token or FRONTDESK_API_TOKEN) is set but empty; \
                 unset it to serve without a token"
            );
        }
        Ok(())
    }
}

/// Loads the knowledge, listens, runs `on_listening` with the bound address and the public
/// URL (when one is set), then serves until Ctrl-C or SIGTERM. `args` must have passed
/// [`ServeArgs::check`].
pub async fn serve_until_stopped<F, Fut>(
    workspace: &Workspace,
    store: Store,
    args: ServeArgs,
    engine_settings: EngineSettings,
    on_listening: F,
) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Listening) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let engine = workspace.engine(&store, engine_settings).await?;
    let settings = ServerSettings {
        api_token: args.api_token,
        max_body_bytes: args.max_body_bytes,
        public_url: args.public_url,
        rate_limits: RateLimits {
            widget_requests_per_address: args.widget_requests_per_minute,
            messages_per_conversation: args.messages_per_minute,
        },
        allowed_origins: args.allowed_origins,
        header_read_timeout: args.header_read_timeout.into(),
        max_connections: args.max_connections,
    };
    let public_url = settings.public_url.clone();
    let token_required = settings.api_token.is_some();
    let server = Server::new(store.clone(), settings)?;
    server.set_engine(Arc::new(engine));

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
    on_listening(Listening {
        address,
        public_url,
    })
    .await?;
    server.serve(listener, shutdown_signal()).await?;
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
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing the requests in flight");
}

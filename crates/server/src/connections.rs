//! Accepting TCP connections and serving HTTP/1 on them, with the two protections a
//! public server needs against clients that hold connections without using them:
//!
//! - a header read timeout: a client that has not sent a whole request line and headers
//!   within it (a slowloris trickling bytes, or a kept-alive connection left idle) is
//!   disconnected;
//! - a cap on connections open at once. A WebSocket keeps its place under the cap for as
//!   long as it is open, since it holds its socket long after its HTTP request ended.
//!   At the cap, new connections wait in the kernel's listen backlog until one closes,
//!   rather than being accepted and then failing for want of file descriptors.
//!
//! Shutdown is in two steps: [`Connections::drain`] asks every connection to finish the
//! request it is serving and close, [`Connections::abort`] closes those still open.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

/// After an accept error other than a failed handshake (out of file descriptors, most
/// likely), wait this long before accepting again instead of spinning on the error.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// The connections a server has open, and the means to close them.
pub(crate) struct Connections {
    http: http1::Builder,
    places: Arc<Semaphore>,
    tasks: TaskTracker,
    drain: CancellationToken,
    abort: CancellationToken,
}

impl Connections {
    pub(crate) fn new(header_read_timeout: Duration, max_connections: usize) -> Connections {
        let mut http = http1::Builder::new();
        // The timer is what makes hyper enforce the header read timeout at all.
        http.timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout);
        Connections {
            http,
            places: Arc::new(Semaphore::new(max_connections)),
            tasks: TaskTracker::new(),
            drain: CancellationToken::new(),
            abort: CancellationToken::new(),
        }
    }

    /// Accepts connections on `listener` and serves `router` on each until `shutdown`
    /// completes; then the listener is closed. Connections already open are left
    /// running: see [`Connections::drain`].
    pub(crate) async fn accept_until<F>(&self, listener: TcpListener, router: Router, shutdown: F)
    where
        F: Future<Output = ()>,
    {
        // The peer's address is what the public side's rate limits are keyed on.
        let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
        let mut shutdown = pin!(shutdown);
        loop {
            // Shutdown first: a steady stream of connections must not keep it waiting.
            let place = tokio::select! {
                biased;
                () = &mut shutdown => break,
                place = self.places.clone().acquire_owned() => match place {
                    Ok(place) => place,
                    // The semaphore is never closed; were it, nothing more could be served.
                    Err(_) => break,
                },
            };
            let (stream, peer) = tokio::select! {
                biased;
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        accept_failed(&err).await;
                        continue;
                    }
                },
            };
            self.serve(&mut make_service, stream, peer, place).await;
        }
    }

    async fn serve(
        &self,
        make_service: &mut IntoMakeServiceWithConnectInfo<Router, SocketAddr>,
        stream: TcpStream,
        peer: SocketAddr,
        place: OwnedSemaphorePermit,
    ) {
        let service = match make_service.call(peer).await {
            Ok(service) => TowerToHyperService::new(service),
            Err(never) => match never {},
        };
        let io = TokioIo::new(Counted {
            stream,
            _place: place,
        });
        let connection = self.http.serve_connection(io, service).with_upgrades();
        let drain = self.drain.clone();
        let abort = self.abort.clone();
        self.tasks.spawn(async move {
            let mut connection = pin!(connection);
            let mut draining = false;
            loop {
                tokio::select! {
                    served = connection.as_mut() => {
                        // Timeouts, resets and malformed requests: the client's doing.
                        if let Err(err) = served {
                            tracing::debug!(%err, "connection ended with an error");
                        }
                        break;
                    }
                    () = drain.cancelled(), if !draining => {
                        draining = true;
                        connection.as_mut().graceful_shutdown();
                    }
                    () = abort.cancelled() => break,
                }
            }
        });
    }

    /// Asks every open connection to finish the request in flight and close; waits up to
    /// `grace` for them. Returns whether they all closed.
    pub(crate) async fn drain(&self, grace: Duration) -> bool {
        self.drain.cancel();
        self.tasks.close();
        tokio::time::timeout(grace, self.tasks.wait()).await.is_ok()
    }

    /// Closes every connection still open.
    pub(crate) async fn abort(&self) {
        self.abort.cancel();
        self.tasks.wait().await;
    }
}

async fn accept_failed(err: &io::Error) {
    // A peer that reset or gave up during the handshake: nothing wrong on this side.
    let handshake = matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    );
    if !handshake {
        tracing::error!(%err, "cannot accept a connection; is the open-files limit too low?");
        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
    }
}

/// A connection's socket with its place under the connection cap, given back when the
/// socket is dropped: for a WebSocket that is when the socket closes, not when the
/// request that opened it was answered.
struct Counted {
    stream: TcpStream,
    _place: OwnedSemaphorePermit,
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

//! Rate limits on the public side: per client address on the widget's routes, per
//! conversation on customer messages, and per address and per account on inbox
//! sign-ins.
//!
//! A refused request gets 429 with `Retry-After`, so the widget can tell the customer
//! when to try again instead of dropping what they wrote. The counters live in this
//! process (GCRA buckets from `governor`), so each server instance limits on its own.
//!
//! The client address is the TCP peer, unless the peer is one of the reverse proxies the
//! settings name: then it is the nearest address in `X-Forwarded-For` that is not one of
//! them. A header from anyone else is ignored, so a client cannot pick its own bucket.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::ApiError;
use crate::AppState;

/// Sign-in attempts allowed per address and minute: plenty for a person mistyping,
/// too few for guessing passwords.
const SIGN_INS_PER_MINUTE: NonZeroU32 = NonZeroU32::new(10).unwrap();
/// A page that reloads a few times and a customer typing fast stay well inside these.
const WIDGET_REQUESTS_PER_ADDRESS: NonZeroU32 = NonZeroU32::new(120).unwrap();
const MESSAGES_PER_CONVERSATION: NonZeroU32 = NonZeroU32::new(20).unwrap();

/// How often idle buckets are dropped, so that a stream of new addresses cannot grow
/// the tables for ever.
pub(crate) const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The public side's limits, per minute. Each also allows a burst of that many at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Widget requests (opening, writing, reading, live connections) from one address.
    pub widget_requests_per_address: NonZeroU32,
    /// Customer messages in one conversation.
    pub messages_per_conversation: NonZeroU32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            widget_requests_per_address: WIDGET_REQUESTS_PER_ADDRESS,
            messages_per_conversation: MESSAGES_PER_CONVERSATION,
        }
    }
}

pub(crate) struct Limiters {
    widget_by_address: DefaultKeyedRateLimiter<IpAddr>,
    messages_by_conversation: DefaultKeyedRateLimiter<i64>,
    sign_ins_by_address: DefaultKeyedRateLimiter<IpAddr>,
    /// Failed sign-ins per account, whatever address they come from.
    pub(crate) sign_in_failures: AccountLockout,
    clock: DefaultClock,
}

/// Failed sign-ins before an account is locked, and how long each one counts.
const FAILED_SIGN_INS_BEFORE_LOCK: usize = 5;
const FAILED_SIGN_IN_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Locks an account against sign-in after repeated wrong passwords, from any address:
/// the per-address limit alone lets an attacker with many addresses keep guessing. Any
/// email is tracked, known or not, so a lock tells nobody whether the account exists.
///
/// Kept in this process's memory: each instance counts its own failures, and a restart
/// forgets them. Counting in the store would hold the lock across instances.
pub(crate) struct AccountLockout {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl AccountLockout {
    pub(crate) fn new(max_failures: usize, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// 429 while `email` has failed too often within the window.
    pub(crate) fn check(&self, email: &str) -> Result<(), ApiError> {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(times) = failures.get_mut(email) else {
            return Ok(());
        };
        let now = Instant::now();
        times.retain(|at| now.duration_since(*at) < self.window);
        if times.len() < self.max_failures {
            return Ok(());
        }
        // Open again once the oldest failure that still counts has aged out.
        let oldest = times[times.len() - self.max_failures];
        Err(too_many(
            self.window.saturating_sub(now.duration_since(oldest)),
        ))
    }

    pub(crate) fn failed(&self, email: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let times = failures.entry(email.to_string()).or_default();
        times.push_back(Instant::now());
        // Only the latest few matter.
        while times.len() > self.max_failures {
            times.pop_front();
        }
    }

    pub(crate) fn succeeded(&self, email: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        failures.remove(email);
    }

    /// Forgets accounts whose failures no longer count.
    fn sweep(&self) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        failures.retain(|_, times| {
            times
                .back()
                .is_some_and(|latest| now.duration_since(*latest) < self.window)
        });
    }
}

impl Limiters {
    pub(crate) fn new(limits: RateLimits) -> Self {
        Limiters {
            widget_by_address: per_minute(limits.widget_requests_per_address),
            messages_by_conversation: per_minute(limits.messages_per_conversation),
            sign_ins_by_address: per_minute(SIGN_INS_PER_MINUTE),
            sign_in_failures: AccountLockout::new(
                FAILED_SIGN_INS_BEFORE_LOCK,
                FAILED_SIGN_IN_WINDOW,
            ),
            clock: DefaultClock::default(),
        }
    }

    /// One more customer message in `conversation_id`, or 429.
    pub(crate) fn message_in(&self, conversation_id: i64) -> Result<(), ApiError> {
        self.messages_by_conversation
            .check_key(&conversation_id)
            .map_err(|wait| too_many(wait.wait_time_from(self.clock.now())))
    }

    /// Forgets buckets that are full again: they would allow a burst anyway.
    pub(crate) fn sweep(&self) {
        self.widget_by_address.retain_recent();
        self.messages_by_conversation.retain_recent();
        self.sign_ins_by_address.retain_recent();
        self.sign_in_failures.sweep();
    }

    fn check_address(
        &self,
        limiter: &DefaultKeyedRateLimiter<IpAddr>,
        request: &Request,
        trusted_proxies: &[IpAddr],
    ) -> Result<(), ApiError> {
        // Without the peer's address (a router served without connect info) there is
        // nothing to key on; every server Frontdesk starts records it.
        let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() else {
            return Ok(());
        };
        let client = client_address(peer.ip(), request.headers(), trusted_proxies);
        limiter
            .check_key(&client)
            .map_err(|wait| too_many(wait.wait_time_from(self.clock.now())))
    }
}

/// The address a request came from: the peer's, or behind trusted proxies the nearest
/// forwarded address that is not one of them. Each proxy appends the address it heard
/// from, so the list is read from its end; entries before the first untrusted address
/// were written by the client and prove nothing.
pub(crate) fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    let mut client = peer;
    for hop in forwarded.iter().rev() {
        // An unreadable entry ends the trail: what comes before it cannot be vouched for.
        let Ok(address) = hop.parse::<IpAddr>() else {
            break;
        };
        client = address;
        if !trusted.contains(&address) {
            break;
        }
    }
    client
}

const X_FORWARDED_FOR: &str = "x-forwarded-for";

fn per_minute<K: Hash + Eq + Clone>(rate: NonZeroU32) -> DefaultKeyedRateLimiter<K> {
    DefaultKeyedRateLimiter::keyed(Quota::per_minute(rate))
}

fn too_many(wait: Duration) -> ApiError {
    // Rounded up: retrying after the truncated figure would be refused again.
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    ApiError::TooManyRequests {
        retry_after_s: seconds.max(1),
    }
}

/// Which per-address limit a group of routes is under.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AddressLimit {
    Widget,
    SignIn,
    /// The answer endpoint shares the widget's allowance while it is open to anyone; a
    /// server configured with an API token trusts whoever presents it (integrations,
    /// load tests) and does not limit it.
    OpenAnswer,
}

/// Middleware: refuses a request past its address's limit. Layered with
/// `from_fn_with_state((state, limit), by_address)`.
pub(crate) async fn by_address(
    State((state, limit)): State<(AppState, AddressLimit)>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let limiters = &state.limiters;
    let limiter = match limit {
        AddressLimit::Widget => &limiters.widget_by_address,
        AddressLimit::SignIn => &limiters.sign_ins_by_address,
        AddressLimit::OpenAnswer if state.settings.api_token.is_some() => {
            return Ok(next.run(request).await)
        }
        AddressLimit::OpenAnswer => &limiters.widget_by_address,
    };
    limiters.check_address(limiter, &request, &state.settings.trusted_proxies)?;
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(X_FORWARDED_FOR, value.parse().unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_proxy_is_believed() {
        let proxy = ip("10.0.0.1");
        let headers = forwarded(&["198.51.100.7"]);
        assert_eq!(
            client_address(proxy, &headers, &[proxy]),
            ip("198.51.100.7")
        );
        assert_eq!(client_address(proxy, &headers, &[]), proxy);
        let stranger = ip("192.0.2.9");
        assert_eq!(client_address(stranger, &headers, &[proxy]), stranger);
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let (outer, inner) = (ip("10.0.0.2"), ip("10.0.0.1"));
        // The client wrote the first entry itself; the proxies appended the rest.
        let headers = forwarded(&["203.0.113.66, 198.51.100.7", "10.0.0.2"]);
        let client = client_address(inner, &headers, &[inner, outer]);
        assert_eq!(client, ip("198.51.100.7"));
        let garbled = forwarded(&["198.51.100.7, not-an-address"]);
        assert_eq!(client_address(inner, &garbled, &[inner]), inner);
    }

    #[test]
    fn an_account_locks_after_repeated_failures_and_opens_again() {
        let lockout = AccountLockout::new(3, Duration::from_millis(300));
        for _ in 0..2 {
            lockout.failed("ana@shop.example");
        }
        assert!(
            lockout.check("ana@shop.example").is_ok(),
            "two failures: still open"
        );
        lockout.failed("ana@shop.example");
        assert!(
            lockout.check("ana@shop.example").is_err(),
            "locked at three"
        );
        assert!(
            lockout.check("bo@shop.example").is_ok(),
            "others unaffected"
        );

        std::thread::sleep(Duration::from_millis(350));
        assert!(
            lockout.check("ana@shop.example").is_ok(),
            "open after the window"
        );
        lockout.failed("ana@shop.example");
        lockout.succeeded("ana@shop.example");
        lockout.failed("ana@shop.example");
        lockout.failed("ana@shop.example");
        assert!(
            lockout.check("ana@shop.example").is_ok(),
            "a success starts over"
        );
    }
}

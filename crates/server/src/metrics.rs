//! Prometheus metrics: requests by route template and status, request latency, and the
//! assistant's decisions by kind and reason. Each server has its own registry, so that
//! several servers in one process (tests) keep separate counts.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use frontdesk_core::{Decision, GenerationNote};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::AppState;

/// The route label of a request no route matched; raw paths would make a label per
/// scanner probe.
pub(crate) const UNMATCHED_ROUTE: &str = "unmatched";

/// Routes that load balancers and scrapers call every few seconds: logged at debug.
const PROBE_ROUTES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Latency buckets in seconds: decisions take well under a millisecond, so the low end
/// is fine-grained.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

pub(crate) struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    decisions: IntCounterVec,
    buying_intent: IntCounter,
    retrains: IntCounterVec,
    open_websockets: IntGauge,
    generated_answers: IntCounterVec,
    generation_tokens: IntCounterVec,
    webhook_deliveries: IntCounterVec,
    reply_deliveries: IntCounterVec,
}

/// Counts one open WebSocket for as long as it lives, however its task ends.
pub(crate) struct OpenSocket(IntGauge);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Metrics {
    pub(crate) fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("frontdesk".to_string()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from request to response headers",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route"],
        )?;
        let decisions = IntCounterVec::new(
            Opts::new("assistant_decisions_total", "Decisions the assistant made"),
            &["decision", "reason"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(decisions.clone()))?;
        let buying_intent = IntCounter::new(
            "conversations_with_buying_intent_total",
            "Conversations whose customer showed they were thinking of buying",
        )?;
        registry.register(Box::new(buying_intent.clone()))?;
        let retrains = IntCounterVec::new(
            Opts::new(
                "assistant_retrains_total",
                "Rebuilds of the assistant on the team's feedback, by outcome",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(retrains.clone()))?;
        let open_websockets =
            IntGauge::new("open_websockets", "Widget WebSocket connections open now")?;
        registry.register(Box::new(open_websockets.clone()))?;
        let generated_answers = IntCounterVec::new(
            Opts::new(
                "generated_answers_total",
                "Answers a language model was asked to phrase, by what became of them and why",
            ),
            &["outcome", "cause"],
        )?;
        registry.register(Box::new(generated_answers.clone()))?;
        let generation_tokens = IntCounterVec::new(
            Opts::new(
                "generation_tokens_total",
                "Tokens the language model read (prompt) and wrote (completion)",
            ),
            &["direction"],
        )?;
        registry.register(Box::new(generation_tokens.clone()))?;
        let webhook_deliveries = IntCounterVec::new(
            Opts::new(
                "webhook_deliveries_total",
                "Channel webhook deliveries and messages by channel and what became of them",
            ),
            &["channel", "outcome"],
        )?;
        registry.register(Box::new(webhook_deliveries.clone()))?;
        let reply_deliveries = IntCounterVec::new(
            Opts::new(
                "channel_reply_attempts_total",
                "Attempts to send replies through channels, by outcome",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(reply_deliveries.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            decisions,
            buying_intent,
            retrains,
            open_websockets,
            generated_answers,
            generation_tokens,
            webhook_deliveries,
            reply_deliveries,
        })
    }

    pub(crate) fn open_socket(&self) -> OpenSocket {
        self.open_websockets.inc();
        OpenSocket(self.open_websockets.clone())
    }

    pub(crate) fn count_decision(&self, decision: &Decision) {
        let reason = decision.reason.map_or("none", |reason| reason.as_str());
        self.decisions
            .with_label_values(&[decision.kind.as_str(), reason])
            .inc();
    }

    /// `outcome`: taken, duplicate, refused, unreadable or failed.
    pub(crate) fn count_webhook(&self, channel: frontdesk_core::Channel, outcome: &str) {
        self.webhook_deliveries
            .with_label_values(&[channel.as_str(), outcome])
            .inc();
    }

    /// `outcome`: sent, retried or failed.
    pub(crate) fn count_reply_delivery(&self, outcome: &str) {
        self.reply_deliveries.with_label_values(&[outcome]).inc();
    }

    pub(crate) fn count_retrain(&self, succeeded: bool) {
        let outcome = if succeeded { "ok" } else { "failed" };
        self.retrains.with_label_values(&[outcome]).inc();
    }

    pub(crate) fn count_generation(&self, note: &GenerationNote) {
        let cause = note.cause.as_deref().unwrap_or("none");
        self.generated_answers
            .with_label_values(&[note.outcome.as_str(), cause])
            .inc();
        self.generation_tokens
            .with_label_values(&["prompt"])
            .inc_by(u64::from(note.prompt_tokens));
        self.generation_tokens
            .with_label_values(&["completion"])
            .inc_by(u64::from(note.completion_tokens));
    }

    pub(crate) fn count_buying_intent(&self) {
        self.buying_intent.inc();
    }

    /// Everything, in Prometheus's text exposition format.
    pub(crate) fn render(&self) -> Result<String, prometheus::Error> {
        let mut text = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut text)?;
        Ok(String::from_utf8_lossy(&text).into_owned())
    }
}

/// The standard methods by name and anything else as `other`: a client can send any
/// token as a method, and each new label value would grow `/metrics` for good.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts and times every request, and logs its outcome inside the request's span.
pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method()).to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE.to_string(), |path| {
            path.as_str().to_string()
        });

    let response = next.run(request).await;

    let elapsed = started.elapsed();
    let status = response.status();
    let metrics = &state.metrics;
    metrics
        .requests
        .with_label_values(&[method.as_str(), route.as_str(), status.as_str()])
        .inc();
    metrics
        .latency
        .with_label_values(&[method.as_str(), route.as_str()])
        .observe(elapsed.as_secs_f64());
    let elapsed_us = elapsed.as_micros() as u64;
    if PROBE_ROUTES.contains(&route.as_str()) {
        tracing::debug!(status = status.as_u16(), elapsed_us, "answered");
    } else {
        tracing::info!(status = status.as_u16(), elapsed_us, "answered");
    }
    response
}

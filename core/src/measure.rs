//! What wagate counts, in one place: the names, labels and units of its Prometheus metrics.
//! Recording goes through the `metrics` facade, so it costs nothing where no recorder is
//! installed (Lambda, unit tests); `wagate local`, `wagate api` and `wagate host` install the
//! Prometheus one and serve it at `GET /metrics`.

use std::time::Duration;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

pub const HTTP_REQUESTS: &str = "wagate_http_requests_total";
pub const HTTP_DURATION: &str = "wagate_http_request_duration_seconds";
pub const JOBS_ACCEPTED: &str = "wagate_jobs_accepted_total";
pub const JOBS_FINISHED: &str = "wagate_jobs_finished_total";
pub const INBOUND: &str = "wagate_inbound_messages_total";
pub const WEBHOOKS: &str = "wagate_webhook_deliveries_total";
pub const WEBHOOK_DURATION: &str = "wagate_webhook_delivery_seconds";
pub const SESSIONS: &str = "wagate_sessions";
pub const RECONNECTS: &str = "wagate_session_disconnects_total";
pub const QUEUE_DEPTH: &str = "wagate_queue_depth";
pub const STALE: &str = "wagate_session_stale_total";
pub const WA_REFUSALS: &str = "wagate_whatsapp_refusals_total";
pub const QUEUE_AGE: &str = "wagate_queue_oldest_age_seconds";

/// Describes every metric (the `# HELP` lines); once per process, after the recorder.
pub fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by method, route template and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "HTTP request latency by method and route template"
    );
    describe_counter!(JOBS_ACCEPTED, "Jobs (sends and actions) accepted, by kind");
    describe_counter!(
        JOBS_FINISHED,
        "Job attempts by kind and outcome: sent, failed, retried"
    );
    describe_counter!(INBOUND, "Messages received by the sessions, by kind");
    describe_counter!(
        WEBHOOKS,
        "Webhook deliveries by outcome: delivered, retry, dead, dropped"
    );
    describe_histogram!(
        WEBHOOK_DURATION,
        Unit::Seconds,
        "Time to deliver one webhook (successful deliveries)"
    );
    describe_gauge!(
        SESSIONS,
        "Sessions by status, as the store shows them at scrape time"
    );
    describe_counter!(
        RECONNECTS,
        "Session connections that dropped (and were reconnected), by cause"
    );
    describe_counter!(
        WA_REFUSALS,
        "Connections WhatsApp refused or ended on purpose, by kind: temporary_ban, \
         stream_replaced, client_outdated, connect_failure, logged_out"
    );
    describe_counter!(
        STALE,
        "Open sessions the watchdog reconnected after hearing nothing from WhatsApp"
    );
    describe_gauge!(
        QUEUE_DEPTH,
        "Jobs waiting in a session's send queue, as its worker last saw it"
    );
    describe_gauge!(
        QUEUE_AGE,
        Unit::Seconds,
        "Age of the oldest job waiting in a session's send queue (0: empty)"
    );
}

/// A session's send queue as its worker saw it: `depth` when it asked (else unchanged), and
/// the age of the job at its head.
pub fn queue(session: &str, depth: Option<u64>, oldest: Duration) {
    if let Some(d) = depth {
        gauge!(QUEUE_DEPTH, "session" => session.to_owned()).set(d as f64);
    }
    gauge!(QUEUE_AGE, "session" => session.to_owned()).set(oldest.as_secs_f64());
}

/// One HTTP request answered. `route` is the route template (`/api/messages/{id}`), never the
/// path itself, so ids do not become labels.
pub fn http_request(method: &str, route: &str, status: u16, took: Duration) {
    let (method, route) = (method.to_owned(), route.to_owned());
    counter!(HTTP_REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    histogram!(HTTP_DURATION, "method" => method, "route" => route).record(took.as_secs_f64());
}

pub fn job_accepted(kind: &'static str) {
    counter!(JOBS_ACCEPTED, "kind" => kind).increment(1);
}

/// `outcome`: `sent` (done), `failed` (for good) or `retried` (a transient failure).
pub fn job_finished(kind: &'static str, outcome: &'static str) {
    counter!(JOBS_FINISHED, "kind" => kind, "outcome" => outcome).increment(1);
}

pub fn inbound(kind: &'static str) {
    counter!(INBOUND, "kind" => kind).increment(1);
}

/// `outcome`: `delivered`, `retry`, `dead` or `dropped` (no webhook configured).
pub fn webhook(outcome: &'static str, took: Option<Duration>) {
    counter!(WEBHOOKS, "outcome" => outcome).increment(1);
    if let Some(t) = took {
        histogram!(WEBHOOK_DURATION).record(t.as_secs_f64());
    }
}

pub fn sessions(status: &'static str, count: u64) {
    gauge!(SESSIONS, "status" => status).set(count as f64);
}

/// WhatsApp refused or ended a connection on purpose; `kind` is a small fixed set
/// (`temporary_ban`, `stream_replaced`, `client_outdated`, `connect_failure`, `logged_out`).
pub fn whatsapp_refusal(kind: &'static str) {
    counter!(WA_REFUSALS, "kind" => kind).increment(1);
}

/// The watchdog found an open session silent and reconnected it.
pub fn stale() {
    counter!(STALE).increment(1);
}

/// A session's connection dropped; `cause` is a small fixed set (`closed`, `stale`,
/// `logged_out`).
pub fn disconnect(cause: &'static str) {
    counter!(RECONNECTS, "cause" => cause).increment(1);
}

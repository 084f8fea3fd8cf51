//! The OpenAPI 3.1 description of the API, made from the routers themselves: every route
//! under `functions/src/routes` is registered with `utoipa_axum::routes!`, which takes its
//! path and method from the handler's `#[utoipa::path]`, so the spec lists exactly the routes
//! the server answers (only `/api/dev/*`, the simulated network's controls, and `/ui` are left
//! out on purpose). Request bodies and query strings are the handlers' own serde types;
//! answers built as JSON values have their schemas in [`schemas`], checked against the running
//! server by the fuzzing gate. This module adds what every operation shares: the `X-API-Key`
//! scheme, the error answers, the limit headers, and the webhooks.
//!
//! `GET /openapi.json` serves the spec and `GET /docs` Swagger UI (its assets built into the
//! binary from the `utoipa-swagger-ui-vendored` crate: no CDN). `docs/openapi.json` is the
//! committed copy; a test fails when it is stale (`WAGATE_BLESS=1` rewrites it).

pub mod schemas;
mod standard;
mod webhooks;

use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Spec;

pub use standard::finish;

/// The API's tags, in the order the docs page shows them.
pub const TAGS: &[(&str, &str)] = &[
    (
        "sessions",
        "WhatsApp accounts: link by QR or pairing code, status, removal",
    ),
    (
        "messages",
        "Sending: one route per message kind, multi-file uploads, job state",
    ),
    (
        "actions",
        "Reactions, edits, deletes, pins, read receipts, presence, chat changes",
    ),
    (
        "groups",
        "Groups: create, members, settings, invite links, join requests",
    ),
    ("status", "Status (stories) posts"),
    (
        "contacts",
        "Number checks, profiles, business profiles, blocking",
    ),
    (
        "queries",
        "Questions the session host answers asynchronously",
    ),
    ("media", "Uploads to the blob store and received media"),
    ("webhooks", "Per-session webhook settings"),
    (
        "admin",
        "Admin key only: keys, limits, defaults, dead letters and dead sends",
    ),
    ("health", "Liveness, readiness and metrics"),
];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "wagate",
        description = "A multi-session WhatsApp REST API. Authenticate with `X-API-Key` \
            (an admin key or a user key; a user sees only the sessions it created). \
            Sends are queued jobs: the answer is 202 with the job, or with `?wait=N` its \
            outcome. Events reach you as signed webhooks (see `webhooks`).",
        license(name = "MIT", identifier = "MIT"),
    ),
    components(schemas(schemas::ErrorBody, schemas::Job))
)]
struct Base;

/// The spec without its paths: info, tags, shared components.
pub fn base() -> Spec {
    Base::openapi()
}

#[cfg(test)]
mod tests;

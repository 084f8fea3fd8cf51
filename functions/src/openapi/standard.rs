//! What every operation shares, added after the routes are collected: the `X-API-Key`
//! security scheme (on every path but the health, docs and signed-URL ones), the error
//! answers (one component, the same shape everywhere), the `X-RateLimit-*` headers that the
//! rate limit sets on every authenticated answer, and the tags' descriptions.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, OpenApi as Spec, Ref, RefOr, ResponseBuilder, Type,
    schema::ObjectBuilder,
};

use super::TAGS;

const SCHEME: &str = "apiKey";

/// Paths anyone may call.
fn is_public(path: &str) -> bool {
    path == "/ping"
        || path.starts_with("/health")
        || path == "/openapi.json"
        || path == crate::routes::presigned::DIRECT_PATH
        || path == wagate_core::inbound_media::DOWNLOAD_PATH
}

/// The error answers an operation may give besides its own, by the routes that give them.
fn errors(path: &str) -> Vec<(&'static str, &'static str)> {
    let mut out = vec![
        ("400", "Invalid input: the message names the field"),
        ("404", "No such session, job, group or route"),
        ("413", "Body over the size limit"),
        (
            "415",
            "A JSON body without `Content-Type: application/json`",
        ),
        ("503", "The store or queue did not answer; retry"),
    ];
    if !is_public(path) {
        out.extend([
            ("401", "No or unknown `X-API-Key`"),
            (
                "403",
                "The key may not do this (a user key on an admin route)",
            ),
            (
                "429",
                "Rate limit, quota or per-recipient cooldown reached: see `Retry-After`",
            ),
            (
                "409",
                "Conflicts with the current state (the session exists, or is not open)",
            ),
            (
                "422",
                "WhatsApp refused: no such group, not an admin, an unknown invite",
            ),
        ]);
    } else {
        out.push(("403", "The signature is invalid or expired"));
    }
    out
}

fn error_response(description: &str, with_retry: bool) -> utoipa::openapi::Response {
    let mut r = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    );
    if with_retry {
        r = r.header(
            "Retry-After",
            int_header("Seconds until the limit allows a retry"),
        );
    }
    r.build()
}

fn int_header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
        .description(Some(description))
        .build()
}

/// The name of the shared error answer for `status` in `components.responses`.
fn error_name(status: &str, public: bool) -> String {
    if public && status == "403" {
        "SignatureRefused".to_owned()
    } else {
        format!("Error{status}")
    }
}

/// The headers of a limit (`X-RateLimit`, `X-Quota`) on every success answer of `op`.
fn limit_headers(op: &mut Operation, prefix: &str, unit: &str) {
    for (status, resp) in op.responses.responses.iter_mut() {
        if let RefOr::T(r) = resp
            && status.starts_with('2')
        {
            for (suffix, what) in [
                ("Limit", format!("{unit} allowed per window")),
                ("Remaining", format!("{unit} left in this window")),
                ("Reset", "Unix seconds when the window resets".to_owned()),
            ] {
                r.headers
                    .entry(format!("{prefix}-{suffix}"))
                    .or_insert_with(|| RefOr::T(int_header(&what)));
            }
        }
    }
}

/// `post`: a POST, which on a message route counts against the key's quota.
fn add_to_operation(path: &str, op: &mut Operation, post: bool) {
    for (status, _) in errors(path) {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| {
                RefOr::Ref(Ref::from_response_name(error_name(status, is_public(path))))
            });
    }
    if !is_public(path) {
        op.security = Some(vec![SecurityRequirement::new(SCHEME, Vec::<String>::new())]);
        limit_headers(op, "X-RateLimit", "Requests");
        let is_send =
            op.tags.as_ref().and_then(|t| t.first()).map(String::as_str) == Some("messages");
        if post && is_send {
            limit_headers(op, "X-Quota", "Messages");
        }
    }
}

/// Operation ids are the handlers' names; where two handlers share a name (`list` for
/// sessions, groups and message lists) the tag goes in front, and where that still collides,
/// the method and path.
fn unique_operation_ids(spec: &mut Spec) {
    let mut all: Vec<(String, String, &mut Operation)> = Vec::new();
    for (path, item) in spec.paths.paths.iter_mut() {
        for (method, op) in [
            ("get", &mut item.get),
            ("post", &mut item.post),
            ("put", &mut item.put),
            ("patch", &mut item.patch),
            ("delete", &mut item.delete),
        ] {
            if let Some(op) = op.as_mut() {
                all.push((method.to_owned(), path.clone(), op));
            }
        }
    }
    let count = |ids: &[String], id: &str| ids.iter().filter(|x| *x == id).count();
    let ids: Vec<String> = all
        .iter()
        .map(|(_, _, op)| op.operation_id.clone().unwrap_or_default())
        .collect();
    let tagged: Vec<String> = all
        .iter()
        .zip(&ids)
        .map(|((_, _, op), id)| {
            if count(&ids, id) == 1 {
                return id.clone();
            }
            let tag = op.tags.as_ref().and_then(|t| t.first()).cloned();
            format!("{}_{id}", tag.unwrap_or_default())
        })
        .collect();
    for (i, (method, path, op)) in all.into_iter().enumerate() {
        let id = if count(&tagged, &tagged[i]) == 1 {
            tagged[i].clone()
        } else {
            let words: String = path
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join("_");
            format!("{method}_{words}")
        };
        op.operation_id = Some(id);
    }
}

/// Completes the spec collected from the routers.
pub fn finish(mut spec: Spec) -> Spec {
    let mut base = super::base();
    base.paths = std::mem::take(&mut spec.paths);
    if let (Some(b), Some(s)) = (base.components.as_mut(), spec.components.take()) {
        b.schemas.extend(s.schemas);
        b.responses.extend(s.responses);
    }
    let components = base.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        SCHEME,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-API-Key",
            "An admin key (ADMIN_API_KEY or one made with POST /api/admin/keys) or a user key",
        ))),
    );
    for public in [false, true] {
        let path = if public { "/ping" } else { "/api" };
        for (status, description) in errors(path) {
            components.responses.insert(
                error_name(status, public),
                RefOr::T(error_response(description, status == "429")),
            );
        }
    }
    for (path, item) in base.paths.paths.iter_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            add_to_operation(path, op, false);
        }
        if let Some(op) = item.post.as_mut() {
            add_to_operation(path, op, true);
        }
    }
    unique_operation_ids(&mut base);
    base.tags = Some(
        TAGS.iter()
            .map(|(name, description)| {
                TagBuilder::new()
                    .name(*name)
                    .description(Some(*description))
                    .build()
            })
            .collect(),
    );
    base.webhooks = Some(super::webhooks::paths());
    base
}

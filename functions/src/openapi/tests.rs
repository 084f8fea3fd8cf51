use serde_json::Value;

fn spec() -> Value {
    serde_json::to_value(crate::openapi_spec()).expect("the spec serialises")
}

fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            out.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    out
}

/// The committed `docs/openapi.json` is what the code makes; `WAGATE_BLESS=1` rewrites it.
#[test]
fn committed_spec_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    let made = serde_json::to_string_pretty(&crate::openapi_spec()).expect("serialise") + "\n";
    if std::env::var_os("WAGATE_BLESS").is_some() {
        std::fs::write(path, &made).expect("write docs/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == made,
        "docs/openapi.json is stale: run `WAGATE_BLESS=1 cargo test -p wagate-functions \
         committed_spec_is_current` and commit it"
    );
}

#[test]
fn is_openapi_3_1_with_the_key_scheme_and_every_webhook() {
    let spec = spec();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        spec["components"]["securitySchemes"]["apiKey"]["name"],
        "X-API-Key"
    );
    let hooks = spec["webhooks"].as_object().unwrap();
    for kind in wagate_core::EventKind::ALL {
        assert!(
            hooks.contains_key(kind.as_str()),
            "{} missing",
            kind.as_str()
        );
    }
    assert_eq!(hooks.len(), wagate_core::EventKind::ALL.len());
}

/// Every operation has a summary, a tag the docs list, a success answer and the error shape;
/// everything but health and the signed URLs asks for the key.
#[test]
fn every_operation_is_complete() {
    let spec = spec();
    let tags: Vec<&str> = super::TAGS.iter().map(|t| t.0).collect();
    let ops = operations(&spec);
    let mut ids = std::collections::HashSet::new();
    assert!(ops.len() >= 80, "only {} operations", ops.len());
    for (method, path, op) in &ops {
        let at = format!("{method} {path}");
        assert!(op["summary"].is_string(), "{at}: no summary");
        let id = op["operationId"].as_str().unwrap_or_default();
        assert!(!id.is_empty(), "{at}: no operationId");
        assert!(ids.insert(id.to_owned()), "{at}: operationId {id} twice");
        let tag = op["tags"][0].as_str().unwrap_or_default();
        assert!(tags.contains(&tag), "{at}: tag {tag:?} not in TAGS");
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{at}: no success answer"
        );
        let bad = &responses["400"];
        let bad = match bad["$ref"].as_str() {
            Some(r) => spec.pointer(r.trim_start_matches('#')).unwrap(),
            None => bad,
        };
        assert_eq!(
            bad["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
            "{at}"
        );
        let public = path.starts_with("/health")
            || path == "/ping"
            || path == crate::routes::presigned::DIRECT_PATH
            || path == wagate_core::inbound_media::DOWNLOAD_PATH;
        assert_eq!(op["security"].is_array(), !public, "{at}: security");
    }
}

/// Paths the server answers are in the spec under the paths it answers them on.
#[test]
fn names_the_paths_the_router_serves() {
    let spec = spec();
    let paths = spec["paths"].as_object().unwrap();
    for p in [
        "/api/messages/text",
        "/api/messages/media/file",
        "/api/messages/{id}",
        "/api/sessions",
        "/api/sessions/{id}",
        "/api/groups/{group}/participants",
        "/api/admin/keys/{id}",
        "/api/media/uploads",
        crate::routes::presigned::DIRECT_PATH,
        wagate_core::inbound_media::DOWNLOAD_PATH,
        "/metrics",
        "/health/ready",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    assert!(!paths.keys().any(|p| p.starts_with("/api/dev")));
    // Sends report the quota, every authenticated answer the rate limit.
    let text = &paths["/api/messages/text"]["post"]["responses"]["202"]["headers"];
    for h in ["X-Quota-Remaining", "X-RateLimit-Remaining"] {
        assert!(text.get(h).is_some(), "{h} missing on a send");
    }
    let sessions = &paths["/api/sessions"]["get"]["responses"]["200"]["headers"];
    assert!(sessions.get("X-Quota-Remaining").is_none());
    assert!(sessions.get("X-RateLimit-Remaining").is_some());
}

/// Every `$ref` names a component that exists (a type used only in `params(...)` is not
/// registered by utoipa: it must be inlined).
#[test]
fn every_reference_resolves() {
    fn walk(v: &Value, spec: &Value, at: &str) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    let pointer = r.trim_start_matches('#');
                    assert!(
                        spec.pointer(pointer).is_some(),
                        "{at}: {r} does not resolve"
                    );
                }
                for (k, x) in m {
                    walk(x, spec, &format!("{at}/{k}"));
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, spec, at)),
            _ => {}
        }
    }
    let spec = spec();
    walk(&spec, &spec, "");
}

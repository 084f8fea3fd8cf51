//! wagate's HTTP API. [`app`] builds the one axum `Router` that every way of running wagate
//! shares: `wagate local` serves it with `axum::serve`, the Lambda functions hand it to
//! `lambda_http`, and tests call it with `oneshot`.

pub mod action;
pub mod auth;
pub mod auth_failures;
pub mod caller;
pub mod config;
pub mod deferred_rate;
pub mod error;
pub mod extract;
pub mod host_stats;
pub mod key_cache;
mod layers;
pub mod limit_headers;
pub mod live;
pub mod media;
pub mod metrics;
pub mod openapi;
pub mod paging;
pub mod routes;
pub mod send;
pub mod session_cache;
pub mod session_counts;
pub mod settings;
pub mod state;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::response::Html;
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::router::UtoipaMethodRouterExt as _;
use utoipa_axum::routes;

pub use config::ApiConfig;
pub use state::AppState;

/// The web UI (`ui/index.html`): one page, no build step, served at `/ui`.
const UI_PAGE: &str = include_str!("../../ui/index.html");
/// The Socket.IO browser client the UI uses (socket.io-client 4.8.4's `dist/socket.io.min.js`,
/// MIT), served from here so the page works with no internet. Only where the live channel is:
/// without it the page finds no client and polls.
#[cfg(feature = "live")]
const SOCKET_IO_JS: &str = include_str!("../../ui/socket.io.min.js");

/// `GET /openapi.json`, and Swagger UI at `/docs` around it.
#[cfg(feature = "docs")]
fn with_spec(router: Router<AppState>, spec: utoipa::openapi::OpenApi) -> Router<AppState> {
    let docs = utoipa_swagger_ui::SwaggerUi::new("/docs")
        .url("/openapi.json", spec)
        .config(
            utoipa_swagger_ui::Config::default()
                .persist_authorization(true)
                .try_it_out_enabled(true)
                // The default asks validator.swagger.io about the spec: nothing leaves.
                .validator_url("none"),
        );
    router.merge(docs)
}

/// `GET /openapi.json` alone: built without Swagger UI's assets (the `api` Lambda function).
#[cfg(not(feature = "docs"))]
fn with_spec(router: Router<AppState>, spec: utoipa::openapi::OpenApi) -> Router<AppState> {
    let spec = std::sync::Arc::new(spec);
    router.route(
        "/openapi.json",
        get(move || {
            let spec = spec.clone();
            async move { axum::Json(spec.as_ref().clone()) }
        }),
    )
}

/// The whole API.
pub fn app(state: AppState) -> Router {
    let (router, spec) = documented(&state.config, Some(&state)).split_for_parts();
    let router = with_spec(router, openapi::finish(spec))
        .route("/ui", get(|| async { Html(UI_PAGE) }))
        .route("/ui/", get(|| async { Html(UI_PAGE) }));
    #[cfg(feature = "live")]
    let router = router.route(
        "/ui/socket.io.min.js",
        get(|| async {
            (
                [
                    (
                        axum::http::header::CONTENT_TYPE,
                        "text/javascript; charset=utf-8",
                    ),
                    (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
                ],
                SOCKET_IO_JS,
            )
        }),
    );
    finish(router, &state)
}

/// What the `upload` Lambda function serves: the two routes API Gateway sends it,
/// `POST /api/messages/media/file` and `POST /api/messages/sticker`, behind the same layers
/// (key, rate limit, body limits) as in [`app`]; any other path is `route_not_found`. Only
/// these handlers are linked into its bootstrap, which is what keeps it under 10 MB with the
/// image codecs.
pub fn upload_app(state: AppState) -> Router {
    let messages = upload_route(&state.config).merge(routes::messages::sticker_router());
    let api = authenticated(
        OpenApiRouter::new().nest("/messages", messages),
        &state.config,
        Some(&state),
    );
    let (router, _) = OpenApiRouter::new().nest("/api", api).split_for_parts();
    finish(router, &state)
}

/// The fallback, the route metrics, the state and the outer layers of a served router.
fn finish(router: Router<AppState>, state: &AppState) -> Router {
    let router = router
        .fallback(route_not_found)
        .route_layer(middleware::from_fn(metrics::note_route))
        .with_state(state.clone());
    // On the top router (a nested one would see stripped paths); it answers /socket.io/ itself.
    #[cfg(feature = "live")]
    let router = match &state.live {
        Some(feed) => router.layer(live::layer(state.clone(), feed).0),
        None => router,
    };
    layers::apply(router, &state.config).layer(middleware::from_fn(metrics::track))
}

/// The OpenAPI spec of [`app`] (what `GET /openapi.json` serves; `docs/openapi.json`).
pub fn openapi_spec() -> utoipa::openapi::OpenApi {
    let config = ApiConfig {
        dev_routes: false,
        ..ApiConfig::default()
    };
    openapi::finish(documented(&config, None).split_for_parts().1)
}

/// Every route but the docs and the UI, each registered with its OpenAPI operation (only the
/// simulated network's `/api/dev` controls are left out of the spec). Without a state (the
/// spec alone) the layers that need one are left off: they change no route.
fn documented(config: &ApiConfig, state: Option<&AppState>) -> OpenApiRouter<AppState> {
    let mut api = OpenApiRouter::new()
        .nest("/sessions", routes::sessions::router())
        .nest(
            "/messages",
            upload_route(config)
                .merge(routes::messages::router())
                .merge(routes::actions::message_actions()),
        )
        .nest("/groups", routes::groups::router())
        .nest("/chats", routes::actions::chats())
        .nest("/presence", routes::actions::presence())
        .nest("/jobs", routes::actions::jobs())
        .nest("/status", routes::status::router())
        .nest("/webhooks", routes::webhooks::router())
        .nest("/contacts", routes::contacts::contacts())
        .nest("/queries", routes::queries::router())
        .routes(routes!(routes::presigned::create))
        .nest(
            "/admin",
            routes::admin::router().layer(middleware::from_fn(auth::require_admin)),
        );
    if config.dev_routes {
        api = api.nest("/dev", OpenApiRouter::from(routes::dev::router()));
    }
    let api = authenticated(api, config, state);

    // Authorised by its signature, not an API key: outside the authenticated router.
    let direct_upload = OpenApiRouter::new()
        .routes(routes!(routes::presigned::direct).layer(DefaultBodyLimit::disable()))
        .routes(routes!(routes::received_media::signed_download));
    // Admin only, like /api/admin; outside /api because that is where scrapers look.
    let scrape = OpenApiRouter::new()
        .routes(routes!(metrics::scrape))
        .layer(middleware::from_fn(auth::require_admin));
    let scrape = match state {
        Some(state) => scrape.layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        )),
        None => scrape,
    };
    OpenApiRouter::new()
        .nest("/api", api)
        .merge(scrape)
        .merge(direct_upload)
        .merge(routes::health::router())
}

/// The multipart and raw upload route, with its own body limit.
fn upload_route(config: &ApiConfig) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(routes::file_upload::media_file))
        .layer(DefaultBodyLimit::max(config.max_upload_bytes))
}

/// The layers of the routes under `/api`. Order: authentication (and the rate limit) runs
/// before any handler, the fallback included, so no path under /api is answered without a
/// key; the JSON body limit applies to every route but the upload one, which set its own.
/// Without a state (the spec alone) the key check is left off: it changes no route.
fn authenticated(
    api: OpenApiRouter<AppState>,
    config: &ApiConfig,
    state: Option<&AppState>,
) -> OpenApiRouter<AppState> {
    let api = api
        .route_layer(middleware::from_fn(metrics::note_route))
        .fallback(route_not_found);
    match state {
        Some(state) => api.layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        )),
        None => api,
    }
    .layer(DefaultBodyLimit::max(config.max_json_bytes))
}

async fn route_not_found() -> error::ApiError {
    error::ApiError::not_found(
        "route_not_found",
        "no such route; see docs/api.md for the API",
    )
}

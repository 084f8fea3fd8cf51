//! The message routes: one per message kind, each turning its body into an
//! `OutboundMessage` and handing it to the shared enqueue path.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wagate_core::{
    Button, Contact, Jid, JobId, ListRow, ListSection, MediaKind, MediaSource, MessageContent,
    OutboundMessage, Quoted, ValidationError, normalize_phone,
};

use super::body::{Loose, QuotedBody};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::extract::Query;
use crate::media::{self, PendingBlobs};
use crate::openapi::schemas;
use crate::send::{self, IdempotencyKey, Outgoing, WaitQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(text))
        .routes(routes!(media))
        .routes(routes!(location))
        .routes(routes!(forward))
        .routes(routes!(buttons))
        .routes(routes!(list))
        .routes(routes!(poll))
        .routes(routes!(sticker))
        .routes(routes!(vcard))
        .routes(routes!(contact))
        .routes(routes!(gif))
        .routes(routes!(raw))
        .routes(routes!(job))
}

/// The sticker route alone: the `upload` Lambda function's share of this file
/// ([`crate::upload_app`]).
pub fn sticker_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sticker))
}

/// Fields every message body has.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Target {
    session_id: String,
    to: Loose,
    #[serde(default)]
    quoted: Option<QuotedBody>,
    #[serde(default)]
    quoted_message_id: Option<String>,
    /// "typing…" for this long before the message goes. Read loosely, then checked, so a
    /// wrong value is named (a flattened field's serde error loses its path).
    #[serde(default)]
    #[schema(value_type = Option<u32>, maximum = 60000)]
    typing_ms: Option<serde_json::Value>,
}

impl Target {
    fn quoted(&self) -> Result<Option<Quoted>, ValidationError> {
        if let Some(q) = &self.quoted {
            let participant = q
                .participant
                .as_ref()
                .map(|p| Jid::parse_field(&p.0, "quoted.participant"))
                .transpose()?;
            return Ok(Some(Quoted {
                id: q.id.clone(),
                participant,
                text: q.text.clone(),
            }));
        }
        Ok(self.quoted_message_id.as_ref().map(|id| Quoted {
            id: id.clone(),
            participant: None,
            text: None,
        }))
    }

    /// `typingMs`: absent or 0 for none, else whole milliseconds (the cap is checked with
    /// the message).
    fn typing_ms(&self) -> Result<Option<u32>, ValidationError> {
        match &self.typing_ms {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(|n| (n > 0).then_some(n))
                .ok_or_else(|| {
                    ValidationError::new(
                        "typingMs",
                        format!("whole milliseconds, 0 to {}", wagate_core::MAX_TYPING_MS),
                    )
                }),
        }
    }
}

/// Validates the target, builds the message, brings its media into the blob store and runs
/// the enqueue path. `sniff_kind`: the client named no media kind, so the bytes decide it.
async fn submit(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    wait: &WaitQuery,
    target: &Target,
    content: Result<MessageContent, ValidationError>,
    sniff_kind: bool,
) -> ApiResult<Response> {
    let wait = wait.duration()?;
    let idem = send::idempotency_key(headers)?;
    let session = crate::caller::load_session_to_send(state, caller, &target.session_id).await?;
    let to = Jid::parse(&target.to.0)?;
    let mut message = OutboundMessage {
        content: content?,
        quoted: target.quoted()?,
        typing_ms: target.typing_ms()?,
        status: None,
    };
    message.validate()?;
    let mut pending = PendingBlobs::new(state.blobs.clone());
    media::materialize(state, caller, &mut message, sniff_kind, &mut pending).await?;
    let accepted = send::accept(
        state,
        caller,
        &session,
        &to,
        Outgoing::paced_normally(message),
        idem.as_deref(),
        pending,
    )
    .await?;
    send::single_response(state, accepted, wait).await
}

macro_rules! message_route {
    ($name:ident, $path:literal, $summary:literal, $body:ty, |$b:ident| $build:expr) => {
        #[utoipa::path(post, path = $path, tag = "messages", summary = $summary, params(WaitQuery, IdempotencyKey), request_body = $body, responses(schemas::JobAnswers))]
        async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            headers: HeaderMap,
            Query(wait): Query<WaitQuery>,
            Json($b): Json<$body>,
        ) -> ApiResult<Response> {
            fn build($b: &$body) -> Result<MessageContent, ValidationError> {
                $build
            }
            let content = build(&$b);
            submit(&state, &caller, &headers, &wait, &$b.target, content, false).await
        }
    };
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct TextBody {
    #[serde(flatten)]
    target: Target,
    text: String,
    #[serde(default)]
    mentions: Vec<Loose>,
}

message_route!(text, "/text", "Send a text, with mentions", TextBody, |b| {
    let mentions = b
        .mentions
        .iter()
        .map(|m| Jid::parse_field(&m.0, "mentions"))
        .collect::<Result<_, _>>()?;
    Ok(MessageContent::Text {
        text: b.text.clone(),
        mentions,
    })
});

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct MediaBody {
    #[serde(flatten)]
    target: Target,
    #[serde(default, alias = "url")]
    media_url: Option<String>,
    /// A presigned upload (`POST /api/media/uploads`) instead of a URL.
    #[serde(default)]
    media_key: Option<String>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default, alias = "filename")]
    file_name: Option<String>,
    #[serde(default, alias = "mimeType")]
    mimetype: Option<String>,
    #[serde(default)]
    ptt: bool,
}

/// `POST /api/messages/media`: by `mediaUrl` or by `mediaKey`. Without `mediaType` or
/// `mimetype` the file's bytes decide its kind.
#[utoipa::path(post, path = "/media", tag = "messages",
    summary = "Send an image, video, audio, document or sticker by URL or `mediaKey`",
    params(WaitQuery, IdempotencyKey), request_body = MediaBody,
    responses(
        schemas::JobAnswers,
    ))]
async fn media(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(wait): Query<WaitQuery>,
    Json(b): Json<MediaBody>,
) -> ApiResult<Response> {
    let sniff_kind = b.media_type.is_none() && b.mimetype.is_none();
    let content = media_content(&b);
    submit(
        &state, &caller, &headers, &wait, &b.target, content, sniff_kind,
    )
    .await
}

fn media_content(b: &MediaBody) -> Result<MessageContent, ValidationError> {
    let kind = match (&b.media_type, &b.mimetype) {
        (Some(t), _) => MediaKind::parse(t)?,
        (None, Some(m)) => MediaKind::from_mimetype(m),
        (None, None) => MediaKind::Image,
    };
    let source = match (&b.media_url, &b.media_key) {
        (Some(url), None) => MediaSource::Url(url.trim().to_owned()),
        (None, Some(key)) => MediaSource::Blob {
            key: key.trim().to_owned(),
            size: 0,
        },
        (Some(_), Some(_)) => {
            return Err(ValidationError::new(
                "mediaUrl",
                "give mediaUrl or mediaKey, not both",
            ));
        }
        (None, None) => {
            return Err(ValidationError::new(
                "mediaUrl",
                "mediaUrl (or mediaKey from POST /api/media/uploads) is required",
            ));
        }
    };
    Ok(MessageContent::Media {
        media: kind,
        source,
        caption: b.caption.clone(),
        file_name: b.file_name.clone(),
        mimetype: b.mimetype.clone(),
        ptt: b.ptt,
        gif_playback: false,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct LocationBody {
    #[serde(flatten)]
    target: Target,
    #[serde(alias = "lat")]
    latitude: f64,
    #[serde(alias = "lng", alias = "lon")]
    longitude: f64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    address: Option<String>,
}

message_route!(
    location,
    "/location",
    "Send a location",
    LocationBody,
    |b| {
        Ok(MessageContent::Location {
            latitude: b.latitude,
            longitude: b.longitude,
            name: b.name.clone(),
            address: b.address.clone(),
        })
    }
);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ForwardBody {
    #[serde(flatten)]
    target: Target,
    message_id: String,
    /// The chat the original message is in.
    #[serde(alias = "from")]
    chat: Loose,
    /// The original message in WhatsApp's JSON shape.
    message: serde_json::Value,
}

message_route!(forward, "/forward", "Forward a message", ForwardBody, |b| {
    Ok(MessageContent::Forward {
        message_id: b.message_id.clone(),
        chat: Jid::parse_field(&b.chat.0, "chat")?,
        message: b.message.clone(),
    })
});

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ButtonBody {
    #[serde(alias = "buttonId")]
    id: String,
    #[serde(alias = "displayText", alias = "title")]
    text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ButtonsBody {
    #[serde(flatten)]
    target: Target,
    text: String,
    #[serde(default)]
    footer: Option<String>,
    buttons: Vec<ButtonBody>,
}

message_route!(buttons, "/buttons", "Send buttons", ButtonsBody, |b| {
    Ok(MessageContent::Buttons {
        text: b.text.clone(),
        footer: b.footer.clone(),
        buttons: b
            .buttons
            .iter()
            .map(|x| Button {
                id: x.id.clone(),
                text: x.text.clone(),
            })
            .collect(),
    })
});

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RowBody {
    #[serde(alias = "rowId")]
    id: String,
    title: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SectionBody {
    #[serde(default)]
    title: String,
    rows: Vec<RowBody>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ListBody {
    #[serde(flatten)]
    target: Target,
    text: String,
    #[serde(default)]
    title: Option<String>,
    button_text: String,
    #[serde(default)]
    footer: Option<String>,
    sections: Vec<SectionBody>,
}

message_route!(list, "/list", "Send a list", ListBody, |b| {
    Ok(MessageContent::List {
        text: b.text.clone(),
        title: b.title.clone(),
        button_text: b.button_text.clone(),
        footer: b.footer.clone(),
        sections: b
            .sections
            .iter()
            .map(|s| ListSection {
                title: s.title.clone(),
                rows: s
                    .rows
                    .iter()
                    .map(|r| ListRow {
                        id: r.id.clone(),
                        title: r.title.clone(),
                        description: r.description.clone(),
                    })
                    .collect(),
            })
            .collect(),
    })
});

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PollBody {
    #[serde(flatten)]
    target: Target,
    #[serde(alias = "question")]
    name: String,
    #[serde(alias = "values")]
    options: Vec<String>,
    #[serde(default = "one")]
    selectable_count: u32,
}

fn one() -> u32 {
    1
}

message_route!(poll, "/poll", "Send a poll", PollBody, |b| {
    Ok(MessageContent::Poll {
        name: b.name.clone(),
        options: b.options.clone(),
        selectable_count: b.selectable_count,
    })
});

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct StickerBody {
    #[serde(flatten)]
    target: Target,
    #[serde(default)]
    image_url: Option<String>,
    #[serde(default)]
    webp_url: Option<String>,
}

message_route!(
    sticker,
    "/sticker",
    "Send a sticker (converted to WebP 512x512)",
    StickerBody,
    |b| {
        let url = match (&b.image_url, &b.webp_url) {
            (Some(u), None) | (None, Some(u)) => u.trim().to_owned(),
            (Some(_), Some(_)) => {
                return Err(ValidationError::new(
                    "imageUrl",
                    "give imageUrl or webpUrl, not both",
                ));
            }
            (None, None) => {
                return Err(ValidationError::new(
                    "imageUrl",
                    "imageUrl or webpUrl is required",
                ));
            }
        };
        Ok(MessageContent::Sticker {
            source: MediaSource::Url(url),
        })
    }
);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct VcardBody {
    #[serde(flatten)]
    target: Target,
    #[serde(alias = "name")]
    full_name: String,
    phone: Loose,
    #[serde(default, alias = "org")]
    organization: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

fn contact_content(b: &VcardBody) -> Result<MessageContent, ValidationError> {
    let phone = normalize_phone(&b.phone.0, "phone")?;
    Ok(MessageContent::Contact {
        contact: Contact {
            full_name: b.full_name.clone(),
            phone,
            organization: b.organization.clone(),
            email: b.email.clone(),
        },
    })
}

message_route!(vcard, "/vcard", "Send a contact card", VcardBody, |b| {
    contact_content(b)
});
message_route!(
    contact,
    "/contact",
    "Send a contact card (the same as /vcard)",
    VcardBody,
    |b| contact_content(b)
);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct GifBody {
    #[serde(flatten)]
    target: Target,
    #[serde(alias = "mediaUrl", alias = "url")]
    video_url: String,
    #[serde(default)]
    caption: Option<String>,
}

message_route!(gif, "/gif", "Send an MP4 played as a GIF", GifBody, |b| {
    if b.video_url
        .to_ascii_lowercase()
        .split('?')
        .next()
        .is_some_and(|p| p.ends_with(".gif"))
    {
        return Err(ValidationError::new(
            "videoUrl",
            "WhatsApp plays GIFs as MP4 video: convert the .gif to .mp4 and send that",
        ));
    }
    Ok(MessageContent::Media {
        media: MediaKind::Video,
        source: MediaSource::Url(b.video_url.trim().to_owned()),
        caption: b.caption.clone(),
        file_name: None,
        mimetype: Some("video/mp4".into()),
        ptt: false,
        gif_playback: true,
    })
});

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RawBody {
    #[serde(flatten)]
    target: Target,
    message: serde_json::Value,
}

message_route!(
    raw,
    "/raw",
    "Send a raw WhatsApp message (protobuf JSON)",
    RawBody,
    |b| Ok(MessageContent::Raw {
        message: b.message.clone()
    })
);

/// `GET /api/messages/:id[?wait=N]`: a job's state.
#[utoipa::path(get, path = "/{id}", tag = "messages",
    summary = "A job's state (with `?wait=N`, once final or after N seconds)",
    params(("id" = String, Path, description = "The job id the send answered"), WaitQuery),
    responses((status = 200, description = "The job", body = schemas::Job)))]
async fn job(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(wait): Query<WaitQuery>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let wait = wait.duration()?;
    let not_found =
        || ApiError::not_found("message_not_found", format!("message '{id}' not found"));
    let job = state.store.get_job(&JobId::from_string(id.clone())).await?;
    let job = job
        .filter(|j| caller.is_admin() || j.owner == caller.key_id)
        .ok_or_else(not_found)?;
    let job = match wait {
        Some(w) => send::wait_for_final(&state, job, w).await?,
        None => job,
    };
    Ok(axum::Json(crate::action::job_body(&state, &job).await?))
}

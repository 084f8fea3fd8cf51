//! Messages written as JSON in WhatsApp's own shape (raw sends and forwards) read into the
//! protobuf. Clients write them the way Baileys' `proto.Message.fromObject` takes them, which
//! serde's derived reader does not: this renames the keys, then repairs the value serde stopped
//! at, one at a time.

use serde_json::Value;
use waproto::whatsapp as wa;

use crate::connector::SendError;

/// Reads a message written in WhatsApp's JSON shape (what Baileys' `proto.Message.fromObject`
/// takes): camelCase or snake_case field names, bytes as base64 strings or arrays of numbers,
/// 64-bit numbers as numbers or strings, enums by name. A oneof is written as its own object
/// (`{"interactiveMessage": {"NativeFlowMessage": {…}}}`).
pub fn message_from_json(value: &Value) -> Result<wa::Message, SendError> {
    let mut value = snake_keys(value);
    // Each round fixes the one value serde stopped at (a base64 string where bytes are
    // expected, a number in a string); real messages need a handful at most.
    for _ in 0..64 {
        match serde_path_to_error::deserialize::<_, wa::Message>(&value) {
            Ok(m) => return Ok(m),
            Err(e) => {
                let path = e.path().to_string();
                let cause = e.inner().to_string();
                if !repair(&mut value, e.path(), &cause) {
                    return Err(SendError::Permanent(format!(
                        "message is not a WhatsApp message: {path}: {cause}"
                    )));
                }
            }
        }
    }
    Err(SendError::Permanent(
        "message is not a WhatsApp message: too many fields to convert".into(),
    ))
}

/// `fileSha256` → `file_sha256`, as the protobuf compiler names the Rust fields.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A message as WhatsApp's JSON, the shape Baileys' `toJSON` gives its clients: camelCase
/// field names, unset fields left out, bytes as base64.
pub fn message_to_json(msg: &wa::Message) -> Value {
    match serde_json::to_value(msg) {
        Ok(v) => camel_json(v, ""),
        Err(e) => {
            tracing::warn!(error = %e, "could not write a received message as JSON");
            Value::Object(serde_json::Map::new())
        }
    }
}

/// The protobuf's repeated number fields: the only arrays of numbers that are not bytes.
const NUMBER_LISTS: &[&str] = &["scanLengths"];

fn camel_json(v: Value, key: &str) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !is_unset(v))
                .map(|(k, v)| {
                    // Oneof variants are Rust enum variants: their names stay as written.
                    let k = if k.starts_with(|c: char| c.is_ascii_uppercase()) {
                        k
                    } else {
                        camel_case(&k)
                    };
                    let v = camel_json(v, &k);
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(a) if !NUMBER_LISTS.contains(&key) && is_bytes(&a) => {
            use base64::Engine;
            let bytes: Vec<u8> = a
                .iter()
                .filter_map(|n| n.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        Value::Array(a) => Value::Array(a.into_iter().map(|x| camel_json(x, "")).collect()),
        other => other,
    }
}

fn is_unset(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn is_bytes(a: &[Value]) -> bool {
    !a.is_empty() && a.iter().all(|n| n.as_u64().is_some_and(|n| n <= 255))
}

/// `file_sha256` → `fileSha256`.
fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn snake_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    // Oneof variants are Rust enum variants: their names stay as written.
                    let key = if k.starts_with(|c: char| c.is_ascii_uppercase()) {
                        k.clone()
                    } else {
                        snake_case(k)
                    };
                    (key, snake_keys(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(snake_keys).collect()),
        other => other.clone(),
    }
}

/// Converts the value at `path` into what serde expected there; false when it cannot.
fn repair(root: &mut Value, path: &serde_path_to_error::Path, cause: &str) -> bool {
    use serde_path_to_error::Segment;
    let mut cur = root;
    for seg in path.iter() {
        cur = match (seg, cur) {
            (Segment::Map { key }, Value::Object(m)) => match m.get_mut(key) {
                Some(v) => v,
                None => return false,
            },
            (Segment::Seq { index }, Value::Array(a)) => match a.get_mut(*index) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    let Value::String(s) = cur else {
        return false;
    };
    if cause.contains("expected a sequence") || cause.contains("expected a byte") {
        use base64::Engine;
        let engines = [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::URL_SAFE,
        ];
        let trimmed = s.trim_end_matches('=');
        for engine in engines {
            let padded = format!("{trimmed}{}", "=".repeat((4 - trimmed.len() % 4) % 4));
            if let Ok(bytes) = engine.decode(padded.as_bytes()) {
                *cur = Value::Array(bytes.into_iter().map(Value::from).collect());
                return true;
            }
        }
        return false;
    }
    if cause.contains("expected u") || cause.contains("expected i") || cause.contains("expected f")
    {
        if let Ok(n) = s.parse::<u64>() {
            *cur = Value::from(n);
            return true;
        }
        if let Ok(n) = s.parse::<i64>() {
            *cur = Value::from(n);
            return true;
        }
        if let Ok(n) = s.parse::<f64>() {
            *cur = Value::from(n);
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_names_become_the_protobuf_field_names() {
        assert_eq!(snake_case("fileSha256"), "file_sha256");
        assert_eq!(snake_case("extendedTextMessage"), "extended_text_message");
        assert_eq!(snake_case("mentionedJid"), "mentioned_jid");
        assert_eq!(snake_case("already_snake"), "already_snake");
        assert_eq!(snake_case("jpegThumbnail"), "jpeg_thumbnail");
        for name in [
            "fileSha256",
            "extendedTextMessage",
            "mentionedJid",
            "jpegThumbnail",
        ] {
            assert_eq!(camel_case(&snake_case(name)), name);
        }
    }

    #[test]
    fn a_received_message_reads_as_baileys_clients_expect_and_back() {
        let img = wa::Message {
            image_message: waproto::buffa::MessageField::some(wa::message::ImageMessage {
                caption: Some("our shop".into()),
                mimetype: Some("image/jpeg".into()),
                file_sha256: Some(vec![0, 1, 2, 255]),
                file_length: Some(1234),
                scan_lengths: vec![3, 4],
                ..Default::default()
            }),
            ..Default::default()
        };
        let v = message_to_json(&img);
        assert_eq!(v["imageMessage"]["caption"], "our shop");
        assert_eq!(v["imageMessage"]["mimetype"], "image/jpeg");
        assert_eq!(v["imageMessage"]["fileSha256"], "AAEC/w==");
        assert_eq!(v["imageMessage"]["scanLengths"], serde_json::json!([3, 4]));
        assert!(
            v["imageMessage"].get("url").is_none(),
            "unset fields are left out: {v}"
        );
        assert!(v.get("conversation").is_none());
        // What the seed's clients send back in raw sends reads into the same message.
        assert_eq!(message_from_json(&v).unwrap(), img);
        let text = message_to_json(&wa::Message {
            conversation: Some("hi".into()),
            ..Default::default()
        });
        assert_eq!(text, serde_json::json!({ "conversation": "hi" }));
    }
}

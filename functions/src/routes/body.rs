//! Shapes shared by request bodies: values PHP and JS clients send in more than one form.

use serde::{Deserialize, Deserializer};

/// A phone number or JID sent as a string or as a bare number (`"to": 628123456789`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loose(pub String);

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            U(u64),
        }
        match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom("expected a phone number or JID as a string or a whole number")
        })? {
            Raw::S(s) => Ok(Self(s)),
            Raw::U(n) => Ok(Self(n.to_string())),
        }
    }
}

impl utoipa::PartialSchema for Loose {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("A phone number with country code, or a JID")),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0)),
            )
            .into()
    }
}

impl utoipa::ToSchema for Loose {}

/// A quoted reply: `quoted: { id, participant?, text? }` or `quotedMessageId`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuotedBody {
    pub id: String,
    #[serde(default)]
    pub participant: Option<Loose>,
    #[serde(default)]
    pub text: Option<String>,
}

/// A list of numbers or JIDs, each parsed (errors name `field`), duplicates kept once.
pub fn jid_list(
    list: &[Loose],
    field: &'static str,
) -> Result<Vec<wagate_core::Jid>, wagate_core::ValidationError> {
    let mut out: Vec<wagate_core::Jid> = Vec::with_capacity(list.len());
    for item in list {
        let jid = wagate_core::Jid::parse_field(&item.0, field)?;
        if !out.contains(&jid) {
            out.push(jid);
        }
    }
    Ok(out)
}

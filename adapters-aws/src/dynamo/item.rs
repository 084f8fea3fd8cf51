//! Records to and from DynamoDB items. Fields that are queried or updated are attributes of
//! their own; nested documents (a job's message, a session's account) are JSON strings. An
//! item that no longer parses is a backend error, never a panic.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use wagate_core::ports::{DeadLetter, ParkedSend, PortError, PortResult};
use wagate_core::{
    ApiKeyRecord, EventFilter, Jid, Job, JobId, JobState, KeyHash, KeyId, ProxyUrl, Role, Session,
    SessionId, SessionStatus,
};

pub type Attrs = HashMap<String, AttributeValue>;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn role_str(r: Role) -> &'static str {
    match r {
        Role::Admin => "admin",
        Role::User => "user",
    }
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> PortError {
    PortError::Backend(anyhow::anyhow!("stored {what} is unreadable: {detail}"))
}

fn json<T: serde::Serialize>(v: &T) -> PortResult<String> {
    serde_json::to_string(v).map_err(|e| PortError::Backend(e.into()))
}

/// A read item with typed accessors.
#[derive(Debug)]
pub struct Item(Attrs);

impl From<Attrs> for Item {
    fn from(a: Attrs) -> Self {
        Self(a)
    }
}

impl Item {
    pub fn opt_string(&self, name: &str) -> PortResult<Option<String>> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
            Some(other) => Err(corrupt(name, format!("{other:?} is not a string"))),
        }
    }

    pub fn string(&self, name: &str) -> PortResult<String> {
        self.opt_string(name)?
            .ok_or_else(|| corrupt(name, "missing"))
    }

    pub fn opt_i64(&self, name: &str) -> PortResult<Option<i64>> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(v)) => v
                .parse()
                .map(Some)
                .map_err(|e| corrupt(name, format!("{v}: {e}"))),
            Some(other) => Err(corrupt(name, format!("{other:?} is not a number"))),
        }
    }

    pub fn i64(&self, name: &str) -> PortResult<i64> {
        self.opt_i64(name)?.ok_or_else(|| corrupt(name, "missing"))
    }

    pub fn u64(&self, name: &str) -> PortResult<u64> {
        let v = self.i64(name)?;
        u64::try_from(v.max(0)).map_err(|e| corrupt(name, e))
    }

    fn u32(&self, name: &str) -> PortResult<u32> {
        u32::try_from(self.u64(name)?).map_err(|e| corrupt(name, e))
    }

    fn session_id(&self, name: &str) -> PortResult<SessionId> {
        let v = self.string(name)?;
        SessionId::parse(&v).map_err(|e| corrupt(name, e))
    }

    fn parsed_json<T: serde::de::DeserializeOwned>(&self, name: &str) -> PortResult<Option<T>> {
        self.opt_string(name)?
            .map(|v| serde_json::from_str(&v).map_err(|e| corrupt(name, e)))
            .transpose()
    }

    pub fn api_key(&self) -> PortResult<ApiKeyRecord> {
        let hash = self.string("pk")?;
        let hash = hash.strip_prefix("key#").unwrap_or(&hash);
        Ok(ApiKeyRecord {
            hash: KeyHash::from_hex(hash).ok_or_else(|| corrupt("key hash", hash))?,
            id: KeyId::from_string(self.string("id")?),
            role: match self.string("role")?.as_str() {
                "admin" => Role::Admin,
                _ => Role::User,
            },
            label: self.opt_string("label")?.unwrap_or_default(),
            created_at: self.i64("created_at")?,
        })
    }

    pub fn session(&self) -> PortResult<Session> {
        let status = self.string("status")?;
        Ok(Session {
            id: self.session_id("id")?,
            owner: KeyId::from_string(self.string("owner")?),
            status: SessionStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            webhook_url: self.opt_string("webhook_url")?,
            webhook_secret: self.opt_string("webhook_secret")?,
            qr: self.opt_string("qr")?,
            pairing_code: self.opt_string("pairing_code")?,
            account: self.parsed_json("account")?,
            proxy: self
                .opt_string("proxy")?
                .map(|p| ProxyUrl::parse(&p, "proxy").map_err(|e| corrupt("proxy", e)))
                .transpose()?,
            events: self.parsed_json("events")?.unwrap_or_default(),
            created_at: self.i64("created_at")?,
            updated_at: self.i64("updated_at")?,
        })
    }

    pub fn job(&self) -> PortResult<Job> {
        let to = self.string("recipient")?;
        let state = self.string("state")?;
        Ok(Job {
            id: JobId::from_string(self.string("id")?),
            session_id: self.session_id("session_id")?,
            owner: KeyId::from_string(self.string("owner")?),
            to: Jid::parse(&to).map_err(|e| corrupt("recipient", e))?,
            message: self
                .parsed_json("message")?
                .ok_or_else(|| corrupt("message", "missing"))?,
            wa_message_id: self.string("wa_message_id")?,
            state: JobState::parse(&state).ok_or_else(|| corrupt("state", &state))?,
            attempts: self.u32("attempts")?,
            error: self.opt_string("error")?,
            pace_ms: self
                .opt_i64("pace_ms")?
                .map(|v| u64::try_from(v).map_err(|e| corrupt("pace_ms", e)))
                .transpose()?,
            created_at: self.i64("created_at")?,
            updated_at: self.i64("updated_at")?,
            sent_at: self.opt_i64("sent_at")?,
            request_id: self.opt_string("request_id")?,
        })
    }

    pub fn dead_letter(&self) -> PortResult<DeadLetter> {
        Ok(DeadLetter {
            id: self.string("id")?,
            session_id: self.opt_string("session_id")?.unwrap_or_default(),
            body: self.string("body")?,
            attempts: self.u32("attempts")?,
            last_error: self.opt_string("last_error")?.unwrap_or_default(),
            failed_at: self.i64("failed_at")?,
        })
    }

    pub fn parked_send(&self) -> PortResult<ParkedSend> {
        Ok(ParkedSend {
            job_id: self.string("id")?,
            session_id: self.opt_string("session_id")?.unwrap_or_default(),
            parked_at: self.i64("parked_at")?,
        })
    }

    /// The settings stored as `<prefix><name>` attributes of the config item.
    pub fn config(&self, prefix: &str) -> PortResult<serde_json::Map<String, Value>> {
        let mut out = serde_json::Map::new();
        for (name, v) in &self.0 {
            let Some(key) = name.strip_prefix(prefix) else {
                continue;
            };
            let AttributeValue::S(text) = v else {
                return Err(corrupt(name, "not a string"));
            };
            let value = serde_json::from_str(text).map_err(|e| corrupt(name, e))?;
            out.insert(key.to_owned(), value);
        }
        Ok(out)
    }
}

/// A session's event filter as stored: absent for the default.
pub fn events_attr(f: &EventFilter) -> PortResult<Option<AttributeValue>> {
    Ok((!f.is_default()).then(|| json(f)).transpose()?.map(s))
}

fn put_opt(it: &mut Attrs, name: &str, v: Option<AttributeValue>) {
    if let Some(v) = v {
        it.insert(name.to_owned(), v);
    }
}

pub fn session_item(x: &Session) -> PortResult<Attrs> {
    let mut it = Attrs::new();
    it.insert("id".into(), s(x.id.as_str()));
    it.insert("owner".into(), s(x.owner.as_str()));
    it.insert("status".into(), s(x.status.as_str()));
    put_opt(&mut it, "webhook_url", x.webhook_url.as_deref().map(s));
    put_opt(
        &mut it,
        "webhook_secret",
        x.webhook_secret.as_deref().map(s),
    );
    put_opt(&mut it, "qr", x.qr.as_deref().map(s));
    put_opt(&mut it, "pairing_code", x.pairing_code.as_deref().map(s));
    put_opt(
        &mut it,
        "account",
        x.account.as_ref().map(json).transpose()?.map(s),
    );
    put_opt(&mut it, "proxy", x.proxy.as_ref().map(|p| s(p.expose())));
    put_opt(&mut it, "events", events_attr(&x.events)?);
    it.insert("created_at".into(), n(x.created_at));
    it.insert("updated_at".into(), n(x.updated_at));
    Ok(it)
}

pub fn job_item(j: &Job) -> PortResult<Attrs> {
    let mut it = Attrs::new();
    it.insert("id".into(), s(j.id.as_str()));
    it.insert("session_id".into(), s(j.session_id.as_str()));
    it.insert("owner".into(), s(j.owner.as_str()));
    it.insert("recipient".into(), s(j.to.as_str()));
    it.insert("message".into(), s(json(&j.message)?));
    it.insert("wa_message_id".into(), s(&j.wa_message_id));
    it.insert("state".into(), s(j.state.as_str()));
    it.insert("attempts".into(), n(j.attempts));
    put_opt(&mut it, "error", j.error.as_deref().map(s));
    put_opt(&mut it, "pace_ms", j.pace_ms.map(n));
    it.insert("created_at".into(), n(j.created_at));
    it.insert("updated_at".into(), n(j.updated_at));
    put_opt(&mut it, "sent_at", j.sent_at.map(n));
    put_opt(&mut it, "request_id", j.request_id.as_deref().map(s));
    Ok(it)
}

pub fn dead_letter_item(d: &DeadLetter) -> Attrs {
    let mut it = Attrs::new();
    it.insert("id".into(), s(&d.id));
    it.insert("session_id".into(), s(&d.session_id));
    it.insert("body".into(), s(&d.body));
    it.insert("attempts".into(), n(d.attempts));
    it.insert("last_error".into(), s(&d.last_error));
    it.insert("failed_at".into(), n(d.failed_at));
    it
}

pub fn parked_send_item(p: &ParkedSend) -> Attrs {
    let mut it = Attrs::new();
    it.insert("id".into(), s(&p.job_id));
    it.insert("session_id".into(), s(&p.session_id));
    it.insert("parked_at".into(), n(p.parked_at));
    it
}

/// An update expression built from `SET` and `REMOVE` parts, with placeholder names so no
/// attribute name can clash with DynamoDB's reserved words.
#[derive(Debug, Default)]
pub struct Update {
    set: Vec<(String, AttributeValue)>,
    remove: Vec<String>,
}

impl Update {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&mut self, name: &str, v: AttributeValue) {
        self.set.push((name.to_owned(), v));
    }

    pub fn set_or_remove(&mut self, name: &str, v: Option<AttributeValue>) {
        match v {
            Some(v) => self.set(name, v),
            None => self.remove.push(name.to_owned()),
        }
    }

    pub fn apply(self, mut req: UpdateItemFluentBuilder) -> UpdateItemFluentBuilder {
        let mut expr = String::new();
        let mut i = 0;
        if !self.set.is_empty() {
            expr.push_str("SET ");
            for (k, (name, v)) in self.set.into_iter().enumerate() {
                if k > 0 {
                    expr.push_str(", ");
                }
                expr.push_str(&format!("#a{i} = :v{i}"));
                req = req
                    .expression_attribute_names(format!("#a{i}"), name)
                    .expression_attribute_values(format!(":v{i}"), v);
                i += 1;
            }
        }
        if !self.remove.is_empty() {
            expr.push_str(" REMOVE ");
            for (k, name) in self.remove.into_iter().enumerate() {
                if k > 0 {
                    expr.push_str(", ");
                }
                expr.push_str(&format!("#a{i}"));
                req = req.expression_attribute_names(format!("#a{i}"), name);
                i += 1;
            }
        }
        req.update_expression(expr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wagate_core::{MessageContent, OutboundMessage};

    #[test]
    fn jobs_and_sessions_survive_the_round_trip() {
        let sid = SessionId::parse("shop-1").unwrap();
        let mut job = Job::new(
            sid.clone(),
            KeyId::from_string("key_a"),
            Jid::parse("628123456789").unwrap(),
            OutboundMessage::new(MessageContent::Text {
                text: "hi".into(),
                mentions: vec![],
            }),
            1_700_000_000_000,
        );
        job.pace_ms = Some(250);
        job.error = Some("timeout".into());
        assert_eq!(Item::from(job_item(&job).unwrap()).job().unwrap(), job);

        let mut session = Session::new(sid, KeyId::from_string("key_a"), 5);
        session.qr = Some("2@abc".into());
        let back = Item::from(session_item(&session).unwrap())
            .session()
            .unwrap();
        assert_eq!(back, session);
    }

    #[test]
    fn unreadable_items_are_errors_not_panics() {
        let mut it = Attrs::new();
        it.insert("id".into(), s("x"));
        it.insert("attempts".into(), s("three"));
        let item = Item::from(it);
        assert!(item.job().is_err());
        assert!(item.dead_letter().is_err());
        assert!(item.i64("attempts").is_err());
        assert!(item.session().is_err());
    }
}

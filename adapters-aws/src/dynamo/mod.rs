//! The `Store` port on DynamoDB: one table, hash key `pk`, one index `gsi1` for the few
//! listings, TTL on `ttl` (epoch seconds) so expired jobs, counters and idempotency records go
//! away without a sweeper. Every read that a decision depends on is strongly consistent, every
//! read-modify-write is a conditional write, so many Lambdas and hosts can share the table.
//! The item layout is in `infra/README.md`.

mod counters;
mod errors;
mod item;
mod keys;
mod listing;
mod table;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;
use serde_json::Value;
use wagate_core::clock::now_ms;
use wagate_core::policy::window_end;
use wagate_core::ports::{CounterHit, DeadLetter, Page, ParkedSend, PortError, PortResult, Store};
use wagate_core::{
    Account, ApiKeyRecord, EventFilter, Job, JobId, JobState, KeyHash, KeyId, Session, SessionId,
    SessionStatus,
};

use crate::AwsSettings;
use errors::{conditional, port};
use item::{Item, n, s};

pub use table::ensure_table;

/// How long a finished or abandoned job stays readable (`JOB_TTL_DAYS`, default 30).
const DEFAULT_JOB_TTL_DAYS: i64 = 30;

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    job_ttl_secs: i64,
}

impl DynamoStore {
    pub fn new(settings: &AwsSettings) -> Self {
        Self {
            client: Client::new(&settings.sdk),
            table: settings.names.table.clone(),
            job_ttl_secs: settings
                .names
                .job_ttl_days
                .unwrap_or(DEFAULT_JOB_TTL_DAYS)
                .saturating_mul(86_400),
        }
    }

    /// Creates the table (with its index and TTL) unless it exists.
    pub async fn ensure_table(&self) -> PortResult<()> {
        ensure_table(&self.client, &self.table).await
    }

    async fn get(&self, pk: String) -> PortResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(port)?;
        Ok(out.item.map(Item::from))
    }

    async fn delete(&self, pk: String) -> PortResult<Option<Item>> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(port)?;
        Ok(out.attributes.map(Item::from))
    }

    /// Writes `it` unless an item with its `pk` exists: `false` when one does.
    async fn put_new(&self, it: item::Attrs) -> PortResult<bool> {
        conditional(
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(it))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await,
        )
    }

    /// Applies `u` to the item at `pk` if it exists: `false` when it does not.
    async fn update_existing(&self, pk: String, u: item::Update) -> PortResult<bool> {
        conditional(
            u.apply(
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .key("pk", s(pk))
                    .condition_expression("attribute_exists(pk)"),
            )
            .send()
            .await,
        )
    }

    /// Writes `it` at `pk`, in the listing `list` under the sort key `sk` (replacing what was
    /// there).
    async fn put_listed(
        &self,
        mut it: item::Attrs,
        pk: String,
        list: &str,
        sk: String,
    ) -> PortResult<()> {
        it.insert("pk".into(), s(pk));
        it.insert("gsi1pk".into(), s(list));
        it.insert("gsi1sk".into(), s(sk));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(it))
            .send()
            .await
            .map_err(port)?;
        Ok(())
    }
}

/// TTL (epoch seconds) for a record that stops mattering at `ms`; DynamoDB deletes within
/// about two days of it, so every read still checks the time itself.
fn ttl_secs(ms: i64) -> i64 {
    ms.div_euclid(1000) + 1
}

#[async_trait]
impl Store for DynamoStore {
    async fn put_api_key(&self, key: &ApiKeyRecord) -> PortResult<()> {
        let hash = key.hash.to_hex();
        // Keeps created_at and id of an existing record, like the embedded store.
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::api_key(&hash)))
            .update_expression(
                "SET #role = :role, label = :label, id = if_not_exists(id, :id), \
                 created_at = if_not_exists(created_at, :created), gsi1pk = :list, \
                 gsi1sk = if_not_exists(gsi1sk, :sk)",
            )
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":role", s(item::role_str(key.role)))
            .expression_attribute_values(":label", s(&key.label))
            .expression_attribute_values(":id", s(key.id.as_str()))
            .expression_attribute_values(":created", n(key.created_at))
            .expression_attribute_values(":list", s(keys::KEY_LIST))
            .expression_attribute_values(":sk", s(keys::by_time(key.created_at, key.id.as_str())))
            .send()
            .await
            .map_err(port)?;
        Ok(())
    }

    async fn api_key_by_hash(&self, hash: &KeyHash) -> PortResult<Option<ApiKeyRecord>> {
        self.get(keys::api_key(&hash.to_hex()))
            .await?
            .map(|i| i.api_key())
            .transpose()
    }

    async fn list_api_keys(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<ApiKeyRecord>> {
        self.page_of(keys::KEY_LIST, None, after, limit, Item::api_key)
            .await
    }

    async fn delete_api_key(&self, id: &KeyId) -> PortResult<bool> {
        let mut deleted = false;
        for k in self.all_api_keys().await? {
            if k.id == *id {
                deleted |= self
                    .delete(keys::api_key(&k.hash.to_hex()))
                    .await?
                    .is_some();
            }
        }
        Ok(deleted)
    }

    async fn create_session(&self, session: &Session) -> PortResult<bool> {
        let mut it = item::session_item(session)?;
        it.insert("pk".into(), s(keys::session(session.id.as_str())));
        it.insert("gsi1pk".into(), s(keys::SESSION_LIST));
        it.insert("gsi1sk".into(), s(session.id.as_str()));
        self.put_new(it).await
    }

    async fn get_session(&self, id: &SessionId) -> PortResult<Option<Session>> {
        self.get(keys::session(id.as_str()))
            .await?
            .map(|i| i.session())
            .transpose()
    }

    async fn list_sessions(
        &self,
        owner: Option<&KeyId>,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<Session>> {
        let owner = owner.map(KeyId::as_str);
        self.page_of(keys::SESSION_LIST, owner, after, limit, Item::session)
            .await
    }

    async fn set_session_state(
        &self,
        id: &SessionId,
        status: SessionStatus,
        qr: Option<&str>,
        pairing_code: Option<&str>,
        account: Option<&Account>,
    ) -> PortResult<bool> {
        let account = account
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| PortError::Backend(e.into()))?;
        let mut u = item::Update::new();
        u.set("status", s(status.as_str()));
        u.set("updated_at", n(now_ms()));
        u.set_or_remove("qr", qr.map(s));
        u.set_or_remove("pairing_code", pairing_code.map(s));
        u.set_or_remove("account", account.map(s));
        self.update_existing(keys::session(id.as_str()), u).await
    }

    async fn set_session_webhook(
        &self,
        id: &SessionId,
        url: Option<&str>,
        secret: Option<&str>,
    ) -> PortResult<bool> {
        let mut u = item::Update::new();
        u.set("updated_at", n(now_ms()));
        u.set_or_remove("webhook_url", url.map(s));
        u.set_or_remove("webhook_secret", secret.map(s));
        self.update_existing(keys::session(id.as_str()), u).await
    }

    async fn set_session_events(&self, id: &SessionId, events: &EventFilter) -> PortResult<bool> {
        let mut u = item::Update::new();
        u.set("updated_at", n(now_ms()));
        u.set_or_remove("events", item::events_attr(events)?);
        self.update_existing(keys::session(id.as_str()), u).await
    }

    async fn delete_session(&self, id: &SessionId) -> PortResult<bool> {
        Ok(self.delete(keys::session(id.as_str())).await?.is_some())
    }

    async fn acquire_lease(
        &self,
        id: &SessionId,
        holder: &str,
        ttl_ms: i64,
        now_ms: i64,
    ) -> PortResult<bool> {
        conditional(
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(keys::session(id.as_str())))
                .update_expression("SET lease_holder = :h, lease_until = :until")
                .condition_expression(
                    "attribute_exists(pk) AND (attribute_not_exists(lease_holder) \
                     OR lease_holder = :h OR lease_until <= :now)",
                )
                .expression_attribute_values(":h", s(holder))
                .expression_attribute_values(":until", n(now_ms.saturating_add(ttl_ms)))
                .expression_attribute_values(":now", n(now_ms))
                .send()
                .await,
        )
    }

    async fn release_lease(&self, id: &SessionId, holder: &str) -> PortResult<()> {
        conditional(
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(keys::session(id.as_str())))
                .update_expression("REMOVE lease_holder, lease_until")
                .condition_expression("lease_holder = :h")
                .expression_attribute_values(":h", s(holder))
                .send()
                .await,
        )?;
        Ok(())
    }

    async fn create_job(&self, job: &Job) -> PortResult<bool> {
        let mut it = item::job_item(job)?;
        it.insert("pk".into(), s(keys::job(job.id.as_str())));
        it.insert(
            "ttl".into(),
            n(job.created_at.div_euclid(1000) + self.job_ttl_secs),
        );
        // Listed as unstarted until its first update (see `wagate_core::unstarted`).
        it.insert("gsi1pk".into(), s(keys::unstarted(job.created_at)));
        it.insert(
            "gsi1sk".into(),
            s(keys::by_time(job.created_at, job.id.as_str())),
        );
        self.put_new(it).await
    }

    async fn get_job(&self, id: &JobId) -> PortResult<Option<Job>> {
        self.get(keys::job(id.as_str()))
            .await?
            .map(|i| i.job())
            .transpose()
    }

    async fn update_job(
        &self,
        id: &JobId,
        state: JobState,
        attempts: u32,
        error: Option<&str>,
        sent_at: Option<i64>,
    ) -> PortResult<bool> {
        let mut u = item::Update::new();
        u.set("state", s(state.as_str()));
        u.set("attempts", n(attempts));
        u.set("updated_at", n(now_ms()));
        u.set_or_remove("error", error.map(s));
        u.set_or_remove("sent_at", sent_at.map(n));
        // Started (or failed): out of the unstarted listing.
        u.set_or_remove("gsi1pk", None);
        u.set_or_remove("gsi1sk", None);
        self.update_existing(keys::job(id.as_str()), u).await
    }

    async fn list_unstarted_jobs(
        &self,
        from_ms: i64,
        to_ms: i64,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<Job>> {
        self.page_unstarted(from_ms, to_ms, after, limit).await
    }

    async fn claim_idempotency(
        &self,
        key: &str,
        value: &str,
        ttl_ms: i64,
        now_ms: i64,
    ) -> PortResult<Option<String>> {
        let pk = keys::idem(key);
        // Two rounds: a record that expires between the failed put and the read is claimed
        // on the second.
        for _ in 0..2 {
            let expires_at = now_ms.saturating_add(ttl_ms);
            let put = conditional(
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .item("pk", s(&pk))
                    .item("value", s(value))
                    .item("expires_at", n(expires_at))
                    .item("ttl", n(ttl_secs(expires_at)))
                    .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
                    .expression_attribute_values(":now", n(now_ms))
                    .send()
                    .await,
            )?;
            if put {
                return Ok(None);
            }
            if let Some(held) = self.get(pk.clone()).await?
                && held.i64("expires_at")? > now_ms
            {
                return Ok(Some(held.string("value")?));
            }
        }
        Err(PortError::Throttled)
    }

    async fn put_record(&self, key: &str, value: &str, expires_at_ms: i64) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(keys::record(key)))
            .item("value", s(value))
            .item("expires_at", n(expires_at_ms))
            .item("ttl", n(ttl_secs(expires_at_ms)))
            .send()
            .await
            .map_err(port)?;
        Ok(())
    }

    async fn get_record(&self, key: &str, now_ms: i64) -> PortResult<Option<String>> {
        match self.get(keys::record(key)).await? {
            Some(item) if item.i64("expires_at")? > now_ms => Ok(Some(item.string("value")?)),
            _ => Ok(None),
        }
    }

    async fn complete_idempotency(&self, key: &str, value: &str) -> PortResult<()> {
        conditional(
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(keys::idem(key)))
                .update_expression("SET #v = :v")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_names("#v", "value")
                .expression_attribute_values(":v", s(value))
                .send()
                .await,
        )?;
        Ok(())
    }

    async fn hit_counter(
        &self,
        key: &str,
        limit: u64,
        window_ms: i64,
        now_ms: i64,
    ) -> PortResult<CounterHit> {
        let pk = keys::counter(key);
        // Each round either counts, refuses, or loses a race to start the window (then the
        // next round finds that window current). Bounded so a broken backend cannot spin.
        for _ in 0..8 {
            if let Some(hit) = self.hit_current(&pk, limit, now_ms).await? {
                return Ok(hit);
            }
            if limit == 0 {
                return Ok(CounterHit {
                    allowed: false,
                    count: 0,
                    reset_at_ms: window_end(now_ms, window_ms),
                });
            }
            if self.hit_new_window(&pk, window_ms, now_ms).await? {
                return Ok(CounterHit {
                    allowed: true,
                    count: 1,
                    reset_at_ms: window_end(now_ms, window_ms),
                });
            }
        }
        Err(PortError::Throttled)
    }

    async fn unhit_counter(&self, key: &str, now_ms: i64) -> PortResult<()> {
        conditional(
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(keys::counter(key)))
                .update_expression("ADD #c :minus")
                .condition_expression("reset_at > :now AND #c > :zero")
                .expression_attribute_names("#c", "count")
                .expression_attribute_values(":minus", n(-1))
                .expression_attribute_values(":now", n(now_ms))
                .expression_attribute_values(":zero", n(0))
                .send()
                .await,
        )?;
        Ok(())
    }

    async fn get_config(&self, key: &str) -> PortResult<Option<Value>> {
        Ok(self.all_config().await?.remove(key))
    }

    async fn set_config(&self, key: &str, value: &Value) -> PortResult<()> {
        let json = serde_json::to_string(value).map_err(|e| PortError::Backend(e.into()))?;
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::CONFIG))
            .update_expression("SET #k = :v")
            .expression_attribute_names("#k", format!("{}{key}", keys::CONFIG_ATTR))
            .expression_attribute_values(":v", s(json))
            .send()
            .await
            .map_err(port)?;
        Ok(())
    }

    async fn all_config(&self) -> PortResult<serde_json::Map<String, Value>> {
        let Some(item) = self.get(keys::CONFIG.to_owned()).await? else {
            return Ok(serde_json::Map::new());
        };
        item.config(keys::CONFIG_ATTR)
    }

    async fn put_dead_letter(&self, dl: &DeadLetter) -> PortResult<()> {
        self.put_listed(
            item::dead_letter_item(dl),
            keys::dead(&dl.id),
            keys::DEAD_LIST,
            keys::by_time(dl.failed_at, &dl.id),
        )
        .await
    }

    async fn list_dead_letters(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<DeadLetter>> {
        self.page_of(keys::DEAD_LIST, None, after, limit, Item::dead_letter)
            .await
    }

    async fn take_dead_letter(&self, id: &str) -> PortResult<Option<DeadLetter>> {
        self.delete(keys::dead(id))
            .await?
            .map(|i| i.dead_letter())
            .transpose()
    }

    async fn put_parked_send(&self, p: &ParkedSend) -> PortResult<()> {
        let mut it = item::parked_send_item(p);
        // Gone with its job: the job's TTL counts from its creation, before the parking.
        it.insert(
            "ttl".into(),
            n(p.parked_at
                .div_euclid(1000)
                .saturating_add(self.job_ttl_secs)),
        );
        self.put_listed(
            it,
            keys::parked(&p.job_id),
            keys::PARKED_LIST,
            keys::by_time(p.parked_at, &p.job_id),
        )
        .await
    }

    async fn list_parked_sends(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<ParkedSend>> {
        self.page_of(keys::PARKED_LIST, None, after, limit, Item::parked_send)
            .await
    }

    async fn remove_parked_send(&self, job_id: &str) -> PortResult<()> {
        self.delete(keys::parked(job_id)).await?;
        Ok(())
    }
}

//! The rate-limit, quota and cooldown counters on DynamoDB: a hit adds one inside the current
//! window with a conditional update, or starts a new window with a conditional put.

use aws_sdk_dynamodb::types::ReturnValue;
use wagate_core::policy::window_end;
use wagate_core::ports::{CounterHit, PortResult};

use super::errors::{Failure, conditional, failure};
use super::item::{Item, n, s};
use super::{DynamoStore, ttl_secs};

impl DynamoStore {
    /// One attempt to count a hit inside the current window. `None` when there is no current
    /// window (no item, or it ended).
    pub(super) async fn hit_current(
        &self,
        pk: &str,
        limit: u64,
        now: i64,
    ) -> PortResult<Option<CounterHit>> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .update_expression("ADD #c :one")
            .condition_expression("reset_at > :now AND #c < :limit")
            .expression_attribute_names("#c", "count")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":limit", n(limit))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match r {
            Ok(out) => {
                let item = Item::from(out.attributes.unwrap_or_default());
                Ok(Some(CounterHit {
                    allowed: true,
                    count: item.u64("count")?,
                    reset_at_ms: item.i64("reset_at")?,
                }))
            }
            Err(e) => match failure(e) {
                Failure::Port(p) => Err(p),
                Failure::Condition => {
                    let Some(item) = self.get(pk.to_owned()).await? else {
                        return Ok(None);
                    };
                    let reset_at = item.i64("reset_at")?;
                    if reset_at <= now {
                        return Ok(None);
                    }
                    let count = item.u64("count")?;
                    if count < limit {
                        // Taken back (unhit) between the two calls: try again.
                        return Box::pin(self.hit_current(pk, limit, now)).await;
                    }
                    Ok(Some(CounterHit {
                        allowed: false,
                        count,
                        reset_at_ms: reset_at,
                    }))
                }
            },
        }
    }

    /// Starts a new window with this hit; false when another caller started one first.
    pub(super) async fn hit_new_window(
        &self,
        pk: &str,
        window_ms: i64,
        now: i64,
    ) -> PortResult<bool> {
        let reset_at = window_end(now, window_ms);
        conditional(
            self.client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(pk))
                .item("count", n(1))
                .item("reset_at", n(reset_at))
                .item("ttl", n(ttl_secs(reset_at)))
                .condition_expression("attribute_not_exists(pk) OR reset_at <= :now")
                .expression_attribute_values(":now", n(now))
                .send()
                .await,
        )
    }
}

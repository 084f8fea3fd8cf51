//! Paged listings on the `gsi1` index: a page starts after a sort key (`gsi1sk > :a`) and
//! follows DynamoDB's own pages until it holds `limit` items (after any filter) and one more,
//! so the last page is known without another call. The page token is the `gsi1sk` of the
//! page's last item.

use wagate_core::Job;
use wagate_core::ports::{Page, PortResult};

use super::errors::port;
use super::item::{Item, s};
use super::{DynamoStore, keys, table};

/// The most items one query request asks for.
const REQUEST_MAX: usize = 1000;

impl DynamoStore {
    /// One page of the listing `gsi1pk`, optionally only items whose `owner` is `owner`.
    pub(super) async fn page(
        &self,
        gsi1pk: &str,
        owner: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<Item>> {
        let mut items: Vec<Item> = Vec::new();
        let mut start = None;
        let want = limit.saturating_add(1);
        loop {
            let ask = (want - items.len()).min(REQUEST_MAX);
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(table::INDEX)
                .expression_attribute_values(":p", s(gsi1pk))
                .set_exclusive_start_key(start)
                .limit(i32::try_from(ask).unwrap_or(i32::MAX));
            q = match after {
                Some(a) => q
                    .key_condition_expression("gsi1pk = :p AND gsi1sk > :a")
                    .expression_attribute_values(":a", s(a)),
                None => q.key_condition_expression("gsi1pk = :p"),
            };
            if let Some(o) = owner {
                q = q
                    .filter_expression("#o = :o")
                    .expression_attribute_names("#o", "owner")
                    .expression_attribute_values(":o", s(o));
            }
            let out = q.send().await.map_err(port)?;
            items.extend(out.items.unwrap_or_default().into_iter().map(Item::from));
            start = out.last_evaluated_key;
            if start.is_none() || items.len() >= want {
                break;
            }
        }
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|i| i.string("gsi1sk")).transpose()?
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// [`Self::page`], each item read by `read`.
    pub(super) async fn page_of<T>(
        &self,
        gsi1pk: &str,
        owner: Option<&str>,
        after: Option<&str>,
        limit: usize,
        read: fn(&Item) -> PortResult<T>,
    ) -> PortResult<Page<T>> {
        let page = self.page(gsi1pk, owner, after, limit).await?;
        Ok(Page {
            items: page.items.iter().map(read).collect::<PortResult<_>>()?,
            next: page.next,
        })
    }

    /// Jobs created in `[from_ms, to_ms)` and never updated, walking the minute listings
    /// (`keys::unstarted`) in order; the page token is the last job's `gsi1sk`, which also
    /// names the minute to go on in.
    pub(super) async fn page_unstarted(
        &self,
        from_ms: i64,
        to_ms: i64,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<Job>> {
        let (from_key, to_key) = (keys::by_time(from_ms, ""), keys::by_time(to_ms, ""));
        let mut cursor = match after {
            Some(a) if a > from_key.as_str() => a.to_owned(),
            _ => from_key.clone(),
        };
        let mut minute = keys::time_of(&cursor).unwrap_or(from_ms.max(0));
        let mut jobs: Vec<(String, Job)> = Vec::new();
        let mut more = false;
        'minutes: while minute < to_ms.max(0) && jobs.len() < limit {
            loop {
                let page = self
                    .page(
                        &keys::unstarted(minute),
                        None,
                        Some(&cursor),
                        limit - jobs.len(),
                    )
                    .await?;
                for item in &page.items {
                    let sk = item.string("gsi1sk")?;
                    if sk >= to_key {
                        break 'minutes;
                    }
                    jobs.push((sk, item.job()?));
                }
                match page.next {
                    Some(next) if jobs.len() < limit => cursor = next,
                    Some(_) => {
                        more = true;
                        break 'minutes;
                    }
                    None => break,
                }
            }
            // The next minute starts at its first millisecond.
            minute = (minute.div_euclid(60_000) + 1).saturating_mul(60_000);
            cursor = from_key.clone();
        }
        // A full page may be followed by more in a later minute: say so, and let the next call
        // find out (it may be empty).
        let next = if more || (jobs.len() >= limit && minute < to_ms) {
            jobs.last().map(|(sk, _)| sk.clone())
        } else {
            None
        };
        Ok(Page {
            items: jobs.into_iter().map(|(_, j)| j).collect(),
            next,
        })
    }
}

//! The `Queue` port on SQS. wagate's queue names map to `<prefix><name>` (plus `.fifo` for
//! FIFO queues, where the whole queue is one message group, so order is strict). SQS counts
//! time in whole seconds: visibility and delays are rounded up to the next second.
//! Deduplication ids work on FIFO queues (five minutes from the send); standard queues have
//! none, which is why only the events queue (delivered at least once anyway) is standard.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use wagate_core::ports::{PortError, PortResult, Queue, QueueKind, QueueMessage, QueueSpec, names};

use crate::AwsSettings;
use crate::s3::aws_error_text;

/// SQS caps one receive at 10 messages and a long poll at 20 s.
const MAX_RECEIVE: usize = 10;
const MAX_WAIT_SECS: i32 = 20;

#[derive(Debug)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    prefix: String,
    urls: Mutex<HashMap<String, String>>,
    /// Receives after which SQS moves a send to the dead-letter queue of sends.
    send_max_receives: u32,
    /// The ARN of that queue, once known.
    dead_sends_arn: tokio::sync::OnceCell<String>,
}

/// Receives after which an event moves to the events' dead-letter queue: after the
/// dispatcher's own attempts (`WEBHOOK_MAX_ATTEMPTS`, 8), which store the dead letter first.
pub const EVENTS_MAX_RECEIVES: u32 = 10;
/// The events' dead-letter queue (standard, like the events queue).
pub const EVENTS_DLQ: &str = "events-dlq";

fn secs_up(d: Duration) -> i32 {
    i32::try_from(d.as_millis().div_ceil(1000)).unwrap_or(i32::MAX)
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> PortError {
    let text = aws_error_text(&e);
    if text.contains("Throttl") || text.contains("RequestThrottled") {
        return PortError::Throttled;
    }
    PortError::Backend(anyhow::Error::new(e).context(text))
}

impl SqsQueue {
    pub fn new(settings: &AwsSettings) -> Self {
        Self {
            client: aws_sdk_sqs::Client::new(&settings.sdk),
            prefix: settings.names.queue_prefix.clone(),
            urls: Mutex::new(HashMap::new()),
            send_max_receives: settings.names.send_max_receives,
            dead_sends_arn: tokio::sync::OnceCell::new(),
        }
    }

    async fn arn(&self, queue: &str) -> PortResult<String> {
        let url = self.url(queue).await?;
        self.client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| self.gone(queue, e))?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .ok_or_else(|| PortError::Backend(anyhow::anyhow!("queue {queue} has no ARN")))
    }

    fn redrive_policy(arn: &str, max_receives: u32) -> String {
        format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"{max_receives}"}}"#)
    }

    /// The redrive policy of a new send queue (creating the dead-letter queue of sends the
    /// first time).
    async fn send_redrive_policy(&self) -> PortResult<String> {
        let arn = self
            .dead_sends_arn
            .get_or_try_init(|| async {
                self.create(names::DEAD_SENDS, QueueSpec::FIFO).await?;
                self.arn(names::DEAD_SENDS).await
            })
            .await?;
        Ok(Self::redrive_policy(arn, self.send_max_receives))
    }

    /// Gives the events queue its dead-letter queue (`events-dlq`); for provisioning.
    pub async fn ensure_events_dead_letter_queue(&self) -> PortResult<()> {
        self.create(names::EVENTS, QueueSpec::STANDARD).await?;
        self.create(EVENTS_DLQ, QueueSpec::STANDARD).await?;
        let arn = self.arn(EVENTS_DLQ).await?;
        let url = self.url(names::EVENTS).await?;
        self.client
            .set_queue_attributes()
            .queue_url(url)
            .attributes(
                QueueAttributeName::RedrivePolicy,
                Self::redrive_policy(&arn, EVENTS_MAX_RECEIVES),
            )
            .send()
            .await
            .map_err(|e| self.gone(names::EVENTS, e))?;
        Ok(())
    }

    fn sqs_name(&self, queue: &str, fifo: bool) -> String {
        if fifo {
            format!("{}{queue}.fifo", self.prefix)
        } else {
            format!("{}{queue}", self.prefix)
        }
    }

    fn cached(&self, queue: &str) -> Option<String> {
        self.urls.lock().ok()?.get(queue).cloned()
    }

    fn remember(&self, queue: &str, url: &str) {
        if let Ok(mut m) = self.urls.lock() {
            m.insert(queue.to_owned(), url.to_owned());
        }
    }

    fn forget(&self, queue: &str) {
        if let Ok(mut m) = self.urls.lock() {
            m.remove(queue);
        }
    }

    /// The queue's URL: FIFO name first (wagate's queues are mostly FIFO), then standard.
    async fn url(&self, queue: &str) -> PortResult<String> {
        if let Some(u) = self.cached(queue) {
            return Ok(u);
        }
        for fifo in [true, false] {
            match self
                .client
                .get_queue_url()
                .queue_name(self.sqs_name(queue, fifo))
                .send()
                .await
            {
                Ok(out) => {
                    if let Some(u) = out.queue_url() {
                        self.remember(queue, u);
                        return Ok(u.to_owned());
                    }
                }
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_queue_does_not_exist()) => {}
                Err(e) => return Err(backend(e)),
            }
        }
        Err(PortError::NotFound(format!("queue {queue}")))
    }

    /// Maps an SQS error, treating "no such queue" as `NotFound` (and forgetting its URL).
    fn gone<E>(&self, queue: &str, e: aws_sdk_sqs::error::SdkError<E>) -> PortError
    where
        E: std::error::Error + aws_sdk_sqs::error::ProvideErrorMetadata + Send + Sync + 'static,
    {
        let missing = e
            .as_service_error()
            .and_then(|s| s.code())
            .is_some_and(|c| c.contains("NonExistentQueue") || c.contains("QueueDoesNotExist"));
        if missing {
            self.forget(queue);
            PortError::NotFound(format!("queue {queue}"))
        } else {
            backend(e)
        }
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn create(&self, queue: &str, spec: QueueSpec) -> PortResult<()> {
        let fifo = spec.kind == QueueKind::Fifo;
        let mut req = self
            .client
            .create_queue()
            .queue_name(self.sqs_name(queue, fifo));
        if fifo {
            req = req
                .attributes(QueueAttributeName::FifoQueue, "true")
                .attributes(QueueAttributeName::ContentBasedDeduplication, "false");
        }
        if queue.starts_with("send-") {
            req = req.attributes(
                QueueAttributeName::RedrivePolicy,
                self.send_redrive_policy().await?,
            );
        }
        let out = req.send().await.map_err(backend)?;
        if let Some(u) = out.queue_url() {
            self.remember(queue, u);
        }
        Ok(())
    }

    async fn delete(&self, queue: &str) -> PortResult<()> {
        match self.url(queue).await {
            Ok(url) => {
                self.forget(queue);
                match self.client.delete_queue().queue_url(url).send().await {
                    Ok(_) => Ok(()),
                    Err(e) => match self.gone(queue, e) {
                        PortError::NotFound(_) => Ok(()),
                        other => Err(other),
                    },
                }
            }
            Err(PortError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn send_in_group(
        &self,
        queue: &str,
        group: &str,
        dedup_id: &str,
        body: &str,
    ) -> PortResult<()> {
        let url = self.url(queue).await?;
        let mut req = self
            .client
            .send_message()
            .queue_url(&url)
            .message_body(body);
        if url.ends_with(".fifo") {
            req = req
                .message_group_id(group)
                .message_deduplication_id(dedup_id);
        }
        req.send().await.map_err(|e| self.gone(queue, e))?;
        Ok(())
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> PortResult<Vec<QueueMessage>> {
        let url = self.url(queue).await?;
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.clamp(1, MAX_RECEIVE) as i32)
            .visibility_timeout(secs_up(visibility).max(1))
            .wait_time_seconds(secs_up(wait).min(MAX_WAIT_SECS))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| self.gone(queue, e))?;
        Ok(out
            .messages()
            .iter()
            .filter_map(|m| {
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1);
                Some(QueueMessage {
                    body: m.body()?.to_owned(),
                    receipt: m.receipt_handle()?.to_owned(),
                    receive_count,
                })
            })
            .collect())
    }

    async fn ack(&self, queue: &str, receipt: &str) -> PortResult<()> {
        let url = self.url(queue).await?;
        match self
            .client
            .delete_message()
            .queue_url(url)
            .receipt_handle(receipt)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // A stale receipt: the message was redelivered to someone else, who will ack it.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_receipt_handle_is_invalid()) =>
            {
                Ok(())
            }
            Err(e) => Err(self.gone(queue, e)),
        }
    }

    async fn nack(&self, queue: &str, receipt: &str, delay: Duration) -> PortResult<()> {
        self.set_visibility(queue, receipt, secs_up(delay)).await
    }

    async fn extend(&self, queue: &str, receipt: &str, visibility: Duration) -> PortResult<()> {
        self.set_visibility(queue, receipt, secs_up(visibility).max(1))
            .await
    }

    async fn depth(&self, queue: &str) -> PortResult<u64> {
        let url = self.url(queue).await?;
        let names = [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ];
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .set_attribute_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(|e| self.gone(queue, e))?;
        Ok(names
            .iter()
            .filter_map(|n| out.attributes()?.get(n)?.parse::<u64>().ok())
            .sum())
    }
}

impl SqsQueue {
    async fn set_visibility(&self, queue: &str, receipt: &str, secs: i32) -> PortResult<()> {
        let url = self.url(queue).await?;
        match self
            .client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt)
            .visibility_timeout(secs)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Stale receipts are no-ops, as the port says.
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_receipt_handle_is_invalid() || s.is_message_not_inflight()
                }) =>
            {
                Ok(())
            }
            Err(e) => Err(self.gone(queue, e)),
        }
    }
}

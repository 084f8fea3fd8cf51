//! The port contract suites on the AWS adapters, against a local AWS emulator (moto server).
//! `scripts/test.sh` starts one and sets `WAGATE_TEST_AWS_ENDPOINT`; each test gets its own
//! table, bucket and queue prefix.

use std::sync::Arc;

use aws_sdk_s3::config::{Credentials, Region};
use wagate_aws::{AwsSettings, DynamoStore, S3Blobs, SqsQueue};
use wagate_core::ports::{Blobs, Queue, Store};
use wagate_core::{blobs_contract_tests, queue_contract_tests, store_contract_tests};

async fn settings() -> AwsSettings {
    let endpoint = std::env::var("WAGATE_TEST_AWS_ENDPOINT").expect(
        "WAGATE_TEST_AWS_ENDPOINT is not set: run the tests with `bash scripts/test.sh`, which starts moto",
    );
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .load()
        .await;
    let unique = wagate_core::random_token(10).to_lowercase();
    AwsSettings {
        sdk,
        endpoint: Some(endpoint),
        bucket: format!("wagate-test-{unique}"),
        queue_prefix: format!("t{unique}-"),
        table: format!("wagate-test-{unique}"),
        job_ttl_days: None,
    }
}

async fn blobs() -> Arc<dyn Blobs> {
    let b = S3Blobs::new(&settings().await);
    b.ensure_bucket().await.expect("bucket");
    Arc::new(b)
}

async fn queue() -> Arc<dyn Queue> {
    Arc::new(SqsQueue::new(&settings().await))
}

async fn store() -> Arc<dyn Store> {
    let s = DynamoStore::new(&settings().await);
    s.ensure_table().await.expect("table");
    Arc::new(s)
}

mod store_suite {
    use super::*;
    store_contract_tests!(store());
}

mod blobs_suite {
    use super::*;
    blobs_contract_tests!(blobs());
}

mod queue_suite {
    use super::*;
    queue_contract_tests!(queue());
}

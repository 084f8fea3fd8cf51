//! wagate's ports on AWS: records in DynamoDB, blobs in S3 and queues in SQS, configured from the standard AWS
//! environment (`AWS_REGION`, credentials, and `AWS_ENDPOINT_URL` for LocalStack or moto,
//! which also switches S3 to path-style addressing). The same contract suites as the embedded
//! adapters run against them on a local emulator.

mod config;
mod dynamo;
mod s3;
mod sqs;

pub use config::{AwsNames, AwsSettings};
pub use dynamo::DynamoStore;
pub use s3::S3Blobs;
pub use sqs::{EVENTS_DLQ, EVENTS_MAX_RECEIVES, SqsQueue};

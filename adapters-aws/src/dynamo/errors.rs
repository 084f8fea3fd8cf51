//! What a failed DynamoDB call means to the store: a condition that did not hold, throttling,
//! or a backend error with AWS's own message.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use wagate_core::ports::{PortError, PortResult};

use crate::s3::aws_error_text;

/// What a failed DynamoDB call means to the caller.
pub(super) enum Failure {
    /// The write's condition did not hold.
    Condition,
    Port(PortError),
}

pub(super) fn failure<E, R>(e: aws_sdk_dynamodb::error::SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match e.code() {
        Some("ConditionalCheckFailedException") => Failure::Condition,
        Some(
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "TransactionConflictException",
        ) => Failure::Port(PortError::Throttled),
        _ => {
            let text = aws_error_text(&e);
            Failure::Port(PortError::Backend(anyhow::Error::new(e).context(text)))
        }
    }
}

/// For calls with no condition: every failure is a port error.
pub(super) fn port<E, R>(e: aws_sdk_dynamodb::error::SdkError<E, R>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match failure(e) {
        Failure::Condition => PortError::Backend(anyhow::anyhow!("unexpected condition failure")),
        Failure::Port(p) => p,
    }
}

/// `Ok(true)` when a conditional write went through, `Ok(false)` when its condition failed.
pub(super) fn conditional<T, E, R>(
    r: Result<T, aws_sdk_dynamodb::error::SdkError<E, R>>,
) -> PortResult<bool>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match r {
        Ok(_) => Ok(true),
        Err(e) => match failure(e) {
            Failure::Condition => Ok(false),
            Failure::Port(p) => Err(p),
        },
    }
}

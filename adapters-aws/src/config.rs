//! Where the AWS resources are: the SDK configuration plus wagate's own names. The names are
//! given by the wiring (`wagate`'s one configuration); the SDK reads its own settings
//! (region, credentials, `AWS_ENDPOINT_URL`) the way every AWS tool does.

use aws_config::BehaviorVersion;
pub use wagate_core::aws_names::AwsNames;

/// The SDK configuration and the names of wagate's resources.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    pub sdk: aws_config::SdkConfig,
    pub names: AwsNames,
}

impl AwsSettings {
    /// The SDK's own defaults and credential chain, with wagate's `names`.
    pub async fn load(names: AwsNames) -> Self {
        let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
        Self { sdk, names }
    }

    /// Settings for a local emulator at `endpoint` (moto), with dummy credentials and names
    /// made unique by `unique`, so tests sharing one emulator never meet.
    pub async fn emulator(endpoint: &str, unique: &str) -> Self {
        use aws_sdk_s3::config::{Credentials, Region};
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .load()
            .await;
        let names = AwsNames {
            endpoint: Some(endpoint.to_owned()),
            table: format!("wagate-test-{unique}"),
            bucket: format!("wagate-test-{unique}"),
            queue_prefix: format!("t{unique}-"),
            ..AwsNames::default()
        };
        Self { sdk, names }
    }
}

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
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https_client())
            .load()
            .await;
        Self { sdk, names }
    }

    /// The SDK configuration from the environment alone, for the Lambda functions: the region
    /// (`AWS_REGION`), the function role's credentials (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, all set by Lambda) and `AWS_ENDPOINT_URL`
    /// when given. [`AwsSettings::load`]'s default chain also reads profile files and asks
    /// instance metadata, ECS and STS, which a function never needs: left out, their clients
    /// are not linked into the bootstraps.
    pub fn from_env(names: AwsNames) -> Self {
        use aws_config::Region;
        use aws_config::environment::EnvironmentVariableCredentialsProvider;
        use aws_sdk_s3::config::SharedCredentialsProvider;
        let mut sdk = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(std::env::var("AWS_REGION").ok().map(Region::new))
            .credentials_provider(SharedCredentialsProvider::new(
                EnvironmentVariableCredentialsProvider::new(),
            ))
            .http_client(https_client());
        if let Ok(url) = std::env::var("AWS_ENDPOINT_URL") {
            sdk = sdk.endpoint_url(url);
        }
        Self {
            sdk: sdk.build(),
            names,
        }
    }

    /// Settings for a local emulator at `endpoint` (moto), with dummy credentials and names
    /// made unique by `unique`, so tests sharing one emulator never meet.
    pub async fn emulator(endpoint: &str, unique: &str) -> Self {
        use aws_sdk_s3::config::{Credentials, Region};
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https_client())
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

/// The SDK's HTTPS client: hyper and rustls with ring (see the workspace manifest for why not
/// the SDK's default).
fn https_client() -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

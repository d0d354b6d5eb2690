//! AWS access: the SdkConfig loaded once (credentials, endpoint, CA bundle, retries) and
//! clients per region sharing one HTTP connection pool. Counts API requests per operation.

use anyhow::{Context, Result, bail};
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// How to reach AWS, beyond the standard environment and profile settings.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// `--endpoint-url`; `AWS_ENDPOINT_URL` is honoured by the SDK itself.
    pub endpoint_url: Option<String>,
    /// Extra CA certificates to trust (`AWS_CA_BUNDLE`, as the AWS CLI reads it).
    pub ca_bundle: Option<std::path::PathBuf>,
    /// Maximum attempts per request (throttling and transient errors), SDK retry machinery.
    pub max_attempts: Option<u32>,
}

#[derive(Clone)]
pub struct Aws {
    config: aws_config::SdkConfig,
    path_style: bool,
    calls: ApiCalls,
    identity: Arc<tokio::sync::OnceCell<Identity>>,
}

/// Who the credentials are (STS GetCallerIdentity), asked once per run.
#[derive(Debug, Clone)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

impl Aws {
    pub async fn load(options: &AwsOptions) -> Result<Self> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(
            RetryConfig::standard().with_max_attempts(options.max_attempts.unwrap_or(5)),
        );
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        // As the AWS CLI: AWS_CA_BUNDLE, else the selected profile's `ca_bundle`.
        let bundle = match &options.ca_bundle {
            Some(path) => Some(path.clone()),
            None => profile_ca_bundle().await,
        };
        if let Some(bundle) = &bundle {
            loader = loader.http_client(https_client_trusting(bundle)?);
        }
        let config = loader.load().await;
        // With a custom endpoint (an emulator, a VPC endpoint) the bucket cannot be a host name.
        let path_style = config.endpoint_url().is_some();
        Ok(Aws {
            config,
            path_style,
            calls: ApiCalls::default(),
            identity: Arc::default(),
        })
    }

    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.config)
            .region(aws_sdk_s3::config::Region::new(region.to_string()))
            .force_path_style(self.path_style)
            .interceptor(self.calls.clone())
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    pub fn ssm(&self, region: &str) -> aws_sdk_ssm::Client {
        let conf = aws_sdk_ssm::config::Builder::from(&self.config)
            .region(aws_sdk_ssm::config::Region::new(region.to_string()))
            .interceptor(self.calls.clone())
            .build();
        aws_sdk_ssm::Client::from_conf(conf)
    }

    pub fn sts(&self, region: &str) -> aws_sdk_sts::Client {
        let conf = aws_sdk_sts::config::Builder::from(&self.config)
            .region(aws_sdk_sts::config::Region::new(region.to_string()))
            .interceptor(self.calls.clone())
            .build();
        aws_sdk_sts::Client::from_conf(conf)
    }

    /// The 12-digit account id of the caller.
    pub async fn account_id(&self, region: &str) -> Result<String> {
        Ok(self.identity(region).await?.account.clone())
    }

    /// The caller's account and ARN (one STS call per run).
    pub async fn identity(&self, region: &str) -> Result<&Identity> {
        self.identity
            .get_or_try_init(|| async {
                let out = self
                    .sts(region)
                    .get_caller_identity()
                    .send()
                    .await
                    .context(
                        "asking STS who the caller is (GetCallerIdentity): check your AWS credentials",
                    )?;
                let account = out
                    .account
                    .filter(|a| a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()))
                    .context("STS GetCallerIdentity returned no valid account id")?;
                Ok(Identity {
                    account,
                    arn: out.arn.unwrap_or_else(|| "(unknown caller)".into()),
                })
            })
            .await
    }

    pub fn calls(&self) -> &ApiCalls {
        &self.calls
    }
}

/// The `ca_bundle` setting of the selected profile (AWS_PROFILE, AWS_CONFIG_FILE honoured).
async fn profile_ca_bundle() -> Option<std::path::PathBuf> {
    use aws_types::os_shim_internal::{Env, Fs};
    let files = aws_runtime::env_config::file::EnvConfigFiles::default();
    let profiles = aws_config::profile::load(&Fs::real(), &Env::real(), &files, None)
        .await
        .ok()?;
    profiles.get("ca_bundle").map(std::path::PathBuf::from)
}

/// An HTTPS client that trusts the system roots plus the certificates of `bundle`, as the
/// AWS CLI does with `AWS_CA_BUNDLE`.
pub fn https_client_trusting(
    bundle: &Path,
) -> Result<aws_smithy_runtime_api::client::http::SharedHttpClient> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let pem = std::fs::read(bundle)
        .with_context(|| format!("reading the CA bundle {} (AWS_CA_BUNDLE)", bundle.display()))?;
    // The TLS stack only parses the bundle at the first request, and panics there on anything
    // it cannot use: check every certificate now, exactly as it will.
    let mut roots = rustls::RootCertStore::empty();
    for (n, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        let cert = cert.with_context(|| {
            format!(
                "the CA bundle {} (AWS_CA_BUNDLE) is not valid PEM",
                bundle.display()
            )
        })?;
        roots.add(cert).map_err(|e| {
            anyhow::anyhow!(
                "certificate {} of the CA bundle {} (AWS_CA_BUNDLE) is not a usable CA certificate: {e}",
                n + 1,
                bundle.display()
            )
        })?;
    }
    if roots.is_empty() {
        bail!(
            "the CA bundle {} (AWS_CA_BUNDLE) holds no certificate",
            bundle.display()
        );
    }
    let trust = TrustStore::default().with_pem_certificate(pem);
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .context("building the TLS context for AWS_CA_BUNDLE")?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
}

/// Requests sent, by `Service.Operation`, retries included. Shared by every client.
#[derive(Debug, Clone, Default)]
pub struct ApiCalls(Arc<Mutex<BTreeMap<String, u64>>>);

impl ApiCalls {
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

impl Intercept for ApiCalls {
    fn name(&self) -> &'static str {
        "ssm-keeper-api-calls"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let key = cfg
            .load::<Metadata>()
            .map(|m| format!("{}.{}", m.service(), m.name()))
            .unwrap_or_else(|| "unknown".into());
        if let Ok(mut map) = self.0.lock() {
            *map.entry(key).or_default() += 1;
        }
        Ok(())
    }
}

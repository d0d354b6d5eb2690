//! AWS access: the SdkConfig loaded once (credentials, endpoint, CA bundle, retries, timeouts)
//! and clients per region sharing one HTTP connection pool; SSM requests paced per region and API
//! class, every attempt, retries included. Counts API requests per operation.

use anyhow::{Context, Result, bail};
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
    BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use bytes::Bytes;

use super::tls;
use crate::core::cause::CREDENTIAL_CODES;
use crate::core::pacing::{Lane, ssm_class};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How to reach AWS, beyond the standard environment and profile settings.
#[derive(Debug, Clone)]
pub struct AwsOptions {
    /// `--endpoint-url`; `AWS_ENDPOINT_URL` is honoured by the SDK itself.
    pub endpoint_url: Option<String>,
    /// `--profile`; `AWS_PROFILE` is honoured by the SDK itself.
    pub profile: Option<String>,
    /// `--region`: the region of the requests no stack region decides (STS); `AWS_REGION` and
    /// the profile's `region` are honoured by the SDK itself.
    pub region: Option<String>,
    /// Extra CA certificates to trust (`AWS_CA_BUNDLE`, as the AWS CLI reads it).
    pub ca_bundle: Option<std::path::PathBuf>,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time to wait for response bytes: a stalled response is cut after this.
    pub read_timeout: Duration,
}

impl Default for AwsOptions {
    fn default() -> Self {
        AwsOptions {
            endpoint_url: None,
            profile: None,
            region: None,
            ca_bundle: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
        }
    }
}

pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// One attempt of any request, upload included, ends after this.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// One request with all its retries ends after this.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// Attempts per request when neither AWS_MAX_ATTEMPTS nor the profile's max_attempts says.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

#[derive(Clone)]
pub struct Aws {
    config: aws_config::SdkConfig,
    http: SharedHttpClient,
    path_style: bool,
    /// `--region`, for the requests no stack region decides.
    region_flag: Option<String>,
    calls: ApiCalls,
    identity: Arc<tokio::sync::OnceCell<Identity>>,
    /// The pacing of every SSM request of the run.
    lanes: Lanes,
}

/// Who the credentials are (STS GetCallerIdentity), asked once per run.
#[derive(Debug, Clone)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

impl Aws {
    pub async fn load(options: &AwsOptions) -> Result<Self> {
        let profile = ProfileSettings::read(options.profile.as_deref()).await;
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts);
        // As the AWS CLI: AWS_MAX_ATTEMPTS / AWS_RETRY_MODE, else the profile's max_attempts /
        // retry_mode (aws-config reads both); only when neither says, our default.
        let retries = RetrySettings {
            max_attempts: std::env::var("AWS_MAX_ATTEMPTS")
                .ok()
                .or(profile.max_attempts.clone()),
            retry_mode: std::env::var("AWS_RETRY_MODE")
                .ok()
                .or(profile.retry_mode.clone()),
        };
        if !retries.check()? {
            loader = loader
                .retry_config(RetryConfig::standard().with_max_attempts(DEFAULT_MAX_ATTEMPTS));
        }
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(name) = &options.profile {
            loader = loader.profile_name(name);
        }
        if let Some(region) = &options.region {
            loader = loader.region(aws_types::region::Region::new(region.clone()));
        }
        // As the AWS CLI: AWS_CA_BUNDLE, else the selected profile's `ca_bundle`.
        let bundle = options.ca_bundle.clone().or(profile.ca_bundle);
        let http = tls::https_client(bundle.as_deref())?;
        let config = loader.http_client(http.clone()).load().await;
        // With a custom endpoint (an emulator, a VPC endpoint) the bucket cannot be a host name.
        let path_style = config.endpoint_url().is_some();
        Ok(Aws {
            config,
            http,
            path_style,
            calls: ApiCalls::default(),
            identity: Arc::default(),
            lanes: Lanes::default(),
            region_flag: options.region.clone(),
        })
    }

    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.config)
            .region(aws_sdk_s3::config::Region::new(region.to_string()))
            .force_path_style(self.path_style)
            .interceptor(self.calls.clone())
            .interceptor(ExpectedOwner(self.identity.clone()))
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// This run's AWS access with at most `rps` SSM requests a second per region and API class
    /// (`--max-rps`; 0: no ceiling, the lanes pace to AWS's default quotas), for every SSM
    /// request of the command: its metadata and lock as well as its parameters. Call it before
    /// the command's first SSM request: the lanes start afresh.
    pub fn at_most(&self, rps: u32) -> Aws {
        Aws {
            lanes: Lanes::with_ceiling((rps > 0).then_some(f64::from(rps))),
            ..self.clone()
        }
    }

    /// An SSM client whose every request attempt, retries included, waits for its slot in the
    /// lane of its region and API class (see `Lanes`).
    pub fn ssm(&self, region: &str) -> aws_sdk_ssm::Client {
        let conf = aws_sdk_ssm::config::Builder::from(&self.config)
            .region(aws_sdk_ssm::config::Region::new(region.to_string()))
            .http_client(Paced {
                inner: self.http.clone(),
                lanes: self.lanes.clone(),
                region: region.to_string(),
            })
            .interceptor(self.calls.clone())
            .build();
        aws_sdk_ssm::Client::from_conf(conf)
    }

    pub fn cloudwatch(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        let conf = aws_sdk_cloudwatch::config::Builder::from(&self.config)
            .region(aws_sdk_cloudwatch::config::Region::new(region.to_string()))
            .interceptor(self.calls.clone())
            .build();
        aws_sdk_cloudwatch::Client::from_conf(conf)
    }

    pub fn events(&self, region: &str) -> aws_sdk_eventbridge::Client {
        let conf = aws_sdk_eventbridge::config::Builder::from(&self.config)
            .region(aws_sdk_eventbridge::config::Region::new(region.to_string()))
            .interceptor(self.calls.clone())
            .build();
        aws_sdk_eventbridge::Client::from_conf(conf)
    }

    pub fn logs(&self, region: &str) -> aws_sdk_cloudwatchlogs::Client {
        let conf = aws_sdk_cloudwatchlogs::config::Builder::from(&self.config)
            .region(aws_sdk_cloudwatchlogs::config::Region::new(
                region.to_string(),
            ))
            .interceptor(self.calls.clone())
            .build();
        aws_sdk_cloudwatchlogs::Client::from_conf(conf)
    }

    pub fn tagging(&self, region: &str) -> aws_sdk_resourcegroupstagging::Client {
        let conf = aws_sdk_resourcegroupstagging::config::Builder::from(&self.config)
            .region(aws_sdk_resourcegroupstagging::config::Region::new(
                region.to_string(),
            ))
            .interceptor(self.calls.clone())
            .build();
        aws_sdk_resourcegroupstagging::Client::from_conf(conf)
    }

    pub fn kms(&self, region: &str) -> aws_sdk_kms::Client {
        let conf = aws_sdk_kms::config::Builder::from(&self.config)
            .region(aws_sdk_kms::config::Region::new(region.to_string()))
            .interceptor(self.calls.clone())
            .build();
        aws_sdk_kms::Client::from_conf(conf)
    }

    /// STS, in the `--region` when one was given (as the AWS CLI's), else in `region`.
    pub fn sts(&self, region: &str) -> aws_sdk_sts::Client {
        let region = self
            .region_flag
            .clone()
            .unwrap_or_else(|| region.to_string());
        let conf = aws_sdk_sts::config::Builder::from(&self.config)
            .region(aws_sdk_sts::config::Region::new(region))
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
                    .context("asking STS who the caller is (GetCallerIdentity)")?;
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

    /// The endpoint every request goes to, when not AWS's own (`--endpoint-url`,
    /// AWS_ENDPOINT_URL).
    pub fn endpoint_url(&self) -> Option<&str> {
        self.config.endpoint_url()
    }
}

/// The settings of the selected profile (AWS_PROFILE, AWS_CONFIG_FILE honoured) that ssm-keeper
/// reads itself.
#[derive(Debug, Default)]
struct ProfileSettings {
    ca_bundle: Option<std::path::PathBuf>,
    max_attempts: Option<String>,
    retry_mode: Option<String>,
}

impl ProfileSettings {
    async fn read(selected: Option<&str>) -> Self {
        use aws_types::os_shim_internal::{Env, Fs};
        let files = aws_runtime::env_config::file::EnvConfigFiles::default();
        let Ok(profiles) = aws_config::profile::load(
            &Fs::real(),
            &Env::real(),
            &files,
            selected.map(|s| std::borrow::Cow::Owned(s.to_string())),
        )
        .await
        else {
            return ProfileSettings::default();
        };
        ProfileSettings {
            ca_bundle: profiles.get("ca_bundle").map(std::path::PathBuf::from),
            max_attempts: profiles.get("max_attempts").map(str::to_string),
            retry_mode: profiles.get("retry_mode").map(str::to_string),
        }
    }
}

/// The retry settings the environment or profile gives, if any.
struct RetrySettings {
    max_attempts: Option<String>,
    retry_mode: Option<String>,
}

impl RetrySettings {
    /// Whether any is set, each checked first: the SDK panics on a value it cannot use.
    fn check(&self) -> Result<bool> {
        if let Some(n) = &self.max_attempts
            && !n.parse::<u32>().is_ok_and(|n| (1..=100).contains(&n))
        {
            bail!(
                "max attempts `{n}` (AWS_MAX_ATTEMPTS or the profile's max_attempts) must be a whole number from 1 to 100"
            );
        }
        if let Some(mode) = &self.retry_mode
            && mode != "standard"
            && mode != "adaptive"
        {
            bail!(
                "retry mode `{mode}` (AWS_RETRY_MODE or the profile's retry_mode) is not supported: use `standard` or `adaptive`"
            );
        }
        Ok(self.max_attempts.is_some() || self.retry_mode.is_some())
    }
}

/// The pacing lanes of the run's SSM requests, one per region and API class, shared by every
/// SSM client (see core::pacing), under the run's ceiling (`--max-rps`) if it has one.
#[derive(Debug, Clone, Default)]
struct Lanes {
    lanes: Arc<Mutex<BTreeMap<(String, String), Lane>>>,
    ceiling: Option<f64>,
    /// Attempts that went through the lanes.
    sent: Arc<AtomicU64>,
}

impl Lanes {
    fn with_ceiling(ceiling: Option<f64>) -> Self {
        Lanes {
            ceiling,
            ..Lanes::default()
        }
    }

    /// Waits for the slot of one request; returns when it went.
    async fn wait(&self, region: &str, class: &str) -> Instant {
        let (now, ceiling) = (Instant::now(), self.ceiling);
        let slot = self.lanes.lock().map_or(now, |mut lanes| {
            lanes
                .entry((region.to_string(), class.to_string()))
                .or_insert_with(|| Lane::new(class, ceiling, now))
                .reserve(now, ceiling)
        });
        tokio::time::sleep_until(slot.into()).await;
        self.sent.fetch_add(1, Ordering::Relaxed);
        slot
    }

    fn throttled(&self, region: &str, class: &str, sent: Instant) {
        if let Ok(mut lanes) = self.lanes.lock()
            && let Some(lane) = lanes.get_mut(&(region.to_string(), class.to_string()))
        {
            lane.throttled(sent, Instant::now());
            tracing::debug!(region, class, rate = ?lane.rate(), "SSM throttled: slowing down");
        }
    }
}

/// The run's HTTP client, for SSM: every attempt, retries included, waits for its slot in the
/// lane of its region and API class; a ThrottlingException slows the lane down.
#[derive(Debug, Clone)]
struct Paced {
    inner: SharedHttpClient,
    lanes: Lanes,
    region: String,
}

impl HttpClient for Paced {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            paced: self.clone(),
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    paced: Paced,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, paced) = (self.inner.clone(), self.paced.clone());
        // SSM names the operation in `X-Amz-Target: AmazonSSM.<Operation>`.
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|target| target.rsplit('.').next())
            .unwrap_or_default();
        let class = ssm_class(operation).to_string();
        HttpConnectorFuture::new(async move {
            let sent = paced.lanes.wait(&paced.region, &class).await;
            let response = inner.call(request).await?;
            if response.status().as_u16() != 400 {
                return Ok(response);
            }
            // An error answer is small: read it whole to tell a throttling from the rest.
            let (response, body) = read_whole(response).await?;
            if body.windows(THROTTLED.len()).any(|w| w == THROTTLED) {
                paced.lanes.throttled(&paced.region, &class, sent);
            }
            Ok(response)
        })
    }
}

/// How SSM names a throttling answer (`{"__type":"ThrottlingException",...}`).
const THROTTLED: &[u8] = b"ThrottlingException";

/// The answer with its body read into memory, and the body.
async fn read_whole(
    mut response: HttpResponse,
) -> Result<(HttpResponse, Bytes), aws_smithy_runtime_api::client::result::ConnectorError> {
    use http_body_util::BodyExt;
    let body = std::mem::replace(response.body_mut(), SdkBody::taken());
    let bytes = body
        .collect()
        .await
        .map_err(aws_smithy_runtime_api::client::result::ConnectorError::io)?
        .to_bytes();
    *response.body_mut() = SdkBody::from(bytes.clone());
    Ok((response, bytes))
}

/// Puts `x-amz-expected-bucket-owner: <the caller's account>` on every S3 request that takes it,
/// so S3 itself refuses a bucket of another account (a name squatted, a parameter pointing
/// elsewhere). A request before the account is known fails rather than going out without it.
#[derive(Debug, Clone)]
struct ExpectedOwner(Arc<tokio::sync::OnceCell<Identity>>);

impl Intercept for ExpectedOwner {
    fn name(&self) -> &'static str {
        "ssm-keeper-expected-bucket-owner"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(|m| m.name()).unwrap_or_default();
        // The two operations S3 defines without an owner: there is no bucket yet, or many.
        if matches!(operation, "CreateBucket" | "ListBuckets") {
            return Ok(());
        }
        let identity = self.0.get().ok_or(
            "an S3 request was about to go out before the caller's account was known (a bug in ssm-keeper)",
        )?;
        context
            .request_mut()
            .headers_mut()
            .insert("x-amz-expected-bucket-owner", identity.account.clone());
        Ok(())
    }
}

/// Requests sent, by `Service.Operation`, retries included, and the operations AWS denied
/// (`service:Operation` with the IAM service prefix). Shared by every client.
#[derive(Debug, Clone, Default)]
pub struct ApiCalls {
    sent: Arc<Mutex<BTreeMap<String, u64>>>,
    denied: Arc<Mutex<std::collections::BTreeSet<String>>>,
    /// The codes AWS answered about the credentials (`ExpiredToken`, ...).
    credential_codes: Arc<Mutex<std::collections::BTreeSet<String>>>,
    /// AWS's clock: the `Date` of the latest answer, and when it was received.
    server_clock: Arc<Mutex<Option<(time::OffsetDateTime, std::time::Instant)>>>,
}

impl ApiCalls {
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.sent.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// AWS's clock now, from the `Date` of the latest answer (to the second) and the time since
    /// it came; `None` before any answer with a date.
    pub fn server_now(&self) -> Option<time::OffsetDateTime> {
        let (date, at) = (*self.server_clock.lock().ok()?)?;
        Some(date + at.elapsed())
    }

    /// The codes AWS answered about the credentials, as `ExpiredToken`.
    pub fn credential_codes(&self) -> Vec<String> {
        self.credential_codes
            .lock()
            .map(|c| c.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The operations answered AccessDenied, as `s3:PutObject`.
    pub fn denied(&self) -> Vec<String> {
        self.denied
            .lock()
            .map(|d| d.iter().cloned().collect())
            .unwrap_or_default()
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
        let region = cfg
            .load::<aws_types::region::Region>()
            .map(|r| r.to_string())
            .unwrap_or_default();
        tracing::debug!(operation = %key, region = %region, "AWS request");
        if let Ok(mut map) = self.sent.lock() {
            *map.entry(key).or_default() += 1;
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        if let Some(date) = response
            .headers()
            .get("date")
            .and_then(|d| {
                aws_smithy_types::DateTime::from_str(
                    d,
                    aws_smithy_types::date_time::Format::HttpDate,
                )
                .ok()
            })
            .and_then(|d| time::OffsetDateTime::from_unix_timestamp(d.secs()).ok())
            && let Ok(mut clock) = self.server_clock.lock()
        {
            *clock = Some((date, std::time::Instant::now()));
        }
        let status = response.status().as_u16();
        // S3: 403 with <Code>AccessDenied</Code> (a HEAD's 403 has no body); SSM, KMS,
        // CloudWatch: 400 AccessDeniedException (JSON or CBOR). The error body is read whole by
        // now.
        let body = response.body().bytes().unwrap_or_default();
        let holds = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
        let denied = matches!(status, 400 | 403)
            && (holds(b"AccessDenied") || (status == 403 && body.is_empty()));
        if (400..500).contains(&status)
            && let Some(code) = CREDENTIAL_CODES.iter().find(|c| holds(c.as_bytes()))
            && let Ok(mut codes) = self.credential_codes.lock()
        {
            codes.insert((*code).to_string());
        }
        if denied
            && let Some(m) = cfg.load::<Metadata>()
            && let Ok(mut set) = self.denied.lock()
        {
            // As a proxy sees it: the signing name (`tagging`, not the SDK's long service name).
            let service = match m.service() {
                "Resource Groups Tagging API" => "tagging".to_string(),
                "EventBridge" => "events".to_string(),
                "CloudWatch Logs" => "logs".to_string(),
                other => other.to_ascii_lowercase(),
            };
            let operation = format!("{service}:{}", m.name());
            tracing::warn!(operation = %operation, status, "AWS denied the request");
            set.insert(operation);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(max: Option<&str>, mode: Option<&str>) -> RetrySettings {
        RetrySettings {
            max_attempts: max.map(str::to_string),
            retry_mode: mode.map(str::to_string),
        }
    }

    #[test]
    fn retry_settings_are_checked_before_the_sdk_sees_them() {
        assert!(!settings(None, None).check().unwrap());
        assert!(settings(Some("3"), None).check().unwrap());
        assert!(settings(None, Some("standard")).check().unwrap());
        assert!(settings(None, Some("adaptive")).check().unwrap());
        for bad in ["0", "-1", "x", "101"] {
            let e = settings(Some(bad), None).check().unwrap_err().to_string();
            assert!(e.contains("from 1 to 100"), "{e}");
        }
        let e = settings(None, Some("legacy"))
            .check()
            .unwrap_err()
            .to_string();
        assert!(e.contains("use `standard` or `adaptive`"), "{e}");
    }

    /// A peer that answers every request with `answer` and counts them. (The emulator cannot be
    /// made to fail on demand; a real HTTP exchange all the same.)
    fn peer(answer: &'static [u8]) -> (String, Arc<AtomicU64>) {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let count = Arc::new(AtomicU64::new(0));
        let seen = count.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let _ = reader.read_exact(&mut vec![0; length]);
                seen.fetch_add(1, Ordering::SeqCst);
                let _ = (&stream).write_all(answer);
            }
        });
        (url, count)
    }

    fn always_500() -> (String, Arc<AtomicU64>) {
        peer(
            b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )
    }

    /// An SSM client of us-east-1 on `lanes`, to `url`, with `attempts` attempts.
    fn paced_client(url: String, lanes: &Lanes, attempts: u32) -> aws_sdk_ssm::Client {
        let conf = aws_sdk_ssm::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_sdk_ssm::config::Region::new("us-east-1"))
            .endpoint_url(url)
            .credentials_provider(aws_sdk_ssm::config::Credentials::new(
                "a", "b", None, None, "test",
            ))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(attempts)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
            .http_client(Paced {
                inner: tls::https_client(None).unwrap(),
                lanes: lanes.clone(),
                region: "us-east-1".into(),
            })
            .build();
        aws_sdk_ssm::Client::from_conf(conf)
    }

    #[tokio::test]
    async fn a_throttling_answer_slows_its_lane_and_only_its_lane() {
        let (url, served) = peer(
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: 58\r\nconnection: close\r\n\r\n{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}",
        );
        let lanes = Lanes::default();
        let client = paced_client(url, &lanes, 1);
        let err = client
            .get_parameters()
            .names("/x")
            .send()
            .await
            .unwrap_err();
        assert!(
            format!("{err:?}").contains("ThrottlingException"),
            "the answer is intact: {err:?}"
        );
        assert_eq!(served.load(Ordering::SeqCst), 1);
        let _ = client.describe_parameters().send().await;
        let rate = |class: &str| {
            lanes.lanes.lock().unwrap()[&("us-east-1".to_string(), class.to_string())].rate()
        };
        assert!(
            rate(crate::core::pacing::READS).is_some_and(|r| r < 40.0),
            "the reads slowed down"
        );
        let describe = rate("DescribeParameters").unwrap();
        assert!(
            describe < 2.0,
            "its own first throttle, from what it sent: {describe}"
        );
    }

    #[tokio::test]
    async fn retries_are_paced_like_first_attempts() {
        let (url, served) = always_500();
        let lanes = Lanes::default();
        let client = paced_client(url, &lanes, 3);
        let result = client.get_parameters().names("/x").send().await;
        assert!(result.is_err());
        assert_eq!(
            served.load(Ordering::SeqCst),
            3,
            "three attempts reached the peer"
        );
        assert_eq!(
            lanes.sent.load(Ordering::Relaxed),
            3,
            "and each waited for its slot in the lanes"
        );
    }
}

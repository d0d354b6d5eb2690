//! The fault proxy: a reverse proxy between ssm-keeper and the emulator, speaking TLS to both
//! (the emulator's own certificate towards ssm-keeper, its CA towards the emulator). Per request
//! it names the AWS operation (SSM/KMS `X-Amz-Target`, STS `Action`, S3 method + path +
//! subresource), may inject a fault chosen by rule and a seeded random share, and records every
//! operation it forwarded or faulted, in order, for the tests to read.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

use crate::common::emulator;

/// What the proxy does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forwarded after a delay.
    Latency(Duration),
    /// The service's throttling answer (SSM/KMS `ThrottlingException` 400, STS `Throttling`
    /// 400, S3 `SlowDown` 503).
    Throttle,
    /// 500 Internal Server Error in the service's format.
    ServerError,
    /// The connection is closed without an answer.
    Reset,
    /// No answer at all until the client gives up (closed after ten minutes at the latest).
    Stall,
    /// Forwarded and carried out, then the connection is closed before the answer: the client
    /// cannot know that its request took effect.
    LostAnswer,
}

/// Which requests a rule applies to: an operation name (`ssm:PutParameter`), `*` for any, or
/// `mutating` for every operation that changes something.
#[derive(Debug, Clone)]
pub struct Rule {
    pub operations: &'static str,
    /// The share of matching requests faulted (0.0 to 1.0), drawn from the seeded generator.
    pub share: f64,
    pub fault: Fault,
}

/// One request as the proxy saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub operation: String,
    /// The bucket (S3) or parameter name (SSM) it is about, when it names one.
    pub resource: String,
    /// For `ssm:PutParameter` of a String: the value written (a bucket name, for metadata).
    pub value: Option<String>,
    pub region: String,
    pub mutating: bool,
    pub fault: Option<Fault>,
    /// The request's bytes (headers and body) contain the marker the test set, if any.
    pub carries_marker: bool,
    /// When it reached the server's side (after the latency mode's way in).
    pub at: std::time::SystemTime,
}

type Hook =
    Box<dyn FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send>;

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    record: Vec<Recorded>,
    seed: u64,
    /// After this many mutating requests were forwarded, every further request is reset.
    cut_after_mutations: Option<usize>,
    mutations: usize,
    marker: Option<String>,
    /// The next request of this operation (and whose path holds the text, if one is given)
    /// gets `Fault::LostAnswer` (once).
    lose_next: Option<(String, Option<String>)>,
    /// Run once, before forwarding the next request of the operation whose path holds the
    /// text: another client acting at exactly that moment (a deterministic interleaving).
    before_next: Option<(String, String, Hook)>,
    /// Requests being served now, and the most at once since the last reset.
    in_flight: usize,
    max_in_flight: usize,
    /// DescribeParameters answers in the smallest pages AWS may send: an empty first page,
    /// then one parameter a page, each with a NextToken while more remain.
    partial_pages: bool,
    /// Every request signed for one of these (service, region) is reset: the region's endpoint
    /// of that service cannot be reached.
    unreachable: Vec<(String, String)>,
    /// SSM's throughput quotas, when enforced: a token bucket per region and API class.
    quotas: Option<Quotas>,
    buckets: std::collections::HashMap<(String, &'static str), TokenBucket>,
    latency: Latency,
    /// Told of every request recorded (`Proxy::arrival_of`).
    arrived: Arc<tokio::sync::Notify>,
}

/// SSM's throughput quotas per region and API class, in requests per second. The defaults are
/// AWS's defaults: GetParameter, GetParameters and GetParametersByPath 40 together, PutParameter
/// 3; DescribeParameters is not published (lower than the reads), 10 unless a test sets it.
#[derive(Debug, Clone, Copy)]
pub struct Quotas {
    pub reads: f64,
    pub describe: f64,
    pub put: f64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            reads: 40.0,
            describe: 10.0,
            put: 3.0,
        }
    }
}

impl Quotas {
    /// The class a request is counted in and its rate, for the SSM operations with a quota.
    fn class(&self, operation: &str) -> Option<(&'static str, f64)> {
        match operation {
            "ssm:GetParameter" | "ssm:GetParameters" | "ssm:GetParametersByPath" => {
                Some(("reads", self.reads))
            }
            "ssm:DescribeParameters" => Some(("describe", self.describe)),
            "ssm:PutParameter" => Some(("put", self.put)),
            _ => None,
        }
    }
}

/// A token bucket as AWS meters a quota: `rate` tokens a second, at most one second's worth
/// saved up (the burst), starting full.
#[derive(Debug)]
struct TokenBucket {
    rate: f64,
    tokens: f64,
    at: std::time::Instant,
}

impl TokenBucket {
    fn full(rate: f64) -> Self {
        TokenBucket {
            rate,
            tokens: rate.max(1.0),
            at: std::time::Instant::now(),
        }
    }

    /// Takes a token if one is there.
    fn take(&mut self) -> bool {
        let now = std::time::Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.rate.max(1.0));
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl State {
    /// Whether a quota throttles this request (a request answered ThrottlingException takes no
    /// token, as on AWS).
    fn over_quota(&mut self, operation: &str, region: &str) -> bool {
        let Some((class, rate)) = self.quotas.and_then(|q| q.class(operation)) else {
            return false;
        };
        !self
            .buckets
            .entry((region.to_string(), class))
            .or_insert_with(|| TokenBucket::full(rate))
            .take()
    }
}

/// Counts a request as in flight for as long as it is held.
struct InFlight(Arc<Mutex<State>>);

impl InFlight {
    fn enter(state: &Arc<Mutex<State>>) -> Self {
        let mut s = state.lock().unwrap();
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
        InFlight(state.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().unwrap().in_flight -= 1;
    }
}

/// The operations that change something: every test of read-only behaviour checks against it.
pub fn is_mutating(operation: &str) -> bool {
    let name = operation.split(':').nth(1).unwrap_or(operation);
    [
        "Put", "Create", "Delete", "Update", "Label", "Tag", "Untag", "Add", "Remove", "Restore",
        "Copy", "Upload", "Complete", "Abort", "Send", "Set", "Enable", "Disable", "Schedule",
    ]
    .iter()
    .any(|prefix| name.starts_with(prefix))
}

pub struct Proxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

impl Proxy {
    /// Starts a proxy in front of the emulator; `seed` makes its random shares repeatable.
    pub fn start(seed: u64) -> Proxy {
        let state = Arc::new(Mutex::new(State {
            seed: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            ..State::default()
        }));
        let (tx, rx) = std::sync::mpsc::channel();
        let shared = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(serve(shared, tx));
        });
        let endpoint = rx.recv().unwrap();
        Proxy { endpoint, state }
    }

    pub fn rule(&self, rule: Rule) -> &Self {
        self.state.lock().unwrap().rules.push(rule);
        self
    }

    pub fn clear_rules(&self) {
        self.state.lock().unwrap().rules.clear();
    }

    /// From now on, reset every request once `k` more mutating requests have been forwarded.
    pub fn cut_after_mutations(&self, k: usize) {
        let mut state = self.state.lock().unwrap();
        state.cut_after_mutations = Some(state.mutations + k);
    }

    pub fn no_cut(&self) {
        self.state.lock().unwrap().cut_after_mutations = None;
    }

    /// Marks requests whose bytes contain `marker` in the record.
    /// The next request of `operation` is carried out but its answer is lost (once).
    pub fn lose_next_answer(&self, operation: &str) {
        self.state.lock().unwrap().lose_next = Some((operation.to_string(), None));
    }

    /// The next request of `operation` whose path holds `path_part` is carried out but its
    /// answer is lost (once).
    pub fn lose_next_answer_at(&self, operation: &str, path_part: &str) {
        self.state.lock().unwrap().lose_next =
            Some((operation.to_string(), Some(path_part.to_string())));
    }

    /// Runs `hook` (once) just before forwarding the next request of `operation` whose path
    /// holds `path_part`.
    pub fn before_next<F, Fut>(&self, operation: &str, path_part: &str, hook: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.state.lock().unwrap().before_next = Some((
            operation.to_string(),
            path_part.to_string(),
            Box::new(move || Box::pin(hook()) as std::pin::Pin<Box<_>>),
        ));
    }

    /// Resolves once a request of `operation` about a resource holding `part` has arrived
    /// (`true`), or `limit` passed without one (`false`). For a `before_next` hook: the request
    /// it holds and this one are in flight together.
    pub fn arrival_of(
        &self,
        operation: &str,
        part: &str,
        limit: std::time::Duration,
    ) -> impl std::future::Future<Output = bool> + Send + 'static {
        let (state, operation, part) =
            (self.state.clone(), operation.to_string(), part.to_string());
        let arrived = state.lock().unwrap().arrived.clone();
        async move {
            let deadline = tokio::time::Instant::now() + limit;
            loop {
                let notified = arrived.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let seen = state
                    .lock()
                    .unwrap()
                    .record
                    .iter()
                    .any(|r| r.operation == operation && r.resource.contains(&part));
                if seen {
                    return true;
                }
                if tokio::time::timeout_at(deadline, notified).await.is_err() {
                    return false;
                }
            }
        }
    }

    pub fn watch_for(&self, marker: &str) {
        self.state.lock().unwrap().marker = Some(marker.to_string());
    }

    /// The most requests it served at once since `reset_max_in_flight`.
    pub fn max_in_flight(&self) -> usize {
        self.state.lock().unwrap().max_in_flight
    }

    /// From now on, DescribeParameters answers in partial pages (see `State::partial_pages`).
    pub fn partial_pages(&self) {
        self.state.lock().unwrap().partial_pages = true;
    }

    /// From now on, every request signed for `service` (`s3`, `ssm`, ...) in `region` is reset
    /// without an answer: that region's endpoint is down.
    pub fn make_unreachable(&self, service: &str, region: &str) {
        self.state
            .lock()
            .unwrap()
            .unreachable
            .push((service.to_string(), region.to_string()));
    }

    /// From now on, SSM's quotas are enforced (a token bucket per region and API class): a
    /// request over its quota is answered `ThrottlingException` as AWS answers it, recorded
    /// with `Fault::Throttle`.
    pub fn enforce_quotas(&self, quotas: Quotas) {
        let mut state = self.state.lock().unwrap();
        state.quotas = Some(quotas);
        state.buckets.clear();
    }

    /// How many requests of `operation` were throttled, by rule or by quota.
    pub fn throttled(&self, operation: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .record
            .iter()
            .filter(|r| r.operation == operation && r.fault == Some(Fault::Throttle))
            .count()
    }

    pub fn record(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().record.clone()
    }

    pub fn clear_record(&self) {
        self.state.lock().unwrap().record.clear();
    }

    /// The environment that points ssm-keeper at this proxy.
    pub fn env(&self) -> [(&'static str, Option<&str>); 1] {
        [("AWS_ENDPOINT_URL", Some(self.endpoint.as_str()))]
    }
}

async fn serve(state: Arc<Mutex<State>>, ready: std::sync::mpsc::Sender<String>) {
    let emu = emulator();
    let dir = emu.ca_bundle.parent().unwrap().to_path_buf();
    let certs = rustls_pki(&dir.join("server.pem"));
    let key = {
        use rustls::pki_types::PrivateKeyDer;
        use rustls::pki_types::pem::PemObject;
        PrivateKeyDer::from_pem_file(dir.join("server-key.pem")).unwrap()
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki(&emu.ca_bundle) {
        roots.add(cert).unwrap();
    }
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let upstream = emu.endpoint.trim_start_matches("https://").to_string();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    ready.send(format!("https://127.0.0.1:{port}")).unwrap();
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        // As AWS answers: no wait for the client's delayed ACK between a head and its body.
        let _ = tcp.set_nodelay(true);
        state.lock().unwrap().latency.connections += 1;
        let (acceptor, connector, upstream, state) = (
            acceptor.clone(),
            connector.clone(),
            upstream.clone(),
            state.clone(),
        );
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(move |request| {
                delayed(request, state.clone(), connector.clone(), upstream.clone())
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

fn rustls_pki(path: &std::path::Path) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_file_iter(path)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

type Answer = Result<Response<Full<Bytes>>, std::io::Error>;

async fn handle(
    request: Request<Incoming>,
    state: Arc<Mutex<State>>,
    connector: tokio_rustls::TlsConnector,
    upstream: String,
) -> Answer {
    let _counted = InFlight::enter(&state);
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    let (service, region) = scope(&parts.headers);
    let operation = operation(&service, &parts, &body);
    if operation == "ssm:DescribeParameters" && state.lock().unwrap().partial_pages {
        return partial_page(parts, body, &connector, &upstream).await;
    }
    let path = parts.uri.path().to_string();
    let hook = {
        let mut state = state.lock().unwrap();
        match &state.before_next {
            Some((op, part, _)) if *op == operation && path.contains(part.as_str()) => {
                state.before_next.take()
            }
            _ => None,
        }
    };
    if let Some((_, _, hook)) = hook {
        hook().await;
    }
    let mutating = is_mutating(&operation);
    let fault = {
        let mut state = state.lock().unwrap();
        let cut = state
            .cut_after_mutations
            .is_some_and(|limit| state.mutations >= limit);
        let down = state
            .unreachable
            .iter()
            .any(|(s, r)| *s == service && *r == region);
        let fault = if cut || down {
            Some(Fault::Reset)
        } else if state.lose_next.as_ref().is_some_and(|(op, part)| {
            *op == operation && part.as_ref().is_none_or(|p| path.contains(p.as_str()))
        }) {
            state.lose_next = None;
            Some(Fault::LostAnswer)
        } else if state.over_quota(&operation, &region) {
            Some(Fault::Throttle)
        } else {
            decide(&mut state, &operation, mutating)
        };
        if mutating && fault.is_none() {
            state.mutations += 1;
        }
        let carries_marker = state.marker.as_ref().is_some_and(|m| {
            let needle = m.as_bytes();
            body.windows(needle.len()).any(|w| w == needle)
                || format!("{:?}", parts.headers).contains(m.as_str())
                || parts.uri.to_string().contains(m.as_str())
        });
        let (resource, value) = resource(&service, &parts, &body);
        state.record.push(Recorded {
            operation: operation.clone(),
            resource,
            value,
            region,
            mutating,
            fault,
            carries_marker,
            at: std::time::SystemTime::now(),
        });
        state.arrived.notify_waiters();
        fault
    };
    match fault {
        Some(Fault::Reset) => Err(std::io::Error::other("reset by the fault proxy")),
        Some(Fault::LostAnswer) => {
            forward(parts, body, &connector, &upstream).await?;
            Err(std::io::Error::other("answer lost by the fault proxy"))
        }
        Some(Fault::Stall) => {
            tokio::time::sleep(Duration::from_secs(600)).await;
            Err(std::io::Error::other("stalled"))
        }
        Some(Fault::Throttle) => Ok(error_answer(&service, true)),
        Some(Fault::ServerError) => Ok(error_answer(&service, false)),
        Some(Fault::Latency(delay)) => {
            tokio::time::sleep(delay).await;
            forward(parts, body, &connector, &upstream).await
        }
        None => forward(parts, body, &connector, &upstream).await,
    }
}

/// The fault for one request, if a rule picks it.
fn decide(state: &mut State, operation: &str, mutating: bool) -> Option<Fault> {
    let rules = state.rules.clone();
    for rule in rules {
        let applies = match rule.operations {
            "*" => true,
            "mutating" => mutating,
            name => name == operation,
        };
        if applies && next_share(&mut state.seed) < rule.share {
            return Some(rule.fault);
        }
    }
    None
}

/// A number in [0, 1) from the seeded generator (xorshift64*).
fn next_share(seed: &mut u64) -> f64 {
    *seed ^= *seed >> 12;
    *seed ^= *seed << 25;
    *seed ^= *seed >> 27;
    (seed.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
}

/// The signing scope of a request: (service, region), from its Authorization header.
fn scope(headers: &hyper::HeaderMap) -> (String, String) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let credential = auth
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split(',').next())
        .unwrap_or_default();
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [_, _, region, service, ..] => (service.to_string(), region.to_string()),
        _ => ("unknown".into(), "unknown".into()),
    }
}

/// (resource, String value written) of a request.
fn resource(
    service: &str,
    parts: &hyper::http::request::Parts,
    body: &Bytes,
) -> (String, Option<String>) {
    if service == "s3" {
        let path = parts.uri.path().trim_start_matches('/');
        return (path.split('/').next().unwrap_or_default().to_string(), None);
    }
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let name = json["Name"].as_str().unwrap_or_default().to_string();
    let value = (json["Type"] == "String")
        .then(|| json["Value"].as_str().map(str::to_string))
        .flatten();
    (name, value)
}

/// `service:Operation` of a request (with the IAM service prefix: CloudWatch signs as
/// `monitoring`).
fn operation(service: &str, parts: &hyper::http::request::Parts, body: &Bytes) -> String {
    // Smithy RPC v2 CBOR (CloudWatch): POST /service/<Service>/operation/<Operation>.
    if let Some((_, op)) = parts
        .uri
        .path()
        .strip_prefix("/service/")
        .and_then(|rest| rest.split_once("/operation/"))
    {
        let service = if service == "monitoring" {
            "cloudwatch"
        } else {
            service
        };
        return format!("{service}:{op}");
    }
    if let Some(target) = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        let name = target.rsplit('.').next().unwrap_or(target);
        return format!("{service}:{name}");
    }
    if service == "sts" {
        let text = String::from_utf8_lossy(body);
        let action = text
            .split('&')
            .find_map(|kv| kv.strip_prefix("Action="))
            .unwrap_or("Unknown");
        return format!("sts:{action}");
    }
    format!("s3:{}", s3_operation(parts))
}

fn s3_operation(parts: &hyper::http::request::Parts) -> &'static str {
    let path = parts.uri.path().trim_start_matches('/');
    let query = parts.uri.query().unwrap_or_default();
    let has = |sub: &str| {
        query
            .split('&')
            .any(|kv| kv == sub || kv.starts_with(&format!("{sub}=")))
    };
    let object = path.contains('/') && !path.ends_with('/');
    let method = parts.method.as_str();
    if path.is_empty() {
        return "ListBuckets";
    }
    if object && has("tagging") {
        return match method {
            "PUT" => "PutObjectTagging",
            "GET" => "GetObjectTagging",
            "DELETE" => "DeleteObjectTagging",
            _ => "UnknownObjectTaggingOperation",
        };
    }
    if object {
        return match method {
            "PUT" => "PutObject",
            "GET" => "GetObject",
            "HEAD" => "HeadObject",
            "DELETE" => "DeleteObject",
            _ => "UnknownObjectOperation",
        };
    }
    let subresources: [(&str, &str, &str, &str); 7] = [
        (
            "publicAccessBlock",
            "PutPublicAccessBlock",
            "GetPublicAccessBlock",
            "DeletePublicAccessBlock",
        ),
        (
            "encryption",
            "PutBucketEncryption",
            "GetBucketEncryption",
            "DeleteBucketEncryption",
        ),
        (
            "versioning",
            "PutBucketVersioning",
            "GetBucketVersioning",
            "Unknown",
        ),
        (
            "lifecycle",
            "PutBucketLifecycleConfiguration",
            "GetBucketLifecycleConfiguration",
            "DeleteBucketLifecycle",
        ),
        (
            "policy",
            "PutBucketPolicy",
            "GetBucketPolicy",
            "DeleteBucketPolicy",
        ),
        (
            "tagging",
            "PutBucketTagging",
            "GetBucketTagging",
            "DeleteBucketTagging",
        ),
        (
            "object-lock",
            "PutObjectLockConfiguration",
            "GetObjectLockConfiguration",
            "Unknown",
        ),
    ];
    for (sub, put, get, delete) in subresources {
        if has(sub) {
            return match method {
                "PUT" => put,
                "GET" => get,
                "DELETE" => delete,
                _ => "UnknownBucketOperation",
            };
        }
    }
    match method {
        "GET" if has("versions") => "ListObjectVersions",
        "GET" if has("location") => "GetBucketLocation",
        "GET" => "ListObjectsV2",
        "POST" if has("delete") => "DeleteObjects",
        "PUT" => "CreateBucket",
        "HEAD" => "HeadBucket",
        "DELETE" => "DeleteBucket",
        _ => "UnknownBucketOperation",
    }
}

/// A CBOR map of text to text (RPC v2 CBOR error bodies), each text under 256 bytes.
fn cbor_text_map(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut out = vec![0xa0 | entries.len() as u8];
    for text in entries.iter().flat_map(|(k, v)| [k, v]) {
        match text.len() {
            n if n < 24 => out.push(0x60 | n as u8),
            n => out.extend([0x78, n as u8]),
        }
        out.extend(text.as_bytes());
    }
    out
}

fn error_answer(service: &str, throttle: bool) -> Response<Full<Bytes>> {
    if service == "monitoring" {
        // CloudWatch speaks RPC v2 CBOR (awsQuery-compatible codes).
        let (status, code) = if throttle {
            (StatusCode::BAD_REQUEST, "Throttling")
        } else {
            (StatusCode::INTERNAL_SERVER_ERROR, "InternalServiceError")
        };
        return Response::builder()
            .status(status)
            .header("content-type", "application/cbor")
            .header("smithy-protocol", "rpc-v2-cbor")
            .body(Full::new(Bytes::from(cbor_text_map(&[
                ("__type", code),
                ("message", "injected"),
            ]))))
            .unwrap();
    }
    let (status, content_type, body) = match (service, throttle) {
        ("s3", true) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "application/xml",
            "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>".to_string(),
        ),
        ("s3", false) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "application/xml",
            "<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>".to_string(),
        ),
        ("sts", throttle) => (
            if throttle { StatusCode::BAD_REQUEST } else { StatusCode::INTERNAL_SERVER_ERROR },
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>{}</Type><Code>{}</Code><Message>injected</Message></Error></ErrorResponse>",
                if throttle { "Sender" } else { "Receiver" },
                if throttle { "Throttling" } else { "InternalFailure" }
            ),
        ),
        (_, true) => (
            StatusCode::BAD_REQUEST,
            "application/x-amz-json-1.1",
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_string(),
        ),
        (_, false) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "application/x-amz-json-1.1",
            r#"{"__type":"InternalServerError","message":"injected"}"#.to_string(),
        ),
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// Forwards the request, headers (Host and signature included) and body unchanged.
/// A DescribeParameters answer cut to the smallest page: without a NextToken, an empty page
/// whose token asks for the first item; with one, that item alone, and a token for the next
/// while more remain (the emulator's tokens are indexes into the result).
async fn partial_page(
    parts: hyper::http::request::Parts,
    body: Bytes,
    connector: &tokio_rustls::TlsConnector,
    upstream: &str,
) -> Answer {
    let mut request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let Some(start) = request
        .get("NextToken")
        .and_then(|t| t.as_str())
        .and_then(|t| t.parse::<usize>().ok())
    else {
        let page = serde_json::json!({"Parameters": [], "NextToken": "0"}).to_string();
        return Ok(Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/x-amz-json-1.1")
            .body(Full::new(Bytes::from(page)))
            .unwrap());
    };
    request["MaxResults"] = 1.into();
    let body = Bytes::from(request.to_string());
    let mut parts = parts;
    parts.headers.insert("content-length", body.len().into());
    // The signature covers the body: the emulator does not check it.
    let answer = forward(parts, body, connector, upstream).await?;
    let (mut head, full) = answer.into_parts();
    let bytes = full
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    let mut page: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if page.get("NextToken").is_some() {
        page["NextToken"] = (start + 1).to_string().into();
    }
    let bytes = Bytes::from(page.to_string());
    head.headers.insert("content-length", bytes.len().into());
    Ok(Response::from_parts(head, Full::new(bytes)))
}

/// Connections to the emulator kept open between requests (as ssm-keeper keeps its own): a TLS
/// handshake per request made the proxy and the emulator, not the quotas, the limit of a run of
/// thousands of requests. Let go after 60 s idle (the emulator closes them after 120 s).
type Upstream = hyper::client::conn::http1::SendRequest<Full<Bytes>>;
static POOL: Mutex<Vec<(String, Upstream, std::time::Instant)>> = Mutex::new(Vec::new());

async fn upstream_connection(
    connector: &tokio_rustls::TlsConnector,
    upstream: &str,
) -> Result<Upstream, std::io::Error> {
    loop {
        let pooled = {
            let mut pool = POOL.lock().unwrap();
            pool.retain(|(_, _, at)| at.elapsed() < Duration::from_secs(60));
            let found = pool.iter().position(|(u, _, _)| u == upstream);
            found.map(|i| pool.swap_remove(i).1)
        };
        match pooled {
            Some(mut sender) => {
                if sender.ready().await.is_ok() {
                    return Ok(sender);
                }
            }
            None => break,
        }
    }
    let tcp = TcpStream::connect(upstream).await?;
    tcp.set_nodelay(true)?;
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = connector.connect(name, tcp).await?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn forward(
    parts: hyper::http::request::Parts,
    body: Bytes,
    connector: &tokio_rustls::TlsConnector,
    upstream: &str,
) -> Answer {
    let mut sender = upstream_connection(connector, upstream).await?;
    let request = Request::from_parts(parts, Full::new(body));
    let response = sender
        .send_request(request)
        .await
        .map_err(std::io::Error::other)?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    POOL.lock()
        .unwrap()
        .push((upstream.to_string(), sender, std::time::Instant::now()));
    Ok(Response::from_parts(parts, Full::new(body)))
}

// ---- Latency mode: a network `delay` away in each direction; what the client used of it ----

/// The latency mode's setting, and counts of what the client did (one field of `State`).
#[derive(Default)]
struct Latency {
    /// Waited before a request is served, and again before its answer goes back.
    delay: Duration,
    /// TCP connections the client opened to the proxy. (The proxy's own connections to the
    /// emulator, one per request, are not counted: they are the proxy's business.)
    connections: usize,
    /// Requests from arrival to answer, both delays included: in flight as the client sees them.
    in_flight: usize,
    max_in_flight: usize,
    /// Requests answered so far: what `answered` waits on.
    answered: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Proxy {
    /// Resolves to `true` once a request of `operation` was recorded and its answer went back
    /// (at once if one was), or to `false` after `limit`: a test's hold on another request can
    /// wait for it, with no sleep.
    pub fn answered(
        &self,
        operation: &str,
        limit: Duration,
    ) -> impl std::future::Future<Output = bool> + Send + 'static {
        let state = self.state.clone();
        let mut answers = state.lock().unwrap().latency.answered.subscribe();
        let operation = operation.to_string();
        async move {
            let seen = |_: &u64| {
                let state = state.lock().unwrap();
                state.record.iter().any(|r| r.operation == operation)
            };
            tokio::time::timeout(limit, answers.wait_for(seen))
                .await
                .is_ok_and(|seen| seen.is_ok())
        }
    }

    /// From now on every request waits `delay` before it is served and its answer `delay`
    /// before it goes back: a round trip costs twice `delay` more.
    pub fn latency(&self, delay: Duration) -> &Self {
        self.state.lock().unwrap().latency.delay = delay;
        self
    }

    /// The TCP connections the client opened since the last `reset_latency_counts`.
    pub fn connections(&self) -> usize {
        self.state.lock().unwrap().latency.connections
    }

    /// The most requests the client had in flight at once (delays included) since the last
    /// `reset_latency_counts`.
    pub fn client_max_in_flight(&self) -> usize {
        self.state.lock().unwrap().latency.max_in_flight
    }

    pub fn reset_latency_counts(&self) {
        let latency = &mut self.state.lock().unwrap().latency;
        latency.connections = 0;
        latency.max_in_flight = latency.in_flight;
    }
}

/// Counts a request as in flight for the client for as long as it is held.
struct ClientInFlight(Arc<Mutex<State>>);

impl Drop for ClientInFlight {
    fn drop(&mut self) {
        self.0.lock().unwrap().latency.in_flight -= 1;
    }
}

/// `handle`, a network `Latency::delay` away from the client in each direction.
async fn delayed(
    request: Request<Incoming>,
    state: Arc<Mutex<State>>,
    connector: tokio_rustls::TlsConnector,
    upstream: String,
) -> Answer {
    let (delay, answered) = {
        let latency = &mut state.lock().unwrap().latency;
        latency.in_flight += 1;
        latency.max_in_flight = latency.max_in_flight.max(latency.in_flight);
        (latency.delay, latency.answered.clone())
    };
    let _counted = ClientInFlight(state.clone());
    tokio::time::sleep(delay).await;
    let answer = handle(request, state, connector, upstream).await;
    tokio::time::sleep(delay).await;
    answered.send_modify(|n| *n += 1);
    answer
}

#[test]
fn the_proxy_forwards_names_and_records_every_operation() {
    use crate::common::Workspace;
    let proxy = Proxy::start(1);
    let ws = Workspace::new("pxplain", &["us-east-1"], "us-east-1");
    let run = ws.run_with(&["plan", "--stack", "pxplain"], &proxy.env());
    assert_eq!(run.code, 0, "{run:#?}");
    let record = proxy.record();
    let operations: Vec<&str> = record.iter().map(|r| r.operation.as_str()).collect();
    assert_eq!(operations[0], "sts:GetCallerIdentity", "{operations:?}");
    for expected in [
        "ssm:GetParameters",
        "s3:ListBuckets",
        "s3:HeadBucket",
        "s3:GetBucketPolicy",
        "s3:GetPublicAccessBlock",
    ] {
        assert!(operations.contains(&expected), "{expected}: {operations:?}");
    }
    assert!(
        record
            .iter()
            .all(|r| r.region == "us-east-1" && r.fault.is_none())
    );
}

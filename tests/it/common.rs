//! Test helpers: start the emulator once, run the CLI in a temp dir, and talk to the emulator
//! directly through the SDK (another client than ssm-keeper's own code path).

#![allow(dead_code)]

use aws_config::BehaviorVersion;
use aws_sdk_s3::config::{Credentials, Region};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

pub const ACCOUNT: &str = "123456789012";

pub struct Emulator {
    pub endpoint: String,
    pub http_endpoint: String,
    pub ca_bundle: PathBuf,
}

/// The emulator for this test run, started on first use. It exits with this process.
pub fn emulator() -> &'static Emulator {
    static EMULATOR: OnceLock<Emulator> = OnceLock::new();
    EMULATOR.get_or_init(|| start_emulator("shared", &[]))
}

/// A Python of the emulator's virtualenv.
pub fn python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var_os("SSM_KEEPER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python"));
    assert!(
        python.exists(),
        "no emulator virtualenv at {}: run the tests with `make test`, which installs it",
        python.display()
    );
    python
}

/// Another emulator of its own (state dir `name`), with environment settings for moto (such as
/// `INITIAL_NO_AUTH_ACTION_COUNT`). It exits with this process.
pub fn start_emulator(name: &str, env: &[(&str, &str)]) -> Emulator {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join(format!(
        "target/emulator-test-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let log = std::fs::File::create(dir.join("emulator.log")).unwrap();
    let mut command = Command::new(python());
    command
        .arg(root.join("emulator/launch.py"))
        .arg("--state-dir")
        .arg(&dir)
        .arg("--exit-with-parent")
        .arg(std::process::id().to_string())
        .stdout(Stdio::piped())
        .stderr(log);
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("starting the emulator");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: serde_json::Value =
        serde_json::from_str(line.strip_prefix("READY ").unwrap_or_else(|| {
            panic!(
                "emulator did not start; see {}",
                dir.join("emulator.log").display()
            )
        }))
        .unwrap();
    std::mem::forget(child); // it watches this process and exits with it
    Emulator {
        endpoint: info["endpoint"].as_str().unwrap().to_string(),
        http_endpoint: info["http_endpoint"].as_str().unwrap().to_string(),
        ca_bundle: PathBuf::from(info["ca_bundle"].as_str().unwrap()),
    }
}

/// What a CLI run produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// A benchmarked run: its outcome, wall time and peak resident memory.
pub struct Measured {
    pub run: Run,
    /// When the run started (the wall clock, as the proxy's `Recorded::at`).
    pub started: std::time::SystemTime,
    pub seconds: f64,
    pub peak_mib: f64,
}

/// Runs argv[2:] and writes `code seconds maxrss_kib started` to argv[1] (`started`: seconds
/// since the epoch): a parent of the run's own, so
/// that getrusage counts it alone (the test process has other children, the emulator among
/// them) and its peak is exact, not sampled.
const MEASURE: &str = "import resource, subprocess, sys, time
started, t0 = time.time(), time.monotonic()
code = subprocess.run(sys.argv[2:]).returncode
seconds = time.monotonic() - t0
with open(sys.argv[1], 'w') as f:
    f.write(f'{code} {seconds} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss} {started}')";

/// A temp dir holding `stacks/<env>.yaml`, where the CLI runs.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub env: String,
}

pub const PROJECT: &str = "itest";

impl Workspace {
    pub fn new(env: &str, regions: &[&str], default_region: &str) -> Self {
        let ws = Workspace {
            dir: tempfile::tempdir().unwrap(),
            env: env.to_string(),
        };
        ws.write_stack(regions, default_region, regions[0]);
        ws
    }

    pub fn write_stack(&self, regions: &[&str], default_region: &str, home: &str) {
        let list: String = regions.iter().map(|r| format!("  - {r}\n")).collect();
        self.write_raw(
            &self.env,
            &format!(
                "projectName: {PROJECT}\nenvironment: {}\nregions:\n{list}defaultRegion: {default_region}\nssmHomeRegion: {home}\n",
                self.env
            ),
        );
    }

    /// The stack of `regions` (the first the default and home region) with `extra` appended
    /// (optional sections, each line ending in a newline).
    pub fn write_stack_with(&self, regions: &[&str], extra: &str) {
        let list: String = regions.iter().map(|r| format!("  - {r}\n")).collect();
        self.write_raw(
            &self.env,
            &format!(
                "projectName: {PROJECT}\nenvironment: {env}\nregions:\n{list}defaultRegion: {first}\nssmHomeRegion: {first}\n{extra}",
                env = self.env,
                first = regions[0]
            ),
        );
    }

    pub fn write_raw(&self, name: &str, text: &str) {
        let stacks = self.dir.path().join("stacks");
        std::fs::create_dir_all(&stacks).unwrap();
        std::fs::write(stacks.join(format!("{name}.yaml")), text).unwrap();
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    pub fn bucket(&self, region: &str) -> String {
        format!("{PROJECT}-ssm-backup-{}-{ACCOUNT}-{region}", self.env)
    }

    pub fn param(&self, tail: &str) -> String {
        format!("/jenkins/{}/backup/{tail}", self.env)
    }

    /// Runs ssm-keeper with the emulator's environment (and a machine-wide AWS_CA_BUNDLE
    /// overridden, as `make emulator` does).
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// `run` with environment changes: `Some(value)` sets, `None` removes.
    pub fn run_with(&self, args: &[&str], env: &[(&str, Option<&str>)]) -> Run {
        let out = self
            .command(args, env)
            .output()
            .expect("running ssm-keeper");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The ssm-keeper command `run_with` runs, to start it in the background.
    pub fn command(&self, args: &[&str], env: &[(&str, Option<&str>)]) -> Command {
        let emu = emulator();
        let mut command = Command::new(env!("CARGO_BIN_EXE_ssm-keeper"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("AWS_ENDPOINT_URL", &emu.endpoint)
            .env("AWS_CA_BUNDLE", &emu.ca_bundle)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .stdin(Stdio::null());
        for (name, value) in env {
            match value {
                Some(v) => command.env(name, v),
                None => command.env_remove(name),
            };
        }
        command
    }

    /// The backup's summary file where it goes by default (`backup-work/region_summaries.json`).
    pub fn summary(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.path("backup-work/region_summaries.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// `run_with`, measured (`Measured`). Its output goes to files, read at the end: a pipe
    /// nobody drains would stop a long run once full.
    pub fn measure(&self, args: &[&str], env: &[(&str, Option<&str>)]) -> Measured {
        let inner = self.command(args, env);
        let (result, out, err) = (
            self.path("measured.txt"),
            self.path("measured.stdout"),
            self.path("measured.stderr"),
        );
        let mut outer = Command::new(python());
        outer
            .arg("-c")
            .arg(MEASURE)
            .arg(&result)
            .arg(inner.get_program())
            .args(inner.get_args())
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap());
        for (name, value) in inner.get_envs() {
            match value {
                Some(v) => outer.env(name, v),
                None => outer.env_remove(name),
            };
        }
        let status = outer.status().expect("running the measuring wrapper");
        let run = |code| Run {
            code,
            stdout: std::fs::read_to_string(&out).unwrap(),
            stderr: std::fs::read_to_string(&err).unwrap(),
        };
        assert!(
            status.success(),
            "the measuring wrapper failed: {:#?}",
            run(-1)
        );
        let text = std::fs::read_to_string(&result).unwrap();
        let fields: Vec<&str> = text.split_whitespace().collect();
        Measured {
            run: run(fields[0].parse().unwrap()),
            started: std::time::UNIX_EPOCH
                + std::time::Duration::from_secs_f64(fields[3].parse().unwrap()),
            seconds: fields[1].parse().unwrap(),
            peak_mib: fields[2].parse::<f64>().unwrap() / 1024.0,
        }
    }

    /// Starts ssm-keeper in the background and returns once a line of its stderr starts with
    /// `marker` (the rest of stderr is drained, stdout discarded).
    pub fn spawn_until(
        &self,
        args: &[&str],
        env: &[(&str, Option<&str>)],
        marker: &str,
    ) -> std::process::Child {
        let (child, mut lines) = self.spawn(args, env, Stdio::null());
        wait_for_line(&mut lines, marker);
        std::thread::spawn(move || lines.for_each(drop));
        child
    }

    /// Starts ssm-keeper in the background with stderr readable line by line.
    pub fn spawn(
        &self,
        args: &[&str],
        env: &[(&str, Option<&str>)],
        stdout: Stdio,
    ) -> (std::process::Child, StderrLines) {
        let mut child = self
            .command(args, env)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        (child, lines)
    }

    /// plan --format json, asserting the exit code.
    pub fn plan_json(&self, expected_code: i32) -> serde_json::Value {
        let run = self.run(&[
            "plan",
            "--stack",
            &self.env,
            "--format",
            "json",
            "--detailed-exitcode",
        ]);
        assert_eq!(run.code, expected_code, "plan: {run:#?}");
        run.json()
    }

    pub fn apply(&self) {
        let run = self.run(&["apply", "--stack", &self.env, "--auto-approve"]);
        assert_eq!(run.code, 0, "apply: {run:#?}");
    }
}

/// (action, resource type, name, [attributes]) for each change of a JSON plan, sorted.
pub fn changes(plan: &serde_json::Value) -> Vec<(String, String, String, Vec<String>)> {
    let mut out: Vec<_> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let fields = c["fields"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .map(|f| f["attribute"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            (
                c["action"].as_str().unwrap().to_string(),
                c["id"]["type"].as_str().unwrap().to_string(),
                c["id"]["name"].as_str().unwrap().to_string(),
                fields,
            )
        })
        .collect();
    out.sort();
    out
}

pub fn change(
    action: &str,
    kind: &str,
    name: &str,
    fields: &[&str],
) -> (String, String, String, Vec<String>) {
    (
        action.into(),
        kind.into(),
        name.into(),
        fields.iter().map(|f| f.to_string()).collect(),
    )
}

pub async fn sdk_config(region: &str, endpoint: &str) -> aws_config::SdkConfig {
    let emu = emulator();
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .endpoint_url(endpoint)
        .http_client(ssm_keeper::shell::tls::https_client_trusting(&emu.ca_bundle).unwrap())
        .load()
        .await
}

/// An S3 client straight from the SDK, not through ssm-keeper's code.
pub async fn s3(region: &str) -> aws_sdk_s3::Client {
    let conf = sdk_config(region, &emulator().endpoint).await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    )
}

/// The same over plain HTTP (for the DenyInsecureConnections statement).
pub async fn s3_plain_http(region: &str) -> aws_sdk_s3::Client {
    let conf = sdk_config(region, &emulator().http_endpoint).await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    )
}

pub async fn kms(region: &str) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&sdk_config(region, &emulator().endpoint).await)
}

pub async fn cloudwatch(region: &str) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&sdk_config(region, &emulator().endpoint).await)
}

pub async fn ssm(region: &str) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&sdk_config(region, &emulator().endpoint).await)
}

pub async fn parameter(region: &str, name: &str) -> Option<String> {
    match ssm(region).await.get_parameter().name(name).send().await {
        Ok(out) => out.parameter.and_then(|p| p.value),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            None
        }
        Err(e) => panic!("get_parameter {name}: {e:?}"),
    }
}

/// Writes (or overwrites) a SecureString with the default key, as another client would.
pub async fn put_secure(region: &str, name: &str, value: &str) {
    ssm(region)
        .await
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap();
}

/// Deletes a parameter, as another client would.
pub async fn delete_param(region: &str, name: &str) {
    ssm(region)
        .await
        .delete_parameter()
        .name(name)
        .send()
        .await
        .unwrap();
}

/// Writes (or overwrites) a String parameter as another client would have `seconds` ago: the
/// emulator backdates its LastModifiedDate (`x-emulator-age-seconds`, docs/emulator.md).
pub async fn put_string_aged(region: &str, name: &str, value: &str, seconds: u64) {
    ssm(region)
        .await
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .customize()
        .mutate_request(move |r| {
            if seconds > 0 {
                r.headers_mut()
                    .insert("x-emulator-age-seconds", seconds.to_string());
            }
        })
        .send()
        .await
        .unwrap();
}

/// Writes (or overwrites) a String parameter, as another client would.
pub async fn put_string(region: &str, name: &str, value: &str) {
    put_string_aged(region, name, value, 0).await;
}

pub async fn bucket_exists(region: &str, bucket: &str) -> bool {
    match s3(region).await.head_bucket().bucket(bucket).send().await {
        Ok(_) => true,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => false,
        Err(e) => panic!("head_bucket {bucket}: {e:?}"),
    }
}

/// Stores a new object as the backup job would: encrypted, created only if absent.
pub async fn put_encrypted(region: &str, bucket: &str, key: &str) {
    s3(region)
        .await
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(b"backup".to_vec().into())
        .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
        .if_none_match("*")
        .send()
        .await
        .unwrap();
}

pub type StderrLines = std::io::Lines<BufReader<std::process::ChildStderr>>;

/// Reads stderr until a line starts with `marker`; panics with what came if it never does.
pub fn wait_for_line(lines: &mut StderrLines, marker: &str) {
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let found = line.starts_with(marker);
        seen.push(line);
        if found {
            return;
        }
    }
    panic!("`{marker}` never came; stderr:\n{}", seen.join("\n"));
}

/// Sends a signal (`TERM`, `INT`, ...) to a child process.
pub fn signal(child: &std::process::Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// The emulator's way to act as another AWS account: creates `bucket` owned by `account`.
pub async fn create_bucket_of_account(region: &str, bucket: &str, account: &'static str) {
    let mut request = s3(region).await.create_bucket().bucket(bucket);
    if region != "us-east-1" {
        request = request.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                .build(),
        );
    }
    request
        .customize()
        .mutate_request(move |r| {
            r.headers_mut().insert("x-moto-account-id", account);
        })
        .send()
        .await
        .unwrap();
}

/// How many objects a bucket holds (one page: the tests' buckets are small).
pub async fn object_count(region: &str, bucket: &str) -> usize {
    s3(region)
        .await
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .contents()
        .len()
}

/// An object's bytes, read as another client would.
pub async fn object_bytes(region: &str, bucket: &str, key: &str) -> Vec<u8> {
    s3(region)
        .await
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .to_vec()
}

/// Stores `body` encrypted (AES256), with a SHA-256 checksum when `checksum` (the old script
/// stored none), over whatever the key holds: as an administrator would, who may lift the
/// bucket policy that makes backups create-only (it is put back at once).
pub async fn store_object(region: &str, bucket: &str, key: &str, body: &[u8], checksum: bool) {
    store_tagged_object(region, bucket, key, body, checksum, None).await;
}

/// `store_object`, with `tagging` (`k=v&...`, as `x-amz-tagging`) as the object's tags.
pub async fn store_tagged_object(
    region: &str,
    bucket: &str,
    key: &str,
    body: &[u8],
    checksum: bool,
    tagging: Option<&str>,
) {
    let client = s3(region).await;
    let policy = client
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .ok()
        .and_then(|out| out.policy);
    if policy.is_some() {
        client
            .delete_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
    }
    let mut request = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.to_vec().into())
        .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256);
    if checksum {
        request = request.checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256);
    }
    request
        .set_tagging(tagging.map(str::to_string))
        .send()
        .await
        .unwrap();
    if let Some(policy) = policy {
        client
            .put_bucket_policy()
            .bucket(bucket)
            .policy(policy)
            .send()
            .await
            .unwrap();
    }
}

/// A real HTTP receiver on 127.0.0.1 that stores the one payload it is sent.
pub fn slack_receiver() -> (String, std::sync::mpsc::Receiver<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/services/T000/B000/XXXX",
        listener.local_addr().unwrap()
    );
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        std::io::Read::read_exact(&mut reader, &mut body).unwrap();
        let mut stream = stream;
        std::io::Write::write_all(
            &mut stream,
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
        )
        .unwrap();
        tx.send(String::from_utf8(body).unwrap()).unwrap();
    });
    (url, rx)
}

/// A real SMTP server on 127.0.0.1 (aiosmtpd, emulator/smtp_sink.py): STARTTLS with the
/// emulator's certificate, AUTH as `user`/`password` required, messages stored as files.
pub struct SmtpSink {
    pub port: String,
    ca_bundle: String,
    pub dir: tempfile::TempDir,
    child: std::process::Child,
}

pub const SMTP_USER: &str = "ops-mailer";
pub const SMTP_PASSWORD: &str = "smtp-pass-4f1e9";

impl SmtpSink {
    pub fn start() -> Self {
        let certs = emulator().ca_bundle.parent().unwrap().to_path_buf();
        let python = std::env::var_os("SSM_KEEPER_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("emulator/smtp_sink.py"))
            .arg("--cert")
            .arg(certs.join("server.pem"))
            .arg("--key")
            .arg(certs.join("server-key.pem"))
            .arg("--out-dir")
            .arg(dir.path())
            .args(["--user", SMTP_USER, "--password", SMTP_PASSWORD])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the SMTP sink (aiosmtpd, installed by `make test`)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("the SMTP sink did not start: {line:?}"))
            .trim()
            .to_string();
        let ca_bundle = emulator().ca_bundle.display().to_string();
        SmtpSink {
            port,
            ca_bundle,
            dir,
            child,
        }
    }

    /// The environment that points ssm-keeper at this server.
    pub fn env(&self) -> Vec<(&str, Option<&str>)> {
        vec![
            ("SMTP_HOST", Some("127.0.0.1")),
            ("SMTP_PORT", Some(&self.port)),
            ("SMTP_FROM", Some("ssm-keeper <backup@example.com>")),
            ("SMTP_USERNAME", Some(SMTP_USER)),
            ("SMTP_PASSWORD", Some(SMTP_PASSWORD)),
            ("SMTP_CA_BUNDLE", Some(&self.ca_bundle)),
        ]
    }

    /// The messages received so far, in order (headers and body as sent).
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for n in 1.. {
            match std::fs::read_to_string(self.dir.path().join(format!("{n}.eml"))) {
                Ok(text) => out.push(text),
                Err(_) => break,
            }
        }
        out
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Returns once the clock is in the next second. A backup document is named to the second: a
/// backup started in the same second as the one before is the same backup (found stored), not
/// another one. (A wait on the clock, not on another process.)
pub fn next_second() {
    let started = time::OffsetDateTime::now_utc().unix_timestamp();
    while time::OffsetDateTime::now_utc().unix_timestamp() == started {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

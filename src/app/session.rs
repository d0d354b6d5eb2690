//! What every command shares: the session (how to reach AWS, loaded on first use) and reading
//! its input files (the stack file, a saved plan) before anything touches AWS.

use anyhow::{Context as _, Result, bail};
use std::path::{Path, PathBuf};
use tokio::sync::OnceCell;

use crate::cli::Cli;
use crate::core::plan::sha256_hex;
use crate::core::stack::{self, ParseOptions, Stack};
use crate::shell::aws::{Aws, AwsOptions};
use crate::shell::input::{Bounded, read_bounded};

/// How to reach AWS, loaded on first use (after the command's own input has been validated, so
/// bad input never causes an AWS call).
pub struct Session {
    options: AwsOptions,
    stack_options: ParseOptions,
    aws: OnceCell<Aws>,
}

impl Session {
    pub fn new(options: AwsOptions, stack_options: ParseOptions) -> Self {
        Session {
            options,
            stack_options,
            aws: OnceCell::new(),
        }
    }

    /// The session of the global flags (and AWS_CA_BUNDLE).
    pub fn of(cli: &Cli) -> Self {
        Session::new(
            AwsOptions {
                endpoint_url: cli.endpoint_url.clone(),
                profile: cli.profile.clone(),
                region: cli.region.clone(),
                ca_bundle: std::env::var_os("AWS_CA_BUNDLE")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from),
                connect_timeout: cli.connect_timeout,
                read_timeout: cli.read_timeout,
            },
            ParseOptions {
                allow_unknown_regions: cli.allow_unknown_region,
            },
        )
    }

    /// Reads and validates a stack file (`dev` means stacks/dev.yaml).
    pub fn load_stack(&self, arg: &str) -> Result<StackFile> {
        read_stack_file(&stack_path(arg), self.stack_options)
    }

    /// How stack files are parsed in this run.
    pub fn stack_options(&self) -> ParseOptions {
        self.stack_options
    }

    pub async fn aws(&self) -> Result<&Aws> {
        self.aws.get_or_try_init(|| Aws::load(&self.options)).await
    }

    /// AWS, if the run got as far as loading it.
    pub fn loaded_aws(&self) -> Option<&Aws> {
        self.aws.get()
    }

    /// Writes the number of AWS requests per operation (`--api-stats`), if AWS was loaded.
    pub fn write_api_stats(&self, path: &Path) -> Result<()> {
        let Some(aws) = self.loaded_aws() else {
            return Ok(());
        };
        let stats = serde_json::to_string_pretty(&aws.calls().snapshot())?;
        std::fs::write(path, stats)
            .with_context(|| format!("writing API stats to {}", path.display()))
    }
}

/// `dev` means `stacks/dev.yaml`; anything that looks like a path is taken as given.
pub fn stack_path(arg: &str) -> PathBuf {
    let looks_like_path = arg.contains('/') || arg.ends_with(".yaml") || arg.ends_with(".yml");
    if looks_like_path {
        PathBuf::from(arg)
    } else {
        Path::new("stacks").join(format!("{arg}.yaml"))
    }
}

/// A stack file as read: the path as shown to the user, the SHA-256 of its bytes, the stack.
pub struct StackFile {
    pub label: String,
    pub sha256: String,
    pub stack: Stack,
}

/// The largest stack file or saved plan read: far above any real one.
pub const MAX_INPUT_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The bytes of an input file (`what` names it in messages, `hint` follows the path when it
/// cannot be read): a regular file of at most `MAX_INPUT_FILE_BYTES`, so that a device or a
/// pipe named in a saved plan cannot hang or exhaust the run.
pub fn read_input_file(path: &Path, what: &str, hint: &str) -> Result<Vec<u8>> {
    let label = path.display();
    let read = read_bounded(path, MAX_INPUT_FILE_BYTES)
        .with_context(|| format!("reading {what} {label}{hint}"))?;
    match read {
        Bounded::Bytes(bytes) => Ok(bytes),
        Bounded::NotRegular(kind) => bail!("{what} {label} is not a regular file ({kind})"),
        Bounded::TooLarge(size) => bail!(
            "{what} {label} is {size} bytes, more than the {MAX_INPUT_FILE_BYTES} ssm-keeper reads"
        ),
    }
}

/// Reads and validates the stack file at `path`.
pub fn read_stack_file(path: &Path, options: ParseOptions) -> Result<StackFile> {
    let label = path.display().to_string();
    let bytes = read_input_file(
        path,
        "the stack file",
        " (a stack name like `dev` means stacks/dev.yaml)",
    )?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{label}: the stack file is not UTF-8 text"))?;
    let stack = stack::parse_with(&label, &text, options)?;
    Ok(StackFile {
        sha256: sha256_hex(text.as_bytes()),
        label,
        stack,
    })
}

//! The command line: global flags, one subcommand enum, value enums for formats.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

use crate::core::iam::Role;

#[derive(Debug, Parser)]
#[command(
    name = "ssm-keeper",
    version,
    about = "Plan, apply and back up the SSM Parameter Store backup stack against live AWS",
    after_help = "Example:\n  ssm-keeper plan --stack dev && ssm-keeper apply --stack dev"
)]
pub struct Cli {
    /// Use this profile of the AWS config and credentials files (as the AWS CLI's --profile;
    /// default: AWS_PROFILE).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// The region of the requests that no stack region decides (STS), as the AWS CLI's
    /// --region (default: AWS_REGION, else the profile's). Before the command: `restore` and
    /// `verify` have a --region of their own, a backup region.
    #[arg(long, value_name = "REGION", value_parser = region_name)]
    pub region: Option<String>,

    /// Send every AWS request to this endpoint (default: AWS_ENDPOINT_URL, else AWS itself).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Seconds to establish a connection to AWS (as the AWS CLI's --cli-connect-timeout).
    #[arg(long, global = true, value_name = "DURATION", value_parser = network_timeout,
          default_value = "10s")]
    pub connect_timeout: Duration,

    /// Time to wait for AWS to answer before the attempt fails and is retried (as the AWS
    /// CLI's --cli-read-timeout): a stalled response is cut after this.
    #[arg(long, global = true, value_name = "DURATION", value_parser = network_timeout,
          default_value = "60s")]
    pub read_timeout: Duration,

    /// More log lines on stderr: -v what ssm-keeper does, -vv every AWS request it sends
    /// (operation and region, never a value). RUST_LOG, when set, chooses instead.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors in the log (warnings and the progress of the run are still printed).
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Accept region names this ssm-keeper does not know yet (a region AWS opened after this
    /// release), as long as they are well formed.
    #[arg(long, global = true)]
    pub allow_unknown_region: bool,

    /// How often a writing command renews its lock (tests make it short).
    #[arg(long, global = true, hide = true, value_name = "DURATION", value_parser = lock_renewal,
          default_value = "5m")]
    pub lock_renew_every: Duration,

    /// Write the number of AWS requests per operation to FILE as JSON (benchmarks).
    #[arg(long, global = true, hide = true, value_name = "FILE")]
    pub api_stats: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Commands,
}

#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Show how live AWS differs from the stack file (read-only).
    #[command(
        after_help = "Example:\n  ssm-keeper plan --stack prod --format markdown --detailed-exitcode --out plan.json"
    )]
    Plan(PlanArgs),
    /// Make live AWS match the stack file (or a saved plan).
    #[command(after_help = "Example:\n  ssm-keeper apply --plan plan.json --auto-approve")]
    Apply(ApplyArgs),
    /// Show a saved plan (from `plan --out`) without any AWS call.
    #[command(after_help = "Example:\n  ssm-keeper show plan.json --format markdown")]
    Show(ShowArgs),
    /// Check a stack file offline (no credentials, no AWS call): exit 0 if valid, 1 if not.
    #[command(after_help = "Example:\n  ssm-keeper validate --stack prod")]
    Validate(ValidateArgs),
    /// Print the region -> bucket map of a stack.
    #[command(after_help = "Example:\n  ssm-keeper outputs --stack prod --json")]
    Outputs(OutputsArgs),
    /// Back up each region's parameters of the stack's environment into that region's bucket.
    #[command(
        after_help = "Example:\n  ssm-keeper backup --stack prod --notify-slack \"$SLACK_WEBHOOK_URL\" --notify-email ops@example.com"
    )]
    Backup(BackupArgs),
    /// Check that each region's newest backup is there, intact and fresh (read-only), from the
    /// objects' metadata alone: no document is read, so the verify role reads no secret.
    #[command(
        after_help = "Plain verify runs with `iam-policy --role verify`: no s3:GetObject on documents (only on the pointers), no kms:Decrypt. `verify --deep` reads the documents: run it with the restore role (s3:GetObject on the backups, and kms:Decrypt for a KMS-encrypted bucket).\n\nExample:\n  ssm-keeper verify --stack prod --max-age 26 --format json"
    )]
    Verify(VerifyArgs),
    /// List the environment's Parameter Store changes from the stack's journal: when, where,
    /// what (Create, Update, Delete, LabelParameterVersion...), the version live now and who
    /// wrote it. Never a value.
    #[command(
        after_help = "Runs with `iam-policy --role verify` (the journal and parameter metadata only); --history reads GetParameterHistory, which returns values, so it needs the restore role (values are never printed). Without a journal (`journal:` in the stack) each parameter's last change comes from its metadata and deletions are not seen.\n\nExample:\n  ssm-keeper changes --stack prod --since 2026-12-06T00:00:00Z --format markdown"
    )]
    Changes(ChangesArgs),
    /// List each region's recovery points: every stored backup (when, key, parameter count,
    /// size, stamp, copy) and the window `restore --at` can reach. Read-only, no document read.
    #[command(
        after_help = "Runs with `iam-policy --role verify`.\n\nExample:\n  ssm-keeper snapshots --stack prod --region eu-west-1"
    )]
    Snapshots(SnapshotsArgs),
    /// Bring parameters back from a backup: a preview, or with --apply the writes; or with
    /// --drill prove that each region's latest backup restores, in a scratch path.
    #[command(
        after_help = "Example:\n  ssm-keeper restore --stack prod --region ap-northeast-1 --only /jenkins/prod/ --to-prefix /drill/prod/"
    )]
    Restore(RestoreArgs),
    /// Remove a stale lock of an environment (its run is gone) by its ID, after showing it.
    #[command(
        after_help = "Example:\n  ssm-keeper force-unlock --stack prod 6f1c2a0e-5b1d-4c1e-9a43-0d2f7c1b9e55"
    )]
    ForceUnlock(ForceUnlockArgs),
    /// Print the least-privilege IAM policy of a role, scoped to the stacks' resources (one
    /// policy for every --stack), or with --trust who may assume the role.
    #[command(
        name = "iam-policy",
        after_help = "Examples:\n  ssm-keeper iam-policy --stack dev --stack prod --role backup > backup-policy.json\n  ssm-keeper iam-policy --stack dev --stack prod --role backup --trust github --repository my-org/infra > backup-trust.json"
    )]
    IamPolicy(IamPolicyArgs),
    /// Print the shell completion script for bash, zsh or fish.
    #[command(
        after_help = "Example:\n  ssm-keeper completions bash > /etc/bash_completion.d/ssm-keeper"
    )]
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The saved plan (from `plan --out`).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The stack: a name (`dev` is stacks/dev.yaml) or a path to a YAML file.
    #[arg(long, short)]
    pub stack: String,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `--role`: the roles of core::iam, by their names.
impl ValueEnum for Role {
    fn value_variants<'a>() -> &'a [Self] {
        <Role as strum::VariantArray>::VARIANTS
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The stack: a name (`dev` is stacks/dev.yaml) or a path to a YAML file.
    #[arg(long, short)]
    pub stack: String,

    /// The newest backup may be this many hours old at most (1 to 8760).
    #[arg(long, value_name = "HOURS", default_value_t = 26,
          value_parser = clap::value_parser!(u64).range(1..=8760))]
    pub max_age: u64,

    /// Check only these regions (default: every region of the live region list).
    #[arg(long = "region", value_name = "REGION", value_parser = region_name)]
    pub regions: Vec<String>,

    /// A backup larger than this fails (restore refuses it; --deep does not read it).
    #[arg(long, value_name = "BYTES", default_value_t = crate::core::verify::DEFAULT_MAX_DOCUMENT_BYTES,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_document_bytes: u64,

    /// Also read each newest document (and the previous one's count): the checks that need its
    /// content (document, entries, selection, encryption, checksum of the bytes, the tags
    /// against the content), and its comparison with Parameter Store itself (matches-ssm: each
    /// parameter at the backup's version, by hash; complete: every parameter live before the
    /// backup in it). Needs the restore role (s3:GetObject on the backups, ssm:GetParameters).
    #[arg(long)]
    pub deep: bool,

    /// The parameter count may fall by at most this many percent from the previous backup of
    /// the region (100: no limit).
    #[arg(long, value_name = "PERCENT", default_value_t = 50,
          value_parser = clap::value_parser!(u64).range(0..=100))]
    pub max_count_drop: u64,

    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// The stack: a name (`dev` is stacks/dev.yaml) or a path to a YAML file.
    #[arg(long, short)]
    pub stack: String,

    /// Only this region of the stack (default: every region).
    #[arg(long, value_name = "REGION", value_parser = region_name)]
    pub region: Option<String>,

    /// From this moment: RFC 3339 (2026-12-07T14:00:00Z) or a local time with its offset
    /// (2026-12-07 23:00 +09:00). Default: 24 hours before --until.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Up to this moment (default: now).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Only parameters whose names start with this prefix.
    #[arg(long, value_name = "PREFIX")]
    pub only: Option<String>,

    /// Also every version written in the window, who wrote it and which attributes it changed
    /// (type, tier, key, description, policies). Needs the restore role.
    #[arg(long)]
    pub history: bool,

    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Args)]
pub struct SnapshotsArgs {
    /// The stack: a name (`dev` is stacks/dev.yaml) or a path to a YAML file.
    #[arg(long, short)]
    pub stack: String,

    /// Only this region of the stack (default: every region).
    #[arg(long, value_name = "REGION", value_parser = region_name)]
    pub region: Option<String>,

    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The stack: a name (`dev` is stacks/dev.yaml) or a path to a YAML file.
    #[arg(long, short)]
    pub stack: String,

    /// The region whose backup to restore (its bucket holds it). With --drill: drill only
    /// this region (default: every region of the live region list).
    #[arg(long, value_name = "REGION", value_parser = region_name,
          required_unless_present = "drill")]
    pub region: Option<String>,

    /// Restore drill: restore each region's latest backup under the scratch path
    /// /drills/ssm-keeper/<env>/<run id>/ of the same region, read every parameter back and
    /// compare it with the backup, then delete everything under /drills/ssm-keeper/<env>/ (also
    /// on failure or a signal; a killed drill's leftovers are deleted by the next). Takes the
    /// environment's lock and publishes DrillSuccess and DrillDuration. Exit 0 passed, 2 a
    /// difference, 1 it could not run or clean up.
    #[arg(long, conflicts_with_all = ["from", "target_region", "only", "to_prefix", "overwrite",
          "recreate", "include_metadata", "detailed_exitcode", "apply"])]
    pub drill: bool,

    /// Restore each parameter as it was at this moment since a backup: RFC 3339
    /// (2026-12-07T14:00:00Z) or a local time with its offset (2026-12-07 23:00 +09:00). The
    /// newest backup stored at or before it, then the journal's changes and Parameter Store's
    /// history of versions; a parameter that cannot be placed exactly is listed, never written.
    /// Needs the stack's `journal`. With --drill: each region's state at that moment drilled.
    #[arg(long, value_name = "TIME", conflicts_with = "from", value_parser = moment)]
    pub at: Option<String>,

    /// Which backup: `latest`, a date (`YYYY-MM-DD`: that day's newest), an S3 key in the
    /// region's bucket, or a local file (a path starting with `./`, `../` or `/`).
    #[arg(long, value_name = "WHICH", default_value = "latest", value_parser = backup_source)]
    pub from: String,

    /// Restore into this region instead (disaster recovery).
    #[arg(long, value_name = "REGION", value_parser = region_name)]
    pub target_region: Option<String>,

    /// Only the parameters whose name starts with PREFIX.
    #[arg(long, value_name = "PREFIX", value_parser = parameter_path)]
    pub only: Option<String>,

    /// With --only (ending with `/`): write them under NEW instead (a restore drill into a
    /// scratch path); NEW starts and ends with `/`, and never covers the locks or the metadata.
    #[arg(long, value_name = "NEW", requires = "only", value_parser = path_prefix)]
    pub to_prefix: Option<String>,

    /// Also update live parameters that differ from the backup (by default only missing ones
    /// are created). Nothing is ever deleted.
    #[arg(long)]
    pub overwrite: bool,

    /// With --overwrite: delete and write again a parameter whose differences PutParameter
    /// cannot make (a description, allowed pattern or policies to remove, Advanced back to
    /// Standard). Its history of versions and labels is lost; without it they are kept.
    #[arg(long, requires = "overwrite")]
    pub recreate: bool,

    /// Encrypt every SecureString with this KMS key (the source key usually does not exist in
    /// another region).
    #[arg(long, value_name = "ID", value_parser = kms_key_id)]
    pub kms_key_id: Option<String>,

    /// Read the region's backup from its copy in the region the stack's `copies` names (also
    /// done, with a warning, when the region's S3 cannot be reached).
    #[arg(long)]
    pub from_copy: bool,

    /// A backup larger than this is refused without being read whole.
    #[arg(long, value_name = "BYTES", default_value_t = crate::core::verify::DEFAULT_MAX_DOCUMENT_BYTES,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_document_bytes: u64,

    /// Also restore the stack's own metadata (/jenkins/<env>/backup/...), which `apply` manages.
    #[arg(long)]
    pub include_metadata: bool,

    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Exit 0 when the restore would change nothing, 2 when it would, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Write (after confirmation). Without it, restore is a read-only preview.
    #[arg(long)]
    pub apply: bool,

    /// With --apply: do not ask for confirmation.
    #[arg(long, requires = "apply")]
    pub auto_approve: bool,

    /// A ceiling of SSM requests per second per API class in the target region (the pace starts
    /// there), the preview's and read-back's reads included. Without it (0) requests are paced
    /// to AWS's default quotas: slower on ThrottlingException, faster while accepted. At most
    /// 10000.
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=MAX_RPS))]
    pub max_rps: u32,

    /// How long to wait for another run's lock of the environment (with --apply, which plans
    /// under the lock).
    #[arg(long, value_name = "DURATION", value_parser = lock_wait, default_value = "0s")]
    pub lock_timeout: Duration,
}

/// A parameter path prefix: it starts with `/`.
fn parameter_path(value: &str) -> Result<String, String> {
    if value.starts_with('/') && !value.contains("//") {
        Ok(value.to_string())
    } else {
        Err(format!(
            "`{value}` is not a parameter path: it starts with `/`, like /jenkins/prod/"
        ))
    }
}

/// A path prefix that receives parameters: it starts and ends with `/`.
fn path_prefix(value: &str) -> Result<String, String> {
    crate::core::stack::check_parameter_path(value).map(|()| value.to_string())
}

/// `--at`: a moment with its zone.
fn moment(value: &str) -> Result<String, String> {
    crate::core::changes::parse_moment(value).map(|_| value.to_string())
}

/// `--from`: a date it names is a day of the calendar.
fn backup_source(value: &str) -> Result<String, String> {
    crate::core::restore::check_from(value).map(|()| value.to_string())
}

/// `--kms-key-id`: a key ID, key ARN, alias or alias ARN, never empty.
fn kms_key_id(value: &str) -> Result<String, String> {
    crate::core::restore::check_kms_key_id(value).map(|()| value.to_string())
}

/// A region name, checked before anything runs.
fn region_name(value: &str) -> Result<String, String> {
    crate::core::region::check_region(value).map(|()| value.to_string())
}

#[derive(Debug, Args)]
pub struct IamPolicyArgs {
    /// The stack: a name (`dev` is stacks/dev.yaml) or a path to a YAML file. Repeat it for a
    /// role that serves several stacks: one policy covers them all.
    #[arg(long, short, required = true)]
    pub stack: Vec<String>,

    /// Who runs what: plan (plan, outputs; read-only), apply (apply, force-unlock), backup,
    /// restore, verify (read-only).
    #[arg(long, value_enum)]
    pub role: Role,

    /// The account the resources belong to (default: the caller's, from STS).
    #[arg(long, value_name = "ID", value_parser = account_id)]
    pub account_id: Option<String>,

    /// For the restore role only: also a parameter path a drill restores into (`--to-prefix`,
    /// starting and ending with `/`, never covering the locks or the metadata).
    #[arg(long, value_name = "PREFIX", value_parser = path_prefix)]
    pub to_prefix: Vec<String>,

    /// Print the role's trust policy instead: who may assume it (GitHub Actions through its
    /// OIDC provider, or the Jenkins controller's role). From GitHub: plan from pull requests
    /// and the default branch, apply from its environment (`--environment`), backup, verify and
    /// restore from each stack's environment `ssm-keeper-<stack>`.
    #[arg(long, value_enum, conflicts_with = "to_prefix")]
    pub trust: Option<TrustKind>,

    /// With `--trust github`: the repository, OWNER/REPO.
    #[arg(
        long,
        value_name = "OWNER/REPO",
        value_parser = repository,
        required_if_eq("trust", "github"),
        requires = "trust"
    )]
    pub repository: Option<String>,

    /// With `--trust github`: the default branch the apply workflow's manual plan runs from.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "main",
        requires = "repository"
    )]
    pub branch: String,

    /// With `--trust github`: the GitHub environment apply runs in (its approval gate).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "production",
        requires = "repository"
    )]
    pub environment: String,

    /// With `--trust github`: the backup, verify and restore roles also trust the default
    /// branch's subject (`repo:OWNER/REPO:ref:refs/heads/BRANCH`), the one their jobs had before
    /// they ran in the stacks' environments (`ssm-keeper-<stack>`), beside the new ones: for the
    /// switch, then printed again without it. Plan's and apply's subjects are unchanged.
    #[arg(long, requires = "repository")]
    pub also_branch_subject: bool,

    /// With `--trust jenkins`: the ARN of the role the Jenkins controller (or agent) runs as.
    #[arg(
        long,
        value_name = "ARN",
        value_parser = principal_arn,
        required_if_eq("trust", "jenkins"),
        requires = "trust"
    )]
    pub principal: Option<String>,
}

/// Who assumes a role (`--trust`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrustKind {
    Github,
    Jenkins,
}

/// `OWNER/REPO`, as GitHub names a repository.
fn repository(value: &str) -> Result<String, String> {
    let valid = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match value.split_once('/') {
        Some((owner, repo)) if valid(owner) && valid(repo) => Ok(value.to_string()),
        _ => Err(format!(
            "`{value}` is not a repository: OWNER/REPO, like my-org/infra"
        )),
    }
}

/// An IAM role or user ARN.
fn principal_arn(value: &str) -> Result<String, String> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && (parts[5].starts_with("role/") || parts[5].starts_with("user/"));
    if ok {
        Ok(value.to_string())
    } else {
        Err(format!(
            "`{value}` is not an IAM role ARN: arn:aws:iam::123456789012:role/jenkins-controller"
        ))
    }
}

/// A 12-digit AWS account id.
fn account_id(value: &str) -> Result<String, String> {
    if value.len() == 12 && value.chars().all(|c| c.is_ascii_digit()) {
        Ok(value.to_string())
    } else {
        Err(format!("`{value}` is not an AWS account id (12 digits)"))
    }
}

#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    /// The stack: a name (`dev` is stacks/dev.yaml) or a path to a YAML file.
    #[arg(long, short)]
    pub stack: String,

    /// The lock's ID, as the refusal that named its holder printed it.
    #[arg(value_name = "LOCK_ID")]
    pub lock_id: String,

    /// Remove it without asking (needed without a terminal): only when its run is gone.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct RemovalArgs {
    /// DELETE the buckets (and so the backups) of regions removed from the stack. Without this
    /// flag they are always retained.
    #[arg(long)]
    pub destroy_removed_buckets: bool,

    /// With --destroy-removed-buckets: also delete such buckets that still hold objects,
    /// destroying every object version in them.
    #[arg(long, requires = "destroy_removed_buckets")]
    pub destroy_bucket_objects: bool,

    /// Schedule the deletion of the managed KMS keys the stack no longer uses (`encryption`
    /// no longer kms, kmsKeyIds added, a region removed). KMS deletes a key 30 days later;
    /// from then on no backup encrypted with it can be read. Without this flag keys are kept.
    #[arg(long)]
    pub destroy_removed_keys: bool,

    /// Delete the change journals' log groups the stack no longer names (the `journal` section
    /// or a region removed), and with them the history of changes they hold. Without this flag
    /// they are kept (the rules that fill them are removed either way).
    #[arg(long)]
    pub destroy_removed_journals: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The stack: a name (`dev` is stacks/dev.yaml) or a path to a YAML file.
    #[arg(long, short)]
    pub stack: String,

    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Also save the plan (JSON) for `apply --plan FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub removal: RemovalArgs,

    /// Accept the key the stack's KMS alias names now where it is not the key the bucket's
    /// default encryption is pinned to (saved with --out, so `apply --plan` accepts it too).
    #[arg(long)]
    pub accept_key_change: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The stack: a name (`dev` is stacks/dev.yaml) or a path to a YAML file.
    #[arg(long, short, required_unless_present = "plan")]
    pub stack: Option<String>,

    /// Apply this saved plan (from `plan --out`), only if the stack file it names is
    /// byte-identical to the one planned (`--stack`, if given, must name that file) and live AWS
    /// has not moved since. Its destroy options are the saved ones.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["destroy_removed_buckets", "destroy_removed_keys", "destroy_removed_journals", "accept_key_change"])]
    pub plan: Option<PathBuf>,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,

    /// How long to wait for another run's lock of the environment (`0s`: fail at once).
    #[arg(long, value_name = "DURATION", value_parser = lock_wait, default_value = "0s")]
    pub lock_timeout: Duration,

    #[command(flatten)]
    pub removal: RemovalArgs,

    /// Switch the buckets to the key the stack's KMS alias names now, away from the key their
    /// default encryption is pinned to. Without it apply refuses such a replacement: whoever
    /// moved the alias would choose the key of every new backup.
    #[arg(long)]
    pub accept_key_change: bool,
}

#[derive(Debug, Args)]
pub struct OutputsArgs {
    /// The stack: a name (`dev` is stacks/dev.yaml) or a path to a YAML file.
    #[arg(long, short)]
    pub stack: String,

    /// Print JSON instead of lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The stack: a name (`dev` is stacks/dev.yaml) or a path to a YAML file. Only its
    /// environment and ssmHomeRegion are used; the regions come from the SSM metadata.
    #[arg(long, short)]
    pub stack: String,

    /// Collect and count, upload nothing. Also DRY_RUN=true (true/false, 1/0, yes/no, any case;
    /// empty is false), as the Jenkins job sets it.
    #[arg(long)]
    pub dry_run: bool,

    /// How long to wait for another run's lock of the environment (an `apply`, say).
    #[arg(long, value_name = "DURATION", value_parser = lock_wait, default_value = "5m")]
    pub lock_timeout: Duration,

    /// Go on with the next regions after one failed (by default the first failure stops the
    /// run, as the nightly job always did). The exit code is 1 all the same.
    #[arg(long)]
    pub keep_going: bool,

    /// Back up up to N regions at once, each paced on its own (SSM's quotas are per region).
    /// Without it the regions run one after the other. A failed region skips the regions not
    /// yet started (unless --keep-going); the ones already running finish.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=32))]
    pub parallel_regions: u16,

    /// Where to write the per-region summary.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "backup-work/region_summaries.json"
    )]
    pub summary_file: PathBuf,

    /// Time limit for one region: minutes (`10`) or a duration (`90s`, `1h`); 1s to 24h.
    #[arg(long, value_name = "MINUTES", value_parser = time_limit, default_value = "10")]
    pub region_timeout: Duration,

    /// Time limit for the whole run: minutes or a duration, 1s to 24h (default: regions x
    /// region timeout + 30 minutes).
    #[arg(long, value_name = "MINUTES", value_parser = time_limit)]
    pub timeout: Option<Duration>,

    /// A ceiling of SSM requests per second per API class and region (the pace starts there), to
    /// leave part of the account's quotas to the applications for sure, or for raised quotas.
    /// Without it (0) requests are paced to AWS's default quotas: slower on ThrottlingException,
    /// faster while accepted. At most 10000.
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=MAX_RPS))]
    pub max_rps: u32,

    /// Post the run's summary to this Slack webhook (never a parameter value); default:
    /// SLACK_WEBHOOK_URL. Empty (an unset secret): no Slack message, with a warning.
    #[arg(long, value_name = "URL")]
    pub notify_slack: Option<String>,

    /// E-mail the run's summary to this address (repeat for more; `[FAIL]` in the subject when a
    /// region failed). Over SMTP with STARTTLS: SMTP_HOST, SMTP_PORT (587), SMTP_FROM, and
    /// optionally SMTP_USERNAME/SMTP_PASSWORD, SMTP_CA_BUNDLE and SMTP_TIMEOUT (60 s) from the
    /// environment. An empty address or SMTP_HOST/SMTP_FROM unset: no e-mail, with a warning.
    #[arg(long, value_name = "TO")]
    pub notify_email: Vec<String>,
}

/// The longest time limit accepted: one day.
pub const MAX_TIME_LIMIT: Duration = Duration::from_secs(24 * 60 * 60);

/// A network timeout: a duration (`500ms`, `10s`; a bare number is seconds), 100ms to 10m.
fn network_timeout(value: &str) -> Result<Duration, String> {
    let timeout = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => humantime::parse_duration(value)
            .map_err(|e| format!("`{value}` is not a duration like 500ms or 10s ({e})"))?,
    };
    if timeout < Duration::from_millis(100) || timeout > Duration::from_secs(600) {
        return Err(format!(
            "`{value}` is out of range: allowed are 100ms to 10m"
        ));
    }
    Ok(timeout)
}

/// A lock renewal period: 1s to 5m (a lock lasts 15 minutes unrenewed).
fn lock_renewal(value: &str) -> Result<Duration, String> {
    let every = humantime::parse_duration(value)
        .map_err(|e| format!("`{value}` is not a duration like 1s or 5m ({e})"))?;
    if every < Duration::from_secs(1) || every > crate::core::lock::LOCK_RENEW_EVERY {
        return Err(format!("`{value}` is out of range: allowed are 1s to 5m"));
    }
    Ok(every)
}

/// A wait for a lock: a duration (`30s`, `5m`), zero for none, at most a day.
fn lock_wait(value: &str) -> Result<Duration, String> {
    let wait = humantime::parse_duration(value)
        .map_err(|e| format!("`{value}` is not a duration like 0s, 30s or 5m ({e})"))?;
    if wait > MAX_TIME_LIMIT {
        return Err(format!("`{value}` is out of range: allowed are 0s to 24h"));
    }
    Ok(wait)
}

/// A time limit: a bare number is minutes (`10`), anything else a duration (`90s`, `1h30m`);
/// from one second to a day.
fn time_limit(value: &str) -> Result<Duration, String> {
    let limit = match value.parse::<u64>() {
        Ok(minutes) => Duration::from_secs(minutes.saturating_mul(60)),
        Err(_) => humantime::parse_duration(value)
            .map_err(|e| format!("`{value}` is not minutes nor a duration like 90s or 1h ({e})"))?,
    };
    if limit < Duration::from_secs(1) || limit > MAX_TIME_LIMIT {
        return Err(format!(
            "`{value}` is out of range: allowed are 1s to 24h (a bare number is minutes, 1 to 1440)"
        ));
    }
    Ok(limit)
}
/// The highest request rate accepted (AWS quotas are far lower).
pub const MAX_RPS: i64 = 10_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_limits_are_minutes_or_durations_within_a_day() {
        assert_eq!(
            time_limit("10"),
            Ok(crate::core::backup::DEFAULT_REGION_TIMEOUT)
        );
        assert_eq!(time_limit("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(time_limit("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(time_limit("1440"), Ok(MAX_TIME_LIMIT));
        for bad in [
            "0",
            "1441",
            "25h",
            "500ms",
            "18446744073709551615",
            "-1",
            "x",
        ] {
            assert!(time_limit(bad).is_err(), "{bad}");
        }
    }
}

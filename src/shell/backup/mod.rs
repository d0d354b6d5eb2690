//! The nightly backup: from the SSM metadata that `apply` wrote, each region in list order,
//! one stage at a time: find its bucket (only the one the stack names), collect its parameters
//! in memory,
//! upload, then move the pointers. The first failure stops the run; later regions are skipped.

pub mod collect;
pub mod notify;
pub mod upload;

use anyhow::{Context, Result, bail};
use std::time::{Duration, Instant};

use crate::core::backup::{
    BACKUP_FORMAT_VERSION, DocumentHeader, RegionStatus, RegionSummary, object_key, pointer_keys,
};
use crate::core::desired::{metadata_parameters, region_bucket_parameter};
use crate::core::stack::bucket_name;
use crate::shell::aws::Aws;
use crate::shell::observe::{self, parse_region_list};
use collect::{Budget, collect};

#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// The stack's projectName: with the account it gives each region's only valid bucket.
    pub project_name: String,
    pub environment: String,
    pub ssm_home_region: String,
    pub dry_run: bool,
    pub region_timeout: Duration,
    pub overall_timeout: Option<Duration>,
    /// SSM requests per second per region; 0 for no limit.
    pub max_rps: u32,
    /// Draw progress bars (on a terminal); otherwise plain log lines only.
    pub progress_bars: bool,
}

#[derive(Debug, Default)]
pub struct BackupRun {
    pub summaries: Vec<(String, RegionSummary)>,
    pub warnings: Vec<String>,
}

/// Runs the backup. `Err` only when it cannot start (no region list, no regions); a failed
/// region is recorded in the summaries.
pub async fn run(
    aws: &Aws,
    options: &BackupOptions,
    log: &(dyn Fn(&str) + Sync),
) -> Result<BackupRun> {
    let started = Instant::now();
    let env = &options.environment;
    let home = &options.ssm_home_region;
    let account = aws.account_id(home).await?;

    // Initialize: the metadata apply wrote.
    let names = metadata_parameters(env); // region list, default region, legacy key
    let mut found = read_values(aws, home, &names).await?;
    let region_list = found[0].take().with_context(|| {
        format!("Region list parameter {} is missing (in {home}): run `ssm-keeper apply` for this stack", names[0])
    })?;
    let regions = parse_region_list(&region_list)
        .with_context(|| format!("reading the region list parameter {} in {home}", names[0]))?;
    if regions.is_empty() {
        bail!(
            "No regions configured: the region list parameter {} is empty",
            names[0]
        );
    }
    let default_region = found[1].take();
    let mut warnings = Vec::new();
    if let Some(default) = &default_region {
        let default_bucket = read_values(aws, default, &[region_bucket_parameter(env, default)])
            .await?
            .remove(0);
        if found[2] != default_bucket {
            warnings.push(format!(
                "the legacy parameter {} holds {} but the bucket of the default region {default} is {}: old readers use the wrong bucket; run `ssm-keeper apply`",
                names[2],
                found[2].as_deref().unwrap_or("nothing"),
                default_bucket.as_deref().unwrap_or("not defined"),
            ));
        }
    } else {
        warnings.push(format!(
            "the default region parameter {} is missing: latest.txt is not written",
            names[1]
        ));
    }
    for w in &warnings {
        log(&format!("WARNING: {w}"));
    }

    let now = time::OffsetDateTime::now_utc();
    let date = now.format(time::macros::format_description!("[year]-[month]-[day]"))?;
    let timestamp = now.format(time::macros::format_description!(
        "[year][month][day]_[hour][minute][second]"
    ))?;
    log(&format!(
        "Backup of `{env}` ({} regions: {}), account {account}, {timestamp}{}",
        regions.len(),
        regions.join(", "),
        if options.dry_run { " [DRY RUN]" } else { "" }
    ));

    let overall = options.overall_timeout.unwrap_or_else(|| {
        crate::core::backup::overall_timeout(regions.len(), options.region_timeout)
    });
    let mut run = BackupRun {
        summaries: Vec::new(),
        warnings,
    };
    let mut stopped: Option<String> = None;
    for region in &regions {
        if let Some(reason) = &stopped {
            run.summaries
                .push((region.clone(), RegionSummary::skipped(reason)));
            continue;
        }
        let left = overall.saturating_sub(started.elapsed());
        let limit = options.region_timeout.min(left);
        log(&format!("==> Backup {region}"));
        let stage_started = Instant::now();
        let header = DocumentHeader {
            format_version: BACKUP_FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            backup_date: date.clone(),
            backup_timestamp: timestamp.clone(),
            environment: env.clone(),
            region: region.clone(),
            account: account.clone(),
        };
        let is_default = default_region.as_deref() == Some(region.as_str());
        let outcome =
            tokio::time::timeout(limit, backup_region(aws, options, &header, is_default, log))
                .await;
        let duration_sec = stage_started.elapsed().as_secs_f64();
        let outcome = match outcome {
            Ok(result) => result,
            Err(_) if limit < options.region_timeout => Err(anyhow::anyhow!(
                "the overall timeout ({} min) ran out during {region}",
                overall.as_secs() / 60
            )),
            Err(_) => Err(anyhow::anyhow!(
                "{region} did not finish within its timeout ({} s)",
                options.region_timeout.as_secs()
            )),
        };
        match outcome {
            Ok(done) => {
                for name in &done.vanished {
                    let w = format!(
                        "parameter {name} in {region} was deleted between listing and fetching; it is not in the backup"
                    );
                    log(&format!("WARNING: {w}"));
                    run.warnings.push(w);
                }
                log(&format!(
                    "    {region}: {} parameters in {duration_sec:.1}s",
                    done.count
                ));
                run.summaries.push((
                    region.clone(),
                    RegionSummary {
                        status: if options.dry_run {
                            RegionStatus::DryRun
                        } else {
                            RegionStatus::Success
                        },
                        parameter_count: done.count,
                        artifact_path: done.artifact,
                        failure_message: None,
                        duration_sec,
                    },
                ));
            }
            Err(e) => {
                let message = format!("{e:#}");
                log(&format!("ERROR: {region}: {message}"));
                run.summaries.push((
                    region.clone(),
                    RegionSummary {
                        status: RegionStatus::Failed,
                        parameter_count: 0,
                        artifact_path: None,
                        failure_message: Some(message),
                        duration_sec,
                    },
                ));
                stopped = Some(format!("skipped: {region} failed before it"));
            }
        }
    }
    Ok(run)
}

struct RegionDone {
    count: u64,
    artifact: Option<String>,
    vanished: Vec<String>,
}

async fn backup_region(
    aws: &Aws,
    options: &BackupOptions,
    header: &DocumentHeader,
    is_default: bool,
    log: &(dyn Fn(&str) + Sync),
) -> Result<RegionDone> {
    let region = &header.region;
    let parameter = region_bucket_parameter(&header.environment, region);
    let bucket = read_values(aws, region, std::slice::from_ref(&parameter))
        .await?
        .remove(0)
        .with_context(|| {
            format!("Bucket definition missing for {region} ({parameter} is not set in {region})")
        })?;

    let expected = bucket_name(
        &options.project_name,
        &header.environment,
        &header.account,
        region,
    );
    if bucket != expected {
        bail!(
            "{parameter} in {region} names the bucket `{bucket}`, but the stack's bucket for {region} is `{expected}`: refusing to send the decrypted parameters anywhere else; run `ssm-keeper plan --stack {}` to see the drift and `apply` to correct it",
            header.environment
        );
    }

    // Staged in memory only: no file, named or not, ever holds the decrypted values, so a
    // killed run leaves no plaintext behind.
    let bar = progress_bar(options.progress_bars, region);
    let budget = Budget::per_second(options.max_rps);
    let mut document = Vec::new();
    let on_progress = |n: u64| bar.set_position(n);
    let collected = collect(aws, region, header, &budget, &mut document, &on_progress).await?;
    bar.finish_and_clear();

    if options.dry_run {
        log(&format!("[DRY RUN] Skipped upload for {region}"));
        return Ok(RegionDone {
            count: collected.count,
            artifact: None,
            vanished: collected.vanished,
        });
    }
    let key = object_key(
        &header.backup_date,
        region,
        &header.environment,
        &header.backup_timestamp,
    );
    upload::upload_document(aws, region, &bucket, &key, document).await?;
    upload::write_pointers(
        aws,
        region,
        &bucket,
        &pointer_keys(region, is_default),
        &key,
    )
    .await?;
    Ok(RegionDone {
        count: collected.count,
        artifact: Some(format!("s3://{bucket}/{key}")),
        vanished: collected.vanished,
    })
}

fn progress_bar(visible: bool, region: &str) -> indicatif::ProgressBar {
    if !visible {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner().with_message(format!("{region}: collecting"));
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {msg} {pos} parameters ({per_sec})")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Values of the named parameters of one region (up to ten), `None` where absent.
async fn read_values(aws: &Aws, region: &str, names: &[String]) -> Result<Vec<Option<String>>> {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (_, found) = observe::read_parameters(aws, region, &names).await?;
    Ok(found
        .into_iter()
        .map(|(_, state)| state.and_then(|p| p.value))
        .collect())
}

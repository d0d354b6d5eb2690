//! `ssm-keeper verify`: the monitor after the nightly job. For every region, the newest backup
//! is there, whole, written once, of this environment and fresh: from metadata alone (no
//! document read), or with `--deep` from the documents too. Exit 0 when every check made holds
//! (a check not made is said, not failed), 2 when one fails, 1 when it cannot run. Read-only;
//! prints no value.

use anyhow::{Context as _, Result, bail};
use futures::future::try_join_all;
use std::process::ExitCode;

use super::session::Session;
use crate::cli::{ReportFormat, VerifyArgs};
use crate::core::desired::key_alias;
use crate::core::desired::{default_region_parameter, parse_region_list, region_list_parameter};
use crate::core::selection::Selection;
use crate::core::stack::EncryptionMode;
use crate::core::stack::Stack;
use crate::core::stack::bucket_name;
use crate::core::verify::{Expected, RegionVerdict, render_text, verify_region};
use crate::shell::aws::Aws;
use crate::shell::printer::Printer;
use crate::shell::ssm::read_values;
use crate::shell::verify::{Look, Reading, StackKeys, region_facts};

pub async fn run(session: &Session, printer: &Printer, args: VerifyArgs) -> Result<ExitCode> {
    let stack = session.load_stack(&args.stack)?.stack;
    let aws = session.aws().await?;
    let env = &stack.environment;
    let account = aws.account_id(&stack.ssm_home_region).await?;
    let (regions, default_region) = regions(aws, &stack, &args.regions).await?;
    let selection = Selection::of(&stack);
    let now = time::OffsetDateTime::now_utc();
    let today = crate::core::newest::today(now);
    let reading = if args.deep {
        Reading::Documents {
            max_document_bytes: args.max_document_bytes,
        }
    } else {
        Reading::Metadata
    };
    let alias = key_alias(&stack.project_name, env);
    let look = Look {
        reading,
        today: &today,
        acknowledged: &stack.acknowledged_future_backups,
        kms: (stack.encryption == EncryptionMode::Kms).then_some(StackKeys {
            named: &stack.kms_key_ids,
            alias: &alias,
        }),
    };
    let facts = try_join_all(regions.iter().map(|region| {
        let bucket = bucket_name(&stack.project_name, env, &account, region);
        let is_default = default_region.as_deref() == Some(region.as_str());
        let selection = &selection;
        let copy_to = stack.copies.get(region).map(|to| {
            let to_bucket = bucket_name(&stack.project_name, env, &account, to);
            (to.as_str(), to_bucket)
        });
        async move {
            let copy_to = copy_to.as_ref().map(|(to, b)| (*to, b.as_str()));
            region_facts(
                aws,
                region,
                &bucket,
                (env, selection),
                is_default,
                copy_to,
                look,
            )
            .await
        }
    }))
    .await?;
    let expected = Expected {
        environment: env,
        selection: &selection,
        max_age_hours: args.max_age,
        max_document_bytes: args.max_document_bytes,
        max_count_drop_percent: args.max_count_drop,
    };
    let verdicts: Vec<_> = facts
        .iter()
        .map(|f| verify_region(f, &expected, now))
        .collect();
    print_report(
        printer,
        args.format,
        (env, args.max_age, args.deep),
        &verdicts,
    )?;
    Ok(if verdicts.iter().all(|v| v.ok()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// The regions to check (`--region`, else the live region list) and the default region.
pub(super) async fn regions(
    aws: &Aws,
    stack: &Stack,
    given: &[String],
) -> Result<(Vec<String>, Option<String>)> {
    let env = &stack.environment;
    let home = &stack.ssm_home_region;
    let names = [region_list_parameter(env), default_region_parameter(env)];
    let [region_list, default_region] = read_values(aws, home, &names)
        .await?
        .try_into()
        .map_err(|_| anyhow::anyhow!("reading the metadata of `{env}` in {home}"))?;
    let regions = if given.is_empty() {
        let list = region_list.with_context(|| {
            format!(
                "Region list parameter {} is missing (in {home}): run `ssm-keeper apply` for this stack, or name the regions with --region",
                names[0]
            )
        })?;
        parse_region_list(&list)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("reading the region list parameter {} in {home}", names[0]))?
    } else {
        given.to_vec()
    };
    if regions.is_empty() {
        bail!(
            "No regions configured: the region list parameter {} is empty",
            names[0]
        );
    }
    Ok((regions, default_region))
}

/// The verdicts on stdout: the table, or JSON with the environment, the age limit and whether
/// the documents were read (each check says what it was made from: `basis`).
fn print_report(
    printer: &Printer,
    format: ReportFormat,
    (environment, max_age, deep): (&str, u64, bool),
    verdicts: &[RegionVerdict],
) -> Result<()> {
    let text = match format {
        ReportFormat::Text => render_text(verdicts),
        ReportFormat::Json => {
            serde_json::to_string_pretty(&serde_json::json!({
                "environment": environment,
                "maxAgeHours": max_age,
                "deep": deep,
                "ok": verdicts.iter().all(|v| v.ok()),
                "regions": verdicts,
            }))? + "\n"
        }
    };
    printer.out(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::verify::{Basis, Check, CheckOutcome};
    use crate::shell::printer::Input;

    fn verdict(region: &str, failed: Option<(Check, &str)>) -> RegionVerdict {
        let mut checks = vec![CheckOutcome {
            check: Check::Pointer,
            ok: true,
            basis: Basis::Metadata,
            found: "latest.txt names the object".into(),
        }];
        if let Some((check, found)) = failed {
            checks.push(CheckOutcome {
                check,
                ok: false,
                basis: Basis::Metadata,
                found: found.into(),
            });
        }
        RegionVerdict {
            region: region.into(),
            bucket: format!("p-ssm-backup-dev-123456789012-{region}"),
            object: Some("backups/2026-11-24/k.json".into()),
            checks,
            parameter_count: Some(12),
            live_count: Some(13),
            age_hours: Some(2.25),
            acknowledged: Vec::new(),
            not_compared: Vec::new(),
        }
    }

    #[test]
    fn the_verify_table_lists_regions_then_the_failed_checks() {
        let (printer, out, err) = Printer::buffered(Input::None);
        let verdicts = [
            verdict("ap-northeast-1", None),
            verdict(
                "us-west-2",
                Some((Check::Fresh, "26.5 h old, more than 26 h")),
            ),
        ];
        print_report(&printer, ReportFormat::Text, ("dev", 26, false), &verdicts).unwrap();
        assert_eq!(
            out.text(),
            "REGION           RESULT PARAMETERS   LIVE   AGE (H)  OBJECT\n\
             ap-northeast-1   OK             12     13       2.2  backups/2026-11-24/k.json\n\
             us-west-2        FAILED         12     13       2.2  backups/2026-11-24/k.json\n\
             \n1 checks failed:\n  us-west-2 fresh: 26.5 h old, more than 26 h\n\
             Note: ap-northeast-1 has 13 parameters live now, 12 in its newest backup (+1).\n\
             Note: us-west-2 has 13 parameters live now, 12 in its newest backup (+1).\n"
        );
        assert_eq!(err.text(), "");
    }

    #[test]
    fn the_json_report_says_whether_every_check_holds() {
        let (printer, out, _) = Printer::buffered(Input::None);
        print_report(
            &printer,
            ReportFormat::Json,
            ("dev", 26, false),
            &[verdict("us-west-2", None)],
        )
        .unwrap();
        let report: serde_json::Value = serde_json::from_str(&out.text()).unwrap();
        assert_eq!(report["environment"], "dev");
        assert_eq!(report["maxAgeHours"], 26);
        assert_eq!(report["ok"], true);
        assert_eq!(report["regions"][0]["region"], "us-west-2");
    }
}

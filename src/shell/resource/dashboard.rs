//! The CloudWatch dashboard's SDK calls: read by name (GetDashboard), written whole
//! (PutDashboard is create and update), deleted (DeleteDashboards). Dashboards are global to
//! the account: the id's region (the SSM home region) only picks the client.

use anyhow::{Context, Result, bail};
use aws_sdk_s3::error::ProvideErrorMetadata;
use futures::future::try_join_all;

use crate::core::resource::{DashboardSettings, Resource, ResourceId};
use crate::shell::aws::Aws;

/// The live dashboards `ids` name (absent unless found).
pub async fn observe(
    aws: &Aws,
    ids: &[&ResourceId],
) -> Result<Vec<(ResourceId, Option<Resource>)>> {
    try_join_all(ids.iter().map(|id| async move {
        let ResourceId { region, name, .. } = id;
        let result = aws
            .cloudwatch(region)
            .get_dashboard()
            .dashboard_name(name)
            .send()
            .await;
        let state = match result {
            Ok(out) => {
                let text = out.dashboard_body().unwrap_or_default();
                // A body that is not JSON (it cannot be, PutDashboard refuses it) shows as a
                // string, which differs from every body the stack asks for.
                let body = serde_json::from_str(text)
                    .unwrap_or_else(|_| serde_json::Value::String(text.to_string()));
                Some(Resource::Dashboard(DashboardSettings { body }))
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_dashboard_not_found_error()) =>
            {
                None
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "reading the CloudWatch dashboard {name} through {region} (GetDashboard)"
                )));
            }
        };
        Ok(((*id).clone(), state))
    }))
    .await
}

/// Creates or replaces the dashboard with exactly `d` (PutDashboard is both). A body CloudWatch
/// accepts only with validation messages is reported as a failure, with them.
pub async fn put(aws: &Aws, region: &str, name: &str, d: &DashboardSettings) -> Result<()> {
    let out = aws
        .cloudwatch(region)
        .put_dashboard()
        .dashboard_name(name)
        .dashboard_body(d.body.to_string())
        .send()
        .await
        .with_context(|| {
            format!("writing the CloudWatch dashboard {name} through {region} (PutDashboard)")
        })?;
    let messages: Vec<String> = out
        .dashboard_validation_messages()
        .iter()
        .map(|m| {
            format!(
                "{}: {}",
                m.data_path().unwrap_or("/"),
                m.message().unwrap_or_default()
            )
        })
        .collect();
    if !messages.is_empty() {
        bail!(
            "the CloudWatch dashboard {name} was written with validation messages (PutDashboard): {}",
            messages.join("; ")
        );
    }
    Ok(())
}

/// Deletes the dashboard; one already gone counts as deleted.
pub async fn delete(aws: &Aws, region: &str, name: &str) -> Result<()> {
    let result = aws
        .cloudwatch(region)
        .delete_dashboards()
        .dashboard_names(name)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ResourceNotFound") => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "deleting the CloudWatch dashboard {name} through {region} (DeleteDashboards)"
        ))),
    }
}

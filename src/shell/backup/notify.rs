//! Post the run's Slack message. A failed post is reported to the caller as an error to warn
//! about; it never fails the backup.

use anyhow::{Context, Result, bail};
use std::time::Duration;

pub async fn post_slack(url: &str, message: &serde_json::Value) -> Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .context("building the HTTP client for Slack")?;
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(message.to_string())
        .send()
        .await
        .map_err(|e| e.without_url()) // the webhook URL is a credential
        .context("posting the Slack notification")?;
    if !response.status().is_success() {
        bail!("the Slack webhook answered {}", response.status());
    }
    Ok(())
}

//! SSM calls more than one command makes, with "not found" as data.

use anyhow::Result;
use aws_sdk_ssm::error::SdkError;

use super::aws::Aws;

/// Deletes a parameter; one that is already gone counts as deleted (a re-run converges).
/// `what` says what was being deleted, for the error.
pub async fn delete_parameter(aws: &Aws, region: &str, name: &str, what: &str) -> Result<()> {
    match aws.ssm(region).delete_parameter().name(name).send().await {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(e)) if e.err().is_parameter_not_found() => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("deleting {what} {name} in {region}"))),
    }
}

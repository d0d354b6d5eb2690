//! Finds the real cause of a failed run in its error chain (the SDK's connector and credential
//! errors, the TLS stack's, the operating system's) and in the error codes AWS answered with.

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::result::ConnectorError;
use std::error::Error;

use super::aws::ApiCalls;
use crate::core::cause::{Cause, credential_cause};

/// The cause of `error`, if one of the known ones: what the connection or the credentials
/// failed on first, else what AWS answered about the credentials.
pub fn diagnose(error: &anyhow::Error, calls: &ApiCalls) -> Option<Cause> {
    error.chain().find_map(cause_of).or_else(|| {
        calls
            .credential_codes()
            .iter()
            .find_map(|c| credential_cause(c))
    })
}

/// Whether `error` says the endpoint could not be reached at all (no connection, no answer,
/// the connection dropped), as opposed to an answer AWS gave.
pub fn unreachable(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<ConnectorError>().is_some()
            || matches!(
                cause_of(e),
                Some(Cause::ConnectionRefused | Cause::Dns | Cause::Timeout)
            )
    })
}

fn cause_of(error: &(dyn Error + 'static)) -> Option<Cause> {
    if let Some(e) = error.downcast_ref::<CredentialsError>() {
        return matches!(e, CredentialsError::CredentialsNotLoaded(_))
            .then_some(Cause::NoCredentials);
    }
    if let Some(e) = error.downcast_ref::<ConnectorError>()
        && e.is_timeout()
    {
        return Some(Cause::Timeout);
    }
    if let Some(e) = error.downcast_ref::<std::io::Error>() {
        return io_cause(e);
    }
    // hyper-util's connector names a failed lookup so, and nothing else.
    error
        .to_string()
        .starts_with("dns error")
        .then_some(Cause::Dns)
}

/// An I/O error, and the TLS error it may carry (rustls errors travel inside io::Error, not as
/// its source).
fn io_cause(error: &std::io::Error) -> Option<Cause> {
    match error.kind() {
        std::io::ErrorKind::ConnectionRefused => return Some(Cause::ConnectionRefused),
        std::io::ErrorKind::TimedOut => return Some(Cause::Timeout),
        _ => {}
    }
    let inner = error.get_ref()?;
    if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
        return Some(match tls {
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => {
                Cause::UntrustedCertificate
            }
            other => Cause::Tls(other.to_string()),
        });
    }
    inner.downcast_ref::<std::io::Error>().and_then(io_cause)
}

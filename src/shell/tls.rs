//! TLS trust: the HTTPS client of a run (the system roots plus a CA bundle) and the reading of
//! PEM CA bundles, checked certificate by certificate before the first connection (for AWS,
//! `AWS_CA_BUNDLE`; for the SMTP relay, its own setting).

use anyhow::{Context, Result, bail};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use std::path::Path;

/// An HTTPS client that trusts the system roots plus the certificates of `bundle`, as the
/// AWS CLI does with `AWS_CA_BUNDLE`.
pub fn https_client_trusting(bundle: &Path) -> Result<SharedHttpClient> {
    https_client(Some(bundle))
}

/// The one HTTPS client (and connection pool) of a run: system roots, plus `bundle` if given.
pub fn https_client(bundle: Option<&Path>) -> Result<SharedHttpClient> {
    let mut trust = TrustStore::default();
    if let Some(bundle) = bundle {
        trust = trust.with_pem_certificate(read_ca_bundle(bundle)?);
    }
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .context("building the TLS context for AWS_CA_BUNDLE")?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
}

/// The PEM of a CA bundle, every certificate in it checked.
fn read_ca_bundle(bundle: &Path) -> Result<Vec<u8>> {
    read_pem_bundle(bundle, "AWS_CA_BUNDLE")
}

/// The PEM of a CA bundle named by the setting `setting`, every certificate in it checked.
pub fn read_pem_bundle(bundle: &Path, setting: &str) -> Result<Vec<u8>> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let pem = std::fs::read(bundle)
        .with_context(|| format!("reading the CA bundle {} ({setting})", bundle.display()))?;
    // The TLS stack only parses the bundle at the first request, and panics there on anything
    // it cannot use: check every certificate now, exactly as it will.
    let mut roots = rustls::RootCertStore::empty();
    for (n, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        let cert = cert.with_context(|| {
            format!(
                "the CA bundle {} ({setting}) is not valid PEM",
                bundle.display()
            )
        })?;
        roots.add(cert).map_err(|e| {
            anyhow::anyhow!(
                "certificate {} of the CA bundle {} ({setting}) is not a usable CA certificate: {e}",
                n + 1,
                bundle.display()
            )
        })?;
    }
    if roots.is_empty() {
        bail!(
            "the CA bundle {} ({setting}) holds no certificate",
            bundle.display()
        );
    }
    Ok(pem)
}

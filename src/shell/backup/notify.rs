//! Send the run's notifications: the Slack message and the e-mail. A failed send is reported to
//! the caller as an error to warn about; it never fails the backup.

use anyhow::{Context, Result, bail};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

use crate::shell::tls::read_pem_bundle;

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

/// Where and how the run's e-mail goes: from the environment (`SMTP_HOST`, `SMTP_PORT`,
/// `SMTP_FROM`, `SMTP_USERNAME`, `SMTP_PASSWORD`, `SMTP_CA_BUNDLE`, `SMTP_TIMEOUT`), checked
/// before the run.
pub struct Smtp {
    host: String,
    port: u16,
    timeout: Duration,
    from: Mailbox,
    credentials: Option<Credentials>,
    ca_bundle: Option<Vec<u8>>,
}

/// The submission port: STARTTLS is required on it.
pub const DEFAULT_SMTP_PORT: u16 = 587;

/// How long the whole exchange with the server may take before the send is given up (a stalled
/// server must not hold the nightly job).
pub const DEFAULT_SMTP_TIMEOUT_SECS: u64 = 60;

/// The e-mail settings as the environment gives them: complete, or lacking a variable the
/// e-mail needs (unset or empty: an unset secret), which means no e-mail, not a failed backup.
pub enum SmtpSettings {
    Ready(Box<Smtp>),
    Missing(&'static str),
}

impl Smtp {
    /// The settings from the process environment.
    pub fn from_env() -> Result<SmtpSettings> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// The settings from `lookup` (a variable's value, if set and not empty). A value that is
    /// set but wrong is an error naming the variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<SmtpSettings> {
        let Some(host) = lookup("SMTP_HOST") else {
            return Ok(SmtpSettings::Missing("SMTP_HOST"));
        };
        let port = match lookup("SMTP_PORT") {
            None => DEFAULT_SMTP_PORT,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .with_context(|| format!("SMTP_PORT must be a port number, not `{p}`"))?,
        };
        let timeout =
            match lookup("SMTP_TIMEOUT") {
                None => DEFAULT_SMTP_TIMEOUT_SECS,
                Some(t) => t.parse::<u64>().ok().filter(|t| *t > 0).with_context(|| {
                    format!("SMTP_TIMEOUT must be a number of seconds, not `{t}`")
                })?,
            };
        let Some(from) = lookup("SMTP_FROM") else {
            return Ok(SmtpSettings::Missing("SMTP_FROM"));
        };
        let from = from
            .parse::<Mailbox>()
            .with_context(|| format!("SMTP_FROM `{from}` is not an e-mail address"))?;
        let credentials = match (lookup("SMTP_USERNAME"), lookup("SMTP_PASSWORD")) {
            (Some(user), Some(password)) => Some(Credentials::new(user, password)),
            (None, None) => None,
            _ => bail!("SMTP_USERNAME and SMTP_PASSWORD go together: set both or neither"),
        };
        let ca_bundle = lookup("SMTP_CA_BUNDLE")
            .map(|path| read_pem_bundle(std::path::Path::new(&path), "SMTP_CA_BUNDLE"))
            .transpose()?;
        Ok(SmtpSettings::Ready(Box::new(Self {
            host,
            port,
            timeout: Duration::from_secs(timeout),
            from,
            credentials,
            ca_bundle,
        })))
    }

    /// Sends one plain-text message to `to`, over STARTTLS (never in clear).
    pub async fn send(&self, to: &[Mailbox], subject: &str, body: &str) -> Result<()> {
        let mut message = Message::builder().from(self.from.clone());
        for recipient in to {
            message = message.to(recipient.clone());
        }
        let message = message
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .context("composing the notification e-mail")?;
        let mut tls = TlsParameters::builder(self.host.clone());
        if let Some(pem) = &self.ca_bundle {
            tls = tls.add_root_certificate(
                Certificate::from_pem(pem).context("reading SMTP_CA_BUNDLE")?,
            );
        }
        let tls = tls
            .build_rustls()
            .context("setting up TLS for the SMTP server")?;
        let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .tls(Tls::Required(tls))
            .timeout(Some(self.timeout));
        if let Some(credentials) = &self.credentials {
            transport = transport.credentials(credentials.clone());
        }
        let server = format!("{}:{}", self.host, self.port);
        // lettre's timeout bounds the connection only; this bounds every reply too.
        tokio::time::timeout(self.timeout, transport.build().send(message))
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "the SMTP server {server} did not answer within {}s (SMTP_TIMEOUT)",
                    self.timeout.as_secs()
                )
            })?
            .with_context(|| format!("sending the notification e-mail through {server}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<SmtpSettings> {
        Smtp::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    fn smtp(vars: &[(&str, &str)]) -> Result<Smtp> {
        match settings(vars)? {
            SmtpSettings::Ready(smtp) => Ok(*smtp),
            SmtpSettings::Missing(name) => bail!("missing {name}"),
        }
    }

    fn error(vars: &[(&str, &str)]) -> String {
        format!("{:#}", smtp(vars).err().expect("an error"))
    }

    #[test]
    fn smtp_settings_come_from_the_environment_and_are_checked() {
        let ok = smtp(&[
            ("SMTP_HOST", "mail.example.com"),
            ("SMTP_FROM", "ops@example.com"),
        ])
        .unwrap();
        assert_eq!((ok.host.as_str(), ok.port), ("mail.example.com", 587));
        assert!(ok.credentials.is_none());
        let base = [("SMTP_HOST", "h"), ("SMTP_FROM", "a@b.c")];
        let with = |extra: (&'static str, &'static str)| {
            let mut v = base.to_vec();
            v.push(extra);
            v
        };
        assert_eq!(smtp(&with(("SMTP_PORT", "2525"))).unwrap().port, 2525);
        assert!(matches!(
            settings(&[("SMTP_FROM", "a@b.c")]),
            Ok(SmtpSettings::Missing("SMTP_HOST"))
        ));
        assert!(matches!(
            settings(&[("SMTP_HOST", "h")]),
            Ok(SmtpSettings::Missing("SMTP_FROM"))
        ));
        assert!(error(&[("SMTP_HOST", "h"), ("SMTP_FROM", "nobody")]).contains("not an e-mail"));
        assert!(error(&with(("SMTP_PORT", "0"))).contains("SMTP_PORT"));
        assert!(error(&with(("SMTP_PORT", "smtp"))).contains("SMTP_PORT"));
        assert_eq!(ok.timeout, Duration::from_secs(DEFAULT_SMTP_TIMEOUT_SECS));
        let t = smtp(&with(("SMTP_TIMEOUT", "5"))).unwrap().timeout;
        assert_eq!(t, Duration::from_secs(5));
        assert!(error(&with(("SMTP_TIMEOUT", "0"))).contains("SMTP_TIMEOUT"));
        assert!(error(&with(("SMTP_TIMEOUT", "1m"))).contains("SMTP_TIMEOUT"));
        let e = error(&with(("SMTP_PASSWORD", "hunter2")));
        assert!(
            e.contains("set both or neither") && !e.contains("hunter2"),
            "{e}"
        );
        assert!(error(&with(("SMTP_CA_BUNDLE", "/nonexistent.pem"))).contains("SMTP_CA_BUNDLE"));
    }
}

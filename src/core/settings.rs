//! Values operators pass through environment variables, as Jenkins and GitHub set them: a
//! boolean written many ways, a variable that is set but empty (an unset secret), a webhook URL
//! that is a credential. Pure: the caller reads the environment.

/// A boolean as Jenkins parameters and shell scripts write it: true/false, 1/0, yes/no, on/off,
/// in any case. `Ok(None)` for an empty value (a parameter left blank: not set).
pub fn boolish(variable: &str, value: &str) -> Result<Option<bool>, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" | "1" | "yes" | "on" => Ok(Some(true)),
        "false" | "0" | "no" | "off" => Ok(Some(false)),
        _ => Err(format!(
            "{variable} must be true or false (or 1/0, yes/no), not `{}`",
            value.trim()
        )),
    }
}

/// A Slack webhook: an http(s) URL with a host. `source` names where it came from (the flag or
/// the variable). The URL is a credential: the message shows its host at most.
pub fn check_webhook(source: &str, value: &str) -> Result<(), String> {
    let url = url::Url::parse(value.trim())
        .map_err(|e| format!("{source} is not a webhook URL ({e}); expected https://<host>/..."))?;
    let host = url
        .host_str()
        .map(|h| format!(" (host {h})"))
        .unwrap_or_default();
    match url.scheme() {
        "https" | "http" if url.host().is_some() => Ok(()),
        "https" | "http" => Err(format!("{source} is a URL without a host")),
        scheme => Err(format!(
            "{source}{host} is a {scheme}: URL; the webhook must be an https:// URL"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_as_jenkins_and_scripts_write_them() {
        for yes in ["true", "TRUE", "True", "1", "yes", "YES", "on", " true "] {
            assert_eq!(boolish("DRY_RUN", yes), Ok(Some(true)), "{yes}");
        }
        for no in ["false", "FALSE", "0", "no", "No", "off"] {
            assert_eq!(boolish("DRY_RUN", no), Ok(Some(false)), "{no}");
        }
        assert_eq!(boolish("DRY_RUN", ""), Ok(None));
        assert_eq!(boolish("DRY_RUN", "  "), Ok(None));
        assert_eq!(
            boolish("DRY_RUN", "maybe"),
            Err("DRY_RUN must be true or false (or 1/0, yes/no), not `maybe`".into())
        );
    }

    #[test]
    fn a_bad_webhook_is_named_by_its_source_and_never_echoed() {
        assert_eq!(
            check_webhook(
                "SLACK_WEBHOOK_URL",
                "https://hooks.slack.com/services/T/B/X"
            ),
            Ok(())
        );
        for (bad, expected) in [
            (
                "hooks.slack.com/services/T/B/SECRET",
                "SLACK_WEBHOOK_URL is not a webhook URL (relative URL without a base)",
            ),
            (
                "ftp://hooks.slack.com/services/T/B/SECRET",
                "SLACK_WEBHOOK_URL (host hooks.slack.com) is a ftp: URL",
            ),
            (
                "mailto:SECRET@example.com",
                "SLACK_WEBHOOK_URL is a mailto: URL",
            ),
        ] {
            let e = check_webhook("SLACK_WEBHOOK_URL", bad).unwrap_err();
            assert!(e.starts_with(expected), "{e}");
            assert!(!e.contains("SECRET"), "{e}");
        }
    }
}

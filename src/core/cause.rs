//! Why a request to AWS failed, in the operator's terms, and what to do about it: the network
//! (refused, DNS, TLS, timeouts) and the credentials (missing, expired, unknown, clock) each have
//! their own message. Pure: the shell finds the cause in the error and the answers.

/// The real cause behind a failed AWS request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// Nothing accepted the connection.
    ConnectionRefused,
    /// The endpoint's host name did not resolve.
    Dns,
    /// The endpoint's certificate is not trusted (an unknown CA: a TLS-inspecting proxy, a
    /// private endpoint).
    UntrustedCertificate,
    /// Another TLS failure (an expired certificate, a name mismatch, ...), as the TLS stack said.
    Tls(String),
    /// No answer in time (connect or read timeout).
    Timeout,
    /// No credentials anywhere in the chain (environment, profile, SSO, web identity, ...).
    NoCredentials,
    /// AWS answered with this code: the session's credentials expired.
    ExpiredCredentials(String),
    /// AWS answered with this code: it does not know the access key, or the secret is wrong.
    RejectedCredentials(String),
    /// AWS answered with this code: the request's time is too far from AWS's.
    ClockSkew(String),
}

/// The codes AWS answers for credentials it will not take, and what each means.
pub fn credential_cause(code: &str) -> Option<Cause> {
    let cause = match code {
        "ExpiredToken" | "ExpiredTokenException" | "TokenRefreshRequired" => {
            Cause::ExpiredCredentials(code.to_string())
        }
        "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "InvalidSignatureException"
        | "AuthFailure" => Cause::RejectedCredentials(code.to_string()),
        "RequestTimeTooSkewed" | "RequestExpired" => Cause::ClockSkew(code.to_string()),
        _ => return None,
    };
    Some(cause)
}

/// Every code `credential_cause` knows, to look for in an error answer.
pub const CREDENTIAL_CODES: [&str; 11] = [
    "ExpiredTokenException",
    "ExpiredToken",
    "TokenRefreshRequired",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "AuthFailure",
    "RequestTimeTooSkewed",
    "RequestExpired",
];

impl Cause {
    /// One line: what happened, then what to do. `endpoint` is the custom endpoint, if any.
    pub fn explain(&self, endpoint: Option<&str>) -> String {
        let target = match endpoint {
            Some(url) => format!("the AWS endpoint {url} (AWS_ENDPOINT_URL / --endpoint-url)"),
            None => "AWS".to_string(),
        };
        match self {
            Cause::ConnectionRefused => format!(
                "cause: nothing accepted a connection to {target} (connection refused): check the endpoint, any proxy in HTTPS_PROXY, and that this machine may reach it"
            ),
            Cause::Dns => format!(
                "cause: the host name of {target} could not be resolved (DNS): check the endpoint and region names, and this machine's DNS"
            ),
            Cause::UntrustedCertificate => format!(
                "cause: the TLS certificate of {target} is not trusted (unknown issuer): if a proxy or private endpoint uses its own CA, name its bundle in AWS_CA_BUNDLE"
            ),
            Cause::Tls(why) => format!(
                "cause: the TLS connection to {target} failed ({why}): check the endpoint's certificate and the machine's clock"
            ),
            Cause::Timeout => format!(
                "cause: {target} did not answer in time (timeout): check the network or proxy; --connect-timeout and --read-timeout set the limits"
            ),
            Cause::NoCredentials => "cause: no AWS credentials were found (not in the environment, the profile, SSO or a role): set AWS_PROFILE (after `aws sso login`) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where a role is attached".into(),
            Cause::ExpiredCredentials(code) => format!(
                "cause: the AWS credentials have expired ({code}): log in again (`aws sso login`) or renew the role session, then run again"
            ),
            Cause::RejectedCredentials(code) => format!(
                "cause: AWS does not accept these credentials ({code}): the access key is unknown (deleted, mistyped, of another partition) or the secret key does not match it; check AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            ),
            Cause::ClockSkew(code) => format!(
                "cause: this machine's clock is too far from AWS's ({code}): synchronize it (NTP) and run again"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_has_a_cause_and_others_none() {
        for code in CREDENTIAL_CODES {
            assert!(credential_cause(code).is_some(), "{code}");
        }
        assert_eq!(credential_cause("AccessDenied"), None);
        assert_eq!(credential_cause("ThrottlingException"), None);
        assert_eq!(
            credential_cause("ExpiredToken"),
            Some(Cause::ExpiredCredentials("ExpiredToken".into()))
        );
    }

    #[test]
    fn each_cause_says_what_happened_and_what_to_do() {
        let endpoint = Some("https://127.0.0.1:9");
        let cases = [
            (Cause::ConnectionRefused, "connection refused"),
            (Cause::Dns, "(DNS)"),
            (Cause::UntrustedCertificate, "AWS_CA_BUNDLE"),
            (Cause::Tls("expired".into()), "(expired)"),
            (Cause::Timeout, "--read-timeout"),
            (Cause::NoCredentials, "no AWS credentials were found"),
            (
                Cause::ExpiredCredentials("ExpiredToken".into()),
                "aws sso login",
            ),
            (
                Cause::RejectedCredentials("InvalidClientTokenId".into()),
                "InvalidClientTokenId",
            ),
            (Cause::ClockSkew("RequestTimeTooSkewed".into()), "NTP"),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for (cause, part) in cases {
            let text = cause.explain(endpoint);
            assert!(text.starts_with("cause: "), "{text}");
            assert!(text.contains(part), "{part}: {text}");
            assert!(seen.insert(text), "each cause has its own message");
        }
        assert!(
            Cause::Dns
                .explain(endpoint)
                .contains("https://127.0.0.1:9 (AWS_ENDPOINT_URL / --endpoint-url)")
        );
        assert!(Cause::Dns.explain(None).contains("the host name of AWS"));
    }
}

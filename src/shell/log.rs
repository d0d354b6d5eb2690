//! Logs through `tracing` on stderr: the level from -v/-q or RUST_LOG, and the AWS SDK's and HTTP
//! stack's own logs held at `info` whatever is asked, because below that they write request and
//! response bodies, which hold decrypted SecureString values.

use tracing_subscriber::EnvFilter;

use super::printer::Verbosity;

/// Crates whose debug and trace events carry HTTP bodies or headers.
const CAPPED: [&str; 13] = [
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_smithy_http",
    "aws_smithy_types",
    "aws_sigv4",
    "aws_runtime",
    "aws_config",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "lettre",
];

/// The filter: `RUST_LOG` when set, else from -v (count) and -q; SDK crates capped at `info`.
pub fn filter(verbose: u8, quiet: bool, rust_log: Option<&str>) -> EnvFilter {
    let base = match rust_log.filter(|v| !v.trim().is_empty()) {
        Some(directives) => EnvFilter::builder().parse_lossy(directives),
        None => EnvFilter::new(match (quiet, verbose) {
            (true, _) => "error",
            (false, 0) => "warn",
            (false, 1) => "warn,ssm_keeper=info",
            (false, 2) => "warn,ssm_keeper=debug",
            (false, _) => "info,ssm_keeper=trace",
        }),
    };
    CAPPED.iter().fold(base, |filter, target| {
        match format!("{target}=info").parse() {
            Ok(directive) => filter.add_directive(directive),
            Err(_) => filter,
        }
    })
}

/// Installs the subscriber (once; a second call is ignored) at the printer's verbosity.
pub fn init(verbosity: Verbosity) {
    let (verbose, quiet) = match verbosity {
        Verbosity::Quiet => (0, true),
        Verbosity::Normal => (0, false),
        Verbosity::Verbose(n) => (n, false),
    };
    let rust_log = std::env::var("RUST_LOG").ok();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(verbose, quiet, rust_log.as_deref()))
        .with_writer(std::io::stderr)
        .with_ansi(console::colors_enabled_stderr())
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_stays_at_info_even_when_everything_is_asked_for() {
        for asked in [Some("trace"), Some("aws_smithy_runtime=trace,trace"), None] {
            let text = filter(3, false, asked).to_string();
            for target in CAPPED {
                assert!(
                    text.contains(&format!("{target}=info")),
                    "{asked:?}: {text}"
                );
                assert!(
                    !text.contains(&format!("{target}=trace")),
                    "{asked:?}: {text}"
                );
            }
        }
        let directives = |f: EnvFilter| -> Vec<String> {
            f.to_string().split(',').map(str::to_string).collect()
        };
        assert!(directives(filter(0, true, None)).contains(&"error".to_string()));
        assert!(directives(filter(2, false, None)).contains(&"ssm_keeper=debug".to_string()));
    }
}

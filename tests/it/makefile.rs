//! `eval "$(make -s emulator)"`, the README's first command, on a fresh clone: the virtualenv
//! is created on first use, and whatever that prints goes to stderr; stdout holds only shell.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Stops the emulator a test started through the Makefile (it runs detached, so it does not
/// exit with the test process).
struct StopEmulator {
    python: PathBuf,
    state_dir: PathBuf,
}

impl Drop for StopEmulator {
    fn drop(&mut self) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        if self.python.exists() {
            let _ = Command::new(&self.python)
                .arg(root.join("emulator/launch.py"))
                .arg("--state-dir")
                .arg(&self.state_dir)
                .arg("--stop")
                .output();
        }
    }
}

/// A shell with nothing of the test's environment but PATH, HOME and pip's settings (the
/// package index this machine installs from), which runs `make -s emulator` with the
/// virtualenv and the emulator's state in `dir` (`VENV`, `EMULATOR_DIR`), evaluates its stdout
/// under `set -e`, and prints what the exports set.
fn eval_make_emulator(dir: &Path) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = r#"set -eu
out=$(make -s -C "$ROOT" emulator VENV="$DIR/venv" EMULATOR_DIR="$DIR/emulator")
printf '%s\n' "$out" > "$DIR/stdout"
eval "$out"
test -s "$AWS_CA_BUNDLE"
kill -0 "$SSM_KEEPER_EMULATOR_PID"
echo "endpoint=$AWS_ENDPOINT_URL region=$AWS_REGION"
"#;
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(script)
        .env_clear()
        .env("ROOT", root)
        .env("DIR", dir);
    for (name, value) in std::env::vars_os() {
        let name_text = name.to_string_lossy();
        if name_text == "PATH" || name_text == "HOME" || name_text.starts_with("PIP_") {
            command.env(name, value);
        }
    }
    command.output().expect("running bash")
}

#[test]
fn make_emulator_prints_only_shell_even_while_it_creates_the_virtualenv() {
    let dir = tempfile::tempdir().unwrap();
    let _stop = StopEmulator {
        python: dir.path().join("venv/bin/python"),
        state_dir: dir.path().join("emulator"),
    };
    // A fresh virtualenv (as on a fresh clone), then the emulator already running (reused).
    for run in ["fresh virtualenv", "emulator reused"] {
        let out = eval_make_emulator(dir.path());
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            out.status.success(),
            "{run}: the evaluated output failed under set -e\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        assert!(
            stdout.starts_with("endpoint=https://127.0.0.1:")
                && stdout.contains(" region=us-east-1"),
            "{run}: {stdout}"
        );
        let printed = std::fs::read_to_string(dir.path().join("stdout")).unwrap();
        for line in printed.lines() {
            assert!(
                line.starts_with("export ") || line.starts_with("unset "),
                "{run}: `make -s emulator` printed a line that is not an export: {line:?}"
            );
        }
        assert!(
            printed.contains("export AWS_ENDPOINT_URL="),
            "{run}: {printed}"
        );
    }
    assert!(dir.path().join("venv/.installed").exists());
}

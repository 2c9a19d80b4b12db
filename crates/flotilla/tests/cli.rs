//! The CLI's shape: help, version, usage errors and exit codes.

use std::process::{Command, Output};

fn flotilla(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("running the flotilla binary")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_lists_every_subcommand() {
    let out = flotilla(&["--help"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for cmd in [
        "build", "plan", "sync", "status", "diff", "apply", "secrets", "serve", "version",
    ] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(cmd)),
            "`flotilla --help` does not list `{cmd}`:\n{text}"
        );
    }
    assert!(
        text.contains("Exit codes: 0 success"),
        "`flotilla --help` documents the exit codes"
    );
    for flag in ["--kubeconfig", "--context", "--verbose"] {
        assert!(
            text.contains(flag),
            "`flotilla --help` does not mention {flag}"
        );
    }
}

#[test]
fn version_in_text_and_json() {
    let out = flotilla(&["version"]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).trim(),
        format!("flotilla {}", env!("CARGO_PKG_VERSION"))
    );

    let out = flotilla(&["version", "-o", "json"]);
    assert!(out.status.success());
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("version -o json prints JSON");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["fieldManager"], "flotilla");

    let out = flotilla(&["--version"]);
    assert!(stdout(&out).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn usage_errors_exit_2() {
    let out = flotilla(&["no-such-command"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = flotilla(&["version", "-o", "xml"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn runtime_errors_exit_1_with_the_cause() {
    let missing = "/nonexistent/flotilla-test-dir";
    let out = flotilla(&["build", missing]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(
        err.starts_with("error: "),
        "errors start with `error: `: {err}"
    );
    assert!(err.contains(missing), "the error names the path: {err}");
    assert!(stdout(&out).is_empty(), "nothing on stdout on error");
}

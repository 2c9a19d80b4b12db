//! `flotilla apply` / `flotilla diff` as a user runs them, against the real
//! test clusters (started or reused with `testenv/up`, like
//! `flotilla_testkit::clusters`). Skipped only with
//! FLOTILLA_SKIP_CLUSTER_TESTS=1, loudly.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn kubeconfig() -> Option<PathBuf> {
    if matches!(
        std::env::var("FLOTILLA_SKIP_CLUSTER_TESTS").as_deref(),
        Ok("1" | "true" | "yes")
    ) {
        eprintln!(
            "\n!!!! FLOTILLA_SKIP_CLUSTER_TESTS is set: SKIPPING a test that needs real clusters !!!!\n"
        );
        return None;
    }
    if let Ok(list) = std::env::var("FLOTILLA_TEST_KUBECONFIGS")
        && let Some(first) = std::env::split_paths(&list).next()
    {
        return Some(first);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(root.join("testenv/up"))
        .arg("3")
        .stderr(Stdio::inherit())
        .output()
        .expect("running testenv/up");
    assert!(out.status.success(), "testenv/up failed: {}", out.status);
    let stdout = String::from_utf8(out.stdout).unwrap();
    Some(PathBuf::from(
        stdout
            .lines()
            .next()
            .expect("testenv/up printed no kubeconfig"),
    ))
}

fn flotilla(kc: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flotilla"));
    cmd.arg("--kubeconfig").arg(kc).args(args);
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("running flotilla");
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{}", std::process::id(), nanos % 100_000)
}

fn manifests(ns: &str, names: &[String]) -> String {
    let mut s = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n");
    for n in names {
        s.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}\n  namespace: {ns}\ndata:\n  key: value-{n}\n"
        ));
    }
    s
}

fn diff_json(kc: &Path, dir: &Path, unit: &str) -> Value {
    let o = flotilla(
        kc,
        &[
            "diff",
            "-f",
            dir.to_str().unwrap(),
            "--unit",
            unit,
            "-o",
            "json",
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn cleanup(kc: &Path, unit: &str) {
    let empty = tempfile::tempdir().unwrap();
    let o = flotilla(
        kc,
        &[
            "apply",
            "-f",
            empty.path().to_str().unwrap(),
            "--unit",
            unit,
            "--prune",
            "--allow-empty",
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn diff_apply_prune_from_files_dirs_and_stdin() {
    let Some(kc) = kubeconfig() else { return };
    let ns = unique("cli-apply");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("nested")).unwrap();
    let names: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
    std::fs::write(dir.path().join("nested/all.yaml"), manifests(&ns, &names)).unwrap();
    let d = dir.path().to_str().unwrap();

    let plan = diff_json(&kc, dir.path(), &ns);
    assert_eq!(plan["summary"]["create"], 3, "{plan}");
    let o = flotilla(&kc, &["apply", "-f", d, "--unit", &ns, "--prune"], None);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("applied 3"),
        "{}",
        text(&o)
    );
    let plan = diff_json(&kc, dir.path(), &ns);
    assert_eq!(plan["summary"]["unchanged"], 3, "{plan}");
    let o = flotilla(&kc, &["diff", "-f", d, "--unit", &ns, "--exit-code"], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // From stdin, without `b`: diff shows the prune (exit code 4), apply does it.
    let only_a = manifests(&ns, &names[..1]);
    let o = flotilla(
        &kc,
        &["diff", "-f", "-", "--unit", &ns, "--exit-code"],
        Some(&only_a),
    );
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!("- prune ConfigMap/{ns}/b")),
        "{}",
        text(&o)
    );
    let o = flotilla(
        &kc,
        &["apply", "-f", "-", "--unit", &ns, "--prune"],
        Some(&only_a),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("pruned 1"),
        "{}",
        text(&o)
    );

    // A broken file fails the command before anything is touched.
    std::fs::write(dir.path().join("broken.yaml"), "kind: [unterminated").unwrap();
    let o = flotilla(&kc, &["apply", "-f", d, "--unit", &ns, "--prune"], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("broken.yaml"),
        "{}",
        text(&o)
    );
    std::fs::remove_file(dir.path().join("broken.yaml")).unwrap();

    // The mass-deletion guard.
    let empty = tempfile::tempdir().unwrap();
    let o = flotilla(
        &kc,
        &[
            "apply",
            "-f",
            empty.path().to_str().unwrap(),
            "--unit",
            &ns,
            "--prune",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("refusing to prune"),
        "{}",
        text(&o)
    );
    cleanup(&kc, &ns);
}

#[test]
fn killed_mid_apply_the_next_run_converges() {
    let Some(kc) = kubeconfig() else { return };
    let ns = unique("cli-kill");
    let ns_unit = format!("{ns}-ns");
    let ns_dir = tempfile::tempdir().unwrap();
    std::fs::write(ns_dir.path().join("ns.yaml"), manifests(&ns, &[])).unwrap();
    let o = flotilla(
        &kc,
        &[
            "apply",
            "-f",
            ns_dir.path().to_str().unwrap(),
            "--unit",
            &ns_unit,
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));

    // The ConfigMaps only (the namespace is another unit).
    let configmaps = |names: &[String]| -> String {
        let all = manifests(&ns, names);
        all.split_once("---\n")
            .map(|(_, rest)| rest.to_owned())
            .unwrap_or_default()
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_owned();
    let mut every_name: Vec<String> = (0..150).map(|i| format!("one-{i}")).collect();
    std::fs::write(dir.path().join("m.yaml"), configmaps(&every_name)).unwrap();
    let o = flotilla(&kc, &["apply", "-f", &d, "--unit", &ns, "--prune"], None);
    assert!(o.status.success(), "{}", text(&o));

    let mut killed_mid_run = 0;
    for (round, delay_ms) in [40u64, 120, 300].into_iter().enumerate() {
        let next: Vec<String> = (0..150).map(|i| format!("r{round}-{i}")).collect();
        every_name.extend(next.iter().cloned());
        std::fs::write(dir.path().join("m.yaml"), configmaps(&next)).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_flotilla"))
            .arg("--kubeconfig")
            .arg(&kc)
            .args(["apply", "-f", &d, "--unit", &ns, "--prune"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let o = flotilla(&kc, &["apply", "-f", &d, "--unit", &ns, "--prune"], None);
        assert!(o.status.success(), "round {round}: {}", text(&o));
        let plan = diff_json(&kc, dir.path(), &ns);
        assert_eq!(plan["summary"]["unchanged"], 150, "round {round}: {plan}");
        assert_eq!(plan["summary"]["prune"], 0, "round {round}: {plan}");
    }
    assert!(
        killed_mid_run >= 2,
        "the kills must land while apply runs ({killed_mid_run} did)"
    );
    // Remove the unit: afterwards none of the ConfigMaps any run created
    // exists (checked with a plan for all of them under a throwaway unit).
    cleanup(&kc, &ns);
    let all = tempfile::tempdir().unwrap();
    std::fs::write(all.path().join("all.yaml"), configmaps(&every_name)).unwrap();
    let plan = diff_json(&kc, all.path(), &format!("{ns}-probe"));
    assert_eq!(
        plan["summary"]["create"],
        every_name.len(),
        "no orphans: {plan}"
    );
    cleanup(&kc, &ns_unit);
}

#[test]
fn wait_reports_health_and_exit_codes() {
    let Some(kc) = kubeconfig() else { return };
    let ns = unique("cli-wait");
    let deployment = |name: &str, extra: &str| {
        format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  replicas: 1\n{extra}  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.27\n"
        )
    };
    let good = manifests(&ns, &[]) + &deployment("web", "");
    let o = flotilla(
        &kc,
        &[
            "apply",
            "-f",
            "-",
            "--unit",
            &ns,
            "--wait",
            "--timeout",
            "90s",
        ],
        Some(&good),
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("Current     Deployment/{ns}/web"))
            && out.contains("all 2 objects are Current"),
        "{}",
        text(&o)
    );

    // Never schedulable, 3 s progress deadline: Failed, exit code 3 (not converged).
    let stuck = good.clone()
        + &deployment("stuck", "  progressDeadlineSeconds: 3\n")
            .replace("    spec:\n      containers:", "    spec:\n      nodeSelector: {flotilla.dev/no-such-node: \"true\"}\n      containers:");
    let o = flotilla(
        &kc,
        &[
            "apply",
            "-f",
            "-",
            "--unit",
            &ns,
            "--wait",
            "--timeout",
            "90s",
            "-o",
            "json",
        ],
        Some(&stuck),
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let objects = report["health"]["objects"].as_array().unwrap();
    let stuck_health = objects
        .iter()
        .find(|h| h["object"] == format!("Deployment/{ns}/stuck"))
        .unwrap();
    assert_eq!(stuck_health["status"], "Failed", "{report}");
    assert_eq!(report["health"]["timedOut"], false, "{report}");
    cleanup(&kc, &ns);
}

//! `cargo xtask bench sops` (flotilla vs. the real sops on the same files) and
//! `cargo xtask bench apply` (the Flux benchmark workload on a real cluster).

use crate::bench::{flotilla, ratio, repo_root};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Run a reference-tool script from `tools/reftools` and return the path it prints.
fn reftool(name: &str) -> Result<PathBuf> {
    let out = Command::new(repo_root().join("tools/reftools/install"))
        .arg(name)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running tools/reftools/install {name}"))?;
    if !out.status.success() {
        bail!("tools/reftools/install {name} failed");
    }
    Ok(PathBuf::from(String::from_utf8(out.stdout)?.trim()))
}

struct Timed {
    stdout: Vec<u8>,
    wall: Duration,
}

fn timed(cmd: &Path, args: &[&str], env: &[(&str, &Path)]) -> Result<Timed> {
    let start = Instant::now();
    let out = Command::new(cmd)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .output()
        .with_context(|| format!("running {}", cmd.display()))?;
    let wall = start.elapsed();
    if !out.status.success() {
        bail!(
            "{} {} failed: {}",
            cmd.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(Timed {
        stdout: out.stdout,
        wall,
    })
}

/// The median wall time of `runs` runs, and the last run's output.
fn median(runs: usize, mut f: impl FnMut() -> Result<Timed>) -> Result<(Duration, Vec<u8>)> {
    let mut times = Vec::with_capacity(runs);
    let mut last = Vec::new();
    for _ in 0..runs {
        let t = f()?;
        times.push(t.wall);
        last = t.stdout;
    }
    times.sort();
    Ok((times[times.len() / 2], last))
}

/// A plaintext YAML document of `keys` entries in nested maps and lists.
fn plaintext(keys: usize) -> String {
    let mut s = String::from(
        "# generated for cargo xtask bench sops\napiVersion: v1\nkind: Secret\nmetadata:\n    name: bench\nstringData:\n",
    );
    for i in 0..keys {
        s.push_str(&format!(
            "    key_{i:04}: value-{i}-{}\n",
            "x".repeat(i % 40)
        ));
    }
    s.push_str("config:\n    servers:\n");
    for i in 0..keys / 10 {
        s.push_str(&format!(
            "        - host: db{i}.internal\n          port: {}\n          tls: true\n",
            5000 + i
        ));
    }
    s
}

pub fn sops(args: &[String]) -> Result<()> {
    let mut keys = 1000usize;
    let mut runs = 15usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--keys" => keys = it.next().context("--keys N")?.parse()?,
            "--runs" => runs = it.next().context("--runs K")?.parse()?,
            other => bail!(
                "unknown argument {other}; usage: cargo xtask bench sops [--keys N] [--runs K]"
            ),
        }
    }
    let sops = reftool("sops")?;
    let age_keygen = reftool("age-keygen")?;
    let flot = flotilla()?;
    let dir = tempfile::tempdir()?;
    let key_file = dir.path().join("key.txt");
    let out = Command::new(&age_keygen)
        .arg("-o")
        .arg(&key_file)
        .output()?;
    if !out.status.success() {
        bail!(
            "age-keygen failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let recipient = std::fs::read_to_string(&key_file)?
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_owned))
        .context("age-keygen wrote no public key")?;
    let plain = dir.path().join("plain.yaml");
    std::fs::write(&plain, plaintext(keys))?;
    let plain_s = plain.to_str().context("non-UTF-8 temp path")?;
    let env = [("SOPS_AGE_KEY_FILE", key_file.as_path())];

    // Encrypt: both tools, same plaintext, same recipient.
    let (sops_enc_t, sops_enc) = median(runs, || {
        timed(&sops, &["-e", "--age", &recipient, plain_s], &env)
    })?;
    let (flot_enc_t, flot_enc) = median(runs, || {
        timed(
            &flot,
            &["secrets", "encrypt", "--age", &recipient, plain_s],
            &env,
        )
    })?;
    let by_sops = dir.path().join("by-sops.yaml");
    let by_flot = dir.path().join("by-flotilla.yaml");
    std::fs::write(&by_sops, &sops_enc)?;
    std::fs::write(&by_flot, &flot_enc)?;
    let by_sops_s = by_sops.to_str().context("path")?;
    let by_flot_s = by_flot.to_str().context("path")?;

    // Decrypt the file sops made with both tools; outputs must be identical,
    // and each tool must decrypt the other's file to the same plaintext.
    let (sops_dec_t, sops_dec) = median(runs, || timed(&sops, &["-d", by_sops_s], &env))?;
    let (flot_dec_t, flot_dec) = median(runs, || {
        timed(&flot, &["secrets", "decrypt", by_sops_s], &env)
    })?;
    let cross = timed(&sops, &["-d", by_flot_s], &env)?.stdout;
    let identical = sops_dec == flot_dec && cross == sops_dec;

    println!(
        "sops {} vs flotilla, {keys} keys ({} bytes plaintext), median of {runs} runs",
        sops.display(),
        std::fs::metadata(&plain)?.len()
    );
    println!(
        "{:<10} {:>12} {:>12} {:>8}",
        "operation", "sops", "flotilla", "ratio"
    );
    for (name, s, f) in [
        ("encrypt", sops_enc_t, flot_enc_t),
        ("decrypt", sops_dec_t, flot_dec_t),
    ] {
        println!(
            "{:<10} {:>10.1}ms {:>10.1}ms {:>7.1}x",
            name,
            s.as_secs_f64() * 1e3,
            f.as_secs_f64() * 1e3,
            ratio(s, f)
        );
    }
    println!(
        "outputs identical (decrypt both ways): {}",
        if identical { "yes" } else { "NO" }
    );
    if !identical {
        bail!("flotilla and sops disagree on the plaintext");
    }
    Ok(())
}

pub fn apply(args: &[String]) -> Result<()> {
    let mut n = "100,500,1000".to_owned();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--n" => n = it.next().context("--n LIST")?.clone(),
            other => {
                bail!("unknown argument {other}; usage: cargo xtask bench apply [--n 100,500,1000]")
            }
        }
    }
    let up = Command::new(repo_root().join("testenv/up"))
        .arg("1")
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running testenv/up 1")?;
    if !up.status.success() {
        bail!("testenv/up 1 failed");
    }
    let kubeconfig = String::from_utf8(up.stdout)?
        .lines()
        .next()
        .context("testenv/up printed no kubeconfig")?
        .to_owned();
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "run",
            "--release",
            "-q",
            "-p",
            "flotilla-engine",
            "--example",
            "bench_apply",
            "--",
        ])
        .args(["--kubeconfig", &kubeconfig, "--n", &n])
        .current_dir(repo_root())
        .status()
        .context("running the bench_apply example")?;
    if !status.success() {
        bail!("bench_apply failed");
    }
    Ok(())
}

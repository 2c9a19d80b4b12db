//! `cargo xtask bench kustomize`: flotilla vs. kustomize v5.5.0.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const KUSTOMIZE_VERSION: &str = "v5.5.0";

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
}

/// The kustomize binary: $KUSTOMIZE, else a cached `go install`.
fn kustomize_bin() -> Result<PathBuf> {
    if let Some(k) = std::env::var_os("KUSTOMIZE") {
        return Ok(PathBuf::from(k));
    }
    let bin_dir = target_dir()
        .join("xtask")
        .join(format!("kustomize-{KUSTOMIZE_VERSION}"));
    let bin = bin_dir.join("kustomize");
    if bin.exists() {
        return Ok(bin);
    }
    eprintln!(
        "installing kustomize {KUSTOMIZE_VERSION} into {}",
        bin_dir.display()
    );
    let status = Command::new("go")
        .args([
            "install",
            &format!("sigs.k8s.io/kustomize/kustomize/v5@{KUSTOMIZE_VERSION}"),
        ])
        .env("GOBIN", &bin_dir)
        .status()
        .context("running `go install` (is Go installed?)")?;
    if !status.success() || !bin.exists() {
        bail!("go install sigs.k8s.io/kustomize/kustomize/v5@{KUSTOMIZE_VERSION} failed");
    }
    Ok(bin)
}

/// The flotilla binary, built in release mode.
pub(crate) fn flotilla() -> Result<PathBuf> {
    if let Some(f) = std::env::var_os("FLOTILLA") {
        return Ok(PathBuf::from(f));
    }
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "-p", "flotilla"])
        .current_dir(repo_root())
        .status()
        .context("building flotilla")?;
    if !status.success() {
        bail!("cargo build --release -p flotilla failed");
    }
    Ok(target_dir().join("release").join("flotilla"))
}

pub(crate) struct Run {
    pub(crate) ok: bool,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
    pub(crate) elapsed: Duration,
    /// User + system CPU time of the child: robust on a busy machine.
    pub(crate) cpu: Duration,
}

/// CPU time (user + system) of all waited-for children so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer, RUSAGE_CHILDREN is a valid selector.
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

pub(crate) fn run(cmd: &Path, args: &[String], cwd: &Path) -> Result<Run> {
    let cpu_before = children_cpu();
    let start = Instant::now();
    let out = Command::new(cmd)
        .args(args)
        .current_dir(cwd)
        .output()
        .with_context(|| format!("running {}", cmd.display()))?;
    let elapsed = start.elapsed();
    Ok(Run {
        ok: out.status.success(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed,
        cpu: children_cpu().saturating_sub(cpu_before),
    })
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dst = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &dst)?;
        } else {
            std::fs::copy(e.path(), &dst)?;
        }
    }
    Ok(())
}

fn json_strings(text: &str, key: &str) -> Vec<String> {
    // case.json is flat enough for this: "key": ["a", "b"] or "key": "a".
    let Some(i) = text.find(&format!("\"{key}\"")) else {
        return Vec::new();
    };
    let rest = &text[i + key.len() + 2..];
    let rest = rest.trim_start().trim_start_matches(':').trim_start();
    if let Some(list) = rest.strip_prefix('[') {
        let end = list.find(']').unwrap_or(0);
        list[..end]
            .split(',')
            .map(|s| s.trim().trim_matches('"').to_string())
            .filter(|s| !s.is_empty())
            .collect()
    } else if let Some(s) = rest.strip_prefix('"') {
        vec![s[..s.find('"').unwrap_or(0)].to_string()]
    } else {
        Vec::new()
    }
}

pub(crate) fn ratio(k: Duration, f: Duration) -> f64 {
    k.as_secs_f64() / f.as_secs_f64().max(1e-9)
}

fn bench_corpus(kust: &Path, flot: &Path) -> Result<()> {
    let cases = repo_root().join("tests/corpus/kustomize/cases");
    let run_root = Path::new("/tmp/kustomize-corpus-run");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&cases)?
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    let (mut tk, mut tf) = (Duration::ZERO, Duration::ZERO);
    let (mut ck, mut cf) = (Duration::ZERO, Duration::ZERO);
    let (mut same, mut differ, mut n) = (0, Vec::new(), 0);
    for dir in &dirs {
        let Ok(meta) = std::fs::read_to_string(dir.join("case.json")) else {
            continue;
        };
        let _ = std::fs::remove_dir_all(run_root);
        std::fs::create_dir_all(run_root.join("in"))?;
        if dir.join("in").exists() {
            copy_tree(&dir.join("in"), &run_root.join("in"))?;
        }
        for d in json_strings(&meta, "empty_dirs") {
            std::fs::create_dir_all(run_root.join(&d))?;
        }
        let build_dir = json_strings(&meta, "build_dir")
            .pop()
            .unwrap_or_else(|| ".".into());
        let mut args = vec!["build".to_string()];
        args.extend(json_strings(&meta, "flags"));
        args.push(build_dir);
        let cwd = run_root.join("in");
        let k = run(kust, &args, &cwd)?;
        let f = run(flot, &args, &cwd)?;
        tk += k.elapsed;
        tf += f.elapsed;
        ck += k.cpu;
        cf += f.cpu;
        n += 1;
        if k.ok == f.ok && (!k.ok || k.stdout == f.stdout) {
            same += 1;
        } else {
            let name = dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let why = if k.ok != f.ok {
                format!(
                    "kustomize ok={} flotilla ok={} ({})",
                    k.ok,
                    f.ok,
                    f.stderr.lines().next().unwrap_or("")
                )
            } else {
                "output differs".to_string()
            };
            differ.push(format!("{name}: {why}"));
        }
    }
    let _ = std::fs::remove_dir_all(run_root);
    println!("\n(a) conformance corpus: {n} builds, one process each");
    println!("                       wall        cpu");
    println!(
        "    kustomize {KUSTOMIZE_VERSION}: {:8.3} s {:8.3} s",
        tk.as_secs_f64(),
        ck.as_secs_f64()
    );
    println!(
        "    flotilla:          {:8.3} s {:8.3} s",
        tf.as_secs_f64(),
        cf.as_secs_f64()
    );
    println!(
        "    ratio:             {:8.1}x   {:8.1}x faster",
        ratio(tk, tf),
        ratio(ck, cf)
    );
    println!("    identical results: {same}/{n}");
    for d in &differ {
        println!("      differs: {d}");
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// A large tree: `apps` apps, each a base plus dev/staging/prod overlays
/// with patches, generators and a shared component; a top kustomization
/// renders every overlay at once.
fn generate_tree(root: &Path, apps: usize) -> Result<()> {
    let _ = std::fs::remove_dir_all(root);
    write(
        &root.join("components/observability/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n\
         labels:\n- pairs:\n    observability: enabled\n  includeTemplates: true\n\
         patches:\n- target:\n    kind: Deployment\n  patch: |-\n    - op: add\n      path: /spec/template/metadata/annotations\n      value:\n        prometheus.io/scrape: \"true\"\n        prometheus.io/port: \"9090\"\n\
         configMapGenerator:\n- name: otel-config\n  literals:\n  - endpoint=collector.observability:4317\n  - sampling=0.1\n",
    )?;
    let mut top = String::from(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    for i in 0..apps {
        let app = format!("app{i:03}");
        let base = root.join("apps").join(&app).join("base");
        write(
            &base.join("kustomization.yaml"),
            &format!(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
                 resources:\n- deployment.yaml\n- service.yaml\n\
                 labels:\n- pairs:\n    app.kubernetes.io/name: {app}\n  includeSelectors: true\n\
                 configMapGenerator:\n- name: {app}-config\n  files:\n  - application.properties\n  literals:\n  - LOG_LEVEL=info\n\
                 secretGenerator:\n- name: {app}-secret\n  literals:\n  - password=s3cr3t-{i}\n"
            ),
        )?;
        write(
            &base.join("application.properties"),
            &format!(
                "server.port=8080\napp.name={app}\nfeature.flags=a,b,c\ncache.size={}\n",
                64 + i
            ),
        )?;
        write(
            &base.join("deployment.yaml"),
            &format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\nspec:\n  replicas: 1\n  template:\n    spec:\n      \
                 serviceAccountName: default\n      containers:\n      - name: main\n        image: registry.example.com/{app}:1.0.0\n        \
                 ports:\n        - containerPort: 8080\n        envFrom:\n        - configMapRef:\n            name: {app}-config\n        \
                 env:\n        - name: PASSWORD\n          valueFrom:\n            secretKeyRef:\n              name: {app}-secret\n              key: password\n        \
                 volumeMounts:\n        - name: config\n          mountPath: /etc/{app}\n      volumes:\n      - name: config\n        configMap:\n          name: {app}-config\n"
            ),
        )?;
        write(
            &base.join("service.yaml"),
            &format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {app}\nspec:\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n"
            ),
        )?;
        for (env, replicas) in [("dev", 1), ("staging", 2), ("prod", 3)] {
            let ov = root.join("apps").join(&app).join(env);
            write(
                &ov.join("kustomization.yaml"),
                &format!(
                    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
                     namespace: {app}-{env}\nnamePrefix: {env}-\n\
                     resources:\n- ../base\n\
                     components:\n- ../../../components/observability\n\
                     commonAnnotations:\n  team: team-{}\n  environment: {env}\n\
                     patches:\n- path: resources.yaml\n- target:\n    kind: Service\n  patch: |-\n    - op: replace\n      path: /spec/ports/0/port\n      value: {}\n\
                     configMapGenerator:\n- name: {app}-config\n  behavior: merge\n  literals:\n  - LOG_LEVEL={}\n  - ENVIRONMENT={env}\n\
                     images:\n- name: registry.example.com/{app}\n  newTag: 1.{i}.{replicas}\n\
                     replicas:\n- name: {app}\n  count: {replicas}\n",
                    i % 7,
                    8000 + replicas,
                    if env == "prod" { "warn" } else { "debug" },
                ),
            )?;
            write(
                &ov.join("resources.yaml"),
                &format!(
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\nspec:\n  template:\n    spec:\n      containers:\n      \
                     - name: main\n        resources:\n          limits:\n            memory: {}Mi\n          requests:\n            cpu: {}m\n",
                    128 * replicas,
                    100 * replicas
                ),
            )?;
            top.push_str(&format!("- apps/{app}/{env}\n"));
        }
    }
    write(&root.join("kustomization.yaml"), &top)?;
    Ok(())
}

fn bench_large(kust: &Path, flot: &Path, apps: usize, runs: usize) -> Result<()> {
    let root = target_dir().join("xtask").join("bench-tree");
    generate_tree(&root, apps)?;
    let args = vec!["build".to_string(), ".".to_string()];
    let (mut tk, mut tf) = (Vec::new(), Vec::new());
    let (mut ck, mut cf) = (Vec::new(), Vec::new());
    let mut identical = true;
    let mut size = 0;
    for _ in 0..runs {
        let k = run(kust, &args, &root)?;
        let f = run(flot, &args, &root)?;
        if !k.ok {
            bail!("kustomize failed on the large tree: {}", k.stderr);
        }
        if !f.ok {
            bail!("flotilla failed on the large tree: {}", f.stderr);
        }
        if k.stdout != f.stdout {
            identical = false;
            let kp = root.join("../bench-kustomize.yaml");
            let fp = root.join("../bench-flotilla.yaml");
            std::fs::write(&kp, &k.stdout)?;
            std::fs::write(&fp, &f.stdout)?;
            eprintln!("outputs differ; see {} and {}", kp.display(), fp.display());
        }
        size = f.stdout.len();
        tk.push(k.elapsed);
        tf.push(f.elapsed);
        ck.push(k.cpu);
        cf.push(f.cpu);
    }
    for v in [&mut tk, &mut tf, &mut ck, &mut cf] {
        v.sort();
    }
    let median = |v: &[Duration]| v[v.len() / 2];
    let (mk, mf) = (median(&tk), median(&tf));
    let (mck, mcf) = (median(&ck), median(&cf));
    let docs = String::from_utf8_lossy(&std::fs::read(root.join("kustomization.yaml"))?)
        .lines()
        .filter(|l| l.starts_with("- "))
        .count();
    println!(
        "\n(b) large tree: {apps} apps x (base + 3 overlays + shared component), {docs} overlays, {size} bytes of output"
    );
    println!("                       wall        cpu   (medians of {runs})");
    println!(
        "    kustomize {KUSTOMIZE_VERSION}: {:8.3} s {:8.3} s",
        mk.as_secs_f64(),
        mck.as_secs_f64()
    );
    println!(
        "    flotilla:          {:8.3} s {:8.3} s",
        mf.as_secs_f64(),
        mcf.as_secs_f64()
    );
    println!(
        "    ratio:             {:8.1}x   {:8.1}x faster",
        ratio(mk, mf),
        ratio(mck, mcf)
    );
    println!(
        "    identical output:  {}",
        if identical { "yes" } else { "NO" }
    );
    if !identical {
        bail!("flotilla and kustomize outputs differ on the large tree");
    }
    Ok(())
}

pub fn kustomize(args: &[String]) -> Result<()> {
    let mut apps = 300;
    let mut runs = 3;
    let mut corpus = true;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--apps" => apps = it.next().context("--apps needs a number")?.parse()?,
            "--runs" => runs = it.next().context("--runs needs a number")?.parse()?,
            "--skip-corpus" => corpus = false,
            other => bail!("unknown option {other}"),
        }
    }
    let kust = kustomize_bin()?;
    let flot = flotilla()?;
    println!(
        "kustomize: {}\nflotilla:  {}",
        kust.display(),
        flot.display()
    );
    if corpus {
        bench_corpus(&kust, &flot)?;
    }
    bench_large(&kust, &flot, apps, runs.max(1))
}

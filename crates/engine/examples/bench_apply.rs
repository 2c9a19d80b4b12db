//! Benchmark (not a test): the Flux benchmark workload applied to one real
//! cluster. N apps, each a Deployment scaled to 0, a ServiceAccount, a
//! Service and an Ingress, in one namespace, as one unit.
//!
//! For each N: time, peak RSS and API requests of the first apply and of a
//! no-op re-apply (from a fresh process state: new client, cold discovery).
//! Services are headless (`clusterIP: None`): the test clusters' service
//! CIDR is a /24, too small for 1000 ClusterIP Services.
//! Each N runs in its own child process so peak RSS (VmHWM) is per N.
//!
//! cargo run --release -p flotilla-engine --example bench_apply -- \
//!     --kubeconfig PATH [--context NAME] [--n 100,500,1000] [--keep]

use flotilla_engine::{ApplyOptions, ClusterHandle, Unit};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Instant;

struct Args {
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    sizes: Vec<usize>,
    single: Option<usize>,
    keep: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        kubeconfig: None,
        context: None,
        sizes: vec![100, 500, 1000],
        single: None,
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--kubeconfig" => args.kubeconfig = Some(PathBuf::from(value("--kubeconfig")?)),
            "--context" => args.context = Some(value("--context")?),
            "--n" => {
                args.sizes = value("--n")?
                    .split(',')
                    .map(|s| s.trim().parse().map_err(|_| format!("bad --n value {s:?}")))
                    .collect::<Result<_, _>>()?
            }
            "--single" => {
                args.single = Some(
                    value("--single")?
                        .parse()
                        .map_err(|_| "bad --single".to_string())?,
                )
            }
            "--keep" => args.keep = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn workload(n: usize) -> (String, Vec<Value>) {
    // Unique per run: a previous run's namespace may still be terminating.
    let ns = format!("bench-{n}-{}", std::process::id());
    let mut objects =
        vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})];
    for i in 0..n {
        let name = format!("app-{i}");
        objects.push(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}}));
        objects.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": "None", "selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}));
        objects.push(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"serviceAccountName": name,
                                           "containers": [{"name": "app", "image": "ghcr.io/stefanprodan/podinfo:6.7.0",
                                                           "ports": [{"containerPort": 8080, "name": "http"}],
                                                           "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}}));
        objects.push(json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name, "namespace": ns},
            "spec": {"rules": [{"host": format!("{name}.example.com"), "http": {"paths": [{"path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": name, "port": {"number": 80}}}}]}}]}}));
    }
    (ns, objects)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn connect(args: &Args) -> anyhow::Result<ClusterHandle> {
    ClusterHandle::from_kubeconfig(args.kubeconfig.as_deref(), args.context.as_deref()).await
}

/// One N, in this process: prints one result line.
async fn run_single(args: &Args, n: usize) -> anyhow::Result<()> {
    let (ns, objects) = workload(n);
    let unit = Unit::new(ns.clone(), objects.clone());
    let opts = ApplyOptions {
        prune: true,
        ..Default::default()
    };
    let first_handle = connect(args).await?;
    let t = Instant::now();
    let first = first_handle.apply(&unit, &opts).await?;
    let first_time = t.elapsed();
    anyhow::ensure!(
        first.failures.is_empty(),
        "first apply failed: {:?}",
        &first.failures[..first.failures.len().min(5)]
    );
    let first_requests = first_handle.requests();
    let rss_first = peak_rss_kib();
    drop(first_handle);

    let second_handle = connect(args).await?;
    let t = Instant::now();
    let second = second_handle.apply(&unit, &opts).await?;
    let second_time = t.elapsed();
    anyhow::ensure!(second.failures.is_empty(), "re-apply failed");
    let second_requests = second_handle.requests();
    let rss = peak_rss_kib();
    println!(
        "RESULT n={n} objects={} first_s={:.2} first_requests={} first_writes={} noop_s={:.2} noop_requests={} noop_writes={} noop_dry_runs={} peak_rss_mib={:.1} rss_after_first_mib={:.1}",
        objects.len(),
        first_time.as_secs_f64(),
        first_requests.total(),
        first_requests.writes(),
        second_time.as_secs_f64(),
        second_requests.total(),
        second_requests.writes(),
        second_requests.dry_run,
        rss as f64 / 1024.0,
        rss_first as f64 / 1024.0,
    );
    println!("  first apply: {first_requests}");
    println!("  no-op:       {second_requests}");
    if !args.keep {
        let cleanup = ApplyOptions {
            prune: true,
            allow_empty: true,
            ..Default::default()
        };
        second_handle
            .apply(&Unit::new(ns, vec![]), &cleanup)
            .await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args().map_err(anyhow::Error::msg)?;
    if let Some(n) = args.single {
        return run_single(&args, n).await;
    }
    let exe = std::env::current_exe()?;
    println!(
        "flotilla bench_apply: Flux benchmark workload (Deployment x0 + ServiceAccount + Service + Ingress per app), {} CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for &n in &args.sizes {
        let mut cmd = std::process::Command::new(&exe);
        if let Some(k) = &args.kubeconfig {
            cmd.arg("--kubeconfig").arg(k);
        }
        if let Some(c) = &args.context {
            cmd.arg("--context").arg(c);
        }
        if args.keep {
            cmd.arg("--keep");
        }
        let status = cmd.arg("--single").arg(n.to_string()).status()?;
        anyhow::ensure!(status.success(), "benchmark for n={n} failed: {status}");
    }
    Ok(())
}

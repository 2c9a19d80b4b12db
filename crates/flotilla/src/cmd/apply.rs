//! `flotilla diff` and `flotilla apply`: one unit, one cluster.

use crate::exit;
use crate::global::{Global, OutputFormat};
use anyhow::Context as _;
use flotilla_engine::{ApplyOptions, ClusterHandle, PlanOptions, Unit, WaitOptions};
use flotilla_secrets::engine::SealedSecretMode;
use serde_json::Value;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// Files, directories (recursive) or `-` for stdin.
    #[arg(short = 'f', long = "filename", required = true)]
    files: Vec<PathBuf>,
    /// The unit these objects belong to (owns their inventory).
    #[arg(long)]
    unit: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    output: OutputFormat,
    /// Exit with code 4 when there are changes.
    #[arg(long)]
    exit_code: bool,
    /// Plan as if all fields owned by other managers were taken over.
    #[arg(long)]
    force_conflicts: bool,
    /// Plan delete-and-recreate for immutable-field changes.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    sealed: SealedSecretsArgs,
}

#[derive(clap::Args, Debug)]
pub struct ApplyArgs {
    /// Files, directories (recursive) or `-` for stdin.
    #[arg(short = 'f', long = "filename", required = true)]
    files: Vec<PathBuf>,
    /// The unit these objects belong to (owns their inventory).
    #[arg(long)]
    unit: String,
    /// Delete objects of the unit that are no longer in the manifests.
    #[arg(long)]
    prune: bool,
    /// With --prune: allow deleting everything when the manifests hold no object.
    #[arg(long)]
    allow_empty: bool,
    /// Wait until every object is healthy (kstatus, or --health-check-exprs).
    #[arg(long)]
    wait: bool,
    /// How long --wait waits, e.g. 90s, 5m.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    timeout: Duration,
    /// Take over fields other field managers own.
    #[arg(long)]
    force_conflicts: bool,
    /// Delete and recreate objects whose immutable fields change.
    #[arg(long)]
    force: bool,
    /// YAML file with a list of Flux `healthCheckExprs` (apiVersion, kind, current, inProgress, failed).
    #[arg(long, value_name = "PATH")]
    health_check_exprs: Option<PathBuf>,
    /// Source revision recorded in the inventory.
    #[arg(long)]
    revision: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    output: OutputFormat,
    #[command(flatten)]
    sealed: SealedSecretsArgs,
}

/// What `diff`/`apply` do with SealedSecret objects.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SealedSecretsFlag {
    /// Apply SealedSecrets unchanged; an installed controller unseals them.
    #[default]
    Controller,
    /// Unseal them here with the target cluster's active sealing keys and
    /// apply the Secrets; the cluster needs no controller.
    Unseal,
}

#[derive(clap::Args, Debug, Clone)]
pub struct SealedSecretsArgs {
    /// SealedSecrets: `controller` applies them as they are (for an installed
    /// controller); `unseal` turns them into Secrets with the cluster's keys.
    #[arg(long = "sealed-secrets", value_enum, default_value_t)]
    sealed_secrets: SealedSecretsFlag,
    /// With --sealed-secrets unseal: the namespace holding the cluster's
    /// sealing keys (labelled like the controller's).
    #[arg(long, default_value = flotilla_secrets::sealed::cluster::DEFAULT_CONTROLLER_NAMESPACE)]
    sealing_keys_namespace: String,
}

impl SealedSecretsArgs {
    pub fn mode(&self) -> SealedSecretMode {
        match self.sealed_secrets {
            SealedSecretsFlag::Controller => SealedSecretMode::Controller,
            SealedSecretsFlag::Unseal => SealedSecretMode::Unseal {
                keys_namespace: self.sealing_keys_namespace.clone(),
            },
        }
    }
}

/// Replace SealedSecrets by their Secrets when unsealing, with the keys of
/// the target cluster. Fails as a whole, so no part of the unit is applied
/// when one SealedSecret cannot be opened.
async fn prepare_objects(
    cluster: &ClusterHandle,
    unit: &str,
    objects: Vec<Value>,
    sealed: &SealedSecretsArgs,
) -> anyhow::Result<Vec<Value>> {
    let mode = sealed.mode();
    let client = cluster.client();
    let default_namespace = client.default_namespace();
    let sealed_names: Vec<String> = objects
        .iter()
        .filter(|o| flotilla_secrets::sealed::is_sealed_secret(o))
        .map(|o| {
            let meta = &o["metadata"];
            format!(
                "SealedSecret {}/{}",
                meta["namespace"].as_str().unwrap_or(default_namespace),
                meta["name"].as_str().unwrap_or("<unnamed>")
            )
        })
        .collect();
    flotilla_secrets::engine::prepare_for_apply(
        client,
        objects,
        &mode,
        Some(default_namespace),
    )
    .await
    // The error's own text only: its source repeats it.
    .map_err(|e| {
        anyhow::anyhow!(
            "unit {unit}: unsealing {} for cluster {} (sealing keys from namespace {}): {e}; nothing was applied",
            sealed_names.join(", "),
            cluster.name(),
            sealed.sealing_keys_namespace
        )
    })
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (use e.g. 30s, 5m, 1h)"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "ms" => return Ok(Duration::from_millis(n)),
        _ => return Err(format!("invalid duration {s:?} (use e.g. 30s, 5m, 1h)")),
    };
    Ok(Duration::from_secs(secs))
}

/// Read every manifest: files, directories (recursively, `.yaml`, `.yml`,
/// `.json`, sorted by path) and `-` for stdin. Any unreadable input fails
/// the whole command, so a partial render can never drive a prune.
pub fn read_manifests(inputs: &[PathBuf]) -> anyhow::Result<Vec<Value>> {
    let mut objects = Vec::new();
    for input in inputs {
        if input.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading stdin")?;
            push_documents(&mut objects, &text, "stdin")?;
            continue;
        }
        let meta =
            std::fs::metadata(input).with_context(|| format!("reading {}", input.display()))?;
        let files = if meta.is_dir() {
            let mut files = Vec::new();
            collect_dir(input, &mut files)?;
            files.sort();
            files
        } else {
            vec![input.clone()]
        };
        for file in files {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            push_documents(&mut objects, &text, &file.display().to_string())?;
        }
    }
    Ok(objects)
}

fn collect_dir(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("reading directory {}", dir.display()))?
    {
        let path = entry
            .with_context(|| format!("reading directory {}", dir.display()))?
            .path();
        if path.is_dir() {
            collect_dir(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

fn push_documents(out: &mut Vec<Value>, text: &str, source: &str) -> anyhow::Result<()> {
    let docs =
        flotilla_model::yaml::parse_stream(text).with_context(|| format!("parsing {source}"))?;
    for (i, doc) in docs.into_iter().enumerate() {
        if !doc.is_object() {
            anyhow::bail!("{source}: document {} is not a mapping", i + 1);
        }
        let is_list =
            doc["kind"].as_str().is_some_and(|k| k.ends_with("List")) && doc["items"].is_array();
        if is_list {
            if let Some(items) = doc["items"].as_array() {
                out.extend(items.iter().cloned());
            }
        } else {
            out.push(doc);
        }
    }
    Ok(())
}

async fn connect(global: &Global) -> anyhow::Result<ClusterHandle> {
    ClusterHandle::from_kubeconfig(global.kubeconfig.as_deref(), global.context.as_deref()).await
}

fn print_json(value: &impl serde::Serialize, format: OutputFormat) -> anyhow::Result<()> {
    let v = serde_json::to_value(value)?;
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&v)?),
        _ => print!("{}", flotilla_model::yaml::emit(&v)),
    }
    Ok(())
}

pub async fn diff(args: DiffArgs, global: &Global) -> anyhow::Result<ExitCode> {
    let objects = read_manifests(&args.files)?;
    let cluster = connect(global).await?;
    let objects = prepare_objects(&cluster, &args.unit, objects, &args.sealed).await?;
    let unit = Unit::new(args.unit, objects);
    let opts = PlanOptions {
        prune: true,
        force_conflicts: args.force_conflicts,
        force_replace: args.force,
        allow_empty: false,
    };
    let plan = cluster.plan(&unit, &opts).await?;
    match args.output {
        OutputFormat::Text => print!("{}", plan.render_text(std::io::stdout().is_terminal())),
        f => print_json(&plan, f)?,
    }
    if args.exit_code && plan.has_changes() {
        return Ok(ExitCode::from(exit::CHANGES_PENDING));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn apply(args: ApplyArgs, global: &Global) -> anyhow::Result<ExitCode> {
    let objects = read_manifests(&args.files)?;
    let rules = match &args.health_check_exprs {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let docs = flotilla_model::yaml::parse_stream(&text)
                .with_context(|| format!("parsing {}", path.display()))?;
            let list = match docs.as_slice() {
                [Value::Array(items)] => items.clone(),
                _ => docs,
            };
            let exprs: Vec<flotilla_health::HealthCheckExpr> = list
                .into_iter()
                .map(serde_json::from_value)
                .collect::<Result<_, _>>()
                .with_context(|| format!("{}: not a list of healthCheckExprs", path.display()))?;
            Some(Arc::new(
                flotilla_health::CustomRules::new(&exprs)
                    .with_context(|| format!("{}: invalid health rules", path.display()))?,
            ))
        }
        None => None,
    };
    let cluster = connect(global).await?;
    let objects = prepare_objects(&cluster, &args.unit, objects, &args.sealed).await?;
    let mut unit = Unit::new(args.unit, objects);
    unit.revision = args.revision;
    let opts = ApplyOptions {
        prune: args.prune,
        force_conflicts: args.force_conflicts,
        force_replace: args.force,
        allow_empty: args.allow_empty,
        wait: args.wait.then(|| WaitOptions {
            timeout: args.timeout,
            rules,
        }),
        ..Default::default()
    };
    let report = cluster.apply(&unit, &opts).await?;
    match args.output {
        OutputFormat::Text => {
            print!(
                "{}",
                report.plan.render_text(std::io::stdout().is_terminal())
            );
            println!(
                "applied {}, pruned {}, {} failed ({} ms)",
                report.applied.len(),
                report.pruned.len(),
                report.failures.len(),
                report.duration_ms
            );
            for f in &report.failures {
                println!("failed {}: {}", f.object, f.error);
            }
            if let Some(h) = &report.health {
                print!("{}", h.render_text());
            }
        }
        f => print_json(&report, f)?,
    }
    if !report.failures.is_empty() {
        return Ok(ExitCode::from(exit::FAILURE));
    }
    if !report.succeeded() {
        return Ok(ExitCode::from(exit::NOT_CONVERGED));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct ApplyCli {
        #[command(flatten)]
        args: ApplyArgs,
    }

    fn parse_apply(extra: &[&str]) -> Result<ApplyArgs, clap::Error> {
        use clap::Parser as _;
        let base = ["apply", "-f", "x.yaml", "--unit", "u"];
        ApplyCli::try_parse_from(base.iter().chain(extra)).map(|c| c.args)
    }

    #[test]
    fn sealed_secrets_flag_defaults_to_the_controller() {
        let a = parse_apply(&[]).unwrap();
        assert_eq!(a.sealed.mode(), SealedSecretMode::Controller);
        let a = parse_apply(&["--sealed-secrets", "unseal"]).unwrap();
        assert_eq!(
            a.sealed.mode(),
            SealedSecretMode::Unseal {
                keys_namespace: "kube-system".into()
            }
        );
        let a = parse_apply(&[
            "--sealed-secrets",
            "unseal",
            "--sealing-keys-namespace",
            "keys",
        ])
        .unwrap();
        assert_eq!(
            a.sealed.mode(),
            SealedSecretMode::Unseal {
                keys_namespace: "keys".into()
            }
        );
        let e = parse_apply(&["--sealed-secrets", "decrypt"]).unwrap_err();
        assert!(e.to_string().contains("decrypt"), "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("5x").is_err());
    }

    #[test]
    fn reads_directories_recursively_and_flattens_lists() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("a.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n").unwrap();
        std::fs::write(dir.path().join("sub/c.yml"), "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not yaml: [").unwrap();
        let objs = read_manifests(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<&str> = objs
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        std::fs::write(dir.path().join("bad.yaml"), "a: [").unwrap();
        let err = read_manifests(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(format!("{err:#}").contains("bad.yaml"), "{err:#}");
    }
}

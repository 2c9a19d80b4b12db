//! `flotilla plan | sync | status | clusters | where | compare`: the fleet
//! commands, thin shells over `flotilla-fleet`.

use crate::exit;
use crate::global::{Global, OutputFormat};
use anyhow::{Context as _, anyhow};
use flotilla_engine::Action;
use flotilla_fleet::run::{self, Progress, SyncOptions};
use flotilla_fleet::{ClusterDesired, Fleet, LabelSelector, RenderCache};
use serde::Serialize;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

#[derive(clap::Args, Debug, Clone)]
pub struct FleetArgs {
    /// The fleet file.
    #[arg(long, default_value = "flotilla.yaml", value_name = "PATH")]
    fleet: PathBuf,
    /// Only clusters matching this label selector (e.g. env=production,region in (eu)).
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    selector: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    output: OutputFormat,
    /// Clusters worked on at once.
    #[arg(long, default_value_t = run::DEFAULT_PARALLELISM)]
    parallel: usize,
}

#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    fleet: FleetArgs,
    /// Exit with code 4 when changes are pending.
    #[arg(long)]
    exit_code: bool,
    /// Also print the full body of objects to create.
    #[arg(long)]
    show_creates: bool,
}
#[derive(clap::Args, Debug)]
pub struct SyncArgs {
    #[command(flatten)]
    fleet: FleetArgs,
    /// Do not wait for health after applying.
    #[arg(long)]
    no_wait: bool,
    /// Take over fields other field managers own.
    #[arg(long)]
    force_conflicts: bool,
}
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    fleet: FleetArgs,
}
#[derive(clap::Args, Debug)]
pub struct ClustersArgs {
    #[command(flatten)]
    fleet: FleetArgs,
}
#[derive(clap::Args, Debug)]
pub struct WhereArgs {
    /// An image (`nginx`, `ghcr.io/acme/web:1.2`) or an object (`Kind/name`, `Kind/namespace/name`).
    query: String,
    #[command(flatten)]
    fleet: FleetArgs,
}
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    cluster_a: String,
    cluster_b: String,
    #[command(flatten)]
    fleet: FleetArgs,
}
#[derive(clap::Args, Debug)]
pub struct ServeArgs {}

struct Loaded {
    fleet: Arc<Fleet>,
    desired: Vec<ClusterDesired>,
}

fn load(
    a: &FleetArgs,
    render: bool,
) -> anyhow::Result<(Arc<Fleet>, Vec<flotilla_fleet::config::ClusterSpec>)> {
    let fleet = Fleet::load(&a.fleet)?;
    let selector = a
        .selector
        .as_deref()
        .map(LabelSelector::parse)
        .transpose()
        .map_err(|e| anyhow!(e))?;
    let selected: Vec<_> = fleet
        .select_clusters(selector.as_ref())
        .into_iter()
        .cloned()
        .collect();
    if selected.is_empty() && render {
        anyhow::bail!(
            "no cluster of fleet file {} matches the selector",
            a.fleet.display()
        );
    }
    Ok((Arc::new(fleet), selected))
}

fn resolve(a: &FleetArgs) -> anyhow::Result<Loaded> {
    let (fleet, selected) = load(a, true)?;
    let refs: Vec<_> = selected.iter().collect();
    let desired = flotilla_fleet::resolve(&fleet, &refs, &RenderCache::default());
    Ok(Loaded { fleet, desired })
}

fn print_structured<T: Serialize>(value: &T, format: OutputFormat) -> anyhow::Result<()> {
    let v = serde_json::to_value(value).context("serialising the result")?;
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&v)?),
        _ => print!("{}", flotilla_model::yaml::emit(&v)),
    }
    Ok(())
}

/// Left-aligned columns.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

pub async fn plan(a: PlanArgs, _g: &Global) -> anyhow::Result<ExitCode> {
    let Loaded { fleet, desired } = resolve(&a.fleet)?;
    let plan = run::plan(fleet, desired, a.fleet.parallel, true).await;
    if a.fleet.output != OutputFormat::Text {
        print_structured(&plan, a.fleet.output)?;
    } else {
        print!("{}", plan_text(&plan, a.show_creates));
    }
    let code = if plan.has_errors() {
        exit::FAILURE
    } else if a.exit_code && plan.has_changes() {
        exit::CHANGES_PENDING
    } else {
        0
    };
    Ok(ExitCode::from(code))
}

fn plan_text(plan: &run::FleetPlan, show_creates: bool) -> String {
    let mut units: Vec<&str> = Vec::new();
    for c in &plan.clusters {
        for u in &c.units {
            if !units.contains(&u.unit.as_str()) {
                units.push(&u.unit);
            }
        }
    }
    let mut rows = vec![
        std::iter::once("CLUSTER".to_owned())
            .chain(units.iter().map(|u| u.to_uppercase()))
            .collect::<Vec<_>>(),
    ];
    for c in &plan.clusters {
        let mut row = vec![if c.reachable {
            c.cluster.clone()
        } else {
            format!("{} (unreachable)", c.cluster)
        }];
        for name in &units {
            row.push(match c.units.iter().find(|u| u.unit == *name) {
                None => "-".into(),
                Some(u) if u.error.is_some() => "error".into(),
                Some(u) => {
                    let s = &u.summary;
                    format!("+{} ~{} -{}", s.create, s.update + s.replace, s.prune)
                }
            });
        }
        rows.push(row);
    }
    let mut out = String::from("Plan (+create ~update -prune per unit):\n\n");
    out.push_str(&table(&rows));
    let unreachable = plan.unreachable();
    if !unreachable.is_empty() {
        out.push_str(&format!(
            "\nUnreachable, planned as full creation: {}\n",
            unreachable.join(", ")
        ));
    }
    for c in &plan.clusters {
        out.push_str(&format!("\n=== cluster {} ===\n", c.cluster));
        if let Some(e) = &c.unreachable {
            out.push_str(&format!("! {e}\n"));
        }
        if let Some(e) = &c.error {
            out.push_str(&format!("! error: {e}\n"));
        }
        for u in &c.units {
            out.push_str(&format!(
                "unit {}{}:\n",
                u.unit,
                u.revision
                    .as_deref()
                    .map(|r| format!(" @ {r}"))
                    .unwrap_or_default()
            ));
            if let Some(e) = &u.error {
                out.push_str(&format!("  ! error: {e}\n"));
                continue;
            }
            let mut any = false;
            for ch in &u.changes {
                let marker = match ch.action {
                    Action::Create => "+",
                    Action::Update => "~",
                    Action::Replace => "-/+",
                    Action::Prune => "-",
                    Action::Unchanged => continue,
                    Action::Orphan => "orphan",
                    Action::Conflict => "conflict",
                    Action::Invalid => "invalid",
                };
                any = true;
                out.push_str(&format!(
                    "  {marker} {}{}{}\n",
                    ch.object,
                    if ch.drift { " (drift)" } else { "" },
                    ch.reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                ));
                let show = match ch.action {
                    Action::Create => show_creates,
                    Action::Update | Action::Replace => true,
                    _ => false,
                };
                if let (true, Some(d)) = (show, &ch.diff) {
                    for line in d.lines() {
                        out.push_str(&format!("      {line}\n"));
                    }
                }
            }
            if !any {
                out.push_str("  (no changes)\n");
            }
        }
    }
    out
}

pub async fn sync(a: SyncArgs, _g: &Global) -> anyhow::Result<ExitCode> {
    let Loaded { fleet, desired } = resolve(&a.fleet)?;
    let text = a.fleet.output == OutputFormat::Text;
    let progress = progress_display(
        text,
        desired.iter().map(|d| d.cluster.name.clone()).collect(),
    );
    let opts = SyncOptions {
        parallelism: a.fleet.parallel,
        wait: !a.no_wait,
        force_conflicts: a.force_conflicts,
    };
    let result = run::sync(fleet, desired, opts, progress).await;
    if text {
        let mut rows = vec![vec![
            "CLUSTER".into(),
            "UNIT".into(),
            "OUTCOME".into(),
            "CHANGES".into(),
            "TIME".into(),
        ]];
        for c in &result.clusters {
            if let Some(e) = &c.error {
                rows.push(vec![
                    c.cluster.clone(),
                    "-".into(),
                    if c.reachable {
                        "failed".into()
                    } else {
                        "unreachable".into()
                    },
                    e.clone(),
                    format!("{}ms", c.duration_ms),
                ]);
            }
            for u in &c.units {
                rows.push(vec![
                    c.cluster.clone(),
                    u.unit.clone(),
                    u.outcome.clone(),
                    format!("{} applied, {} pruned", u.applied, u.pruned),
                    format!("{}ms", u.duration_ms),
                ]);
            }
        }
        print!("\n{}", table(&rows));
        for c in &result.clusters {
            for u in &c.units {
                for p in &u.problems {
                    println!("{} / {}: {p}", c.cluster, u.unit);
                }
            }
        }
        let bad: Vec<&str> = result
            .clusters
            .iter()
            .filter(|c| !c.converged)
            .map(|c| c.cluster.as_str())
            .collect();
        if bad.is_empty() {
            println!("\nAll {} clusters converged.", result.clusters.len());
        } else {
            println!("\nNot converged: {}", bad.join(", "));
        }
    } else {
        print_structured(&result, a.fleet.output)?;
    }
    Ok(ExitCode::from(if result.converged() {
        0
    } else {
        exit::NOT_CONVERGED
    }))
}

/// One progress bar per cluster on a terminal; plain lines on stderr otherwise.
fn progress_display(text: bool, clusters: Vec<String>) -> run::ProgressFn {
    if text && std::io::stderr().is_terminal() {
        let multi = indicatif::MultiProgress::new();
        let style = indicatif::ProgressStyle::with_template("{spinner} {prefix:<20} {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
        let bars: Vec<(String, indicatif::ProgressBar)> = clusters
            .into_iter()
            .map(|c| {
                let bar = multi.add(indicatif::ProgressBar::new_spinner());
                bar.set_style(style.clone());
                bar.set_prefix(c.clone());
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                (c, bar)
            })
            .collect();
        let bars = Arc::new(bars);
        Arc::new(move |p: Progress| {
            let find = |c: &str| bars.iter().find(|(n, _)| n == c).map(|(_, b)| b.clone());
            match p {
                Progress::Connecting { cluster } => {
                    if let Some(b) = find(&cluster) {
                        b.set_message("connecting");
                    }
                }
                Progress::Unreachable { cluster, error } => {
                    if let Some(b) = find(&cluster) {
                        b.finish_with_message(format!("unreachable: {error}"));
                    }
                }
                Progress::Applying {
                    cluster,
                    unit,
                    index,
                    total,
                } => {
                    if let Some(b) = find(&cluster) {
                        b.set_message(format!("[{}/{total}] {unit}", index + 1));
                    }
                }
                Progress::UnitDone { .. } => {}
                Progress::ClusterDone { cluster, converged } => {
                    if let Some(b) = find(&cluster)
                        && !b.is_finished()
                    {
                        b.finish_with_message(if converged {
                            "converged"
                        } else {
                            "NOT converged"
                        });
                    }
                }
            }
        })
    } else if text {
        let lock = Arc::new(Mutex::new(()));
        Arc::new(move |p: Progress| {
            let _guard = lock.lock();
            match p {
                Progress::Connecting { .. } | Progress::Applying { .. } => {}
                Progress::Unreachable { cluster, error } => {
                    eprintln!("[{cluster}] unreachable: {error}")
                }
                Progress::UnitDone { cluster, unit } => eprintln!(
                    "[{cluster}] {}: {} ({} applied, {} pruned, {}ms)",
                    unit.unit, unit.outcome, unit.applied, unit.pruned, unit.duration_ms
                ),
                Progress::ClusterDone { cluster, converged } => {
                    eprintln!(
                        "[{cluster}] {}",
                        if converged {
                            "converged"
                        } else {
                            "NOT converged"
                        }
                    )
                }
            }
        })
    } else {
        Arc::new(|_| {})
    }
}

pub async fn status(a: StatusArgs, _g: &Global) -> anyhow::Result<ExitCode> {
    let Loaded { fleet, desired } = resolve(&a.fleet)?;
    let status = run::status(fleet, desired, a.fleet.parallel).await;
    if a.fleet.output == OutputFormat::Text {
        let mut rows = vec![
            [
                "CLUSTER",
                "UNIT",
                "REVISION",
                "APPLIED",
                "HEALTH",
                "DRIFT",
                "PENDING",
                "LAST SYNC",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for c in &status {
            if !c.reachable {
                rows.push(vec![
                    c.cluster.clone(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "unreachable".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ]);
                continue;
            }
            for u in &c.units {
                let rev = |r: &Option<String>| {
                    r.as_deref()
                        .map(short_revision)
                        .unwrap_or_else(|| "-".into())
                };
                rows.push(vec![
                    c.cluster.clone(),
                    u.unit.clone(),
                    rev(&u.desired_revision),
                    rev(&u.applied_revision),
                    if u.error.is_some() {
                        "error".into()
                    } else {
                        u.health.clone()
                    },
                    u.drift.to_string(),
                    u.pending.to_string(),
                    u.last_sync.clone().unwrap_or_else(|| "never".into()),
                ]);
            }
        }
        print!("{}", table(&rows));
        for c in &status {
            if let Some(e) = &c.error {
                println!("{}: {e}", c.cluster);
            }
            for u in &c.units {
                if let Some(e) = &u.error {
                    println!("{} / {}: {e}", c.cluster, u.unit);
                }
            }
        }
    } else {
        print_structured(&status, a.fleet.output)?;
    }
    let healthy = status.iter().all(|c| {
        c.reachable
            && c.error.is_none()
            && c.units
                .iter()
                .all(|u| u.health == "Current" && u.pending == 0 && u.error.is_none())
    });
    Ok(ExitCode::from(if healthy {
        0
    } else {
        exit::NOT_CONVERGED
    }))
}

fn short_revision(r: &str) -> String {
    match r.split_once("sha1:") {
        Some((branch, sha)) => format!("{branch}{}", &sha[..sha.len().min(12)]),
        None => r.to_owned(),
    }
}

pub async fn clusters(a: ClustersArgs, _g: &Global) -> anyhow::Result<ExitCode> {
    let (fleet, selected) = load(&a.fleet, false)?;
    let infos = run::clusters(fleet, selected).await;
    if a.fleet.output == OutputFormat::Text {
        let mut rows = vec![
            [
                "NAME",
                "LABELS",
                "OWNER",
                "REACHABLE",
                "VERSION",
                "CONNECTION",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for i in &infos {
            rows.push(vec![
                i.name.clone(),
                i.labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(","),
                i.owner.clone().unwrap_or_else(|| "-".into()),
                if i.reachable {
                    "yes".into()
                } else {
                    "no".into()
                },
                i.version.clone().unwrap_or_else(|| "-".into()),
                i.connection.clone(),
            ]);
        }
        print!("{}", table(&rows));
        for i in &infos {
            if let Some(e) = &i.error {
                println!("{}: {e}", i.name);
            }
        }
    } else {
        print_structured(&infos, a.fleet.output)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn where_(a: WhereArgs, _g: &Global) -> anyhow::Result<ExitCode> {
    let Loaded { desired, .. } = resolve(&a.fleet)?;
    let hits = flotilla_fleet::query::find(&desired, &a.query);
    if a.fleet.output == OutputFormat::Text {
        if hits.is_empty() {
            println!("{} runs on no cluster of the fleet", a.query);
        } else {
            let mut rows = vec![
                ["CLUSTER", "UNIT", "OBJECT", "VERSION"]
                    .map(String::from)
                    .to_vec(),
            ];
            rows.extend(hits.iter().map(|h| {
                vec![
                    h.cluster.clone(),
                    h.unit.clone(),
                    h.object.clone(),
                    h.version.clone(),
                ]
            }));
            print!("{}", table(&rows));
        }
    } else {
        print_structured(&hits, a.fleet.output)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn compare(a: CompareArgs, _g: &Global) -> anyhow::Result<ExitCode> {
    let (fleet, _) = load(&a.fleet, false)?;
    let pick = |name: &str| {
        fleet
            .clusters
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                anyhow!(
                    "cluster {name} is not in fleet file {}",
                    a.fleet.fleet.display()
                )
            })
    };
    let (ca, cb) = (pick(&a.cluster_a)?, pick(&a.cluster_b)?);
    let desired = flotilla_fleet::resolve(&fleet, &[ca, cb], &RenderCache::default());
    let c = flotilla_fleet::query::compare(&desired[0], &desired[1]);
    if a.fleet.output == OutputFormat::Text {
        for o in &c.only_in_a {
            println!("only in {}: {o}", c.a);
        }
        for o in &c.only_in_b {
            println!("only in {}: {o}", c.b);
        }
        for d in &c.different {
            println!("differs: {}\n{}", d.object, d.diff);
        }
        for e in &c.errors {
            println!("! {e}");
        }
        println!(
            "{} only in {}, {} only in {}, {} different, {} identical",
            c.only_in_a.len(),
            c.a,
            c.only_in_b.len(),
            c.b,
            c.different.len(),
            c.identical
        );
    } else {
        print_structured(&c, a.fleet.output)?;
    }
    let same = c.only_in_a.is_empty() && c.only_in_b.is_empty() && c.different.is_empty();
    Ok(ExitCode::from(if same { 0 } else { exit::CHANGES_PENDING }))
}

pub async fn serve(_a: ServeArgs, _g: &Global) -> anyhow::Result<ExitCode> {
    Err(super::not_yet("serve"))
}

//! `flotilla secrets`: SOPS files (decrypt, encrypt, edit, set, unset,
//! rotate, recipients) and Sealed Secrets (seal, unseal, sealing keys).
//! A thin shell over `flotilla-secrets`; plaintext goes to stdout or back
//! into the file, never into logs.

use crate::global::Global;
use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use flotilla_secrets::files;
use flotilla_secrets::sealed::{self, Scope, SealOptions, SealingCert, SealingKey, cluster};
use flotilla_secrets::sensitive::SecretBytes;
use flotilla_secrets::sops::{self, CreationSettings, Format, Keyring, Rule};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum FileType {
    Yaml,
    Json,
    Dotenv,
    Ini,
    Binary,
}

impl From<FileType> for Format {
    fn from(t: FileType) -> Format {
        match t {
            FileType::Yaml => Format::Yaml,
            FileType::Json => Format::Json,
            FileType::Dotenv => Format::Dotenv,
            FileType::Ini => Format::Ini,
            FileType::Binary => Format::Binary,
        }
    }
}

#[derive(clap::Args, Debug)]
struct FileOpts {
    /// The SOPS file.
    file: PathBuf,
    /// File format (default: from the extension, like sops).
    #[arg(long, value_enum)]
    input_type: Option<FileType>,
}

impl FileOpts {
    fn format(&self) -> Option<Format> {
        self.input_type.map(Format::from)
    }
}

#[derive(clap::Args, Debug)]
struct EncryptFlags {
    /// age recipients (comma-separated; age1…, ssh-ed25519 …, ssh-rsa …). Default: .sops.yaml creation_rules.
    #[arg(long, env = "SOPS_AGE_RECIPIENTS")]
    age: Option<String>,
    /// Encrypt only values whose key matches this regex.
    #[arg(long)]
    encrypted_regex: Option<String>,
    /// Leave values whose key matches this regex in clear.
    #[arg(long)]
    unencrypted_regex: Option<String>,
    /// Encrypt only values whose key ends with this suffix.
    #[arg(long)]
    encrypted_suffix: Option<String>,
    /// Leave values whose key ends with this suffix in clear (default _unencrypted).
    #[arg(long)]
    unencrypted_suffix: Option<String>,
    /// Encrypt only values below a comment matching this regex.
    #[arg(long)]
    encrypted_comment_regex: Option<String>,
    /// Leave values below a comment matching this regex in clear.
    #[arg(long)]
    unencrypted_comment_regex: Option<String>,
    /// The MAC covers only encrypted values.
    #[arg(long)]
    mac_only_encrypted: bool,
    /// Match .sops.yaml path_regex against this name instead of the file's.
    #[arg(long)]
    filename_override: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Decrypt a SOPS file to stdout (like `sops -d`).
    Decrypt {
        #[command(flatten)]
        file: FileOpts,
        /// Write the plaintext here instead of stdout (created 0600).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Print only this value (a.b.c or ["a"]["b"]), like `sops decrypt --extract`.
        #[arg(long)]
        extract: Option<String>,
    },
    /// Encrypt a file with SOPS (like `sops -e`), to stdout or in place.
    Encrypt {
        #[command(flatten)]
        file: FileOpts,
        #[command(flatten)]
        flags: EncryptFlags,
        /// Overwrite the file instead of printing.
        #[arg(short, long)]
        in_place: bool,
    },
    /// Edit a SOPS file in $EDITOR; only changed values are re-encrypted.
    /// A file that does not exist is created (recipients from --age or .sops.yaml).
    Edit {
        #[command(flatten)]
        file: FileOpts,
        #[command(flatten)]
        flags: EncryptFlags,
    },
    /// Set KEY (a.b.c or ["a"]["b"]) to VALUE in a SOPS file or a SealedSecret file.
    Set {
        #[command(flatten)]
        file: FileOpts,
        key: String,
        /// The value; `-` reads it from stdin (keeps it out of shell history).
        value: String,
        /// Parse VALUE as JSON (numbers, booleans, objects) instead of a string.
        #[arg(long)]
        value_json: bool,
        #[command(flatten)]
        cert: CertOpts,
    },
    /// Remove KEY from a SOPS file.
    Unset {
        #[command(flatten)]
        file: FileOpts,
        key: String,
    },
    /// Generate a new data key (like `sops rotate`), optionally changing recipients.
    Rotate {
        #[command(flatten)]
        file: FileOpts,
        /// age recipients to add (comma-separated).
        #[arg(long)]
        add_age: Option<String>,
        /// age recipients to remove (comma-separated).
        #[arg(long)]
        rm_age: Option<String>,
    },
    /// Add or remove age recipients of a SOPS file.
    Recipients {
        #[command(subcommand)]
        action: RecipientsCmd,
    },
    /// Seal a Secret into a SealedSecret (like kubeseal).
    Seal(SealArgs),
    /// Unseal SealedSecrets into Secrets: offline with --key files (like
    /// kubeseal --recovery-unseal), or with the active keys read from the cluster.
    Unseal {
        /// SealedSecret manifest(s) (YAML or JSON; `-` for stdin).
        file: PathBuf,
        /// Private keys: key Secret manifests (YAML/JSON, lists allowed; may be SOPS-encrypted).
        /// Without --key, the cluster's active sealing keys are used.
        #[arg(long = "key")]
        keys: Vec<PathBuf>,
        /// Namespace holding the cluster's sealing keys (without --key).
        #[arg(long, default_value = cluster::DEFAULT_CONTROLLER_NAMESPACE, env = "SEALED_SECRETS_CONTROLLER_NAMESPACE")]
        controller_namespace: String,
        #[arg(short, long, value_enum, default_value = "yaml")]
        output: ManifestFormat,
    },
    /// Re-encrypt SealedSecret files in place for the newest key (after a
    /// rotation), like kubeseal --re-encrypt but offline.
    Reseal {
        /// SealedSecret files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Private keys that can open them (default: the cluster's active keys).
        #[arg(long = "key")]
        keys: Vec<PathBuf>,
        #[command(flatten)]
        cert: CertOpts,
    },
    /// Sealing-key lifecycle: generate, rotate, back up, restore.
    Keys {
        #[command(subcommand)]
        action: KeysCmd,
    },
}

#[derive(Subcommand, Debug)]
enum RecipientsCmd {
    /// Add age recipients (the data key is wrapped for them).
    Add {
        #[command(flatten)]
        file: FileOpts,
        /// age recipients (comma-separated).
        recipients: String,
    },
    /// Remove age recipients (and rotate the data key).
    Remove {
        #[command(flatten)]
        file: FileOpts,
        recipients: String,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq)]
enum ManifestFormat {
    Json,
    Yaml,
}

#[derive(clap::Args, Debug, Clone)]
struct CertOpts {
    /// Certificate file (PEM) to seal with. Default: fetched from the cluster.
    #[arg(long, env = "SEALED_SECRETS_CERT")]
    cert: Option<PathBuf>,
    /// Namespace of the sealed-secrets controller / its keys.
    #[arg(long, default_value = cluster::DEFAULT_CONTROLLER_NAMESPACE, env = "SEALED_SECRETS_CONTROLLER_NAMESPACE")]
    controller_namespace: String,
    /// The controller's Service name (its /v1/cert.pem is used when present).
    #[arg(
        long,
        default_value = "sealed-secrets-controller",
        env = "SEALED_SECRETS_CONTROLLER_NAME"
    )]
    controller_name: String,
}

#[derive(clap::Args, Debug)]
struct SealArgs {
    /// Secret manifest (YAML or JSON; `-` or absent: stdin). With --raw: the value (`-`: stdin).
    input: Option<PathBuf>,
    #[command(flatten)]
    cert: CertOpts,
    /// Seal a single value and print it as base64 (like kubeseal --raw).
    #[arg(long)]
    raw: bool,
    /// Name of the Secret (overrides the manifest; required for strict --raw).
    #[arg(long)]
    name: Option<String>,
    /// Namespace of the Secret (default: the manifest's, else the kubeconfig's, else default).
    #[arg(short, long)]
    namespace: Option<String>,
    /// Scope: strict, namespace-wide or cluster-wide.
    #[arg(long)]
    scope: Option<String>,
    /// Add/replace the sealed items in this existing SealedSecret file.
    #[arg(long)]
    merge_into: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "json")]
    output: ManifestFormat,
    /// Seal a Secret that has no data.
    #[arg(long)]
    allow_empty_data: bool,
}

#[derive(Subcommand, Debug)]
enum KeysCmd {
    /// Generate a sealing key pair (RSA-4096, self-signed, controller-compatible) as a key Secret manifest.
    Generate {
        /// Namespace for the key Secret.
        #[arg(long, default_value = cluster::DEFAULT_CONTROLLER_NAMESPACE)]
        namespace: String,
        #[arg(long, default_value_t = 4096)]
        bits: usize,
        /// Write the manifest SOPS-encrypted for these age recipients (else plaintext to stdout).
        #[arg(long)]
        age: Option<String>,
        /// Output file (required with --age).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Add a new active sealing key to a cluster (old keys are kept).
    Rotate {
        #[arg(long, default_value = cluster::DEFAULT_CONTROLLER_NAMESPACE)]
        namespace: String,
        #[arg(long, default_value_t = 4096)]
        bits: usize,
    },
    /// Back up every active sealing key of a cluster into a SOPS-encrypted file.
    Backup {
        #[arg(long, default_value = cluster::DEFAULT_CONTROLLER_NAMESPACE)]
        namespace: String,
        /// The SOPS file to write (YAML).
        #[arg(long)]
        out: PathBuf,
        /// age recipients (default: .sops.yaml creation_rules for --out).
        #[arg(long)]
        age: Option<String>,
    },
    /// Restore sealing keys from a (SOPS-encrypted) backup into a cluster.
    Restore {
        /// The backup file.
        file: PathBuf,
        #[arg(long, default_value = cluster::DEFAULT_CONTROLLER_NAMESPACE)]
        namespace: String,
    },
    /// Print the certificate to seal with (like kubeseal --fetch-cert).
    FetchCert {
        #[command(flatten)]
        cert: CertOpts,
    },
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    match args.command {
        Cmd::Decrypt {
            file,
            output,
            extract,
        } => {
            let keys = Keyring::from_env()?;
            let plain = match extract {
                Some(k) => files::extract(
                    &file.file,
                    file.format(),
                    &keys,
                    &files::parse_key_path(&k)?,
                )?,
                None => files::decrypt(&file.file, file.format(), &keys)?,
            };
            match output {
                Some(p) => write_private(&p, plain.expose())?,
                None => std::io::stdout().write_all(plain.expose())?,
            }
        }
        Cmd::Encrypt {
            file,
            flags,
            in_place,
        } => {
            let settings = creation_settings(&file.file, &flags)?;
            let bytes = files::encrypt(&file.file, file.format(), &settings)?;
            if in_place {
                files::write_atomic(&file.file, &bytes)?;
            } else {
                std::io::stdout().write_all(&bytes)?;
            }
        }
        Cmd::Edit { file, flags } => {
            let keys = Keyring::from_env()?;
            let settings = if file.file.exists() {
                None
            } else {
                Some(creation_settings(&file.file, &flags)?)
            };
            // While the editor runs, Ctrl-C must not kill us before the
            // plaintext temp file is removed: take over SIGINT/SIGTERM/SIGHUP.
            let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let guard = signal_guard(interrupted.clone())?;
            let editor = |p: &Path| {
                run_editor(p)?;
                if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
                    return Err("interrupted".to_string());
                }
                Ok(())
            };
            let result = match &settings {
                Some(s) => files::create_with_editor(&file.file, file.format(), s, editor),
                None => files::edit(&file.file, file.format(), &keys, editor),
            };
            drop(guard);
            match result? {
                files::EditOutcome::Saved => eprintln!("{}: saved", file.file.display()),
                files::EditOutcome::Unchanged => eprintln!("{}: no changes", file.file.display()),
            }
        }
        Cmd::Set {
            file,
            key,
            value,
            value_json,
            cert,
        } => {
            let value = if value == "-" {
                let mut buf = Vec::new();
                std::io::stdin().read_to_end(&mut buf)?;
                SecretBytes::new(buf)
            } else {
                SecretBytes::new(value.into_bytes())
            };
            let text = std::str::from_utf8(value.expose()).context("the value is not UTF-8")?;
            if is_sealed_secret_file(&file.file)? {
                let cert = resolve_cert(&cert, global).await?;
                set_sealed(&file.file, &key, value.clone(), &cert)?;
            } else {
                let keys = Keyring::from_env()?;
                let path = files::parse_key_path(&key)?;
                files::set(
                    &file.file,
                    file.format(),
                    &keys,
                    &path,
                    files::parse_value(text, value_json)?,
                )?;
            }
        }
        Cmd::Unset { file, key } => {
            let keys = Keyring::from_env()?;
            files::unset(
                &file.file,
                file.format(),
                &keys,
                &files::parse_key_path(&key)?,
            )?;
        }
        Cmd::Rotate {
            file,
            add_age,
            rm_age,
        } => {
            let keys = Keyring::from_env()?;
            let add = match add_age {
                Some(a) => sops::keys::parse_recipients(&a)?,
                None => Vec::new(),
            };
            let rm = split_list(rm_age.as_deref());
            files::rotate(&file.file, file.format(), &keys, &add, &rm)?;
        }
        Cmd::Recipients { action } => {
            let keys = Keyring::from_env()?;
            match action {
                RecipientsCmd::Add { file, recipients } => {
                    let add = sops::keys::parse_recipients(&recipients)?;
                    files::add_recipients(&file.file, file.format(), &keys, &add)?;
                }
                RecipientsCmd::Remove { file, recipients } => {
                    files::remove_recipients(
                        &file.file,
                        file.format(),
                        &keys,
                        &split_list(Some(&recipients)),
                    )?;
                }
            }
        }
        Cmd::Seal(a) => seal(a, global).await?,
        Cmd::Unseal {
            file,
            keys,
            controller_namespace,
            output,
        } => {
            let mut all = Vec::new();
            for k in &keys {
                all.extend(read_keys(k)?);
            }
            if keys.is_empty() {
                let c = client(global).await?;
                all = cluster::load_sealing_keys(&c, &controller_namespace).await?;
            }
            let docs = read_manifests(&file)?;
            for d in docs.iter().filter(|d| sealed::is_sealed_secret(d)) {
                let secret = sealed::unseal(d, &all, None)?;
                print_manifest(&secret, output);
            }
        }
        Cmd::Reseal {
            files: paths,
            keys,
            cert,
        } => {
            let mut all = Vec::new();
            for k in &keys {
                all.extend(read_keys(k)?);
            }
            if keys.is_empty() {
                let c = client(global).await?;
                all = cluster::load_sealing_keys(&c, &cert.controller_namespace).await?;
            }
            let new_cert = resolve_cert(&cert, global).await?;
            for path in &paths {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let obj = read_manifests(path)?
                    .into_iter()
                    .find(sealed::is_sealed_secret)
                    .with_context(|| format!("{}: no SealedSecret", path.display()))?;
                let out = sealed::reseal(&obj, &all, &new_cert)
                    .with_context(|| path.display().to_string())?;
                let bytes = if text.trim_start().starts_with('{') {
                    sealed::to_json(&out)
                } else {
                    sealed::to_yaml(&out)
                };
                files::write_atomic(path, bytes.as_bytes())?;
                eprintln!(
                    "{}: re-sealed for {}",
                    path.display(),
                    new_cert.fingerprint()
                );
            }
        }
        Cmd::Keys { action } => keys_cmd(action, global).await?,
    }
    Ok(ExitCode::SUCCESS)
}

fn split_list(s: Option<&str>) -> Vec<String> {
    s.map(|s| {
        s.split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

fn creation_settings(file: &Path, flags: &EncryptFlags) -> anyhow::Result<CreationSettings> {
    let rules = [
        ("encrypted_regex", &flags.encrypted_regex),
        ("unencrypted_regex", &flags.unencrypted_regex),
        ("encrypted_suffix", &flags.encrypted_suffix),
        ("unencrypted_suffix", &flags.unencrypted_suffix),
        ("encrypted_comment_regex", &flags.encrypted_comment_regex),
        (
            "unencrypted_comment_regex",
            &flags.unencrypted_comment_regex,
        ),
    ];
    let chosen: Vec<Rule> = rules
        .iter()
        .filter_map(|(n, v)| v.as_ref().map(|v| Rule::from_field(n, v)))
        .collect::<Result<_, _>>()?;
    if chosen.len() > 1 {
        bail!(
            "use at most one of --encrypted-regex, --unencrypted-regex, --encrypted-suffix, --unencrypted-suffix, --encrypted-comment-regex, --unencrypted-comment-regex"
        );
    }
    let explicit = match &flags.age {
        Some(a) => Some(CreationSettings {
            key_groups: vec![sops::keys::parse_recipients(a)?],
            ..Default::default()
        }),
        None => None,
    };
    let target = flags.filename_override.as_deref().unwrap_or(file);
    let mut settings = files::settings_for(target, explicit, &std::env::current_dir()?)?;
    if let Some(rule) = chosen.into_iter().next() {
        settings.rule = Some(rule);
    }
    settings.mac_only_encrypted |= flags.mac_only_encrypted;
    Ok(settings)
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}

fn run_editor(path: &Path) -> Result<(), String> {
    let editor = std::env::var("SOPS_EDITOR")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    // Through sh so EDITOR may carry arguments ("code --wait").
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(path)
        .status()
        .map_err(|e| format!("starting '{editor}': {e}"))?;
    if !status.success() {
        return Err(format!("'{editor}' exited with {status}"));
    }
    Ok(())
}

/// Install SIGINT/SIGTERM/SIGHUP handlers that only record the signal.
fn signal_guard(
    flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = int.recv() => {},
                _ = term.recv() => {},
                _ = hup.recv() => {},
            }
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }))
}

fn read_input(path: Option<&Path>) -> anyhow::Result<SecretBytes> {
    let mut buf = Vec::new();
    match path {
        None => std::io::stdin().read_to_end(&mut buf).map(|_| ())?,
        Some(p) if p == Path::new("-") => std::io::stdin().read_to_end(&mut buf).map(|_| ())?,
        Some(p) => buf = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
    }
    Ok(SecretBytes::new(buf))
}

/// Manifests from YAML or JSON (multi-document); SOPS-encrypted files are
/// decrypted with the usual age keys.
fn read_manifests(path: &Path) -> anyhow::Result<Vec<Value>> {
    let bytes = read_input(Some(path))?;
    let text = std::str::from_utf8(bytes.expose())
        .with_context(|| format!("{}: not UTF-8", path.display()))?;
    if text.trim_start().starts_with('{') {
        let v: Value = serde_json::from_str(text)
            .with_context(|| format!("{}: invalid JSON", path.display()))?;
        return Ok(vec![v]);
    }
    let format = if text.trim_start().starts_with('{') {
        Format::Json
    } else {
        Format::Yaml
    };
    if sops::is_encrypted(text.as_bytes(), format) {
        let keys = Keyring::from_env()?;
        let d = sops::SopsFile::parse(text.as_bytes(), format)
            .and_then(|f| f.decrypt(&keys))
            .with_context(|| format!("decrypting {}", path.display()))?;
        return Ok(d.docs.iter().map(|n| n.to_json()).collect());
    }
    let docs = flotilla_secrets::yaml::parse(text)
        .with_context(|| format!("{}: invalid YAML", path.display()))?;
    Ok(docs
        .iter()
        .map(|n| n.to_json())
        .filter(|v| !v.is_null())
        .collect())
}

fn read_keys(path: &Path) -> anyhow::Result<Vec<SealingKey>> {
    let bytes = read_input(Some(path))?;
    let text = flotilla_secrets::sensitive::SecretString::new(
        String::from_utf8_lossy(bytes.expose()).into_owned(),
    );
    let text = text.expose();
    if text.contains("-----BEGIN") && text.contains("PRIVATE KEY-----") && !text.contains("kind:") {
        bail!(
            "{}: a bare PEM key has no certificate; pass the key Secret manifest instead",
            path.display()
        );
    }
    let docs = read_manifests(path)?;
    let keys = SealingKey::from_documents(&docs).with_context(|| path.display().to_string())?;
    if keys.is_empty() {
        bail!("{}: no sealing-key Secrets found", path.display());
    }
    Ok(keys)
}

fn print_manifest(v: &Value, format: ManifestFormat) {
    match format {
        ManifestFormat::Json => print!("{}", sealed::to_json(v)),
        ManifestFormat::Yaml => print!("{}", sealed::to_yaml(v)),
    }
}

async fn client(global: &Global) -> anyhow::Result<kube::Client> {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let opts = KubeConfigOptions {
        context: global.context.clone(),
        ..Default::default()
    };
    let config = match &global.kubeconfig {
        Some(p) if !p.to_string_lossy().contains(':') => {
            let kc = Kubeconfig::read_from(p)
                .with_context(|| format!("reading kubeconfig {}", p.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &opts).await?
        }
        _ => match kube::Config::from_kubeconfig(&opts).await {
            Ok(c) => c,
            Err(_) => kube::Config::infer()
                .await
                .context("no kubeconfig and not in a cluster")?,
        },
    };
    Ok(kube::Client::try_from(config)?)
}

async fn resolve_cert(opts: &CertOpts, global: &Global) -> anyhow::Result<SealingCert> {
    let cert = match &opts.cert {
        Some(p) => {
            let pem = std::fs::read_to_string(p)
                .with_context(|| format!("reading certificate {}", p.display()))?;
            SealingCert::from_pem(&pem).with_context(|| p.display().to_string())?
        }
        None => {
            let c = client(global).await?;
            match cluster::fetch_cert_from_controller(
                &c,
                &opts.controller_namespace,
                &opts.controller_name,
            )
            .await
            {
                Ok(cert) => cert,
                Err(controller_err) => cluster::latest_cert(&c, &opts.controller_namespace)
                    .await
                    .with_context(|| {
                    format!(
                        "no controller certificate ({controller_err}) and no readable sealing keys"
                    )
                })?,
            }
        }
    };
    cert.check_not_expired()?;
    Ok(cert)
}

async fn seal(a: SealArgs, global: &Global) -> anyhow::Result<()> {
    let cert = resolve_cert(&a.cert, global).await?;
    let scope = a.scope.as_deref().map(str::parse::<Scope>).transpose()?;
    if a.raw {
        let value = read_input(a.input.as_deref())?;
        let ns = a.namespace.clone().unwrap_or_default();
        let name = a.name.clone().unwrap_or_default();
        let out = sealed::seal_raw(&cert, value.expose(), &ns, &name, scope.unwrap_or_default())?;
        print!("{out}");
        return Ok(());
    }
    let input = read_manifests(a.input.as_deref().unwrap_or(Path::new("-")))?;
    let opts = SealOptions {
        scope,
        name: a.name.clone(),
        default_namespace: a.namespace.clone(),
        allow_empty_data: a.allow_empty_data,
    };
    if let Some(target) = &a.merge_into {
        let text = std::fs::read_to_string(target)
            .with_context(|| format!("reading {}", target.display()))?;
        let is_json = text.trim_start().starts_with('{');
        let mut existing = read_manifests(target)?
            .into_iter()
            .find(sealed::is_sealed_secret)
            .with_context(|| format!("{}: no SealedSecret", target.display()))?;
        for secret in &input {
            let mut items = Vec::new();
            collect_items(secret, &mut items)?;
            sealed::merge_items(&cert, &mut existing, &items)?;
        }
        let out = if is_json {
            sealed::to_json(&existing)
        } else {
            sealed::to_yaml(&existing)
        };
        files::write_atomic(target, out.as_bytes())?;
        return Ok(());
    }
    for secret in &input {
        let s = sealed::seal_secret(&cert, secret, &opts)?;
        print_manifest(&s, a.output);
    }
    Ok(())
}

fn collect_items(secret: &Value, out: &mut Vec<(String, SecretBytes)>) -> anyhow::Result<()> {
    use base64::Engine;
    if let Some(Value::Object(d)) = secret.get("data") {
        for (k, v) in d {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or(""))
                .with_context(|| format!("data.{k} is not base64"))?;
            out.push((k.clone(), SecretBytes::new(bytes)));
        }
    }
    if let Some(Value::Object(d)) = secret.get("stringData") {
        for (k, v) in d {
            out.push((
                k.clone(),
                SecretBytes::new(v.as_str().unwrap_or("").as_bytes().to_vec()),
            ));
        }
    }
    Ok(())
}

fn is_sealed_secret_file(path: &Path) -> anyhow::Result<bool> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text.contains("SealedSecret") && !text.contains("\nsops:") && !text.contains("\"sops\""))
}

fn set_sealed(
    path: &Path,
    key: &str,
    value: SecretBytes,
    cert: &SealingCert,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let is_json = text.trim_start().starts_with('{');
    let mut obj = read_manifests(path)?
        .into_iter()
        .find(sealed::is_sealed_secret)
        .with_context(|| format!("{}: no SealedSecret", path.display()))?;
    sealed::merge_items(cert, &mut obj, &[(key.to_string(), value)])?;
    let out = if is_json {
        sealed::to_json(&obj)
    } else {
        sealed::to_yaml(&obj)
    };
    files::write_atomic(path, out.as_bytes())?;
    Ok(())
}

async fn keys_cmd(action: KeysCmd, global: &Global) -> anyhow::Result<()> {
    match action {
        KeysCmd::Generate {
            namespace,
            bits,
            age,
            out,
        } => {
            let key =
                tokio::task::spawn_blocking(move || SealingKey::generate(bits, "", 3650)).await??;
            let manifest = key.to_secret(&namespace)?;
            write_key_manifests(&manifest, age.as_deref(), out.as_deref())?;
            eprintln!("generated sealing key {}", key.cert.fingerprint());
        }
        KeysCmd::Rotate { namespace, bits } => {
            let c = client(global).await?;
            let name = cluster::rotate(&c, &namespace, bits).await?;
            eprintln!("added active sealing key Secret {namespace}/{name}; older keys are kept");
        }
        KeysCmd::Backup {
            namespace,
            out,
            age,
        } => {
            let c = client(global).await?;
            let list = cluster::backup(&c, &namespace).await?;
            let n = list["items"].as_array().map_or(0, Vec::len);
            write_key_manifests(&list, age.as_deref(), Some(&out))?;
            eprintln!(
                "backed up {n} sealing keys from {namespace} into {}",
                out.display()
            );
        }
        KeysCmd::Restore { file, namespace } => {
            let keys = read_keys(&file)?;
            let c = client(global).await?;
            let names = cluster::restore(&c, &namespace, &keys).await?;
            eprintln!(
                "restored {} sealing keys into {namespace}: {}",
                names.len(),
                names.join(", ")
            );
        }
        KeysCmd::FetchCert { cert } => {
            let c = resolve_cert(&cert, global).await?;
            print!("{}", c.pem);
        }
    }
    Ok(())
}

/// Key manifests are written SOPS-encrypted (data only) when recipients or
/// a .sops.yaml rule exist for `out`; plaintext only to stdout.
fn write_key_manifests(
    manifest: &Value,
    age: Option<&str>,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let plain = flotilla_secrets::yaml::emit(&[flotilla_secrets::tree::Node::from_json(manifest)]);
    let plain = SecretBytes::new(plain.into_bytes());
    let Some(out) = out else {
        if age.is_some() {
            bail!("--age needs --out");
        }
        std::io::stdout().write_all(plain.expose())?;
        return Ok(());
    };
    let explicit = match age {
        Some(a) => Some(CreationSettings {
            key_groups: vec![sops::keys::parse_recipients(a)?],
            ..Default::default()
        }),
        None => None,
    };
    let mut settings = files::settings_for(out, explicit, &std::env::current_dir()?)?;
    if settings.rule.is_none() {
        settings.rule = Some(Rule::from_field("encrypted_regex", "^(data|stringData)$")?);
    }
    let file = sops::encrypt(plain.expose(), Format::Yaml, &settings)?;
    files::write_atomic(out, &file.to_bytes()?)?;
    Ok(())
}

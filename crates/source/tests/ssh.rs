//! The ssh transport. There is no sshd on the test machines, so an `ssh` stand-in on PATH
//! records its arguments and runs the remote command (`git-upload-pack '<path>'`) locally:
//! everything else (gix's ssh transport, the key options, the real `git-upload-pack`) is real.
//! The stand-in also plays an old server for the host `v0.example` by dropping
//! `GIT_PROTOCOL`, so that upload-pack speaks protocol v0 over a stateful connection and
//! refuses to serve commits that no ref advertises.

mod common;

use std::fs;
use std::path::Path;

use common::{commit_all, git, origin, write};
use flotilla_source::{GitAuth, GitSource, Pin, SourceCache};

const FAKE_SSH: &str = r#"#!/bin/sh
printf '%s\n' "$*" >> "$FAKE_SSH_LOG"
# `ssh -G host` (gix's feature check): succeed like OpenSSH does.
[ "$1" = "-G" ] && exit 0
# Skip options (and their values), then the destination; the rest is the remote command,
# which ssh joins with spaces and hands to a shell on the server.
while [ $# -gt 0 ]; do
  case "$1" in
    -i|-o|-p|-l|-F) shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
case "$1" in
  *v0.example*) unset GIT_PROTOCOL ;;
  *denied.example*) echo "$1: Permission denied (publickey)." >&2; exit 255 ;;
esac
shift
exec sh -c "$*"
"#;

/// Runs [`ssh_body`] in a child process whose PATH starts with the `ssh` stand-in (PATH is
/// process-wide, so it is not changed in this test process).
#[test]
fn ssh_transport_with_key_and_protocol_v0_fallback() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let ssh = bin.join("ssh");
    fs::write(&ssh, FAKE_SSH).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&ssh, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["ssh_body", "--exact", "--include-ignored", "--nocapture"])
        .env("PATH", path)
        .env("FAKE_SSH_LOG", tmp.path().join("ssh.log"))
        .env("SSH_TEST_SCRATCH", tmp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{stderr}"
    );
}

#[test]
#[ignore = "run by ssh_transport_with_key_and_protocol_v0_fallback with an ssh stand-in on PATH"]
fn ssh_body() {
    let scratch = std::path::PathBuf::from(std::env::var_os("SSH_TEST_SCRATCH").unwrap());
    let o = origin(&scratch);
    let key = scratch.join("id_ed25519 with space");
    fs::write(&key, "not a real key; the stand-in ignores it\n").unwrap();
    let cache = SourceCache::new(scratch.join("cache"));
    let log = || fs::read_to_string(scratch.join("ssh.log")).unwrap_or_default();

    // scp-like URL, protocol v2, with a key.
    let url = format!("git@v2.example:{}", o.dir.display());
    let source = GitSource::new(&url, Pin::Branch("main".into())).with_auth(GitAuth::SshKey {
        private_key: key.clone(),
        known_hosts: Some(scratch.join("known_hosts")),
    });
    let main = cache
        .fetch(&source)
        .unwrap_or_else(|e| panic!("{e}\nssh calls:\n{}", log()));
    assert_eq!(main.revision, format!("main@sha1:{}", o.c3));
    let calls = log();
    assert!(calls.contains(&format!("-i {}", key.display())), "{calls}");
    assert!(calls.contains("IdentitiesOnly=yes"), "{calls}");
    assert!(calls.contains("StrictHostKeyChecking=yes"), "{calls}");
    assert!(calls.contains("git@v2.example"), "{calls}");
    assert!(calls.contains("git-upload-pack"), "{calls}");

    // ssh:// URL against an old (v0) server, where commits no ref advertises are refused:
    // the commit is found by fetching every branch with full history instead.
    write(&o.dir, "deploy.yaml", "version: 4\n");
    let c4 = commit_all(&o.dir, "four");
    write(&o.dir, "deploy.yaml", "version: 5\n");
    commit_all(&o.dir, "five");
    let old_server = format!("ssh://git@v0.example{}", o.dir.display());
    let tag = cache
        .fetch(&GitSource::new(&old_server, Pin::Tag("v1.2.0".into())))
        .unwrap();
    assert_eq!(tag.revision, format!("v1.2.0@sha1:{}", o.c2));
    let unadvertised = cache
        .fetch(&GitSource::new(&old_server, Pin::Commit(c4.clone())))
        .unwrap();
    assert_eq!(unadvertised.revision, format!("sha1:{c4}"));
    assert_eq!(
        fs::read_to_string(unadvertised.path.join("deploy.yaml")).unwrap(),
        "version: 4\n"
    );
    let repo = repo_with_fallback_refs(&scratch.join("cache"));
    let heads = git(
        &repo,
        &["for-each-ref", "--format=%(refname)", "refs/flotilla/heads"],
    );
    assert_eq!(
        heads,
        "refs/flotilla/heads/feature\nrefs/flotilla/heads/main"
    );

    // A server refusing the key: a clear error naming the URL, and no prompt.
    let denied = format!("git@denied.example:{}", o.dir.display());
    let err = cache
        .fetch(&GitSource::new(&denied, Pin::Branch("main".into())))
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&denied) && text.contains("denied access"),
        "{text}"
    );
}

/// The bare repository holding the fallback refs (the one with `refs/flotilla/heads`).
fn repo_with_fallback_refs(cache: &Path) -> std::path::PathBuf {
    fs::read_dir(cache.join("repos"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .find(|p| {
            !git(
                p,
                &["for-each-ref", "--format=%(refname)", "refs/flotilla/heads"],
            )
            .is_empty()
        })
        .expect("a repository fetched all heads")
}

//! Local directories as sources.

use std::fs;

use flotilla_source::{SourceCache, SourceError};

#[test]
fn local_revision_is_deterministic_and_tracks_content() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("app");
    fs::create_dir_all(dir.join("base")).unwrap();
    fs::write(dir.join("kustomization.yaml"), "resources:\n- base\n").unwrap();
    fs::write(dir.join("base/deploy.yaml"), "kind: Deployment\n").unwrap();
    let cache = SourceCache::new(tmp.path().join("cache"));

    let first = cache.local(&dir).unwrap();
    assert_eq!(first.path, dir);
    assert_eq!(first.commit, None);
    let digest = first.revision.strip_prefix("dir:sha256:").unwrap();
    assert_eq!(digest.len(), 64);
    assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(cache.local(&dir).unwrap().revision, first.revision);

    // The same content elsewhere has the same revision: only relative paths count.
    let copy = tmp.path().join("copy");
    fs::create_dir_all(copy.join("base")).unwrap();
    fs::write(copy.join("kustomization.yaml"), "resources:\n- base\n").unwrap();
    fs::write(copy.join("base/deploy.yaml"), "kind: Deployment\n").unwrap();
    assert_eq!(cache.local(&copy).unwrap().revision, first.revision);

    fs::write(dir.join("base/deploy.yaml"), "kind: StatefulSet\n").unwrap();
    let changed = cache.local(&dir).unwrap();
    assert_ne!(changed.revision, first.revision);

    fs::write(dir.join("base/deploy.yaml"), "kind: Deployment\n").unwrap();
    fs::write(dir.join("base/extra.yaml"), "").unwrap();
    assert_ne!(
        cache.local(&dir).unwrap().revision,
        first.revision,
        "a new empty file counts"
    );
}

#[test]
fn local_errors_name_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = SourceCache::new(tmp.path().join("cache"));
    let missing = tmp.path().join("missing");
    let err = cache.local(&missing).unwrap_err();
    assert!(matches!(err, SourceError::Local { .. }));
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );

    let file = tmp.path().join("file.yaml");
    fs::write(&file, "a: 1\n").unwrap();
    let err = cache.local(&file).unwrap_err();
    assert!(err.to_string().contains("not a directory"), "{err}");
}

#[test]
fn default_dir_prefers_flotilla_cache_dir() {
    // Only reads the environment; the variables are set in a child process to avoid
    // racing with other tests.
    if std::env::var_os("FLOTILLA_SOURCE_DEFAULT_DIR_CHILD").is_some() {
        println!("DIR={}", SourceCache::default_dir().display());
        return;
    }
    let run = |vars: &[(&str, &str)]| {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "default_dir_prefers_flotilla_cache_dir",
                "--exact",
                "--nocapture",
            ])
            .env("FLOTILLA_SOURCE_DEFAULT_DIR_CHILD", "1")
            .env_remove("FLOTILLA_CACHE_DIR")
            .env_remove("XDG_CACHE_HOME")
            .env("HOME", "/home/someone");
        for (k, v) in vars {
            command.env(k, v);
        }
        let out = String::from_utf8(command.output().unwrap().stdout).unwrap();
        out.lines()
            .find_map(|l| l.strip_prefix("DIR="))
            .unwrap()
            .to_string()
    };
    assert_eq!(run(&[("FLOTILLA_CACHE_DIR", "/c")]), "/c");
    assert_eq!(run(&[("XDG_CACHE_HOME", "/x")]), "/x/flotilla");
    assert_eq!(run(&[]), "/home/someone/.cache/flotilla");
}

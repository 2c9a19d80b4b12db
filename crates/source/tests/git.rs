//! Fetching real Git repositories (made with the `git` CLI) over file:// and http://.

mod common;

use std::fs;
use std::time::Instant;

use common::{commit_all, git, origin, write};
use flotilla_source::{GitAuth, GitSource, Pin, SourceCache, SourceError};

fn only_repo(cache: &std::path::Path) -> std::path::PathBuf {
    let repos: Vec<_> = fs::read_dir(cache.join("repos"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(repos.len(), 1);
    repos[0].clone()
}

fn read(checkout: &flotilla_source::Checkout, path: &str) -> String {
    fs::read_to_string(checkout.path.join(path)).unwrap()
}

#[test]
fn branch_pin_checks_out_the_tip_with_modes_and_symlinks() {
    let tmp = tempfile::tempdir().unwrap();
    let o = origin(tmp.path());
    let cache = SourceCache::new(tmp.path().join("cache"));

    let checkout = cache
        .fetch(&GitSource::new(&o.url, Pin::Branch("main".into())))
        .unwrap();
    assert_eq!(checkout.revision, format!("main@sha1:{}", o.c3));
    assert_eq!(checkout.commit.as_deref(), Some(o.c3.as_str()));
    assert_eq!(checkout.path, tmp.path().join("cache/trees").join(&o.c3));
    assert_eq!(read(&checkout, "deploy.yaml"), "version: 3-rc\n");
    assert_eq!(read(&checkout, "nested/deeper/config.yaml"), "a: 1\n");
    assert!(!checkout.path.join(".git").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| {
            fs::metadata(checkout.path.join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("run.sh"), 0o555);
        assert_eq!(mode("deploy.yaml"), 0o444);
        let link = fs::read_link(checkout.path.join("link.yaml")).unwrap();
        assert_eq!(link.to_str(), Some("deploy.yaml"));
    }

    let feature = cache
        .fetch(&GitSource::new(
            &o.url,
            Pin::Branch("refs/heads/feature".into()),
        ))
        .unwrap();
    assert_eq!(feature.revision, format!("feature@sha1:{}", o.feature));
    assert_eq!(read(&feature, "deploy.yaml"), "version: feature\n");
}

#[test]
fn tag_pins_resolve_annotated_and_lightweight_tags_to_commits() {
    let tmp = tempfile::tempdir().unwrap();
    let o = origin(tmp.path());
    let cache = SourceCache::new(tmp.path().join("cache"));

    let annotated = cache
        .fetch(&GitSource::new(&o.url, Pin::Tag("v1.0.0".into())))
        .unwrap();
    assert_eq!(annotated.revision, format!("v1.0.0@sha1:{}", o.c1));
    assert_eq!(read(&annotated, "deploy.yaml"), "version: 1\n");

    let lightweight = cache
        .fetch(&GitSource::new(&o.url, Pin::Tag("refs/tags/v1.2.0".into())))
        .unwrap();
    assert_eq!(lightweight.revision, format!("v1.2.0@sha1:{}", o.c2));
    assert_eq!(read(&lightweight, "deploy.yaml"), "version: 2\n");
}

#[test]
fn semver_pins_pick_the_highest_matching_tag() {
    let tmp = tempfile::tempdir().unwrap();
    let o = origin(tmp.path());
    let cache = SourceCache::new(tmp.path().join("cache"));
    let fetch = |range: &str| {
        cache
            .fetch(&GitSource::new(&o.url, Pin::Semver(range.into())))
            .unwrap()
    };

    assert_eq!(
        fetch(">=1.0.0 <2.0.0").revision,
        format!("v1.2.0@sha1:{}", o.c2)
    );
    assert_eq!(
        fetch("*").revision,
        format!("v1.2.0@sha1:{}", o.c2),
        "* ignores the rc"
    );
    assert_eq!(fetch("~1.0").revision, format!("v1.0.0@sha1:{}", o.c1));
    assert_eq!(
        fetch(">=2.0.0-rc.0").revision,
        format!("v2.0.0-rc.1@sha1:{}", o.c3)
    );
    assert_eq!(read(&fetch("1.x"), "deploy.yaml"), "version: 2\n");
}

#[test]
fn commit_pins_fetch_tips_and_older_commits() {
    let tmp = tempfile::tempdir().unwrap();
    let o = origin(tmp.path());
    let cache = SourceCache::new(tmp.path().join("cache"));

    let older = cache
        .fetch(&GitSource::new(&o.url, Pin::Commit(o.c1.clone())))
        .unwrap();
    assert_eq!(older.revision, format!("sha1:{}", o.c1));
    assert_eq!(read(&older, "deploy.yaml"), "version: 1\n");

    let tip = cache
        .fetch(&GitSource::new(
            &o.url,
            Pin::Commit(o.feature.to_uppercase()),
        ))
        .unwrap();
    assert_eq!(tip.revision, format!("sha1:{}", o.feature));
}

#[test]
fn errors_name_the_url_and_the_pin() {
    let tmp = tempfile::tempdir().unwrap();
    let o = origin(tmp.path());
    let cache = SourceCache::new(tmp.path().join("cache"));

    let err = cache
        .fetch(&GitSource::new(&o.url, Pin::Branch("nope".into())))
        .unwrap_err();
    assert!(matches!(err, SourceError::RefNotFound { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&o.url) && text.contains("branch \"nope\""),
        "{text}"
    );

    let err = cache
        .fetch(&GitSource::new(&o.url, Pin::Tag("v9".into())))
        .unwrap_err();
    assert!(matches!(err, SourceError::RefNotFound { .. }), "{err:?}");

    let err = cache
        .fetch(&GitSource::new(&o.url, Pin::Semver(">=3.0.0".into())))
        .unwrap_err();
    assert!(
        matches!(err, SourceError::NoMatchingTag { tags: 3, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(&o.url) && text.contains(">=3.0.0"), "{text}");

    let err = cache
        .fetch(&GitSource::new(&o.url, Pin::Semver(">=banana".into())))
        .unwrap_err();
    assert!(matches!(err, SourceError::BadPin { .. }), "{err:?}");

    let err = cache
        .fetch(&GitSource::new(&o.url, Pin::Commit("abc123".into())))
        .unwrap_err();
    assert!(matches!(err, SourceError::BadPin { .. }), "{err:?}");

    let missing = "0123456789abcdef0123456789abcdef01234567";
    let err = cache
        .fetch(&GitSource::new(&o.url, Pin::Commit(missing.into())))
        .unwrap_err();
    assert!(err.to_string().contains(&o.url), "{err}");

    let err = cache
        .fetch(&GitSource::new(&o.url, Pin::Branch("bad..name".into())))
        .unwrap_err();
    assert!(matches!(err, SourceError::BadPin { .. }), "{err:?}");

    let nowhere = format!("file://{}", tmp.path().join("does-not-exist").display());
    let err = cache
        .fetch(&GitSource::new(&nowhere, Pin::Branch("main".into())))
        .unwrap_err();
    assert!(matches!(err, SourceError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains(&nowhere), "{err}");
}

#[test]
fn a_second_fetch_reuses_the_tree_and_commit_pins_need_no_remote() {
    let tmp = tempfile::tempdir().unwrap();
    let o = origin(tmp.path());
    let cache = SourceCache::new(tmp.path().join("cache"));
    let source = GitSource::new(&o.url, Pin::Branch("main".into()));

    let started = Instant::now();
    let first = cache.fetch(&source).unwrap();
    let cold = started.elapsed();
    let stats = cache.stats();
    assert_eq!((stats.fetches, stats.checkouts), (1, 1));

    let started = Instant::now();
    let second = cache.fetch(&source).unwrap();
    let warm = started.elapsed();
    assert_eq!(first, second);
    let stats = cache.stats();
    assert_eq!(
        (stats.fetches, stats.checkouts),
        (1, 1),
        "no second fetch or checkout"
    );
    assert_eq!(stats.ref_listings, 2, "the branch tip is still asked for");

    // The same commit through another pin reuses the same tree.
    let by_tag = cache
        .fetch(&GitSource::new(&o.url, Pin::Tag("v2.0.0-rc.1".into())))
        .unwrap();
    assert_eq!(by_tag.path, first.path);
    assert_eq!(cache.stats().checkouts, 1);

    // A commit pin whose tree is cached does not contact the remote at all.
    fs::rename(&o.dir, tmp.path().join("gone")).unwrap();
    let started = Instant::now();
    let offline = cache
        .fetch(&GitSource::new(&o.url, Pin::Commit(o.c3.clone())))
        .unwrap();
    let commit_cached = started.elapsed();
    assert_eq!(offline.path, first.path);
    assert_eq!(cache.stats().ref_listings, 3);
    eprintln!(
        "timing: cold branch fetch {cold:?}, cached branch fetch {warm:?}, cached commit pin {commit_cached:?}"
    );

    // A fresh cache object over the same directory finds the tree too.
    let reopened = SourceCache::new(tmp.path().join("cache"));
    let again = reopened
        .fetch(&GitSource::new(&o.url, Pin::Commit(o.c3.clone())))
        .unwrap();
    assert_eq!(again.path, first.path);
    assert_eq!(reopened.stats().checkouts, 0);
}

#[test]
fn a_new_commit_on_the_branch_is_picked_up_incrementally() {
    let tmp = tempfile::tempdir().unwrap();
    let o = origin(tmp.path());
    let cache = SourceCache::new(tmp.path().join("cache"));
    let source = GitSource::new(&o.url, Pin::Branch("main".into()));
    let before = cache.fetch(&source).unwrap();

    write(&o.dir, "deploy.yaml", "version: 4\n");
    let c4 = commit_all(&o.dir, "four");
    let after = cache.fetch(&source).unwrap();
    assert_eq!(after.revision, format!("main@sha1:{c4}"));
    assert_eq!(read(&after, "deploy.yaml"), "version: 4\n");
    assert_ne!(before.path, after.path);
    // The old tree is untouched.
    assert_eq!(read(&before, "deploy.yaml"), "version: 3-rc\n");
    assert_eq!(cache.stats().checkouts, 2);

    // Force-pushed history (the branch moves to an unrelated commit) is followed too.
    git(&o.dir, &["reset", "-q", "--hard", &o.c1]);
    let rewound = cache.fetch(&source).unwrap();
    assert_eq!(rewound.revision, format!("main@sha1:{}", o.c1));
    assert_eq!(read(&rewound, "deploy.yaml"), "version: 1\n");
}

#[test]
fn a_broken_cached_repository_is_recreated() {
    let tmp = tempfile::tempdir().unwrap();
    let o = origin(tmp.path());
    let cache_dir = tmp.path().join("cache");
    let cache = SourceCache::new(&cache_dir);
    let source = GitSource::new(&o.url, Pin::Branch("main".into()));
    cache.fetch(&source).unwrap();

    // An interrupted creation: the directory exists, the repository does not.
    let repo = only_repo(&cache_dir);
    fs::remove_dir_all(&repo).unwrap();
    fs::create_dir_all(repo.join("objects")).unwrap();
    fs::write(repo.join("junk"), "x").unwrap();
    write(&o.dir, "deploy.yaml", "version: 4\n");
    let c4 = commit_all(&o.dir, "four");
    let after = cache.fetch(&source).unwrap();
    assert_eq!(after.revision, format!("main@sha1:{c4}"));
    assert!(!repo.join("junk").exists());

    // A repository git cannot open (its config is garbage).
    fs::write(repo.join("config"), "[[[ not a config").unwrap();
    let c5 = {
        write(&o.dir, "deploy.yaml", "version: 5\n");
        commit_all(&o.dir, "five")
    };
    let again = cache.fetch(&source).unwrap();
    assert_eq!(again.revision, format!("main@sha1:{c5}"));
}

#[test]
fn staging_left_by_a_crashed_checkout_is_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let o = origin(tmp.path());
    let cache_dir = tmp.path().join("cache");
    let stale = cache_dir.join("tmp/0123-crashed");
    let recent = cache_dir.join("tmp/4567-in-progress");
    for dir in [&stale, &recent] {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join("half.yaml"), "a: 1\n").unwrap();
    }
    let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7 * 60 * 60);
    fs::File::open(&stale)
        .unwrap()
        .set_modified(long_ago)
        .unwrap();

    SourceCache::new(&cache_dir)
        .fetch(&GitSource::new(&o.url, Pin::Branch("main".into())))
        .unwrap();
    assert!(!stale.exists(), "a staging directory hours old is removed");
    assert!(
        recent.exists(),
        "a recent one may belong to another process"
    );
}

#[test]
fn several_repositories_share_one_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let a = origin(&tmp.path().join("a"));
    let b = origin(&tmp.path().join("b"));
    write(&b.dir, "only-in-b.yaml", "b: true\n");
    let b_tip = commit_all(&b.dir, "b only");
    let cache = SourceCache::new(tmp.path().join("cache"));

    let from_a = cache
        .fetch(&GitSource::new(&a.url, Pin::Branch("main".into())))
        .unwrap();
    let from_b = cache
        .fetch(&GitSource::new(&b.url, Pin::Branch("main".into())))
        .unwrap();
    assert_eq!(from_b.revision, format!("main@sha1:{b_tip}"));
    assert!(from_b.path.join("only-in-b.yaml").is_file());
    assert!(!from_a.path.join("only-in-b.yaml").exists());
    let repos: Vec<_> = fs::read_dir(tmp.path().join("cache/repos"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(repos.len(), 2, "one bare repository per URL");
    for repo in &repos {
        // Fetched with depth 1: the repository is shallow and has exactly one commit.
        assert!(
            repo.join("shallow").is_file(),
            "{} is not shallow",
            repo.display()
        );
        let count = git(repo, &["rev-list", "--count", "--all"]);
        assert_eq!(count, "1", "{}", repo.display());
    }
}

#[test]
fn concurrent_fetches_of_one_source_check_out_once() {
    let tmp = tempfile::tempdir().unwrap();
    let o = origin(tmp.path());
    let cache = SourceCache::new(tmp.path().join("cache"));
    let source = GitSource::new(&o.url, Pin::Branch("main".into()));
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| cache.fetch(&source)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect()
    });
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(cache.stats().checkouts, 1);
    assert_eq!(cache.stats().fetches, 1);
    let leftovers = fs::read_dir(tmp.path().join("cache/tmp")).unwrap().count();
    assert_eq!(leftovers, 0);
}

#[test]
fn http_fetch_through_git_http_backend() {
    let tmp = tempfile::tempdir().unwrap();
    let o = origin(tmp.path());
    let served = tmp.path().join("served");
    fs::create_dir_all(&served).unwrap();
    let bare = served.join("repo.git");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--bare",
            o.dir.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    let server = common::http_server(tmp.path(), &served, None);
    let url = format!("http://127.0.0.1:{}/repo.git", server.port);
    let cache = SourceCache::new(tmp.path().join("cache"));

    let semver = cache
        .fetch(&GitSource::new(&url, Pin::Semver(">=1.0.0 <2.0.0".into())))
        .unwrap();
    assert_eq!(semver.revision, format!("v1.2.0@sha1:{}", o.c2));
    assert_eq!(read(&semver, "deploy.yaml"), "version: 2\n");

    let main = cache
        .fetch(&GitSource::new(&url, Pin::Branch("main".into())))
        .unwrap();
    assert_eq!(main.revision, format!("main@sha1:{}", o.c3));
    let commit = cache
        .fetch(&GitSource::new(&url, Pin::Commit(o.c1.clone())))
        .unwrap();
    assert_eq!(read(&commit, "deploy.yaml"), "version: 1\n");

    // A push to the served repository is picked up by the next fetch.
    write(&o.dir, "deploy.yaml", "version: 4\n");
    let c4 = commit_all(&o.dir, "four");
    git(&o.dir, &["push", "-q", bare.to_str().unwrap(), "main"]);
    let after = cache
        .fetch(&GitSource::new(&url, Pin::Branch("main".into())))
        .unwrap();
    assert_eq!(after.revision, format!("main@sha1:{c4}"));
    assert_eq!(cache.stats().fetches, 4);

    let err = cache
        .fetch(&GitSource::new(&url, Pin::Branch("nope".into())))
        .unwrap_err();
    assert!(matches!(err, SourceError::RefNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains(&url), "{err}");
}

#[test]
fn protocol_v0_servers_serve_every_pin_including_unadvertised_commits() {
    let tmp = tempfile::tempdir().unwrap();
    let o = origin(tmp.path());
    let served = tmp.path().join("served");
    fs::create_dir_all(&served).unwrap();
    let bare = served.join("repo.git");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--bare",
            o.dir.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    let server = common::http_server_with_protocol(tmp.path(), &served, None, "v0");
    let url = format!("http://127.0.0.1:{}/repo.git", server.port);
    let cache = SourceCache::new(tmp.path().join("cache"));

    let main = cache
        .fetch(&GitSource::new(&url, Pin::Branch("main".into())))
        .unwrap();
    assert_eq!(main.revision, format!("main@sha1:{}", o.c3));
    let tag = cache
        .fetch(&GitSource::new(&url, Pin::Semver("~1.0".into())))
        .unwrap();
    assert_eq!(tag.revision, format!("v1.0.0@sha1:{}", o.c1));
    // c1 is advertised only through the annotated tag v1.0.0 (as its peeled id); c4 below is
    // advertised by nothing at all.
    let older = cache
        .fetch(&GitSource::new(&url, Pin::Commit(o.c1.clone())))
        .unwrap();
    assert_eq!(read(&older, "deploy.yaml"), "version: 1\n");
    // A v0 server advertises the peeled id of annotated tags, so c1 came by id.
    let repo = only_repo(&tmp.path().join("cache"));
    let heads = git(
        &repo,
        &["for-each-ref", "--format=%(refname)", "refs/flotilla/heads"],
    );
    assert_eq!(heads, "");
    write(&o.dir, "deploy.yaml", "version: 4\n");
    let c4 = commit_all(&o.dir, "four");
    write(&o.dir, "deploy.yaml", "version: 5\n");
    commit_all(&o.dir, "five");
    git(&o.dir, &["push", "-q", bare.to_str().unwrap(), "main"]);
    let unadvertised = cache
        .fetch(&GitSource::new(&url, Pin::Commit(c4.clone())))
        .unwrap();
    assert_eq!(unadvertised.revision, format!("sha1:{c4}"));
    assert_eq!(read(&unadvertised, "deploy.yaml"), "version: 4\n");
    // Over http upload-pack is stateless, so even v0 serves any reachable commit by id
    // (the refusal and its fallback are covered over ssh in tests/ssh.rs).
    let heads = git(
        &repo,
        &["for-each-ref", "--format=%(refname)", "refs/flotilla/heads"],
    );
    assert_eq!(heads, "");

    let missing = "0123456789abcdef0123456789abcdef01234567";
    let err = cache
        .fetch(&GitSource::new(&url, Pin::Commit(missing.into())))
        .unwrap_err();
    assert!(err.to_string().contains(&url), "{err}");
}

#[test]
fn http_servers_asking_for_credentials_get_none_in_clear_text() {
    let tmp = tempfile::tempdir().unwrap();
    let o = origin(tmp.path());
    let served = tmp.path().join("served");
    fs::create_dir_all(&served).unwrap();
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--bare",
            o.dir.to_str().unwrap(),
            served.join("repo.git").to_str().unwrap(),
        ],
    );
    let server = common::http_server(tmp.path(), &served, Some("bot:s3cret-token"));
    let url = format!("http://127.0.0.1:{}/repo.git", server.port);
    let cache = SourceCache::new(tmp.path().join("cache"));

    // No credentials configured: a clean error, no prompt.
    let err = cache
        .fetch(&GitSource::new(&url, Pin::Branch("main".into())))
        .unwrap_err();
    assert!(matches!(err, SourceError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("none are configured"), "{err}");
    assert!(err.to_string().contains(&url), "{err}");

    // Credentials are configured, but gix will not send them over plain http.
    let with_auth = GitSource::new(&url, Pin::Branch("main".into())).with_auth(GitAuth::Basic {
        username: "bot".into(),
        password: "s3cret-token".into(),
    });
    let err = cache.fetch(&with_auth).unwrap_err();
    assert!(err.to_string().contains("clear text"), "{err}");
    assert!(
        !format!("{err} {err:?} {with_auth:?}").contains("s3cret"),
        "{err:?}"
    );

    // Credentials in the URL are taken out of it, and never shown.
    let with_userinfo = format!("http://bot:s3cret-token@127.0.0.1:{}/repo.git", server.port);
    let err = cache
        .fetch(&GitSource::new(&with_userinfo, Pin::Branch("main".into())))
        .unwrap_err();
    assert!(err.to_string().contains(&url), "{err}");
    assert!(!format!("{err} {err:?}").contains("s3cret"), "{err:?}");
}

#[test]
fn credentials_never_appear_in_errors_for_unreachable_hosts() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = SourceCache::new(tmp.path().join("cache"));
    // Port 9 on localhost: nothing listens, the connection is refused.
    let url = "https://user:hunter2@127.0.0.1:9/org/repo.git?private_token=abc";
    let err = cache
        .fetch(&GitSource::new(url, Pin::Branch("main".into())))
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("hunter2") && !text.contains("private_token"),
        "{text}"
    );
    assert!(text.contains("https://127.0.0.1:9/org/repo.git"), "{text}");
}

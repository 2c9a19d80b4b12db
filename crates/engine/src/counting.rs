//! Counting every request a client sends, by verb, as a tower layer.
//!
//! Tests and benchmarks assert on these numbers (a no-op re-apply must send
//! zero writes), so the classification is from the HTTP request itself:
//! method, path shape, and the `dryRun` / `watch` query parameters.

use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

#[derive(Default, Debug)]
struct Counters {
    discovery: AtomicU64,
    get: AtomicU64,
    list: AtomicU64,
    watch: AtomicU64,
    create: AtomicU64,
    update: AtomicU64,
    patch: AtomicU64,
    delete: AtomicU64,
    dry_run: AtomicU64,
}

/// Shared counters; clone freely, all clones count into the same numbers.
#[derive(Clone, Default, Debug)]
pub struct RequestCounter(Arc<Counters>);

/// A snapshot of request counts. Dry-run requests are counted only in
/// `dry_run`, never as writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RequestCounts {
    pub discovery: u64,
    pub get: u64,
    pub list: u64,
    pub watch: u64,
    /// POST
    pub create: u64,
    /// PUT
    pub update: u64,
    pub patch: u64,
    pub delete: u64,
    pub dry_run: u64,
}

impl RequestCounts {
    /// Requests that change the cluster (POST, PUT, PATCH, DELETE; not dry-run).
    pub fn writes(&self) -> u64 {
        self.create + self.update + self.patch + self.delete
    }
    /// Requests that only read.
    pub fn reads(&self) -> u64 {
        self.discovery + self.get + self.list + self.watch
    }
    pub fn total(&self) -> u64 {
        self.writes() + self.reads() + self.dry_run
    }
    /// The requests sent between `earlier` and `self`.
    pub fn since(&self, earlier: &RequestCounts) -> RequestCounts {
        RequestCounts {
            discovery: self.discovery - earlier.discovery,
            get: self.get - earlier.get,
            list: self.list - earlier.list,
            watch: self.watch - earlier.watch,
            create: self.create - earlier.create,
            update: self.update - earlier.update,
            patch: self.patch - earlier.patch,
            delete: self.delete - earlier.delete,
            dry_run: self.dry_run - earlier.dry_run,
        }
    }
}

impl std::fmt::Display for RequestCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests (discovery {}, get {}, list {}, watch {}, create {}, update {}, patch {}, delete {}, dry-run {})",
            self.total(),
            self.discovery,
            self.get,
            self.list,
            self.watch,
            self.create,
            self.update,
            self.patch,
            self.delete,
            self.dry_run
        )
    }
}

/// What kind of request one HTTP request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Discovery,
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DryRun,
}

/// Classify a request by method, path and query.
pub fn classify(method: &http::Method, path: &str, query: Option<&str>) -> Verb {
    let query = query.unwrap_or("");
    let has_param = |name: &str, value: Option<&str>| {
        query.split('&').any(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            k == name && value.is_none_or(|want| v == want)
        })
    };
    if has_param("dryRun", None) && method != http::Method::GET {
        return Verb::DryRun;
    }
    match *method {
        http::Method::POST => return Verb::Create,
        http::Method::PUT => return Verb::Update,
        http::Method::PATCH => return Verb::Patch,
        http::Method::DELETE => return Verb::Delete,
        _ => {}
    }
    if has_param("watch", Some("true")) || has_param("watch", Some("1")) {
        return Verb::Watch;
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // Strip `/api/v1` or `/apis/group/version`; what remains names resources.
    let rest: &[&str] = match segments.first() {
        Some(&"api") if segments.len() >= 2 => &segments[2..],
        Some(&"apis") if segments.len() >= 3 => &segments[3..],
        _ => return Verb::Discovery,
    };
    match rest {
        [] => Verb::Discovery,
        ["namespaces"] => Verb::List,
        ["namespaces", _ns] => Verb::Get,
        ["namespaces", _ns, _resource] => Verb::List,
        ["namespaces", _ns, _resource, ..] => Verb::Get,
        [_resource] => Verb::List,
        _ => Verb::Get,
    }
}

impl RequestCounter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(&self, verb: Verb) {
        let c = &self.0;
        let counter = match verb {
            Verb::Discovery => &c.discovery,
            Verb::Get => &c.get,
            Verb::List => &c.list,
            Verb::Watch => &c.watch,
            Verb::Create => &c.create,
            Verb::Update => &c.update,
            Verb::Patch => &c.patch,
            Verb::Delete => &c.delete,
            Verb::DryRun => &c.dry_run,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> RequestCounts {
        let c = &self.0;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RequestCounts {
            discovery: load(&c.discovery),
            get: load(&c.get),
            list: load(&c.list),
            watch: load(&c.watch),
            create: load(&c.create),
            update: load(&c.update),
            patch: load(&c.patch),
            delete: load(&c.delete),
            dry_run: load(&c.dry_run),
        }
    }

    /// The tower layer that counts into this counter.
    pub fn layer(&self) -> CountingLayer {
        CountingLayer(self.clone())
    }
}

/// Tower layer counting requests into a [`RequestCounter`].
#[derive(Clone, Debug)]
pub struct CountingLayer(RequestCounter);

impl<S> tower::Layer<S> for CountingLayer {
    type Service = CountingService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        CountingService {
            inner,
            counter: self.0.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct CountingService<S> {
    inner: S,
    counter: RequestCounter,
}

impl<S, B> tower::Service<http::Request<B>> for CountingService<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let verb = classify(req.method(), req.uri().path(), req.uri().query());
        self.counter.record(verb);
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn classifies_paths_and_verbs() {
        let c = |m: Method, p: &str, q: Option<&str>| classify(&m, p, q);
        assert_eq!(c(Method::GET, "/api", None), Verb::Discovery);
        assert_eq!(c(Method::GET, "/apis", None), Verb::Discovery);
        assert_eq!(c(Method::GET, "/apis/apps/v1", None), Verb::Discovery);
        assert_eq!(c(Method::GET, "/api/v1", None), Verb::Discovery);
        assert_eq!(c(Method::GET, "/api/v1/namespaces", None), Verb::List);
        assert_eq!(c(Method::GET, "/api/v1/namespaces/shop", None), Verb::Get);
        assert_eq!(
            c(
                Method::GET,
                "/api/v1/namespaces/shop/configmaps",
                Some("limit=500")
            ),
            Verb::List
        );
        assert_eq!(
            c(Method::GET, "/api/v1/namespaces/shop/configmaps/a", None),
            Verb::Get
        );
        assert_eq!(
            c(
                Method::GET,
                "/apis/apps/v1/namespaces/s/deployments/web/status",
                None
            ),
            Verb::Get
        );
        assert_eq!(
            c(
                Method::GET,
                "/apis/rbac.authorization.k8s.io/v1/clusterroles",
                None
            ),
            Verb::List
        );
        assert_eq!(
            c(
                Method::GET,
                "/apis/rbac.authorization.k8s.io/v1/clusterroles/x",
                None
            ),
            Verb::Get
        );
        assert_eq!(
            c(
                Method::GET,
                "/api/v1/pods",
                Some("watch=true&resourceVersion=1")
            ),
            Verb::Watch
        );
        assert_eq!(
            c(
                Method::PATCH,
                "/api/v1/namespaces/a/configmaps/b",
                Some("fieldManager=flotilla")
            ),
            Verb::Patch
        );
        assert_eq!(
            c(
                Method::PATCH,
                "/api/v1/namespaces/a/configmaps/b",
                Some("dryRun=All&fieldManager=flotilla")
            ),
            Verb::DryRun
        );
        assert_eq!(c(Method::POST, "/api/v1/namespaces", None), Verb::Create);
        assert_eq!(c(Method::PUT, "/api/v1/namespaces/a", None), Verb::Update);
        assert_eq!(
            c(Method::DELETE, "/api/v1/namespaces/a", None),
            Verb::Delete
        );
    }

    #[test]
    fn counts_and_differences() {
        let counter = RequestCounter::new();
        counter.record(Verb::Get);
        let before = counter.snapshot();
        counter.record(Verb::Patch);
        counter.record(Verb::DryRun);
        let delta = counter.snapshot().since(&before);
        assert_eq!((delta.patch, delta.dry_run, delta.get), (1, 1, 0));
        assert_eq!(delta.writes(), 1);
        assert_eq!(delta.total(), 2);
    }
}

//! Real Git repositories built with the `git` CLI, and a real `git http-backend` server.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Runs `git` in `dir` with a fixed identity and no user/system configuration.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

pub fn write(dir: &Path, path: &str, content: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

pub fn commit_all(dir: &Path, message: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// The fixture repository's commits.
pub struct Origin {
    pub dir: PathBuf,
    pub url: String,
    /// Tagged v1.0.0 (annotated).
    pub c1: String,
    /// Tagged v1.2.0 (lightweight).
    pub c2: String,
    /// Tagged v2.0.0-rc.1; the tip of main.
    pub c3: String,
    /// The tip of branch `feature` (branched from c2).
    pub feature: String,
}

/// main: c1 (v1.0.0, annotated) - c2 (v1.2.0) - c3 (v2.0.0-rc.1); feature: c2 - f1.
pub fn origin(parent: &Path) -> Origin {
    let dir = parent.join("origin");
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q"]);
    write(&dir, "kustomization.yaml", "resources:\n- deploy.yaml\n");
    write(&dir, "deploy.yaml", "version: 1\n");
    write(&dir, "nested/deeper/config.yaml", "a: 1\n");
    write(&dir, "run.sh", "#!/bin/sh\necho hi\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("run.sh"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        std::os::unix::fs::symlink("deploy.yaml", dir.join("link.yaml")).unwrap();
    }
    let c1 = commit_all(&dir, "one");
    git(&dir, &["tag", "-a", "v1.0.0", "-m", "release 1.0.0"]);
    write(&dir, "deploy.yaml", "version: 2\n");
    let c2 = commit_all(&dir, "two");
    git(&dir, &["tag", "v1.2.0"]);
    write(&dir, "deploy.yaml", "version: 3-rc\n");
    let c3 = commit_all(&dir, "three");
    git(&dir, &["tag", "v2.0.0-rc.1"]);
    git(&dir, &["checkout", "-q", "-b", "feature", &c2]);
    write(&dir, "deploy.yaml", "version: feature\n");
    let feature = commit_all(&dir, "feature");
    git(&dir, &["checkout", "-q", "main"]);
    let url = format!("file://{}", dir.display());
    Origin {
        dir,
        url,
        c1,
        c2,
        c3,
        feature,
    }
}

/// A `git http-backend` behind a tiny CGI bridge on 127.0.0.1, optionally requiring basic auth.
pub struct HttpServer {
    child: Child,
    pub port: u16,
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SERVER: &str = r#"
import base64, http.server, os, ssl, subprocess, sys

root, auth, protocol, tls, redirect = sys.argv[1:6]

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        if redirect != "-":
            self.send_response(302)
            self.send_header("Location", redirect + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if auth != "-":
            expected = "Basic " + base64.b64encode(auth.encode()).decode()
            if self.headers.get("Authorization") != expected:
                body = b"auth required\n"
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = dict(os.environ)
        env.update({
            "GIT_PROJECT_ROOT": root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type") or "",
            "CONTENT_LENGTH": str(len(body)),
            # "v0" ignores the client's request for protocol v2, like an old server.
            "GIT_PROTOCOL": "" if protocol == "v0" else (self.headers.get("Git-Protocol") or ""),
            "REMOTE_ADDR": "127.0.0.1",
        })
        if self.headers.get("Content-Encoding") == "gzip":
            env["HTTP_CONTENT_ENCODING"] = "gzip"
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = out.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = handle_any
    do_POST = handle_any

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if tls != "-":
    cert, key = tls.split(":")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// How [`serve`] runs its server.
#[derive(Default)]
pub struct ServerOptions<'a> {
    /// `user:password` to require basic authentication.
    pub auth: Option<&'a str>,
    /// Ignore the client's request for protocol v2, like an old server.
    pub protocol_v0: bool,
    /// Serve https with this certificate and key (PEM files).
    pub tls: Option<(&'a Path, &'a Path)>,
    /// Answer every request with a redirect to this base URL + the request path.
    pub redirect_to: Option<&'a str>,
}

/// Serves the repositories below `root` at `http://127.0.0.1:<port>/<name>`; `auth` is
/// `user:password` to require basic authentication.
pub fn http_server(scratch: &Path, root: &Path, auth: Option<&str>) -> HttpServer {
    serve(
        scratch,
        root,
        ServerOptions {
            auth,
            ..Default::default()
        },
    )
}

/// Like [`http_server`]; `protocol` "v0" makes the server ignore requests for protocol v2.
pub fn http_server_with_protocol(
    scratch: &Path,
    root: &Path,
    auth: Option<&str>,
    protocol: &str,
) -> HttpServer {
    serve(
        scratch,
        root,
        ServerOptions {
            auth,
            protocol_v0: protocol == "v0",
            ..Default::default()
        },
    )
}

/// Starts the server on 127.0.0.1 and a free port.
pub fn serve(scratch: &Path, root: &Path, options: ServerOptions<'_>) -> HttpServer {
    let script = scratch.join("git_http_server.py");
    std::fs::write(&script, SERVER).unwrap();
    let tls = options
        .tls
        .map(|(cert, key)| format!("{}:{}", cert.display(), key.display()))
        .unwrap_or_else(|| "-".to_string());
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(root)
        .arg(options.auth.unwrap_or("-"))
        .arg(if options.protocol_v0 { "v0" } else { "v2" })
        .arg(tls)
        .arg(options.redirect_to.unwrap_or("-"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let port = line.trim().parse().expect("the server prints its port");
    HttpServer { child, port }
}

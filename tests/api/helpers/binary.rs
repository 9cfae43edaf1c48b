//! The real binary: run it to completion, or start it serving on a free port, and signal it.

use std::process::{Command, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_cusdeb-anonymous");

/// Runs the binary with `env` (and nothing else from the parent's configuration).
pub fn run(env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.wait_with_output().unwrap()
}

/// Starts the binary on a free port with `env` (run through the shell command `wrapper`
/// first, e.g. `ulimit -n 40`) and waits for /healthz. Returns the process and its base URL.
pub async fn start_binary(env: &[(&str, &str)], wrapper: Option<&str>) -> (tokio::process::Child, String) {
    let (child, port) = spawn_binary(env, wrapper);
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok() {
            return (child, base);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("binary did not start");
}

/// Starts the binary on a free loopback port without waiting for it: for tests of its very
/// first moments. Loopback host, no inherited configuration; stderr piped, killed on drop.
pub fn spawn_binary(env: &[(&str, &str)], wrapper: Option<&str>) -> (tokio::process::Child, u16) {
    let port = free_port();
    let cmd = match wrapper {
        Some(shell) => {
            let mut c = tokio::process::Command::new("sh");
            c.args(["-c", &format!("{shell}; exec \"$0\""), BIN]);
            c
        }
        None => tokio::process::Command::new(BIN),
    };
    (configure(cmd, env, port).spawn().unwrap(), port)
}

/// Waits (at most 30 s) for the binary to exit after it was signalled: its output, and how
/// long the exit took from the call.
pub async fn exited(child: tokio::process::Child) -> (std::process::Output, Duration) {
    let start = std::time::Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the binary did not exit within 30 s")
        .unwrap();
    (out, start.elapsed())
}

/// Sends SIGTERM with the shell's builtin `kill` (no procps needed).
pub fn sigterm(pid: u32) {
    signal(pid, "TERM");
}

/// Sends `SIG<name>` (`TERM`, `INT`) with the shell's builtin `kill`.
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("sh")
        .args(["-c", &format!("kill -{name} \"$0\""), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid} failed");
}

/// Starts the binary (as `prefix BIN`, e.g. under `setpriv`) on a free loopback port with
/// `env`; its stderr lines are collected as they come. Killed on drop.
pub fn spawn_logged(
    env: &[(&str, &str)],
    prefix: &[&str],
) -> (
    tokio::process::Child,
    String,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use tokio::io::AsyncBufReadExt;
    let port = free_port();
    let cmd = match prefix {
        [] => tokio::process::Command::new(BIN),
        [program, args @ ..] => {
            let mut c = tokio::process::Command::new(program);
            c.args(args).arg(BIN);
            c
        }
    };
    let mut child = configure(cmd, env, port).spawn().unwrap();
    let lines: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let (sink, stderr) = (lines.clone(), child.stderr.take().unwrap());
    tokio::spawn(async move {
        let mut reader = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            sink.lock().unwrap().push(line);
        }
    });
    (child, format!("http://127.0.0.1:{port}"), lines)
}

/// Starts the server with `env` and expects it to refuse to start: its exit status, its
/// stderr, and how long it took to exit (at most 20 s, or the test fails).
pub async fn start_refused(env: &[(&str, &str)]) -> (Option<i32>, String, Duration) {
    let started = std::time::Instant::now();
    let (child, _) = spawn_binary(env, None);
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("still running 20 s after start with {env:?}"))
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

/// The `setpriv` prefix that runs a command as `nobody` when the tests run as root (root
/// writes anywhere, so a read-only directory needs another user); empty otherwise.
pub fn as_nobody() -> &'static [&'static str] {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    match root {
        true => &["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
        false => &[],
    }
}

/// A free loopback port (bound, read, released).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `cmd` with `env` only (and `PATH`), on loopback at `port`; stderr piped, killed on drop.
fn configure(mut cmd: tokio::process::Command, env: &[(&str, &str)], port: u16) -> tokio::process::Command {
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs([("HOST", "127.0.0.1"), ("PORT", &port.to_string())])
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

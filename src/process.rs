//! The process and its operating system: the open-files limit raised at start, and the
//! signals that stop it (the first drains, a second exits at once).

/// Raises the soft limit on open files to the hard limit, so `MAX_PENDING` delayed requests
/// are not starved of sockets, and logs both. Failure is logged, not fatal.
pub fn raise_open_files_limit() {
    use rlimit::Resource;
    match Resource::NOFILE.get() {
        Ok((soft, hard)) if soft < hard => match Resource::NOFILE.set(hard, hard) {
            Ok(()) => tracing::info!(soft_before = soft, soft = hard, hard, "raised the open files limit"),
            Err(e) => tracing::warn!(soft, hard, error = %e, "could not raise the open files limit"),
        },
        Ok((soft, hard)) => tracing::info!(soft, hard, "open files limit"),
        Err(e) => tracing::warn!(error = %e, "could not read the open files limit"),
    }
}

/// Resolves on the first SIGTERM or SIGINT, which starts the drain. From then on a second
/// one ends the process at once (exit status 128 + its number), without waiting for the drain.
#[cfg(unix)]
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
        tracing::warn!("cannot listen for SIGINT/SIGTERM; the process stops only when killed");
        return std::future::pending().await;
    };
    let first = tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    };
    tracing::info!(
        signal = first,
        "shutdown signal received; draining in-flight requests (a second signal exits at once)"
    );
    tokio::spawn(async move {
        let (second, status) = tokio::select! {
            _ = int.recv() => ("SIGINT", 128 + 2),
            _ = term.recv() => ("SIGTERM", 128 + 15),
        };
        tracing::warn!(signal = second, "second signal: exiting now, abandoning the drain");
        std::process::exit(status);
    });
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
pub async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutdown signal received; draining in-flight requests");
}

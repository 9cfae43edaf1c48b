//! Building and running the application: the listener, the rotation task, the server and its
//! graceful shutdown, and the process's signals.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use poem::EndpointExt;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{Config, Signing};
use crate::keyring::RingWriter;
use crate::rotation::{self, Generator, Rotation};
use crate::routes;
use crate::server;
use crate::state::AppState;
use crate::store::{KeyStore, StoreError};

/// A bound, not yet running, issuer.
pub struct Application {
    listener: TcpListener,
    state: Arc<AppState>,
    writer: RingWriter,
    store: Arc<KeyStore>,
    generator: Generator,
    header_read_timeout: Duration,
}

/// How long the start waits for the key store before serving (not ready) without it.
const STORE_AT_START: Duration = Duration::from_secs(3);

/// Why the application could not start.
#[derive(Debug)]
pub enum StartError {
    /// The key store refused (locked, corrupt, wrong encryption key): a configuration error.
    Store(StoreError),
    /// `HOST:PORT` could not be bound, or the HMAC key could not be built.
    Io(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Store(e) => e.fmt(f),
            StartError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for StartError {}

impl Application {
    /// Binds `HOST:PORT` from the configuration; keys live in `store`.
    pub async fn build(config: Config, store: KeyStore) -> Result<Application, StartError> {
        let listener = TcpListener::bind((config.host, config.port)).await.map_err(|e| {
            StartError::Io(std::io::Error::new(
                e.kind(),
                format!("cannot listen on {}:{}: {e}", config.host, config.port),
            ))
        })?;
        Application::with_store(config, listener, store)
    }

    /// Uses an already-bound listener (tests bind `127.0.0.1:0`) and opens the key store.
    pub fn with_listener(config: Config, listener: TcpListener) -> Result<Application, StartError> {
        let store = KeyStore::open(&config.store).map_err(StartError::Store)?;
        Application::with_store(config, listener, store)
    }

    fn with_store(config: Config, listener: TcpListener, store: KeyStore) -> Result<Application, StartError> {
        // The application installs what it needs: jsonwebtoken's provider is ours.
        crate::crypto::install();
        let generator = rotation::generator(config.rsa_key_bits);
        let (state, writer) = AppState::new(config).map_err(|e| StartError::Io(std::io::Error::other(e)))?;
        Ok(Application {
            listener,
            state: Arc::new(state),
            writer,
            store: Arc::new(store),
            generator,
            header_read_timeout: server::HEADER_READ_TIMEOUT,
        })
    }

    /// Replaces the key generator (tests inject failures).
    pub fn with_generator(mut self, generator: Generator) -> Application {
        self.generator = generator;
        self
    }

    /// Replaces the time a client has to send a request head (tests shorten it).
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Application {
        self.header_read_timeout = timeout;
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests (those
    /// waiting on `ISSUE_DELAY` included) finish, and returns.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        let Application {
            listener,
            state,
            writer,
            store,
            generator,
            header_read_timeout,
        } = self;
        let config = &state.config;
        let settings: Vec<String> = config.summary().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        tracing::info!(
            addr = %listener.local_addr()?,
            version = env!("CARGO_PKG_VERSION"),
            configuration = settings.join(" "),
            "cusdeb-anonymous starting"
        );
        if let Signing::Static { key, from } = &config.signing {
            let kid = key.kid().unwrap_or("-");
            tracing::info!(
                kid,
                algorithm = config.algorithm.name(),
                "static key {kid} from {from}; it never rotates"
            );
        }
        for warning in config.warnings() {
            tracing::warn!("{warning}");
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let rotation = match config.rotates() {
            false => None,
            true => {
                let task = Rotation {
                    writer,
                    sync_every: store.is_shared().then_some(config.store.sync_interval),
                    store,
                    algorithm: config.algorithm,
                    schedule: config.schedule(),
                    generate: generator,
                    clock: rotation::Clock::System,
                    metrics: state.metrics.rotation(),
                    zone: config.time_zone.clone(),
                };
                let primed = task.prime(STORE_AT_START).await;
                Some(tokio::spawn(task.run(primed, stop_rx)))
            }
        };
        let limits = server::Limits {
            header_read_timeout,
            drain: config.issue_delay + Duration::from_secs(10),
        };
        let app = routes::app(state.clone()).boxed();
        let result = server::serve(listener, app, &state.metrics, limits, shutdown).await;
        let _ = stop_tx.send(true);
        if let Some(task) = rotation {
            let _ = task.await;
        }
        tracing::info!("cusdeb-anonymous stopped");
        result
    }
}

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

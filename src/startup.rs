//! Building and running the application: the listener, the rotation task, the server and its
//! graceful shutdown (the process's signals are in [`crate::process`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use poem::EndpointExt;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{Config, Signing};
use crate::rotation::{self, Generator, Primed, Rotation};
use crate::routes;
use crate::server;

pub use crate::process::{raise_open_files_limit, shutdown_signal};
use crate::state::AppState;
use crate::store::{Access, KeyStore, StoreError};

/// A bound, not yet running, issuer.
pub struct Application {
    listener: TcpListener,
    state: Arc<AppState>,
    /// The rotation task (asymmetric ALGO without a static key), and what it read at start
    /// (`build` reads the store before it listens; `with_listener` when it runs).
    rotation: Task,
    header_read_timeout: Duration,
}

/// The rotation task, if keys rotate, with what it read at start if it has.
type Task = Option<(Rotation, Option<Primed>)>;

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
    /// Reads the key store, then binds `HOST:PORT`: a process listens only once it can
    /// answer. A store answer that waiting cannot improve is an error here (exit 2).
    pub async fn build(config: Config, store: KeyStore) -> Result<Application, StartError> {
        let (state, mut rotation) = Application::parts(&config, store)?;
        if let Some((task, primed)) = rotation.as_mut() {
            *primed = Some(task.prime(STORE_AT_START).await.map_err(StartError::Store)?);
        }
        let listener = TcpListener::bind((config.host, config.port)).await.map_err(|e| {
            StartError::Io(std::io::Error::new(
                e.kind(),
                format!("cannot listen on {}:{}: {e}", config.host, config.port),
            ))
        })?;
        Ok(Application::assemble(listener, state, rotation))
    }

    /// Uses an already-bound listener (tests bind `127.0.0.1:0`) and opens the key store; the
    /// store is read when the application runs.
    pub fn with_listener(config: Config, listener: TcpListener) -> Result<Application, StartError> {
        let store = KeyStore::open(&config.store, Access::Serve).map_err(StartError::Store)?;
        let (state, rotation) = Application::parts(&config, store)?;
        Ok(Application::assemble(listener, state, rotation))
    }

    fn parts(config: &Config, store: KeyStore) -> Result<(Arc<AppState>, Task), StartError> {
        // The application installs what it needs: jsonwebtoken's provider is ours.
        crate::crypto::install();
        let (state, writer) = AppState::new(config.clone()).map_err(|e| StartError::Io(std::io::Error::other(e)))?;
        let state = Arc::new(state);
        let shared = store.is_shared();
        let rotation = config.rotates().then(|| {
            let task = Rotation {
                writer,
                sync_every: shared.then_some(config.store.sync_interval),
                max_staleness: shared.then_some(config.store.max_staleness),
                store: Arc::new(store),
                algorithm: config.algorithm,
                schedule: config.schedule(),
                generate: rotation::generator(config.rsa_key_bits),
                clock: rotation::Clock::System,
                metrics: state.metrics.rotation(),
                zone: config.time_zone.clone(),
            };
            (task, None)
        });
        Ok((state, rotation))
    }

    fn assemble(listener: TcpListener, state: Arc<AppState>, rotation: Task) -> Application {
        Application {
            listener,
            state,
            rotation,
            header_read_timeout: server::HEADER_READ_TIMEOUT,
        }
    }

    /// Replaces the key generator (tests inject failures).
    pub fn with_generator(mut self, generator: Generator) -> Application {
        if let Some((task, _)) = self.rotation.as_mut() {
            task.generate = generator;
        }
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
    /// waiting on `ISSUE_DELAY` included) finish, and returns. If the rotation task ever ends
    /// on its own (a panic), this returns an error: a supervisor restarts the process rather
    /// than it serving a ring that no longer moves.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        let Application {
            listener,
            state,
            rotation,
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
        if config.limits.any() {
            tracing::info!(limits = config.limits.describe(), "issuing limits");
        }
        if config.pow.is_some() {
            tracing::info!(gate = config.describe_pow(), "proof of work");
        }
        for warning in config.warnings() {
            tracing::warn!("{warning}");
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut rotation = match rotation {
            None => None,
            Some((task, primed)) => {
                let primed = match primed {
                    Some(primed) => primed,
                    None => task
                        .prime(STORE_AT_START)
                        .await
                        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?,
                };
                Some(tokio::spawn(task.run(primed, stop_rx)))
            }
        };
        let limits = server::Limits {
            header_read_timeout,
            drain: config.issue_delay + Duration::from_secs(10),
        };
        let app = routes::app(state.clone()).boxed();
        let serving = server::serve(listener, app, &state.metrics, limits, shutdown);
        let rotation_ended = async {
            match rotation.as_mut() {
                Some(task) => task.await,
                None => std::future::pending().await,
            }
        };
        let result = tokio::select! {
            result = serving => result,
            ended = rotation_ended => {
                let why = match ended {
                    Err(e) if e.is_panic() => "panicked",
                    _ => "ended",
                };
                tracing::error!("the key rotation task {why} unexpectedly; exiting so that a supervisor restarts the process");
                rotation = None;
                Err(std::io::Error::other(format!("the key rotation task {why} unexpectedly")))
            }
        };
        let _ = stop_tx.send(true);
        if let Some(task) = rotation {
            let _ = task.await;
        }
        tracing::info!("cusdeb-anonymous stopped");
        result
    }
}

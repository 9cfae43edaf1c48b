//! A TCP proxy on loopback that a test can cut: every connection through it is dropped and
//! new ones are refused until it is restored. Stands between the issuer and PostgreSQL to
//! make the database unreachable on demand.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct Proxy {
    pub port: u16,
    open: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Forwards 127.0.0.1:`port` to `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (flag, list) = (open.clone(), connections.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    continue; // dropped: refused
                }
                let forward = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                list.lock().unwrap().push(forward);
            }
        });
        Proxy {
            port,
            open,
            connections,
            accept,
        }
    }

    /// A proxy before the PostgreSQL server of `url`, and the same URL through it.
    pub async fn before(url: &str) -> (Proxy, String) {
        let (authority, rest) = url.split_once("://").unwrap().1.split_once('/').unwrap();
        let target = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        let proxy = Proxy::start(tokio::net::lookup_host(target).await.unwrap().next().unwrap()).await;
        let user = authority.rsplit_once('@').map_or("", |(user, _)| user);
        let through = format!("postgres://{user}@127.0.0.1:{}/{rest}", proxy.port);
        (proxy, through)
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

//! The task on tokio's paused clock with an in-memory store: generation failures are retried
//! while nothing signs yet, then keys rotate on schedule and retired keys are removed.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::keyring::{KeyState, Snapshot};
use crate::metrics::RotationMetrics;

#[tokio::test(start_paused = true)]
async fn rotates_on_schedule_and_retries_failed_generation() {
    let schedule = Schedule {
        interval: Duration::from_secs(60),
        retention: Duration::from_secs(20),
        lead: Duration::from_secs(5),
    };
    let (ring, writer) = KeyRing::new(Snapshot::empty());
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let generate: Generator = Arc::new(move |alg| {
        if counter.fetch_add(1, Ordering::SeqCst) < 2 {
            return Err(KeyError::injected());
        }
        crate::keys::generate(alg, 2048)
    });
    let (stop, stop_rx) = watch::channel(false);
    let metrics = RotationMetrics::default();
    let store = Arc::new(KeyStore::memory());
    let task = Rotation {
        writer,
        store: store.clone(),
        algorithm: Algorithm::ES256,
        schedule,
        sync_every: None,
        max_staleness: None,
        generate,
        clock: Clock::tokio(OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()),
        metrics: metrics.clone(),
        zone: Zone::get("UTC").unwrap(),
    };
    let primed = task.prime(Duration::from_secs(1)).await.unwrap();
    let task = tokio::spawn(task.run(primed, stop_rx));

    // Two failures (retried after 250 ms, then 500 ms), then the first key and a pending one.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(ring.load().active().is_none());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let first = ring.load_full();
    let a = first.active().expect("active after retries").kid().unwrap().to_owned();
    let b = first.pending().expect("pending").key.kid().unwrap().to_owned();
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(metrics.generation_failures.get(), 2);
    assert_eq!(metrics.rotations.get(), 0);
    assert_eq!(
        store.load().await.unwrap().records.len(),
        2,
        "the store holds what the ring shows"
    );

    // One interval later B signs, A is retired, C is pending.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let second = ring.load_full();
    assert_eq!(second.active().unwrap().kid(), Some(b.as_str()));
    assert!(
        second
            .keys()
            .iter()
            .any(|k| k.key.kid() == Some(a.as_str()) && k.state == KeyState::Retired)
    );
    assert!(second.pending().is_some());
    assert_eq!(metrics.rotations.get(), 1);

    // After the retention A is gone, from the ring and from the store.
    tokio::time::sleep(Duration::from_secs(21)).await;
    assert!(ring.load().keys().iter().all(|k| k.key.kid() != Some(a.as_str())));
    assert_eq!(ring.load().keys().len(), 2);
    assert!(store.load().await.unwrap().records.iter().all(|r| r.kid != a));

    stop.send(true).unwrap();
    task.await.unwrap();
}

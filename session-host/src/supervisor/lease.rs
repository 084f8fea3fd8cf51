//! Keeps a running session's lease on a task of its own: renewed every third of the TTL
//! whatever the supervisor is busy with (a control command can take seconds, a receive on a
//! loaded queue longer). When the lease is lost to another host, or cannot be renewed before
//! it expires, the session's runner is stopped at once, so two hosts never run one session.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use wagate_core::SessionId;

use crate::context::HostContext;

/// The keeper of one session's lease.
#[derive(Debug)]
pub(super) struct LeaseKeeper {
    lost: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl LeaseKeeper {
    /// Starts renewing the lease this host has just taken for `id`; `stop` is the session
    /// runner's stop, cancelled when the lease is gone (and ending the keeper when the runner
    /// is stopped for any other reason).
    pub(super) fn start(ctx: Arc<HostContext>, id: SessionId, stop: CancellationToken) -> Self {
        let lost = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(keep(ctx, id, stop, lost.clone()));
        Self { lost, task }
    }

    /// The lease went to another host or lapsed: the session is no longer this host's.
    pub(super) fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn keep(
    ctx: Arc<HostContext>,
    id: SessionId,
    stop: CancellationToken,
    lost: Arc<AtomicBool>,
) {
    let cfg = &ctx.config;
    let every = cfg.lease_ttl / 3;
    // `renewed`: when the lease was last made good; it expires a TTL after that.
    let mut renewed = Instant::now();
    let mut next = renewed + every;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep_until(next) => {}
        }
        let asked = Instant::now();
        let now = wagate_core::clock::now_ms();
        match ctx
            .deps
            .store
            .acquire_lease(&id, &cfg.host_id, cfg.lease_ttl_ms(), now)
            .await
        {
            Ok(true) => {
                renewed = asked;
                next = renewed + every;
            }
            Ok(false) => {
                tracing::warn!(session_id = %id, "lease lost to another host; stopping the session here");
                break;
            }
            Err(e) if renewed.elapsed() + every >= cfg.lease_ttl => {
                tracing::error!(session_id = %id, error = %e, "lease could not be renewed before it expires; stopping the session here");
                break;
            }
            Err(e) => {
                tracing::warn!(session_id = %id, error = %e, "lease renewal failed; retrying");
                next = Instant::now() + every / 4;
            }
        }
    }
    lost.store(true, Ordering::SeqCst);
    stop.cancel();
}

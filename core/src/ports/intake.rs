//! The intake: everything an accepted send writes, as one port operation. A send takes its
//! quota and recipient cooldown, records its jobs and queues them; the embedded backend does
//! all of it in one SQLite transaction (one trip to the database thread, and nothing half
//! done if the process dies), the AWS backend in order with the store's and the queue's own
//! operations ([`Sequential`]), which the send path has always tolerated: a job recorded but
//! not queued is found again by the unstarted-job sweep.

use std::sync::Arc;

use async_trait::async_trait;

use super::{PortError, PortResult, Queue, Store, enqueue_send};
use crate::policy::{self, Charge, LimitStatus};
use crate::{Job, SessionId};

/// What one request asks to send.
#[derive(Debug, Clone)]
pub struct Admission {
    /// The request's hit on its key's rate limit, when the API leaves it to the intake (one
    /// trip to the store instead of two): taken before anything else, and kept whatever the
    /// rest of the admission decides, since the request was made.
    pub rate: Option<Charge>,
    /// Taken first after the rate limit; `None` when the quota is off or the request sends
    /// only actions.
    pub quota: Option<Charge>,
    /// Taken second; on refusal the quota is given back.
    pub cooldown: Option<Charge>,
    /// Recorded and queued in order, all or none.
    pub jobs: Vec<Job>,
    /// The session the jobs are for, as the API read it (perhaps from a cache). An intake
    /// that [`Intake::checks_sessions`] refuses the admission if that session is gone, was
    /// created anew since, or is logged out.
    pub session: Option<SessionCheck>,
    pub now_ms: i64,
}

/// Which session an admission was checked against: the id and when it was created (a session
/// deleted and created again under the same id is another session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCheck {
    pub id: SessionId,
    pub created_at: i64,
}

/// What became of an [`Admission`], with the rate limit's status when it was charged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub admitted: Admitted,
    pub rate: Option<LimitStatus>,
}

/// What became of an [`Admission`]'s jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admitted {
    /// Every job is recorded and queued; the quota's status after the charge.
    Queued { quota: Option<LimitStatus> },
    /// Nothing written but the refused hit: the key is over its rate limit (see
    /// [`Verdict::rate`]).
    RateLimited,
    /// Nothing written: the quota is used up.
    OverQuota(LimitStatus),
    /// Nothing written (the quota taken is given back): the recipient is cooling down.
    CoolingDown(LimitStatus),
    /// Nothing queued: the session's send queue is gone (deleted meanwhile).
    SessionGone,
    /// Nothing written but the rate hit: the session is logged out (only from an intake that
    /// [`Intake::checks_sessions`]).
    LoggedOut,
}

#[async_trait]
pub trait Intake: Send + Sync + std::fmt::Debug {
    async fn admit(&self, a: &Admission) -> PortResult<Verdict>;

    /// Whether [`Admission::session`] is checked in the same operation, so that the API may
    /// take the session from a cache.
    fn checks_sessions(&self) -> bool {
        false
    }
}

/// The intake made of the store's and the queue's own operations, in order.
#[derive(Debug, Clone)]
pub struct Sequential {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
}

impl Sequential {
    pub fn new(store: Arc<dyn Store>, queue: Arc<dyn Queue>) -> Self {
        Self { store, queue }
    }
}

#[async_trait]
impl Intake for Sequential {
    async fn admit(&self, a: &Admission) -> PortResult<Verdict> {
        let store = self.store.as_ref();
        let rate = match &a.rate {
            Some(c) => Some(policy::charge(store, c, a.now_ms).await?),
            None => None,
        };
        if rate.as_ref().is_some_and(|st| !st.allowed) {
            return Ok(Verdict {
                admitted: Admitted::RateLimited,
                rate,
            });
        }
        let admitted = self.admit_jobs(a).await?;
        Ok(Verdict { admitted, rate })
    }
}

impl Sequential {
    async fn admit_jobs(&self, a: &Admission) -> PortResult<Admitted> {
        let store = self.store.as_ref();
        let quota = match &a.quota {
            Some(c) => {
                let st = policy::charge(store, c, a.now_ms).await?;
                if !st.allowed {
                    return Ok(Admitted::OverQuota(st));
                }
                Some(st)
            }
            None => None,
        };
        if let Some(c) = &a.cooldown {
            let st = policy::charge(store, c, a.now_ms).await?;
            if !st.allowed {
                if let Some(q) = &a.quota {
                    policy::refund(store, &q.key, q.n, a.now_ms).await?;
                }
                return Ok(Admitted::CoolingDown(st));
            }
        }
        for job in &a.jobs {
            store.create_job(job).await?;
            match enqueue_send(self.queue.as_ref(), job, job.id.as_str()).await {
                Ok(()) => {}
                Err(PortError::NotFound(_)) => return Ok(Admitted::SessionGone),
                Err(e) => return Err(e),
            }
        }
        Ok(Admitted::Queued { quota })
    }
}

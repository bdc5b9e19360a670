//! Fail fast when a dependency is down or slow: every call to an Azure backend gets a deadline
//! that fits a request, and each dependency has a circuit breaker. After `failures` consecutive
//! unavailability failures within `window`, calls fail at once (`Unavailable`, answered 503
//! with `Retry-After`) for `cooldown`; then one call goes through as a probe, and its success
//! closes the breaker again. Recovery needs no restart.
//!
//! Only `Unavailable` counts against a dependency: a 404, a 409 or a lost ETag race is the
//! dependency answering. Written here rather than taken from a crate because it has to wrap the
//! store traits' futures and expose its state to `/api/readyz`; the tower ecosystem's breakers
//! wrap services, not trait objects.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{StoreError, StoreResult};

/// How the breakers behave; the same for every dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive failures that open the breaker.
    pub failures: u32,
    /// Failures further apart than this do not add up.
    pub window: Duration,
    /// How long an open breaker refuses calls before letting a probe through.
    pub cooldown: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            failures: 5,
            window: Duration::from_secs(10),
            cooldown: Duration::from_secs(5),
        }
    }
}

/// What `/api/readyz` shows of a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum BreakerState {
    Closed,
    Open,
    /// One probe call is in flight; the others still fail fast.
    HalfOpen,
}

#[derive(Debug)]
enum State {
    Closed {
        failures: u32,
        last_failure: Option<Instant>,
    },
    Open {
        until: Instant,
    },
    HalfOpen,
}

#[derive(Debug)]
pub struct Breaker {
    dependency: &'static str,
    policy: BreakerPolicy,
    state: Mutex<State>,
}

/// Records the outcome of an admitted call, and a failure if the call's future is dropped
/// first (a cancelled request must not leave a half-open breaker waiting for ever).
struct Admitted<'a> {
    breaker: &'a Breaker,
    recorded: bool,
}

impl Admitted<'_> {
    fn record(mut self, ok: bool) {
        self.recorded = true;
        self.breaker.record(ok);
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        if !self.recorded {
            self.breaker.record(false);
        }
    }
}

impl Breaker {
    pub fn new(dependency: &'static str, policy: BreakerPolicy) -> Self {
        Self {
            dependency,
            policy,
            state: Mutex::new(State::Closed {
                failures: 0,
                last_failure: None,
            }),
        }
    }

    pub fn dependency(&self) -> &'static str {
        self.dependency
    }

    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen => BreakerState::HalfOpen,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a few plain values, valid even if a holder panicked.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn open_error(&self) -> StoreError {
        StoreError::Unavailable(anyhow::anyhow!(
            "{}: circuit open after repeated failures",
            self.dependency
        ))
    }

    fn admit(&self) -> StoreResult<Admitted<'_>> {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => {}
            State::Open { until } if Instant::now() >= until => *state = State::HalfOpen,
            State::Open { .. } | State::HalfOpen => return Err(self.open_error()),
        }
        Ok(Admitted {
            breaker: self,
            recorded: false,
        })
    }

    fn record(&self, ok: bool) {
        let mut state = self.lock();
        let now = Instant::now();
        let open = State::Open {
            until: now + self.policy.cooldown,
        };
        *state = match (&*state, ok) {
            (_, true) => State::Closed {
                failures: 0,
                last_failure: None,
            },
            (State::HalfOpen, false) => {
                tracing::warn!(
                    dependency = self.dependency,
                    "probe failed: circuit stays open"
                );
                open
            }
            (
                State::Closed {
                    failures,
                    last_failure,
                },
                false,
            ) => {
                let recent = last_failure.is_some_and(|t| now - t <= self.policy.window);
                let failures = if recent { failures + 1 } else { 1 };
                if failures >= self.policy.failures {
                    tracing::warn!(dependency = self.dependency, failures, "circuit opened");
                    open
                } else {
                    State::Closed {
                        failures,
                        last_failure: Some(now),
                    }
                }
            }
            // A call admitted before the breaker opened finished late: it stays open.
            (State::Open { until }, false) => State::Open { until: *until },
        };
    }

    /// Runs `call` through the breaker, with `deadline` when one is given.
    pub async fn run<T>(
        &self,
        deadline: Option<Duration>,
        call: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let admitted = self.admit()?;
        let result = match deadline {
            Some(limit) => tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
                Err(StoreError::Unavailable(anyhow::anyhow!(
                    "{} did not answer within {} ms",
                    self.dependency,
                    limit.as_millis()
                )))
            }),
            None => call.await,
        };
        admitted.record(!matches!(result, Err(StoreError::Unavailable(_))));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> BreakerPolicy {
        BreakerPolicy {
            failures: 3,
            window: Duration::from_secs(10),
            cooldown: Duration::from_millis(50),
        }
    }

    async fn fail(b: &Breaker) -> StoreResult<()> {
        b.run(None, async {
            Err(StoreError::Unavailable(anyhow::anyhow!("down")))
        })
        .await
    }

    async fn succeed(b: &Breaker) -> StoreResult<()> {
        b.run(None, async { Ok(()) }).await
    }

    #[tokio::test]
    async fn opens_after_consecutive_failures_and_a_probe_closes_it() {
        let b = Breaker::new("cache", policy());
        for _ in 0..3 {
            assert!(fail(&b).await.is_err());
        }
        assert_eq!(b.state(), BreakerState::Open);
        // Open: refused without calling.
        let called = std::sync::atomic::AtomicBool::new(false);
        let refused = b
            .run(None, async {
                called.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            })
            .await;
        assert!(matches!(refused, Err(StoreError::Unavailable(_))));
        assert!(!called.load(std::sync::atomic::Ordering::SeqCst));
        tokio::time::sleep(Duration::from_millis(60)).await;
        succeed(&b).await.unwrap();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[tokio::test]
    async fn a_failed_probe_reopens_and_other_errors_do_not_count() {
        let b = Breaker::new("documents", policy());
        for _ in 0..10 {
            let _ = b
                .run(None, async { Err::<(), _>(StoreError::NotFound) })
                .await;
        }
        assert_eq!(b.state(), BreakerState::Closed);
        for _ in 0..3 {
            let _ = fail(&b).await;
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
        let _ = fail(&b).await;
        assert_eq!(b.state(), BreakerState::Open);
        // A success in between resets the count.
        let b = Breaker::new("blobs", policy());
        let _ = fail(&b).await;
        let _ = fail(&b).await;
        succeed(&b).await.unwrap();
        let _ = fail(&b).await;
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[tokio::test]
    async fn a_deadline_is_an_unavailability_and_a_dropped_probe_reopens() {
        let b = Breaker::new("queues", policy());
        let slow = b
            .run(Some(Duration::from_millis(10)), async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            })
            .await;
        assert!(matches!(slow, Err(StoreError::Unavailable(_))));
        for _ in 0..2 {
            let _ = fail(&b).await;
        }
        assert_eq!(b.state(), BreakerState::Open);
        tokio::time::sleep(Duration::from_millis(60)).await;
        // The probe's caller gives up (its request timed out): the breaker must not stay
        // half-open for ever.
        let probe = b.run(None, std::future::pending::<StoreResult<()>>());
        let _ = tokio::time::timeout(Duration::from_millis(10), probe).await;
        assert_eq!(b.state(), BreakerState::Open);
    }
}

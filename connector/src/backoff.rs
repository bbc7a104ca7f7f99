//! Exponential backoff with jitter, for everything the agent retries against the portal:
//! the first wait is about 250 ms, each failure doubles it up to 30 s, and each wait is
//! spread ±50% so that many connectors coming back at once do not hit the portal together.

use rand::Rng;
use std::time::Duration;

/// The first wait after a failure (before jitter).
pub const FIRST: Duration = Duration::from_millis(250);
/// The longest wait.
pub const CAP: Duration = Duration::from_secs(30);

/// The waits between retries of one thing; `reset` after a success.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    first: Duration,
    cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(FIRST, CAP)
    }
}

impl Backoff {
    pub fn new(first: Duration, cap: Duration) -> Backoff {
        Backoff {
            base: first,
            first,
            cap,
        }
    }

    /// How long to wait before the next attempt: the current step ±50%, never more than
    /// the cap. The step doubles for the time after.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.base;
        self.base = (self.base * 2).min(self.cap);
        let factor = rand::thread_rng().gen_range(0.5..1.5);
        base.mul_f64(factor).min(self.cap)
    }

    /// Start again from the first step (the portal answered).
    pub fn reset(&mut self) {
        self.base = self.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_to_the_cap_and_stay_jittered() {
        let mut b = Backoff::default();
        let first = b.next_delay();
        assert!(first >= FIRST / 2 && first <= FIRST * 3 / 2, "{first:?}");
        let mut last = first;
        for _ in 0..40 {
            last = b.next_delay();
            assert!(last >= FIRST / 2 && last <= CAP, "{last:?}");
        }
        // At the cap the wait is between half the cap and the cap.
        assert!(last >= CAP / 2, "{last:?}");
        let spread: std::collections::HashSet<_> = (0..20).map(|_| b.next_delay()).collect();
        assert!(spread.len() > 1, "jitter varies the waits");
        b.reset();
        assert!(b.next_delay() <= FIRST * 3 / 2);
    }
}

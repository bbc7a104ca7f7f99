//! Fixed-window attempt counters for sign-in, password reset and token use. In memory, per
//! portal instance: with several instances behind a balancer each counts its own share
//! (the limits then apply per instance).

use bandpool_domain::AppError;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// Count one attempt under `key`; refused with 429 and the seconds until the window
    /// ends once `limit` attempts were made within `window`.
    pub fn attempt(&self, key: &str, limit: u32, window: Duration) -> Result<(), AppError> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > 50_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = windows.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            let left = window.saturating_sub(now.duration_since(entry.0));
            return Err(AppError::RateLimited {
                retry_after: left.as_secs().max(1),
            });
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_plus_one_is_refused_with_a_wait() {
        let limiter = RateLimiter::default();
        for _ in 0..3 {
            limiter.attempt("k", 3, Duration::from_secs(60)).unwrap();
        }
        match limiter.attempt("k", 3, Duration::from_secs(60)) {
            Err(AppError::RateLimited { retry_after }) => assert!((1..=60).contains(&retry_after)),
            other => panic!("{other:?}"),
        }
        // Another key is counted on its own.
        limiter
            .attempt("other", 3, Duration::from_secs(60))
            .unwrap();
    }

    #[test]
    fn a_new_window_starts_over() {
        let limiter = RateLimiter::default();
        limiter.attempt("k", 1, Duration::from_millis(20)).unwrap();
        assert!(limiter.attempt("k", 1, Duration::from_millis(20)).is_err());
        std::thread::sleep(Duration::from_millis(30));
        limiter.attempt("k", 1, Duration::from_millis(20)).unwrap();
    }
}

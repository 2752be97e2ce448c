//! What to do with each answer (SPEC B6): settle, retry after a delay, give up
//! keeping the key, or release it. Pure: time and randomness come in as numbers.

/// Status passed for a network failure (fetch rejected with a `TypeError`).
pub const NETWORK_ERROR: i32 = -1;

/// Retry settings of one client or one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Requests in total, the first one included (1 = no retries).
    pub attempts: u32,
    /// Backoff base: the cap of the first retry's jittered delay.
    pub base_ms: f64,
    /// Largest backoff delay.
    pub max_ms: f64,
    /// Largest delay a `Retry-After` header may impose.
    pub max_retry_after_ms: f64,
    /// HTTP statuses that are retried, as a bitset (bit `s % 8` of byte `s / 8`);
    /// see [`Policy::statuses`].
    pub statuses: [u8; STATUS_BYTES],
}

/// Bytes of [`Policy::statuses`]: a bit for every status below 640.
pub const STATUS_BYTES: usize = 80;

impl Default for Policy {
    fn default() -> Self {
        Policy {
            attempts: 4,
            base_ms: 300.0,
            max_ms: 10_000.0,
            max_retry_after_ms: 60_000.0,
            statuses: Policy::statuses(&[408, 409, 425, 429, 500, 502, 503, 504]),
        }
    }
}

/// The verdict on one answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Success (or an opaque answer): the key is settled.
    Settle,
    /// Send the same request again with the same key after `delay_ms`.
    Retry {
        /// Milliseconds to wait.
        delay_ms: f64,
    },
    /// Retriable, but attempts are spent (or the request may not be resent):
    /// the key stays pending so the next try sends it again.
    Exhausted,
    /// Final failure: the key is released, a corrected request is a new action.
    Release,
}

/// One answer, as the engine sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    /// HTTP status; 0 for an opaque response; [`NETWORK_ERROR`] when fetch rejected.
    pub status: i32,
    /// The server marked it as a replay of a stored response.
    pub replayed: bool,
    /// Its `Retry-After`, in milliseconds from now (parsed by the facade).
    pub retry_after_ms: Option<f64>,
}

impl Policy {
    /// The bitset of `list` (statuses of 640 and above are left out).
    pub fn statuses(list: &[u16]) -> [u8; STATUS_BYTES] {
        let mut bits = [0u8; STATUS_BYTES];
        for &s in list {
            if let Some(b) = bits.get_mut(usize::from(s / 8)) {
                *b |= 1 << (s % 8);
            }
        }
        bits
    }

    /// Whether `status` is one this policy retries.
    pub fn retries_status(&self, status: i32) -> bool {
        status == NETWORK_ERROR || usize::try_from(status).ok().and_then(|s| self.statuses.get(s / 8).map(|b| b >> (s % 8) & 1 == 1)).unwrap_or(false)
    }

    /// Full-jitter exponential backoff before attempt `attempt + 1`:
    /// uniform in `[0, min(max, base * 2^(attempt-1)))`, `rand` in `[0, 1)`.
    pub fn backoff_ms(&self, attempt: u32, rand: f64) -> f64 {
        let exp = attempt.saturating_sub(1).min(52);
        let cap = (self.base_ms * f64::from(1u32 << exp.min(31))).min(self.max_ms);
        // Whole milliseconds; `max` also turns NaN into 0. (No `f64::floor` in
        // `no_std`: truncation is the floor of a non-negative value.)
        let v = (rand.clamp(0.0, 1.0) * cap).max(0.0);
        if v < 9.0e15 { (v as u64) as f64 } else { v }
    }

    /// The verdict on `answer` to attempt number `attempt` (1-based).
    /// `resendable` is false for requests that must not be sent twice
    /// (unkeyed unsafe methods, stream bodies).
    pub fn decide(&self, attempt: u32, answer: Answer, resendable: bool, rand: f64) -> Decision {
        let s = answer.status;
        if answer.replayed {
            // The server says this key's outcome is stored: resending gets the same answer.
            return if (200..400).contains(&s) { Decision::Settle } else { Decision::Release };
        }
        if (0..400).contains(&s) {
            return Decision::Settle;
        }
        if self.retries_status(s) {
            if resendable && attempt < self.attempts {
                let delay_ms = match answer.retry_after_ms {
                    Some(ra) => ra.min(self.max_retry_after_ms).max(0.0),
                    None => self.backoff_ms(attempt, rand),
                };
                return Decision::Retry { delay_ms };
            }
            return Decision::Exhausted;
        }
        Decision::Release
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: i32) -> Answer {
        Answer { status, replayed: false, retry_after_ms: None }
    }

    #[test]
    fn b6_success_settles_and_4xx_releases() {
        let p = Policy::default();
        assert_eq!(p.decide(1, answer(201), true, 0.5), Decision::Settle);
        assert_eq!(p.decide(1, answer(0), true, 0.5), Decision::Settle);
        assert_eq!(p.decide(1, answer(422), true, 0.5), Decision::Release);
        assert_eq!(p.decide(1, answer(400), true, 0.5), Decision::Release);
        assert_eq!(p.decide(1, answer(501), true, 0.5), Decision::Release);
    }

    #[test]
    fn b6_retriable_statuses_retry_until_attempts_run_out() {
        let p = Policy::default();
        for s in [NETWORK_ERROR, 408, 409, 425, 429, 500, 502, 503, 504] {
            assert!(matches!(p.decide(1, answer(s), true, 0.5), Decision::Retry { .. }), "{s}");
            assert!(matches!(p.decide(3, answer(s), true, 0.5), Decision::Retry { .. }), "{s}");
            assert_eq!(p.decide(4, answer(s), true, 0.5), Decision::Exhausted, "{s}");
        }
    }

    #[test]
    fn b6_unresendable_requests_are_never_retried() {
        let p = Policy::default();
        assert_eq!(p.decide(1, answer(503), false, 0.5), Decision::Exhausted);
    }

    #[test]
    fn b6_replays_are_final_even_when_5xx() {
        let p = Policy::default();
        let replay = |status| Answer { status, replayed: true, retry_after_ms: None };
        assert_eq!(p.decide(1, replay(500), true, 0.5), Decision::Release);
        assert_eq!(p.decide(1, replay(201), true, 0.5), Decision::Settle);
    }

    #[test]
    fn b6_full_jitter_backoff_is_bounded_and_grows() {
        let p = Policy { base_ms: 100.0, max_ms: 1000.0, ..Policy::default() };
        assert_eq!(p.backoff_ms(1, 0.0), 0.0);
        assert_eq!(p.backoff_ms(1, 0.999_999), 99.0);
        assert_eq!(p.backoff_ms(2, 0.999_999), 199.0);
        assert_eq!(p.backoff_ms(3, 0.5), 200.0);
        assert_eq!(p.backoff_ms(10, 0.999_999), 999.0); // capped by max
        assert_eq!(p.backoff_ms(200, 0.5), 500.0); // huge attempt numbers do not overflow
    }

    #[test]
    fn b6_retry_after_wins_and_is_capped_alone() {
        let p = Policy { max_ms: 10.0, max_retry_after_ms: 5_000.0, ..Policy::default() };
        let a = |ms| Answer { status: 429, replayed: false, retry_after_ms: Some(ms) };
        assert_eq!(p.decide(1, a(2_000.0), true, 0.9), Decision::Retry { delay_ms: 2_000.0 });
        assert_eq!(p.decide(1, a(90_000.0), true, 0.9), Decision::Retry { delay_ms: 5_000.0 });
        // A value too long for an f64 reaches the engine as infinity.
        assert_eq!(p.decide(1, a(f64::INFINITY), true, 0.9), Decision::Retry { delay_ms: 5_000.0 });
    }
}

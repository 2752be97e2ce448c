//! What to do with each answer (SPEC B6): settle, retry after a delay, give up
//! keeping the key, or release it. Pure: time and randomness come in as numbers.

#[allow(unused_imports)]
use crate::prelude::*;

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
    /// Parsed `Retry-After`, in milliseconds from now.
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

/// Parses a `Retry-After` value (delta-seconds or HTTP-date) into milliseconds
/// from `now_ms`; a date in the past gives 0. `None` for anything else.
pub fn parse_retry_after(value: &str, now_ms: f64) -> Option<f64> {
    let v = trim_ows(value);
    if v.is_empty() {
        return None;
    }
    if v.bytes().all(|b| b.is_ascii_digit()) {
        // Saturate absurdly long values instead of failing on them.
        let secs = v.bytes().fold(0u64, |n, d| n.saturating_mul(10).saturating_add(u64::from(d - b'0')));
        return Some((secs as f64) * 1000.0);
    }
    let at = parse_http_date(v)?;
    Some((at - now_ms).max(0.0))
}

/// `v` without leading and trailing spaces and tabs (HTTP's optional
/// whitespace; Unicode's other spaces are not HTTP's).
pub fn trim_ows(v: &str) -> &str {
    let b = v.as_bytes();
    let (mut start, mut end) = (0, b.len());
    while start < end && matches!(b.get(start), Some(b' ' | b'\t')) {
        start += 1;
    }
    while end > start && matches!(b.get(end - 1), Some(b' ' | b'\t')) {
        end -= 1;
    }
    debug_assert!(v.is_char_boundary(start) && v.is_char_boundary(end));
    // SAFETY: `start` and `end` are the ends of `v` or next to the ASCII
    // bytes trimmed: char boundaries, in order, within `v`.
    unsafe { v.get_unchecked(start..end) }
}

/// Parses an HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, RFC 850, asctime) into
/// milliseconds since the Unix epoch.
///
/// Read by its fields — runs of ASCII letters and digits, separated by runs
/// of SP `,` `-` `:` (any other byte: not a date) — in one pass over the
/// bytes, and told apart by their number: eight ending in `GMT`
/// (`Sun, 06 Nov 1994 08:49:37 GMT`, `Sunday, 06-Nov-94 08:49:37 GMT`) or
/// seven (`Sun Nov  6 08:49:37 1994`). Lenient about which separator stands
/// where; strict about the fields. The weekday is not checked.
pub fn parse_http_date(v: &str) -> Option<f64> {
    let b = v.as_bytes();
    let mut fields = [(0usize, 0usize); 8];
    let mut n = 0;
    let mut start = None;
    for i in 0..=b.len() {
        // A separator after the end closes the last field.
        let c = b.get(i).copied().unwrap_or(b' ');
        if c.is_ascii_alphanumeric() {
            start = start.or(Some(i));
        } else if matches!(c, b' ' | b',' | b'-' | b':') {
            if let Some(s) = start.take() {
                *fields.get_mut(n)? = (s, i);
                n += 1;
            }
        } else {
            return None;
        }
    }
    let field = |k: usize| fields.get(k).and_then(|&(s, e)| b.get(s..e));
    // Field `k` as a number of `min` to `max` digits, and its length.
    let num = |k: usize, min: usize, max: usize| -> Option<(u32, usize)> {
        let f = field(k)?;
        if f.len() < min || f.len() > max || !f.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some((f.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')), f.len()))
    };
    // Day, month, year and hour fields of the two shapes.
    let (d, m, y, t) = match n {
        8 if field(7)? == b"GMT" => (1, 2, 3, 4),
        7 => (2, 1, 6, 3),
        _ => return None,
    };
    let (day, _) = num(d, 1, 2)?;
    let month = month_number(field(m)?)?;
    let (year, digits) = num(y, 2, 4)?;
    let year = match digits {
        4 => i64::from(year),
        // RFC 850 only. RFC 9110: a two-digit year more than 50 years ahead is in the past century.
        2 if n == 8 => i64::from(year) + if year < 70 { 2000 } else { 1900 },
        _ => return None,
    };
    let ((h, _), (mi, _), (s, _)) = (num(t, 2, 2)?, num(t + 1, 2, 2)?, num(t + 2, 2, 2)?);
    if day == 0 || day > 31 || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + s);
    Some((secs as f64) * 1000.0)
}

/// The month of a three-letter English abbreviation (1-12).
fn month_number(m: &[u8]) -> Option<u32> {
    const MONTHS: &[u8; 36] = b"JanFebMarAprMayJunJulAugSepOctNovDec";
    (0..12u32).find(|&i| MONTHS.get(3 * i as usize..3 * i as usize + 3) == Some(m)).map(|i| i + 1)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = 784_111_777_000.0; // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("120", now), Some(120_000.0));
        assert_eq!(parse_retry_after(" 0 ", now), Some(0.0));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), Some(10_000.0));
        assert_eq!(parse_retry_after("Sunday, 06-Nov-94 08:49:39 GMT", now), Some(2_000.0));
        assert_eq!(parse_retry_after("Sun Nov  6 08:49:38 1994", now), Some(1_000.0));
        assert_eq!(parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now), Some(0.0));
        assert_eq!(parse_retry_after("99999999999999999999999", now), Some(u64::MAX as f64 * 1000.0));
        for bad in ["", "-1", "1.5", "soon", "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn http_dates_are_strict_about_their_fields() {
        let at = Some(784_111_777_000.0);
        for good in ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Sun Nov 06 08:49:37 1994"] {
            assert_eq!(parse_http_date(good), at, "{good:?}");
        }
        for bad in [
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 1994 08:49:37 GMT extra",
            "Sun Nov  6 08:49:37 94",
            "Sun, 06 Nov 994 08:49:37 GMT",
            "Sun Nov  6 8:49:37 1994",
            "Sun, 06 November 1994 08:49:37 GMT",
            "Sun, 06 nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT\n",
            "Sun,\t06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94$08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn http_date_epoch_and_leap_years() {
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0.0));
        assert_eq!(parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT"), Some(1_709_164_800_000.0));
    }
}

//! `Retry-After` values (`oncefetch::retry::{parse_retry_after, parse_http_date}`).
//!
//! The header comes from any server (or a proxy in front of it). The parsers
//! must take any text without panicking or overflowing, never produce a
//! negative or NaN wait, and read every date the `httpdate` crate reads
//! (IMF-fixdate, RFC 850, asctime) as the same instant.

use std::time::{Duration, UNIX_EPOCH};

use oncefetch::retry::{parse_http_date, parse_retry_after};

/// Milliseconds of `t` since the epoch (`httpdate` only yields times after it).
fn millis(t: std::time::SystemTime) -> Option<f64> {
    t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_millis() as f64)
}

/// Instants the wait is computed from: the epoch, the RFC's example date, today-ish, the far future.
const NOWS: [f64; 4] = [0.0, 784_111_777_000.0, 1_763_798_400_000.0, 253_402_300_799_000.0];

/// Last second of 9999-12-31: the latest HTTP-date `httpdate` formats.
const MAX_SECS: u64 = 253_402_300_799;

/// `retry_after`: any bytes as a header value, plus dates built from them.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check_value(&text);

    // Dates made from the input bytes, in all three HTTP-date formats.
    let mut secs = [0u8; 8];
    for (s, b) in secs.iter_mut().zip(data) {
        *s = *b;
    }
    let secs = u64::from_le_bytes(secs) % (MAX_SECS + 1);
    let want = secs as f64 * 1000.0;
    let forms = canonical_forms(secs);
    for form in &forms {
        assert_eq!(parse_http_date(form), Some(want), "{form:?} (from {:?})", forms[0]);
    }
    let imf = forms[0].clone();
    check_value(&imf);
}

/// The instant `secs` after the epoch in RFC 9110's spellings: IMF-fixdate
/// (by the httpdate crate), asctime, and RFC 850 when the year is 1970-2069
/// (two-digit years are read in that window).
fn canonical_forms(secs: u64) -> Vec<String> {
    let imf = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs));
    let mut out = vec![imf.clone()];
    // "Sun, 06 Nov 1994 08:49:37 GMT" -> "Sun Nov  6 08:49:37 1994" and "Sunday, 06-Nov-94 08:49:37 GMT".
    let w: Vec<&str> = imf.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    if let [wd, d, m, y, t, "GMT"] = w.as_slice() {
        out.push(format!("{wd} {m} {:>2} {t} {y}", d.trim_start_matches('0')));
        let year: u32 = y.parse().unwrap_or(0);
        if (1970..2070).contains(&year) {
            let long = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
                .iter()
                .find(|l| l.starts_with(wd))
                .copied()
                .unwrap_or("Sunday");
            out.push(format!("{long}, {d}-{m}-{:02} {t} GMT", year % 100));
        }
    }
    out
}

fn check_value(text: &str) {
    for now in NOWS {
        if let Some(ms) = parse_retry_after(text, now) {
            assert!(ms >= 0.0 && !ms.is_nan(), "Retry-After {text:?} at {now} gave {ms}");
            let t = oncefetch::retry::trim_ows(text);
            if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
                let secs = t.parse::<u64>().unwrap_or(u64::MAX);
                assert_eq!(ms, secs as f64 * 1000.0, "delta-seconds {text:?}");
            } else {
                // Not delta-seconds: it was read as a date, and the wait is the time until it.
                let at = parse_http_date(t);
                assert_eq!(Some(ms), at.map(|a| (a - now).max(0.0)), "date {text:?} at {now}");
            }
        }
    }
    if let Some(at) = parse_http_date(text) {
        assert!(at.is_finite() && at % 1000.0 == 0.0, "{text:?} -> {at}");
        // Years 0000-9999 at most (four digits), whatever the day and time fields say.
        assert!((-62_167_219_200_000.0..=253_402_387_200_000.0).contains(&at), "{text:?} -> {at}");
    }
    // Differential: a date the httpdate crate reads, spelled exactly as RFC 9110
    // spells it (httpdate also takes other separators), we read as the same instant.
    if let Ok(t) = httpdate::parse_http_date(text) {
        if let Some(want) = millis(t) {
            if canonical_forms(want as u64 / 1000).iter().any(|f| f == text) {
                assert_eq!(parse_http_date(text), Some(want), "httpdate reads {text:?} as {want} ms");
            }
        }
    }
}

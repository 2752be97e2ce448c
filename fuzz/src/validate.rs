//! Key and action validation (`oncefetch::validate::{key, action, is_header_value}`).
//!
//! A caller-supplied key goes into a request header; an action goes into
//! events and debug log lines. Neither may smuggle a line break (header or
//! log injection). Checked against the `http` crate's header-value rules.

use oncefetch::validate;

/// `validate`: any bytes as the string a caller passed.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let v: &str = &text;

    let hv = validate::is_header_value(v);
    if hv {
        assert!(v.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)), "{v:?} passed with a control or non-ASCII byte");
        assert!(!v.starts_with([' ', '\t']) && !v.ends_with([' ', '\t']), "{v:?} passed with surrounding whitespace");
        // The header line it makes is exactly one line.
        let line = format!("Idempotency-Key: {v}\r\n");
        assert_eq!(line.matches('\n').count(), 1, "{v:?}");
        assert_eq!(line.matches('\r').count(), 1, "{v:?}");
        // And a real HTTP implementation accepts it as a header value, as is.
        let parsed = http::HeaderValue::from_str(v);
        assert!(parsed.is_ok(), "http::HeaderValue refuses {v:?}");
    } else {
        // Refused only for a reason: a byte outside visible ASCII/space/tab, or surrounding whitespace.
        let bad_byte = v.bytes().any(|b| !(b == b'\t' || (0x20..0x7f).contains(&b)));
        assert!(bad_byte || v.trim() != v, "{v:?} refused for no reason");
    }

    match validate::key(v) {
        Ok(()) => assert!(!v.is_empty() && hv, "key {v:?} accepted"),
        Err(e) => {
            assert!(v.is_empty() || !hv, "key {v:?} refused");
            assert!(e.message().starts_with("oncefetch: `headers`"), "{}", e.message());
        }
    }

    let crlf = v.contains(['\r', '\n', '\0']);
    match validate::action(v) {
        Ok(()) => assert!(!v.is_empty() && !crlf, "action {v:?} accepted"),
        Err(e) => {
            assert!(v.is_empty() || crlf, "action {v:?} refused");
            assert!(e.message().starts_with("oncefetch: `action`"), "{}", e.message());
        }
    }
    // A valid action prints as one log line ("[IDEMP] HIT action=… key=…").
    if validate::action(v).is_ok() {
        assert_eq!(format!("[IDEMP] HIT action={v} key=8e03978e…").lines().count(), 1, "{v:?}");
    }
}

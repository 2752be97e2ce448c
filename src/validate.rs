//! Validation of call-time input (SPEC B1): keys and actions never carry CR,
//! LF or NUL. (Header names are checked by the facade, synchronously, in
//! `createClient`, before the wasm module has loaded.)

#[allow(unused_imports)]
use crate::prelude::*;

use crate::error::Error;

/// Whether `v` can be sent as a header value: visible ASCII, space and tab
/// only; no CR, LF or NUL (header injection), no leading/trailing space.
pub fn is_header_value(v: &str) -> bool {
    let b = v.as_bytes();
    let ows = |c: Option<&u8>| matches!(c, Some(b' ' | b'\t'));
    b.iter().all(|&c| c == b'\t' || (0x20..0x7f).contains(&c)) && !ows(b.first()) && !ows(b.last())
}

/// Checks a caller-supplied key.
pub fn key(v: &str) -> Result<(), Error> {
    if !v.is_empty() && is_header_value(v) {
        Ok(())
    } else {
        Err(Error::invalid("headers", "has an idempotency key that is empty or contains CR, LF or other control characters"))
    }
}

/// Checks an action string (it appears in events and logs, never in headers,
/// but a CR/LF there is always a bug or an injection attempt).
pub fn action(v: &str) -> Result<(), Error> {
    if v.is_empty() {
        return Err(Error::invalid("action", "must be a non-empty string"));
    }
    // Bytes, not chars: in UTF-8 an ASCII byte is always that character.
    if v.as_bytes().iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(Error::invalid("action", "must not contain CR, LF or NUL"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b1_keys_and_actions_reject_crlf() {
        assert!(key("8e03978e-40d5-43e8-bc93-6894a57f9324").is_ok());
        assert!(key("\"quoted\"").is_ok());
        for bad in ["", "a\r\nX-Evil: 1", "a\n", "a\0", " padded "] {
            assert!(key(bad).is_err(), "{bad:?}");
        }
        assert!(action("track:test.mp4").is_ok());
        assert!(action("ünïcode ok").is_ok());
        for bad in ["", "a\rb", "a\nb", "a\0"] {
            assert!(action(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn errors_name_the_field() {
        let msg = action("").err().map(|e| e.message()).unwrap_or_default();
        assert!(msg.contains("`action`"), "{msg}");
    }
}

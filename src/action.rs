//! Action identity: which calls are "the same logical action" (SPEC B2, B13).
//!
//! An identity is a 48-character hex string, cheap to use as a map key in JS:
//! `scope tag (8) | action id (24) | request fingerprint (16)`.
//! - the scope tag groups a scope's storage entries without naming the scope;
//! - the action id is the explicit `action` or, without one, the request
//!   fingerprint, hashed together with the scope;
//! - the fingerprint hashes method, absolute URL and the exact body bytes, so
//!   the same explicit action with another payload is told apart (never the
//!   same key with a different payload).
//!
//! Nothing here is reversible: storage sees hashes, never the scope, action,
//! URL or body in clear.

#[allow(unused_imports)]
use crate::prelude::*;

use crate::hash::{hex_prefix, sha256_parts, Sha256};

/// Prefix of every storage key this library writes.
pub const STORAGE_PREFIX: &str = "oncefetch:1:";

const SCOPE_TAG_LEN: usize = 8;
const ACTION_ID_LEN: usize = 24;
/// Length of the request fingerprint stored in entries.
pub const FINGERPRINT_LEN: usize = 16;
/// Length of an identity string.
pub const IDENTITY_LEN: usize = SCOPE_TAG_LEN + ACTION_ID_LEN + FINGERPRINT_LEN;

/// The 8-hex tag of a scope.
pub fn scope_tag(scope: &str) -> String {
    hex_prefix(&sha256_parts(&[b"scope", scope.as_bytes()]), SCOPE_TAG_LEN / 2)
}

/// The storage-key prefix shared by every entry of `scope`.
pub fn scope_prefix(scope: &str) -> String {
    crate::cat(&[STORAGE_PREFIX, &scope_tag(scope), ":"])
}

/// The fingerprint's hash — SHA-256 of method, absolute URL and body bytes,
/// each followed by a 0 byte — fed with method and URL: the body follows with
/// `update` (in as many pieces as wanted), then [`identify_hashed`], which
/// keeps the first 16 hex.
pub fn fingerprint_hasher(method: &str, url: &str) -> Sha256 {
    let mut h = Sha256::default();
    // Two plain calls each, not a loop over an array (no array iterator in the wasm).
    h.update(method.as_bytes());
    h.update(&[0]);
    h.update(url.as_bytes());
    h.update(&[0]);
    h
}

/// The identity of a call whose method, URL and body are in `body_hash`
/// (see [`fingerprint_hasher`]).
pub fn identify_hashed(scope: &str, action: Option<&str>, mut body_hash: Sha256) -> String {
    body_hash.update(&[0]);
    let fp = hex_prefix(&body_hash.finalize(), FINGERPRINT_LEN / 2);
    let mut out = scope_and_action(scope, action, &fp);
    out.push_str(&fp);
    out
}

/// The identity of a call (see the module docs for its layout).
pub fn identify(scope: &str, method: &str, url: &str, action: Option<&str>, body: &[u8]) -> String {
    let mut h = fingerprint_hasher(method, url);
    h.update(body);
    identify_hashed(scope, action, h)
}

/// The identity of an explicit action with no request attached (`keyFor`,
/// `release`): its fingerprint is empty, which matches any request.
pub fn identify_action(scope: &str, action: &str) -> String {
    scope_and_action(scope, Some(action), "")
}

/// Scope tag and action id: the explicit action's, or the request's (its fingerprint `fp`).
fn scope_and_action(scope: &str, action: Option<&str>, fp: &str) -> String {
    let id = match action {
        Some(a) => sha256_parts(&[b"action", scope.as_bytes(), a.as_bytes()]),
        None => sha256_parts(&[b"request", scope.as_bytes(), fp.as_bytes()]),
    };
    let mut out = scope_tag(scope);
    out.push_str(&hex_prefix(&id, ACTION_ID_LEN / 2));
    out
}

/// The storage key of an identity, or `None` when `ident` is not one of ours.
pub fn storage_key(ident: &str) -> Option<String> {
    let tag = ident.get(..SCOPE_TAG_LEN)?;
    let id = ident.get(SCOPE_TAG_LEN..SCOPE_TAG_LEN + ACTION_ID_LEN)?;
    Some(crate::cat(&[STORAGE_PREFIX, tag, ":", id]))
}

/// The fingerprint part of an identity; empty for [`identify_action`] ones.
pub fn fingerprint_of(ident: &str) -> &str {
    ident.get(SCOPE_TAG_LEN + ACTION_ID_LEN..).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b2_same_request_same_identity() {
        let a = identify("s", "POST", "https://x.test/a", None, b"{\"v\":1}");
        let b = identify("s", "POST", "https://x.test/a", None, b"{\"v\":1}");
        assert_eq!(a, b);
        assert_eq!(a.len(), IDENTITY_LEN);
    }

    #[test]
    fn b2_any_difference_changes_derived_identity() {
        let base = identify("s", "POST", "https://x.test/a", None, b"body");
        assert_ne!(base, identify("s", "PATCH", "https://x.test/a", None, b"body"));
        assert_ne!(base, identify("s", "POST", "https://x.test/b", None, b"body"));
        assert_ne!(base, identify("s", "POST", "https://x.test/a", None, b"body "));
        assert_ne!(base, identify("t", "POST", "https://x.test/a", None, b"body"));
    }

    #[test]
    fn b2_explicit_action_keeps_its_id_but_fingerprint_follows_payload() {
        let a = identify("s", "POST", "https://x.test/a", Some("track:1"), b"one");
        let b = identify("s", "POST", "https://x.test/a", Some("track:1"), b"two");
        assert_eq!(storage_key(&a), storage_key(&b));
        assert_ne!(fingerprint_of(&a), fingerprint_of(&b));
        assert_eq!(storage_key(&identify_action("s", "track:1")), storage_key(&a));
        assert_eq!(fingerprint_of(&identify_action("s", "track:1")), "");
    }

    #[test]
    fn b13_scopes_never_share_storage_keys() {
        let a = identify("user-1", "POST", "u", Some("x"), b"");
        let b = identify("user-2", "POST", "u", Some("x"), b"");
        assert_ne!(storage_key(&a), storage_key(&b));
        let key = storage_key(&a).unwrap_or_default();
        assert!(key.starts_with(&scope_prefix("user-1")));
        assert!(!key.starts_with(&scope_prefix("user-2")));
    }

    #[test]
    fn b5_storage_key_reveals_nothing() {
        let ident = identify("secret-scope", "POST", "https://x.test/orders", Some("buy:42"), b"card");
        let key = storage_key(&ident).unwrap_or_default();
        for clear in ["secret", "orders", "buy", "card"] {
            assert!(!key.contains(clear), "{key} contains {clear}");
        }
    }

    #[test]
    fn storage_key_rejects_short_input() {
        assert_eq!(storage_key("abc"), None);
        assert_eq!(fingerprint_of("abc"), "");
    }
}

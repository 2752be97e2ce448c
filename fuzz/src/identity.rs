//! Action identity (`oncefetch::action::{identify, storage_key, fingerprint_of}`).
//!
//! Scope, method, URL, action and body are the caller's (and so, in part, the
//! user's). Whatever they are: an identity is 48 lowercase hex characters,
//! always has a storage key of our exact shape under the scope's prefix, and
//! neither carries any of the input text (storage sees hashes only, SPEC B5).
//! The fingerprint is checked against the `sha2` crate's SHA-256.

use arbitrary::Arbitrary;
use oncefetch::action::{
    fingerprint_hasher, fingerprint_of, identify, identify_action, identify_hashed, scope_prefix, storage_key, FINGERPRINT_LEN, IDENTITY_LEN,
    STORAGE_PREFIX,
};

/// `action_identity`: one call, and a second one differing in some parts.
#[derive(Debug, Arbitrary)]
pub struct IdentityCase {
    /// Client or call scope.
    pub scope: String,
    /// HTTP method.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Explicit action, if any.
    pub action: Option<String>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// Another scope.
    pub other_scope: String,
    /// Another method, URL and body for the same action.
    pub other: (String, String, Vec<u8>),
    /// Any text handed to `storage_key` / `fingerprint_of` (e.g. a tampered identity).
    pub raw: String,
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `oncefetch:1:<8 hex>:<24 hex>`.
fn assert_our_shape(sk: &str, ctx: &str) {
    let rest = sk.strip_prefix(STORAGE_PREFIX).unwrap_or_else(|| panic!("{sk:?} lacks the prefix ({ctx})"));
    let parts: Vec<&str> = rest.split(':').collect();
    assert!(
        matches!(parts.as_slice(), [tag, id] if tag.len() == 8 && id.len() == 24 && is_hex(tag) && is_hex(id)),
        "{sk:?} is not oncefetch:1:<8 hex>:<24 hex> ({ctx})"
    );
}

/// Storage must not see `text` in clear: true for any text that is not itself
/// made of hex digits and colons (those can occur in a hash by chance).
fn assert_hidden(sk: &str, text: &str, what: &str) {
    let hashed = &sk[STORAGE_PREFIX.len()..];
    if text.chars().any(|c| !(c.is_ascii_hexdigit() && !c.is_ascii_uppercase() || c == ':')) {
        assert!(!hashed.contains(text), "storage key {sk:?} contains the {what} {text:?}");
    }
}

/// Checks every identity property on one case.
pub fn check(c: &IdentityCase) {
    let action = c.action.as_deref();
    let ident = identify(&c.scope, &c.method, &c.url, action, &c.body);
    assert_eq!(ident.len(), IDENTITY_LEN, "{ident:?}");
    assert_eq!(IDENTITY_LEN, 48);
    assert!(is_hex(&ident), "{ident:?} is not lowercase hex");
    assert_eq!(ident, identify(&c.scope, &c.method, &c.url, action, &c.body), "not deterministic");

    // Storage key: always there for an identity, our shape, under the scope's prefix.
    let sk = storage_key(&ident).unwrap_or_else(|| panic!("no storage key for identity {ident:?}"));
    assert_our_shape(&sk, "identify");
    assert!(sk.starts_with(&scope_prefix(&c.scope)), "{sk:?} is outside its scope's prefix");
    for (text, what) in [(&c.scope, "scope"), (&c.method, "method"), (&c.url, "url")] {
        assert_hidden(&sk, text, what);
    }
    if let Some(a) = action {
        assert_hidden(&sk, a, "action");
    }
    if let Ok(body) = std::str::from_utf8(&c.body) {
        assert_hidden(&sk, body, "body");
    }

    // Fingerprint: 16 hex of method, URL and body, whatever the action.
    let fp = fingerprint_of(&ident);
    assert_eq!(fp.len(), FINGERPRINT_LEN);
    // The body hashed in two pieces (as the engine hashes long bodies) is the same identity.
    let mut pieces = fingerprint_hasher(&c.method, &c.url);
    let (b1, b2) = c.body.split_at(c.raw.len() % (c.body.len() + 1));
    pieces.update(b1);
    pieces.update(b2);
    assert_eq!(identify_hashed(&c.scope, action, pieces), ident, "hashing the body in pieces changed the identity");
    // The hand-written SHA-256 against the sha2 crate: the fingerprint is the
    // first 8 bytes of SHA-256(method \0 url \0 body \0), and the incremental
    // hasher gives the same digest whatever the split of its input.
    let mut whole = Vec::with_capacity(c.method.len() + c.url.len() + c.body.len() + 3);
    for part in [c.method.as_bytes(), c.url.as_bytes(), &c.body] {
        whole.extend_from_slice(part);
        whole.push(0);
    }
    let digest = <sha2::Sha256 as sha2::Digest>::digest(&whole);
    assert_eq!(fp, oncefetch::hash::hex(&digest[..FINGERPRINT_LEN / 2]), "fingerprint is not SHA-256 of its parts");
    let mut h = oncefetch::hash::Sha256::default();
    let (head, tail) = whole.split_at(c.raw.len() % (whole.len() + 1));
    h.update(head);
    h.update(tail);
    assert_eq!(h.finalize().as_slice(), digest.as_slice(), "SHA-256 differs from the sha2 crate");

    // The same explicit action: one storage key for any request; keyFor/release find it.
    let (om, ou, ob) = &c.other;
    let other = identify(&c.scope, om, ou, action, ob);
    match action {
        Some(a) => {
            assert_eq!(storage_key(&other), Some(sk.clone()), "an explicit action's storage key follows the request");
            let bare = identify_action(&c.scope, a);
            assert_eq!(bare.len(), IDENTITY_LEN - FINGERPRINT_LEN);
            assert_eq!(storage_key(&bare), Some(sk.clone()), "keyFor/release would miss the action");
            assert_eq!(fingerprint_of(&bare), "");
            // An explicit action never shares a storage key with a derived identity.
            assert_ne!(storage_key(&identify(&c.scope, &c.method, &c.url, None, &c.body)), Some(sk.clone()));
        }
        None => {
            // Parts are hashed with NUL separators; a method is an HTTP token and a
            // URL parser percent-encodes NUL, so real parts never contain one.
            let real = ![&c.method, &c.url, om, ou].iter().any(|s| s.contains('\0'));
            if real && (om, ou, ob) != (&c.method, &c.url, &c.body) {
                assert_ne!(other, ident, "two different requests share a derived identity");
            }
        }
    }

    // Scope isolation (SPEC B13): another scope, another identity and storage key.
    if c.other_scope != c.scope {
        let there = identify(&c.other_scope, &c.method, &c.url, action, &c.body);
        assert_ne!(there, ident);
        assert_ne!(storage_key(&there), Some(sk.clone()), "two scopes share a storage key");
    }

    // Any text: never a panic; a storage key only from 32+ bytes, and then with the prefix.
    if let Some(k) = storage_key(&c.raw) {
        assert!(k.starts_with(STORAGE_PREFIX) && c.raw.len() >= 32, "{k:?} from {:?}", c.raw);
    }
    let _ = fingerprint_of(&c.raw);
}

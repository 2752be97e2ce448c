//! The crate's one error type and its one conversion into a JavaScript value.

#[allow(unused_imports)]
use crate::prelude::*;

use wasm_bindgen::JsValue;

/// Everything that can go wrong inside the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The caller passed something unusable; becomes a `TypeError` naming `field`.
    Invalid {
        /// The option or `init` field at fault, as the caller spelled it.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The browser's CSPRNG could not be read; no key is ever made without it.
    Random(String),
}

impl Error {
    /// Shorthand for an [`Error::Invalid`].
    pub fn invalid(field: &'static str, reason: &'static str) -> Self {
        Error::Invalid { field, reason }
    }

    /// The message shown to the caller.
    pub fn message(&self) -> String {
        match self {
            Error::Invalid { field, reason } => crate::cat(&["oncefetch: `", field, "` ", reason]),
            Error::Random(why) => crate::cat(&["oncefetch: crypto.getRandomValues failed: ", why]),
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message())
    }
}

impl From<Error> for JsValue {
    fn from(e: Error) -> JsValue {
        let msg = e.message();
        match e {
            Error::Invalid { .. } => js_sys::TypeError::new(&msg).into(),
            Error::Random(_) => js_sys::Error::new(&msg).into(),
        }
    }
}

/// Describes any thrown JavaScript value without assuming it is an `Error`
/// (scripts can throw strings, `null` or objects whose getters throw).
pub fn describe(value: &JsValue) -> String {
    if let Some(s) = value.as_string() {
        return s;
    }
    if let Some(e) = wasm_bindgen::JsCast::dyn_ref::<js_sys::Error>(value) {
        return String::from(e.message());
    }
    if value.is_null() {
        return "null".into();
    }
    if value.is_undefined() {
        return "undefined".into();
    }
    "non-Error value".into()
}

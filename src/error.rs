//! The crate's one error type. At the JS boundary (`abi.rs`) an
//! [`Error::Invalid`] becomes a `TypeError`, anything else an `Error`.

#[allow(unused_imports)]
use crate::prelude::*;

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

//! A component's bytes, shared without copying.

use std::ops::Deref;
use std::sync::Arc;

/// A component's bytes: a bundled plugin's are the binary's own, taken as
/// they are (copying ~12 MB of bundled components cost every command
/// several milliseconds before it did anything); a file's are read once
/// and shared.
#[derive(Clone)]
pub enum WasmBytes {
    /// Built into the binary.
    Bundled(&'static [u8]),
    /// Read from a plugin file.
    Read(Arc<[u8]>),
}

impl Deref for WasmBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            WasmBytes::Bundled(bytes) => bytes,
            WasmBytes::Read(bytes) => bytes,
        }
    }
}

impl AsRef<[u8]> for WasmBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl From<Arc<[u8]>> for WasmBytes {
    fn from(bytes: Arc<[u8]>) -> Self {
        WasmBytes::Read(bytes)
    }
}

impl From<Vec<u8>> for WasmBytes {
    fn from(bytes: Vec<u8>) -> Self {
        WasmBytes::Read(Arc::from(bytes))
    }
}

impl From<&'static [u8]> for WasmBytes {
    fn from(bytes: &'static [u8]) -> Self {
        WasmBytes::Bundled(bytes)
    }
}

//! Python `bytes` as `Bytes` for a body: copied when small, else kept alive without a copy
//! (Phase C).

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;

/// Bodies smaller than this are copied: a copy is cheaper than keeping the Python object alive
/// (whose release without the GIL goes through PyO3's deferred decref pool).
const ZERO_COPY_MIN: usize = 8 * 1024;

/// Bytes of a Python `bytes`, kept alive as the body when large (Phase C: no copy).
pub fn body_from_pybytes(b: &Bound<'_, PyBytes>) -> Bytes {
    let slice = b.as_bytes();
    if slice.len() < ZERO_COPY_MIN {
        Bytes::copy_from_slice(slice)
    } else {
        Bytes::from_owner(PyBackedBytes::from(b.clone()))
    }
}

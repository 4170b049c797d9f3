//! `turboapi._core`: the Rust HTTP core. This file only lists what the module exports.

mod access_log;
mod app;
mod bodystream;
mod connection;
mod contract;
mod convert;
mod dispatch;
mod engine;
mod extract;
mod filebody;
#[cfg(test)]
mod fuzz_tests;
mod gate;
mod layers;
mod peer;
mod plan;
mod pool;
mod proxy;
mod pybytes;
mod reply;
mod request;
mod router;
mod server;
mod shards;
mod spool;
mod stream;
#[cfg(test)]
mod testing;
mod tls;
mod ws_driver;
mod ws_handshake;
mod ws_session;
mod ws_test;

use pyo3::prelude::*;

/// `gil_used = false`: on free-threaded CPython the module keeps the GIL off. Its state is behind
/// Rust's `Sync` types (mutexes, atomics, channels), never behind the GIL (ARCHITECTURE.md).
#[pymodule(gil_used = false)]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<engine::Engine>()?;
    m.add_class::<engine::ReplyBody>()?;
    m.add_class::<request::RequestData>()?;
    m.add_class::<dispatch::Completion>()?;
    m.add_class::<dispatch::Next>()?;
    m.add_class::<stream::BodyWriter>()?;
    m.add_class::<ws_session::WebSocketChannel>()?;
    m.add_class::<bodystream::BodyReader>()?;
    m.add_class::<ws_test::WebSocketTestConnection>()?;
    m.add_function(wrap_pyfunction!(layers::native_regex_supported, m)?)?;
    m.add_function(wrap_pyfunction!(request::live_requests, m)?)?;
    Ok(())
}

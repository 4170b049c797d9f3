//! A Python result as a `Reply`: what a handler returned (a model, a dict, bytes, a Response),
//! a `Response` object's status, headers and body, and a planned file response.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyMemoryView, PyTuple};

use crate::contract::Hooks;
use crate::filebody::FileBody;
use crate::plan::RoutePlan;
use crate::pybytes::body_from_pybytes;
use crate::reply::{Later, Reply, JSON, OCTETS};

/// Body bytes from bytes, bytearray or memoryview; `None` for anything else.
fn raw_body(obj: &Bound<'_, PyAny>) -> PyResult<Option<Bytes>> {
    if let Ok(b) = obj.downcast::<PyBytes>() {
        return Ok(Some(body_from_pybytes(b)));
    }
    if let Ok(b) = obj.downcast::<PyByteArray>() {
        return Ok(Some(Bytes::from(b.to_vec())));
    }
    if obj.is_instance_of::<PyMemoryView>() {
        let b = obj.call_method0(pyo3::intern!(obj.py(), "tobytes"))?;
        return Ok(Some(body_from_pybytes(b.downcast::<PyBytes>()?)));
    }
    Ok(None)
}

/// Whether a status code may carry a body (FastAPI empties it for 1xx, 204 and 304).
fn body_allowed(status: u16) -> bool {
    !(status < 200 || status == 204 || status == 304)
}

/// Turn what a handler returned into a reply.
pub fn from_result(
    py: Python<'_>,
    hooks: &Hooks,
    plan: &RoutePlan,
    result: &Bound<'_, PyAny>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Reply> {
    if result.is_instance(hooks.response_class.bind(py))? {
        return from_response_object(hooks, result);
    }
    let status = plan.status_code;
    let body = if plan.custom_serialize {
        // response_model, response_class or a `Response` parameter: the route's Python decides.
        let out = plan.serialize.bind(py).call1((result, kwargs))?;
        match out.downcast::<PyBytes>() {
            Ok(bytes) => body_from_pybytes(bytes),
            Err(_) => return from_response_object(hooks, &out),
        }
    } else if let Some(raw) = raw_body(result)? {
        let mut reply = Reply::new(status, OCTETS, raw);
        if !body_allowed(status) {
            reply.body = Bytes::new();
        }
        return Ok(reply);
    } else {
        hooks.dumps(py, result)?
    };
    let mut reply = Reply::new(status, JSON, body);
    if !body_allowed(status) {
        reply.body = Bytes::new();
    }
    Ok(reply)
}

/// A `turboapi.responses.Response`: its status, raw header list and body, as they are.
pub fn from_response_object(hooks: &Hooks, obj: &Bound<'_, PyAny>) -> PyResult<Reply> {
    let py = obj.py();
    let status: u16 = obj.getattr(pyo3::intern!(py, "status_code"))?.extract()?;
    let streaming = obj.is_instance(hooks.stream_types.bind(py))?;
    let body = if streaming {
        Bytes::new() // the body comes from the stream (or the file) later
    } else {
        let body_obj = obj.getattr(pyo3::intern!(py, "body"))?;
        raw_body(&body_obj)?.ok_or_else(|| {
            pyo3::exceptions::PyTypeError::new_err(format!(
                "Response.body must be bytes, not {}",
                body_obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
            ))
        })?
    };
    let headers = headers_from_raw(&obj.getattr(pyo3::intern!(py, "raw_headers"))?)?;
    let background = obj.getattr(pyo3::intern!(py, "background")).ok().filter(|b| !b.is_none()).map(|b| b.unbind());
    Ok(Reply {
        status,
        headers,
        body: if body_allowed(status) { body } else { Bytes::new() },
        error: None,
        background,
        later: if streaming && body_allowed(status) { Later::Source(obj.clone().unbind()) } else { Later::No },
    })
}

pub fn headers_from_raw(raw_headers: &Bound<'_, PyAny>) -> PyResult<Vec<(HeaderName, HeaderValue)>> {
    let raw_headers = raw_headers.downcast::<PyList>()?;
    let mut headers = Vec::with_capacity(raw_headers.len());
    for pair in raw_headers.iter() {
        let pair = pair.downcast::<PyTuple>()?;
        let name = pair.get_item(0)?;
        let value = pair.get_item(1)?;
        let name = HeaderName::from_bytes(name.downcast::<PyBytes>()?.as_bytes())
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("invalid response header name: {e}")))?;
        // HeaderValue refuses CR, LF and NUL: a header can never be used to inject another one.
        let value = HeaderValue::from_bytes(value.downcast::<PyBytes>()?.as_bytes()).map_err(|_| {
            pyo3::exceptions::PyValueError::new_err(format!("invalid value for response header {name}"))
        })?;
        headers.push((name, value));
    }
    Ok(headers)
}

/// A file response planned by Python (`FileResponse._plan`): `(status, raw headers, path,
/// segments)`, each segment `bytes` or `(offset, length)` of the file.
pub fn from_file_plan(plan: &Bound<'_, PyAny>, background: Option<Py<PyAny>>) -> PyResult<Reply> {
    let (status, raw_headers, path, segments): (u16, Bound<'_, PyAny>, std::path::PathBuf, Bound<'_, PyList>) =
        plan.extract()?;
    let mut parts = Vec::with_capacity(segments.len());
    for segment in segments.iter() {
        if let Ok(bytes) = segment.downcast::<PyBytes>() {
            parts.push(crate::filebody::Segment::Bytes(body_from_pybytes(bytes)));
        } else {
            let (offset, len): (u64, u64) = segment.extract()?;
            parts.push(crate::filebody::Segment::Range { offset, len });
        }
    }
    let mut reply = Reply::new(status, OCTETS, Bytes::new());
    reply.headers = headers_from_raw(&raw_headers)?;
    reply.background = background;
    if body_allowed(status) && !parts.is_empty() {
        reply.later = Later::File(Box::new(FileBody::new(path, parts)));
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{eval, with_python, HOOKS};

    fn convert(py: Python<'_>, expression: &str) -> PyResult<Reply> {
        // One namespace: the response's class must be the hooks' own.
        let (hooks, response): (Bound<'_, PyAny>, Bound<'_, PyAny>) =
            eval(py, HOOKS, &format!("(hooks, {expression})")).extract().unwrap();
        from_response_object(&Hooks::from_py(&hooks).unwrap(), &response)
    }

    #[test]
    fn a_response_keeps_its_status_headers_and_body() {
        with_python(|py| {
            let reply = convert(py, "Response(memoryview(b'abc'), 202, [('x-one', '1'), ('x-one', '2')])").unwrap();
            assert_eq!((reply.status, &reply.body[..]), (202, &b"abc"[..]));
            let values: Vec<_> = reply.headers.iter().map(|(n, v)| (n.as_str(), v.to_str().unwrap())).collect();
            assert_eq!(values, vec![("x-one", "1"), ("x-one", "2")]);
        });
    }

    #[test]
    fn statuses_without_a_body_lose_it_and_streams_are_left_for_later() {
        with_python(|py| {
            assert!(convert(py, "Response(b'gone', 204)").unwrap().body.is_empty());
            assert!(convert(py, "Response(b'same', 304)").unwrap().body.is_empty());
            let streamed = convert(py, "Streaming(None, 200)").unwrap();
            assert!(matches!(streamed.later, Later::Source(_)));
        });
    }

    #[test]
    fn a_bad_body_or_header_is_an_error_naming_it() {
        with_python(|py| {
            let err = convert(py, "Response('text', 200)").err().expect("str is not a body");
            assert!(err.to_string().contains("Response.body must be bytes, not str"), "{err}");
            let err = convert(py, "Response(b'', 200, [('x-evil', 'a\\r\\nset-cookie: b')])").err().unwrap();
            assert!(err.to_string().contains("invalid value for response header x-evil"), "{err}");
        });
    }
}

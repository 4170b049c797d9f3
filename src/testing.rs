//! Unit-test support: an embedded interpreter and small Python objects that stand in for the
//! Python side (hooks, routes, tasks), so the core's modules are tested without a server.

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Run `f` holding the GIL of the embedded interpreter (started once per test process).
pub fn with_python<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
    pyo3::prepare_freethreaded_python();
    Python::with_gil(f)
}

/// The value of a Python expression, evaluated after `setup` (statements) ran in a fresh namespace.
pub fn eval<'py>(py: Python<'py>, setup: &str, expression: &str) -> Bound<'py, PyAny> {
    let namespace = PyDict::new(py);
    let setup = std::ffi::CString::new(setup).expect("no NUL");
    py.run(&setup, Some(&namespace), None).expect("setup runs");
    let expression = std::ffi::CString::new(expression).expect("no NUL");
    py.eval(&expression, Some(&namespace), None).expect("expression evaluates")
}

/// Stand-ins for the Python side's hooks (contract.Hooks): JSON by the standard library, a
/// `Response` class with the attributes the core reads, exceptions unhandled unless `handled`.
pub const HOOKS: &str = r#"
import json, types, contextvars

class Response:
    def __init__(self, body=b"", status_code=200, headers=(), background=None):
        self.body = body
        self.status_code = status_code
        self.raw_headers = [(k.encode(), v.encode()) for k, v in headers]
        self.background = background

class Streaming(Response):
    pass

class Handled:
    kind = 0
    def __init__(self, response):
        self.response = response

errors = []
def handle_exception(exc, request):
    errors.append(exc)
    if isinstance(exc, LookupError):
        return Handled(Response(b"handled", 418))
    return None

def eager_start(coro, loop):
    try:
        coro.send(None)
    except StopIteration as stop:
        return 0, stop.value
    except BaseException as exc:
        return 1, exc
    raise AssertionError("these tests' coroutines never wait")

hooks = types.SimpleNamespace(
    response_class=Response,
    dumps=lambda obj: json.dumps(obj, separators=(",", ":")).encode(),
    dumps_args=[],
    fallback_dumps=lambda obj: json.dumps(obj).encode(),
    base_model=type("BaseModel", (), {}),
    dump_model=None,
    handle_exception=handle_exception,
    fresh_default=lambda value: list(value),
    eager_start=eager_start,
    start_background=lambda background, after, loop: None,
    middleware_entry=None,
    native_layers=[],
    make_response=lambda status, headers, body, background: Response(body, status),
    stream_types=(Streaming,),
    start_stream=lambda response, writer: None,
    file_types=(),
    plan_file=None,
    log_error=lambda exc: None,
)
"#;

"""Signature analysis: a handler's parameters -> the route plan the core runs (sources, lookup keys,
converters, defaults), and the validation helpers the request side uses (``ParamSpec.validate``,
``validate``, ``missing_error``, ``fresh_default``).

Runs once per route at start-up (``analyze``), and for a dependency override on the first request
that meets it (``get_dependant``). On a request, the Python half (pydantic validation of what the
core could not settle, request bodies, the ``Request`` parameter) is ``PlannedRoute.solve`` in
``routing``, called only when the core asks for it (a value to validate, a body, a ``Request``):
``solving.solve_simple`` for a route without dependencies, ``dependencyrunner.DependencyRunner``
for one with them, both reading the body through ``bodies.ReceivedBody``.
"""

from __future__ import annotations

import copy
import inspect
import sys
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field, is_dataclass, replace
from enum import Enum
from functools import cached_property, partial
from types import UnionType
from typing import Annotated, Any, Union, cast, get_args, get_origin, get_type_hints

from pydantic import BaseModel, Json, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from typing_inspection.typing_objects import is_typealiastype

from .. import params
from ..exceptions import DependencyScopeError, FastAPIError, InvalidParameterError, PydanticV1NotSupportedError
from ..params import Undefined
from .multipart_install import ensure_multipart_is_installed

#: Callables a pool thread can run without an event loop: functions and generators.
SYNC_KINDS = ("sync", "gen")
SEQUENCE_TYPES = (list, tuple, set, frozenset, deque, Sequence)
IMMUTABLE_DEFAULTS = (type(None), bool, int, float, str, bytes, tuple, frozenset, Enum)
SCALARS = {bool: "bool", int: "int", float: "float", str: "str", bytes: "bytes"}


def _issubclass(tp: Any, bases: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, bases)


def _union_args(tp: Any) -> tuple[Any, ...] | None:
    return get_args(tp) if get_origin(tp) in (Union, UnionType) else None


def _strip_annotated(tp: Any) -> Any:
    return get_args(tp)[0] if get_origin(tp) is Annotated else tp


def is_json(tp: Any) -> bool:
    """``Json[T]``: one value holding a JSON document, whatever ``T`` is (FastAPI's _is_json_field)."""
    return get_origin(tp) is Annotated and any(type(m) is Json for m in get_args(tp)[1:])


def is_sequence(tp: Any) -> bool:
    """list/tuple/set... of something (not str/bytes), also inside Optional; not ``Json[list]``."""
    if is_json(tp):
        return False
    return _is_sequence_type(tp)


def _is_sequence_type(tp: Any) -> bool:
    tp = _strip_annotated(tp)
    if (args := _union_args(tp)) is not None:
        return any(_is_sequence_type(a) for a in args)
    if _issubclass(tp, (str, bytes)):
        return False
    return _issubclass(tp, SEQUENCE_TYPES) or _issubclass(get_origin(tp), SEQUENCE_TYPES)


def _complex_type(tp: Any) -> bool:
    from ..datastructures import UploadFile

    if _issubclass(tp, (str, bytes)):
        return False
    return _issubclass(tp, (BaseModel, Mapping, UploadFile, *SEQUENCE_TYPES)) or is_dataclass(tp)


def is_complex(tp: Any) -> bool:
    """Models, mappings, sequences, dataclasses, files: FastAPI reads such a bare parameter from the
    body, and refuses it as a path parameter (FastAPI's field_annotation_is_complex)."""
    tp = _strip_annotated(tp)
    if (args := _union_args(tp)) is not None:
        return any(is_complex(a) for a in args)
    origin = get_origin(tp)
    return (
        _complex_type(tp)
        or _complex_type(origin)
        or hasattr(origin, "__pydantic_core_schema__")
        or hasattr(origin, "__get_pydantic_core_schema__")
    )


def is_scalar_sequence(tp: Any) -> bool:
    """A sequence of scalars (or Optional of one): what a query parameter may repeat."""
    tp = _strip_annotated(tp)
    if (args := _union_args(tp)) is not None:
        found = False
        for arg in args:
            if is_scalar_sequence(arg):
                found = True
            elif is_complex(arg):
                return False
        return found
    return _is_sequence_type(tp) and all(a is Ellipsis or not is_complex(a) for a in get_args(tp))


def is_pydantic_v1(tp: Any) -> bool:
    """A pydantic.v1 model, or a union or sequence holding one: refused, as FastAPI refuses it."""
    v1 = sys.modules.get("pydantic.v1")
    if v1 is None:  # never imported: no v1 model can exist
        return False
    tp = _strip_annotated(tp)
    if _issubclass(tp, v1.BaseModel):
        return True
    if (args := _union_args(tp)) is not None:
        return any(is_pydantic_v1(a) for a in args)
    return _is_sequence_type(tp) and any(is_pydantic_v1(a) for a in get_args(tp))


def _without_none(tp: Any) -> Any:
    args = _union_args(tp)
    if args is None:
        return tp
    rest = [a for a in args if a is not type(None)]
    return rest[0] if len(rest) == 1 else tp


def scalar_kind(tp: Any) -> tuple[str, bool]:
    """(the converter the core may use, whether the value is a list of values)."""
    if is_json(tp):
        return "other", False
    tp = _without_none(_strip_annotated(tp))
    if get_origin(tp) is list or tp is list:
        args = get_args(tp)
        inner = _without_none(args[0]) if args else str
        return SCALARS.get(inner, "other") if type(inner) is type else "other", True
    if is_sequence(tp):
        return "other", True
    return (SCALARS.get(tp, "other") if type(tp) is type else "other"), False


def missing_error(loc: tuple[Any, ...]) -> dict[str, Any]:
    return {"type": "missing", "loc": loc, "msg": "Field required", "input": None}


class _DefaultFactory:
    def __init__(self, factory: Callable[[], Any] | Callable[[dict[str, Any]], Any]) -> None:
        # Called with no arguments, as FastAPI's markers declare it; pydantic's FieldInfo types it
        # as possibly taking the validated data too.
        self.factory = cast(Callable[[], Any], factory)


def fresh_default(value: Any) -> Any:
    """A per-request default: the factory's product, or a deep copy of a mutable default."""
    if isinstance(value, _DefaultFactory):
        return value.factory()
    return deepcopy(value)


def _adapter(annotation: Any, info: FieldInfo) -> TypeAdapter[Any]:
    # Constraints live in the FieldInfo's metadata; validating with them alone gives FastAPI's
    # behaviour without pydantic's warnings about alias/default on a TypeAdapter.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if info.metadata:
            return TypeAdapter(Annotated[(annotation, *info.metadata)])
        return TypeAdapter(annotation)


def validate(adapter: TypeAdapter[Any], value: Any, loc: tuple[Any, ...]) -> tuple[Any, list[dict[str, Any]]]:
    try:
        return adapter.validate_python(value, from_attributes=True), []
    except ValidationError as exc:
        return None, [{**err, "loc": loc + tuple(err["loc"])} for err in exc.errors(include_url=False)]


@dataclass
class ParamSpec:
    """One path/query/header/cookie parameter; the attributes the core reads are plain values."""

    name: str
    key: str
    source: str
    scalar: str
    is_list: bool
    fast: bool
    required: bool
    default: Any
    copy_default: bool
    loc: tuple[str, str]
    adapter: TypeAdapter[Any] = field(repr=False)
    info: FieldInfo = field(repr=False)
    #: The handler's argument name (``name`` is the core's kwarg key: a unique slot name when the
    #: route has dependencies, since two dependants may both declare ``q``).
    arg: str = ""
    annotation: Any = None
    #: Position in the route's flat list (what the core reports pending values by).
    slot: int = -1
    #: ``Annotated[Model, Query()]``: the whole source validated as one model, in Python.
    model: bool = False

    def validate(self, raw: Any) -> tuple[Any, list[dict[str, Any]]]:
        return validate(self.adapter, raw, self.loc)


@dataclass
class BodyField:
    name: str
    alias: str
    required: bool
    default: Any
    adapter: TypeAdapter[Any] = field(repr=False)
    info: FieldInfo = field(repr=False)
    annotation: Any = None
    #: The type OpenAPI documents. FastAPI drops an ``Annotated`` type's metadata when the marker
    #: is the default value (``x: Annotated[A | B, Discriminator(...)] = Body()``).
    schema_annotation: Any = None


def adopt_depends(value: Any) -> Any:
    """Real FastAPI's ``Depends``/``Security`` (in a library's route, built with ``fastapi`` while the
    app imports turboapi) as turboapi's own; anything else as it is."""
    cls = type(value)
    if (
        cls.__module__ != "fastapi.params"
        or cls.__name__ not in ("Depends", "Security")
        or isinstance(value, params.Depends)
    ):
        return value
    options = {"dependency": value.dependency, "use_cache": value.use_cache, "scope": getattr(value, "scope", None)}
    if cls.__name__ == "Security":
        return params.Security(**options, scopes=value.scopes)
    return params.Depends(**options)


def _analyze_param(
    name: str, annotation: Any, default: Any, is_path: bool
) -> tuple[Any, FieldInfo | None, params.Depends | None, Any]:
    """(type, marker, depends, default) from `x: T = Query()`, `x: Annotated[T, Query()] = d`,
    `x: T = Depends(f)` or `x: Annotated[T, Depends(f)]`, with FastAPI's rules: the last marker or
    Depends in `Annotated` is the one; other metadata (`Field(...)`, constraints, other markers'
    constraints) stays with the type, as pydantic merges it in FastAPI."""
    marker: FieldInfo | None = None
    depends: params.Depends | None = None
    type_ = annotation
    default = adopt_depends(default)
    if get_origin(annotation) is Annotated:
        type_, *extras = get_args(annotation)
        extras = [adopt_depends(e) for e in extras]
        found = [e for e in extras if isinstance(e, (params.Param, params.Body, params.Depends))]
        chosen = found[-1] if found else None
        kept = [e for e in extras if e is not chosen and not isinstance(e, params.Depends)]
        if kept:
            type_ = Annotated[(type_, *kept)]
        if isinstance(chosen, params.Depends):
            depends = chosen
        elif chosen is not None:
            # Copied: the same Annotated alias may serve many parameters and routes.
            marker = copy.copy(chosen)
            if marker.default is not Undefined:
                raise InvalidParameterError(
                    f"`{type(marker).__name__}` default value cannot be set in `Annotated` for {name!r}. "
                    "Set the default value with `=` instead."
                )
            if default is not Undefined and is_path:
                raise InvalidParameterError("Path parameters cannot have default values")
            if default is Undefined and marker.default_factory is not None:
                default = _DefaultFactory(marker.default_factory)
    if isinstance(default, params.Depends):
        if depends is not None:
            raise InvalidParameterError(
                f"Cannot specify `Depends` in `Annotated` and default value together for {name!r}"
            )
        if marker is not None:
            raise InvalidParameterError(
                "Cannot specify a FastAPI annotation in `Annotated` and `Depends` as a default value together "
                f"for {name!r}"
            )
        depends, default = default, Undefined
    elif isinstance(default, FieldInfo):
        if marker is not None or depends is not None:
            raise InvalidParameterError(
                f"Cannot specify FastAPI annotations in `Annotated` and default value together for {name!r}"
            )
        marker, default = default, Undefined
        if marker.default_factory is not None:
            default = _DefaultFactory(marker.default_factory)
        elif marker.default is not Undefined:
            default = marker.default
    return type_, marker, depends, default


@dataclass
class Dependant:
    """A handler or a dependency: its own parameters and the dependencies it declares.

    ``params`` carry a ``slot``: their position in the route's flat parameter list, the one the
    core extracts. A dependant compiled at request time (a dependency override) has no slots and
    reads its parameters from the request in Python (``python_extract``).
    """

    call: Callable[..., Any] | None
    name: str | None = None
    params: list[ParamSpec] = field(default_factory=list)
    body: list[BodyField] = field(default_factory=list)
    dependencies: list[Dependant] = field(default_factory=list)
    #: The first parameter given the request (or WebSocket); ``connection_params`` names them all
    #: (``request: Request`` and ``conn: HTTPConnection`` both get it, as in FastAPI).
    request_param: str | None = None
    connection_params: list[str] = field(default_factory=list)
    response_param: str | None = None
    background_param: str | None = None
    scopes_param: str | None = None
    use_cache: bool = True
    scope: str | None = None
    own_scopes: list[str] = field(default_factory=list)
    parent_scopes: list[str] = field(default_factory=list)
    kind: str = "sync"
    python_extract: bool = False

    @property
    def scopes(self) -> list[str]:
        scopes = list(self.parent_scopes)
        scopes += [s for s in self.own_scopes if s not in scopes]
        return scopes

    def uses_scopes(self) -> bool:
        from ..security.base import SecurityBase

        return bool(
            self.own_scopes
            or self.scopes_param
            or isinstance(_unwrap(self.call), SecurityBase)
            or any(d.uses_scopes() for d in self.dependencies)
        )

    @cached_property
    def cache_key(self) -> tuple[Any, ...]:
        scopes = tuple(sorted(set(self.scopes))) if self.uses_scopes() else ()
        # As FastAPI: a generator dependency without a scope is request-scoped.
        scope = self.scope or ("request" if self.kind in ("gen", "asyncgen") else "")
        return (self.call, scopes, scope)

    def walk(self) -> Iterator[Dependant]:
        yield self
        for dep in self.dependencies:
            yield from dep.walk()

    @property
    def is_simple(self) -> bool:
        """No dependencies and nothing that lives past the response: the core's direct path."""
        return not self.dependencies and self.background_param is None and self.scopes_param is None


@dataclass
class EndpointSignature:
    params: list[ParamSpec]
    body: list[BodyField]
    embed_body: bool
    request_param: str | None
    response_param: str | None
    dependant: Dependant
    is_async: bool = False
    #: No dependencies, background tasks or forms: the core calls the handler directly.
    simple: bool = True


def _unwrap(call: Any) -> Any:
    while isinstance(call, partial):
        call = call.func
    return inspect.unwrap(call) if callable(call) else call


def _impartial(call: Any) -> Any:
    while isinstance(call, partial):
        call = call.func
    return call


def _call_kind(call: Any) -> str:
    """sync / async / gen / asyncgen, for a function, a class or a callable instance, decorated or
    not: as FastAPI, both the callable as given (an ``async def`` wrapper around a sync function
    is async) and what it wraps (a sync wrapper around a generator is a generator) count, and so
    do their ``__call__``; an async generator wins over a generator, which wins over a coroutine."""
    given, inner = _impartial(call), _unwrap(call)
    candidates = [given, inner]
    if not inspect.isclass(inner):
        for target in (given, inner):
            dunder = getattr(target, "__call__", None)  # noqa: B004 - a callable object's __call__
            if dunder is not None:
                candidates += [_impartial(dunder), _unwrap(dunder)]
    if any(inspect.isasyncgenfunction(fn) for fn in candidates):
        return "asyncgen"
    if any(inspect.isgeneratorfunction(fn) for fn in candidates):
        return "gen"
    if any(inspect.isroutine(fn) and inspect.iscoroutinefunction(fn) for fn in candidates[:2]):
        return "async"
    if not inspect.isclass(inner) and any(inspect.iscoroutinefunction(fn) for fn in candidates[2:]):
        return "async"
    return "sync"


def _signature(call: Any) -> tuple[inspect.Signature, dict[str, Any]]:
    target = _unwrap(call)
    try:
        signature = inspect.signature(call)
    except (TypeError, ValueError) as exc:
        raise FastAPIError(f"cannot read the signature of {call!r}: {exc}") from exc
    if inspect.isclass(target):
        hint_source: Any = target.__init__
    elif inspect.isfunction(target) or inspect.ismethod(target):
        hint_source = target
    else:
        hint_source = getattr(type(target), "__call__", target)  # noqa: B004
    try:
        hints = get_type_hints(hint_source, include_extras=True)
    except Exception:
        # Some annotation does not resolve: often the return annotation, or a name imported under
        # `if TYPE_CHECKING:` with `from __future__ import annotations`. As FastAPI, only the
        # parameters' annotations are needed, each resolved on its own.
        hints = _parameter_hints(call, hint_source, signature)
    else:
        added = [p for name, p in signature.parameters.items() if name not in hints and p.annotation is not p.empty]
        if added:
            # A decorator's ``__signature__`` declares parameters the wrapped function has not
            # (fastapi-cache2's ``@cache`` adds ``request: Request`` and ``response: Response``): as
            # in FastAPI, the signature's annotations count.
            hints.update(_parameter_hints(call, hint_source, signature.replace(parameters=added)))
    return signature, hints


def _parameter_hints(call: Any, hint_source: Any, signature: inspect.Signature) -> dict[str, Any]:
    raw = dict(getattr(inspect.unwrap(hint_source), "__annotations__", None) or {})
    for name, parameter in signature.parameters.items():
        if name not in raw and parameter.annotation is not inspect.Parameter.empty:
            raw[name] = parameter.annotation
    namespace = getattr(inspect.unwrap(hint_source), "__globals__", None) or {}
    hints: dict[str, Any] = {}
    for name in signature.parameters:
        if name not in raw:
            continue
        holder = _AnnotationHolder({name: raw[name]})
        try:
            hints[name] = get_type_hints(holder, globalns=namespace, include_extras=True)[name]
        except Exception as exc:
            raise FastAPIError(f"cannot resolve the type hint of parameter {name!r} of {call!r}: {exc}") from exc
    return hints


class _AnnotationHolder:
    """What ``get_type_hints`` resolves one annotation on."""

    def __init__(self, annotations: dict[str, Any]) -> None:
        self.__annotations__ = annotations


def analyze(
    endpoint: Callable[..., Any],
    path_param_names: Sequence[str],
    dependencies: Sequence[params.Depends] = (),
) -> EndpointSignature:
    """The route's dependant tree, and the flat parameter list the core extracts for it."""
    flat: list[ParamSpec] = []
    root = get_dependant(endpoint, path_param_names, flat=flat)
    # `dependencies=[...]` of the app, routers and decorator run first, their values unused; as in
    # FastAPI their `use_cache` is not read (always cached).
    extra = [
        _sub_dependant(
            replace(adopt_depends(dep), use_cache=True), None, Any, path_param_names, flat=flat, parent_scopes=[]
        )
        for dep in dependencies
    ]
    root.dependencies[:0] = extra
    body = [f for d in root.walk() for f in d.body]
    names = {b.name for b in body}
    embed = len(names) > 1 or bool(body and getattr(body[0].info, "embed", False))
    if body and not embed and isinstance(body[0].info, params.Form) and not _is_model_or_union_of(body[0].annotation):
        embed = True
    is_async = any(d.kind not in SYNC_KINDS for d in root.walk())
    # A form body holds files to close after the response: that runs on the dependency path.
    simple = root.is_simple and not (body and isinstance(body[0].info, params.Form))
    if simple and (root.kind == "async") != _plainly_async(endpoint):
        # A decorated handler whose own function is not what it is (a sync `functools.wraps`
        # wrapper around an `async def`): the dependency path calls it as its kind says.
        simple = False
    if simple:
        # The core's direct path: kwargs named after the handler's own parameters.
        for spec in flat:
            spec.name = spec.arg
    return EndpointSignature(flat, body, embed, root.request_param, root.response_param, root, is_async, simple)


def _plainly_async(call: Any) -> bool:
    """What a look at the handler alone says (the core's direct path goes by it)."""
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(getattr(call, "__call__", None))  # noqa: B004


def _is_model_or_union_of(tp: Any) -> bool:
    tp = _strip_annotated(tp)
    if (args := _union_args(tp)) is not None:
        return all(_issubclass(a, BaseModel) for a in args)
    return _issubclass(tp, BaseModel)


def _sub_dependant(
    depends: params.Depends,
    name: str | None,
    type_: Any,
    path_param_names: Sequence[str],
    *,
    flat: list[ParamSpec] | None,
    parent_scopes: list[str],
) -> Dependant:
    call = depends.dependency if depends.dependency is not None else type_
    if call is None or call is Any or not callable(call):
        raise FastAPIError(f"Depends() for {name!r} needs a callable, or a class as the parameter's type")
    own = list(depends.scopes or []) if isinstance(depends, params.Security) else []
    return get_dependant(
        call,
        path_param_names,
        flat=flat,
        name=name,
        use_cache=depends.use_cache,
        scope=depends.scope,
        own_scopes=own,
        parent_scopes=parent_scopes,
    )


def get_dependant(
    call: Callable[..., Any],
    path_param_names: Sequence[str],
    *,
    flat: list[ParamSpec] | None,
    name: str | None = None,
    use_cache: bool = True,
    scope: str | None = None,
    own_scopes: list[str] | None = None,
    parent_scopes: list[str] | None = None,
) -> Dependant:
    """Analyse one callable's signature; ``flat`` collects its parameters for the core (None: the
    dependant extracts in Python, as a dependency override compiled at request time does)."""
    from ..background import BACKGROUND_TYPES
    from ..requests import REQUEST_TYPES
    from ..responses import RESPONSE_TYPES
    from ..security.oauth2 import SecurityScopes

    dependant = Dependant(
        call=call,
        name=name,
        use_cache=use_cache,
        scope=scope,
        own_scopes=own_scopes or [],
        parent_scopes=parent_scopes or [],
        kind=_call_kind(call),
        python_extract=flat is None,
    )
    signature, hints = _signature(call)
    where = getattr(call, "__qualname__", None) or type(call).__qualname__
    by_source: dict[str, list[ParamSpec]] = {"path": [], "query": [], "header": [], "cookie": []}
    for pname, parameter in signature.parameters.items():
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        annotation = hints.get(pname, Any)
        raw_default = Undefined if parameter.default is inspect.Parameter.empty else parameter.default
        if is_typealiastype(annotation):
            annotation = annotation.__value__  # PEP 695 `type X = Annotated[...]`
        is_path = pname in path_param_names
        type_, marker, depends, default = _analyze_param(pname, annotation, raw_default, is_path)
        if depends is not None:
            _check_scope(dependant, depends)
            dependant.dependencies.append(
                _sub_dependant(
                    depends, pname, _strip_annotated(type_), path_param_names, flat=flat, parent_scopes=dependant.scopes
                )
            )
            continue
        if _issubclass(type_, REQUEST_TYPES):
            dependant.request_param = dependant.request_param or pname
            dependant.connection_params.append(pname)
            continue
        if _issubclass(type_, RESPONSE_TYPES):
            dependant.response_param = pname
            continue
        if _issubclass(type_, BACKGROUND_TYPES):
            dependant.background_param = pname
            continue
        if _issubclass(type_, SecurityScopes):
            dependant.scopes_param = pname
            continue
        if marker is None:
            if is_path:
                # A default in the signature does not make a path parameter optional (FastAPI
                # ignores it: the same handler may serve a path with and one without it).
                marker, default = params.Path(), Undefined
            elif _is_upload(type_):
                marker = params.File()
            elif is_complex(type_):
                marker = params.Body()
            else:
                marker = params.Query()
        _check_param(pname, type_, marker, is_path)
        if isinstance(marker, params.Form):  # File too: it is a Form
            ensure_multipart_is_installed()
        required = default is Undefined
        if isinstance(marker, params.Body):
            alias = _validation_alias(marker) or marker.alias or pname
            documented = (
                get_args(annotation)[0]
                if isinstance(raw_default, FieldInfo) and get_origin(annotation) is Annotated
                else type_
            )
            dependant.body.append(
                BodyField(pname, alias, required, default, _adapter(type_, marker), marker, type_, documented)
            )
            continue
        spec = _param_spec(pname, type_, marker, default, required)
        if spec.source == "path" and spec.key not in path_param_names:
            # FastAPI accepts it and answers 422 on every request; the core needs the path to hold it.
            raise InvalidParameterError(
                f"path parameter {pname!r} of {where} is read from {{{spec.key}}}, which is not in the path"
            )
        by_source[spec.source].append(spec)
    for source in ("path", "query", "header", "cookie"):
        specs = by_source[source]
        if len(specs) == 1 and _issubclass(_without_none(_strip_annotated(specs[0].annotation)), BaseModel):
            # Read from the whole source by Python; the core leaves it to `solve` (never pending).
            spec = specs[0]
            spec.model, spec.fast, spec.required, spec.default, spec.copy_default = True, False, False, None, False
            spec.loc = (source,)  # type: ignore[assignment]  # errors are located by the model's fields
        for spec in specs:
            if flat is not None:
                spec.slot = len(flat)
                spec.name = f"{spec.slot}:{spec.arg}"
                flat.append(spec)
            dependant.params.append(spec)
    return dependant


def _check_scope(dependant: Dependant, depends: params.Depends) -> None:
    """A request-scoped ``yield`` dependency outlives the response; one it uses must too (FastAPI
    refuses a function-scoped one at start-up)."""
    if dependant.kind in ("gen", "asyncgen") and dependant.scope in (None, "request") and depends.scope == "function":
        name = getattr(dependant.call, "__name__", "<unnamed_callable>")
        raise DependencyScopeError(
            f'The dependency "{name}" has a scope of "request", it cannot depend on dependencies with scope "function".'
        )


def _is_upload(tp: Any) -> bool:
    from ..datastructures import UploadFile

    tp = _without_none(_strip_annotated(tp))
    if _issubclass(tp, UploadFile):
        return True
    return get_origin(tp) in (list, set, tuple) and any(_is_upload(a) for a in get_args(tp))


def _check_param(name: str, type_: Any, marker: FieldInfo, is_path: bool) -> None:
    """FastAPI's start-up checks of a parameter's marker and type (AssertionErrors there)."""
    if is_pydantic_v1(type_):
        raise PydanticV1NotSupportedError(
            f"pydantic.v1 models are no longer supported by FastAPI. Please update the model {type_!r}."
        )
    if is_path:
        if not isinstance(marker, params.Path):
            raise InvalidParameterError(f"Cannot use `{type(marker).__name__}` for path param {name!r}")
        if is_complex(type_):
            raise InvalidParameterError("Path params must be of one of the supported types")
    elif (
        isinstance(marker, params.Query)
        and is_complex(type_)
        and not is_scalar_sequence(type_)
        and not _issubclass(_without_none(_strip_annotated(type_)), BaseModel)
    ):
        raise InvalidParameterError(f"Query parameter {name!r} must be one of the supported types")


def _source_of(marker: Any) -> str:
    """The marker's source; a bare ``Param()`` reads the query, as in FastAPI."""
    in_ = getattr(marker, "in_", None)
    return in_.value if in_ is not None else "query"


def _validation_alias(info: FieldInfo) -> str | None:
    """A string ``validation_alias`` (FastAPI ignores ``AliasPath``/``AliasChoices`` for lookups)."""
    alias = info.validation_alias
    return alias if isinstance(alias, str) and alias else None


def _param_spec(name: str, type_: Any, marker: Any, default: Any, required: bool) -> ParamSpec:
    source = _source_of(marker)
    # FastAPI reads a value, and reports it in errors, by its validation alias (a string), else by
    # its alias, else by its name (for a header: dashed unless `convert_underscores=False`).
    if (validation_alias := _validation_alias(marker)) is not None:
        alias = validation_alias
    elif marker.alias:
        alias = marker.alias
    elif source == "header" and marker.convert_underscores:
        alias = name.replace("_", "-")
    else:
        alias = name
    scalar, is_list = scalar_kind(type_)
    if source == "path" and is_list:
        raise InvalidParameterError(f"path parameter {name!r} must be a single value")
    return ParamSpec(
        name=name,
        key=alias.lower() if source == "header" else alias,
        source=source,
        scalar=scalar,
        is_list=is_list,
        # Rust coerces only when pydantic has nothing more to check (no constraints anywhere).
        fast=scalar != "other" and not marker.metadata and get_origin(type_) is not Annotated,
        required=required,
        default=None if required else default,
        copy_default=not required and not isinstance(default, IMMUTABLE_DEFAULTS),
        loc=(source, alias),
        adapter=_adapter(type_, marker),
        info=marker,
        arg=name,
        annotation=type_,
    )

"""FastAPI's ``ModelField`` (a named, validating and serialising view of a pydantic ``FieldInfo``)
and the pydantic helpers of FastAPI's ``_compat.v2`` that libraries import."""

from __future__ import annotations

import re
import types
import warnings
from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass, is_dataclass
from enum import Enum
from functools import lru_cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model
from pydantic import GetJsonSchemaHandler as GetJsonSchemaHandler
from pydantic import PydanticSchemaGenerationError as PydanticSchemaGenerationError
from pydantic import PydanticUndefinedAnnotation as PydanticUndefinedAnnotation
from pydantic.fields import FieldInfo as FieldInfo
from pydantic.json_schema import GenerateJsonSchema as _PydanticGenerateJsonSchema
from pydantic.json_schema import JsonSchemaValue as JsonSchemaValue
from pydantic_core import CoreSchema as CoreSchema
from pydantic_core import PydanticUndefined
from pydantic_core import Url as Url
from pydantic_core.core_schema import with_info_plain_validator_function as with_info_plain_validator_function

from ..dependencies.analysis import _AnnotationHolder, missing_error
from . import shared

RequiredParam = PydanticUndefined
Undefined = PydanticUndefined

__all__ = [
    "FieldInfo",
    "ModelField",
    "PydanticSchemaGenerationError",
    "RequiredParam",
    "Undefined",
    "Url",
    "with_info_plain_validator_function",
]


def evaluate_forwardref(
    value: Any, globalns: dict[str, Any] | None = None, localns: dict[str, Any] | None = None
) -> Any:
    """A forward reference resolved in the given namespaces; left as it is when it cannot be."""
    from typing import get_type_hints

    try:
        return get_type_hints(_AnnotationHolder({"a": value}), globalns=globalns, localns=localns, include_extras=True)[
            "a"
        ]
    except Exception:
        return value


TypeModelOrEnum = type[BaseModel] | type[Enum]
TypeModelSet = set[TypeModelOrEnum]


class GenerateJsonSchema(_PydanticGenerateJsonSchema):
    """pydantic's generator, with bytes described as FastAPI 0.141.1 describes them."""

    def bytes_schema(self, schema: Any) -> JsonSchemaValue:
        out: dict[str, Any] = {"type": "string", "contentMediaType": "application/octet-stream"}
        config_mode = self._config.ser_json_bytes if self.mode == "serialization" else self._config.val_json_bytes
        if config_mode == "base64":
            out["contentEncoding"] = "base64"
        self.update_with_validations(out, schema, self.ValidationsMapping.bytes)
        return out


#: The FieldInfo attributes besides its annotation and metadata (what ``asdict`` lists).
_ATTRIBUTES = (
    "default", "default_factory", "alias", "alias_priority", "validation_alias", "serialization_alias", "title",
    "field_title_generator", "description", "examples", "exclude", "exclude_if", "discriminator", "deprecated",
    "json_schema_extra", "frozen", "validate_default", "repr", "init", "init_var", "kw_only",
)  # fmt: skip


def asdict(field_info: FieldInfo) -> dict[str, Any]:
    """A FieldInfo as {"annotation", "metadata", "attributes"} (the attributes it has set)."""
    attributes = {name: getattr(field_info, name) for name in _ATTRIBUTES if hasattr(field_info, name)}
    attributes = {name: value for name, value in attributes.items() if value is not Undefined}
    return {"annotation": field_info.annotation, "metadata": field_info.metadata, "attributes": attributes}


def _adapter(info: FieldInfo, config: ConfigDict | None) -> TypeAdapter[Any]:
    # The FieldInfo in the metadata brings its constraints (and its title, description... to
    # the JSON schema); pydantic warns that alias and default mean nothing to a TypeAdapter.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TypeAdapter(Annotated[info.annotation, info], config=config)  # type: ignore[arg-type]


@dataclass
class ModelField:
    """A parameter, body or response field: its ``FieldInfo`` under a name, validated and dumped by
    a pydantic TypeAdapter of its annotation and constraints."""

    field_info: FieldInfo
    name: str
    mode: Literal["validation", "serialization"] = "validation"
    config: ConfigDict | None = None

    def __post_init__(self) -> None:
        self._type_adapter = _adapter(self.field_info, self.config)

    @property
    def alias(self) -> str:
        alias = self.field_info.alias
        return alias if alias is not None else self.name

    @property
    def validation_alias(self) -> str | None:
        alias = self.field_info.validation_alias
        return alias if isinstance(alias, str) and alias else None

    @property
    def serialization_alias(self) -> str | None:
        return self.field_info.serialization_alias or None

    @property
    def type_(self) -> Any:
        """The annotation (the name FastAPI's pydantic-1 era ModelField had)."""
        return self.field_info.annotation

    @property
    def required(self) -> bool:
        return self.field_info.is_required()

    @property
    def default(self) -> Any:
        return self.get_default()

    def get_default(self) -> Any:
        if self.field_info.is_required():
            return Undefined
        return self.field_info.get_default(call_default_factory=True)

    def validate(
        self, value: Any, values: dict[str, Any] | None = None, *, loc: tuple[int | str, ...] = ()
    ) -> tuple[Any, list[dict[str, Any]]]:
        """(the validated value, []) or (None, errors located under ``loc``)."""
        try:
            return self._type_adapter.validate_python(value, from_attributes=True), []
        except ValidationError as exc:
            return None, [{**err, "loc": loc + tuple(err["loc"])} for err in exc.errors(include_url=False)]

    def serialize(
        self,
        value: Any,
        *,
        mode: Literal["json", "python"] = "json",
        include: Any = None,
        exclude: Any = None,
        by_alias: bool = True,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
    ) -> Any:
        return self._type_adapter.dump_python(
            value,
            mode=mode,
            include=include,
            exclude=exclude,
            by_alias=by_alias,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
        )

    def serialize_json(
        self,
        value: Any,
        *,
        include: Any = None,
        exclude: Any = None,
        by_alias: bool = True,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
    ) -> bytes:
        return self._type_adapter.dump_json(
            value,
            include=include,
            exclude=exclude,
            by_alias=by_alias,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
        )

    def __hash__(self) -> int:
        # Each field is its own key (FastAPI maps fields to their JSON schemas).
        return id(self)


def is_scalar_field(field: ModelField) -> bool:
    from .. import params

    return shared.field_annotation_is_scalar(field.field_info.annotation) and not isinstance(
        field.field_info, params.Body
    )


def copy_field_info(*, field_info: FieldInfo, annotation: Any) -> FieldInfo:
    """A copy of ``field_info`` for ``annotation``, with the constraints ``Annotated`` adds to it."""
    merged = FieldInfo.from_annotation(annotation)
    new = copy(field_info)
    new.metadata = merged.metadata
    new.annotation = merged.annotation
    return new


def serialize_sequence_value(*, field: ModelField, value: Any) -> Sequence[Any]:
    """``value`` as the sequence type the field declares (a set for ``set[bytes]``...)."""
    annotation = field.field_info.annotation
    origin = get_origin(annotation) or annotation
    if origin is Union or origin is types.UnionType:
        for arg in get_args(annotation):
            if arg is not type(None):
                origin = get_origin(arg) or arg
                break
    return shared.sequence_annotation_to_type[origin](value)  # type: ignore[no-any-return]


def get_missing_field_error(loc: tuple[int | str, ...]) -> dict[str, Any]:
    return missing_error(loc)


def create_body_model(*, fields: Sequence[ModelField], model_name: str) -> type[BaseModel]:
    definitions: dict[str, Any] = {f.name: (f.field_info.annotation, f.field_info) for f in fields}
    model: type[BaseModel] = create_model(model_name, **definitions)
    return model


def get_model_fields(model: type[BaseModel]) -> list[ModelField]:
    out: list[ModelField] = []
    for name, info in model.model_fields.items():
        nested = shared.lenient_issubclass(info.annotation, (BaseModel, dict)) or is_dataclass(info.annotation)
        out.append(ModelField(field_info=info, name=name, config=None if nested else model.model_config))
    return out


@lru_cache
def get_cached_model_fields(model: type[BaseModel]) -> list[ModelField]:
    return get_model_fields(model)


def normalize_name(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9.\-_]", "_", name)


def get_model_name_map(unique_models: TypeModelSet) -> dict[TypeModelOrEnum, str]:
    """Each model's (or enum's) name in ``components/schemas``."""
    by_name = {normalize_name(model.__name__): model for model in unique_models}
    return {model: name for name, model in by_name.items()}


def get_flat_models_from_model(model: type[BaseModel], known_models: set[Any] | None = None) -> set[Any]:
    known_models = known_models if known_models is not None else set()
    get_flat_models_from_fields(get_model_fields(model), known_models=known_models)
    return known_models


def get_flat_models_from_annotation(annotation: Any, known_models: set[Any]) -> set[Any]:
    for arg in get_args(annotation) if get_origin(annotation) is not None else ():
        if shared.lenient_issubclass(arg, (BaseModel, Enum)):
            if arg not in known_models:
                known_models.add(arg)
                if shared.lenient_issubclass(arg, BaseModel):
                    get_flat_models_from_model(arg, known_models)
        else:
            get_flat_models_from_annotation(arg, known_models)
    return known_models


def get_flat_models_from_field(field: ModelField, known_models: set[Any]) -> set[Any]:
    annotation = field.field_info.annotation
    if shared.lenient_issubclass(annotation, BaseModel):
        if annotation not in known_models:
            known_models.add(annotation)
            get_flat_models_from_model(annotation, known_models)
    elif shared.lenient_issubclass(annotation, Enum):
        known_models.add(annotation)
    else:
        get_flat_models_from_annotation(annotation, known_models)
    return known_models


def get_flat_models_from_fields(fields: Sequence[ModelField], known_models: set[Any]) -> set[Any]:
    for field in fields:
        get_flat_models_from_field(field, known_models)
    return known_models


def get_definitions(
    *, fields: Sequence[ModelField], model_name_map: Any = None, separate_input_output_schemas: bool = True
) -> tuple[dict[tuple[ModelField, str], dict[str, Any]], dict[str, dict[str, Any]]]:
    """(each field's JSON schema by (field, mode), the shared ``components/schemas`` definitions)."""
    from ..openapi.utils import REF_TEMPLATE

    def mode_of(field: ModelField) -> str:
        return field.mode if separate_input_output_schemas or _has_computed_fields(field) else "validation"

    inputs = [(field, mode_of(field), field._type_adapter.core_schema) for field in fields]
    mapping, definitions = GenerateJsonSchema(ref_template=REF_TEMPLATE).generate_definitions(inputs=inputs)  # type: ignore[arg-type]
    for item in definitions.values():
        if "description" in item:
            item["description"] = item["description"].split("\f")[0]
    return mapping, {str(name): schema for name, schema in definitions.items()}  # type: ignore[return-value]


def _has_computed_fields(field: ModelField) -> bool:
    return bool(field._type_adapter.core_schema.get("schema", {}).get("computed_fields", []))


def get_schema_from_model_field(
    *,
    field: ModelField,
    model_name_map: Any = None,
    field_mapping: dict[tuple[ModelField, str], dict[str, Any]],
    separate_input_output_schemas: bool = True,
) -> dict[str, Any]:
    mode = field.mode if separate_input_output_schemas or _has_computed_fields(field) else "validation"
    schema = field_mapping[(field, mode)]
    if "$ref" not in schema:
        alias = (field.validation_alias if field.mode == "validation" else field.serialization_alias) or field.alias
        schema["title"] = field.field_info.title or alias.title().replace("_", " ")
    return schema


def _model_dump(model: BaseModel, mode: Literal["json", "python"] = "json", **kwargs: Any) -> Any:
    """``model.model_dump(mode=...)`` (the helper FastAPI's pydantic-1/2 bridge exported)."""
    return model.model_dump(mode=mode, **kwargs)

"""Dependencies: turboapi's signature analysis (``analysis``: the plan the core runs), and FastAPI's
semi-public view of the same thing that libraries import (``models.Dependant``, ``utils``).

The names below are the analysis module's, importable from here as they always were.
"""

from __future__ import annotations

from .analysis import IMMUTABLE_DEFAULTS as IMMUTABLE_DEFAULTS
from .analysis import SCALARS as SCALARS
from .analysis import SEQUENCE_TYPES as SEQUENCE_TYPES
from .analysis import SYNC_KINDS as SYNC_KINDS
from .analysis import BodyField as BodyField
from .analysis import Dependant as Dependant
from .analysis import EndpointSignature as EndpointSignature
from .analysis import ParamSpec as ParamSpec
from .analysis import _adapter as _adapter
from .analysis import _analyze_param as _analyze_param
from .analysis import _AnnotationHolder as _AnnotationHolder
from .analysis import _call_kind as _call_kind
from .analysis import _check_param as _check_param
from .analysis import _complex_type as _complex_type
from .analysis import _DefaultFactory as _DefaultFactory
from .analysis import _impartial as _impartial
from .analysis import _is_model_or_union_of as _is_model_or_union_of
from .analysis import _is_sequence_type as _is_sequence_type
from .analysis import _is_upload as _is_upload
from .analysis import _issubclass as _issubclass
from .analysis import _param_spec as _param_spec
from .analysis import _parameter_hints as _parameter_hints
from .analysis import _plainly_async as _plainly_async
from .analysis import _signature as _signature
from .analysis import _source_of as _source_of
from .analysis import _strip_annotated as _strip_annotated
from .analysis import _sub_dependant as _sub_dependant
from .analysis import _union_args as _union_args
from .analysis import _unwrap as _unwrap
from .analysis import _validation_alias as _validation_alias
from .analysis import _without_none as _without_none
from .analysis import analyze as analyze
from .analysis import fresh_default as fresh_default
from .analysis import get_dependant as get_dependant
from .analysis import is_complex as is_complex
from .analysis import is_json as is_json
from .analysis import is_pydantic_v1 as is_pydantic_v1
from .analysis import is_scalar_sequence as is_scalar_sequence
from .analysis import is_sequence as is_sequence
from .analysis import missing_error as missing_error
from .analysis import scalar_kind as scalar_kind
from .analysis import validate as validate

"""Shared pieces of the API models: base classes, field types, conditions, cross-field rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    JsonValue,
    ValidationError,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from camops_workers.redact import redact
from camops_workers.units import DURATION_PATTERN, QUANTITY_PATTERN, parse_duration, parse_quantity

__all__ = [
    "API_VERSION",
    "GROUP",
    "VERSION",
    "Condition",
    "Duration",
    "DurationText",
    "LocalObjectReference",
    "ObjectMeta",
    "Quantity",
    "QuantityText",
    "Rule",
    "SpecModel",
    "StatusModel",
    "describe_error",
    "dump",
    "make_condition",
    "rfc3339",
    "rules_schema",
    "run_rules",
]

GROUP = "camops.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


#: The longest duration or quantity string a field takes (bounds the cost of its CEL rule).
_MAX_TEXT = 64
DURATION_POSITIVE = "must be longer than 0s"
QUANTITY_POSITIVE = "must be more than 0 bytes"


def _positive_schema(pattern: str, message: str) -> dict[str, Any]:
    """A field's schema: its format as a pattern, positivity as a CEL rule with a message a user can act on."""
    return {
        "type": "string",
        "pattern": pattern,
        "maxLength": _MAX_TEXT,
        # Every part of a value matching ``pattern`` is a non-negative number: it is positive iff a digit is not 0.
        "x-kubernetes-validations": [{"rule": "self.matches('[1-9]')", "message": message}],
    }


class _PositiveText(str):
    """A positive amount as written in a manifest; the string on the wire, parsed once into a number."""

    _kind: ClassVar[str]
    _pattern: ClassVar[str]
    _positive: ClassVar[str]

    @classmethod
    def _parse(cls, value: object) -> Self:
        if isinstance(value, cls):
            return value
        if not isinstance(value, str):
            raise ValueError(f"invalid {cls._kind} {value!r}: expected a string")
        if len(value) > _MAX_TEXT:
            raise ValueError(f"invalid {cls._kind} {value[:20]!r}...: longer than {_MAX_TEXT} characters")
        return cls(value)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._parse, serialization=core_schema.plain_serializer_function_ser_schema(str.__str__)
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return _positive_schema(cls._pattern, cls._positive)


class DurationText(_PositiveText):
    """A positive duration as written ("10s", "1h30m"); ``seconds`` is its value ("0s" raises ValueError)."""

    _kind = "duration"
    _pattern = DURATION_PATTERN
    _positive = DURATION_POSITIVE
    seconds: float

    def __new__(cls, text: str) -> Self:
        seconds = parse_duration(text)
        if seconds <= 0:
            raise ValueError(f"{text!r} {DURATION_POSITIVE}")
        value = super().__new__(cls, text)
        value.seconds = seconds
        return value


class QuantityText(_PositiveText):
    """A positive byte quantity as written ("2Gi"); ``bytes`` is its value ("0" raises ValueError)."""

    _kind = "quantity"
    _pattern = QUANTITY_PATTERN
    _positive = QUANTITY_POSITIVE
    bytes: int

    def __new__(cls, text: str) -> Self:
        count = parse_quantity(text)
        if count <= 0:
            raise ValueError(f"{text!r} {QUANTITY_POSITIVE}")
        value = super().__new__(cls, text)
        value.bytes = count
        return value


#: A positive Kubernetes-style duration such as "500ms", "10s", "5m", "2h" or "7d" ("0s" is refused).
Duration = DurationText
#: A positive byte quantity such as "500Mi" or "2Gi" ("0" is refused).
Quantity = QuantityText

SpecT = TypeVar("SpecT", bound=BaseModel)


@dataclass(frozen=True)
class Rule(Generic[SpecT]):
    """One cross-field rule, stated once: CEL for the API server, a predicate for Python.

    ``cel`` is evaluated by the API server with ``self`` bound to the object the
    rule is attached to (after defaulting); ``check`` is the same rule on the
    validated model. Tests evaluate both on the examples and expect them to agree.
    """

    cel: str
    message: str
    check: Callable[[SpecT], bool]
    field_path: str | None = None

    def schema(self) -> dict[str, str]:
        out = {"rule": self.cel, "message": self.message}
        if self.field_path:
            out["fieldPath"] = self.field_path
        return out


class SpecModel(BaseModel):
    """Base of user-written spec parts: camelCase on the wire, unknown fields rejected.

    Defaults are validated too, so a defaulted duration is a ``DurationText`` like a written one.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        validate_default=True,
    )


class StatusModel(BaseModel):
    """Base of status parts: camelCase on the wire, unknown fields ignored (other writers exist)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
    )


class LocalObjectReference(SpecModel):
    name: str = Field(
        min_length=1,
        max_length=253,
        description="Name of an object in the same namespace.",
    )


class Condition(StatusModel):
    """A metav1.Condition: the latest observation of one aspect of the object's state."""

    type: str = Field(description="Type of condition in CamelCase, e.g. Ready.", max_length=316)
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(
        description="A programmatic identifier in CamelCase for the condition's last transition.",
        max_length=1024,
    )
    message: str = Field(default="", description="A human readable message about the transition.", max_length=32768)
    last_transition_time: str = Field(
        description="When the condition last changed from one status to another (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    observed_generation: int | None = Field(
        default=None, ge=0, description="The .metadata.generation the condition was set for."
    )


class ObjectMeta(BaseModel):
    """The parts of metadata camops reads; everything else is kept but ignored."""

    model_config = ConfigDict(extra="allow", frozen=True, alias_generator=to_camel, populate_by_name=True)

    name: str
    namespace: str = "default"
    uid: str | None = None
    generation: int | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


def rules_schema(rules: list[Rule[SpecT]]) -> dict[str, JsonValue]:
    """The ``x-kubernetes-validations`` schema extension for a model's rules."""
    return {"x-kubernetes-validations": [cast(JsonValue, rule.schema()) for rule in rules]}


def run_rules(spec: SpecT, rules: list[Rule[SpecT]]) -> SpecT:
    """Raise ``ValueError`` with the rule's message for the first rule the spec breaks."""
    for rule in rules:
        if not rule.check(spec):
            raise ValueError(rule.message)
    return spec


def dump(model: BaseModel) -> dict[str, Any]:
    """Serialise a model the way the API server stores it (camelCase, no nulls)."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def rfc3339(moment: datetime) -> str:
    """A timestamp as Kubernetes writes it (UTC, seconds, ``Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_condition(
    type_: str,
    status: Literal["True", "False", "Unknown"],
    reason: str,
    message: str,
    *,
    now: datetime,
    before: Condition | None,
    generation: int | None = None,
) -> Condition:
    """A condition whose ``lastTransitionTime`` moves only when its status changes (message redacted, capped)."""
    same = before is not None and before.status == status
    return Condition(
        type=type_,
        status=status,
        reason=reason,
        message=redact(message)[:1024],
        last_transition_time=before.last_transition_time if same and before is not None else rfc3339(now),
        observed_generation=generation,
    )


def describe_error(exc: ValidationError) -> str:
    """One line per problem, in the API server's ``path: message`` shape, for conditions, logs and CLIs."""
    lines = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(p) for p in err["loc"] if p != "__root__") or "<root>"
        message = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{path}: {message}")
    return "; ".join(lines)

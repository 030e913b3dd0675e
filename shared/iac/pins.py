"""What the infrastructure-code scanner finds: values with their source locations, pins, warnings.

Pure data. The language packages (``bicep/``, ``terraform/``, ``arm/``) turn templates into ``Pin``s whose fields are
statically evaluated values (``Lit``, ``Obj``, ``Arr``, ``Resource``) or ``Unknown`` (naming the expression that
cannot be known before deployment); ``evaluate`` turns pins into ``Finding``s (``rules.py``, beside the statuses).
A literal keeps the ``Span`` of the exact source text holding it, so ``fix`` can rewrite that text and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Span:
    """Where a literal's text is: ``text[start:end]`` of ``path`` (character offsets), on 1-based ``line``."""

    path: Path
    line: int
    start: int
    end: int


@dataclass(frozen=True)
class Lit:
    """A statically known scalar. ``span``: the source text that is exactly this value (None when computed)."""

    value: Scalar
    span: Span | None = None
    notes: tuple[str, ...] = ()  # how the value was reached: "parameter file main.parameters.json", ...
    env: str | None = None  # an environment variable may replace it at deployment (azd ${VAR=default})


@dataclass(frozen=True)
class Obj:
    items: Mapping[str, Value]
    span: Span | None = None

    def get(self, key: str) -> Value | None:
        """Property lookup: exact, then case-insensitive (ARM property names are case-insensitive)."""
        if key in self.items:
            return self.items[key]
        wanted = key.casefold()
        for name, value in self.items.items():
            if name.casefold() == wanted:
                return value
        return None


@dataclass(frozen=True)
class Arr:
    items: tuple[Value, ...]
    span: Span | None = None


@dataclass(frozen=True)
class Resource:
    """A reference to a declared resource (a Bicep symbol, ``azurerm_cognitive_account.x.id``, ...)."""

    kind: str
    body: Obj
    span: Span | None = None


@dataclass(frozen=True)
class Unknown:
    """A value that cannot be known statically: ``expression`` is the source text, ``reason`` why."""

    expression: str
    span: Span | None = None
    reason: str = ""

    def describe(self) -> str:
        return f"`{self.expression}`" + (f" ({self.reason})" if self.reason else "")


Value = Lit | Obj | Arr | Resource | Unknown


def scalar_text(value: Value | None) -> str | None:
    """The value as text when it is a known, non-empty scalar."""
    if isinstance(value, Lit) and value.value is not None and not isinstance(value.value, bool):
        text = str(value.value)
        return text if text != "" else None
    return None


def unknown_reason(value: Value | None, what: str) -> str:
    """Why ``what`` is not known statically, for a finding's detail."""
    if isinstance(value, Unknown):
        return f"{what} not resolvable statically: {value.describe()}"
    if isinstance(value, Lit) and value.env and scalar_text(value) is None:
        return f"{what} comes from environment variable {value.env} (not known statically)"
    if isinstance(value, Lit) and scalar_text(value) is None:
        return f"{what} is empty"
    return f"{what} is not a string"


class Language(StrEnum):
    """The template language a pin was found in (JSON's ``kind``)."""

    BICEP = "bicep"
    TERRAFORM = "terraform"
    ARM = "arm"


@dataclass(frozen=True)
class Pin:
    """One model deployment declared in infrastructure code. A field is None when the template omits it."""

    kind: Language
    file: Path  # where the deployment resource is declared
    line: int
    name: Value
    account: Value
    location: Value
    model_format: Value | None
    model_name: Value | None
    model_version: Value | None
    sku: Value | None
    upgrade_option: Value | None
    context: tuple[str, ...] = ()  # how it was reached: module calls, loop items, parameter files

    @property
    def identity(self) -> tuple[object, ...]:
        """Two evaluations that found the same deployment with the same values (and sources) are one pin."""
        return (self.kind, self.file, self.line, *map(_fingerprint, self._values()))

    def _values(self) -> tuple[Value | None, ...]:
        return (
            self.name,
            self.account,
            self.location,
            self.model_format,
            self.model_name,
            self.model_version,
            self.sku,
            self.upgrade_option,
        )


Read = Callable[..., "Value | None"]  # (value, *path): the value at a property path (values.lookup)


def body_pin(
    kind: Language,
    file: Path,
    line: int,
    body: Value | None,
    read: Read,
    *,
    name: Value,
    account: Value,
    location: Value,
    context: tuple[str, ...],
    wrapped: bool = True,
) -> Pin:
    """A pin from a deployment's ARM body (``properties.model``, ``sku.name``, ``properties.versionUpgradeOption``):
    what a Bicep resource, an ARM template, an azapi_resource and a compiled template declare. ``wrapped=False``:
    the same fields without ``properties`` (an AVM module's deployments item)."""
    props: tuple[str, ...] = ("properties",) if wrapped else ()
    return Pin(
        kind=kind,
        file=file,
        line=line,
        name=name,
        account=account,
        location=location,
        model_format=read(body, *props, "model", "format"),
        model_name=read(body, *props, "model", "name"),
        model_version=read(body, *props, "model", "version"),
        sku=read(body, "sku", "name"),
        upgrade_option=read(body, *props, "versionUpgradeOption"),
        context=context,
    )


def unread_pin(kind: Language, file: Path, line: int, unknown: Unknown, context: tuple[str, ...]) -> Pin:
    """The pin of a module whose code is not here (a registry module): every value it sets is ``unknown``."""
    return Pin(
        kind=kind,
        file=file,
        line=line,
        name=unknown,
        account=unknown,
        location=unknown,
        model_format=None,
        model_name=unknown,
        model_version=unknown,
        sku=None,
        upgrade_option=None,
        context=context,
    )


def _fingerprint(value: Value | None) -> object:
    if isinstance(value, Lit):
        return ("lit", value.value, value.span, value.env)
    if isinstance(value, Unknown):
        return ("unknown", value.expression, value.span)
    return (type(value).__name__, repr(value)[:200]) if value is not None else None


# The words a refusal's message uses (shared/iac/confine.py), so a warning an evaluator builds from one keeps its rule.
OUTSIDE_ROOT = "outside the scanned root"
TOO_LARGE = "too large to evaluate"
NOT_REGULAR = "not a regular file"


class WarningKind(StrEnum):
    """The warnings that are findings in their own right (their SARIF rules: ``rules.WARNING_RULES``)."""

    OUTSIDE_ROOT = "outside-root"
    NOT_REGULAR = "not-regular"
    TOO_LARGE = "too-large"
    SUPPRESSION_WITHOUT_REASON = "suppression-without-reason"


def _warning_kind(message: str) -> WarningKind | None:
    if OUTSIDE_ROOT in message:
        return WarningKind.OUTSIDE_ROOT
    if NOT_REGULAR in message:
        return WarningKind.NOT_REGULAR
    if TOO_LARGE in message or "RecursionError" in message:
        return WarningKind.TOO_LARGE
    return None


@dataclass(frozen=True)
class ScanWarning:
    """A file (or construct) the scanner could not fully read. Never fatal: the scan goes on. ``rule``: set for
    the warnings that are findings (``rules.WARNING_RULES``); worked out from the message when not given."""

    file: Path
    line: int | None
    message: str
    rule: WarningKind | None = None

    def __post_init__(self) -> None:
        if self.rule is None:
            object.__setattr__(self, "rule", _warning_kind(self.message))


# What a surprising shape in a parse tree can raise; a scan turns it into a warning on that file and goes on.
EVALUATION_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError)


@dataclass(frozen=True)
class ScanResult:
    pins: tuple[Pin, ...]
    warnings: tuple[ScanWarning, ...]
    files: tuple[Path, ...]  # the template files read

"""Rewrite pins to their recommendation: the exact source text of each value, nothing else. Pure.

A pin's version (and model name, for a cross-model recommendation) is a literal somewhere: in the template, a
parameter default, a ``*.tfvars`` / parameter file value, or the default of azd's ``${VAR=default}``. That text is
replaced in place, so formatting, comments and quoting stay as they were. A value that is computed, or shared by
pins whose recommendations disagree, is left alone and reported.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.iac.pins import Lit, Span, Value
from shared.iac.rules import Finding

_UNSAFE = set("'\"\\$`{}\n\r")  # characters that would need quoting in one template language or another
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # a deployment name ARM accepts


@dataclass(frozen=True)
class Edit:
    span: Span
    old: str
    new: str
    why: str


@dataclass(frozen=True)
class FixPlan:
    edits: tuple[Edit, ...]
    skipped: tuple[str, ...]  # findings with a recommendation that could not be written, and why

    def by_file(self) -> dict[Path, list[Edit]]:
        grouped: dict[Path, list[Edit]] = {}
        for edit in self.edits:
            grouped.setdefault(edit.span.path, []).append(edit)
        return grouped


def _edit(value: Value | None, expected: str | None, new: str, what: str, why: str) -> Edit | str:
    if not isinstance(value, Lit) or value.span is None:
        return f"the {what} is not a literal in the code"
    if str(value.value) != expected:
        return f"the {what} literal does not hold {expected}"
    if _UNSAFE & set(new):
        return f"{new!r} would need quoting"
    return Edit(value.span, str(value.value), new, why)


def is_provisioned(sku: str) -> bool:
    """Provisioned deployment types (ProvisionedManaged, GlobalProvisionedManaged, DataZoneProvisionedManaged)."""
    return "provisioned" in sku.casefold()


def new_deployment_name(old: str, old_model: str, new_model: str) -> str:
    """The name of the deployment that replaces ``old`` when the model changes: the model's name where the old
    name holds the old model's name (``gpt-4o`` -> ``gpt-5.1``, ``chat-gpt-4o`` -> ``chat-gpt-5.1``), else the
    new model's name appended (``chat`` -> ``chat-gpt-5.1``)."""
    at = old.casefold().find(old_model.casefold())
    if at >= 0:
        return old[:at] + new_model + old[at + len(old_model) :]
    return f"{old}-{new_model}"


def _rename(f: Finding, new_model: str, label: str) -> list[Edit] | str:
    """The edit that gives a deployment whose model changes a new name (ARM refuses to change the model of an
    existing Standard-family deployment: CannotChangeDeploymentModel), or why it cannot be made."""
    assert f.model is not None
    name = f.pin.name
    if f.name is None or not isinstance(name, Lit) or name.span is None:
        return "its name is not a literal in the code"
    new_name = new_deployment_name(f.name, f.model, new_model)
    if not _NAME.fullmatch(new_name):
        return f"{new_name!r} is not a valid deployment name"
    model = f.pin.model_name
    if isinstance(model, Lit) and model.span == name.span:
        # one literal is both the name and the model: changing the model renames it too
        return [] if new_name == new_model else "its name and model are one value"
    why = (
        f"{label}: renamed to {new_name}: a new deployment {new_name} ({new_model}) is created beside "
        f"{f.name}, since ARM refuses to change an existing deployment's model (CannotChangeDeploymentModel); "
        f"move callers to {new_name}, then delete {f.name}"
    )
    if name.env:  # azd keeps the environment's value in .azure/<env>/.env, which wins over the default
        why += (
            f"; warning: environment variable {name.env} may override it (azd env set {name.env} {new_name})"
        )
    edit = _edit(name, f.name, new_name, "deployment name", why)
    return [edit] if isinstance(edit, Edit) else edit


def _warnings(f: Finding) -> str:
    """What the scan warned about a pin, kept with its edits (a fix must not hide it)."""
    kept = [n for n in f.notes if "may override" in n or "may replace" in n or "not deployed by default" in n]
    kept += [n for n in f.notes if n.startswith("Deprecating")]
    return "".join(f"; warning: {n}" for n in kept)


def plan(findings: Sequence[Finding]) -> FixPlan:
    """The edits that move every pin to its recommendation."""
    groups: list[tuple[str, list[Edit]]] = []  # one pin's edits: written all together or not at all
    skipped: list[str] = []
    for f in findings:
        r = f.recommended
        if r is None or f.model is None or f.version is None:
            continue
        account = f"{f.account}/" if f.account else ""
        label = f"deployment {account}{f.name or '?'} ({f.pin.file.name}:{f.pin.line})"
        wanted: list[Edit | str] = []
        if (
            r.model != f.model
            and not is_provisioned(f.sku)
            and (f.live_model or "").casefold() != r.model.casefold()
        ):
            renamed = _rename(f, r.model, label)
            if isinstance(renamed, str):
                skipped.append(
                    f"{label}: not changed: {r.model} is another model and ARM refuses to change the model of "
                    f"an existing {f.sku} deployment (CannotChangeDeploymentModel), and {renamed}: create a new "
                    f"deployment of {r.model} {r.version} under a new name by hand and move its callers"
                )
                continue
            wanted.extend(renamed)
        if r.version != f.version:
            wanted.append(
                _edit(
                    f.pin.model_version,
                    f.version,
                    r.version,
                    "version",
                    f"{label}: {f.model} {f.version} -> {r.model} {r.version}",
                )
            )
        if r.model != f.model:
            wanted.append(
                _edit(
                    f.pin.model_name, f.model, r.model, "model name", f"{label}: model {f.model} -> {r.model}"
                )
            )
        if r.upgrade_option and r.upgrade_option != f.upgrade_option:
            option = _edit(
                f.pin.upgrade_option,
                f.upgrade_option,
                r.upgrade_option,
                "upgrade option",
                f"{label}: upgrade option -> {r.upgrade_option}",
            )
            if isinstance(option, Edit):
                wanted.append(option)
            else:
                skipped.append(f"{label}: set the upgrade option to {r.upgrade_option} by hand ({option})")
        problems = [w for w in wanted if isinstance(w, str)]
        if problems:
            skipped.append(f"{label}: not changed: {'; '.join(problems)}")
        elif wanted:
            edits = [w for w in wanted if isinstance(w, Edit)]
            warned = _warnings(f)
            if warned:
                edits[0] = Edit(edits[0].span, edits[0].old, edits[0].new, edits[0].why + warned)
            groups.append((label, edits))
    # one literal can feed several pins (a shared parameter): write it only when they all agree, and leave every
    # pin that needs a disputed literal untouched (half a cross-model change would pin a version of another model)
    targets: dict[Span, set[str]] = {}
    for _, edits in groups:
        for edit in edits:
            targets.setdefault(edit.span, set()).add(edit.new)
    disputed = {span for span, values in targets.items() if len(values) > 1}
    for span in sorted(disputed, key=lambda s: (str(s.path), s.start)):
        skipped.append(
            f"{span.path.name}:{span.line}: not changed: the value feeds several pins whose "
            f"recommendations differ ({', '.join(sorted(targets[span]))})"
        )
    final: dict[Span, Edit] = {}
    for label, edits in groups:
        if any(e.span in disputed for e in edits):
            skipped.append(f"{label}: not changed: it shares a value with pins recommended otherwise")
            continue
        for edit in edits:
            final.setdefault(edit.span, edit)
    return FixPlan(
        tuple(sorted(final.values(), key=lambda e: (str(e.span.path), e.span.start))), tuple(skipped)
    )


def apply(text: str, edits: Sequence[Edit]) -> str:
    """The text with the edits made (each one's old text checked first). Raises ValueError on a mismatch."""
    result = text
    for edit in sorted(edits, key=lambda e: e.span.start, reverse=True):
        if result[edit.span.start : edit.span.end] != edit.old:
            raise ValueError(f"line {edit.span.line} no longer holds {edit.old!r}")
        result = result[: edit.span.start] + edit.new + result[edit.span.end :]
    return result


def unified_diff(label: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{label}", f"b/{label}"
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

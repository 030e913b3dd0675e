"""ARM templates into pins: top-level and child deployments, ``copy`` loops, ``condition``, inline nested
deployments; a template compiled from a Bicep file beside it is left to the Bicep scanner.
"""

from __future__ import annotations

from pathlib import Path

from shared.iac import confine
from shared.iac import values as ops
from shared.iac.arm.evaluate import ArmEvaluator, ArmScope, arm_get
from shared.iac.jsonsrc import JsonDocument
from shared.iac.pins import (
    EVALUATION_ERRORS,
    Arr,
    Language,
    Lit,
    Obj,
    Pin,
    ScanWarning,
    Unknown,
    Value,
    body_pin,
)
from shared.iac.source import SourceError, SourceText

DEPLOYMENTS = "microsoft.cognitiveservices/accounts/deployments"
ACCOUNTS = "microsoft.cognitiveservices/accounts"
NESTED = "microsoft.resources/deployments"
MAX_DEPTH = 8


def _resources(template: Obj) -> list[Obj]:
    found = arm_get(template, "resources")
    if isinstance(found, Arr):
        return [r for r in found.items if isinstance(r, Obj)]
    if isinstance(found, Obj):  # languageVersion 2.0: symbolic names
        return [r for r in found.items.values() if isinstance(r, Obj)]
    return []


def _type(resource: Obj) -> str:
    value = arm_get(resource, "type")
    return value.value.casefold() if isinstance(value, Lit) and isinstance(value.value, str) else ""


def _line(value: Value) -> int:
    span = getattr(value, "span", None)
    return span.line if span is not None else 1


class ArmScanner:
    def __init__(self) -> None:
        self.pins: list[Pin] = []
        self.warnings: list[ScanWarning] = []
        self.files_read: set[Path] = set()
        self.evaluator = ArmEvaluator()

    def scan(self, paths: list[Path]) -> None:
        for path in paths:
            try:
                doc = JsonDocument(SourceText.read(path))
            except SourceError as exc:
                self.warnings.append(ScanWarning(path, None, str(exc)))
                continue
            template = doc.value
            if not isinstance(template, Obj) or not is_template(template):
                if doc.error is not None and path.name.casefold().endswith(
                    (".parameters.json", "azuredeploy.json")
                ):
                    self.warnings.append(ScanWarning(path, doc.error[0], doc.error[1]))
                continue
            if _compiled_from_bicep(template, path):
                continue
            self.files_read.add(path.resolve())
            if doc.error is not None:
                self.warnings.append(
                    ScanWarning(path, doc.error[0], doc.error[1] + "; deployments after it may be missed")
                )
            try:
                for bound, where in self._parameter_sets(path):
                    self._template(
                        template, ArmScope(template, path, bound), (where,) if where else (), depth=0
                    )
            except EVALUATION_ERRORS as exc:
                message = f"could not evaluate it ({type(exc).__name__}: {exc}); please report this"
                self.warnings.append(ScanWarning(path, None, message))

    def _parameter_sets(self, template: Path) -> list[tuple[dict[str, Value], str]]:
        names = [template.stem + ".parameters.json"]
        if template.name.casefold() == "azuredeploy.json":
            names.append("azuredeploy.parameters.json")
        sets = []
        for name in dict.fromkeys(names):
            candidate = template.with_name(name)
            if not candidate.is_file():
                continue
            try:
                doc = JsonDocument(SourceText.read(candidate))
            except SourceError as exc:
                self.warnings.append(ScanWarning(candidate, None, str(exc)))
                continue
            self.files_read.add(candidate.resolve())
            if doc.error is not None:
                self.warnings.append(ScanWarning(candidate, doc.error[0], doc.error[1]))
            params = arm_get(doc.value, "parameters")
            if isinstance(params, Obj):
                sets.append((parameter_values(params, candidate.name), f"parameters from {candidate.name}"))
        return sets or [({}, "")]

    def _template(self, template: Obj, scope: ArmScope, context: tuple[str, ...], depth: int) -> None:
        accounts = [r for r in _resources(template) if _type(r) == ACCOUNTS]
        for resource in _resources(template):
            kind = _type(resource)
            if kind == DEPLOYMENTS:
                self._deployment(resource, None, accounts, scope, context)
            elif kind == ACCOUNTS:
                for child in _children(resource):
                    child_type = _type(child)
                    if child_type in ("deployments", DEPLOYMENTS):
                        self._deployment(child, resource, accounts, scope, context)
            elif kind == NESTED and depth < MAX_DEPTH:
                self._nested(resource, scope, context, depth)

    def instances(self, resource: Obj, scope: ArmScope) -> list[tuple[ArmScope, str]]:
        condition = arm_get(resource, "condition")
        label = ""
        if condition is not None:
            test = self.evaluator.value(condition, scope)
            decided = ops.truth(test)
            if decided is False:
                shown = condition.value if isinstance(condition, Lit) else "condition"
                label = f"{ops.NOT_DEPLOYED}: {str(shown)[:80]} is false"
            elif decided is None and isinstance(condition, Lit):
                label = f"deployed only if {condition.value}"
        copy = arm_get(resource, "copy")
        if not isinstance(copy, Obj):
            return [(scope, label)]
        loop_name = arm_get(copy, "name")
        count = confine.bounded_loop(
            self.evaluator.value(arm_get(copy, "count") or Lit(0), scope), "copy count"
        )
        name = loop_name.value if isinstance(loop_name, Lit) and isinstance(loop_name.value, str) else ""
        if isinstance(count, Lit) and isinstance(count.value, int):
            return [
                (scope.with_loop(name, i), "; ".join(x for x in (f"copy {name} index {i}", label) if x))
                for i in range(count.value)
            ]
        return [(scope, "; ".join(x for x in (f"copy {name}: count not static", label) if x))]

    def _deployment(
        self,
        resource: Obj,
        parent: Obj | None,
        accounts: list[Obj],
        scope: ArmScope,
        context: tuple[str, ...],
    ) -> None:
        line = _line(resource)
        for inner, label in self.instances(resource, scope):
            body = self.evaluator.value(resource, inner)
            name = arm_get(body, "name") or Unknown("name", None, "absent")
            account: Value = Unknown("name", None, "no parent account")
            location: Value = Unknown("location", None, "the account is not in this template")
            if parent is not None:
                parent_body = self.evaluator.value(parent, scope)
                account = arm_get(parent_body, "name") or account
                location = arm_get(parent_body, "location") or location
            if isinstance(name, Lit) and isinstance(name.value, str) and "/" in name.value:
                account_name, _, short = name.value.partition("/")
                name = Lit(short, None, name.notes, name.env)
                account = Lit(account_name)
                for candidate in accounts:
                    evaluated = self.evaluator.value(candidate, scope)
                    if ops.equals(arm_get(evaluated, "name") or Lit(None), account, case_insensitive=True):
                        location = arm_get(evaluated, "location") or location
            elif isinstance(name, Unknown) and parent is None:
                account = location = name
            self.pins.append(
                body_pin(
                    Language.ARM,
                    scope.file,
                    line,
                    body,
                    _opt,
                    name=name,
                    account=account,
                    location=location,
                    context=tuple(c for c in (*context, label) if c),
                )
            )

    def _nested(self, resource: Obj, scope: ArmScope, context: tuple[str, ...], depth: int) -> None:
        template = arm_get(resource, "properties", "template")
        if not isinstance(template, Obj):
            # templateLink: the linked template is not read; one that leads out of the root is a finding
            link = arm_get(resource, "properties", "templateLink", "relativePath")
            if isinstance(link, Lit) and isinstance(link.value, str):
                what = f"templateLink relativePath '{link.value}'"
                refused = confine.refusal(what, scope.file.parent / link.value)
                if refused is not None:
                    self.warnings.append(ScanWarning(scope.file, _line(link), refused))
            return
        options = arm_get(resource, "properties", "expressionEvaluationOptions", "scope")
        inner = isinstance(options, Lit) and str(options.value).casefold() == "inner"
        name = arm_get(resource, "name")
        label = f"nested deployment {name.value if isinstance(name, Lit) else '?'}"
        for outer, instance in self.instances(resource, scope):  # its condition and copy loop
            step = (*context, "; ".join(x for x in (label, instance) if x))
            if not inner:  # outer scope: the nested template's expressions read the parent's parameters
                self._template(template, ArmScope(template, outer.file, outer.bound), step, depth + 1)
                continue
            params = self.evaluator.value(arm_get(resource, "properties", "parameters") or Obj({}), outer)
            bound: dict[str, Value] = {}
            if isinstance(params, Obj):
                for key, entry in params.items.items():
                    value = arm_get(entry, "value")
                    if value is not None:
                        bound[key] = value
            self._template(template, ArmScope(template, outer.file, bound), step, depth + 1)


def _children(resource: Obj) -> list[Obj]:
    found = arm_get(resource, "resources")
    return [r for r in found.items if isinstance(r, Obj)] if isinstance(found, Arr) else []


def _opt(body: Value, *path: str) -> Value | None:
    found = arm_get(body, *path)
    if isinstance(found, Lit) and found.value is None:
        return None
    return found


def is_template(doc: Obj) -> bool:
    schema = arm_get(doc, "$schema")
    if isinstance(schema, Lit) and isinstance(schema.value, str):
        return "deploymenttemplate" in schema.value.casefold()
    return arm_get(doc, "resources") is not None and arm_get(doc, "contentVersion") is not None


def _compiled_from_bicep(template: Obj, path: Path) -> bool:
    generator = arm_get(template, "metadata", "_generator", "name")
    is_bicep = isinstance(generator, Lit) and str(generator.value).casefold() == "bicep"
    return is_bicep and path.with_suffix(".bicep").is_file()


def parameter_values(params: Obj, file_name: str) -> dict[str, Value]:
    """An ARM parameters object ({name: {value: …}}) as bound values; azd ``${VAR=default}`` substituted."""
    bound: dict[str, Value] = {}
    for name, entry in params.items.items():
        value = ops.lookup(entry, "value")
        if value is None:
            reference = ops.lookup(entry, "reference")
            if reference is not None:
                bound[name] = Unknown(name, None, f"a Key Vault reference in {file_name}")
            continue
        bound[name] = ops.note(ops.azd_substitute(value, file_name), f"parameter {name} from {file_name}")
    return bound


def scan_arm(paths: list[Path]) -> tuple[list[Pin], list[ScanWarning], set[Path]]:
    """Pins, warnings and the files read, for the given .json files (templates among them)."""
    scanner = ArmScanner()
    scanner.scan(paths)
    return scanner.pins, scanner.warnings, scanner.files_read

"""Bicep deployments into pins: entry templates, the local modules and Azure Verified Modules they call, their
parameter files, and the compiled templates committed beside them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from shared.iac import confine
from shared.iac import values as ops
from shared.iac.arm.evaluate import ArmScope
from shared.iac.arm.scan import ArmScanner, parameter_values
from shared.iac.bicep.evaluate import BicepEvaluator
from shared.iac.bicep.load import (
    ACCOUNTS,
    DEPLOYMENTS,
    BicepFile,
    ModuleDecl,
    ResourceDecl,
    local_module,
    object_of,
    parse_bicepparam,
)
from shared.iac.bicep.scope import BicepScope
from shared.iac.bicep.syntax import Lost
from shared.iac.jsonsrc import JsonDocument
from shared.iac.pins import (
    EVALUATION_ERRORS,
    Arr,
    Language,
    Lit,
    Obj,
    Pin,
    Resource,
    ScanWarning,
    Unknown,
    Value,
    body_pin,
    scalar_text,
    unread_pin,
)
from shared.iac.source import SourceError, SourceText
from shared.iac.treesitter import text

if TYPE_CHECKING:
    from tree_sitter import Node

# Azure Verified Modules (registry ``br/public:``) by their documented deployments parameter
# (deployments parameter, account name parameter); the ai-foundry pattern names its account from `baseName`
AVM_MODULES = {
    "avm/res/cognitive-services/account": ("deployments", "name"),
    "avm/ptn/ai-ml/ai-foundry": ("aiModelDeployments", ""),
    "avm/ptn/azd/ml-hub-dependencies": ("cognitiveServicesDeployments", "cognitiveServicesName"),
}
MAX_MODULE_DEPTH = 12


class BicepScanner:
    """Evaluates entry templates (and the local modules they call) into pins."""

    def __init__(self) -> None:
        self.pins: list[Pin] = []
        self.warnings: list[ScanWarning] = []
        self.evaluator = BicepEvaluator(self._warn)
        self.files_read: set[Path] = set()
        self._warned: set[tuple[Path, int | None, str]] = set()
        self._compiled_cache: dict[Path, tuple[Path, Obj] | None] = {}

    def _warn(self, path: Path, line: int | None, message: str) -> None:
        key = (path.resolve(), line, message)
        if key not in self._warned:
            self._warned.add(key)
            self.warnings.append(ScanWarning(path, line, message))

    def scan(self, paths: list[Path]) -> None:
        """``paths``: every .bicep file found. Files another one calls as a module are scanned through it."""
        files = {p.resolve(): self.evaluator.file(p) for p in paths}
        called: set[Path] = set()
        for path, parsed in files.items():
            if parsed is None:
                continue
            self.files_read.add(path)
            for module in parsed.modules:
                target = local_module(path, module.path)
                if target is not None:
                    called.add(target.resolve())
        for path in sorted(files):
            if path in called or files[path] is None:
                continue
            parsed = files[path]
            assert parsed is not None
            try:
                for bound, where in self._parameter_sets(path):
                    self._evaluate_switched(parsed, bound, (where,) if where else ())
            except EVALUATION_ERRORS as exc:
                self._warn(
                    path, None, f"could not evaluate it ({type(exc).__name__}: {exc}); please report this"
                )

    def _evaluate_switched(self, file: BicepFile, bound: dict[str, Value], context: tuple[str, ...]) -> None:
        """The deployment as it is by default, then each environment switch (``${USE_X=false}``) turned the other
        way: deployments only the switch brings are listed as not deployed by default (never dropped silently)."""
        start = len(self.pins)
        self._evaluate(file, bound, context, depth=0)
        seen = {_deployment_key(p) for p in self.pins[start:]}
        for name, value in ops.switches(bound):
            other, why = ops.flipped(value)
            before = len(self.pins)
            self._evaluate(file, {**bound, name: other}, (*context, why), depth=0)
            extra = [p for p in self.pins[before:] if _deployment_key(p) not in seen]
            seen.update(_deployment_key(p) for p in extra)
            self.pins[before:] = extra

    def _parameter_sets(self, template: Path) -> list[tuple[dict[str, Value], str]]:
        """Each parameter file beside the template (a separate deployment each), or none."""
        sets: list[tuple[dict[str, Value], str]] = []
        json_file = template.with_name(template.stem + ".parameters.json")
        if json_file.is_file():
            values = self._json_parameters(json_file)
            if values is not None:
                sets.append((values, f"parameters from {json_file.name}"))
        for candidate in sorted(template.parent.glob("*.bicepparam")):
            values = self._bicepparam(candidate, template)
            if values is not None:
                sets.append((values, f"parameters from {candidate.name}"))
        return sets or [({}, "")]

    def _json_parameters(self, path: Path) -> dict[str, Value] | None:
        try:
            doc = JsonDocument(SourceText.read(path))
        except SourceError as exc:
            self._warn(path, None, str(exc))
            return None
        self.files_read.add(path.resolve())
        if doc.error is not None:
            self._warn(path, doc.error[0], doc.error[1] + "; values after it may be missed")
        params = ops.lookup(doc.value, "parameters") if doc.value is not None else None
        if not isinstance(params, Obj):
            self._warn(path, 1, 'not a deployment parameters file (no "parameters" object)')
            return None
        return parameter_values(params, path.name)

    def _bicepparam(self, path: Path, template: Path) -> dict[str, Value] | None:
        try:
            parsed = parse_bicepparam(path)
        except SourceError as exc:
            self._warn(path, None, str(exc))
            return None
        if parsed.using is None or (path.parent / parsed.using).resolve() != template.resolve():
            return None
        self.files_read.add(path.resolve())
        for lost in parsed.lost:  # one statement each; the rest of the file is read
            self._warn(path, lost.line, f"syntax error at {path.name}:{lost.line}: `{lost.header}` not read")
        scope = BicepScope(self.evaluator, parsed, {}, path.name)
        values = {
            name: ops.note(scope.lookup(name, parsed.root), f"parameter {name} from {path.name}")
            for name in parsed.params
        }
        for lost in parsed.lost:  # never the template's default in place of the value the file meant to give
            if lost.name is not None and lost.header.startswith("param "):
                values[lost.name] = Unknown(lost.name, None, f"syntax error at {path.name}:{lost.line}")
        return values

    def _evaluate(
        self, file: BicepFile, bound: dict[str, Value], context: tuple[str, ...], depth: int
    ) -> None:
        scope = BicepScope(self.evaluator, file, bound, file.path.name)
        for decl in file.resources.values():
            if decl.type == DEPLOYMENTS and not decl.existing:
                self._deployment(decl, scope, context)
        for lost in file.lost:
            if lost.header.startswith("resource ") and lost.name is not None:
                self._lost_deployment(lost, scope, context)
        for module in file.modules:
            self._module(file, module, scope, context, depth)

    def _instances(self, body: Node | None, scope: BicepScope) -> list[tuple[Node, BicepScope, str]]:
        """(object node, scope, label) for each instance a resource/module body declares; [] when its ``if`` is false."""
        if body is None:
            return []
        if body.type == "object":
            return [(body, scope, "")]
        if body.type == "if_statement":
            test_node = next((c for c in body.named_children if c.type == "parenthesized_expression"), None)
            test = self.evaluator.value(test_node, scope) if test_node is not None else Lit(True)
            decided = ops.truth(test)
            inner = object_of(body)
            src = scope.file.source
            if decided is False:
                condition = " ".join(text(test_node, src).split()) if test_node is not None else "(…)"
                why = f"{ops.NOT_DEPLOYED}: if {condition[:80]} is false"
                return [(inner, scope, why)] if inner is not None else []
            label = (
                ""
                if decided
                else f"deployed only if {' '.join(text(test_node, src).split())}"
                if test_node
                else ""
            )
            return [(inner, scope, label)] if inner is not None else []
        if body.type == "for_statement":
            scopes, _, labels = self.evaluator.loop(body, scope)
            inner_body = body.child_by_field_name("body")
            found = []
            for child, label in zip(scopes, labels, strict=True):
                for obj, s, extra in self._instances(inner_body, child):
                    found.append((obj, s, "; ".join(x for x in (label, extra) if x)))
            return found
        return []

    def _deployment(self, decl: ResourceDecl, scope: BicepScope, context: tuple[str, ...]) -> None:
        src = scope.file.source
        line = src.line_of(src.char_offset(decl.node.start_byte))
        instances = self._instances(decl.body, scope)
        compiled = self._compiled_instances(scope, decl.symbol, len(instances))
        for index, (obj_node, inner, label) in enumerate(instances):
            body = self.evaluator.value(obj_node, inner)
            if compiled is not None:
                body = _fill_unknowns(body, compiled[index])
            parent: Value | None = ops.lookup(body, "parent")
            if parent is None and decl.parent is not None:
                parent = self.evaluator.resource(decl.parent, inner.root)
            name = ops.lookup(body, "name") or Unknown("name", None, "absent")
            account: Value = Unknown("parent", None, "no parent account")
            location: Value = Unknown("location", None, "the account is not in this file")
            if isinstance(parent, Resource):
                account = ops.lookup(parent, "name") or account
                location = ops.lookup(parent, "location") or location
            elif isinstance(parent, Unknown):
                account = location = parent
            if isinstance(name, Lit) and isinstance(name.value, str) and "/" in name.value:
                # the older form: name: '${account.name}/chat'
                account_name, _, short = name.value.partition("/")
                name = Lit(short, None, name.notes, name.env)
                account = Lit(account_name)
                location = self._account_location(account_name, inner) or location
            self.pins.append(
                body_pin(
                    Language.BICEP,
                    src.path,
                    line,
                    body,
                    ops.lookup,
                    name=name,
                    account=account,
                    location=location,
                    context=tuple(c for c in (*context, label) if c),
                )
            )

    def _compiled(self, file: BicepFile) -> tuple[Path, Obj] | None:
        """The ARM template compiled from this file and committed beside it (AVM modules commit ``main.json``)."""
        key = file.path.resolve()
        if key not in self._compiled_cache:
            self._compiled_cache[key] = _compiled_template(file.path)
        return self._compiled_cache[key]

    def _compiled_instances(self, scope: BicepScope, symbol: str, count: int) -> list[Obj] | None:
        """The compiled resource of the same symbolic name, one evaluated body per instance, when the compiled
        template declares as many instances as the Bicep evaluation found (else None: nothing to pair)."""
        compiled = self._compiled(scope.file)
        if compiled is None or count == 0:
            return None
        path, template = compiled
        resources = ops.lookup(template, "resources")
        resource = resources.get(symbol) if isinstance(resources, Obj) else None  # languageVersion 2.0 only
        if not isinstance(resource, Obj):
            return None
        arm = ArmScanner()
        arm_scope = ArmScope(template, path, dict(scope.bound))
        try:
            instances = arm.instances(resource, arm_scope)
            bodies = [arm.evaluator.value(resource, inner) for inner, _ in instances]
        except EVALUATION_ERRORS:
            return None
        if len(bodies) != count:
            return None
        kept = [_not_in(body, path) for body in bodies]
        return [body for body in kept if isinstance(body, Obj)] or None

    def _lost_deployment(self, lost: Lost, scope: BicepScope, context: tuple[str, ...]) -> None:
        """A deployment resource the grammar could not read, read from the compiled template instead (its
        finding stays on the .bicep line)."""
        compiled = self._compiled(scope.file)
        if compiled is None:
            return
        path, template = compiled
        resources = ops.lookup(template, "resources")
        resource = resources.get(lost.name or "") if isinstance(resources, Obj) else None
        kind = ops.lookup(resource, "type")
        if not isinstance(kind, Lit) or str(kind.value).casefold() != DEPLOYMENTS:
            return
        bodies = self._compiled_instances(scope, lost.name or "", 1) or []
        for body in bodies:
            name = ops.lookup(body, "name") or Unknown("name", None, "absent")
            account: Value = Unknown("name", None, "the account is in the compiled template")
            if isinstance(name, Lit) and isinstance(name.value, str) and "/" in name.value:
                account_name, _, short = name.value.partition("/")
                name, account = Lit(short, None, name.notes, name.env), Lit(account_name)
            self.pins.append(
                body_pin(
                    Language.BICEP,
                    scope.file.path,
                    lost.line,
                    body,
                    ops.lookup,
                    name=name,
                    account=account,
                    location=Unknown("location", None, "the account is in the compiled template"),
                    context=(*context, f"read from {path.name}: the grammar could not read it"),
                )
            )

    def _account_location(self, account_name: str, scope: BicepScope) -> Value | None:
        for decl in scope.file.resources.values():
            if decl.type == ACCOUNTS:
                account = self.evaluator.resource(decl, scope.root)
                name = ops.lookup(account, "name")
                if isinstance(name, Lit) and name.value == account_name:
                    return ops.lookup(account, "location")
        return None

    def _module(
        self, file: BicepFile, module: ModuleDecl, scope: BicepScope, context: tuple[str, ...], depth: int
    ) -> None:
        src = file.source
        line = src.line_of(src.char_offset(module.node.start_byte))
        known = next((m for m in AVM_MODULES if m in module.path.casefold()), None)
        if known is not None:
            self._avm(module, scope, context, line, AVM_MODULES[known])
            return
        target = local_module(file.path, module.path)
        if target is None:
            self._registry(module, scope, context, line)
            return
        refused = confine.refusal(f"module {module.symbol} '{module.path}'", target)  # confinement
        if refused is not None:
            self._warn(file.path, line, refused)
            return
        if not target.is_file():
            self._warn(file.path, line, f"module {module.symbol}: {module.path} not found")
            return
        if depth >= MAX_MODULE_DEPTH:
            self._warn(file.path, line, f"module {module.symbol}: modules nested too deep (a cycle?)")
            return
        called = self.evaluator.file(target)
        if called is None:
            return
        self.files_read.add(target.resolve())
        for obj_node, inner, label in self._instances(module.body, scope):
            body = self.evaluator.value(obj_node, inner)
            params = ops.lookup(body, "params")
            bound = dict(params.items) if isinstance(params, Obj) else {}
            step = f"module {module.symbol} ({module.path}) in {file.path.name}" + (
                f", {label}" if label else ""
            )
            self._evaluate(called, bound, (*context, step), depth + 1)

    def _registry(self, module: ModuleDecl, scope: BicepScope, context: tuple[str, ...], line: int) -> None:
        """A registry or template-spec module whose code is not here: given something that looks like model
        deployments, an ``unknown`` pin naming it; otherwise a warning (never silent)."""
        src = scope.file.source
        for obj_node, inner, label in self._instances(module.body, scope):
            body = self.evaluator.value(obj_node, inner)
            params = ops.lookup(body, "params")
            given = (
                [k for k, v in params.items.items() if ops.looks_like_deployments(k, v)]
                if isinstance(params, Obj)
                else []
            )
            if not given:
                self._warn(
                    src.path,
                    line,
                    f"module {module.symbol}: {module.path} not read (its code is not here; it is given no "
                    "model deployments)",
                )
                continue
            unknown = Unknown(
                f"module {module.symbol} {given[0]}",
                src.byte_span(module.node.start_byte, module.node.end_byte),
                f"{module.path}: its code is not here (scan the module's source)",
            )
            context_here = tuple(c for c in (*context, f"module {module.symbol}", label) if c)
            self.pins.append(unread_pin(Language.BICEP, src.path, line, unknown, context_here))

    def _avm(
        self,
        module: ModuleDecl,
        scope: BicepScope,
        context: tuple[str, ...],
        line: int,
        parameters: tuple[str, str],
    ) -> None:
        """An AVM module's documented deployments parameter: items with the deployment resource's shape,
        flattened (``name``, ``model``, ``sku``, ``versionUpgradeOption``)."""
        src = scope.file.source
        for obj_node, inner, label in self._instances(module.body, scope):
            body = self.evaluator.value(obj_node, inner)
            parameter, account_parameter = parameters
            account = (
                ops.lookup(body, "params", account_parameter) if account_parameter else None
            ) or Unknown("name", None, f"{module.path} names its account itself")
            location = ops.lookup(body, "params", "location") or Unknown(
                "location", None, "the AVM module defaults to resourceGroup().location"
            )
            deployments = ops.lookup(body, "params", parameter)
            items: list[tuple[Value, str]]
            if isinstance(deployments, Arr):
                items = [(d, f"{parameter}[{i}]") for i, d in enumerate(deployments.items)]
            elif deployments is None:
                continue
            else:
                items = [(deployments, parameter)]
            for item, where in items:
                self.pins.append(
                    body_pin(
                        Language.BICEP,
                        src.path,
                        line,
                        item,
                        ops.lookup,
                        # the account module's default: '${name}-deployments'
                        name=ops.lookup(item, "name")
                        or ops.concat_text([account, Lit("-deployments")], "'${name}-deployments'"),
                        account=account,
                        location=location,
                        context=tuple(
                            c for c in (*context, f"AVM module {module.symbol} {where}", label) if c
                        ),
                        wrapped=False,
                    )
                )


def _compiled_template(path: Path) -> tuple[Path, Obj] | None:
    """``<name>.json`` beside ``<name>.bicep`` when Bicep generated it, else None."""
    beside = path.with_suffix(".json")
    if beside.is_file():
        try:
            document = JsonDocument(SourceText.read(beside))
        except SourceError:
            document = None
        generator = ops.lookup(document.value, "metadata", "_generator", "name") if document else None
        if document is not None and isinstance(document.value, Obj) and scalar_text(generator) == "bicep":
            return beside, document.value
    # A Bicep CLI on PATH is not run: it follows `loadTextContent` and modules wherever they point, past the
    # scanned root that the scan itself stays inside, and it would run on untrusted pull requests.
    return None


def _not_in(value: Value, path: Path) -> Value:
    """The value with spans into ``path`` (a compiled template nobody edits) dropped, its origin noted."""
    if isinstance(value, Lit) and value.span is not None and value.span.path == path:
        return Lit(value.value, None, (*value.notes, f"from the compiled {path.name}"), value.env)
    if isinstance(value, Obj):
        return Obj({k: _not_in(v, path) for k, v in value.items.items()})
    if isinstance(value, Arr):
        return Arr(tuple(_not_in(v, path) for v in value.items))
    return value


def _fill_unknowns(value: Value, compiled: Value) -> Value:
    """Each part of a Bicep value that could not be known, taken from the compiled template where it is known
    there (the rest, and every span the fix needs, stays the Bicep evaluation's)."""
    if isinstance(value, Unknown):
        return compiled if ops.has_unknown(compiled) is None else value
    if isinstance(value, Obj) and isinstance(compiled, Obj):
        items = dict(value.items)
        for key, other in compiled.items.items():
            mine = value.get(key)
            items[key] = _fill_unknowns(mine, other) if mine is not None else other
        return Obj(items, value.span)
    return value


def _deployment_key(pin: Pin) -> tuple[object, ...]:
    """One deployment, whatever notes its values carry: where it is declared, its name, model and version."""
    return (
        pin.file,
        pin.line,
        *(ops.plain(v) if v is not None else None for v in (pin.name, pin.model_name, pin.model_version)),
    )


def scan_bicep(paths: list[Path]) -> tuple[list[Pin], list[ScanWarning], set[Path]]:
    """Pins, warnings and the files read, for the given .bicep files (and parameter files beside them)."""
    scanner = BicepScanner()
    scanner.scan(paths)
    return scanner.pins, scanner.warnings, scanner.files_read

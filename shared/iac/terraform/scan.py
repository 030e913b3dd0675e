"""Terraform deployments into pins: ``azurerm_cognitive_deployment``, ``azapi_resource``, local modules, and the
registry modules whose deployments input is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shared.iac import confine
from shared.iac import values as ops
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
from shared.iac.terraform.evaluate import TerraformEvaluator, TerraformScope, hcl_get
from shared.iac.terraform.load import (
    AZAPI,
    DEPLOYMENT,
    DEPLOYMENTS_TYPE,
    MAX_DEPTH,
    META_ARGUMENTS,
    Block,
    HclError,
    Module,
    body_items,
    load_module,
    parse_hcl,
    subtrees,
    tree_span,
    tree_text,
)

if TYPE_CHECKING:
    from lark import Token, Tree


class TerraformScanner:
    def __init__(self) -> None:
        self.pins: list[Pin] = []
        self.warnings: list[ScanWarning] = []
        self.files_read: set[Path] = set()
        self.evaluator = TerraformEvaluator(self)
        self._modules: dict[Path, Module] = {}

    def warn(self, path: Path, line: int | None, message: str) -> None:
        warning = ScanWarning(path, line, message)
        if warning not in self.warnings:
            self.warnings.append(warning)

    def module(self, directory: Path) -> Module:
        key = directory.resolve()
        if key not in self._modules:
            self._modules[key] = load_module(key, self.warn)
            self.files_read.update(p.resolve() for p in key.glob("*.tf"))
        return self._modules[key]

    def scan(self, paths: list[Path]) -> None:
        directories = sorted({p.resolve().parent for p in paths if p.suffix == ".tf"})
        called: set[Path] = set()
        for directory in directories:
            for call in self.module(directory).calls:
                target = self.call_target(call)
                if target is not None:
                    called.add(target.resolve())
        for directory in directories:
            if directory in called:
                continue
            module = self.module(directory)
            try:
                for bound, where in self._tfvars_sets(module):
                    self._evaluate(module, bound, (where,) if where else (), 0)
            except EVALUATION_ERRORS as exc:
                self.warn(
                    directory,
                    None,
                    f"could not evaluate it ({type(exc).__name__}: {exc}); please report this",
                )

    def _tfvars_sets(self, module: Module) -> list[tuple[dict[str, Value], str]]:
        auto = [module.directory / "terraform.tfvars", *sorted(module.directory.glob("*.auto.tfvars"))]
        base: dict[str, Value] = {}
        base_names = []
        for path in auto:
            if path.is_file():
                base.update(self._tfvars(path, module))
                base_names.append(path.name)
        others = [p for p in sorted(module.directory.glob("*.tfvars")) if p not in auto]
        where = f"values from {', '.join(base_names)}" if base_names else ""
        if not others:
            return [(base, where)]
        return [
            (
                {**base, **self._tfvars(p, module)},
                f"values from {', '.join([*base_names, p.name])} (-var-file)",
            )
            for p in others
        ]

    def _tfvars(self, path: Path, module: Module) -> dict[str, Value]:
        try:
            source = SourceText.read(path)
            tree = parse_hcl(source)
        except SourceError as exc:
            self.warn(path, None, str(exc))
            return {}
        except HclError as exc:
            self.warn(path, exc.line, f"{exc}; its values are not used")
            return {}
        self.files_read.add(path.resolve())
        bodies = subtrees(tree)
        scope = TerraformScope(self.evaluator, module, {})
        values: dict[str, Value] = {}
        for key, item in body_items(bodies[0], source) if bodies else ():
            if not isinstance(item, Block):
                values[key] = ops.note(
                    self.evaluator.value(item, source, scope), f"variable {key} from {path.name}"
                )
        return values

    def call_target(self, call: Block) -> Path | None:
        items = dict(body_items(call.body, call.source))
        source_tree = items.get("source")
        if source_tree is None or isinstance(source_tree, Block):
            return None
        scope = TerraformScope(self.evaluator, Module(call.source.path.parent), {})
        value = self.evaluator.value(source_tree, call.source, scope)
        text = value.value if isinstance(value, Lit) and isinstance(value.value, str) else ""
        if not text.startswith(("./", "../")):
            return None  # a registry or remote module: its source is not here
        return call.source.path.parent / text

    def _instances(self, block: Block, scope: TerraformScope) -> list[tuple[TerraformScope, str]]:
        items = dict(body_items(block.body, block.source))
        for_each, count = items.get("for_each"), items.get("count")
        if isinstance(for_each, Block) or isinstance(count, Block):
            return [(scope, "")]
        switch = for_each if for_each is not None else count
        if switch is not None:
            other = self._other_branch(switch, block.source, scope)
            if other is not None:
                # `count = var.x ? 1 : 0` with x false by default: the instances the other branch declares,
                # listed as not deployed by default rather than dropped
                why = f"{ops.NOT_DEPLOYED}: {'for_each' if for_each is not None else 'count'} = "
                why += f"{tree_text(switch, block.source)[:80]} is empty"
                return [(inner, f"{label}; {why}" if label else why) for inner, label in other]
        if for_each is not None:
            label = tree_text(for_each, block.source)
            collection = confine.bounded_loop(self.evaluator.value(for_each, block.source, scope), label)
            each = _each(scope, collection, label)
            if each is not None:
                return each
            unknown = (
                collection if isinstance(collection, Unknown) else Unknown(label, None, "not a map or set")
            )
            return [
                (scope.child({"each": Obj({"key": unknown, "value": unknown})}), f"for_each over {label}")
            ]
        if count is not None:
            number = confine.bounded_loop(
                self.evaluator.value(count, block.source, scope), tree_text(count, block.source)
            )
            n = _whole_number(number)
            if n is not None:
                return _counted(scope, n)
            unknown = (
                number
                if isinstance(number, Unknown)
                else Unknown(tree_text(count, block.source), None, "not a number")
            )
            return [(scope.child({"count": Obj({"index": unknown})}), "count not static")]
        return [(scope, "")]

    def _other_branch(
        self, switch: Tree[Token], source: SourceText, scope: TerraformScope
    ) -> list[tuple[TerraformScope, str]] | None:
        """The instances of a ``test ? a : b`` count/for_each that is empty as things stand, taken the other
        way; None when it is not such a switch."""
        tree = switch
        while tree.data == "expr_term" and len(subtrees(tree)) == 1:
            tree = subtrees(tree)[0]
        if tree.data != "conditional":
            return None
        branches = subtrees(tree)
        if len(branches) != 3:
            return None
        test_tree, then_tree, else_tree = branches
        decided = ops.truth(self.evaluator.value(test_tree, source, scope))
        if decided is None:
            return None
        chosen = self.evaluator.value(then_tree if decided else else_tree, source, scope)
        empty = ops.is_empty(chosen) or (isinstance(chosen, Lit) and chosen.value == 0)
        if not empty:
            return None
        other = self.evaluator.value(else_tree if decided else then_tree, source, scope)
        n = _whole_number(other)
        return _counted(scope, n) if n is not None else _each(scope, other, "")

    def _evaluate(
        self, module: Module, bound: dict[str, Value], context: tuple[str, ...], depth: int
    ) -> None:
        scope = TerraformScope(self.evaluator, module, bound)
        for (kind, label), block in module.resources.items():
            if kind == DEPLOYMENT:
                self._azurerm(block, label, scope, context)
            elif kind == AZAPI:
                self._azapi(block, label, scope, context)
        for call in module.calls:
            target = self.call_target(call) or self._downloaded(module, call)
            if target is None:
                self._registry(call, scope, context)
                continue
            try:
                written = target.relative_to(call.source.path.parent).as_posix()
            except ValueError:  # an absolute folder named by .terraform/modules/modules.json
                written = target.as_posix()
            refused = confine.refusal(f'module "{call.labels[0]}" source "{written}"', target)
            if refused is not None:  # confinement: a module outside the scanned root is a finding, not read
                self.warn(call.source.path, call.line, refused)
                continue
            if not target.is_dir():
                self.warn(call.source.path, call.line, f"module {call.labels[0]}: {target.name} not found")
                continue
            if depth >= MAX_DEPTH:
                self.warn(call.source.path, call.line, f"module {call.labels[0]}: nested too deep (a cycle?)")
                continue
            called = self.module(target)
            for inner, label in self._instances(call, scope):
                bound_args = {
                    key: self.evaluator.value(item, call.source, inner)
                    for key, item in body_items(call.body, call.source)
                    if not isinstance(item, Block) and key not in META_ARGUMENTS
                }
                step = f'module "{call.labels[0]}" ({target.name}) in {call.source.path.name}' + (
                    f", {label}" if label else ""
                )
                self._evaluate(called, bound_args, (*context, step), depth + 1)

    def _downloaded(self, module: Module, call: Block) -> Path | None:
        """A registry module ``terraform init`` downloaded: ``.terraform/modules/modules.json`` names its folder."""
        listing = module.directory / ".terraform" / "modules" / "modules.json"
        if not listing.is_file():
            return None
        try:
            document = JsonDocument(SourceText.read(listing))
        except SourceError:
            return None
        entries = hcl_get(document.value, "Modules")
        for entry in entries.items if isinstance(entries, Arr) else ():
            key, folder = hcl_get(entry, "Key"), hcl_get(entry, "Dir")
            if scalar_text(key) == call.labels[0] and scalar_text(folder):
                target = module.directory / str(scalar_text(folder))
                # a folder outside the root is refused by the caller, like any module source leading out
                return target if target.is_dir() or not confine.is_inside(target) else None
        return None

    def _registry(self, call: Block, scope: TerraformScope, context: tuple[str, ...]) -> None:
        """A registry module whose code is not here: the two Azure OpenAI modules by their documented inputs;
        any other one given something that looks like model deployments is an ``unknown`` pin naming it, else a
        warning (never silent)."""
        items = dict(body_items(call.body, call.source))
        source_tree = items.get("source")
        if source_tree is None or isinstance(source_tree, Block):
            return
        source_value = self.evaluator.value(
            source_tree, call.source, TerraformScope(self.evaluator, Module(call.source.path.parent), {})
        )
        address = scalar_text(source_value) or tree_text(source_tree, call.source)
        short = address.casefold().removeprefix("registry.terraform.io/").split("//")[0]
        documented = REGISTRY_MODULES.get(short)
        name = call.labels[0] if call.labels else "?"
        for inner, label in self._instances(call, scope):
            arguments = {
                key: self.evaluator.value(item, call.source, inner)
                for key, item in body_items(call.body, call.source)
                if not isinstance(item, Block) and key not in META_ARGUMENTS
            }
            step = f'module "{name}" ({address}) in {call.source.path.name}' + (f", {label}" if label else "")
            if documented is not None:
                self._documented(documented, arguments, call, (*context, step))
                continue
            given = [k for k, v in arguments.items() if ops.looks_like_deployments(k, v)]
            if not given:
                self.warn(
                    call.source.path,
                    call.line,
                    f'module "{name}": registry module {address} not read (its code is not here; it is given '
                    "no model deployments)",
                )
                continue
            why = f"registry module {address}: its code is not here (run terraform init, or scan the module)"
            unknown = Unknown(f'module "{name}" {given[0]}', tree_span(call.body, call.source), why)
            self.pins.append(
                unread_pin(Language.TERRAFORM, call.source.path, call.line, unknown, (*context, step))
            )

    def _documented(
        self, inputs: RegistryInputs, arguments: dict[str, Value], call: Block, context: tuple[str, ...]
    ) -> None:
        """Pins from a known registry module's deployments input (a map of objects)."""
        collection = arguments.get(inputs.deployments)
        account = arguments.get(inputs.account) or Unknown(inputs.account, None, "absent")
        location = arguments.get("location") or Unknown("location", None, "absent")
        if collection is None:
            return  # the module's default: no deployments
        entries: list[tuple[str, Value]]
        if isinstance(collection, Obj):
            entries = [(f'["{k}"]', v) for k, v in collection.items.items()]
        elif isinstance(collection, Arr):
            entries = [(f"[{i}]", v) for i, v in enumerate(collection.items)]
        else:
            entries = [("", collection)]
        for where, entry in entries:
            self.pins.append(
                Pin(
                    kind=Language.TERRAFORM,
                    file=call.source.path,
                    line=call.line,
                    name=hcl_get(entry, "name") or Unknown("name", None, "absent"),
                    account=account,
                    location=location,
                    model_format=hcl_get(entry, *inputs.model_format),
                    model_name=hcl_get(entry, *inputs.model_name),
                    model_version=hcl_get(entry, *inputs.model_version),
                    sku=hcl_get(entry, *inputs.sku)
                    or (Lit(inputs.default_sku) if inputs.default_sku else None),
                    upgrade_option=hcl_get(entry, "version_upgrade_option")
                    or (Lit(inputs.default_upgrade) if inputs.default_upgrade else None),
                    context=(*context, f"{inputs.deployments}{where}"),
                )
            )

    def _azurerm(self, block: Block, label: str, scope: TerraformScope, context: tuple[str, ...]) -> None:
        for inner, where in self._instances(block, scope):
            body = self.evaluator.body(block.body, block.source, inner)
            account_ref = hcl_get(body, "cognitive_account_id")
            account, location = _account(account_ref)
            sku = hcl_get(body, "sku", "name") or hcl_get(body, "scale", "type")
            self.pins.append(
                Pin(
                    kind=Language.TERRAFORM,
                    file=block.source.path,
                    line=block.line,
                    name=hcl_get(body, "name") or Unknown("name", None, "absent"),
                    account=account,
                    location=location,
                    model_format=hcl_get(body, "model", "format"),
                    model_name=hcl_get(body, "model", "name"),
                    model_version=hcl_get(body, "model", "version"),
                    sku=sku,
                    upgrade_option=hcl_get(body, "version_upgrade_option"),
                    context=tuple(c for c in (*context, f"{DEPLOYMENT}.{label}", where) if c),
                )
            )

    def _azapi(self, block: Block, label: str, scope: TerraformScope, context: tuple[str, ...]) -> None:
        items = dict(body_items(block.body, block.source))
        type_tree = items.get("type")
        if type_tree is None or isinstance(type_tree, Block):
            return
        kind = self.evaluator.value(type_tree, block.source, scope)
        if not (isinstance(kind, Lit) and str(kind.value).casefold().split("@")[0] == DEPLOYMENTS_TYPE):
            return
        for inner, where in self._instances(block, scope):
            body = self.evaluator.body(block.body, block.source, inner)
            account, location = _account(hcl_get(body, "parent_id"))
            payload = hcl_get(body, "body")
            self.pins.append(
                body_pin(
                    Language.TERRAFORM,
                    block.source.path,
                    block.line,
                    payload,
                    hcl_get,
                    name=hcl_get(body, "name") or Unknown("name", None, "absent"),
                    account=account,
                    location=location,
                    context=tuple(c for c in (*context, f"{AZAPI}.{label}", where) if c),
                )
            )


@dataclass(frozen=True)
class RegistryInputs:
    """Where a registry module's documented input holds each deployment's values."""

    deployments: str
    account: str
    model_format: tuple[str, ...]
    model_name: tuple[str, ...]
    model_version: tuple[str, ...]
    sku: tuple[str, ...]
    default_sku: str | None = None
    default_upgrade: str | None = None


# Documented inputs (the modules' README / variables.tf): Azure/openai/azurerm `deployment` (a map of
# {name, model_format, model_name, model_version, scale_type}); Azure/avm-res-cognitiveservices-account/azurerm
# `cognitive_deployments` (a map of {name, model {format, name, version}, scale {type}, version_upgrade_option,
# which defaults to OnceNewDefaultVersionAvailable}).
REGISTRY_MODULES = {
    "azure/openai/azurerm": RegistryInputs(
        "deployment",
        "account_name",
        ("model_format",),
        ("model_name",),
        ("model_version",),
        ("scale_type",),
        default_sku="Standard",
    ),
    "azure/avm-res-cognitiveservices-account/azurerm": RegistryInputs(
        "cognitive_deployments",
        "name",
        ("model", "format"),
        ("model", "name"),
        ("model", "version"),
        ("scale", "type"),
        default_upgrade="OnceNewDefaultVersionAvailable",
    ),
}


def _account(reference: Value | None) -> tuple[Value, Value]:
    """(account name, location) from the deployment's account id reference."""
    if isinstance(reference, Resource):
        name = hcl_get(reference, "name") or Unknown("name", None, "the account has no static name")
        location = hcl_get(reference, "location") or Unknown(
            "location", None, "the account has no static location"
        )
        return name, location
    if isinstance(reference, Unknown):
        return reference, reference
    if (
        isinstance(reference, Lit)
        and isinstance(reference.value, str)
        and "/accounts/" in reference.value.casefold()
    ):
        return Lit(reference.value.rstrip("/").rsplit("/", 1)[-1]), Unknown(
            "location", None, "an account id gives no region"
        )
    return Unknown("cognitive_account_id", None, "absent"), Unknown("location", None, "no account")


def scan_terraform(paths: list[Path]) -> tuple[list[Pin], list[ScanWarning], set[Path]]:
    """Pins, warnings and the files read, for the directories of the given .tf files."""
    scanner = TerraformScanner()
    scanner.scan(paths)
    return scanner.pins, scanner.warnings, scanner.files_read


def _whole_number(value: Value) -> int | None:
    """A static ``count``: an integer literal (a bool is not one)."""
    if isinstance(value, Lit) and isinstance(value.value, int) and not isinstance(value.value, bool):
        return value.value
    return None


def _counted(scope: TerraformScope, n: int) -> list[tuple[TerraformScope, str]]:
    """The instances of ``count = n``: count.index bound in each."""
    return [(scope.child({"count": Obj({"index": Lit(i)})}), f"count.index {i}") for i in range(n)]


def _each(scope: TerraformScope, collection: Value, label: str) -> list[tuple[TerraformScope, str]] | None:
    """The instances of ``for_each`` over a map (each.key the key) or a set/list (each.key = each.value); None for
    anything else."""
    if isinstance(collection, Obj):
        return [
            (scope.child({"each": Obj({"key": Lit(k), "value": v})}), f'{label}["{k}"]')
            for k, v in collection.items.items()
        ]
    if isinstance(collection, Arr):
        return [
            (scope.child({"each": Obj({"key": v, "value": v})}), f"{label}[{i}]")
            for i, v in enumerate(collection.items)
        ]
    return None

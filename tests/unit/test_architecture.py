"""The layers' import rules (docs/architecture.md): no import points upward, every module of shared/ (and
function_app.py) in a layer, no import cycle, no import the scan cannot read (``__import__``,
``importlib.import_module``), no private name imported from another module, no library internals read by the command line; in tests/ and scripts/, no test module imported. Read from the source with ast, so a
lazy import inside a function counts as much as one at the top."""

from __future__ import annotations

import ast
import builtins
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "shared"

# module (or package) -> its layer; the longest prefix wins
LAYERS: dict[str, str] = {
    "function_app": "function_app",
    "shared": "package",  # shared/__init__.py: a docstring
    "shared.errors": "errors",
    "shared.urls": "urls",
    "shared.domain": "domain",
    "shared.presentation": "presentation",
    "shared.ports": "ports",
    "shared.config": "config",
    "shared.services": "services",
    "shared.adapters": "adapters",
    "shared.adapters.backends": "backends",  # each StoreKind's adapters: read by bootstrap and the contract tests
    "shared.bootstrap": "bootstrap",
    "shared.runtime": "runtime",
    "shared.demo": "demo",
    "shared.iac": "iac",
    "shared.canary": "canary",
    # what a command group defined elsewhere (iac, canary) uses: the context, the argument types and parser class,
    # the output conventions, the services over the command's state
    "shared.cli.context": "cli.base",
    "shared.cli.output": "cli.base",
    "shared.cli.args": "cli.base",
    "shared.cli.state": "cli.base",
    "shared.cli.console": "console",
    "shared.cli": "cli",
    "shared.__main__": "cli",
}
CORE = {"config", "adapters", "services", "ports", "presentation", "domain", "errors", "urls"}
# layer -> the layers it may import (a layer may always import itself)
ALLOWED: dict[str, set[str]] = {
    "package": set(),
    "errors": set(),
    "urls": {
        "errors"
    },  # urllib3's reading of a URL (shared/urls.py): settings and adapters check origins with it
    "domain": {"errors"},
    "presentation": {"domain", "errors"},
    "ports": {"domain", "errors"},
    "config": {"domain", "errors", "urls"},
    "services": {"domain", "ports", "errors"},
    "adapters": {"domain", "ports", "errors", "presentation", "urls"},
    "backends": {"config", "adapters", "domain", "ports", "errors"},
    "bootstrap": {"backends", *CORE},
    "console": set(),  # shared/cli/console.py, colour for people (rich, optional): the demo and the CLI use it
    "runtime": {"bootstrap", *CORE},
    "cli.base": {"bootstrap", "console", *CORE},
    "iac": {"bootstrap", "cli.base", *CORE},
    "canary": {"bootstrap", "cli.base", *CORE},  # its commands (shared/canary/cli.py)
    "demo": {"bootstrap", "console", "iac", *CORE},
    "cli": {"bootstrap", "console", "cli.base", "iac", "canary", "demo", *CORE},
    "function_app": {"runtime"},
}
# the pure layers use the standard library only: no SDK, no HTTP
STDLIB_ONLY = {"domain", "presentation", "ports", "services", "errors"}


def modules() -> dict[str, Path]:
    found = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
        for path in sorted(PACKAGE.rglob("*.py"))
    }
    return {**found, "function_app": ROOT / "function_app.py"}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    for end in range(len(parts), 1 if len(parts) > 1 else 0, -1):  # "shared" is only shared/__init__.py
        layer = LAYERS.get(".".join(parts[:end]))
        if layer is not None:
            return layer
    return None


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports(
    source: str, module: str = "", known: frozenset[str] = frozenset(), is_package: bool = False
) -> list[tuple[str, str | None]]:
    """(what is imported, the name imported from it or None) for every import, at the top or inside a function;
    ``from package import module`` is an import of the module when ``known`` holds it."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, node, is_package)
            for alias in node.names:
                whole = f"{target}.{alias.name}"
                found.append((whole, None) if whole in known else (target, alias.name))
    return found


def dynamic_imports(source: str) -> list[str]:
    """Imports no scan can follow: ``__import__(...)``, ``importlib.import_module(...)``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if name in ("__import__", "import_module"):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def violations(
    layer: str, source: str, module: str = "", known: frozenset[str] = frozenset(), is_package: bool = False
) -> list[str]:
    problems = []
    for name, imported in imports(source, module, known, is_package):
        top = name.split(".")[0]
        if top in ("shared", "function_app"):
            target = layer_of(name)
            if target is None:
                problems.append(f"{layer} imports {name}, in no layer (add it to LAYERS)")
            elif target != layer and target not in ALLOWED[layer]:
                problems.append(f"{layer} imports {name}")
            if imported and imported.startswith("_") and not imported.startswith("__"):
                problems.append(f"{layer} imports the private {imported} from {name}")
        elif layer in STDLIB_ONLY and top != "__future__" and top not in sys.stdlib_module_names:
            problems.append(f"{layer} imports the third-party {name}")
    problems += [f"{layer} imports dynamically, {call}" for call in dynamic_imports(source)]
    return problems


def test_no_import_points_upward() -> None:
    found = modules()
    known = frozenset(found)
    problems: list[str] = []
    unplaced = [module for module in found if layer_of(module) is None]
    assert unplaced == [], "in no layer: add them to LAYERS and ALLOWED (and to docs/architecture.md)"
    for module, path in found.items():
        layer = layer_of(module)
        assert layer is not None
        is_package = path.name == "__init__.py"
        problems += [
            f"{path.relative_to(ROOT)}: {p}"
            for p in violations(layer, path.read_text(), module, known, is_package)
        ]
    assert {layer_of(module) for module in found} == set(ALLOWED)
    assert problems == []


def _graph() -> dict[str, set[str]]:
    found = modules()
    known = frozenset(found)
    graph: dict[str, set[str]] = {}
    for module, path in found.items():
        edges = set()
        for name, _ in imports(path.read_text(), module, known, path.name == "__init__.py"):
            target = name
            while target and target not in known:
                target = target.rpartition(".")[0]  # shared.cli.context.UsageError -> shared.cli.context
            if target and target != module:
                edges.add(target)
        graph[module] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle() -> None:
    """Lazy imports count: a module that imports another inside a function depends on it as much."""
    assert cycles(_graph()) == []
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [{"a", "b"}]  # the detector sees one


def private_attributes(source: str) -> list[str]:
    """``x._name`` where x is not self or cls: another module's (or a library's: argparse's) internals."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.startswith("__"):
            continue
        if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_the_command_line_reads_no_internals() -> None:
    """No argparse internals (``_actions``, ``_SubParsersAction``, ``_option_string_actions``): CommandParser
    records what the command line needs to know of a parser."""
    found = [
        f"{path.relative_to(ROOT)}: {hit}"
        for path in sorted((PACKAGE / "cli").rglob("*.py"))
        for hit in private_attributes(path.read_text())
    ]
    assert found == []
    assert private_attributes("for a in parser._actions:\n    self._seen = a\n") == [
        "line 1: parser._actions"
    ]


def test_the_rule_sees_an_upward_import_a_lazy_one_and_a_third_party_one() -> None:
    assert violations("domain", "from shared.ports import Ledger\n") == ["domain imports shared.ports"]
    lazy = "def f():\n    from shared.config import Settings\n"
    assert violations("services", lazy) == ["services imports shared.config"]
    assert violations("domain", "import requests\n") == ["domain imports the third-party requests"]
    assert violations("adapters", "import requests\nfrom shared.presentation.render import x\n") == []


def test_the_rule_sees_the_command_line_layers() -> None:
    assert violations("iac", "from shared.cli.context import UsageError\n") == []
    assert violations("iac", "def f():\n    from shared.cli.parser import build_parser\n") == [
        "iac imports shared.cli.parser"
    ]
    assert violations("cli.base", "from shared.iac.cli import register\n") == [
        "cli.base imports shared.iac.cli"
    ]
    assert violations("demo", "from shared.runtime.web import x\n") == ["demo imports shared.runtime.web"]
    assert violations("runtime", "from shared.cli.main import main\n") == ["runtime imports shared.cli.main"]


def test_the_rule_sees_a_dynamic_import_and_a_private_name() -> None:
    dynamic = 'def f():\n    return __import__("shared.iac.cli").iac.cli\n'
    assert violations("cli", dynamic) == ["cli imports dynamically, line 2: __import__('shared.iac.cli')"]
    by_name = 'import importlib\nm = importlib.import_module("shared.runtime.web")\n'
    assert violations("cli", by_name) == [
        "cli imports dynamically, line 2: importlib.import_module('shared.runtime.web')"
    ]
    private = "def f():\n    from shared.cli.context import UsageError, _prefix\n"
    assert violations("iac", private) == ["iac imports the private _prefix from shared.cli.context"]
    assert violations("cli", "from __future__ import annotations\n") == []


def test_the_rule_reads_a_relative_import_and_a_module_imported_from_its_package() -> None:
    known = frozenset({"shared.cli.context", "shared.cli.parser"})
    assert violations("iac", "from ..cli.context import UsageError\n", "shared.iac.cli", known) == []
    assert violations("demo", "from .cli.context import UsageError\n", "shared.demo", known) == [
        "demo imports shared.cli.context"
    ]
    assert violations("iac", "from shared.cli import parser\n", "shared.iac.cli", known) == [
        "iac imports shared.cli.parser"
    ]


# --- shared/iac (issue #24): what it may import, no hidden imports, its sizes ------------------------------------

IAC = PACKAGE / "iac"
# what the scanner may take from the rest of shared/ (prefixes of module paths): the pure layers, settings and the
# composition root (a scan's state store is opened as every command opens it), the one service and adapter it
# needs, and the command line it is a command group of
IAC_MAY_IMPORT = (
    "shared.domain",
    "shared.errors",
    "shared.config",
    "shared.ports",
    "shared.bootstrap",  # inputs.open_state
    "shared.services.policy",  # inputs: catalog_view, the catalog as the policy engine reads it
    "shared.adapters.catalog_file",  # inputs: a catalog file given with --catalog-file
    "shared.cli.context",  # iac/cli.py: UsageError, the argument types, the Context it is passed
    "shared.cli.output",  # iac/cli.py: the output options and formats
)
# inside shared/iac: a language package reads templates into pins; it never imports what judges, reports or runs,
# and only the scan dispatcher (shared/iac/scan.py) imports a language package
LANGUAGES = ("shared.iac.bicep", "shared.iac.terraform", "shared.iac.arm")
LANGUAGE_MAY_IMPORT = (
    *LANGUAGES,
    "shared.iac.pins",
    "shared.iac.values",
    "shared.iac.confine",
    "shared.iac.source",
    "shared.iac.jsonsrc",
    "shared.iac.treesitter",
)


# private names iac takes from elsewhere: none (shared/cli/context.py offers what iac/cli.py needs publicly)
PRIVATE_IMPORTS: frozenset[str] = frozenset()


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def imported(source: str) -> list[str]:
    """Every module a source imports, at the top or inside a function, as ``module.name`` for ``from module import
    name`` (so ``from shared.iac import confine`` is ``shared.iac.confine``); ``__import__("x")`` and
    ``importlib.import_module("x")`` with a literal name count too."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call) and hidden_import(node) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append(first.value)
    return found


def hidden_import(node: ast.Call) -> bool:
    func = node.func
    return (isinstance(func, ast.Name) and func.id in ("__import__", "import_module")) or (
        isinstance(func, ast.Attribute) and func.attr == "import_module"
    )


def hidden_imports(source: str) -> list[str]:
    """``__import__``, ``importlib``: imports an import-direction test cannot follow."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and hidden_import(node):
            problems.append(f"line {node.lineno}: {ast.unparse(node.func)}(...)")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )
            if any(n == "importlib" or n.startswith("importlib.") for n in names):
                problems.append(f"line {node.lineno}: imports importlib")
    return problems


def iac_violations(module: str, source: str) -> list[str]:
    problems = []
    for name in imported(source):
        if name.startswith("shared.") and name.rsplit(".", 1)[-1].startswith("_"):
            problems.append(f"{module} imports the private {name}")
        if not name.startswith("shared.") or under(name, ("shared.iac",)):
            if (
                under(module, LANGUAGES)
                and under(name, ("shared.iac",))
                and not under(name, LANGUAGE_MAY_IMPORT)
            ):
                problems.append(f"{module} imports {name}: a language package only reads templates")
            if under(name, LANGUAGES) and not under(module, (*LANGUAGES, "shared.iac.scan")):
                problems.append(f"{module} imports {name}: only shared.iac.scan dispatches to the languages")
            continue
        if not under(name, IAC_MAY_IMPORT):
            problems.append(f"{module} imports {name}")
    return problems


def test_iac_imports_only_what_it_needs_and_nothing_hidden() -> None:
    problems: list[str] = []
    for path in sorted(IAC.rglob("*.py")):
        source = path.read_text()
        problems += iac_violations(module_name(path), source)
        problems += [f"{path.relative_to(ROOT)}: {p}" for p in hidden_imports(source)]
    assert sorted(set(problems) - PRIVATE_IMPORTS) == []
    assert sorted(PRIVATE_IMPORTS - set(problems)) == [], "no longer imported: delete its entry"


def test_the_iac_rules_see_services_languages_and_hidden_imports() -> None:
    lazy = "def f():\n    from shared.services.notify import notify\n"
    assert iac_violations("shared.iac.cli", lazy) == ["shared.iac.cli imports shared.services.notify.notify"]
    assert iac_violations("shared.iac.inputs", "from shared.services.policy import catalog_view\n") == []
    assert iac_violations("shared.iac.fix", "from shared.iac.gate import _ignore\n") == [
        "shared.iac.fix imports the private shared.iac.gate._ignore"
    ]
    assert iac_violations("shared.iac.bicep.scan", "from shared.iac.formats import table\n") == [
        "shared.iac.bicep.scan imports shared.iac.formats.table: a language package only reads templates"
    ]
    assert iac_violations("shared.iac.gate", "from shared.iac.arm import scan_arm\n") == [
        "shared.iac.gate imports shared.iac.arm.scan_arm: only shared.iac.scan dispatches to the languages"
    ]
    assert iac_violations("shared.iac.x", '__import__("shared.adapters.webhooks")\n') == [
        "shared.iac.x imports shared.adapters.webhooks"
    ]
    assert hidden_imports('import importlib\nimportlib.import_module("shared.cli")\n') == [
        "line 1: imports importlib",
        "line 2: importlib.import_module(...)",
    ]


# --- tests/: a test module imports no other test module ---------------------------------------------------------

# what several test modules share lives in tests/builders.py (data), tests/support/ (worlds, readers, fixtures'
# bodies) and tests/fakes/ (stand-ins for Azure's endpoints): a test module is never a library
TEST_ROOTS = ("tests", "scripts")


def imports_of_test_modules(source: str, module: str = "", is_package: bool = False) -> list[str]:
    """The test modules (``test_*``) a source imports, at the top or inside a function, relative imports and
    ``from package import test_x`` included, as 'line N: module'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node, is_package)
            names = [base] if _is_test_module(base) else [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [f"line {node.lineno}: {name}" for name in names if _is_test_module(name)]
    return found


def _is_test_module(name: str) -> bool:
    return any(part.startswith("test_") for part in name.split("."))


def imports_of_test_modules_under(root: Path) -> list[str]:
    """'path: line N: module' for every import of a test module by a file under ``root``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found += [
            f"{path.relative_to(root.parent).as_posix()}: {hit}"
            for hit in imports_of_test_modules(path.read_text(), module, path.name == "__init__.py")
        ]
    return found


def test_no_test_module_imports_another() -> None:
    assert [hit for root in TEST_ROOTS for hit in imports_of_test_modules_under(ROOT / root)] == []


def test_the_rule_sees_a_test_module_imported_however_it_is_written(tmp_path: Path) -> None:
    noqa = "from tests.functional.test_http_functions import Site, site  # noqa: F401 - the fixture\n"
    assert imports_of_test_modules(noqa) == ["line 1: tests.functional.test_http_functions"]
    lazy = "def f():\n    from tests.unit import test_infra\n    import tests.e2e.test_status_page\n"
    assert imports_of_test_modules(lazy) == [
        "line 2: tests.unit.test_infra",
        "line 3: tests.e2e.test_status_page",
    ]
    relative = "from .test_canary import World\n"
    assert imports_of_test_modules(relative, "tests.functional.test_canary_protect") == [
        "line 1: tests.functional.test_canary"
    ]
    assert (
        imports_of_test_modules("from tests.support.canary import World\nfrom tests import builders\n") == []
    )
    planted = tmp_path / "tests" / "e2e" / "test_planted.py"
    planted.parent.mkdir(parents=True)
    planted.write_text("from tests.support.function_host import Site\n" + noqa)
    assert imports_of_test_modules_under(tmp_path / "tests") == [
        "tests/e2e/test_planted.py: line 2: tests.functional.test_http_functions"
    ]


# --- sizes: a file a newcomer reads at a glance ---------------------------------------------------------------

MAX_FILE_LINES = 700
MAX_FUNCTION_LINES = 100
# issue #24: no file over MAX_FILE_LINES and no function over MAX_FUNCTION_LINES in any of these (no exceptions: the
# last long functions of scripts/ and tests/ were split)
SIZE_ROOTS = ("shared", "scripts", "tests", "function_app.py")


def python_files(root: str) -> list[Path]:
    path = ROOT / root
    return [path] if path.is_file() else sorted(path.rglob("*.py"))


def functions(tree: ast.AST, prefix: str = "") -> list[tuple[str, int]]:
    """(qualified name, lines) of every function, nested ones and methods included."""
    found: list[tuple[str, int]] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = prefix + node.name
            if not isinstance(node, ast.ClassDef):
                found.append((name, (node.end_lineno or node.lineno) - node.lineno + 1))
            found += functions(node, name + ".")
        else:
            found += functions(node, prefix)
    return found


def long_files(root: str) -> list[str]:
    """The files over MAX_FILE_LINES under ``root``."""
    return [
        path.relative_to(ROOT).as_posix()
        for path in python_files(root)
        if len(path.read_text().splitlines()) > MAX_FILE_LINES
    ]


def long_functions(root: str) -> list[str]:
    """The functions over MAX_FUNCTION_LINES under ``root``, as 'path::function'."""
    found = []
    for path in python_files(root):
        name = path.relative_to(ROOT).as_posix()
        found += [f"{name}::{f}" for f, n in functions(ast.parse(path.read_text())) if n > MAX_FUNCTION_LINES]
    return found


@pytest.mark.parametrize("root", SIZE_ROOTS)
def test_no_file_is_too_long(root: str) -> None:
    assert long_files(root) == []


@pytest.mark.parametrize("root", SIZE_ROOTS)
def test_no_function_is_too_long(root: str) -> None:
    assert long_functions(root) == []


def test_the_size_rule_counts_nested_functions_and_methods() -> None:
    source = "class A:\n    def m(self):\n        def inner():\n            pass\n"
    assert functions(ast.parse(source)) == [("A.m", 3), ("A.m.inner", 2)]


# --- errors: one hierarchy, one suffix ---------------------------------------------------------------------------

BASE_ERROR = "ModelWatchError"  # shared/errors.py: says whether retrying can help (is_transient)


def _base_name(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


def exception_problems(sources: dict[str, str]) -> list[str]:
    """Every exception class defined in ``sources`` (path -> text) must derive from ModelWatchError (so an entry
    point knows transient from permanent) and be named ``...Error``. A class is an exception when a base is a
    built-in exception, a library's ``...Error``/``...Exception``, or a class of ``sources`` that is one; bases are
    followed by name."""
    classes: dict[str, tuple[str, set[str]]] = {}
    for path, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ClassDef):
                where, bases = classes.get(node.name, (f"{path}:{node.lineno}", set()))
                classes[node.name] = (where, bases | {_base_name(b) for b in node.bases})

    def ancestors(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        found: set[str] = set()
        for base in classes.get(name, ("", set()))[1] - seen:
            found |= {base, *ancestors(base, seen | {name})}
        return found

    builtin = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}

    def is_root(base: str) -> bool:  # a built-in exception, or a library's (``requests.HTTPError``)
        return base in builtin or (base not in classes and base.endswith(("Error", "Exception")))

    problems = []
    for name, (where, _) in sorted(classes.items()):
        lineage = ancestors(name)
        if name == BASE_ERROR or not any(is_root(base) for base in lineage):
            continue
        if BASE_ERROR not in lineage:
            problems.append(f"{where}: {name} does not derive from {BASE_ERROR}")
        if not name.endswith("Error"):
            problems.append(f"{where}: {name} is not named ...Error")
    return problems


def test_every_error_derives_from_the_base_and_ends_in_error() -> None:
    sources = {path.relative_to(ROOT).as_posix(): path.read_text() for path in sorted(PACKAGE.rglob("*.py"))}
    assert exception_problems(sources) == []


def test_the_error_rule_sees_a_stray_exception_and_a_bad_name() -> None:
    base = "class ModelWatchError(Exception):\n    pass\nclass PermanentError(ModelWatchError):\n    pass\n"
    here = "class Stop(Exception):\n    pass\nclass Refused(PermanentError):\n    pass\nclass FineError(PermanentError, ValueError):\n    pass\nclass Plain:\n    pass\n"
    assert exception_problems({"errors.py": base, "x.py": here}) == [
        "x.py:3: Refused is not named ...Error",
        "x.py:1: Stop does not derive from ModelWatchError",
        "x.py:1: Stop is not named ...Error",
    ]
    library = "import requests\nclass HttpFailed(requests.HTTPError):\n    pass\n"
    assert exception_problems({"y.py": library}) == [
        "y.py:2: HttpFailed does not derive from ModelWatchError",
        "y.py:2: HttpFailed is not named ...Error",
    ]

"""Evaluation suite files (YAML) from an EVAL_SUITES folder, with the line of every value, and JSON Schema by
jsonschema. ``FolderSuites`` is the folder's SuiteSource (``suite_blobs.py`` is a blob container's).

PyYAML composes the document into nodes first (each with its start mark), so a problem the domain finds in a value
(``shared/domain/evals.py``) is reported at that value's line; a YAML syntax error at the parser's. Duplicate keys,
which ``safe_load`` would silently merge, are refused at the second one's line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from shared.domain.evals import Path as ValuePath
from shared.domain.evals import SchemaChecker, Suite, SuiteError, SuiteSet, parse_suite
from shared.domain.events import JsonValue

log = logging.getLogger(__name__)

SUFFIXES = (".yaml", ".yml")


class JsonSchemaChecker:
    """SchemaChecker over jsonschema (the Draft 2020-12 validator, as promptfoo's is-json uses ajv's default)."""

    def schema_problem(self, schema: Mapping[str, JsonValue]) -> str | None:
        import jsonschema

        try:
            jsonschema.Draft202012Validator.check_schema(dict(schema))
        except jsonschema.SchemaError as exc:
            return exc.message
        return None

    def violation(self, instance: JsonValue, schema: Mapping[str, JsonValue]) -> str | None:
        import jsonschema

        error = jsonschema.exceptions.best_match(
            jsonschema.Draft202012Validator(dict(schema)).iter_errors(instance)
        )
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path)
        message = error.message if len(error.message) <= 120 else error.message[:119] + "…"
        return f"{where}: {message}" if where else message


def _lines(node: object, path: ValuePath, lines: dict[ValuePath, int], source: str) -> None:
    import yaml

    assert isinstance(node, yaml.Node)
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                raise SuiteError(source, key.start_mark.line + 1, f"the key {name!r} appears twice")
            seen.add(name)
            _lines(value, (*path, name), lines, source)
            lines[(*path, name)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), lines, source)


def parse_suite_text(text: str, *, name: str, source: str, schemas: SchemaChecker | None = None) -> Suite:
    """A suite from YAML text. Raises SuiteError naming ``source`` and the line."""
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise SuiteError(source, line, f"not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise SuiteError(source, None, f"not valid YAML: {exc}") from None
    lines: dict[ValuePath, int] = {}
    if node is not None:
        _lines(node, (), lines, source)
    return parse_suite(data, name=name, source=source, lines=lines, schemas=schemas or JsonSchemaChecker())


def load_suite(path: Path) -> Suite:
    """One suite file; its name is the file name (what a ``modelwatch:evals`` tag names)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(str(path), None, f"cannot be read ({exc})") from None
    return parse_suite_text(text, name=path.name, source=str(path))


def suite_files(folder: Path) -> list[Path]:
    """The suite files of EVAL_SUITES (a folder, or one file), by name; a missing folder holds none. A sub-folder
    is not read."""
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.iterdir()) if p.suffix.lower() in SUFFIXES and p.is_file()]


def load_suites(folder: Path) -> list[Suite]:
    """Every suite of EVAL_SUITES, by file name. The first malformed file raises (the demo's, which ship valid)."""
    return [load_suite(p) for p in suite_files(folder)]


class FolderSuites:
    """SuiteSource of a folder the app ships with (or one file): a malformed file is a problem beside the others."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def read(self) -> SuiteSet:
        suites: list[Suite] = []
        problems: list[SuiteError] = []
        for path in suite_files(self.folder):
            try:
                suites.append(load_suite(path))
            except SuiteError as exc:
                log.warning("EVAL_SUITES: %s (the other suites are used)", exc)
                problems.append(exc)
        return SuiteSet(tuple(suites), tuple(problems))

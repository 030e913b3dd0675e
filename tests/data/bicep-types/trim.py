"""Rebuild this folder from a checkout of Azure/bicep-types-az: for each `type@apiVersion` the templates in infra/ use,
copy the `generated/<provider>/<namespace>/<apiVersion>/types.json` that defines it, keeping only those resource types
and the types they reach (references renumbered, the graph intact). Usage, from the repository root:

    python tests/data/bicep-types/trim.py <bicep-types-az checkout> <commit> Microsoft.Web/sites@2024-04-01 ...

(tests/unit/test_infra_schema.py prints the list the templates use when one is missing.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def _refs(node: Any) -> list[int]:
    """Every '#/N' reference inside one type entry."""
    if isinstance(node, dict):
        if set(node) == {"$ref"}:
            return [int(node["$ref"].split("/")[-1])]
        return [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _renumber(node: Any, new: dict[int, int]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"$ref"}:
            return {"$ref": f"#/{new[int(node['$ref'].split('/')[-1])]}"}
        return {k: _renumber(v, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_renumber(v, new) for v in node]
    return node


def trim(types: list[dict[str, Any]], wanted: set[str]) -> list[dict[str, Any]]:
    roots = [i for i, t in enumerate(types) if t["$type"] == "ResourceType" and t["name"].lower() in wanted]
    keep: set[int] = set()
    todo = list(roots)
    while todo:
        i = todo.pop()
        if i not in keep:
            keep.add(i)
            todo.extend(_refs(types[i]))
    order = sorted(keep)
    new = {old: n for n, old in enumerate(order)}
    return [_renumber(types[old], new) for old in order]


def main(repo: Path, commit: str, wanted: list[str]) -> None:
    files = [
        p
        for p in _git(repo, "ls-tree", "-r", "--name-only", commit, "generated").split()
        if p.endswith("/types.json")
    ]
    by_version: dict[str, set[str]] = {}
    for name in wanted:
        by_version.setdefault(name.split("@")[1], set()).add(name.lower())
    for path in files:
        version = path.split("/")[-2]
        if version not in by_version:
            continue
        types = json.loads(_git(repo, "show", f"{commit}:{path}"))
        names = {t["name"].lower() for t in types if t["$type"] == "ResourceType"}
        found = names & by_version[version]
        if not found:
            continue
        by_version[version] -= found
        out = HERE / path.removeprefix("generated/")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(trim(types, found), indent=1) + "\n", encoding="utf-8")
        print(f"{out.relative_to(HERE)}: {sorted(found)}")
    missing = sorted(n for names in by_version.values() for n in names)
    if missing:
        sys.exit(f"not found in {commit}: {missing}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3:])

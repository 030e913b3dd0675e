"""A catalog for the infrastructure-code tests: real 2026 shapes (docs/predictions.md), two regions."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.domain.catalog import parse_models
from shared.iac.evaluate import CatalogIndex
from tests.builders import item

DATA = Path(__file__).parents[1] / "data" / "iac"
AS_OF = datetime(2026, 1, 15, tzinfo=UTC)

# gpt-4o 2024-05-13: Standard retires 2026-03-31, the other deployment types 2026-10-01; the catalog names
# gpt-4.1 2025-04-14 as its replacement (another model)
GPT4O_0513 = item(
    "gpt-4o",
    "2024-05-13",
    retires="2026-03-31T00:00:00Z",
    skus={
        "Standard": "2026-03-31T00:00:00Z",
        "GlobalStandard": "2026-10-01T00:00:00Z",
        "ProvisionedManaged": "2026-10-01T00:00:00Z",
    },
    upgrade=("gpt-4.1", "2025-04-14", "2026-03-09T00:00:00Z"),
)
COMMON: list[dict[str, Any]] = [
    GPT4O_0513,
    item("gpt-4o", "2024-08-06", default=True, retires="2026-10-01T00:00:00Z"),
    item("gpt-4.1", "2025-04-14", default=True, skus={"Standard": None, "GlobalStandard": None}),
    item(
        "gpt-4o-mini",
        "2024-07-18",
        default=True,
        retires="2026-03-31T00:00:00Z",
        skus={"Standard": None, "GlobalStandard": "2026-10-01T00:00:00Z"},
    ),
    item("gpt-35-turbo", "0613", status="Deprecated", retires="2025-02-13T00:00:00Z"),
    item("gpt-35-turbo", "0125", default=True, retires="2026-03-31T00:00:00Z"),
    item("text-embedding-ada-002", "2", default=True),
]
# gpt-4 0613 is gone from eastus but still listed in swedencentral (for not-offered)
REGIONS = {
    "eastus": COMMON,
    "swedencentral": [
        *COMMON,
        item(
            "gpt-4",
            "0613",
            retires="2026-06-06T00:00:00Z",
            skus={"Standard": None, "ProvisionedManaged": None},
        ),
    ],
}


def catalog_document(as_of: datetime = AS_OF) -> dict[str, Any]:
    return {
        "asOf": as_of.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "locations": {region: {"value": items} for region, items in REGIONS.items()},
    }


def write_catalog(path: Path, as_of: datetime = AS_OF) -> Path:
    path.write_text(json.dumps(catalog_document(as_of), indent=1), encoding="utf-8")
    return path


def catalog_index() -> CatalogIndex:
    return CatalogIndex(
        {region: parse_models(items).by_key() for region, items in REGIONS.items()}, "the test catalog"
    )


def copy_fixture(name: str, target: Path) -> Path:
    """A writable copy of tests/data/iac/<name> (fix tests change files)."""
    destination = target / name
    shutil.copytree(DATA / name, destination)
    return destination

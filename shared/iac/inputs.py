"""What a scan is judged against: the catalog (state store, catalog file, or the bundled sample) and the inventory.

The I/O shell around ``evaluate``: stores are opened through ``bootstrap`` like every other command; a default
SQLite state that does not exist is not created (a scan in CI without state reads the catalog file or the sample).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shared import bootstrap
from shared.config import Settings, StateStoreConfig, StoreKind
from shared.domain.catalog import ModelVersion, VersionKey, parse_models
from shared.domain.deployments import Deployment
from shared.errors import ModelWatchError
from shared.iac.evaluate import CatalogIndex
from shared.ports import CatalogStateStore
from shared.services.policy import catalog_view

BUNDLED_CATALOG = Path(__file__).resolve().parents[1] / "data" / "catalog-2025-03-12.json"


class InputError(ModelWatchError):
    """A catalog file or state store that cannot be used (the CLI reports it as a usage error)."""


@dataclass(frozen=True)
class State:
    """The opened state: catalog snapshots and the inventory."""

    catalog: CatalogStateStore
    inventory: list[Deployment]
    description: str


def open_state(settings: Settings, override: StateStoreConfig | None) -> State | None:
    """The configured state store (``--state``, else ``STATE_STORE``, else .modelwatch/state.db when it exists)."""
    config = override or settings.state_store
    if config is None and not Path(bootstrap.DEFAULT_STATE).is_file():
        return None
    if config is not None and config.kind == StoreKind.SQLITE and not Path(config.value.reveal()).is_file():
        raise InputError(f"state file {config.value.reveal()} does not exist")
    prefix = settings.state_table_prefix
    # a scan only reads: on Table Storage no table is created (#26)
    catalog = bootstrap.build_state_store(config, table_prefix=prefix, read_only=True)
    stores = bootstrap.build_deployment_stores(config, table_prefix=prefix, read_only=True)
    description = config.describe() if config else f"sqlite:///{bootstrap.DEFAULT_STATE}"
    return State(catalog, stores.list_deployments(), description)


def state_catalogs(state: State, regions: Iterable[str]) -> CatalogIndex | None:
    """The last committed catalog of each region the state holds one for; None when it holds none."""
    found: dict[str, dict[VersionKey, ModelVersion]] = {}
    for region in sorted({r.casefold() for r in regions if r}):
        view = catalog_view(state.catalog, region)
        if view:
            found[region] = view
    return CatalogIndex(found, f"the state store ({state.description})") if found else None


def file_catalogs(path: Path) -> tuple[CatalogIndex, datetime | None]:
    """An ARM Models - List response (served for every region) or ``{"locations": {...}}``, and its ``asOf``."""
    from shared.adapters.catalog_file import FileCatalogSource

    _whole(path)
    source = FileCatalogSource(str(path))
    try:
        locations = source.locations
        if not locations:
            parsed = parse_models(source.fetch_models("any"))
            return CatalogIndex({}, f"catalog file {path.name}", any_region=parsed.by_key()), source.as_of
        regions = {loc: parse_models(source.fetch_models(loc)).by_key() for loc in locations}
    except ModelWatchError as exc:
        raise InputError(str(exc)) from exc
    return CatalogIndex(regions, f"catalog file {path.name}"), source.as_of


def _whole(path: Path) -> None:
    """Refuse a catalog file that holds one page of a paged Models - List response (``nextLink`` set): the
    versions on the other pages would be judged not offered."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # the catalog file reader says what is wrong with it
    if not isinstance(document, dict):
        return
    responses = document.get("locations")
    pages = {**responses} if isinstance(responses, dict) else {"": document}
    for location, page in pages.items():
        if isinstance(page, dict) and page.get("nextLink"):
            where = f", location {location}" if location else ""
            raise InputError(
                f"catalog file {path.name}{where}: one page of a paged response (nextLink is set): follow "
                "nextLink and merge every page's value (docs/model-pins.yml does)"
            )


def bundled_catalogs() -> tuple[CatalogIndex, datetime | None]:
    index, as_of = file_catalogs(BUNDLED_CATALOG)
    return CatalogIndex(index.regions, f"the bundled sample catalog ({BUNDLED_CATALOG.name})"), as_of

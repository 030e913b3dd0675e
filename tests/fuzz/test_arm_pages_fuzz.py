"""Fuzzing ARM catalog pages through the real ArmClient (paging, JSON checks, the nextLink origin rule) and
ArmCatalogSource: mutated, random and invalid bodies, odd nextLinks."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.adapters.arm import ArmCatalogSource, ArmClient, StaticTokenProvider
from shared.domain.catalog import ParsedCatalog, parse_models
from shared.domain.events import JsonValue
from shared.domain.secret import Secret
from shared.errors import ArmError, ModelWatchError
from tests.fuzz.support.catalogs import EXAMPLE_PAGE, REAL_PAGES, check_catalog
from tests.fuzz.support.strategies import CATALOG_ERRORS, FUZZ, PAGE_ERRORS, attempt, json_values, mutated


def _response(body: bytes, url: str, status: int = 200) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.url = url
    response.encoding = "utf-8"
    return response


class PagedArm(ArmClient):
    """The real ArmClient (paging, JSON checks, nextLink origin rule) over canned page bodies, no network."""

    def __init__(self, pages: Mapping[str, bytes]) -> None:
        super().__init__(
            "https://management.azure.com",
            "2025-09-01",
            StaticTokenProvider(Secret("t")),
            sleep=lambda s: None,
        )
        self.pages = dict(pages)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        json: Any = None,
        api_version: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        url, _ = self._url(path_or_url, api_version)  # refuses a foreign host as the real request does
        body = self.pages.get(urlsplit(url).path)
        if body is None:
            raise ArmError(f"ARM GET {urlsplit(url).path} answered 404", status=404)
        return _response(body, url)


def loads_or_none(content: bytes) -> object:
    try:
        return json.loads(content)
    except ValueError:
        return None


MODELS_PATH = "/subscriptions/s/providers/Microsoft.CognitiveServices/locations/eastus/models"
NEXT_LINKS: list[JsonValue] = [
    "https://management.azure.com/page2",
    "/page2",
    "https://evil.example/steal-the-token",
    "",
    5,
    ["x"],
    {"href": "/page2"},
    None,
]


@st.composite
def arm_page_bodies(draw: st.DrawFn) -> dict[str, bytes]:
    def body(values: list[JsonValue], link: JsonValue | None, absent: bool) -> bytes:
        doc: JsonValue = {"value": values} if absent else {"value": values, "nextLink": link}
        kind = draw(st.sampled_from(["page", "page", "page", "mutated", "random", "bytes"]))
        if kind == "mutated":
            doc = draw(mutated(doc, max_ops=2))
        elif kind == "random":
            doc = draw(json_values)
        if kind == "bytes":
            return draw(
                st.binary(max_size=40) | st.sampled_from([b"", b"{", b"<html>busy</html>", b"\xff\xfe"])
            )
        return json.dumps(doc).encode("utf-8")

    first = copy.deepcopy(draw(st.sampled_from(REAL_PAGES)))
    link = draw(st.sampled_from(NEXT_LINKS))
    return {
        MODELS_PATH: body(first, link, draw(st.booleans())),
        "/page2": body(copy.deepcopy(EXAMPLE_PAGE[:2]), None, True),
    }


@pytest.mark.reliability(
    fault="fuzz: ARM pages through the real client: mutated, random, invalid JSON bytes, odd nextLinks (120)",
    held="only CatalogFormatError/ArmError; a foreign nextLink refused",
)
@settings(FUZZ, max_examples=120)
@given(arm_page_bodies())
def test_an_arm_page_is_read_or_refused_clearly(pages: dict[str, bytes]) -> None:
    source = ArmCatalogSource(PagedArm(pages), "s")
    items = attempt(lambda: source.fetch_models("eastus"), PAGE_ERRORS)
    first = loads_or_none(pages[MODELS_PATH])
    if isinstance(first, dict) and isinstance(first.get("value"), list):
        link = first.get("nextLink")
        if link is None or link == "":  # one well-formed page: exactly its items
            assert not isinstance(items, ModelWatchError)
            assert json.dumps(items) == json.dumps(first["value"])
        elif isinstance(link, str) and link.startswith("https://evil."):  # the token never leaves ARM
            assert isinstance(items, ArmError) and items.code == "ForeignLink"
    if isinstance(items, ModelWatchError):
        return
    assert isinstance(items, list)
    parsed = attempt(lambda: parse_models(items), CATALOG_ERRORS)
    assert isinstance(parsed, ParsedCatalog)
    check_catalog(parsed, len(items))

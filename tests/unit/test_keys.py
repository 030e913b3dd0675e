"""Table key encoding: reversible, never emits a character Table Storage forbids, leaves ordinary keys alone."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from shared.adapters.storage.keys import MAX_KEY_LENGTH, decode_key, encode_key
from shared.errors import PermanentError

# https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model: '/', '\\', '#', '?', U+0000-U+001F, U+007F-U+009F
FORBIDDEN = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")
ORDINARY = string.ascii_letters + string.digits + "-._|: ~'()"
# A character encodes to at most 12 (4 UTF-8 bytes, each %XX): 40 of them always fit the 512-character limit.
SHORT = 40


@given(st.text(max_size=SHORT))
@example("a/b\\c#d?e%f")
@example("%2F")
@example("\x00\x1f\x7f\x9f\t\r\n")
@example("ünïcødé-模型-🚀")
def test_round_trip(text: str) -> None:
    assert decode_key(encode_key(text)) == text


@given(st.text(max_size=SHORT))
def test_encoded_key_is_legal_ascii(text: str) -> None:
    encoded = encode_key(text)
    assert FORBIDDEN.search(encoded) is None
    assert encoded.isascii()
    assert len(encoded) <= MAX_KEY_LENGTH


@given(st.text(alphabet=ORDINARY, max_size=MAX_KEY_LENGTH))
def test_ordinary_keys_stay_readable(text: str) -> None:
    assert encode_key(text) == text


@given(st.text(min_size=SHORT, max_size=600))
def test_long_text_round_trips_or_is_refused(text: str) -> None:
    refused: PermanentError | None = None
    try:
        encoded = encode_key(text)
    except PermanentError as exc:
        refused = exc
    if refused is not None:
        assert "too long" in str(refused)
        return
    assert len(encoded) <= MAX_KEY_LENGTH
    assert decode_key(encoded) == text


def test_real_keys_are_unchanged() -> None:
    for key in ("eastus", "OpenAI|gpt-4o|2024-11-20", "6f1c8e64-8f0b-4c55-9a56-3f8f2b0f4a11", "cursor"):
        assert encode_key(key) == key


def test_percent_is_escaped_so_decoding_is_exact() -> None:
    assert encode_key("100%") == "100%25"
    assert encode_key("%2F") == "%252F"
    assert decode_key(encode_key("%2F")) == "%2F"


@given(st.lists(st.text(max_size=30), min_size=2, max_size=2, unique=True))
def test_distinct_texts_get_distinct_keys(texts: list[str]) -> None:
    assert encode_key(texts[0]) != encode_key(texts[1])


def test_length_limit_counts_the_encoded_form() -> None:
    assert encode_key("k" * MAX_KEY_LENGTH) == "k" * MAX_KEY_LENGTH
    with pytest.raises(PermanentError, match="too long"):
        encode_key("k" * (MAX_KEY_LENGTH + 1))
    with pytest.raises(PermanentError, match="513 characters"):
        encode_key("/" * 171)  # 171 characters, 513 once encoded


def test_too_long_error_names_a_truncated_key() -> None:
    text = "gpt-" + "x" * 5000
    with pytest.raises(PermanentError) as caught:
        encode_key(text)
    message = str(caught.value)
    assert "gpt-xxxx" in message
    assert len(message) < 300


def test_lone_surrogate_is_permanent() -> None:
    with pytest.raises(PermanentError, match="not valid Unicode"):
        encode_key("bad\ud800")


def test_an_over_long_id_is_shortened_deterministically_and_stays_a_legal_key() -> None:
    from shared.adapters.storage.keys import MAX_KEY_LENGTH, id_key

    long_id = "/subscriptions/s/resourceGroups/" + "группа-" * 80 + "/providers/x/accounts/a/deployments/d"
    key = id_key(long_id)
    assert len(key) <= MAX_KEY_LENGTH and key == id_key(long_id)  # the same id, the same key
    assert key != id_key(long_id + "2") and "~" in key
    assert not any(c in key for c in "/\\#?")
    assert id_key("/subscriptions/s/short") == encode_key("/subscriptions/s/short")  # short ids are unchanged


def test_resource_ids_compare_as_arm_does_ascii_case_only() -> None:
    from shared.domain.ids import arm_key

    assert arm_key("/Subscriptions/S/resourceGroups/RG/") == arm_key("/subscriptions/s/resourcegroups/rg")
    # casefold() would merge these; ARM keeps them apart
    assert arm_key("/subscriptions/s/resourceGroups/Straße") != arm_key(
        "/subscriptions/s/resourceGroups/STRASSE"
    )
    assert arm_key("/subscriptions/s/resourceGroups/\u212aelvin") != arm_key(
        "/subscriptions/s/resourceGroups/kelvin"
    )

"""Reversible encoding of arbitrary text into legal Table Storage PartitionKey/RowKey values."""

from __future__ import annotations

import hashlib
import string
from urllib.parse import quote, unquote

from shared.errors import PermanentError

# Table Storage keys are at most 1 KiB of UTF-16, i.e. 512 code units: Azurite 3.37 rejects a 513-character
# key with 400 InvalidInput (its DEFAULT_KEY_MAX_LENGTH is 512), so "1 KiB" is not 1024 characters. The
# encoded form is pure ASCII, so its length in characters is its length in UTF-16 code units.
MAX_KEY_LENGTH = 512

# Forbidden in keys: '/', '\\', '#', '?' and the control ranges U+0000-U+001F, U+007F-U+009F
# (https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model).
# '%' is the escape character, so it is encoded too. Every other printable ASCII character stays as it is, so
# ordinary keys ("eastus", "OpenAI|gpt-4o|2024-11-20", event uuids) are stored unchanged and stay readable.
# Non-ASCII text is percent-encoded as UTF-8 by quote(): the key stays ASCII and its length is unambiguous.
_SAFE = "".join(c for c in string.printable if c.isprintable() and c not in "%/\\#?")

_SHOWN = 80  # how much of an over-long key an error message quotes


def encode_key(text: str) -> str:
    """The key form of ``text``. Raises PermanentError when it would exceed 1 KiB (512 characters)."""
    try:
        encoded = quote(text, safe=_SAFE, encoding="utf-8", errors="strict")
    except UnicodeEncodeError as exc:  # a lone surrogate: not text any store or wire format can carry
        raise PermanentError(f"table key is not valid Unicode: {text[:_SHOWN]!r}") from exc
    if len(encoded) > MAX_KEY_LENGTH:
        shown = text[:_SHOWN] + ("…" if len(text) > _SHOWN else "")
        raise PermanentError(
            f"table key too long: {len(encoded)} characters once encoded (limit {MAX_KEY_LENGTH}): {shown!r}"
        )
    return encoded


def decode_key(text: str) -> str:
    """The text ``encode_key`` was given."""
    return unquote(text, encoding="utf-8", errors="strict")


def id_key(text: str) -> str:
    """A key for an ARM resource id (a deployment, the partition of its rollback records). Ids can outgrow
    1 KiB once encoded (a long, non-ASCII resource group name): those are shortened deterministically to a
    readable prefix and a SHA-256 of the whole id, so one odd deployment never fails a whole inventory.
    Not reversible: stores keep the full id in the entity body."""
    try:
        return encode_key(text)
    except PermanentError:
        try:
            encoded = quote(text, safe=_SAFE, encoding="utf-8", errors="strict")
        except UnicodeEncodeError as exc:
            raise PermanentError(f"table key is not valid Unicode: {text[:_SHOWN]!r}") from exc
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        head = encoded[: MAX_KEY_LENGTH - len(digest) - 1]
        if "%" in head[-2:]:  # never end inside a %XX escape
            head = head[: head.rindex("%")]
        return f"{head}~{digest}"

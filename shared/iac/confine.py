"""Keep a scan inside the folder it was asked to scan, and within sizes it can evaluate.

Templates are untrusted input: the example workflow scans a pull request's checkout after ``azure/login``, so a
pull request controls every byte, symlink and path in it. Every file the scanner reads or ``iac fix`` writes goes
through here: its real path (symlinks resolved) must stay under one of the scan's roots, it must be a regular file
(a FIFO blocks, ``/dev/zero`` never ends), and it is read up to ``MAX_FILE_BYTES`` only. The evaluators also
refuse, as a finding naming the reference, a ``module``, ``load*Content``, Terraform ``source`` or ARM
``relativePath`` that leads out of the root (``refusal``), and bound the values they build (``bounded``).

The roots are set for the duration of a scan by ``confined(roots)`` (a context variable, so the evaluators'
signatures stay as they are). Outside a ``confined`` block nothing is refused for its place, but the file kind
and size limits hold everywhere.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from shared.errors import PermanentError
from shared.iac.pins import NOT_REGULAR, OUTSIDE_ROOT, TOO_LARGE, Arr, Lit, Obj, Resource, Unknown, Value

if TYPE_CHECKING:
    from tree_sitter import Tree

# ARM refuses a template or a parameter file larger than 4 MB (Learn: "ARM template best practices", template
# limits), measured after compression ("Resolve errors for job size exceeded"): twice that on disk leaves room for
# a template that compresses well; a larger file cannot be deployed. Bicep sources are smaller than what they compile to.
MAX_FILE_BYTES = 8 * 1024 * 1024
# One evaluated value (a var, param, local or loaded file): 4 Mi characters of text or 100,000 items. A value is
# checked when a name is bound to it, so a chain of doubling vars stops at twice this, never at 2**34 bytes.
MAX_VALUE_CHARS = 4 * 1024 * 1024
MAX_VALUE_ITEMS = 100_000
# Syntax tree depth (tree-sitter levels): templates people write stay under 100 (a JSON object level is two); the
# evaluators recurse over the tree and were measured to reach Python's recursion limit past 1,200 levels.
MAX_TREE_DEPTH = 500


_roots: contextvars.ContextVar[tuple[Path, ...] | None] = contextvars.ContextVar("iac_roots", default=None)


class RefusedError(PermanentError):
    """A file that must not be read or written: outside the roots, not a regular file, or too large."""


@contextlib.contextmanager
def confined(roots: list[Path]) -> Iterator[None]:
    """Refuse, while inside the block, every path whose real path is not under one of ``roots``."""
    token = _roots.set(tuple(Path(os.path.realpath(r)) for r in roots))
    try:
        yield
    finally:
        _roots.reset(token)


def roots() -> tuple[Path, ...] | None:
    """The active roots, or None outside a ``confined`` block."""
    return _roots.get()


def is_inside(path: Path) -> bool:
    """Whether ``path``, symlinks resolved, is under an active root (always, outside a ``confined`` block)."""
    active = _roots.get()
    if active is None:
        return True
    real = Path(os.path.realpath(path))
    return any(real == root or root in real.parents for root in active)


def refusal(what: str, target: Path) -> str | None:
    """The finding's message when a reference (``module 'x'``, ``loadJsonContent('x')``, ...) leads out of the
    root, else None. ``target``: the path it names, joined to the referencing file's folder."""
    if is_inside(target):
        return None
    return f"{what} resolves {OUTSIDE_ROOT}: refused, not read"


def check_file(path: Path) -> None:
    """Raise RefusedError unless ``path`` is a regular file under the roots, within the size limit."""
    if not is_inside(path):
        raise RefusedError(f"{OUTSIDE_ROOT} (through a symbolic link or ../): not read")
    try:
        info = os.stat(path)
    except OSError as exc:
        raise RefusedError(f"cannot read it ({exc.strerror})") from None
    _check_stat(info)


def _check_stat(info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise RefusedError(f"{NOT_REGULAR} (a device, FIFO or socket): not read")
    if info.st_size > MAX_FILE_BYTES:
        raise RefusedError(
            f"larger than {MAX_FILE_BYTES:,} bytes (ARM's limit for a template is 4 MB): {TOO_LARGE}"
        )


def read_bytes(path: Path) -> bytes:
    """At most ``MAX_FILE_BYTES`` of a regular file under the roots. Raises RefusedError or OSError."""
    if not is_inside(path):
        raise RefusedError(f"{OUTSIDE_ROOT} (through a symbolic link or ../): not read")
    real = os.path.realpath(path)
    # O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOFOLLOW: the checked real path, not a new link
    flags = (
        os.O_RDONLY
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_CLOEXEC", 0)
    )
    descriptor = os.open(real, flags)
    try:
        _check_stat(os.fstat(descriptor))
    except RefusedError:
        os.close(descriptor)
        raise
    with os.fdopen(descriptor, "rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)  # the file may have grown since fstat
    if len(data) > MAX_FILE_BYTES:
        raise RefusedError(
            f"larger than {MAX_FILE_BYTES:,} bytes (ARM's limit for a template is 4 MB): {TOO_LARGE}"
        )
    return data


def write_bytes(path: Path, data: bytes) -> None:
    """Replace a regular file under the roots, never through a symbolic link: the new content goes to a temporary
    file in the same folder, then ``os.replace`` (atomic: a reader sees the old file or the new one). Raises
    RefusedError or OSError."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise RefusedError("a symbolic link: not written through (change the file it points to)")
    if not stat.S_ISREG(info.st_mode):
        raise RefusedError(f"{NOT_REGULAR}: not written")
    if not is_inside(path):
        raise RefusedError(f"{OUTSIDE_ROOT}: not written")
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, stat.S_IMODE(info.st_mode))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def bounded(value: Value, expression: str) -> Value:
    """``value``, or ``Unknown`` ("too large to evaluate") when it holds more text or items than a template
    can need. Stops counting at the limit, so checking costs at most the limit, whatever the value's size."""
    chars = items = 0
    stack: list[Value] = [value]
    while stack:
        current = stack.pop()
        items += 1
        if isinstance(current, Lit) and isinstance(current.value, str):
            chars += len(current.value)
        elif isinstance(current, Obj):
            chars += sum(len(k) for k in current.items)
            stack.extend(current.items.values())
        elif isinstance(current, Arr):
            stack.extend(current.items)
        elif isinstance(current, Resource):
            stack.append(current.body)
        if chars > MAX_VALUE_CHARS or items > MAX_VALUE_ITEMS:
            span = getattr(value, "span", None)
            reason = (
                f"{TOO_LARGE}: more than {MAX_VALUE_CHARS // (1024 * 1024)} Mi characters or "
                f"{MAX_VALUE_ITEMS:,} items"
            )
            return Unknown(expression[:100], span, reason)
    return value


def too_deep(tree: Tree) -> bool:
    """Whether a tree-sitter tree is nested deeper than ``MAX_TREE_DEPTH``. Iterative: a deep tree must not
    exhaust the stack while being measured."""
    depth = 0
    walker = tree.walk()
    while True:
        if depth > MAX_TREE_DEPTH:
            return True
        if walker.goto_first_child():
            depth += 1
            continue
        while not walker.goto_next_sibling():
            if not walker.goto_parent():
                return False
            depth -= 1


# ARM deploys at most 800 resources, copies included (Learn: template limits; Bicep loops compile to copy loops):
# a longer loop cannot deploy.
MAX_LOOP_ITEMS = 800


def bounded_loop(value: Value, expression: str) -> Value:
    """A loop's collection or count, or ``Unknown`` ("too large to evaluate") past ARM's 800 copies."""
    size = None
    if isinstance(value, Lit) and isinstance(value.value, int) and not isinstance(value.value, bool):
        size = value.value
    elif isinstance(value, Arr | Obj):
        size = len(value.items)
    if size is not None and size > MAX_LOOP_ITEMS:
        span = getattr(value, "span", None)
        return Unknown(
            expression[:100], span, f"{TOO_LARGE}: a loop of {size:,} (ARM allows {MAX_LOOP_ITEMS})"
        )
    return value

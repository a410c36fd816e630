"""All-or-nothing file writes: a file appears under its final name complete, or not at all.

Every writer of eofpinn goes through `replacing(path)`: it writes into a temporary file beside
`path` (`.<name>.<random><suffix>`, same directory, so the rename cannot cross filesystems),
and only when that write returned without error are the bytes flushed to the disk (fsync: a
full disk, a quota or a network filesystem may report ENOSPC/EDQUOT only then) and the
temporary renamed over `path` (os.replace, atomic). On any failure — an OSError, an
interruption, a writer's own check — the temporary is removed and `path` keeps its previous
content (or stays absent); an OSError becomes a one-line `WriteError`
("cannot write <path>: No space left on device").

A writer that reports failure by a return code instead of an exception (VTK) must turn it into
an OSError inside the block (eofpinn.io.write_vts does).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from eofpinn.errors import WriteError


def reason(exc: OSError) -> str:
    """The human part of an OSError: "No space left on device", not "[Errno 28] ..."."""
    return exc.strerror or str(exc)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files; a result gets the mode a plain open() would give it.
FILE_MODE = 0o666 & ~_umask()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path`, on failure it is removed.

    Raises:
        WriteError: the temporary could not be created, written, flushed or renamed (the
            OSError's reason is in the message; the traceback is not shown to a user).
    """
    path = Path(path)
    try:
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    except OSError as exc:
        raise WriteError(path, reason(exc)) from exc
    os.close(handle)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, FILE_MODE)
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise WriteError(path, reason(exc)) from exc
        raise


def write_bytes(path: str | Path, data: bytes | memoryview) -> Path:
    """Write `data` to `path` all or nothing (see `replacing`)."""
    path = Path(path)
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` all or nothing (see `replacing`)."""
    return write_bytes(path, text.encode("utf-8"))

"""Model snapshots on disk, written atomically and loaded only when the ledger vouches for them.

What the checksum protects against: a torn write (the process or the machine died while
writing), a truncated file (disk full), bit rot, and a stray or swapped file (a snapshot
copied over from another bot or an older run). Each of these makes the file's size or
SHA-256 differ from the ledger's row, so the file is skipped with a warning and the previous
checkpoint is used.

What it does not protect against: someone who can write both the ledger and the checkpoint
folder can write a pickle and a matching row, and unpickling runs code. The checksum is an
integrity check, not a signature. Protect the folder (this store creates it owner-only,
``0o700``, and writes files ``0o600``) and the ledger's database like the bot's API keys.

**Format version.** A pickle is an object graph: the private attribute names of every class
in it are its storage format. Each file starts with a one-line header naming the format
version its writer used (``freqtrade-feedback checkpoint format 1``), readable without
unpickling; a file of another version (a file without the header was written before versions
existed: version 0) is never unpickled. What it held is learned again from the ledger, whose
learning steps any checkpoint only shortens, so old-format code needs no shim to read it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from freqtrade_feedback.ledger.engine import cause, storage_errors
from freqtrade_feedback.ledger.ledger import Ledger
from freqtrade_feedback.ledger.records import Checkpoint
from freqtrade_feedback.ledger.tables import require_aware
from freqtrade_feedback.validation import invalid, is_int

logger = logging.getLogger(__name__)

_OURS = re.compile(r"^(checkpoint-.+\.pkl|\.checkpoint-.+\.tmp)$")
_MAGIC = b"freqtrade-feedback checkpoint format "
_VERSION = re.compile(rb"(\d{1,9})\n")


def format_header(version: int) -> bytes:
    """The first line of a checkpoint file written in format ``version``.

    >>> format_header(3)
    b'freqtrade-feedback checkpoint format 3\\n'
    """
    return _MAGIC + b"%d\n" % version


def format_version(data: bytes) -> int:
    """The format version a checkpoint file's bytes name; 0 without a header (written before
    versions existed, or not a checkpoint at all). Reads the header only, never unpickles.

    >>> format_version(format_header(2) + b"..."), format_version(b"\\x80\\x05...")
    (2, 0)
    """
    if not data.startswith(_MAGIC):
        return 0
    found = _VERSION.match(data, len(_MAGIC))
    return int(found.group(1)) if found else 0


@dataclass(frozen=True)
class Restored:
    """A loaded snapshot and the ledger's record of it (its ``position`` says what to replay)."""

    state: Any
    checkpoint: Checkpoint


class _Unusable(Exception):
    """Why one checkpoint file cannot be loaded."""


class _OtherFormat(Exception):
    """A sound checkpoint file of another format version: left unread, not a fault."""

    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable: the directory entry is data too."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (mode ``0o600``) so that a reader sees all of it or the old file.

    A temporary file in the same folder is written, flushed, synced, then renamed over
    ``path``, and the folder is synced so the rename survives a power cut.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "state.pkl"
    >>> write_atomic(target, b"abc")
    >>> target.read_bytes(), oct(target.stat().st_mode & 0o777)
    (b'abc', '0o600')
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".checkpoint-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


class CheckpointStore:
    """Pickled snapshots of any object in ``folder``, each vouched for by a ledger row.

    Parameters
    ----------
    folder
        Where the files go; created owner-only. The store owns it: files named like its
        own that the ledger does not list are deleted when it prunes.
    ledger
        Records each file's size and SHA-256; :meth:`load_latest` trusts nothing else.
    keep
        How many checkpoints to keep; older files and rows are pruned after each save.
    version
        The format version written, and the only one loaded (see the module docstring).

    Examples
    --------
    >>> import tempfile
    >>> from datetime import UTC, datetime
    >>> store = CheckpointStore(tempfile.mkdtemp(), Ledger(), keep=2)
    >>> t = datetime(2024, 1, 1, tzinfo=UTC)
    >>> for n in range(3):
    ...     _ = store.save({"n": n}, now=t)
    >>> store.load_latest().state, len(store.ledger.checkpoints())
    ({'n': 2}, 2)
    """

    def __init__(self, folder: str | Path, ledger: Ledger, keep: int = 3,
                 version: int = 1) -> None:
        if not is_int(keep) or keep < 1:
            raise invalid("CheckpointStore", "keep", "an int >= 1", keep)
        if not is_int(version) or version < 1:
            raise invalid("CheckpointStore", "version", "an int >= 1", version)
        self.folder = folder
        self.ledger = ledger
        self.keep = keep
        self.version = version

    @property
    def _folder(self) -> Path:
        return Path(self.folder)

    def save(self, state: object, *, now: datetime) -> Checkpoint:
        """Snapshot ``state`` and record it; it covers every learning step recorded so far.

        Call it inside the ledger transaction that marked the last outcome learned, so the
        snapshot and the steps it includes commit together. A file written by a transaction
        that then rolls back is never loaded (no row vouches for it) and is deleted by the
        next prune.
        """
        require_aware("now", now)
        data = format_header(self.version) + pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        digest = hashlib.sha256(data).hexdigest()
        name = f"checkpoint-{now:%Y%m%dT%H%M%S}Z-{digest[:16]}.pkl"
        with self.ledger.transaction():
            with storage_errors(f"the checkpoint folder {self._folder}", f"write {name}"):
                self._folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                write_atomic(self._folder / name, data)
            record = self.ledger.add_checkpoint(name, sha256=digest, size=len(data), now=now)
            old = self.ledger.checkpoints()[self.keep:]
            if old:
                self.ledger.delete_checkpoints([c.id for c in old])
            self.ledger.after_commit(self._delete_unlisted)
        return record

    def _delete_unlisted(self) -> None:
        """Delete our files that no checkpoint row lists: pruned, rolled back or half-written."""
        listed = {c.path for c in self.ledger.checkpoints()}
        for path in self._folder.iterdir():
            if _OURS.match(path.name) and path.name not in listed:
                try:
                    path.unlink()
                except OSError as error:  # a leftover file costs disk space, nothing more
                    logger.warning("Could not delete the old checkpoint %s: %s", path, cause(error))

    def _load(self, record: Checkpoint) -> Any:
        path = self._folder / record.path
        try:
            data = path.read_bytes()
        except OSError as error:
            raise _Unusable(f"it cannot be read ({cause(error)})") from error
        if len(data) != record.size:
            raise _Unusable(f"it has {len(data)} bytes where the ledger recorded {record.size} "
                            f"(truncated or replaced)")
        if hashlib.sha256(data).hexdigest() != record.sha256:
            raise _Unusable("its SHA-256 differs from the ledger's (corrupted, or another file)")
        version = format_version(data)
        if version != self.version:
            raise _OtherFormat(version)
        try:  # vouched for by the ledger, in our format: see the module docstring
            return pickle.loads(data[len(format_header(version)):])
        except Exception as error:  # a class renamed or removed since the snapshot
            raise _Unusable(f"it does not unpickle ({cause(error)})") from error

    def load_latest(self) -> Restored | None:
        """The newest snapshot whose file matches its ledger row, else ``None``.

        A file that is missing, truncated, corrupted, foreign or does not unpickle is skipped
        with one warning naming it and why, and the previous checkpoint is tried. Files of
        another format version are skipped unread, with one warning for all of them. ``None``
        without a warning when there never was a checkpoint (a first start).
        """
        records = self.ledger.checkpoints()
        other: dict[int, int] = {}
        try:
            for record in records:
                try:
                    return Restored(self._load(record), record)
                except _OtherFormat as found:
                    other[found.version] = other.get(found.version, 0) + 1
                except _Unusable as reason:
                    logger.warning("Skipping the checkpoint %s: %s.", self._folder / record.path,
                                   reason)
            if len(records) > sum(other.values()):
                logger.warning("None of the %d checkpoints in %s is valid: the learner starts "
                               "fresh.", len(records), self._folder)
            return None
        finally:
            if other:
                logger.warning(
                    "Not loading %d checkpoint(s) in %s: written in checkpoint format %s, and "
                    "this release reads format %d only (never unpickled); what they held is "
                    "learned again from the ledger.", sum(other.values()), self._folder,
                    ", ".join(map(str, sorted(other))), self.version)


__all__ = ["CheckpointStore", "Restored", "format_header", "format_version", "write_atomic"]

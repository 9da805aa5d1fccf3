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


@dataclass(frozen=True)
class Restored:
    """A loaded snapshot and the ledger's record of it (its ``position`` says what to replay)."""

    state: Any
    checkpoint: Checkpoint


class _Unusable(Exception):
    """Why one checkpoint file cannot be loaded."""


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

    def __init__(self, folder: str | Path, ledger: Ledger, keep: int = 3) -> None:
        if not is_int(keep) or keep < 1:
            raise invalid("CheckpointStore", "keep", "an int >= 1", keep)
        self.folder = folder
        self.ledger = ledger
        self.keep = keep

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
        data = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
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
        try:
            return pickle.loads(data)  # vouched for by the ledger: see the module docstring
        except Exception as error:  # a class renamed or removed since the snapshot
            raise _Unusable(f"it does not unpickle ({cause(error)})") from error

    def load_latest(self) -> Restored | None:
        """The newest snapshot whose file matches its ledger row, else ``None``.

        A file that is missing, truncated, corrupted, foreign or does not unpickle is skipped
        with one warning naming it and why, and the previous checkpoint is tried. ``None``
        without a warning when there never was a checkpoint (a first start).
        """
        records = self.ledger.checkpoints()
        for record in records:
            try:
                return Restored(self._load(record), record)
            except _Unusable as reason:
                logger.warning("Skipping the checkpoint %s: %s.", self._folder / record.path,
                               reason)
        if records:
            logger.warning("None of the %d checkpoints in %s is valid: the learner starts "
                           "fresh.", len(records), self._folder)
        return None


__all__ = ["CheckpointStore", "Restored", "write_atomic"]

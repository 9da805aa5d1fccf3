"""CheckpointStore: atomic owner-only files, pruning, and loading only what the ledger vouches for
(falling back, with one warning naming the file, past corrupted, truncated, swapped, foreign or
missing files). The ledger that vouches for them runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import logging
import pickle
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from freqtrade_feedback.exceptions import ConfigError, LedgerError
from freqtrade_feedback.labels import LearnStatus, RealizedOutcome
from freqtrade_feedback.ledger import CheckpointStore, Ledger, realized_key
from freqtrade_feedback.ledger.checkpoint_store import format_header, format_version

T0 = datetime(2024, 1, 1, tzinfo=UTC)
LOGGER = "freqtrade_feedback.ledger.checkpoint_store"


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    """The ledger that vouches for the files, on SQLite and on PostgreSQL."""
    with Ledger(ledger_url) as opened:
        yield opened


@pytest.fixture
def store(tmp_path: Path, ledger: Ledger) -> CheckpointStore:
    return CheckpointStore(tmp_path / "checkpoints", ledger, keep=3)


def _save(store: CheckpointStore, n: int) -> list[Path]:
    """States {"n": 0} .. {"n": n-1}, an hour apart; their files, oldest first."""
    records = [store.save({"n": i, "pad": "x" * 100}, now=T0 + timedelta(hours=i))
               for i in range(n)]
    return [Path(store.folder) / r.path for r in records]


def _skipped(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == LOGGER and r.levelno == logging.WARNING]


def test_round_trip_with_owner_only_files(store: CheckpointStore) -> None:
    paths = _save(store, 1)
    restored = store.load_latest()
    assert restored is not None and restored.state == {"n": 0, "pad": "x" * 100}
    assert paths[0].stat().st_mode & 0o777 == 0o600
    assert Path(store.folder).stat().st_mode & 0o777 == 0o700
    record = restored.checkpoint
    assert record.size == paths[0].stat().st_size and len(record.sha256) == 64
    assert record.created_at == T0 and record.created_at.tzinfo is UTC
    assert [p.name for p in Path(store.folder).iterdir()] == [paths[0].name]  # no temp file left


def test_only_the_last_keep_are_kept(store: CheckpointStore) -> None:
    paths = _save(store, 5)
    assert sorted(Path(store.folder).iterdir()) == sorted(paths[2:])
    assert [c.path for c in store.ledger.checkpoints()] == [p.name for p in paths[:1:-1]]
    assert store.ledger.counts()["checkpoints"] == 3
    assert store.load_latest().state["n"] == 4


def test_nothing_saved_is_none_without_a_warning(
    store: CheckpointStore, caplog: pytest.LogCaptureFixture
) -> None:
    assert store.load_latest() is None
    assert _skipped(caplog) == []


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda p, other: p.write_bytes(p.read_bytes()[:-7]), "bytes where the ledger recorded"),
        (lambda p, other: p.write_bytes(_flip(p.read_bytes())), "SHA-256 differs"),
        (lambda p, other: p.write_bytes(other.read_bytes()), "SHA-256 differs"),
        (lambda p, other: p.write_bytes(_foreign(p.stat().st_size)), "SHA-256 differs"),
        (lambda p, other: p.unlink(), "cannot be read"),
    ],
    ids=["truncated", "bit-flipped", "swapped", "foreign", "missing"],
)
def test_a_damaged_latest_falls_back_to_the_previous(
    store: CheckpointStore, caplog: pytest.LogCaptureFixture, damage, reason: str
) -> None:
    paths = _save(store, 3)
    damage(paths[2], paths[0])
    caplog.set_level(logging.WARNING, LOGGER)
    restored = store.load_latest()
    assert restored is not None and restored.state["n"] == 1
    assert restored.checkpoint.path == paths[1].name
    warnings = _skipped(caplog)
    assert len(warnings) == 1 and str(paths[2]) in warnings[0] and reason in warnings[0]


def _flip(data: bytes) -> bytes:
    """One bit of rot in the middle, same size."""
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:]


class _Boom:
    def __reduce__(self) -> tuple[object, ...]:
        return (print, ("a foreign pickle ran code",))


def _foreign(size: int) -> bytes:
    """A pickle that is not ours, padded to the recorded size: only the checksum stops it."""
    data = pickle.dumps(_Boom())
    return data + b"." * (size - len(data))


def test_a_foreign_pickle_is_never_loaded(
    store: CheckpointStore, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = _save(store, 2)
    paths[1].write_bytes(_foreign(paths[1].stat().st_size))
    assert store.load_latest().state["n"] == 0
    assert "ran code" not in capsys.readouterr().out


def test_every_file_bad_is_none_with_warnings(
    store: CheckpointStore, caplog: pytest.LogCaptureFixture
) -> None:
    paths = _save(store, 2)
    for path in paths:
        path.write_bytes(b"garbage")
    caplog.set_level(logging.WARNING, LOGGER)
    assert store.load_latest() is None
    warnings = _skipped(caplog)
    assert len(warnings) == 3 and "None of the 2 checkpoints" in warnings[2]


def _vouch(store: CheckpointStore, name: str, data: bytes, hours: int) -> None:
    """A file the ledger vouches for, written by hand."""
    path = Path(store.folder) / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    store.ledger.add_checkpoint(name, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                                now=T0 + timedelta(hours=hours))


class _Renamed:
    pass


def test_a_vouched_file_that_does_not_unpickle_falls_back(
    store: CheckpointStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A class renamed since the snapshot: checksum fine, unpickling fails, previous one used."""
    _save(store, 1)
    data = format_header(store.version) + pickle.dumps(_Renamed()).replace(
        b"_Renamed", b"_Vanishd")  # same length: valid
    _vouch(store, "checkpoint-renamed.pkl", data, hours=5)
    caplog.set_level(logging.WARNING, LOGGER)
    assert store.load_latest().state["n"] == 0
    warnings = _skipped(caplog)
    assert len(warnings) == 1 and "does not unpickle (AttributeError" in warnings[0]
    assert "checkpoint-renamed.pkl" in warnings[0]


TRIPPED: list[str] = []


def _trip(what: str) -> str:
    TRIPPED.append(what)
    return what


class _Tripwire:
    """Unpickling it records that it was unpickled."""

    def __reduce__(self) -> tuple[object, ...]:
        return (_trip, ("unpickled",))


def test_every_checkpoint_names_its_format_version_in_a_header(store: CheckpointStore) -> None:
    [path] = _save(store, 1)
    assert path.read_bytes().startswith(b"freqtrade-feedback checkpoint format 1\n")
    assert format_version(path.read_bytes()) == store.version == 1


def test_a_checkpoint_of_another_format_is_never_unpickled(
    tmp_path: Path, ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    """Newer files (a bumped version) and files from before versions: skipped unread, with one
    warning for all of them, and the newest checkpoint of this version loaded."""
    TRIPPED.clear()
    folder = tmp_path / "checkpoints"
    store = CheckpointStore(folder, ledger, keep=5)
    store.save({"n": 0}, now=T0)
    bumped = CheckpointStore(folder, ledger, keep=5, version=store.version + 1)
    bumped.save(_Tripwire(), now=T0 + timedelta(hours=1))
    _vouch(store, "checkpoint-unversioned.pkl", pickle.dumps(_Tripwire()), hours=2)
    caplog.set_level(logging.WARNING, LOGGER)
    restored = store.load_latest()
    assert restored is not None and restored.state == {"n": 0}
    assert TRIPPED == []
    [warning] = _skipped(caplog)
    assert "Not loading 2 checkpoint(s)" in warning and "format 0, 2" in warning
    assert "reads format 1 only (never unpickled)" in warning


def test_only_other_formats_is_none_without_more_warnings(
    store: CheckpointStore, caplog: pytest.LogCaptureFixture
) -> None:
    TRIPPED.clear()
    _vouch(store, "checkpoint-unversioned.pkl", pickle.dumps(_Tripwire()), hours=0)
    caplog.set_level(logging.WARNING, LOGGER)
    assert store.load_latest() is None and TRIPPED == []
    assert len(_skipped(caplog)) == 1


def test_a_rolled_back_save_is_never_loaded_and_later_deleted(store: CheckpointStore) -> None:
    _save(store, 1)
    with pytest.raises(RuntimeError), store.ledger.transaction():
        store.save({"n": 99}, now=T0 + timedelta(hours=9))
        raise RuntimeError("crash before the commit")
    assert len(list(Path(store.folder).iterdir())) == 2  # written, but no row vouches for it
    assert store.load_latest().state["n"] == 0
    _save(store, 1)  # the next prune removes the unlisted file
    assert len(list(Path(store.folder).iterdir())) == 1


def test_checkpoint_commits_with_the_learning_step_it_includes(store: CheckpointStore) -> None:
    ledger = store.ledger
    for i in range(2):
        key = realized_key(i, "exit")
        outcome = RealizedOutcome(f"s{i}", "BTC/USDT", 0.01, True, 1.0, T0, "roi",
                                  LearnStatus.LEARNED, trade_id=i)
        with ledger.transaction():
            ledger.record_outcome(outcome, key=key)
            ledger.mark_learned(key, scope="pair", learner_key="BTC/USDT", now=T0, n_learned=i + 1)
            if i == 0:
                store.save({"learned": 1}, now=T0)
    restored = store.load_latest()
    assert (restored.checkpoint.position, restored.checkpoint.n_learned) == (1, 1)
    replay = ledger.learn_steps(after=restored.checkpoint.position)
    assert [s.outcome_key for s in replay] == ["trade:1:exit"]


def test_an_unwritable_folder_is_a_ledger_error(tmp_path: Path, ledger: Ledger) -> None:
    """A file where the folder should be fails for root too, unlike a chmod."""
    (tmp_path / "blocked").write_text("a file, not a folder")
    store = CheckpointStore(tmp_path / "blocked", ledger)
    with pytest.raises(LedgerError, match=r"Could not write checkpoint-.*\.pkl in the checkpoint "
                                          r"folder .*blocked: FileExistsError"):
        store.save({"n": 1}, now=T0)
    assert ledger.checkpoints() == []


@pytest.mark.parametrize("keep", [0, -1, 1.5, True])
def test_keep_must_be_a_positive_int(ledger: Ledger, tmp_path: Path, keep: object) -> None:
    with pytest.raises(ConfigError, match="'keep' parameter of CheckpointStore must be an int"):
        CheckpointStore(tmp_path, ledger, keep=keep)  # type: ignore[arg-type]

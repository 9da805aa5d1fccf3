"""The supervisor's wiring table (``guard.wiring``): each row fed by its events, in its role."""

from __future__ import annotations

import pickle
import re

import pytest

from freqtrade_feedback.config.settings import GuardSettings
from freqtrade_feedback.guard import wiring
from freqtrade_feedback.guard.kinds import kind_of
from freqtrade_feedback.guard.states import Role
from freqtrade_feedback.guard.wiring import (
    WIRING,
    Board,
    DecisionEvent,
    Event,
    ExecutionEvent,
    RealizedEvent,
    ShadowEvent,
    Wire,
)

RECORDS = {
    Event.DECISION: DecisionEvent({"a": 0.1, "b": 2.0}, model_decided=True, taken=True),
    Event.REALIZED: RealizedEvent({"a": 0.1, "b": 2.0}, win=True, p_challenger=0.6,
                                  holdout=False, learned=True),
    Event.SHADOW: ShadowEvent(win=False, p_challenger=0.6, p_champion=0.55, has_champion=True,
                              taken=False),
    Event.EXECUTION: ExecutionEvent(realized=0.01, shadow=0.012, stake=0.5),
}
"""One record of each event, each of which every row fed by it reads."""


def counts(board: Board) -> dict[str, int]:
    return {name: detector.n for name, detector in board.detectors.items()}


def test_each_event_feeds_the_rows_that_name_it_and_no_other() -> None:
    for event, record in RECORDS.items():
        board = Board(GuardSettings())
        for _ in range(20):  # the longest batch: every row has read its input by now
            board.feed(event, record)
        fed = {name for name, n in counts(board).items() if n}
        assert fed == {wire.name for wire in WIRING if event in wire.feeds}, event


def test_an_event_that_says_nothing_to_a_detector_feeds_it_nothing() -> None:
    board = Board(GuardSettings())
    board.feed(Event.DECISION, DecisionEvent(None, model_decided=False, taken=True))
    board.feed(Event.REALIZED, RECORDS[Event.REALIZED]._replace(holdout=True, learned=False))
    board.feed(Event.SHADOW, RECORDS[Event.SHADOW]._replace(has_champion=False, taken=True))
    # nothing fed; the shadow outcome's forecast (which calibration reads on any shadow
    # outcome) waits in its batch of 10
    assert counts(board) == dict.fromkeys(board.detectors, 0)


def test_a_row_read_every_k_is_fed_in_batches_of_k_counted_over_all_its_events() -> None:
    board = Board(GuardSettings())
    for i in range(19):
        event = Event.DECISION if i % 2 else Event.REALIZED
        board.feed(event, RECORDS[event])
    assert board.detectors["coverage"].n == 0
    board.feed(Event.DECISION, RECORDS[Event.DECISION])
    assert board.detectors["coverage"].n == 20
    for i in range(10):
        board.feed(Event.SHADOW, RECORDS[Event.SHADOW])
        assert board.detectors["calibration"].n == (10 if i == 9 else 0)


def test_the_inputs_are_what_the_detectors_were_fed_before_the_table() -> None:
    """The rows read the events as the supervisor's calls did (the lab's CSV is the check on
    whole runs): log-losses of challenger and champion, residuals, the stake and the gap."""
    board = Board(GuardSettings())
    board.feed(Event.SHADOW, RECORDS[Event.SHADOW])
    board.feed(Event.EXECUTION, RECORDS[Event.EXECUTION])
    paired = board.detectors["paired_loss"]
    assert paired.n == 1 and paired.statistic == 0.0
    assert wiring.log_loss(0.6, False) == pytest.approx(0.9163, abs=1e-4)
    assert board.detectors["self_fit_gap"].n == 1
    assert board.detectors["execution_gap"].mean_gap == pytest.approx(-0.002)  # type: ignore[attr-defined]
    assert board.detectors["own_impact"].n == 1


def test_rebuild_gives_fresh_detectors_in_the_same_dict_and_drops_pending_batches() -> None:
    board = Board(GuardSettings())
    detectors = board.detectors
    for _ in range(15):
        board.feed(Event.DECISION, RECORDS[Event.DECISION])
    board.rebuild(GuardSettings(alpha=0.05))
    assert board.detectors is detectors and board.comparison.alpha == 0.05  # type: ignore[attr-defined]
    for _ in range(10):
        board.feed(Event.DECISION, RECORDS[Event.DECISION])
    assert counts(board)["coverage"] == 0 and counts(board)["acceptance_collapse"] == 10


def test_a_board_pickled_mid_batch_goes_on_the_same() -> None:
    board = Board(GuardSettings())
    for _ in range(7):
        board.feed(Event.SHADOW, RECORDS[Event.SHADOW])
    restored = pickle.loads(pickle.dumps(board))
    for b in (board, restored):
        for _ in range(3):
            b.feed(Event.SHADOW, RECORDS[Event.SHADOW])
    assert counts(restored) == counts(board) and counts(board)["calibration"] == 10


def test_renewing_the_comparison_starts_a_fresh_one() -> None:
    board = Board(GuardSettings())
    board.feed(Event.SHADOW, RECORDS[Event.SHADOW])
    old = board.comparison
    board.renew_comparison()
    assert board.comparison is not old and board.comparison.n == 0
    assert board.detectors[wiring.PROMOTER] is board.comparison


def test_roles_and_the_one_promote_row() -> None:
    roles = Board(GuardSettings()).roles
    assert [n for n, r in roles.items() if r is Role.PROMOTE] == [wiring.PROMOTER]
    assert list(roles) == [wire.name for wire in WIRING]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"feeds": {}}, "must be fed by at least one Event"),
        ({"feeds": {"decision": len}}, "must be fed by at least one Event"),
        ({"role": "warn"}, "must be a Role"),
        ({"every": 0}, "must be an int >= 1"),
        ({"every": True}, "must be an int >= 1"),
    ],
)
def test_a_bad_row_is_refused_by_name(kwargs: dict, match: str) -> None:
    row = {"name": "mine", "factory": lambda g: None, "feeds": {Event.DECISION: len},
           "role": Role.ALARM} | kwargs
    with pytest.raises(ValueError, match=f"wire 'mine' {match}"):
        Wire(**row)


def test_the_table_in_the_docstring_is_the_table() -> None:
    """So the module's own summary cannot drift from the rows."""
    rows = re.findall(r"^\| (\w+) +\| ([\w-]+) +\| ([\w, ]+?) +\| (\w+) +\| (\d+) +\|$",
                      wiring.__doc__ or "", re.MULTILINE)
    board = Board(GuardSettings())
    expected = [
        (w.name, kind_of(board.detectors[w.name]).__name__.removesuffix("Detector").lower(),
         ", ".join(e.value for e in w.feeds), w.role.value, str(w.every))
        for w in WIRING
    ]
    assert [(n, k.replace("-", ""), f, r, e) for n, k, f, r, e in rows] == expected

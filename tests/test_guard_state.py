"""The guard's state machine: the table, the step rules (hysteresis) and pinned scenarios.

Detectors here are ``Scripted``: fed the outcome number, they alarm or warn on the numbers they
are told, so every expected transition index can be written down by hand.
"""

from __future__ import annotations

import copy
import math
import pickle
import subprocess
import sys
from collections import deque
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from freqtrade_feedback.exceptions import ConfigError, FeedbackError
from freqtrade_feedback.guard.base import Detector
from freqtrade_feedback.guard.guard import HISTORY, Guard
from freqtrade_feedback.guard.states import (
    TRANSITIONS,
    GuardState,
    InvalidTransition,
    Role,
    Rollback,
    Transition,
    Trigger,
)

S, T = GuardState, Trigger
T0 = datetime(2024, 1, 1, tzinfo=UTC)
PAIRS = [(state, trigger) for state in GuardState for trigger in Trigger]


class Scripted(Detector):
    """Alarms on the outcome numbers in ``alarms``, warns on those in ``warnings``.

    One observation is the outcome number. The statistic is that number plus one half, so a
    transition's ``values`` show which outcome caused it; before any update it is NaN.
    """

    def __init__(self, alarms: tuple[int, ...] = (), warnings: tuple[int, ...] = ()) -> None:
        self.alarms = alarms
        self.warnings = warnings
        self._reset()

    def _reset(self) -> None:
        self._i: int | None = None

    def _update(self, i: int) -> None:
        self._i = i

    @property
    def statistic(self) -> float:
        return math.nan if self._i is None else self._i + 0.5

    @property
    def alarm(self) -> bool:
        return self._i in self.alarms

    @property
    def warning(self) -> bool:
        return self._i in self.warnings


def at(i: int) -> datetime:
    return T0 + timedelta(minutes=5 * i)


def run(guard: Guard, outcomes: range) -> list[tuple[int, Transition]]:
    """Feed every detector each outcome number, step the guard, and collect what it fires."""
    fired = []
    for i in outcomes:
        for detector in (guard.detectors or {}).values():
            detector.update(i)
        move = guard.step(now=at(i))
        if move is not None:
            fired.append((i, move))
    return fired


def story(fired: list[tuple[int, Transition]]) -> list[tuple[int, str, str, str]]:
    return [(i, m.source.value, m.trigger.value, m.target.value) for i, m in fired]


def path_to(target: GuardState) -> list[Trigger]:
    """The shortest trigger sequence from LEARNING to ``target``, by the table."""
    paths: dict[GuardState, list[Trigger]] = {S.LEARNING: []}
    queue = deque([S.LEARNING])
    while queue:
        state = queue.popleft()
        for (source, trigger), nxt in TRANSITIONS.items():
            if source is state and nxt not in paths:
                paths[nxt] = [*paths[state], trigger]
                queue.append(nxt)
    return paths[target]


def guard_in(state: GuardState, **kwargs: Any) -> Guard:
    guard = Guard(**kwargs)
    for trigger in path_to(state):
        guard.fire(trigger, now=T0, reason="test setup")
    assert guard.state is state
    return guard


def reachable(start: GuardState, edges: list[tuple[GuardState, GuardState]]) -> set[GuardState]:
    seen, todo = {start}, [start]
    while todo:
        state = todo.pop()
        for source, target in edges:
            if source is state and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


# --- the table ---------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "trigger"), PAIRS, ids=[f"{s}-{t}" for s, t in PAIRS])
def test_every_pair_lands_where_the_table_says_or_raises(state: GuardState, trigger: Trigger):
    """An allowed pair moves to its table target; any other raises and changes nothing."""
    guard = guard_in(state)
    before = guard.history
    if (state, trigger) in TRANSITIONS:
        move = guard.fire(trigger, now=at(1), reason="walk")
        assert guard.state is TRANSITIONS[state, trigger] is move.target
        assert (move.source, move.trigger) == (state, trigger)
        assert guard.history == (*before, move)
    else:
        with pytest.raises(InvalidTransition, match=f"^{state} -> {trigger} is not a transition"):
            guard.fire(trigger, now=at(1), reason="walk")
        assert guard.state is state
        assert guard.history == before


def test_invalid_transition_is_in_the_error_tree_and_names_the_allowed_triggers():
    """Callers catch it as a FeedbackError or a RuntimeError; the message says what is allowed."""
    with pytest.raises(InvalidTransition) as info:
        guard_in(S.FROZEN).fire(T.WARNING, now=T0, reason="x")
    error = info.value
    assert isinstance(error, FeedbackError) and isinstance(error, RuntimeError)
    assert (error.state, error.trigger) == (S.FROZEN, T.WARNING)
    assert str(error) == (
        "frozen -> warning is not a transition. "
        "From frozen the triggers are: cooldown_elapsed, manual_unfreeze."
    )
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


def test_table_has_no_dead_states():
    """Every state is reachable from LEARNING, and LEARNING from every state."""
    edges = [(source, target) for (source, _), target in TRANSITIONS.items()]
    assert reachable(S.LEARNING, edges) == set(GuardState)
    for state in GuardState:
        assert S.LEARNING in reachable(state, edges), state


def test_table_uses_every_trigger_and_is_read_only():
    """No trigger is unused, and the constant cannot be edited at run time."""
    assert {trigger for _, trigger in TRANSITIONS} == set(Trigger)
    assert all(source is not target for (source, _), target in TRANSITIONS.items())
    with pytest.raises(TypeError):
        TRANSITIONS[S.FROZEN, T.WARNING] = S.LEARNING  # type: ignore[index]


def test_persisted_values_are_lowercase_strings():
    """The ledger stores ``.value``; the names and values must not drift apart."""
    for enum in (GuardState, Trigger):
        for member in enum:
            assert member.value == member.name.lower() == str(member)


# --- step rules and hysteresis --------------------------------------------------------------


def test_alarm_freezes_then_cooldown_then_probation_passes():
    """Alarm at 10: FROZEN at 10, PROBATION at 10 + cooldown, LEARNING after probation."""
    guard = Guard({"gap": Scripted(alarms=(10,))}, cooldown=50, probation=50)
    assert story(run(guard, range(200))) == [
        (10, "learning", "alarm", "frozen"),
        (60, "frozen", "cooldown_elapsed", "probation"),
        (110, "probation", "probation_passed", "learning"),
    ]


def test_alarm_during_probation_freezes_again():
    """An alarm on probation fails it; the cooldown and probation then start over."""
    guard = Guard({"gap": Scripted(alarms=(10, 80))}, cooldown=50, probation=50)
    assert story(run(guard, range(300))) == [
        (10, "learning", "alarm", "frozen"),
        (60, "frozen", "cooldown_elapsed", "probation"),
        (80, "probation", "probation_failed", "frozen"),
        (130, "frozen", "cooldown_elapsed", "probation"),
        (180, "probation", "probation_passed", "learning"),
    ]


def test_warning_suspects_and_clears_after_consecutive_quiet_outcomes():
    """A second warning restarts the quiet count; CLEAR comes suspect_dwell quiet steps later."""
    guard = Guard({"gap": Scripted(warnings=(5, 7))}, suspect_dwell=20)
    assert story(run(guard, range(100))) == [
        (5, "learning", "warning", "suspect"),
        (27, "suspect", "clear", "learning"),
    ]


def test_alarm_in_suspect_freezes_at_once():
    """Escalation never waits for a dwell: an alarm right after a warning freezes."""
    guard = Guard({"gap": Scripted(alarms=(6,), warnings=(5,))}, cooldown=3, probation=3)
    assert story(run(guard, range(20))) == [
        (5, "learning", "warning", "suspect"),
        (6, "suspect", "alarm", "frozen"),
        (9, "frozen", "cooldown_elapsed", "probation"),
        (12, "probation", "probation_passed", "learning"),
    ]


def test_alarm_and_warning_on_one_outcome_fire_one_alarm():
    """At most one transition per step, and the alarm wins."""
    detectors = {"a": Scripted(alarms=(4,)), "w": Scripted(warnings=(4,))}
    fired = run(Guard(detectors, cooldown=100), range(10))
    assert story(fired) == [(4, "learning", "alarm", "frozen")]
    assert dict(fired[0][1].values) == {"a": 4.5}


def test_a_warn_detector_only_suspects_and_says_so():
    """The ``warn`` role: an alarm reads as a warning, so the guard never freezes on it, in
    no state; the reason names the detector as one that only warns."""
    detectors = {"world": Scripted(alarms=(3, 5, 40, 48)), "gap": Scripted(alarms=(42,))}
    guard = Guard(detectors, suspect_dwell=5, cooldown=5, probation=5,
                  roles={"world": Role.WARN, "gap": Role.ALARM})
    fired = run(guard, range(60))
    assert story(fired) == [
        (3, "learning", "warning", "suspect"),
        (10, "suspect", "clear", "learning"),  # the alarm at 5 restarted the quiet count
        (40, "learning", "warning", "suspect"),
        (42, "suspect", "alarm", "frozen"),
        (47, "frozen", "cooldown_elapsed", "probation"),
        (52, "probation", "probation_passed", "learning"),  # the alarm at 48 did not fail it
    ]
    assert fired[0][1].reason.startswith("warning from world (warns only): Scripted")
    assert dict(fired[0][1].values) == {"world": 3.5}


def test_a_warn_detector_neither_fails_probation_nor_holds_the_cooldown():
    detectors = {"world": Scripted(alarms=tuple(range(5, 100)))}
    guard = guard_in(S.FROZEN, detectors=detectors, cooldown=3, probation=3,
                     roles={"world": Role.WARN})
    assert story(run(guard, range(10))) == [
        (2, "frozen", "cooldown_elapsed", "probation"),
        (5, "probation", "probation_passed", "learning"),
        (6, "learning", "warning", "suspect"),
    ]


MOVES = sorted({(source, target) for (source, _), target in TRANSITIONS.items()})


@pytest.mark.parametrize(("source", "target"), MOVES)
def test_only_freezes_and_thaws_are_loud(source: GuardState, target: GuardState):
    """What a user must act on: entering FROZEN, and FROZEN or PROBATION back to LEARNING."""
    move = Transition(source, target, T.MANUAL_FREEZE, T0, "test")
    thaw = target is S.LEARNING and source in (S.FROZEN, S.PROBATION)
    assert move.loud is (target is S.FROZEN or thaw)


def test_a_rollback_is_loud_read_only_and_pickles():
    rollback = Rollback(T0, "the challenger is worse", {"paired_loss": 4.7})
    assert rollback.loud and str(rollback) == (
        "2024-01-01T00:00:00+00:00 rollback: the challenger is worse")
    with pytest.raises(TypeError):
        rollback.values["paired_loss"] = 0.0  # type: ignore[index]
    assert pickle.loads(pickle.dumps(rollback)) == rollback


def test_alarm_at_the_end_of_cooldown_holds_it_one_more_outcome():
    """Probation never starts on an outcome that raised a probation alarm."""
    guard = Guard({"gap": Scripted(alarms=(10, 60))}, cooldown=50, probation=50)
    assert story(run(guard, range(120)))[:2] == [
        (10, "learning", "alarm", "frozen"),
        (61, "frozen", "cooldown_elapsed", "probation"),
    ]


def test_alarms_while_frozen_do_not_restart_the_cooldown():
    """FROZEN is a time-out counted in outcomes; probation, not the cooldown, is the test."""
    guard = Guard({"gap": Scripted(alarms=(10, 20, 30))}, cooldown=50, probation=50)
    assert [i for i, _ in run(guard, range(120))] == [10, 60, 110]


def test_probation_alarms_limits_which_detectors_fail_probation():
    """A detector left out of probation_alarms still freezes LEARNING, but not PROBATION."""
    detectors = {"gap": Scripted(alarms=(0,)), "accept": Scripted(alarms=(15, 40))}
    guard = Guard(detectors, cooldown=10, probation=10, probation_alarms=("gap",))
    assert story(run(guard, range(45))) == [
        (0, "learning", "alarm", "frozen"),
        (10, "frozen", "cooldown_elapsed", "probation"),
        (20, "probation", "probation_passed", "learning"),
        (40, "learning", "alarm", "frozen"),
    ]


def test_flickering_warning_never_clears():
    """Warning on every other outcome: one move to SUSPECT, and no flapping after it."""
    guard = Guard({"gap": Scripted(warnings=tuple(range(0, 1000, 2)))}, suspect_dwell=5)
    assert story(run(guard, range(1000))) == [(0, "learning", "warning", "suspect")]


def test_flickering_alarm_never_returns_to_learning_and_respects_the_cooldown():
    """Alarm on every other outcome: FROZEN and PROBATION alternate, never faster than cooldown."""
    guard = Guard({"gap": Scripted(alarms=tuple(range(0, 1000, 2)))}, cooldown=30, probation=10)
    fired = run(guard, range(1000))
    assert all(m.target is not S.LEARNING for _, m in fired)
    frozen_at = [i for i, m in fired if m.target is S.FROZEN]
    assert all(b - a >= 30 for a, b in zip(frozen_at, frozen_at[1:], strict=False))
    assert len(fired) <= 2 * 1000 // 30 + 1


@pytest.mark.parametrize("period", [2, 3, 5, 7, 11, 21, 40])
def test_no_relaxing_move_comes_sooner_than_its_dwell(period: int):
    """Whatever the flicker, leaving SUSPECT, FROZEN or PROBATION for a calmer state waits."""
    dwell = {S.SUSPECT: 20, S.FROZEN: 30, S.PROBATION: 25}
    script = Scripted(
        alarms=tuple(range(0, 2000, period * 7)), warnings=tuple(range(0, 2000, period))
    )
    guard = Guard({"x": script}, suspect_dwell=20, cooldown=30, probation=25)
    fired = run(guard, range(2000))
    entered = 0
    for i, move in fired:
        if move.trigger in (T.CLEAR, T.COOLDOWN_ELAPSED, T.PROBATION_PASSED):
            assert i - entered >= dwell[move.source], (i, move)
        entered = i
    assert fired, "the script should move the guard"


def test_guard_without_detectors_never_moves_by_itself():
    """With no detectors, step only counts; the guard moves only when fired by hand."""
    guard = Guard()
    assert run(guard, range(100)) == []
    assert guard.state is S.LEARNING


def test_manual_transitions_restart_the_counts():
    """A manual freeze on probation starts a full cooldown, then a full probation, again."""
    guard = Guard({"gap": Scripted(alarms=(0,))}, cooldown=10, probation=10)
    run(guard, range(15))
    assert guard.state is S.PROBATION
    guard.fire(T.MANUAL_FREEZE, now=at(15), reason="operator: exchange outage")
    assert [i for i, _ in run(guard, range(16, 40))] == [25, 35]


# --- the records -----------------------------------------------------------------------------


def test_every_transition_has_a_reason_and_the_statistics_behind_it():
    """Alarm reasons name the detector and its reason(); values hold its statistic."""
    detectors = {"gap": Scripted(alarms=(10, 70), warnings=(3,)), "quiet": Scripted()}
    fired = run(Guard(detectors, suspect_dwell=5, cooldown=50, probation=50), range(200))
    assert [m.trigger for _, m in fired] == [
        T.WARNING, T.CLEAR, T.ALARM, T.COOLDOWN_ELAPSED, T.PROBATION_FAILED,
        T.COOLDOWN_ELAPSED, T.PROBATION_PASSED,
    ]  # fmt: skip
    for i, move in fired:
        assert move.reason.strip()
        if move.trigger in (T.WARNING, T.ALARM, T.PROBATION_FAILED):
            assert dict(move.values) == {"gap": i + 0.5}
            assert "from gap: Scripted: statistic=" in move.reason
        else:
            assert dict(move.values) == {"gap": i + 0.5, "quiet": i + 0.5}
    assert fired[4][1].reason.startswith("outcome 10 of 50 on probation: alarm from gap")


def test_values_leave_out_statistics_not_finite_yet():
    """A detector still in warm-up (NaN statistic) is left out of values, not stored as NaN."""
    guard = Guard({"gap": Scripted(alarms=(0,)), "late": Scripted()}, cooldown=1)
    guard.detectors["gap"].update(0)
    assert dict(guard.step(now=T0).values) == {"gap": 0.5}
    guard.detectors["gap"].update(1)
    assert dict(guard.step(now=at(1)).values) == {"gap": 1.5}


def test_times_are_passed_through():
    """``at`` is exactly the ``now`` given, time zone included; naive times are refused."""
    guard = Guard({"gap": Scripted(alarms=(0,))}, cooldown=2)
    for i, move in run(guard, range(10)):
        assert move.at == at(i)
    plus_two = datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    move = guard.fire(T.MANUAL_FREEZE, now=plus_two, reason="operator")
    assert move.at is plus_two
    with pytest.raises(ValueError, match="'now' argument of Guard must be a timezone-aware"):
        guard.step(now=datetime(2024, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="'now' argument"):
        guard.fire(T.MANUAL_UNFREEZE, now=datetime(2024, 1, 1), reason="x")  # noqa: DTZ001


def test_fire_takes_a_trigger_by_its_value():
    """A CLI or the ledger may name the trigger by its persisted value; the record is an enum."""
    guard = Guard()
    move = guard.fire("manual_freeze", now=T0, reason="operator")  # type: ignore[arg-type]
    assert move.trigger is T.MANUAL_FREEZE and guard.state is S.FROZEN
    with pytest.raises(ValueError, match="'thaw' is not a valid Trigger"):
        guard.fire("thaw", now=T0, reason="operator")  # type: ignore[arg-type]


def test_fire_needs_a_reason():
    """A transition without a readable reason is refused before anything changes."""
    guard = Guard()
    with pytest.raises(ValueError, match="non-empty string"):
        guard.fire(T.MANUAL_FREEZE, now=T0, reason="  ")
    assert guard.state is S.LEARNING and guard.history == ()


def test_transition_is_a_read_only_record():
    """Values are copied and read-only; the record hashes, prints and pickles."""
    values = {"gap": 0.25}
    move = Guard().fire(T.MANUAL_FREEZE, now=T0, reason="operator", values=values)
    values["gap"] = 9.0
    assert dict(move.values) == {"gap": 0.25}
    with pytest.raises(TypeError):
        move.values["gap"] = 1.0  # type: ignore[index]
    with pytest.raises(AttributeError):
        move.reason = "other"  # type: ignore[misc]
    assert hash(move) == hash(copy.copy(move))
    assert pickle.loads(pickle.dumps(move)) == move
    assert str(move) == "2024-01-01T00:00:00+00:00 learning -> frozen (manual_freeze): operator"


def test_history_is_bounded():
    """Memory stays bounded however long the guard runs; the ledger keeps the full record."""
    guard = Guard({"gap": Scripted(alarms=tuple(range(0, 10_000, 3)))}, cooldown=1, probation=1)
    fired = run(guard, range(10_000))
    assert len(fired) > HISTORY
    assert guard.history == tuple(m for _, m in fired[-HISTORY:])


# --- state, snapshot, construction -------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "allowed"),
    [(S.LEARNING, True), (S.SUSPECT, True), (S.FROZEN, False), (S.PROBATION, True)],
)
def test_learning_is_allowed_everywhere_but_frozen(state: GuardState, allowed: bool):
    guard = guard_in(state)
    assert guard.learning_allowed is allowed
    assert guard.is_frozen is (not allowed)


def test_pickle_round_trips_mid_scenario():
    """A guard pickled on probation (detectors, counters, history) continues exactly the same."""
    guard = Guard({"gap": Scripted(alarms=(10, 80))}, cooldown=50, probation=50)
    first = run(guard, range(70))
    restored = pickle.loads(pickle.dumps(guard))
    assert restored.state is S.PROBATION and restored.history == guard.history
    assert story(run(restored, range(70, 300))) == story(run(guard, range(70, 300)))
    assert [i for i, _ in first] == [10, 60]


def test_reset_gives_a_fresh_guard():
    """LEARNING, counters at zero (a full cooldown again), empty history."""
    guard = Guard({"gap": Scripted(alarms=(0, 100))}, cooldown=10, probation=10)
    run(guard, range(5))
    guard._reset()
    assert (guard.state, guard.history) == (S.LEARNING, ())
    assert story(run(guard, range(100, 125))) == [
        (100, "learning", "alarm", "frozen"),
        (110, "frozen", "cooldown_elapsed", "probation"),
        (120, "probation", "probation_passed", "learning"),
    ]


def test_parameters_are_stored_unchanged():
    detectors = {"gap": Scripted()}
    guard = Guard(detectors, suspect_dwell=3, cooldown=4, probation=5, probation_alarms=("gap",))
    assert guard.detectors is detectors
    assert (guard.suspect_dwell, guard.cooldown, guard.probation) == (3, 4, 5)
    assert guard.probation_alarms == ("gap",)
    assert Guard().detectors is None


def test_short_desc_lists_detectors_and_dwell_settings():
    guard = Guard({"gap": Scripted()}, suspect_dwell=3, cooldown=4, probation=5)
    assert guard.short_desc() == (
        "Guard in learning: detectors gap (Scripted); suspect_dwell=3, cooldown=4, "
        "probation=5 outcomes; probation fails on any alarm"
    )
    only = Guard({"gap": Scripted(), "acc": Scripted()}, probation_alarms=("gap",))
    assert "probation fails on gap" in only.short_desc()
    assert "detectors none" in Guard().short_desc()
    assert "probation fails on nothing" in Guard(probation_alarms=()).short_desc()
    assert "state='learning'" in repr(guard) and "['gap']" in repr(guard)
    warn = Guard({"gap": Scripted(), "world": Scripted()}, roles={"world": Role.WARN})
    assert "detectors gap (Scripted), world (Scripted, warns only);" in warn.short_desc()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"suspect_dwell": 0}, "'suspect_dwell' parameter of Guard must be an int >= 1"),
        ({"cooldown": 2.5}, "'cooldown' parameter of Guard must be an int >= 1"),
        ({"probation": True}, "'probation' parameter of Guard must be an int >= 1"),
        ({"detectors": {"gap": object()}}, "must map names to Detector instances"),
        ({"probation_alarms": ("nope",)}, "tuple of detector names among \\[\\]"),
        ({"detectors": {"gap": Scripted()}, "probation_alarms": "gap"}, "Got 'gap' instead"),
        ({"detectors": {"gap": Scripted()}, "roles": {"nope": Role.WARN}},
         "'roles' parameter of Guard must map detector names among \\['gap'\\]"),
        ({"detectors": {"gap": Scripted()}, "roles": {"gap": "loud"}}, "to a Role \\(alarm, warn"),
    ],
)
def test_bad_parameters_raise_config_errors(kwargs: dict[str, Any], match: str):
    with pytest.raises(ConfigError, match=match):
        Guard(**kwargs)


def test_core_module_runs_without_freqtrade():
    """The state machine is core: importing it must not import freqtrade."""
    code = (
        "import sys; sys.modules['freqtrade'] = None\n"
        "import freqtrade_feedback.guard.guard, freqtrade_feedback.guard.states\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

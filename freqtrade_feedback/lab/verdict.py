"""The bias lab's verdict: each scenario's figures over its seeds, with 95% intervals, held
against the targets of the issue that turned the guard on by default (issue 12, "Done when").

``TARGETS`` is that list, one tuple of targets per scenario:

- ``stationary``, ``stationary_heavy``: false freezes at most 2%, guarded profit at least
  0.97 of naive;
- ``regime_flip``: no freeze in at least 98% of seeds (false freezes at most 2%), guarded
  at least 0.95 of naive and above static;
- ``self_fulfilling``, ``reflexive_impact``: frozen after the onset in at least 95% of seeds,
  median delay at most 100 trades, guarded at least naive;
- ``selection_collapse``: guarded at least naive, naive above selective (default labels:
  the collapse is prevented at its root); the guarded loop of realized labels frozen in at
  least 95% of seeds within a median 100 trades; and the scenario is a collapse: the mean
  collapse ratio (``lab.rows``) below a quarter.

**How a target is judged.** On the point estimate: the share of seeds, the mean profit over
seeds, the median delay. The 95% interval (``lab.stats``) is printed beside it and says how
sure the judgement is; a profit comparison also prints the paired interval of the per-seed
difference. "At least 0.97 of naive" reads ``guarded >= naive - 0.03 |naive|``, right also
for a negative naive profit. The verdict counts only with at least ``VERDICT_SEEDS`` seeds
per scenario; fewer seeds are a quick look.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Protocol

from freqtrade_feedback.lab import stats
from freqtrade_feedback.lab.policies import GUARDED, POLICIES
from freqtrade_feedback.lab.rows import COLLAPSE_BELOW, column
from freqtrade_feedback.lab.stats import Estimate

VERDICT_SEEDS: Final = 200
"""Seeds per scenario the verdict needs: enough to tell a false-freeze rate of 2% from 5%."""

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Check:
    """One target: whether it was met, and the figures that say so."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class GuardFigures:
    """What one guarded policy's guard did in a scenario, over its seeds."""

    frozen: Estimate
    """Share of seeds in which the guard froze after the onset (at all, without an onset)."""
    false_freezes: Estimate
    """Share of seeds with a freeze before the onset, or any where no bias was injected."""
    median_delay: Estimate
    """Median trades from the onset to the first freeze after it, over the seeds that froze."""


@dataclass(frozen=True)
class ScenarioSummary:
    """A scenario's figures over its seeds, and its targets."""

    scenario: str
    seeds: int
    biased: bool
    guard: Mapping[str, GuardFigures]
    """By guarded policy (``policies.GUARDED``)."""
    profit: Mapping[str, Estimate]
    """Mean profit by policy, in base stakes."""
    collapse_ratio: Estimate
    """Mean collapse ratio of the selective policy (NaN where not measured)."""
    collapsed: Estimate
    """Share of seeds whose collapse ratio is below ``COLLAPSE_BELOW``."""
    rows: Sequence[Row] = field(repr=False, default=())
    checks: tuple[Check, ...] = ()

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def verdict(self) -> str:
        """``PASS`` or ``FAIL`` against the targets; ``-`` without any."""
        if not self.checks:
            return "-"
        return "PASS" if self.passed else "FAIL"

    def profits(self, policy: str) -> list[float]:
        """The policy's profit in each seed (seeds without it left out)."""
        return [r[f"profit_{policy}"] for r in self.rows if r.get(f"profit_{policy}") is not None]

    def as_dict(self) -> dict[str, Any]:
        """Flat figures (``name``, ``name_low``, ``name_high``), the verdict and its checks."""
        flat: dict[str, Any] = {
            "scenario": self.scenario,
            "seeds": self.seeds,
            "biased": self.biased,
            "verdict": self.verdict,
        }
        for policy, figures in self.guard.items():
            flat.update(figures.frozen.as_dict(column("frozen", policy)))
            flat.update(figures.false_freezes.as_dict(column("false_freezes", policy)))
            flat.update(figures.median_delay.as_dict(column("median_delay", policy)))
        flat.update(self.collapse_ratio.as_dict("collapse_ratio"))
        flat.update(self.collapsed.as_dict("collapsed"))
        for policy, estimate in self.profit.items():
            flat.update(estimate.as_dict(f"profit_{policy}"))
        return {**flat, "checks": [check.__dict__ for check in self.checks]}


SUMMARY_COLUMNS: Final = tuple(
    key
    for key in ScenarioSummary(
        "", 0, False,
        {policy: GuardFigures(stats.NOTHING, stats.NOTHING, stats.NOTHING) for policy in GUARDED},
        dict.fromkeys(POLICIES, stats.NOTHING), stats.NOTHING, stats.NOTHING,
    ).as_dict()
    if key != "checks"
)
"""Columns of ``summary.csv``: one row per scenario, each figure with its interval."""


# -- targets ---------------------------------------------------------------------------------


class Target(Protocol):
    """A target of the verdict: checked on a scenario's summary."""

    def check(self, summary: ScenarioSummary) -> Check: ...


@dataclass(frozen=True)
class FreezeRate:
    """The guard of ``policy`` froze after the onset in at least ``least`` of the seeds."""

    least: float
    policy: str = "guarded"

    def check(self, s: ScenarioSummary) -> Check:
        rate = s.guard[self.policy].frozen
        ok = not math.isnan(rate.value) and rate.value >= self.least
        return Check(f"{_who(self.policy)}frozen", ok, f"{rate.percent()} >= {self.least:.0%}")


@dataclass(frozen=True)
class FalseFreezes:
    """The guard of ``policy`` froze falsely in at most ``most`` of the seeds."""

    most: float
    policy: str = "guarded"

    def check(self, s: ScenarioSummary) -> Check:
        rate = s.guard[self.policy].false_freezes
        ok = not math.isnan(rate.value) and rate.value <= self.most
        return Check(
            f"{_who(self.policy)}false freezes", ok, f"{rate.percent()} <= {self.most:.0%}"
        )


@dataclass(frozen=True)
class MedianDelay:
    """The median trades from the onset to the first freeze after it is at most ``most``."""

    most: float
    policy: str = "guarded"

    def check(self, s: ScenarioSummary) -> Check:
        delay = s.guard[self.policy].median_delay
        ok = not math.isnan(delay.value) and delay.value <= self.most
        return Check(
            f"{_who(self.policy)}median delay", ok, f"{delay.bracket()} <= {self.most:g} trades"
        )


@dataclass(frozen=True)
class ProfitShare:
    """``policy``'s mean profit is at least ``share`` of ``reference``'s:
    ``policy >= reference - (1 - share) |reference|``; strictly above it with ``strict``."""

    policy: str
    reference: str
    share: float = 1.0
    strict: bool = False

    def check(self, s: ScenarioSummary) -> Check:
        mine, theirs = s.profit[self.policy].value, s.profit[self.reference].value
        bar = theirs - (1 - self.share) * abs(theirs)
        ok = mine > bar if self.strict else mine >= bar
        relation = ">" if self.strict else ">="
        factor = "" if self.share == 1 else f"{self.share:g} x "
        difference = stats.t_interval(
            [a - b for a, b in _paired(s.rows, self.policy, self.reference)]
        )
        detail = (
            f"{self.policy} {s.profit[self.policy].plus_minus()} {relation} {factor}"
            f"{self.reference} {s.profit[self.reference].plus_minus()}"
            + ("" if self.share == 1 else f" (= {bar:+.2f})")
            + f"; paired difference {difference.bracket('{:+.2f}')}"
        )
        return Check(f"{self.policy} {relation} {factor}{self.reference}", ok, detail)


@dataclass(frozen=True)
class Collapse:
    """The scenario is a selection collapse: the mean collapse ratio is below ``below``."""

    below: float = COLLAPSE_BELOW

    def check(self, s: ScenarioSummary) -> Check:
        ratio = s.collapse_ratio
        ok = not math.isnan(ratio.value) and ratio.value < self.below
        detail = (
            f"selective / reference breakout acceptance {ratio.bracket('{:.3f}')} < "
            f"{self.below:g}; collapsed in {s.collapsed.percent()} of seeds"
        )
        return Check("collapse", ok, detail)


def _who(policy: str) -> str:
    return "" if policy == "guarded" else f"{policy} "


def _paired(rows: Sequence[Row], a: str, b: str) -> list[tuple[float, float]]:
    return [
        (r[f"profit_{a}"], r[f"profit_{b}"])
        for r in rows
        if r.get(f"profit_{a}") is not None and r.get(f"profit_{b}") is not None
    ]


_CLEAN: Final = (FalseFreezes(0.02), ProfitShare("guarded", "naive", 0.97))
_BIASED: Final = (FreezeRate(0.95), MedianDelay(100), ProfitShare("guarded", "naive"))

TARGETS: Final[Mapping[str, tuple[Target, ...]]] = {
    "stationary": _CLEAN,
    "stationary_heavy": _CLEAN,
    "regime_flip": (
        FalseFreezes(0.02),
        ProfitShare("guarded", "naive", 0.95),
        ProfitShare("guarded", "static", strict=True),
    ),
    "self_fulfilling": _BIASED,
    "reflexive_impact": _BIASED,
    "selection_collapse": (
        ProfitShare("guarded", "naive"),
        ProfitShare("naive", "selective", strict=True),
        FreezeRate(0.95, "guarded_selective"),
        MedianDelay(100, "guarded_selective"),
        Collapse(),
    ),
}
"""The targets by scenario (issue 12's "Done when"); a scenario without any has no verdict."""


# -- summaries -------------------------------------------------------------------------------


def summarize(rows: Sequence[Row]) -> list[ScenarioSummary]:
    """One summary per scenario, in the order the scenarios first appear in ``rows``, checked
    against ``TARGETS``."""
    by_scenario: dict[str, list[Row]] = {}
    for row in rows:
        by_scenario.setdefault(row["scenario"], []).append(row)
    return [_summary(name, group) for name, group in by_scenario.items()]


def _summary(name: str, rows: Sequence[Row]) -> ScenarioSummary:
    ratios = [r["collapse_ratio"] for r in rows if r.get("collapse_ratio") is not None]
    summary = ScenarioSummary(
        scenario=name,
        seeds=len(rows),
        biased=bool(rows[0]["biased"]),
        guard={policy: _guard(rows, policy) for policy in GUARDED},
        profit={
            policy: stats.t_interval(
                [r[f"profit_{policy}"] for r in rows if r.get(f"profit_{policy}") is not None]
            )
            for policy in POLICIES
        },
        collapse_ratio=stats.t_interval(ratios),
        collapsed=(
            stats.wilson(sum(r < COLLAPSE_BELOW for r in ratios), len(ratios))
            if ratios
            else stats.NOTHING
        ),
        rows=tuple(rows),
    )
    checks = tuple(target.check(summary) for target in TARGETS.get(name, ()))
    return replace(summary, checks=checks)


def _guard(rows: Sequence[Row], policy: str) -> GuardFigures:
    ran = [r for r in rows if r.get(column("frozen", policy)) is not None]
    delays = [
        r[column("detection_delay", policy)]
        for r in ran
        if r.get(column("detection_delay", policy)) is not None
    ]
    return GuardFigures(
        frozen=stats.wilson(sum(r[column("frozen", policy)] for r in ran), len(ran)),
        false_freezes=stats.wilson(
            sum(r[column("false_freeze", policy)] for r in ran), len(ran)
        ),
        median_delay=stats.median_interval(delays),
    )


def verdict_lines(summaries: Sequence[ScenarioSummary]) -> list[str]:
    """One line per scenario with targets: its verdict, and every target with its figures.

    A scenario of fewer than ``VERDICT_SEEDS`` seeds shows its verdict in brackets: a quick
    look.
    """
    lines = []
    for s in summaries:
        if not s.checks:
            continue
        verdict = s.verdict if s.seeds >= VERDICT_SEEDS else f"({s.verdict})"
        checks = "; ".join(
            f"{'ok' if c.passed else 'MISSED'} {c.name}: {c.detail}" for c in s.checks
        )
        lines.append(f"{verdict} {s.scenario}: {checks}")
    return lines

"""What the bias lab's verdict costs: ``benchmark --lab``.

The verdict runs every scenario for ``VERDICT_SEEDS`` seeds through every policy (``lab``);
target: at most ``TARGET_MINUTES`` of wall time on two idle cores. A shared machine makes
wall time say more about the neighbours than about the lab, so the measure is CPU time
(``time.process_time``): a few seeds run in this process, one policy at a time (each seed's
policies are independent runs, so they add up to the seed), and the verdict's wall time on
``CORES`` idle cores is estimated as CPU time per seed x seeds / cores. The estimate leaves
out the workers' start (about a second each) and assumes the cores are not shared.
"""

from __future__ import annotations

import time
from typing import Any, Final

from freqtrade_feedback.lab.policies import POLICIES
from freqtrade_feedback.lab.run import run_seed
from freqtrade_feedback.lab.scenarios import SCENARIOS
from freqtrade_feedback.lab.verdict import VERDICT_SEEDS

TARGET_MINUTES: Final = 10.0
CORES: Final = 2
FIRST_SEED: Final = 50_000
"""Seeds far from any the lab is read on: the cost does not depend on which."""
VARIANTS: Final = POLICIES
"""One variant per policy; ``"all"`` is their sum, one whole seed."""


def measure(seeds: int = 3, first_seed: int = FIRST_SEED) -> dict[str, dict[str, Any]]:
    """CPU seconds per seed of each policy over every scenario, and of all of them."""
    cpu = dict.fromkeys(VARIANTS, 0.0)
    for seed in range(first_seed, first_seed + seeds):
        for policy in VARIANTS:
            started = time.process_time()
            run_seed(seed, tuple(SCENARIOS), (policy,))
            cpu[policy] += time.process_time() - started
    rows = {policy: {"cpu_seconds_per_seed": total / seeds, "seeds": seeds}
            for policy, total in cpu.items()}
    whole = sum(total for total in cpu.values()) / seeds
    rows["all"] = {
        "cpu_seconds_per_seed": whole,
        "seeds": seeds,
        "verdict_minutes": whole * VERDICT_SEEDS / CORES / 60,
    }
    return rows


def verdict(rows: dict[str, dict[str, Any]]) -> tuple[float, str]:
    """The estimated wall time of the 200-seed verdict on two idle cores, in minutes."""
    minutes = rows["all"]["verdict_minutes"]
    return minutes, "PASS" if minutes <= TARGET_MINUTES else "FAIL"

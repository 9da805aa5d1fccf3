"""Draws expected-profit.png for docs/how-it-works.md: the expected-profit rule for the sample
strategy's sizes on the dev set (mean win +0.71%, mean loss -2.13%, their spread from the
same trades). Not part of the package: ``pip install matplotlib`` and run it from the repo."""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

WIN, LOSS = 0.0071, -0.0213
WIN_SD, LOSS_SD = 0.0052, 0.0042
P = np.linspace(0.5, 0.95, 200)

fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=120)
edge = P * WIN + (1 - P) * LOSS
ax.plot(P, edge * 100, color="#1f77b4", lw=2, label="expected profit per trade")
for n, alpha in ((100, 0.18), (1000, 0.35)):
    se = np.sqrt(P**2 * WIN_SD**2 / (0.67 * n) + (1 - P) ** 2 * LOSS_SD**2 / (0.33 * n))
    ax.fill_between(P, (edge - se) * 100, (edge + se) * 100, color="#1f77b4", alpha=alpha,
                    lw=0, label=f"one standard error after {n:,} outcomes")
ax.axhline(0, color="black", lw=0.8)
even = -LOSS / (WIN - LOSS)
ax.axvline(even, color="#d62728", ls="--", lw=1)
ax.annotate(f"break-even P(win) = {even:.2f}", (even, 0.0), xytext=(even + 0.03, -0.45),
            arrowprops={"arrowstyle": "->"}, fontsize=9)
ax.axvline(0.5, color="grey", ls=":", lw=1)
ax.text(0.505, -0.2, "P(win) >= 0.5\ntakes all of\nthese", fontsize=8, color="grey")
ax.set_xlabel("the learner's P(win) for a signal")
ax.set_ylabel("expected net profit (%)")
ax.set_title("Take when expected profit + 1 SE >= min_edge (0): sizes of the sample strategy")
ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
fig.savefig(Path(__file__).with_name("expected-profit.png"))

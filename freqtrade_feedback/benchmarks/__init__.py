"""What the plugin costs, measured side by side: the measures behind ``freqtrade-feedback
benchmark`` (the command only parses options and prints).

- ``backtest``: backtest wall time with the gate off and on (the default measure).
- ``loop``: microseconds per signal inside the loop (``--loop``).
- ``journal``: dry-run/live callback latency with the ledger (``--journal``).
- ``hyperopt``: hyperopt epochs per minute with the gate and without (``--hyperopt``).
- ``value`` (with ``value_run`` and ``value_report``): what the gate is worth on the dev set,
  primary only against the old rule, the naive loop (no guard), the default (guarded) and a
  placebo gate
  (``--value``).
- ``shadow``: how faithful the shadow outcomes are to the trades they shadow.

Each module has its ``TARGET``, its ``VARIANTS``, ``measure`` (rows of figures by variant or
call) and ``verdict`` (the figure held against the target, and ``"PASS"`` or ``"FAIL"``).
Every measure alternates its variants in one process on the same input, so a noisy shared
machine slows them alike.
"""

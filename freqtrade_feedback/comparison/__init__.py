"""``compare``'s machinery: primary alone, naive feedback and guarded feedback, side by side.

``plan`` decides what runs (variants, folds, ranges, the hyperopt budget), ``run`` runs each
variant on each fold in its own process (Freqtrade's hyperopt, then a backtest), ``rows``
turns a run into a row of ``compare.csv``, ``table`` prints the rows, ``report`` plots them.
The command itself (``cli.compare``) only wires options to these.
"""

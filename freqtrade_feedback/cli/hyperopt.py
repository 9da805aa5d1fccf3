"""``freqtrade-feedback hyperopt [--cluster ADDRESS] FREQTRADE_HYPEROPT_ARGS...``: Freqtrade's
own hyperopt, its epochs optionally on a Dask cluster.

Every argument this command does not know goes to ``freqtrade hyperopt`` unchanged, with the
offline market list installed (as ``offline hyperopt``). Without ``--cluster`` that is all;
with it, the epochs run on the cluster's workers and give the epochs of a local run
(:mod:`freqtrade_feedback.hyperopt_cluster` says what that takes).
"""

from __future__ import annotations

import argparse

from freqtrade_feedback.cli.offline import run_freqtrade
from freqtrade_feedback.cluster import connect, parse_cluster

EPILOG = (
    "Every other option goes to `freqtrade hyperopt` (see `freqtrade hyperopt --help`), e.g. "
    "freqtrade-feedback hyperopt --cluster local:4 --config user_data/config.json "
    "--strategy FeedbackSampleStrategy --spaces buy feedback "
    "--hyperopt-loss FeedbackHyperOptLoss -e 200"
)


def configure(parser: argparse.ArgumentParser) -> None:
    """``--cluster``; every other argument is Freqtrade's (``main`` passes them on)."""
    parser.allow_abbrev = False  # `--c...` is Freqtrade's (--config, --cache), never ours
    parser.epilog = EPILOG
    parser.add_argument(
        "--cluster", type=parse_cluster, default=None, metavar="ADDRESS",
        help="run the epochs on a Dask cluster: a scheduler (tcp://host:8786) or local:N "
             "(N worker processes here); -j is then the number of epochs per batch, as "
             "locally (default: one per worker)")
    parser.set_defaults(passes_unknown=True)


def run(args: argparse.Namespace) -> int:
    """Install the offline markets, then run ``freqtrade hyperopt`` here or on the cluster."""
    freqtrade_args = ["hyperopt", *args.unknown]
    if args.cluster is None:
        return run_freqtrade(freqtrade_args)
    from freqtrade_feedback.hyperopt_cluster import check_threads, on_cluster

    verbose = bool({"-v", "--verbose", "-vv", "-vvv"} & set(args.unknown))
    with connect(args.cluster, verbose=verbose) as client:  # Dask's own lines with -v
        check_threads(client)
        with on_cluster(client):
            return run_freqtrade(freqtrade_args)

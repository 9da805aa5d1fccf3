"""The drop-in path, played as a user: a fresh virtual environment with Freqtrade and the wheel
built from this repository (no editable install, no repository on the path), then Freqtrade's
own ``create-userdir``, ``freqtrade-feedback init`` on Freqtrade's SampleStrategy, a backtest
and a three-epoch hyperopt of the gated copy with the plugin's loss, offline on the dev set
(the seeded synthetic market without ``../shared/data``).

One test, because each step needs the one before; most of its time is pip installing
Freqtrade into the fresh environment (fast from pip's cache, minutes on a cold one).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import PAIRS_5M, REPO, USER_ENVIRONMENT, real_data, shared_data

SOURCES = ("pyproject.toml", "README.md", "MANIFEST.in", "freqtrade_feedback")
"""What the build reads; anything else of the repository is out of the user's reach."""
TIMERANGE = "20240101-20240201"
CONFIG = """{
    "$schema": "https://schema.freqtrade.io/schema.json",
    // a user's config, as `freqtrade new-config` writes it, with a static pair list
    "max_open_trades": 3,
    "stake_currency": "USDT",
    "stake_amount": 100,
    "tradable_balance_ratio": 0.99,
    "timeframe": "5m",
    "dry_run": true,
    "dry_run_wallet": 1000,
    "trading_mode": "spot",
    "margin_mode": "",
    "entry_pricing": {"price_side": "other", "use_order_book": true, "order_book_top": 1},
    "exit_pricing": {"price_side": "other", "use_order_book": true, "order_book_top": 1},
    "exchange": {
        "name": "binance",
        "key": "",
        "secret": "",
        "pair_whitelist": ["BTC/USDT", "ETH/USDT", "SOL/USDT"],
        "pair_blacklist": []
    },
    "pairlists": [{"method": "StaticPairList"}],
    "bot_name": "freqtrade",
    "initial_state": "running",
    "internals": {"process_throttle_secs": 5}
}
"""


def _pinned_freqtrade() -> str:
    """``freqtrade[hyperopt]==<version>`` as pyproject.toml pins it."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    (pin,) = [d for d in project["dependencies"] if d.startswith("freqtrade")]
    return pin


def _run(command: list[str | Path], cwd: Path, env: dict[str, str], timeout: int = 900) -> str:
    """Run one command as the user would type it; its output, or a failure showing its end."""
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(map(str, command))} exited {done.returncode}:\n" \
                                 f"{output[-4000:]}"
    return " ".join(output.split())  # Freqtrade's log handler (rich) wraps long lines


def _environment(venv: Path) -> dict[str, str]:
    """The user's shell with the fresh environment activated and nothing of ours on the path."""
    env = {k: v for k, v in USER_ENVIRONMENT.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["COLUMNS"] = "300"  # a wide terminal: rich wraps a path it cannot fit mid-name
    return env


def _install(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A fresh venv with Freqtrade as pinned and the wheel built by ``python -m build``."""
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env, python = _environment(venv), venv / "bin" / "python"
    _run([python, "-m", "pip", "install", "--quiet", "build"], tmp_path, env)
    _run([python, "-m", "build", "--outdir", tmp_path / "dist", source], tmp_path, env)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    _run([python, "-m", "pip", "install", "--quiet", _pinned_freqtrade()], tmp_path, env,
         timeout=1800)
    _run([python, "-m", "pip", "install", "--quiet", wheel], tmp_path, env, timeout=1800)
    return venv, env


def _candles(work: Path, env: dict[str, str]) -> None:
    """The dev set's BTC, ETH and SOL 5m candles, or the package's own synthetic market."""
    datadir = work / "user_data" / "data" / "binance"
    if real_data():
        datadir.mkdir(parents=True)
        for name in PAIRS_5M:
            shutil.copy2(shared_data("binance-2024") / name, datadir / name)
    else:
        _run(["freqtrade-feedback", "generate-data", "--config", "user_data/config.json"],
             work, env)


@pytest.mark.slow
def test_a_user_drops_the_wheel_into_a_fresh_freqtrade_install(tmp_path: Path) -> None:
    venv, env = _install(tmp_path)
    work = tmp_path / "bot"
    work.mkdir()
    located = _run(["python", "-c", "import freqtrade_feedback as f; print(f.__file__)"], work, env)
    assert located.startswith(str(venv)), "the package did not come from the wheel"

    _run(["freqtrade", "create-userdir", "--userdir", "user_data"], work, env)
    (work / "user_data" / "config.json").write_text(CONFIG, encoding="utf-8")
    _candles(work, env)
    out = _run(["freqtrade-feedback", "init", "--strategy", "SampleStrategy"], work, env)
    assert out.count("wrote") == 2 and "added" in out, out
    again = _run(["freqtrade-feedback", "init", "--strategy", "SampleStrategy"], work, env)
    assert "Nothing changed" in again, again

    backtest = _run(["freqtrade-feedback", "offline", "backtesting", "--config",
                     "user_data/config.json", "--strategy", "SampleStrategyFeedback",
                     "--timerange", TIMERANGE, "--cache", "none"], work, env)
    assert "Using resolved strategy SampleStrategyFeedback" in backtest
    assert "freqtrade-feedback: enabled" in backtest, backtest[-3000:]
    assert "BACKTESTING REPORT" in backtest and "Traceback" not in backtest

    hyperopt = _run(["freqtrade-feedback", "offline", "hyperopt", "--config",
                     "user_data/config.json", "--strategy", "SampleStrategyFeedback",
                     "--hyperopt-loss", "FeedbackHyperOptLoss", "-e", "3",
                     "--timerange", TIMERANGE], work, env)
    shim = work / "user_data" / "hyperopts" / "FeedbackHyperOptLoss.py"
    assert f"Using resolved hyperoptloss FeedbackHyperOptLoss from '{shim}'" in hyperopt
    assert "freqtrade-feedback: enabled" in hyperopt and "Best result" in hyperopt, \
        hyperopt[-3000:]
    assert "Traceback" not in hyperopt

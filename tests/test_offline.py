"""Offline Freqtrade: market lists from disk, and Freqtrade's own commands run without network."""

from __future__ import annotations

import gc
import json
import logging
import multiprocessing
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from ccxt import TICK_SIZE
from freqtrade.exceptions import OperationalException
from freqtrade.exchange import amount_to_precision, price_to_precision
from freqtrade.exchange.exchange import Exchange

from freqtrade_feedback import offline
from freqtrade_feedback.cli import main as cli
from freqtrade_feedback.offline import markets as offline_markets

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BINANCE_2024 = SHARED_DATA / "binance-2024"

STRATEGY = '''
from __future__ import annotations

import talib.abstract as ta
from freqtrade.strategy import IStrategy
from pandas import DataFrame


class SampleStrategyForTest(IStrategy):
    """RSI mean reversion: enough trades on a month of 1h candles to check the plumbing."""

    INTERFACE_VERSION = 3
    timeframe = "1h"
    minimal_roi = {"0": 0.03}
    stoploss = -0.05
    startup_candle_count = 20

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["rsi"] < 35, "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["rsi"] > 65, "exit_long"] = 1
        return dataframe
'''


def write_candles(path: Path, lowest: float, *, rows: int = 48, freq: str = "5min") -> None:
    """Rising candles whose lowest price is exactly ``lowest``, as feather or Freqtrade JSON."""
    dates = pd.date_range("2024-01-01", periods=rows, freq=freq, tz="UTC")
    close = lowest * (1 + 0.001 * np.arange(rows))
    candles = pd.DataFrame(
        {
            "date": dates,
            "open": close,
            "high": close * 1.002,
            "low": close,
            "close": close,
            "volume": 10.0,
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        candles["date"] = candles["date"].astype("int64") // 10**6
        path.write_text(json.dumps(candles.to_numpy().tolist()), encoding="utf-8")
    else:
        candles.to_feather(path)


@pytest.fixture
def datadir(tmp_path: Path) -> Path:
    """A small data folder: two USDT pairs, a BTC-quoted pair, a futures pair, some clutter."""
    folder = tmp_path / "data"
    write_candles(folder / "BTC_USDT-5m.feather", 39_000.0)
    write_candles(folder / "BTC_USDT-1h.feather", 38_555.0, freq="1h")
    write_candles(folder / "DOGE_USDT-1h.json", 0.075, freq="1h")
    write_candles(folder / "ETH_BTC-5m.feather", 0.05)
    write_candles(folder / "futures" / "BTC_USDT_USDT-1h-futures.feather", 39_500.0, freq="1h")
    write_candles(folder / "futures" / "BTC_USDT_USDT-8h-funding_rate.feather", 1e-12, freq="8h")
    (folder / "notes.txt").write_text("not candles", encoding="utf-8")
    return folder


@pytest.fixture
def freqtrade_globals() -> Iterator[None]:
    """Undo what Freqtrade's ``main`` and our ``install`` do to the whole process.

    ``main`` adds a buffer handler to the root logger and sets its level, raises the GC
    thresholds and picks the multiprocessing start method; ``Backtesting`` switches the
    database and strategy output off. Other tests must not inherit any of that.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    threshold = gc.get_threshold()
    start_method = multiprocessing.get_start_method(allow_none=True)
    was_installed = offline.is_installed()
    yield
    from freqtrade.optimize.backtesting import Backtesting

    if not was_installed:
        offline.uninstall()
    Backtesting.cleanup()
    root.handlers[:] = handlers
    root.setLevel(level)
    gc.set_threshold(*threshold)
    multiprocessing.set_start_method(start_method, force=True)


def write_project(tmp_path: Path, **overrides: object) -> dict[str, Path]:
    """A minimal Freqtrade user folder with a config, a TA-Lib strategy and a results folder."""
    userdir = tmp_path / "user_data"
    (userdir / "strategies").mkdir(parents=True)
    (userdir / "backtest_results").mkdir()
    (userdir / "strategies" / "sample_strategy.py").write_text(STRATEGY, encoding="utf-8")
    config = {
        "exchange": {"name": "binance", "pair_whitelist": ["BTC/USDT", "ETH/USDT"]},
        "stake_currency": "USDT",
        "stake_amount": 100,
        "dry_run_wallet": 1000,
        "max_open_trades": 2,
        "timeframe": "1h",
        "dry_run": True,
        "entry_pricing": {"price_side": "same"},
        "exit_pricing": {"price_side": "same"},
        "pairlists": [{"method": "StaticPairList"}],
        **overrides,
    }
    config_path = tmp_path / "config.json"
    config_path.write_text("// Freqtrade configs may hold comments\n" + json.dumps(config))
    return {"config": config_path, "userdir": userdir, "results": userdir / "backtest_results"}


# --- deriving markets ------------------------------------------------------------------------


def test_snapshot_path_is_one_file_per_exchange_under_user_data(tmp_path: Path) -> None:
    """Snapshots live in ``<user_data_dir>/markets/<exchange>.json``, lower-cased."""
    assert offline.snapshot_path(tmp_path, "Binance") == tmp_path / "markets" / "binance.json"


def test_derive_markets_finds_spot_and_futures_pairs_in_every_format(datadir: Path) -> None:
    """Feather and JSON spot files and futures files each give one ccxt-style market."""
    markets = offline.derive_markets(datadir)
    assert sorted(markets) == ["BTC/USDT", "BTC/USDT:USDT", "DOGE/USDT", "ETH/BTC"]
    spot = markets["BTC/USDT"]
    assert (spot["id"], spot["base"], spot["quote"], spot["type"]) == (
        "BTCUSDT",
        "BTC",
        "USDT",
        "spot",
    )
    assert spot["spot"] and spot["active"] and not spot["swap"]
    swap = markets["BTC/USDT:USDT"]
    assert (swap["type"], swap["settle"], swap["linear"], swap["contractSize"]) == (
        "swap",
        "USDT",
        True,
        1.0,
    )
    assert swap["contract"] and not swap["spot"]


def test_derived_precision_is_finer_than_the_lowest_price(datadir: Path) -> None:
    """The tick is a millionth of the lowest price over all files of a pair, rounded down."""
    markets = offline.derive_markets(datadir)
    assert markets["BTC/USDT"]["precision"] == {"price": 0.01, "amount": 1e-8}  # lowest 38555
    assert markets["BTC/USDT"]["limits"]["price"]["min"] == 0.01
    assert markets["DOGE/USDT"]["precision"]["price"] == 1e-8  # lowest 0.075
    assert markets["BTC/USDT"]["info"]["lowest_price"] == 38_555.0


def test_derived_limits_use_the_quote_currencys_usual_minimum(datadir: Path) -> None:
    """Min cost is 5 for USDT, 0.0001 for BTC; amounts may be as small as one step."""
    markets = offline.derive_markets(datadir)
    assert markets["BTC/USDT"]["limits"]["cost"]["min"] == 5.0
    assert markets["ETH/BTC"]["limits"]["cost"]["min"] == 0.0001
    assert markets["ETH/BTC"]["limits"]["amount"]["min"] == 1e-8


def test_derived_markets_round_with_ccxt_tick_size(datadir: Path) -> None:
    """Freqtrade's rounding helpers in TICK_SIZE mode move prices by less than one tick."""
    market = offline.derive_markets(datadir)["BTC/USDT"]
    price = price_to_precision(42_000.123456, market["precision"]["price"], TICK_SIZE)
    amount = amount_to_precision(0.123456789123, market["precision"]["amount"], TICK_SIZE)
    assert (price, amount) == (42_000.12, 0.12345678)


def test_tick_stays_above_freqtrades_untradable_floor(tmp_path: Path) -> None:
    """Freqtrade drops markets with a tick of 1e-11 or less, so tiny prices get 1e-10."""
    write_candles(tmp_path / "PEPE_USDT-5m.feather", 2e-9)
    market = offline.derive_markets(tmp_path)["PEPE/USDT"]
    assert market["precision"]["price"] == offline_markets.MIN_PRICE_TICK


def test_derive_markets_keeps_only_the_stake_currency(datadir: Path) -> None:
    """With a stake currency only the pairs Freqtrade could trade with it are kept."""
    assert sorted(offline.derive_markets(datadir, "BTC")) == ["ETH/BTC"]
    assert offline.derive_markets(datadir, "EUR") == {}


def test_derive_markets_of_an_empty_or_missing_folder_is_empty(tmp_path: Path) -> None:
    """No candles means no markets; deciding whether that is an error is up to the caller."""
    assert offline.derive_markets(tmp_path) == {}
    assert offline.derive_markets(tmp_path / "missing") == {}


def test_unreadable_candle_file_gives_no_market(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A corrupt file is skipped with a warning (Freqtrade's reader logs the file's error)."""
    (tmp_path / "BTC_USDT-5m.feather").write_bytes(b"not a feather file")
    with caplog.at_level(logging.WARNING):
        assert offline.derive_markets(tmp_path) == {}
    assert "No usable prices for BTC/USDT 5m" in caplog.text


# --- snapshots ---------------------------------------------------------------------------------


def test_snapshot_round_trips(datadir: Path, tmp_path: Path) -> None:
    """What is saved is what is loaded, and a derived snapshot stays marked as derived."""
    markets = offline.derive_markets(datadir)
    path = offline.snapshot_path(tmp_path / "user_data", "binance")
    offline.save_snapshot(markets, path)
    loaded = offline.load_snapshot(path)
    assert loaded == markets
    assert offline_markets.is_derived(loaded)
    assert list(path.parent.iterdir()) == [path]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "malformed"),
        ("[]", "non-empty JSON object"),
        ("{}", "non-empty JSON object"),
        ('{"BTC/USDT": 3}', "not a JSON object"),
        ('{"BTC/USDT": {"symbol": "BTC/USDT", "base": "BTC"}}', "has no quote"),
        ('{"X/Y": {"symbol": "BTC/USDT", "base": "BTC", "quote": "USDT"}}', "wrong key"),
    ],
)
def test_malformed_snapshot_error_names_the_file(tmp_path: Path, content: str, reason: str) -> None:
    """A broken snapshot stops with an error that names the file and what is wrong."""
    path = tmp_path / "binance.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(OperationalException, match=reason) as error:
        offline.load_snapshot(path)
    assert str(path) in str(error.value)
    assert "markets save" in str(error.value)


def test_missing_snapshot_error_names_the_file(tmp_path: Path) -> None:
    """Loading a snapshot that is not there says which file was expected."""
    with pytest.raises(OperationalException, match="does not exist") as error:
        offline.load_snapshot(tmp_path / "nope.json")
    assert str(tmp_path / "nope.json") in str(error.value)


# --- install and the market source ------------------------------------------------------------


def test_install_is_idempotent_and_uninstall_restores() -> None:
    """``install`` patches the two methods once; ``uninstall`` puts the originals back.

    Other code (the backtest harness) may have installed it already; that state is restored.
    """
    was_installed = offline.is_installed()
    offline.uninstall()
    originals = (Exchange._load_async_markets, Exchange.check_time_offset)
    try:
        offline.install()
        patched = (Exchange._load_async_markets, Exchange.check_time_offset)
        offline.install()
        assert offline.is_installed()
        assert (Exchange._load_async_markets, Exchange.check_time_offset) == patched
        assert patched[0] is not originals[0] and patched[1] is not originals[1]
    finally:
        offline.uninstall()
    assert (Exchange._load_async_markets, Exchange.check_time_offset) == originals
    assert not offline.is_installed()
    if was_installed:
        offline.install()


def test_offline_markets_prefers_the_snapshot(
    datadir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A saved snapshot wins over the data folder, so an edited or real list is used as is.

    A snapshot written by ``markets derive`` still carries its marker, so the log says so.
    """
    snapshot = {
        "ETH/USDT": offline.derive_markets(datadir)["BTC/USDT"]
        | {"symbol": "ETH/USDT", "base": "ETH"}
    }
    offline.save_snapshot(snapshot, offline.snapshot_path(tmp_path, "binance"))
    config = {"user_data_dir": tmp_path, "datadir": datadir, "stake_currency": "USDT"}
    with caplog.at_level(logging.WARNING):
        assert offline.offline_markets(config, "binance") == snapshot
    assert "was derived from candle data" in caplog.text


def test_offline_markets_derives_from_the_data_folder_with_a_warning(
    datadir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Without a snapshot the markets come from the data folder, and the log says how to fix."""
    config = {"user_data_dir": tmp_path, "datadir": datadir, "stake_currency": "USDT"}
    with caplog.at_level(logging.WARNING):
        markets = offline.offline_markets(config, "binance")
    assert sorted(markets) == ["BTC/USDT", "BTC/USDT:USDT", "DOGE/USDT"]
    assert "derived 3 binance markets from the data folder" in caplog.text
    assert "markets save" in caplog.text


def test_offline_markets_without_data_names_the_folder(tmp_path: Path) -> None:
    """No snapshot and no candles: the error names the data folder and how to get data."""
    config = {"user_data_dir": tmp_path, "datadir": tmp_path / "data", "stake_currency": "USDT"}
    with pytest.raises(OperationalException) as error:
        offline.offline_markets(config, "binance")
    message = str(error.value)
    assert str(tmp_path / "data") in message
    assert "freqtrade download-data" in message and "freqtrade-feedback generate-data" in message


def test_real_exchange_validates_rounds_and_sizes_with_offline_markets(
    datadir: Path, tmp_path: Path, freqtrade_globals: None
) -> None:
    """Freqtrade's own Binance class starts offline and uses the markets for its arithmetic."""
    from freqtrade.configuration import Configuration
    from freqtrade.enums import RunMode
    from freqtrade.resolvers import ExchangeResolver

    paths = write_project(tmp_path)
    offline.install()
    config = Configuration(
        {
            "config": [str(paths["config"])],
            "user_data_dir": str(paths["userdir"]),
            "datadir": str(datadir),
        },
        RunMode.BACKTEST,
    ).get_config()
    exchange = ExchangeResolver.load_exchange(config, validate=True)
    try:
        assert exchange.get_markets(quote_currencies=["USDT"], tradable_only=True).keys() == {
            "BTC/USDT",
            "DOGE/USDT",
        }
        assert exchange.price_to_precision("BTC/USDT", 42_000.123456) == 42_000.12
        # min cost 5 USDT, plus Freqtrade's 5 % amount reserve, over a 10 % stoploss
        assert exchange.get_min_pair_stake_amount("BTC/USDT", 40_000, -0.1) == pytest.approx(
            5 * 1.05 / 0.9
        )
        assert exchange.get_fee("BTC/USDT") == 0.001  # ccxt's Binance default schedule
    finally:
        exchange.close()


# --- the CLI ----------------------------------------------------------------------------------


def test_offline_without_a_freqtrade_command_prints_usage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``freqtrade-feedback offline`` alone is a usage error."""
    assert cli.main(["offline"]) == 2
    assert "usage: freqtrade-feedback offline" in capsys.readouterr().err


def test_offline_takes_everything_after_it_unchanged() -> None:
    """Freqtrade's options are not parsed by us, not even ones that look like ours."""
    passed = ["backtesting", "--config", "c.json", "-s", "X", "--cache", "none"]
    args = cli.build_parser(["offline"]).parse_args(["offline", *passed])
    assert args.freqtrade_args == passed


def backtest_offline(paths: dict[str, Path], data: Path) -> dict[str, Any]:
    """Run ``freqtrade-feedback offline backtesting`` and return the exported statistics.

    Freqtrade exits 0 even after a configuration error, so success is judged by the export.
    """
    from freqtrade.data.btanalysis import load_backtest_stats

    code = cli.main(
        [
            "offline", "backtesting", "--config", str(paths["config"]),
            "--userdir", str(paths["userdir"]), "--datadir", str(data),
            "--strategy", "SampleStrategyForTest",
            "--strategy-path", str(paths["userdir"] / "strategies"),
            "--timerange", "20240101-20240201", "--cache", "none",
            "--export", "trades", "--backtest-directory", str(paths["results"]),
        ]
    )  # fmt: skip
    assert code == 0
    return load_backtest_stats(paths["results"])["strategy"]["SampleStrategyForTest"]


needs_binance_2024 = pytest.mark.skipif(
    not BINANCE_2024.is_dir(), reason=f"no candle data at {BINANCE_2024}"
)


@needs_binance_2024
def test_offline_backtesting_on_real_candles_makes_trades(
    tmp_path: Path, freqtrade_globals: None
) -> None:
    """A real Freqtrade spot backtest runs offline on Binance candles and exports its trades."""
    paths = write_project(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    for pair in ("BTC_USDT", "ETH_USDT"):
        shutil.copyfile(BINANCE_2024 / f"{pair}-1h.feather", data / f"{pair}-1h.feather")
    stats = backtest_offline(paths, data)
    assert stats["total_trades"] > 0
    assert {trade["pair"] for trade in stats["trades"]} <= {"BTC/USDT", "ETH/USDT"}


@needs_binance_2024
def test_offline_futures_backtesting_uses_the_futures_folder(
    tmp_path: Path, freqtrade_globals: None
) -> None:
    """Futures candles in ``futures/`` give a linear swap market Freqtrade can backtest."""
    order_book = {"price_side": "same", "use_order_book": True, "order_book_top": 1}
    paths = write_project(
        tmp_path,
        trading_mode="futures",
        margin_mode="isolated",
        exchange={"name": "binance", "pair_whitelist": ["BTC/USDT:USDT"]},
        entry_pricing=order_book,  # Binance futures tickers carry no price
        exit_pricing=order_book,
    )
    futures = tmp_path / "data" / "futures"
    futures.mkdir(parents=True)
    for candle_type in ("futures", "mark"):
        shutil.copyfile(
            BINANCE_2024 / "BTC_USDT-1h.feather",
            futures / f"BTC_USDT_USDT-1h-{candle_type}.feather",
        )
    stats = backtest_offline(paths, tmp_path / "data")
    assert stats["total_trades"] > 0
    assert {trade["pair"] for trade in stats["trades"]} == {"BTC/USDT:USDT"}


def test_offline_backtesting_without_data_fails_with_the_fix(
    tmp_path: Path, freqtrade_globals: None, caplog: pytest.LogCaptureFixture
) -> None:
    """No markets anywhere: Freqtrade exits 2 and logs our message naming the data folder."""
    paths = write_project(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with caplog.at_level(logging.INFO):
        code = cli.main(
            [
                "offline", "backtesting", "--config", str(paths["config"]),
                "--userdir", str(paths["userdir"]), "--datadir", str(empty),
                "--strategy", "SampleStrategyForTest", "--cache", "none", "--export", "none",
            ]
        )  # fmt: skip
    assert code == 2
    assert f"no candle data quoted in USDT in the data folder {empty}" in caplog.text


def test_offline_list_data(
    datadir: Path,
    tmp_path: Path,
    freqtrade_globals: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Commands that need no exchange run through ``offline`` just the same."""
    userdir = tmp_path / "user_data"
    userdir.mkdir()
    argv = ["offline", "list-data", "--userdir", str(userdir), "--datadir", str(datadir)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "Found 3 pair / timeframe combinations" in out  # the feather files only
    assert "BTC/USDT" in out and "ETH/BTC" in out


def test_markets_derive_writes_the_snapshot_and_keeps_an_existing_one(
    datadir: Path, tmp_path: Path, freqtrade_globals: None
) -> None:
    """``markets derive`` writes where offline runs read, and overwrites only with --force."""
    paths = write_project(tmp_path)
    argv = [
        "markets", "derive", "--config", str(paths["config"]),
        "--userdir", str(paths["userdir"]), "--datadir", str(datadir),
    ]  # fmt: skip
    assert cli.main(argv) == 0
    path = offline.snapshot_path(paths["userdir"], "binance")
    assert sorted(offline.load_snapshot(path)) == ["BTC/USDT", "BTC/USDT:USDT", "DOGE/USDT"]
    assert cli.main(argv) == 2
    assert cli.main([*argv, "--force"]) == 0


def test_markets_save_writes_what_ccxt_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, freqtrade_globals: None
) -> None:
    """``markets save`` stores the fetched list under the config's exchange name."""
    paths = write_project(tmp_path)
    fetched = {"BTC/USDT": {"symbol": "BTC/USDT", "base": "BTC", "quote": "USDT", "info": {}}}
    calls: list[str] = []

    def fake_fetch(name: str, ccxt_config: object = None) -> dict:
        calls.append(name)
        return fetched

    monkeypatch.setattr(offline_markets, "fetch_markets", fake_fetch)
    code = cli.main(
        ["markets", "save", "-c", str(paths["config"]), "--userdir", str(paths["userdir"])]
    )
    assert (code, calls) == (0, ["binance"])
    assert offline.load_snapshot(offline.snapshot_path(paths["userdir"], "binance")) == fetched


def test_markets_save_with_a_missing_config_is_a_usage_error(
    tmp_path: Path, freqtrade_globals: None
) -> None:
    """A config that does not exist exits 2 instead of a traceback."""
    code = cli.main(["markets", "save", "--config", str(tmp_path / "missing.json")])
    assert code == 2

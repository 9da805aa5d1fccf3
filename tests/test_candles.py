"""Tests of ``lab.SyntheticMarket`` and the ``generate-data`` command.

The realism tests guard what the offline demo relies on: a strategy with RSI, EMA and
Bollinger signals must meet trends, ranges, volatility clusters and fat tails, or the trades
that train the gate are noise.
"""

from __future__ import annotations

import runpy
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from freqtrade_feedback import lab
from freqtrade_feedback.cli import generate_data
from freqtrade_feedback.cli.main import main
from freqtrade_feedback.exceptions import ConfigError

START = datetime(2024, 1, 1, tzinfo=UTC)
# Freqtrade 2026.9's loader calls DataFrame.reset_index(inplace=True), deprecated in pandas 3.1.
FREQTRADE_PANDAS_WARNING = "ignore:The inplace keyword in DataFrame.reset_index"
CANDLES_PER_DAY_5M = 288


def log_returns(frame: pd.DataFrame) -> pd.Series:
    return np.log(frame["close"]).diff().dropna()


@pytest.fixture(scope="module")
def default_market() -> lab.SyntheticMarket:
    return lab.SyntheticMarket()


@pytest.fixture(scope="module")
def default_frames(default_market: lab.SyntheticMarket) -> dict[str, pd.DataFrame]:
    return default_market.frames()


# --- invariants ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 7, 42, 2024])
@pytest.mark.parametrize(("timeframe", "days"), [("1m", 3), ("5m", 10), ("1h", 30), ("1d", 200)])
def test_candles_obey_ohlc_invariants_and_a_gapless_utc_grid(
    seed: int, timeframe: str, days: int
) -> None:
    """Every candle satisfies the OHLC invariants on a gapless, aligned, UTC ms grid."""
    pairs = ["BTC/USDT", "ETH/USDT", "PEPE/USDT", "ETH/BTC", "USDC/USDT"]
    market = lab.SyntheticMarket(pairs, timeframe=timeframe, days=days, seed=seed)
    step_ms = lab.timeframe_to_seconds(timeframe) * 1_000
    for frame in market.frames().values():
        assert tuple(frame.columns) == lab.OHLCV_COLUMNS
        assert str(frame["date"].dtype) == "datetime64[ms, UTC]"
        assert (frame.dtypes.iloc[1:] == np.float64).all()
        assert len(frame) == days * 86_400 * 1_000 // step_ms
        epoch_ms = frame["date"].astype("int64").to_numpy()
        assert (np.diff(epoch_ms) == step_ms).all()
        assert (epoch_ms % step_ms == 0).all()
        values = frame[["open", "high", "low", "close", "volume"]].to_numpy()
        assert np.isfinite(values).all()
        assert (frame["low"] > 0).all() and (frame["volume"] >= 0).all()
        assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
        assert (frame[["open", "close"]].max(axis=1) <= frame["high"]).all()
        assert (frame["open"].to_numpy()[1:] == frame["close"].to_numpy()[:-1]).all()


def test_start_is_rounded_up_to_the_timeframe_grid() -> None:
    """A start between two candles begins at the next candle, as Freqtrade aligns them."""
    market = lab.SyntheticMarket(["BTC/USDT"], "4h", start=START + timedelta(hours=1), days=2)
    assert market.dates[0] == pd.Timestamp("2024-01-01 04:00", tz="UTC")
    assert len(market.dates) == 12


# --- determinism --------------------------------------------------------------------------


def test_same_seed_gives_identical_frames_and_another_seed_different_ones() -> None:
    """The seed alone fixes the candles; changing it changes them."""
    first = lab.SyntheticMarket(days=5, seed=3).frames()
    again = lab.SyntheticMarket(days=5, seed=3).frames()
    other = lab.SyntheticMarket(days=5, seed=4).frames()
    for pair, frame in first.items():
        pd.testing.assert_frame_equal(frame, again[pair])
        assert not np.allclose(frame["close"], other[pair]["close"])


def test_seed_none_draws_fresh_entropy_once_per_instance() -> None:
    """Unseeded markets differ, but their pairs still share one market factor."""
    one, two = lab.SyntheticMarket(days=10, seed=None), lab.SyntheticMarket(days=10, seed=None)
    assert one.seed is None
    assert not np.allclose(one.frame("BTC/USDT")["close"], two.frame("BTC/USDT")["close"])
    returns = pd.DataFrame({pair: log_returns(frame) for pair, frame in one.frames().items()})
    assert returns.corr().to_numpy().min() > 0.4


def test_adding_or_reordering_pairs_leaves_a_pair_unchanged() -> None:
    """A pair depends on the seed and its own name only, never on the other pairs."""
    alone = lab.SyntheticMarket(["ETH/USDT"], days=5).frame("ETH/USDT")
    for pairs in (["BTC/USDT", "ETH/USDT"], ["SOL/USDT", "XRP/USDT", "ETH/USDT"]):
        together = lab.SyntheticMarket(pairs, days=5).frame("ETH/USDT")
        pd.testing.assert_frame_equal(alone, together)


def test_a_longer_series_extends_a_shorter_one() -> None:
    """More days append candles; the shared ones are bit-identical."""
    short = lab.SyntheticMarket(days=3).frames()
    long = lab.SyntheticMarket(days=11).frames()
    for pair, frame in short.items():
        pd.testing.assert_frame_equal(frame, long[pair].iloc[: len(frame)])
    shared = len(short["BTC/USDT"])
    assert (
        lab.SyntheticMarket(days=3)
        .regimes()
        .equals(lab.SyntheticMarket(days=11).regimes().iloc[:shared])
    )


# --- price levels -------------------------------------------------------------------------


def test_known_pairs_start_near_their_2024_prices() -> None:
    """BTC, ETH and SOL open at their 2024-01-01 levels; a cross pair is their ratio."""
    market = lab.SyntheticMarket(["BTC/USDT", "ETH/USDT", "SOL/USDT", "ETH/BTC"], days=1)
    opens = {pair: frame["open"].iloc[0] for pair, frame in market.frames().items()}
    assert opens == pytest.approx(
        {"BTC/USDT": 42_000, "ETH/USDT": 2_300, "SOL/USDT": 100, "ETH/BTC": 2_300 / 42_000}
    )


def test_unknown_pairs_get_a_stable_level_from_their_name() -> None:
    """An unknown asset's level comes from its name: same in every run and seed, not 1.0."""
    level = lab.SyntheticMarket(["FOO/USDT"], days=1, seed=1).frame("FOO/USDT")["open"].iloc[0]
    again = lab.SyntheticMarket(["FOO/USDT"], days=1, seed=9).frame("FOO/USDT")["open"].iloc[0]
    other = lab.SyntheticMarket(["BAR/USDT"], days=1).frame("BAR/USDT")["open"].iloc[0]
    assert level == again != other
    assert 0.01 <= level <= 1_000 and 0.01 <= other <= 1_000


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize("timeframe", ["5", "0m", "1w", "1M", "m5", "5min", "", 5])
def test_bad_timeframe_names_the_parameter_and_the_allowed_values(timeframe: object) -> None:
    """A timeframe outside m/h/d is refused with the accepted forms."""
    with pytest.raises(ValueError, match=r"'timeframe' parameter.*'5m', '15m', '1h'"):
        lab.SyntheticMarket(timeframe=timeframe)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pairs": []}, r"'pairs' parameter .* non-empty"),
        ({"pairs": "BTC/USDT"}, r"'pairs' parameter .* non-empty sequence"),
        ({"pairs": ["BTCUSDT"]}, r"'pairs' .* 'BASE/QUOTE'"),
        ({"pairs": ["BTC/USDT", "BTC/USDT"]}, r"'pairs' .* duplicates"),
        ({"start": datetime(2024, 1, 1)}, r"'start' parameter .* timezone-aware"),  # noqa: DTZ001
        ({"days": 0}, r"'days' parameter .* >= 1"),
        ({"days": 1.5}, r"'days' parameter"),
        ({"seed": -1}, r"'seed' parameter .* >= 0 or None"),
    ],
)
def test_bad_parameters_raise_value_error_naming_them(kwargs: dict, message: str) -> None:
    """Each invalid argument is reported by name with what is allowed."""
    with pytest.raises(ValueError, match=message):
        lab.SyntheticMarket(**kwargs)


@pytest.mark.parametrize(
    ("timeframe", "seconds"),
    [("1m", 60), ("5m", 300), ("15m", 900), ("1h", 3_600), ("4h", 14_400), ("1d", 86_400)],
)
def test_timeframe_to_seconds(timeframe: str, seconds: int) -> None:
    """Freqtrade's common timeframes parse to their length in seconds."""
    assert lab.timeframe_to_seconds(timeframe) == seconds


def test_the_candle_module_imports_without_freqtrade(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lab is core code: executing it with Freqtrade blocked must work."""
    monkeypatch.setitem(sys.modules, "freqtrade", None)
    namespace = runpy.run_path(lab.candles.__file__)
    assert len(namespace["SyntheticMarket"](days=1).frame("BTC/USDT")) == CANDLES_PER_DAY_5M


# --- realism ------------------------------------------------------------------------------


def test_volatility_clusters_while_returns_stay_uncorrelated(
    default_frames: dict[str, pd.DataFrame],
) -> None:
    """|returns| are autocorrelated (GARCH), returns themselves are not (no free lunch)."""
    for frame in default_frames.values():
        returns = log_returns(frame)
        assert returns.abs().autocorr(1) > 0.15
        assert abs(returns.autocorr(1)) < 0.03


def test_returns_have_fat_tails(default_frames: dict[str, pd.DataFrame]) -> None:
    """Kurtosis is well above the normal distribution's 3."""
    for frame in default_frames.values():
        assert log_returns(frame).kurt() + 3 > 6


def test_volume_rises_with_absolute_returns_and_follows_the_clock(
    default_frames: dict[str, pd.DataFrame],
) -> None:
    """Big moves trade more; US afternoons trade more than Asian nights, weekdays than weekends."""
    for frame in default_frames.values():
        assert frame["volume"].iloc[1:].corr(log_returns(frame).abs()) > 0.3
        hour, weekday = frame["date"].dt.hour, frame["date"].dt.day_of_week
        by_hour = frame["volume"].groupby(hour).mean()
        assert by_hour.loc[14:16].mean() > 1.5 * by_hour.loc[1:3].mean()
        assert frame["volume"][weekday < 5].mean() > frame["volume"][weekday >= 5].mean()


def test_pairs_are_correlated_but_not_identical(default_frames: dict[str, pd.DataFrame]) -> None:
    """The common market factor links the pairs; their own shocks keep them apart."""
    returns = pd.DataFrame({pair: log_returns(frame) for pair, frame in default_frames.items()})
    correlations = returns.corr().to_numpy()[np.triu_indices(3, k=1)]
    assert ((correlations > 0.4) & (correlations < 0.95)).all()


def test_regimes_are_persistent_and_all_present(default_market: lab.SyntheticMarket) -> None:
    """Each regime holds a real share of the time, in stretches longer than a day."""
    regimes = default_market.regimes()
    shares = regimes.value_counts(normalize=True).reindex(list(lab.REGIMES), fill_value=0.0)
    assert (shares > 0.1).all()
    episodes = (regimes != regimes.shift()).sum()
    assert len(regimes) / episodes > CANDLES_PER_DAY_5M


def _pooled_btc(seeds: range) -> tuple[np.ndarray, np.ndarray]:
    returns, labels = [], []
    for seed in seeds:
        market = lab.SyntheticMarket(["BTC/USDT"], seed=seed)
        returns.append(np.log(market.frame("BTC/USDT")["close"]).diff().fillna(0).to_numpy())
        labels.append(market.regimes().to_numpy())
    return np.concatenate(returns), np.concatenate(labels)


def _variance_ratio(returns: np.ndarray, labels: np.ndarray, regimes: set[str], q: int) -> float:
    """Var of q-candle sums over q * var of one candle, on chunks inside one regime episode."""
    chunks = [
        returns[i : i + q]
        for i in range(0, len(returns) - q, q)
        if labels[i] in regimes and (labels[i : i + q] == labels[i]).all()
    ]
    sums = np.array([chunk.sum() for chunk in chunks])
    return float(sums.var() / (q * np.concatenate(chunks).var()))


def test_trends_drift_and_ranges_mean_revert() -> None:
    """Up and down regimes move the price their way; ranges pull it back (variance ratio < 1).

    Pooled over seeds so the t-statistics have power; a generator without drift or without
    mean reversion fails.
    """
    returns, labels = _pooled_btc(range(5))
    for regime, sign in (("up", 1), ("down", -1)):
        inside = returns[labels == regime]
        assert sign * inside.mean() / inside.std() * np.sqrt(len(inside)) > 3
    half_day = CANDLES_PER_DAY_5M // 2
    assert _variance_ratio(returns, labels, {"range"}, half_day) < 0.8
    assert _variance_ratio(returns, labels, {"up", "down"}, half_day) > 1.0


# --- Freqtrade's format -------------------------------------------------------------------


@pytest.mark.filterwarnings(FREQTRADE_PANDAS_WARNING)
def test_written_files_load_back_unchanged_with_freqtrade(tmp_path: Path) -> None:
    """Freqtrade's own loader reads exactly the candles that were generated."""
    from freqtrade.data.history import load_pair_history

    market = lab.SyntheticMarket(["BTC/USDT", "ETH/BTC"], timeframe="15m", days=4, seed=5)
    paths = market.write(tmp_path / "data")
    assert [path.name for path in paths] == ["BTC_USDT-15m.feather", "ETH_BTC-15m.feather"]
    for pair, frame in market.frames().items():
        loaded = load_pair_history(pair, "15m", tmp_path / "data", data_format="feather")
        pd.testing.assert_frame_equal(loaded, frame)


def test_files_are_byte_identical_to_freqtrades_feather_handler(tmp_path: Path) -> None:
    """``write`` stores what ``FeatherDataHandler.ohlcv_store`` stores, down to the bytes."""
    from freqtrade.data.history.datahandlers import get_datahandler
    from freqtrade.enums import CandleType

    market = lab.SyntheticMarket(["SOL/USDT"], timeframe="1h", days=3)
    (ours,) = market.write(tmp_path / "ours")
    handler = get_datahandler(tmp_path / "theirs", "feather")
    handler.ohlcv_store("SOL/USDT", "1h", market.frame("SOL/USDT"), CandleType.SPOT)
    assert ours.read_bytes() == (tmp_path / "theirs" / ours.name).read_bytes()


# --- CLI ----------------------------------------------------------------------------------


def test_cli_writes_the_requested_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``generate-data`` with explicit options writes the file and reports it on stdout."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "160")  # rich sizes its table to the terminal
    argv = ["generate-data", "--datadir", str(tmp_path / "d"), "--pairs", "BTC/USDT"]
    assert main([*argv, "--days", "3", "--timeframe", "5m"]) == 0
    assert (tmp_path / "d" / "BTC_USDT-5m.feather").is_file()
    out = capsys.readouterr().out
    assert "BTC/USDT" in out and "BTC_USDT-5m.feather" in out
    assert "1440" in out  # 3 days plus 500 startup candles rounded up to whole days
    assert "2023-12-30 00:00" in out and "2024-01-03 23:55" in out


@pytest.mark.filterwarnings(FREQTRADE_PANDAS_WARNING)
def test_cli_takes_its_defaults_from_a_commented_config_and_covers_the_startup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pairs, timeframe and datadir follow the config; the startup candles precede --start."""
    from freqtrade.configuration import TimeRange
    from freqtrade.data.history import load_pair_history

    monkeypatch.chdir(tmp_path)
    config = tmp_path / "user_data" / "config.json"
    config.parent.mkdir()
    config.write_text(
        '{\n  // comments are allowed in Freqtrade configs\n  "timeframe": "1h",\n'
        '  "exchange": {"name": "Binance", "pair_whitelist": ["XRP/USDT", "BTC/USDT",],},\n}\n'
    )
    assert main(["generate-data", "--days", "10", "--start", "20240301"]) == 0
    datadir = tmp_path / "user_data" / "data" / "binance"
    assert sorted(p.name for p in datadir.iterdir()) == [
        "BTC_USDT-1h.feather",
        "XRP_USDT-1h.feather",
    ]
    startup = generate_data.DEFAULT_STARTUP_CANDLES
    loaded = load_pair_history(
        "XRP/USDT", "1h", datadir, timerange=TimeRange.parse_timerange("20240301-20240310"),
        startup_candles=startup, data_format="feather",
    )  # fmt: skip
    assert loaded["date"].iloc[0] <= pd.Timestamp("2024-03-01", tz="UTC") - timedelta(hours=startup)
    assert loaded["date"].iloc[-1] == pd.Timestamp("2024-03-10", tz="UTC")


@pytest.mark.parametrize(
    ("config", "extra"),
    [
        ('{"exchange": {"pair_whitelist": [".*/USDT"]}}', []),
        ('{"trading_mode": "futures"}', []),
        ('{"timeframe": 5m}', []),
        ("{}", ["--timeframe", "1w"]),
        ("{}", ["--pairs", "BTCUSDT"]),
    ],
)
def test_cli_reports_config_and_usage_errors_with_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str, extra: list[str]
) -> None:
    """Patterns, futures, broken JSON, bad timeframes and pairs are usage errors, not tracebacks."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.json").write_text(config)
    argv = ["generate-data", "--config", "config.json", "--datadir", "d", "--days", "1", *extra]
    assert main(argv) == 2
    assert not (tmp_path / "d").exists()


def test_cli_refuses_a_missing_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit --config that does not exist is an error, not a silent fallback."""
    monkeypatch.chdir(tmp_path)
    assert main(["generate-data", "--config", "nope.json", "--datadir", "d"]) == 2


def test_hourly_candles_are_the_whole_hours_of_the_market(tmp_path: Path) -> None:
    """The market features read the market pair's 1h candles: resampled from the generated
    ones, dated by their open, only complete hours."""
    market = lab.SyntheticMarket(["BTC/USDT"], timeframe="5m", days=2, seed=3)
    (path,) = market.write_hourly(tmp_path)
    hourly = pd.read_feather(path)
    frame = market.frame("BTC/USDT").reset_index(drop=True)
    first = frame.iloc[:12]
    assert path.name == "BTC_USDT-1h.feather" and len(hourly) == len(frame) // 12
    assert hourly.iloc[0][["open", "high", "low", "close"]].tolist() == [
        first["open"].iloc[0], first["high"].max(), first["low"].min(), first["close"].iloc[-1]]
    assert hourly["volume"].iloc[0] == pytest.approx(first["volume"].sum())
    with pytest.raises(ConfigError, match="divides an hour"):
        lab.SyntheticMarket(["BTC/USDT"], timeframe="1h", days=2).write_hourly(tmp_path)

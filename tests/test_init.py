"""``freqtrade-feedback init`` on a folder made by Freqtrade's own ``create-userdir``: the shim,
the config's section and the gated strategy are written once, loadable by Freqtrade, and never
over a file init did not write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CONFIG, REPO

from freqtrade_feedback.cli.init import defaults_section, template
from freqtrade_feedback.cli.main import main
from freqtrade_feedback.config import FeedbackSettings, load_settings

COMMENTED = """{
    // a config as Freqtrade users keep it: comments and a trailing comma
    "max_open_trades": 3, /* at most */
    "stake_currency": "USDT",
    "exchange": {"name": "binance", "pair_whitelist": ["BTC/USDT",],},
}
"""


@pytest.fixture
def userdir(tmp_path: Path) -> Path:
    """What ``freqtrade create-userdir --userdir user_data`` makes, with its SampleStrategy,
    and a config without a feedback section."""
    from freqtrade.configuration.directory_operations import (
        copy_sample_files,
        create_userdata_dir,
    )

    folder = create_userdata_dir(str(tmp_path / "user_data"), create_dir=True)
    copy_sample_files(folder)
    config = json.loads(CONFIG.read_text(encoding="utf-8"))
    config.pop("feedback")
    (folder / "config.json").write_text(json.dumps(config, indent=4) + "\n", encoding="utf-8")
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _init(userdir: Path, *extra: str) -> int:
    return main(["init", "--userdir", str(userdir), *extra])


def test_init_writes_shim_section_and_gated_strategy_then_changes_nothing(
        userdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = userdir / "config.json"
    original = config.read_text(encoding="utf-8")
    assert _init(userdir, "--strategy", "SampleStrategy") == 0
    out = capsys.readouterr().out
    assert out.count("wrote") == 2 and "added" in out

    shim = userdir / "hyperopts" / "FeedbackHyperOptLoss.py"
    assert shim.read_text(encoding="utf-8") == template("FeedbackHyperOptLoss.py.tmpl")
    assert (userdir / "config.json.bak").read_text(encoding="utf-8") == original
    written = json.loads(config.read_text(encoding="utf-8"))
    before = json.loads(original)
    assert list(written) == [*before, "feedback"]
    assert written == {**before, "feedback": defaults_section()}
    assert config.read_text(encoding="utf-8").startswith(original.rstrip()[:-1].rstrip() + ",")
    gated = userdir / "strategies" / "SampleStrategyFeedback.py"
    assert "class SampleStrategyFeedback(FeedbackMixin, SampleStrategy):" in gated.read_text()

    files = _files(userdir)
    assert _init(userdir, "--strategy", "SampleStrategy") == 0
    out = capsys.readouterr().out
    assert "Nothing changed" in out and out.count("unchanged") == 3
    assert _files(userdir) == files


def test_the_gated_strategy_is_what_freqtrade_loads(userdir: Path) -> None:
    """Freqtrade's own resolver finds NAMEFeedback: the mixin first, the user's strategy
    behind it, and the history the default features need."""
    from freqtrade.resolvers import StrategyResolver

    from freqtrade_feedback import FeedbackMixin
    from freqtrade_feedback.features import STARTUP_CANDLES
    from freqtrade_feedback.offline import install

    assert _init(userdir, "--strategy", "SampleStrategy") == 0
    install()
    config = json.loads((userdir / "config.json").read_text(encoding="utf-8"))
    config.update({"strategy": "SampleStrategyFeedback", "user_data_dir": userdir})
    strategy = StrategyResolver.load_strategy(config)
    bases = [cls.__name__ for cls in type(strategy).__mro__]
    assert bases[:3] == ["SampleStrategyFeedback", "FeedbackMixin", "SampleStrategy"]
    assert isinstance(strategy, FeedbackMixin)
    assert strategy.startup_candle_count >= STARTUP_CANDLES


def test_the_section_holds_the_settings_defaults() -> None:
    """Read from the settings dataclasses (through the schema), not a copy of them."""
    assert load_settings(defaults_section()) == FeedbackSettings()


def test_the_repository_shim_is_the_one_init_writes() -> None:
    shipped = REPO / "user_data" / "hyperopts" / "FeedbackHyperOptLoss.py"
    assert shipped.read_text(encoding="utf-8") == template("FeedbackHyperOptLoss.py.tmpl")


def test_comments_and_trailing_commas_are_kept(userdir: Path) -> None:
    """Freqtrade reads configs with comments and trailing commas; init adds its section to
    the text, so they survive, and the result reads as the original plus the section."""
    import rapidjson

    config = userdir / "config.json"
    config.write_text(COMMENTED, encoding="utf-8")
    assert _init(userdir, "--config", str(config)) == 0
    text = config.read_text(encoding="utf-8")
    assert text.startswith(COMMENTED.rstrip()[:-1])
    assert "// a config as Freqtrade users keep it" in text and "/* at most */" in text
    parsed = rapidjson.loads(text, parse_mode=rapidjson.PM_COMMENTS | rapidjson.PM_TRAILING_COMMAS)
    assert parsed["feedback"] == defaults_section()
    assert parsed["exchange"]["pair_whitelist"] == ["BTC/USDT"]


def test_an_existing_section_is_left_alone_and_reported(
        userdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = userdir / "config.json"
    config.write_text('{"feedback": {"threshold": 0.6}}', encoding="utf-8")
    assert _init(userdir) == 0
    assert 'has a "feedback" section: left alone' in capsys.readouterr().out
    assert config.read_text(encoding="utf-8") == '{"feedback": {"threshold": 0.6}}'
    assert not (userdir / "config.json.bak").exists()


def test_an_invalid_existing_section_stops_init_naming_the_key(
        userdir: Path, caplog: pytest.LogCaptureFixture) -> None:
    (userdir / "config.json").write_text('{"feedback": {"threshold": 3}}', encoding="utf-8")
    assert _init(userdir) == 2
    assert "'feedback.threshold' parameter must be" in caplog.text
    assert not (userdir / "hyperopts" / "FeedbackHyperOptLoss.py").exists()


def test_a_file_init_did_not_write_is_never_overwritten(
        userdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One file in the way: init refuses before writing anything."""
    shim = userdir / "hyperopts" / "FeedbackHyperOptLoss.py"
    shim.write_text("# mine\n", encoding="utf-8")
    files = _files(userdir)
    assert _init(userdir, "--strategy", "SampleStrategy") == 2
    out = capsys.readouterr().out
    assert f"refused    {shim}" in out and "init changed nothing" in out
    assert _files(userdir) == files


def test_a_second_backup_never_replaces_the_first(userdir: Path) -> None:
    config = userdir / "config.json"
    (userdir / "config.json.bak").write_text("an older backup", encoding="utf-8")
    original = config.read_text(encoding="utf-8")
    assert _init(userdir) == 0
    assert (userdir / "config.json.bak").read_text(encoding="utf-8") == "an older backup"
    assert (userdir / "config.json.bak.1").read_text(encoding="utf-8") == original


def test_the_strategy_is_found_where_freqtrade_looks_first(userdir: Path, tmp_path: Path) -> None:
    """The config's strategy_path comes before user_data/strategies, so the gated copy goes
    beside the file there."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    source = (userdir / "strategies" / "sample_strategy.py").read_text(encoding="utf-8")
    (elsewhere / "my_sample.py").write_text(source, encoding="utf-8")
    config = userdir / "config.json"
    config.write_text(json.dumps({"strategy_path": str(elsewhere)}), encoding="utf-8")
    assert _init(userdir, "--strategy", "SampleStrategy") == 0
    assert "from my_sample import SampleStrategy" in (
        elsewhere / "SampleStrategyFeedback.py").read_text(encoding="utf-8")
    assert not (userdir / "strategies" / "SampleStrategyFeedback.py").exists()


@pytest.mark.parametrize(("strategy", "message"), [
    ("NoSuchStrategy", "Strategy 'NoSuchStrategy' not found: no file defines class"),
    ("FeedbackSampleStrategy", "is gated already (it derives from FeedbackMixin)"),
])
def test_a_strategy_init_cannot_gate_is_an_error(
        userdir: Path, caplog: pytest.LogCaptureFixture, strategy: str, message: str) -> None:
    (userdir / "strategies" / "FeedbackSampleStrategy.py").write_bytes(
        (REPO / "user_data" / "strategies" / "FeedbackSampleStrategy.py").read_bytes())
    files = _files(userdir)
    assert _init(userdir, "--strategy", strategy) == 2
    assert message in caplog.text
    assert _files(userdir) == files


def test_a_gated_class_of_the_same_name_elsewhere_is_refused(userdir: Path) -> None:
    (userdir / "strategies" / "old.py").write_text(
        "class SampleStrategyFeedback(object):\n    pass\n", encoding="utf-8")
    assert _init(userdir, "--strategy", "SampleStrategy") == 2
    assert not (userdir / "strategies" / "SampleStrategyFeedback.py").exists()


def test_a_missing_userdir_is_an_error_with_the_fix(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert _init(tmp_path / "nope") == 2
    assert "freqtrade create-userdir --userdir" in caplog.text

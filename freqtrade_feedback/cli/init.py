"""``freqtrade-feedback init``: make a Freqtrade ``user_data`` folder ready for the plugin.

In the spirit of Freqtrade's ``create-userdir`` and ``new-strategy``, three steps, each done
only when needed:

- the hyperopt loss shim into ``<userdir>/hyperopts/`` (Freqtrade loads a loss only from a
  class defined in a file there), from the package's own template;
- a ``"feedback"`` section with the defaults into the config, a backup of the original beside
  it; the section is added to the file's text, so the other keys, their order, the
  formatting and any comments stay exactly as they were; an existing section is left alone;
- with ``--strategy NAME``: ``class NAMEFeedback(FeedbackMixin, NAME)`` in a file beside
  ``NAME``'s own, found the way Freqtrade finds a strategy.

It never overwrites a file it did not write: an existing file that is not exactly what init
would write makes it refuse, before it has written anything. Run twice, it changes nothing
and says so. The defaults of the section are the settings' own
(:data:`freqtrade_feedback.config.SCHEMA`, read from the settings dataclasses).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from freqtrade_feedback.cli.options import parse, read_config
from freqtrade_feedback.config import SCHEMA, load_settings
from freqtrade_feedback.exceptions import ConfigError

SECTION = "feedback"
SHIM = "FeedbackHyperOptLoss.py"
SUFFIX = "Feedback"
"""``--strategy NAME`` writes class ``NAMEFeedback`` to ``NAMEFeedback.py``."""
DEFAULT_USERDIR = Path("user_data")
EXIT_REFUSED = 2
"""Something is in the way (a usage error): nothing was written."""
Action = Literal["write", "add", "unchanged", "skipped", "refused"]
"""``write`` a new file, ``add`` the section to an existing config, or leave the file be:
``unchanged`` (already as init writes it), ``skipped`` (nothing to do it to), ``refused``
(a file init did not write is in the way)."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare ``--userdir``, ``--config`` and ``--strategy``."""
    parser.add_argument("--userdir", "--user-data-dir", dest="userdir", type=Path,
                        help="Freqtrade's user_data folder (default: the config's "
                             "user_data_dir, else user_data).")
    parser.add_argument("-c", "--config", type=Path,
                        help="The Freqtrade config to add the feedback section to "
                             "(default: <userdir>/config.json, if it exists).")
    parser.add_argument("-s", "--strategy", metavar="NAME",
                        help="Also write NAMEFeedback, the strategy NAME gated by the "
                             "plugin, beside NAME's file.")


@dataclass(frozen=True)
class Step:
    """One file init would touch, and what it does with it."""

    path: Path
    action: Action
    detail: str
    text: str | None = None
    """What ``write`` and ``add`` put in the file."""
    backup: Path | None = None
    """Where ``add`` copies the original first."""


def run(args: argparse.Namespace) -> int:
    """Plan every step, refuse if anything is in the way, else apply and report."""
    config_path, config = _config(args.config, args.userdir)
    userdir = Path(args.userdir or config.get("user_data_dir") or DEFAULT_USERDIR)
    if not userdir.is_dir():
        raise ConfigError(f"The user_data folder {str(userdir)!r} does not exist. Create it "
                          f"with `freqtrade create-userdir --userdir {userdir}`, or pass "
                          "--userdir.")
    steps = [shim_step(userdir), config_step(config_path, config, args.config is not None)]
    if args.strategy:
        steps.append(strategy_step(args.strategy, userdir, config))
    refused = [step for step in steps if step.action == "refused"]
    if refused:
        _print(refused)
        print("init changed nothing: move the files above aside, or fix them, and run it again.")
        return EXIT_REFUSED
    for step in steps:
        _apply(step)
    _print(steps)
    if not any(step.action in ("write", "add") for step in steps):
        print("Nothing changed: what init writes was already in place.")
    elif args.strategy:
        config_option = f"--config {config_path} " if config_path.is_file() else ""
        print(f"Next: freqtrade backtesting {config_option}--strategy {args.strategy}{SUFFIX} "
              "--cache none")
    return 0


def _config(given: Path | None, userdir: Path | None) -> tuple[Path, dict[str, Any]]:
    """The config's path and content (``{}`` when the default one does not exist)."""
    path = given or (userdir or DEFAULT_USERDIR) / "config.json"
    if given is None and not path.is_file():
        return path, {}
    return path, read_config(path)


def template(name: str) -> str:
    """A file of the package's ``templates`` folder (package data, also in the wheel)."""
    return resources.files("freqtrade_feedback").joinpath("templates", name).read_text(
        encoding="utf-8")


def _file_step(path: Path, text: str, what: str) -> Step:
    """Write ``text`` to a new ``path``; the same text there already is fine; anything else
    there is a file init did not write."""
    if not path.exists():
        return Step(path, "write", what, text)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return Step(path, "unchanged", f"{what}, already in place")
    return Step(path, "refused", "exists and is not the file init writes: left alone")


def shim_step(userdir: Path) -> Step:
    """The hyperopt loss shim in ``<userdir>/hyperopts/``."""
    return _file_step(userdir / "hyperopts" / SHIM, template(SHIM + ".tmpl"),
                      "the hyperopt loss (--hyperopt-loss FeedbackHyperOptLoss)")


def defaults_section() -> dict[str, Any]:
    """The ``"feedback"`` section with every key at its default, nested blocks spelled out.

    >>> section = defaults_section()
    >>> section["threshold"], section["guard"]["enabled"]
    (0.5, True)
    """
    def spelled(schema: Mapping[str, Any]) -> dict[str, Any]:
        return {name: spelled(prop) if "properties" in prop else prop["default"]
                for name, prop in schema["properties"].items()}

    return spelled(SCHEMA)


def config_step(path: Path, config: Mapping[str, Any], given: bool) -> Step:
    """Add the section with the defaults to the config's text, or say why not."""
    if not config and not path.is_file():
        hint = "" if given else "; pass --config FILE to add the feedback section"
        return Step(path, "skipped", f"no config here{hint}")
    if SECTION in config:
        load_settings(config[SECTION])  # an invalid section stops init, naming the key
        return Step(path, "unchanged", f'has a "{SECTION}" section: left alone')
    text = path.read_text(encoding="utf-8")
    section, backup = defaults_section(), backup_path(path)
    return Step(path, "add", f'the "{SECTION}" section with the defaults (the original is '
                             f"kept as {backup.name})",
                with_member(text, SECTION, section, expected={**config, SECTION: section}),
                backup)


def with_member(text: str, key: str, value: Any, *, expected: Mapping[str, Any]) -> str:
    """``text`` (a JSON object, as Freqtrade reads it) with ``"key": value`` added as its last
    member, everything else byte for byte as it was; ``expected`` is what the result must
    parse to, keys in order, or nothing is written.

    >>> with_member('{\\n  "a": 1 // one\\n}\\n', "b", [2], expected={"a": 1, "b": [2]})
    '{\\n  "a": 1, // one\\n  "b": [\\n    2\\n  ]\\n}\\n'
    """
    end, brace = _last_member_end(text)
    newline = "\r\n" if "\r\n" in text else "\n"
    indent = _indent(text)
    member = indent + f"{json.dumps(key)}: " + json.dumps(
        value, indent=indent, ensure_ascii=False).replace("\n", newline + indent)
    comma = "" if text[end - 1] in "{," else ","
    result = (text[:end] + comma + text[end:brace].rstrip() + newline + member + newline
              + text[brace:])
    parsed = parse(result)
    if parsed != expected or list(parsed) != list(expected):
        raise ConfigError(f"Could not add the {key!r} section to the config's text safely; "
                          f"add it by hand:\n{json.dumps({key: value}, indent=4)}")
    return result


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|//[^\n]*|/\*.*?\*/|\s+|.', re.DOTALL)


def _last_member_end(text: str) -> tuple[int, int]:
    """Where the top-level object's last token before its closing brace ends, and where that
    brace is; strings and comments are skipped, so braces inside them do not count."""
    depth, end = 0, 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token.isspace() or token.startswith(("//", "/*")):
            continue
        if token == "}" and depth == 1:
            return end, match.start()
        depth += {"{": 1, "[": 1, "}": -1, "]": -1}.get(token, 0)
        end = match.end()
    raise ConfigError("The config's top-level JSON object has no closing brace.")


def _indent(text: str) -> str:
    """The indentation of the config's first indented key (four spaces if none is)."""
    found = re.search(r'^([ \t]+)"', text, re.MULTILINE)
    return found.group(1) if found else "    "


def strategy_step(name: str, userdir: Path, config: Mapping[str, Any]) -> Step:
    """``class NAMEFeedback(FeedbackMixin, NAME)`` beside ``NAME``'s file."""
    if not name.isidentifier():
        raise ConfigError(f"--strategy must be a strategy's class name. Got {name!r} instead.")
    paths = search_paths(userdir, config)
    source = find_strategy(name, paths)
    module = source.stem
    if not module.isidentifier():
        raise ConfigError(f"{name}'s file {str(source)!r} is not importable by name "
                          "(its name is not a Python identifier): rename it to import it.")
    _check_strategy(name, source)
    target = source.with_name(f"{name}{SUFFIX}.py")
    elsewhere = [p for p in defining(f"{name}{SUFFIX}", paths) if p.resolve() != target.resolve()]
    if elsewhere:
        return Step(target, "refused", f"{name}{SUFFIX} is already defined in "
                                       f"{elsewhere[0]}: Freqtrade could load that one")
    text = template("gated_strategy.py.tmpl").format(name=name, module=module)
    return _file_step(target, text, f"{name} gated (--strategy {name}{SUFFIX})")


def search_paths(userdir: Path, config: Mapping[str, Any]) -> list[Path]:
    """The folders Freqtrade searches for a strategy, in its order: the config's
    ``strategy_path``, then ``<userdir>/strategies`` (and its sub-folders with
    ``recursive_strategy_search``)."""
    from freqtrade.constants import USERPATH_STRATEGIES
    from freqtrade.resolvers import StrategyResolver

    extra = ([root for root, _, _ in os.walk(userdir / USERPATH_STRATEGIES)]
             if config.get("recursive_strategy_search") else [])
    settings = {"user_data_dir": userdir, "strategy_path": config.get("strategy_path")}
    return StrategyResolver.build_search_paths(settings, user_subdir=USERPATH_STRATEGIES,
                                               extra_dirs=extra)


def defining(name: str, paths: list[Path]) -> list[Path]:
    """The files that define class ``name``, in the order Freqtrade tries them (it reads a
    folder's ``.py`` files in sorted order and skips those without ``class <name>(``)."""
    return [entry for folder in paths if folder.is_dir()
            for entry in sorted(folder.iterdir())
            if entry.suffix == ".py" and entry.is_file()
            and f"class {name}(" in entry.read_text(encoding="utf-8", errors="replace")]


def find_strategy(name: str, paths: list[Path]) -> Path:
    """The file Freqtrade would load strategy ``name`` from."""
    found = defining(name, paths)
    if not found:
        looked = ", ".join(str(p) for p in paths)
        raise ConfigError(f"Strategy {name!r} not found: no file defines class {name} in "
                          f"{looked}. Check --strategy, --userdir and the config's "
                          "strategy_path.")
    return found[0]


def _check_strategy(name: str, source: Path) -> None:
    """Import the strategy as Freqtrade does (its folder on the path): it must be a Freqtrade
    strategy, and not gated already (the mixin twice would learn every trade twice)."""
    from freqtrade.strategy import IStrategy

    from freqtrade_feedback.strategy import FeedbackMixin

    spec = importlib.util.spec_from_file_location(source.stem, source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(source.parent))
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise ConfigError(f"Could not import {name} from {str(source)!r}: {error}") from error
    finally:
        sys.path.remove(str(source.parent))
    cls = getattr(module, name, None)
    if not (isinstance(cls, type) and issubclass(cls, IStrategy)):
        raise ConfigError(f"{name} in {str(source)!r} is not a Freqtrade strategy (IStrategy).")
    if issubclass(cls, FeedbackMixin):
        raise ConfigError(f"{name} is gated already (it derives from FeedbackMixin): use it "
                          "as it is.")


def _apply(step: Step) -> None:
    if step.action == "write":
        assert step.text is not None
        step.path.parent.mkdir(parents=True, exist_ok=True)
        with step.path.open("x", encoding="utf-8", newline="") as file:  # never overwrites
            file.write(step.text)
    elif step.action == "add":
        assert step.text is not None and step.backup is not None
        _replace_keeping_backup(step.path, step.text, step.backup)


def backup_path(path: Path) -> Path:
    """``<config>.bak``, or the first ``<config>.bak.<n>`` that does not exist yet."""
    candidate, n = path.with_name(path.name + ".bak"), 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.bak.{n}")
    return candidate


def _replace_keeping_backup(path: Path, text: str, backup: Path) -> None:
    """Copy the original beside it, then swap the new text in at once (never half a file)."""
    path = path.resolve()  # a symlinked config: the file it points to gets the section
    shutil.copy2(path, backup)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        shutil.copymode(path, temporary)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


_DONE = {"write": "wrote", "add": "added"}
"""How a step is reported once done."""


def _print(steps: list[Step]) -> None:
    for step in steps:
        print(f"{_DONE.get(step.action, step.action):<10} {step.path}: {step.detail}")

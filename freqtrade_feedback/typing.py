"""Type aliases shared by the core: one place, so every module spells a concept the same way."""

from __future__ import annotations

from typing import Literal, TypeAlias

Features: TypeAlias = dict[str, float]
"""One signal's feature vector, as river wants it: plain names to plain floats."""

ModelInput: TypeAlias = dict[str, float | str]
"""What a learner reads: the features, and categorical inputs (the pair) as strings."""

Side: TypeAlias = Literal["long", "short"]
Scope: TypeAlias = Literal["pair", "global"]
Fallback: TypeAlias = Literal["take", "skip"]
Rule: TypeAlias = Literal["expected_profit", "probability"]
Labels: TypeAlias = Literal["all", "realized"]

__all__ = ["Fallback", "Features", "Labels", "ModelInput", "Rule", "Scope", "Side"]

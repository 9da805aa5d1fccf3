"""Configuration of the feedback loop: the schema at the edge, frozen settings inside."""

from __future__ import annotations

from freqtrade_feedback.config.load import load_settings
from freqtrade_feedback.config.schema import SCHEMA
from freqtrade_feedback.config.settings import FeedbackSettings

__all__ = ["SCHEMA", "FeedbackSettings", "load_settings"]

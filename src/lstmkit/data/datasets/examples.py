"""Labelled text examples, the common currency of the classification readers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TextExample:
    text: str
    label: str

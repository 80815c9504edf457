"""Shared fixtures: small text files written by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY_TEXT = ("the quick brown fox jumps over the lazy dog. " * 40).strip()


@pytest.fixture()
def tiny_text_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.txt"
    path.write_text(TINY_TEXT, encoding="utf-8")
    return path

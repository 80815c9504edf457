"""Errors a user can cause. The CLI prints them as one line, without a traceback."""

from __future__ import annotations

from collections.abc import Iterable


class LstmkitError(ValueError):
    """Base class: something about the user's input, with what to do about it."""


class ConfigError(LstmkitError):
    """A config value or override is wrong."""


class DataError(LstmkitError):
    """A data file is missing, empty, undecodable or malformed."""


class RunDirError(LstmkitError):
    """A path that should be a run directory is not one."""


def listing(values: Iterable[object], limit: int = 5, width: int = 40) -> str:
    """Values for a message, bounded: the first ``limit`` (each cut to ``width`` characters) and
    how many more, so that a file with thousands of labels or columns still gives one short line.

    Example:
        >>> listing(["neg", "pos"])
        "'neg', 'pos'"
        >>> listing([f"c{i}" for i in range(1000)], limit=3)
        "'c0', 'c1', 'c2' and 997 more"
    """
    items = list(values)
    shown = [repr(v if not isinstance(v, str) or len(v) <= width else v[:width] + "...") for v in items[:limit]]
    more = len(items) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "") if items else "none"

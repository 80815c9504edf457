"""Errors a user can cause. The CLI prints them as one line, without a traceback."""

from __future__ import annotations


class LstmkitError(ValueError):
    """Base class: something about the user's input, with what to do about it."""


class ConfigError(LstmkitError):
    """A config value or override is wrong."""


class DataError(LstmkitError):
    """A data file is missing, empty, undecodable or malformed."""


class RunDirError(LstmkitError):
    """A path that should be a run directory is not one."""

"""Where datasets live on disk, and downloading them with a checksum (pooch)."""

from __future__ import annotations

import os
from pathlib import Path

from lstmkit.errors import DataError


def cache_dir() -> Path:
    """Where downloads go: ``$LSTMKIT_CACHE`` or ``~/.cache/lstmkit``."""
    return Path(os.environ.get("LSTMKIT_CACHE", Path.home() / ".cache" / "lstmkit"))


def candidates(folder: str) -> list[Path]:
    """Where a named dataset is looked for, in order: ``$LSTMKIT_DATA/<folder>``,
    ``../shared/data/<folder>`` (the project's data checkout) and the download cache."""
    found = [Path(os.environ["LSTMKIT_DATA"]) / folder] if os.environ.get("LSTMKIT_DATA") else []
    return [*found, Path("../shared/data") / folder, cache_dir() / folder]


def fetch(url: str, known_hash: str, folder: str, fname: str, what: str) -> Path:
    """Download ``url`` once into the cache, verifying ``known_hash`` (``md5:``/``sha1:``/``sha256:``).

    Raises:
        DataError: when offline or when the checksum does not match.
    """
    import pooch

    try:
        return Path(pooch.retrieve(url, known_hash=known_hash, path=cache_dir() / folder, fname=fname,
                                   progressbar=False))
    except ValueError as err:  # pooch raises ValueError on a hash mismatch
        raise DataError(f"the downloaded {what} failed its checksum: {err}") from None
    except Exception as err:  # network errors come from requests, urllib3 or OS
        raise DataError(f"cannot download {what} from {url} ({type(err).__name__}: {err}); "
                        "download it by hand and pass --data PATH") from None

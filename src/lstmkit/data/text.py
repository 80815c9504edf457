"""Reading text corpora, and the samples shipped inside the package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from lstmkit.errors import DataError

SAMPLES = {"timemachine": "timemachine.txt"}  # The Time Machine, H. G. Wells (public domain)


def sample_path(name: str = "timemachine") -> Path:
    """Path of a text sample shipped with lstmkit.

    Raises:
        DataError: for an unknown sample name.
    """
    if name not in SAMPLES:
        raise DataError(f"unknown sample {name!r}; choose one of: {', '.join(SAMPLES)}")
    return Path(str(resources.files("lstmkit.data") / "samples" / SAMPLES[name]))


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """Read a whole text file, with errors a user can act on.

    Raises:
        DataError: if the file is missing, is a directory, is empty (or only whitespace), or
            does not decode with ``encoding``.

    Example:
        >>> read_text(sample_path())[:23]
        'The Time Machine, by H.'
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"text file {str(path)!r} not found; pass the path of a UTF-8 text file")
    if not path.is_file():
        raise DataError(f"{str(path)!r} is a directory, not a text file")
    text = decode(path.read_bytes(), str(path), encoding)
    if not text.strip():
        raise DataError(f"text file {str(path)!r} is empty; give it some text to learn from")
    return text


def _codec_key(encoding: str) -> str:
    return encoding.replace("-", "").replace("_", "").lower()


def is_utf8(encoding: str) -> bool:
    return _codec_key(encoding) in ("utf8", "utf8sig")


def decode(raw: bytes, name: str, encoding: str = "utf-8",
           fix: str = "convert it to UTF-8 or pass its encoding, e.g. --encoding gbk") -> str:
    """Bytes to text, naming the file and the first bad byte when they do not decode; a
    leading byte-order mark is dropped.

    Raises:
        DataError: for undecodable bytes or an unknown encoding.
    """
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as err:
        raise DataError(
            f"{name!r} is not valid {encoding} (byte {err.start}: {raw[err.start:err.start + 1]!r}); {fix}"
        ) from None
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r}; use a Python codec name such as utf-8") from None
    return text[1:] if text.startswith("\ufeff") else text    # a byte-order mark is not text


def check_inherited_encoding(path: str | Path, encoding: str) -> None:
    """Refuse to read ``path`` with a non-UTF-8 ``encoding`` that was not asked for (taken
    over from a training run) when the file is UTF-8 with non-ASCII text: the other codec would
    turn it into mojibake without an error.

    Raises:
        DataError: naming the file, both encodings and the flag that chooses one.
    """
    if is_utf8(encoding) or _codec_key(encoding) == "ascii":
        return
    path = Path(path)
    if not path.is_file():
        return
    raw = path.read_bytes()
    if path.suffix == ".gz":
        import gzip

        try:
            raw = gzip.decompress(raw)
        except OSError:
            return
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return                                        # not UTF-8: the run's encoding may be right
    if raw.isascii():
        return
    raise DataError(f"{str(path)!r} decodes as UTF-8, but the run was trained on {encoding} text and would read it "
                    f"as {encoding}, garbling its non-ASCII characters; pass --encoding utf-8 (or --encoding "
                    f"{encoding} if that is right)")

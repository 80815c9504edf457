"""Reading text corpora, and the samples shipped inside the package."""

from __future__ import annotations

import logging
import os
import stat
import unicodedata
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import IO

from lstmkit.errors import DataError

logger = logging.getLogger(__name__)

SAMPLES = {"timemachine": "timemachine.txt"}  # The Time Machine, H. G. Wells (public domain)


def sample_path(name: str = "timemachine") -> Path:
    """Path of a text sample shipped with lstmkit.

    Raises:
        DataError: for an unknown sample name.
    """
    if name not in SAMPLES:
        raise DataError(f"unknown sample {name!r}; choose one of: {', '.join(SAMPLES)}")
    return Path(str(resources.files("lstmkit.data") / "samples" / SAMPLES[name]))


_SPECIAL = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
            (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def check_path(path: str | Path, what: str = "data file", folder: bool = False, fix: str = "") -> Path:
    """The one check every data path goes through before it is opened: it must exist and be a
    regular file (or, with ``folder``, a folder, where a folder is a form of the dataset).

    Only ``os.stat`` is called, so a FIFO, a terminal or ``/dev/zero`` is refused without being
    opened (reading one would block forever or never end).

    Args:
        what: what the path should be, for the message ("vectors file", "IDX file", ...).
        folder: whether a directory is accepted.
        fix: a hint appended to the "not found" message.

    Raises:
        DataError: naming the path and what it is (a directory, a FIFO (named pipe), a
            character device, ...) or that it is missing or unreadable.

    Example:
        >>> check_path("/dev/null")
        Traceback (most recent call last):
        lstmkit.errors.DataError: data file '/dev/null' is a character device; lstmkit reads data from regular files
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode                  # follows symbolic links, opens nothing
    except (FileNotFoundError, NotADirectoryError):
        if str(path) == "-":                          # the Unix "standard input"
            raise DataError(f"{what} '-' would be a file named '-', not the standard input: lstmkit reads data from "
                            "files; save the input to a file and pass its path") from None
        raise DataError(f"{what} {str(path)!r} not found" + (f"; {fix}" if fix else "")) from None
    except OSError as err:                            # permission denied on a folder, a loop of links, ...
        raise DataError(f"cannot look at {what} {str(path)!r}: {err.strerror or err}; check the path and its "
                        "permissions") from None
    if stat.S_ISREG(mode) or (folder and stat.S_ISDIR(mode)):
        return path
    kind = next((name for test, name in _SPECIAL if test(mode)), "not a regular file")
    expected = "regular files (or a dataset's folder)" if folder else "regular files"
    raise DataError(f"{what} {str(path)!r} is {kind}; lstmkit reads data from {expected}" +
                    ("; pass the file inside it" if kind == "a directory" else ""))


def read_text(path: str | Path, encoding: str = "utf-8", purpose: str = "some text to learn from") -> str:
    """Read a whole text file, with errors a user can act on.

    ``purpose`` ends the message for an empty file ("give it <purpose>").

    Raises:
        DataError: if the file is missing, is not a regular file (a directory, a FIFO, a
            device), is empty (or only whitespace), or does not decode with ``encoding``.
            A gzipped file is decompressed (up to the memory available).

    Example:
        >>> read_text(sample_path())[:23]
        'The Time Machine, by H.'
    """
    path = check_path(path, "text file", fix="pass the path of a UTF-8 text file")
    text = decode(read_bytes(path), str(path), encoding)
    if not text.strip():
        raise DataError(f"text file {str(path)!r} is empty; give it {purpose}")
    return text


GZIP, ZIP = b"\x1f\x8b", b"PK\x03\x04"


def is_gzip(path: str | Path) -> bool:
    """Whether a file is gzip-compressed, by its first bytes (whatever its name says)."""
    with open(path, "rb") as f:
        return f.read(2) == GZIP
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
         (b"\xfe\xff", "utf-16"))


def read_bytes(path: Path) -> bytes:
    """A file's bytes, gunzipped when it is gzip (by its first bytes, whatever its name), read
    in pieces so that a decompression bomb stops at the memory available, not past it."""
    import gzip

    from lstmkit import resources

    with open(path, "rb") as f:
        if f.read(2) != GZIP:
            f.seek(0)
            return f.read()
    cap = (resources.available_bytes() or 2**34) // 4       # the text as str takes up to 4 bytes a character
    pieces, size = [], 0
    try:
        with gzip.open(path, "rb") as f:
            while piece := f.read(2**24):
                size += len(piece)
                if size > cap:
                    raise DataError(f"{str(path)!r} decompresses to more than {cap / 2**30:.1f} GiB, more text "
                                    "than fits in the memory available; give a smaller text")
                pieces.append(piece)
    except (OSError, EOFError) as err:
        raise DataError(f"{str(path)!r} is a damaged gzip file: {err}") from None
    return b"".join(pieces)


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
    if _codec_key(encoding).startswith(("utf16", "utf32")) and raw and b"\0" not in raw and raw.isascii():
        raise DataError(f"{name!r} is read as {encoding}, but it has no zero bytes: it is ASCII or UTF-8 text, which "
                        f"{encoding} turns into other characters; pass --encoding utf-8 (the default)")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as err:
        raise DataError(
            f"{name!r} is not valid {encoding} (byte {err.start}: {raw[err.start:err.start + 1]!r}); "
            f"{_kind_hint(raw) or fix}"
        ) from None
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r}; use a Python codec name such as utf-8") from None
    check_decoded(text, name, encoding)
    if "\0" in text:
        _check_nul(raw, text, name)
    return text[1:] if text.startswith("\ufeff") else text    # a byte-order mark is not text


def _kind_hint(raw: bytes) -> str:
    """What a file that did not decode is, when its first bytes say so."""
    if raw.startswith(GZIP):
        return "it is gzip-compressed: decompress it first (gunzip)"
    if raw.startswith(ZIP):
        return "it is a zip archive: unpack it and pass the text file inside"
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            return f"it starts with a {codec.upper()} byte-order mark: pass --encoding {codec}"
    return ""


def _check_nul(raw: bytes, text: str, name: str) -> None:
    """NUL characters are never text: UTF-16 without a byte-order mark (every other byte 0) is
    refused with the encoding to pass; a few stray NULs are kept, with a warning."""
    count = text.count("\0")
    if count * 4 >= len(raw) and raw[1::2].count(0) * 10 >= len(raw[1::2]) * 9:
        raise DataError(f"{name!r} looks like UTF-16 text (every other byte is 0); pass --encoding utf-16-le "
                        "(or convert the file to UTF-8)")
    logger.warning("%s holds %d NUL character(s), the first at character %d; they are read as text: the file "
                   "may be binary or damaged", name, count, text.index("\0"))


def check_decoded(text: str, name: str, encoding: str) -> None:
    """Refuse text that a non-UTF-8 ``encoding`` decoded from UTF-8 bytes: the bytes are valid
    UTF-8 with non-ASCII characters, so the other codec turned them into mojibake ('café' ->
    'cafÃ©') without an error. Real cp1252, latin-1 or GBK text is practically never valid UTF-8.

    Raises:
        DataError: naming the file, the codec, a garbled word and the fix.

    Example:
        >>> check_decoded("caf\u00c3\u00a9", "a.txt", "latin-1")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        lstmkit.errors.DataError: 'a.txt' is UTF-8 text, but it is read as latin-1, ... ('cafÃ©' for 'café'); ...
    """
    if is_utf8(encoding) or text.isascii():
        return
    try:
        raw = text.encode(encoding)                   # the file's bytes again: decoding is undone exactly
        raw.decode("utf-8")
    except (UnicodeError, LookupError):
        return                                        # not UTF-8: the codec may well be right
    word = next((w for w in text.split() if not w.isascii()), text)[:40]
    meant = word.encode(encoding).decode("utf-8", errors="replace")
    raise DataError(f"{name!r} is UTF-8 text, but it is read as {encoding}, which garbles its non-ASCII characters "
                    f"({word!r} for {meant!r}); pass --encoding utf-8 (--set data.encoding=utf-8), or convert the file")


def normal_label(label: str) -> str:
    """A label as one class: surrounding whitespace and invisible format characters (a zero-width
    space, a direction mark) dropped, Unicode in NFC form, so that "pos", "pos ", "pos\u00a0" and
    "pos\u200b" (or an "é" written as e + combining accent) are the same class.

    Example:
        >>> normal_label(" pos\u00a0"), normal_label("caf" + "e\u0301") == "caf\u00e9"
        ('pos', True)
    """
    label = unicodedata.normalize("NFC", label)
    if not label.isascii():                           # invisible format characters: zero-width spaces, marks
        label = "".join(c for c in label if unicodedata.category(c) != "Cf")
    return label.strip()


def bounded_lines(handle: IO[str], name: str, max_chars: int, fix: str) -> Iterator[tuple[int, str]]:
    """Numbered lines of a text stream, never holding more than ``max_chars`` of one line: a file
    with a single huge line (a damaged or wrong file) is refused instead of filling the memory.

    Raises:
        DataError: ``name:line`` for a line longer than ``max_chars``, with ``fix``.
    """
    number = 0
    while True:
        line = handle.readline(max_chars + 1)
        if not line:
            return
        number += 1
        if len(line) > max_chars and not line.endswith("\n"):
            raise DataError(f"{name}:{number}: a line longer than {max_chars:,} characters; {fix}")
        yield number, line


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
    try:
        raw = read_bytes(path)                       # gunzipped, bounded
    except DataError:
        return                                        # the reader says what is wrong with it
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return                                        # not UTF-8: the run's encoding may be right
    if raw.isascii():
        return
    raise DataError(f"{str(path)!r} decodes as UTF-8, but the run was trained on {encoding} text and would read it "
                    f"as {encoding}, garbling its non-ASCII characters; pass --encoding utf-8 (or --encoding "
                    f"{encoding} if that is right)")

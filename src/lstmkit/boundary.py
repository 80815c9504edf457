"""One checked boundary for values from outside: the Python API, the server and the CLI.

Every public entry point passes its arguments through these functions before they reach the
library, so a wrong type, shape, length, a non-finite or out-of-range number or an undecoded
``bytes`` value ends in one :class:`ArgumentError` naming the argument, the value and the fix,
never in a ``TypeError`` from deep inside, and never in silently wrong data (``None`` read as the
text ``"None"``, a dict read as its keys, a word list read as (word, tag) pairs).

    >>> texts("texts", "a moving film")
    ['a moving film']
    >>> integer("top_k", 2.5, low=0)
    Traceback (most recent call last):
    ...
    lstmkit.boundary.ArgumentError: top_k must be an integer, got float 2.5; pass a whole number such as 2
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lstmkit.errors import LstmkitError

MAX_PATH_CHARS = 4096
MAX_NAME_BYTES = 255
FLOAT32_MAX = 3.4028234663852886e38
MAX_SEED = 2**63 - 1
PATH_TYPES = (str, os.PathLike, bytes, bytearray)    # what names a file (bytes: refused by path(), said so)
MISSING_LABELS = frozenset({"nan", "na", "n/a", "null", "none", "#n/a"})     # casefolded, stripped


class ArgumentError(LstmkitError, TypeError):
    """A value given to lstmkit from outside has the wrong type, shape or range."""


def shown(value: Any, limit: int = 60, *, typed: bool = True) -> str:
    """``value`` for a message: its type (unless ``typed`` is False) and a short, printable form.

    Lone surrogates are escaped, a long text is cut to about ``limit`` characters and says its
    length, and an integer too long to print (Python refuses over 4,300 digits) says its digits.

    An array or tensor is shown by its shape and dtype, never by its many-line repr.

    Example:
        >>> shown(2.5), shown("x" * 100, 10, typed=False)
        ('float 2.5', "'xxxxx... (100 characters)")
        >>> import numpy
        >>> shown(numpy.zeros((3, 4)))
        'ndarray of shape (3, 4) and dtype float64'
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**limit:
        digits = len(str(abs(value))) if abs(value) < 10**4000 else "over 4000"
        text = f"an integer of {digits} digits"
        return f"int ({text})" if typed else text
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if (isinstance(shape, tuple) or type(shape).__name__ == "Size") and len(shape) > 0:   # numpy, torch arrays
        text = f"of shape {tuple(shape)} and dtype {dtype}"
        return f"{type(value).__name__} {text}" if typed else f"an array {text}"
    text = repr(value).encode("utf-8", "backslashreplace").decode("utf-8")
    if "\n" in text:                                     # a many-line repr (a DataFrame, a dict subclass): one line
        text = " ".join(text.split())
    if len(text) > limit:
        size = f" ({len(value):,} characters)" if isinstance(value, str) else ""
        text = text[: limit - 4] + "..." + size
    return f"{type(value).__name__} {text}" if typed else text


_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(value: Any, keep: str = "") -> str:
    """``value`` as text that is safe to write to a terminal or one line of a record.

    Control characters (C0, DEL, C1), line and paragraph separators and bidirectional
    overrides are written as escapes, so a text that holds ESC cannot recolour or clear the
    screen and a newline or carriage return cannot forge a line of output; the characters in
    ``keep`` (such as ``"\\n"`` for generated text) are left as they are. Lone surrogates are
    escaped too.

    Example:
        >>> printable("ok\\x1b[2J\\nlabel\\tpos")
        'ok\\\\x1b[2J\\\\nlabel\\\\tpos'
        >>> printable("line one\\nline two", keep="\\n")
        'line one\\nline two'
    """
    text = str(value)
    out = []
    for ch in text:
        code = ord(ch)
        if ch in keep:
            out.append(ch)
        elif code < 0x20 or 0x7F <= code < 0xA0 or 0xD800 <= code < 0xE000 or ch in "\u2028\u2029" or ch in _BIDI:
            out.append(repr(ch)[1:-1])                        # '\\x1b', '\\n', '\\u202e', '\\ud800'
        else:
            out.append(ch)
    return "".join(out)


class JSONError(ValueError):
    """JSON that :func:`parse_json` refuses (a ``ValueError``, as ``json.loads`` raises)."""


class DuplicateKeyError(JSONError):
    """A key given twice in one JSON object (see :func:`duplicate_key`)."""


def parse_json(text: str | bytes) -> Any:
    """``json.loads`` for everything lstmkit reads as JSON (run files, data lines, requests'
    records), where nesting too deep for Python (a ``RecursionError`` from inside ``json``) and
    a key given twice in one object (which ``json`` resolves silently: the last one wins, so
    ``{"text": real, "text": junk}`` trained on junk) are ``ValueError``s like any bad JSON.

        >>> parse_json('{"a": 1, "a": 2}')
        Traceback (most recent call last):
        lstmkit.boundary.DuplicateKeyError: the key 'a' appears twice in one object
    """
    import json

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise DuplicateKeyError(f"the key {key!r} appears twice in one object")
            out[key] = value
        return out

    try:
        return json.loads(text, object_pairs_hook=unique)
    except RecursionError:
        raise JSONError("it is nested too deeply (thousands of levels) to be read") from None


def duplicate_key(text: str | bytes) -> str | None:
    """What :func:`parse_json` would refuse as a key given twice, for text that ``json.loads``
    reads (the server's requests, which its framework parses last-wins); None when no key repeats
    or the text is not JSON at all (that is the parser's to say)."""
    try:
        parse_json(text)
    except DuplicateKeyError as err:
        return str(err)
    except (ValueError, TypeError):
        return None
    return None


def ragged(name: str, value: Any, depth: int = 4) -> str | None:
    """Where nested lists (rows of an array) are not all the same length, in the caller's
    words, or None: ``images[0][27] has 29 items, images[0][0] has 28``.

        >>> ragged("x", [[1, 2], [3]])
        'x[1] has 1 item, x[0] has 2'
    """
    if depth == 0 or not isinstance(value, (list, tuple)) or not value:
        return None
    rows = [v for v in value if isinstance(v, (list, tuple))]
    if rows and len(rows) != len(value):
        kinds = next(i for i, v in enumerate(value) if not isinstance(v, (list, tuple)))
        return f"{name}[{kinds}] is {shown(value[kinds], 30)}, where {name}[0] is a list: every row must be a list"
    if not rows:
        return None
    first = len(value[0])
    for i, row in enumerate(value):
        if len(row) != first:
            return f"{name}[{i}] has {len(row)} item{'s' if len(row) != 1 else ''}, {name}[0] has {first}"
    for i, row in enumerate(value):
        inner = ragged(f"{name}[{i}]", row, depth - 1)
        if inner:
            return inner
    return None


def switch(name: str, value: Any) -> bool:
    """A True/False option: ``"no"``, ``"false"``, 0 or None are refused, not read as their truth
    (``overwrite="no"`` is a non-empty string, so it was true: the run was replaced)."""
    if not isinstance(value, bool):
        raise ArgumentError(f"{name} must be True or False, got {shown(value)}")
    return value


def _number_type(value: Any) -> bool:
    import numbers

    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def integer(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """An int (a whole float such as 5.0 is refused too: it is usually a mistake)."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, str):
            fix = f"pass {value.strip()} without quotes" if value.strip().lstrip("-").isdigit() else "pass a number"
        elif isinstance(value, float) and math.isfinite(value):
            fix = f"pass a whole number such as {int(value)}"
        else:
            fix = "pass a whole number"
        raise ArgumentError(f"{name} must be an integer, got {shown(value)}; {fix}")
    value = int(value)
    _in_range(name, value, low, high)
    return value


def real(name: str, value: Any, *, low: float | None = None, high: float | None = None,
         low_open: bool = False) -> float:
    """A finite number (int or float), optionally within [low, high] ((low, high] with low_open)."""
    if not _number_type(value):
        fix = f"pass {value.strip()} without quotes" if isinstance(value, str) and _parses(value) else "pass a number"
        raise ArgumentError(f"{name} must be a number, got {shown(value)}; {fix}")
    value = as_float(name, value)
    if not math.isfinite(value):
        raise ArgumentError(f"{name} must be a finite number, got {value}")
    if low_open and low is not None and value <= low:
        raise ArgumentError(f"{name} must be > {low:g}, got {value:g}")
    _in_range(name, value, None if low_open else low, high)
    return value


def as_float(name: str, value: Any) -> float:
    """``float(value)`` for a real number; an int beyond float range (``10**400``) is refused."""
    try:
        return float(value)
    except OverflowError:
        raise ArgumentError(f"{name} is {shown(value)}, beyond the range of a float (about 1.8e308)") from None


def _parses(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _in_range(name: str, value: float, low: float | None, high: float | None) -> None:
    if low is not None and value < low:
        raise ArgumentError(f"{name} must be >= {low:,}, got {value:,}")
    if high is not None and value > high:
        raise ArgumentError(f"{name} must be <= {high:,}, got {value:,}")


def seed(name: str, value: Any) -> int | None:
    """None or an integer seed in [0, 2**63 - 1]."""
    return None if value is None else integer(name, value, low=0, high=MAX_SEED)


def text(name: str, value: Any, *, max_chars: int | None = None) -> str:
    """A ``str`` (``bytes`` must be decoded first; lone surrogates are refused)."""
    if isinstance(value, (bytes, bytearray)):
        raise ArgumentError(f"{name} must be text (str), got bytes; decode it first, e.g. value.decode('utf-8')")
    if not isinstance(value, str):
        raise ArgumentError(f"{name} must be text (str), got {shown(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ArgumentError(f"{name} holds a lone surrogate {value[err.start:err.end]!r} at character {err.start}, "
                            "which is not text; decode the original bytes with their real encoding") from None
    if max_chars is not None and len(value) > max_chars:
        raise ArgumentError(f"{name} has {len(value):,} characters; the limit is {max_chars:,}")
    return value


def texts(name: str, value: Any, *, max_items: int | None = None) -> list[str]:
    """One text or an iterable of texts, as a list. A dict, bytes, None, numbers and nested
    lists are refused (they would become texts such as ``"None"`` or ``"['a', 'film']"``)."""
    if isinstance(value, str):
        return [text(name, value)]
    if value is None or isinstance(value, (bytes, bytearray)) or isinstance(value, Mapping) or \
            not isinstance(value, Iterable):
        what = "a dict (its keys would be read as texts)" if isinstance(value, Mapping) else shown(value)
        extra = "; decode it first" if isinstance(value, (bytes, bytearray)) else ""
        raise ArgumentError(f"{name} must be a text or a list of texts, got {what}{extra}")
    items = list(value)
    if max_items is not None and len(items) > max_items:
        raise ArgumentError(f"{name} holds {len(items):,} texts; give at most {max_items:,} per call")
    return [text(f"{name}[{i}]", item) for i, item in enumerate(items)]


def path(name: str, value: Any) -> Path:
    """A file-system path (str or os.PathLike): not None, not bytes, not empty, no NUL, not
    longer than the system takes."""
    if isinstance(value, (bytes, bytearray)):
        raise ArgumentError(f"{name} must be a path (str or pathlib.Path), got bytes; decode it first")
    if not isinstance(value, (str, os.PathLike)):
        raise ArgumentError(f"{name} must be a path (str or pathlib.Path), got {shown(value)}")
    raw = os.fspath(value)
    if not isinstance(raw, str):
        raise ArgumentError(f"{name} must be a path (str or pathlib.Path), got {shown(value)}")
    if not raw.strip():
        raise ArgumentError(f"{name} is empty; give a path")
    if "\0" in raw:
        raise ArgumentError(f"{name} {shown(raw)} holds a NUL character, which no path can hold")
    try:
        raw.encode("utf-8", "surrogateescape")                # names the file system gave keep their bytes
    except UnicodeEncodeError:
        raise ArgumentError(f"{name} {shown(raw)} holds a lone surrogate, which no file name holds; decode the "
                            "name with its real encoding") from None
    if len(raw) > MAX_PATH_CHARS or any(len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES
                                        for part in Path(raw).parts):
        raise ArgumentError(f"{name} is not a usable path ({len(raw):,} characters, or a part longer than "
                            f"{MAX_NAME_BYTES} bytes): {shown(raw)}; if it is text rather than a file name, pass "
                            "it as data in memory")
    return Path(raw)


def label(name: str, value: Any, *, error: type[LstmkitError] = ArgumentError) -> str:
    """A class label: a text, a number or a boolean, written one way (``1`` and ``1.0`` are one
    class, ``True`` is ``"true"``); never None, a list or a dict. The one label rule of the
    Python API, the server and the readers of JSON data (which pass ``error=DataError``).

        >>> label("label", 1.0), label("label", True), label("label", "pos")
        ('1', 'true', 'pos')
    """
    if value is None:
        raise error(f"{name} is missing (None); every row needs a label")
    if isinstance(value, bool):
        return str(value).lower()
    if _number_type(value):
        try:
            number = as_float(name, value)
        except ArgumentError as err:
            raise error(str(err)) from None
        if not math.isfinite(number):
            raise error(f"{name} must be a text or a number, got {value}")
        return str(int(number)) if number == int(number) else repr(number)
    if not isinstance(value, str):
        raise error(f"{name} must be one text or number, got {shown(value)}; a row has one class")
    if value.strip().casefold() in MISSING_LABELS:
        raise error(f"{name} is {value!r}, which is how pandas, R and spreadsheets write a missing value, so the "
                    "row has no label; drop the row or give it its class (rename a class really called so)")
    try:
        return text(name, value)
    except ArgumentError as err:
        raise error(str(err)) from None


def labelled_rows(name: str, rows: Any) -> list[tuple[str, str]]:
    """(text, label) pairs or ``{"text": ..., "label": ...}`` rows, checked row by row."""
    if isinstance(rows, (str, bytes, bytearray)) or isinstance(rows, Mapping) or not isinstance(rows, Iterable):
        raise ArgumentError(f"{name} must be rows of (text, label) or {{'text': ..., 'label': ...}}, a dataset name "
                            f"or a path, got {shown(rows)}")
    out: list[tuple[str, str]] = []
    raw: list[object] = []
    for number, row in enumerate(rows, 1):
        where = f"{name} row {number}"
        if isinstance(row, Mapping):
            keys = set(row)
            if not {"text", "label"} <= keys:
                raise ArgumentError(f"{where} has keys {sorted(map(str, keys))[:5]}; it needs 'text' and 'label' "
                                    "(check the spelling)")
            pair = (row["text"], row["label"])
        elif isinstance(row, Sequence) and not isinstance(row, (str, bytes, bytearray)) and len(row) == 2:
            pair = (row[0], row[1])
        else:
            raise ArgumentError(f"{where}: expected (text, label) or {{'text', 'label'}}, got {shown(row)}")
        out.append((text(f"{where} text", pair[0]), label(f"{where} label", pair[1])))
        raw.append(pair[1])
    warn_mixed_label_kinds(name, raw)
    return out


def warn_mixed_label_kinds(where: str, labels: Iterable[object]) -> None:
    """Booleans beside numbers (``true`` and ``1``) are different classes, which is rarely meant:
    the one warning of the Python API's rows and the readers of JSON labels."""
    kinds = {"boolean" if isinstance(v, bool) else "number" if _number_type(v) else "text" for v in labels}
    if len(kinds) > 1 and "boolean" in kinds:
        import logging

        logging.getLogger(__name__).warning(
            "%s: the labels mix %s values; true/false are classes of their own, not 1/0: write every label one way "
            "if they are meant to be the same classes", where, " and ".join(sorted(kinds)))


def tagged_sentences(name: str, sentences: Any) -> list[list[tuple[str, str]]]:
    """Sentences as lists of (word, tag) pairs; a plain list of words is refused (its words
    of two letters would be read as a word and its tag)."""
    if isinstance(sentences, (str, bytes, bytearray)) or isinstance(sentences, Mapping) or \
            not isinstance(sentences, Iterable):
        raise ArgumentError(f"{name} must be sentences, each a list of (word, tag) pairs, a path or a treebank "
                            f"name, got {shown(sentences)}")
    out = []
    for number, sentence in enumerate(sentences, 1):
        where = f"{name} sentence {number}"
        if isinstance(sentence, (str, bytes, bytearray)) or not isinstance(sentence, Iterable):
            raise ArgumentError(f"{where} must be a list of (word, tag) pairs, got {shown(sentence)}")
        pairs = list(sentence)
        if not pairs:
            raise ArgumentError(f"{where} is empty; give at least one (word, tag) pair")
        checked = []
        for i, pair in enumerate(pairs):
            if isinstance(pair, (str, bytes, bytearray)) or not isinstance(pair, Sequence) or len(pair) != 2:
                hint = (" (a list of words has no tags; tag words as (word, tag) pairs)"
                        if isinstance(pair, str) else "")
                raise ArgumentError(f"{where}, item {i + 1}: expected a (word, tag) pair, got {shown(pair)}{hint}")
            checked.append((text(f"{where} word {i + 1}", pair[0]), text(f"{where} tag {i + 1}", pair[1])))
        out.append(checked)
    return out


def word_sentences(name: str, sentences: Any, *, max_words: int | None = None) -> list[list[str]]:
    """Sentences as lists of words (a str sentence is refused: its characters would be read as
    words); each holds 1 to ``max_words`` words."""
    if isinstance(sentences, (str, bytes, bytearray)) or isinstance(sentences, Mapping) or \
            not isinstance(sentences, Iterable):
        raise ArgumentError(f"{name} must be a list of sentences, each a list of words, got {shown(sentences)}")
    out = []
    for number, sentence in enumerate(sentences, 1):
        where = f"{name} sentence {number}"
        if isinstance(sentence, (str, bytes, bytearray)) or isinstance(sentence, Mapping) or \
                not isinstance(sentence, Iterable):
            hint = "; split it into words first, e.g. text.split()" if isinstance(sentence, str) else ""
            raise ArgumentError(f"{where} must be a list of words, got {shown(sentence)}{hint}")
        words = [text(f"{where} word {i + 1}", word) for i, word in enumerate(sentence)]
        if not words:
            raise ArgumentError(f"{where} is empty; give at least one word")
        if max_words is not None and len(words) > max_words:
            raise ArgumentError(f"{where} has {len(words):,} words; the graph takes at most {max_words:,} "
                                "(export with a larger --length, or split the sentence)")
        out.append(words)
    if not out:
        raise ArgumentError(f"{name} holds no sentences; give at least one")
    return out


def columns(name: str, value: Any) -> dict[str, list]:
    """A dict of equally long columns (or a DataFrame); numbers finite and within float32."""
    if hasattr(value, "to_dict") and hasattr(value, "columns"):
        value = {str(c): list(value[c]) for c in value.columns}
    if not isinstance(value, Mapping):
        raise ArgumentError(f"{name} must be a DataFrame, a dict of columns or a CSV path, got {shown(value)}")
    out: dict[str, list] = {}
    stripped: dict[str, str] = {}
    for key, column in value.items():
        key = text(f"{name} column name", key)
        bad = [c for c in (",", "\n", "\r") if c in key]
        if bad or not key.strip():
            raise ArgumentError(f"{name} column name {key!r} " + ("is blank" if not bad else f"holds {bad[0]!r}")
                                + "; name columns with text without commas or line breaks (a comma separates "
                                  "column names in target and inputs)")
        if key.strip() in stripped:
            raise ArgumentError(f"{name} has columns {stripped[key.strip()]!r} and {key!r}, one name once spaces are "
                                "stripped (as a CSV header is read); rename one")
        stripped[key.strip()] = key
        if isinstance(column, (str, bytes, bytearray)) or isinstance(column, Mapping) or \
                not isinstance(column, Iterable):
            raise ArgumentError(f"{name}[{key!r}] must be a list of values, got {shown(column)}")
        out[key] = list(column)
    lengths = {k: len(v) for k, v in out.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{k!r}: {n}" for k, n in list(lengths.items())[:6])
        raise ArgumentError(f"{name}: the columns have different lengths ({listed}); every column needs one value "
                            "per row (cutting them to the shortest would forecast from the wrong rows)")
    for key, column in out.items():
        for i, cell in enumerate(column):
            if _number_type(cell):
                number = as_float(f"{name}[{key!r}] row {i + 1}", cell)
                if not math.isfinite(number) or abs(number) > FLOAT32_MAX:
                    raise ArgumentError(f"{name}[{key!r}] row {i + 1} is {cell!r}: not a finite float32 value")
            elif cell is None or not isinstance(cell, str):
                raise ArgumentError(f"{name}[{key!r}] row {i + 1} is {shown(cell)}; give numbers (or date text)")
            else:
                text(f"{name}[{key!r}] row {i + 1}", cell)
    return out


def choice(name: str, value: Any, options: Iterable[str]) -> str:
    options = list(options)
    if not isinstance(value, str) or value not in options:
        raise ArgumentError(f"{name} must be one of {', '.join(map(repr, options))}, got {shown(value)}")
    return value


__all__ = ["ArgumentError", "as_float", "choice", "columns", "integer", "label", "labelled_rows", "path", "real", "seed", "shown",
           "tagged_sentences", "text", "texts"]

"""Labelled text from any CSV, TSV or JSON Lines file (optionally gzipped)."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

from lstmkit.data.datasets.examples import TextExample
from lstmkit.errors import DataError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}


def table_format(path: Path) -> str:
    suffixes = [s for s in path.suffixes if s != ".gz"]
    fmt = FORMATS.get(suffixes[-1].lower() if suffixes else "")
    if fmt is None:
        raise DataError(f"cannot tell the format of {str(path)!r}; name it .csv, .tsv or .jsonl (optionally .gz)")
    return fmt


def read_table(path: str | Path, text_column: str = "text", label_column: str = "label",
               encoding: str = "utf-8") -> list[TextExample]:
    """Read (text, label) pairs; any number of classes, labels kept as strings.

    Raises:
        DataError: for a missing file, a missing column (listing the columns there are), an
            empty text (with its line number), a malformed JSON line or a decoding error.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file {str(path)!r} not found")
    fmt = table_format(path)
    opener = gzip.open if path.suffix == ".gz" else open
    examples: list[TextExample] = []
    try:
        with opener(path, "rt", encoding=encoding, newline="") as handle:
            if fmt == "jsonl":
                rows_numbered = ((n, _json_row(path, n, line)) for n, line in enumerate(handle, 1) if line.strip())
            else:
                reader = csv.DictReader(handle, delimiter="," if fmt == "csv" else "\t")
                missing = [c for c in (text_column, label_column) if c not in (reader.fieldnames or [])]
                if missing:
                    raise DataError(f"{str(path)!r} has no column(s) {missing}; its columns are "
                                    f"{reader.fieldnames}; choose them with --text-column/--label-column")
                rows_numbered = ((n, row) for n, row in enumerate(reader, 2))  # line 1 is the header
            for number, row in rows_numbered:
                examples.append(_example(path, number, row, text_column, label_column))
    except UnicodeDecodeError:
        raise DataError(f"{str(path)!r} is not valid {encoding}; pass its encoding with --encoding") from None
    if not examples:
        raise DataError(f"{str(path)!r} has no rows")
    return examples


def _json_row(path: Path, number: int, line: str) -> dict:
    try:
        row = json.loads(line)
    except ValueError as err:
        raise DataError(f"{path}:{number}: not valid JSON ({err})") from None
    if not isinstance(row, dict):
        raise DataError(f"{path}:{number}: expected a JSON object per line")
    return row


def _example(path: Path, number: int, row: dict, text_column: str, label_column: str) -> TextExample:
    for column in (text_column, label_column):
        if column not in row or row[column] is None:
            raise DataError(f"{path}:{number}: no {column!r} field; its fields are {sorted(row)}; "
                            "choose them with --text-column/--label-column")
    text = str(row[text_column])
    if not text.strip():
        raise DataError(f"{path}:{number}: empty text; remove the line or fill it in")
    return TextExample(text, str(row[label_column]))

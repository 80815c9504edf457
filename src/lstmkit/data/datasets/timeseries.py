"""Time series from CSV (ETTh1 and any table with a date column), the tutorial's sine wave,
time-ordered splits, scaling by training statistics, and sliding windows.

Legend: N time steps, F features, L input length, H horizon, W windows.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from lstmkit.boundary import FLOAT32_MAX      # the model computes in float32: a larger value would be inf
from lstmkit.data.datasets.fetch import candidates, fetch
from lstmkit.data.datasets.table import MAX_FIELD, check_header, sniff_delimiter
from lstmkit.data.text import check_path, decode, read_bytes
from lstmkit.errors import DataError, listing

logger = logging.getLogger(__name__)

ETT_H1 = ("ett", "ETTh1.csv", "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/ETTh1.csv",
          "sha256:f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066")


@dataclass
class Series:
    values: Tensor                 # (N, F) float32
    columns: list[str]             # the F column names
    dates: list[str]               # (N,) as written, empty without a date column
    source: str


def read_csv_series(path: str | Path, columns: list[str] | None = None, date_column: str = "date",
                    encoding: str = "utf-8") -> Series:
    """Numeric columns of a CSV file (all but the date column when ``columns`` is None).

    Raises:
        DataError: for a missing file (or one that is not a regular file), named columns that
            are not there (listing those that are), a value that is not a number or is outside
            the float32 range (naming its line and column), or no rows.
    """
    path = check_path(path, "CSV file")
    lines = decode(read_bytes(path), str(path), encoding, "save it as UTF-8 (CSV series are read as UTF-8)").splitlines()
    delimiter = sniff_delimiter(path, lines[0] if lines else "", "\t" if path.suffix.lower() == ".tsv" else ",")
    return series_from_lines(lines, path, columns, date_column, delimiter)


def series_from_lines(lines: list[str], path: str | Path, columns: list[str] | None = None, date_column: str = "date",
                      delimiter: str = ",") -> Series:
    """:func:`read_csv_series` of a CSV's lines (``path`` names them in messages): for columns
    given in memory, written as CSV text and read by the same rules, without a file."""
    csv.field_size_limit(MAX_FIELD)
    try:
        rows = list(csv.reader(lines, delimiter=delimiter))
    except csv.Error as err:
        raise DataError(f"{str(path)!r} is not a well-formed CSV file ({err})") from None
    if not rows or not rows[0]:
        raise DataError(f"{str(path)!r} is empty; it needs a header line and rows")
    check_header(path, rows[0])
    header = [h.strip() for h in rows[0]]
    has_date = date_column in header
    wanted = columns or [h for h in header if h != date_column]
    missing = [c for c in wanted if c not in header]
    if missing:
        raise DataError(f"{str(path)!r} has no column(s) {listing(missing)}; its columns are: {listing(header, 10)}")
    index = [header.index(c) for c in wanted]
    values, dates = [], []
    for number, row in enumerate(rows[1:], start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DataError(f"{path}:{number}: {len(row)} fields, the header has {len(header)}")
        parsed = []
        for i, name in zip(index, wanted):
            try:
                if "_" in row[i] or not row[i].isascii():
                    raise ValueError                        # Python reads "3_0" as 30 and "٣" as 3: a CSV number has neither
                value = float(row[i])
            except ValueError:
                raise DataError(f"{path}:{number}: column {name!r} holds {row[i]!r}, not a number") from None
            if math.isnan(value):
                raise DataError(f"{path}:{number}: column {name!r} holds {row[i]!r}, a missing value; fill or drop "
                                "missing values")
            if math.isinf(value):
                raise DataError(f"{path}:{number}: column {name!r} holds {row[i]!r}, an infinite value (a number too "
                                "large for any float reads as infinity); fix the value or drop the row")
            if abs(value) > FLOAT32_MAX:
                raise DataError(f"{path}:{number}: column {name!r} holds {row[i]!r}, outside the float32 range "
                                f"(±{FLOAT32_MAX:.3g}) the model computes in; rescale the column (other units) or fix "
                                "the value")
            parsed.append(value)
        values.append(parsed)
        if has_date:
            dates.append(row[header.index(date_column)])
    if not values:
        raise DataError(f"{str(path)!r} has a header but no rows")
    if has_date:
        check_time_order(path, dates, date_column)
    return Series(torch.tensor(values, dtype=torch.float32), wanted, dates, str(path))


def check_time_order(path: str | Path, dates: list[str], column: str) -> None:
    """The rows of a series must run forward in time: rows out of order (a reversed or
    shuffled file) are refused, since the windows would mix past and future; a repeated time
    or irregular steps are kept, with a warning. Dates are read as ISO 8601 (ETTh1's
    ``2016-07-01 00:00:00``) or as numbers; a column that is not all such is said and not checked.

    Raises:
        DataError: naming the first row that goes back in time.
    """
    import datetime

    def parse(text: str) -> float | None:
        text = text.strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            return datetime.datetime.fromisoformat(text).timestamp()
        except ValueError:
            return None

    times = [parse(d) for d in dates]
    bad = [i for i, t in enumerate(times) if t is None]
    if bad and len(bad) == len(times):
        logger.warning("%s: the %r column holds no dates or numbers (e.g. %r); the rows are used in file order",
                       path, column, dates[0])
        return
    if bad:
        good = dates[next(i for i, t in enumerate(times) if t is not None)]
        logger.warning("%s: %d row(s) of the %r column are not dates like %r, e.g. data row %d: %r; the time order "
                       "is not checked and forecasts carry no dates past such a row: fix them", path, len(bad),
                       column, good, bad[0] + 1, dates[bad[0]])
        return
    steps = [b - a for a, b in zip(times, times[1:])]
    back = next((i for i, s in enumerate(steps) if s < 0), None)
    if back is not None:
        raise DataError(f"{path}: the rows are not in time order: data row {back + 2} ({dates[back + 1]!r}) comes "
                        f"before row {back + 1} ({dates[back]!r}); sort the file by {column}")
    repeated = sum(1 for s in steps if s == 0)
    if repeated:
        first = next(i for i, s in enumerate(steps) if s == 0)
        logger.warning("%s: %d row(s) repeat the time of the row before, e.g. %r; each row is used as one step",
                       path, repeated, dates[first + 1])
    positive = sorted(s for s in steps if s > 0)
    if positive:
        usual = positive[len(positive) // 2]
        gaps = [i for i, s in enumerate(steps) if s > 1.5 * usual]
        if gaps:
            logger.warning("%s: %d gap(s) longer than the usual step, e.g. from %r to %r; the model sees each row as "
                           "one step, so fill the gaps if the steps should be equal", path, len(gaps),
                           dates[gaps[0]], dates[gaps[0] + 1])


def locate_ett(download: bool = False) -> Path:
    folder, fname, url, known_hash = ETT_H1
    for root in candidates(folder):
        if (root / fname).exists():                            # read_csv_series checks what it is
            return root / fname
    if not download:
        raise DataError(f"ETTh1.csv not found (looked in {', '.join(str(c) for c in candidates(folder))}); "
                        "pass --download to fetch it, or --data PATH to the CSV file")
    return fetch(url, known_hash, folder, fname, "ETTh1")


def sine_series(num_steps: int = 2000, step: float = 0.1) -> Series:
    """The tutorial's data: input sin(t), target cos(t), t = 0, step, 2*step, ...

    Example:
        >>> s = sine_series(3, 0.5)
        >>> s.columns, s.values.shape
        (['sin', 'cos'], torch.Size([3, 2]))
    """
    t = torch.arange(num_steps, dtype=torch.float32) * step
    return Series(torch.stack([torch.sin(t), torch.cos(t)], dim=1), ["sin", "cos"], [], "sine")


@dataclass(frozen=True)
class Borders:
    """Row ranges [start, end) of each part; valid and test start ``input_len`` rows early so
    their first window sees history (the targets never overlap another part)."""

    train: tuple[int, int]
    valid: tuple[int, int]
    test: tuple[int, int]


def informer_borders(input_len: int, hours: bool = True) -> Borders:
    """The Informer paper's ETT split: 12/4/4 months of 30 days (hourly: 8,640/2,880/2,880 rows).

    Example:
        >>> informer_borders(96)
        Borders(train=(0, 8640), valid=(8544, 11520), test=(11424, 14400))
    """
    month = 30 * 24 * (1 if hours else 4)
    a, b, c = 12 * month, 16 * month, 20 * month
    return Borders((0, a), (a - input_len, b), (b - input_len, c))


def fraction_borders(n: int, input_len: int, valid: float = 0.1, test: float = 0.2) -> Borders:
    """Contiguous train/valid/test by time: the first 70%, the next 10%, the last 20% (default).

    Raises:
        DataError: when a part is too short for one window.
    """
    n_test, n_valid = int(n * test), int(n * valid)
    n_train = n - n_test - n_valid
    borders = Borders((0, n_train), (n_train - input_len, n_train + n_valid), (n - n_test - input_len, n))
    if n_train <= input_len:
        raise DataError(f"the series has {n} rows; the training part ({n_train}) is too short for windows of "
                        f"{input_len} steps; lower --input-len")
    return borders


FAR_Z = 1e3          # |z| beyond this, a value is a different quantity, not a large one (see warn_far_outside)
OUTLIER_SPREADS = 1e4   # values this many interquartile ranges from the median dominate a column's scaling


def warn_outliers(values: Tensor, names: Sequence[str]) -> None:
    """Warn of training values more than :data:`OUTLIER_SPREADS` interquartile ranges from their
    column's median: one such value (1e30 as a missing-value code) sets the column's standard
    deviation, and every other value then scales to about 0. Shapes: values (N, F)"""
    import numpy as np

    array = values.double().numpy()
    q25, median, q75 = np.percentile(array, [25, 50, 75], axis=0)              # (F,) each
    spread = q75 - q25
    distance = np.abs(array - median)                                          # (N, F)
    bad = (spread > 0) & (distance.max(0) > OUTLIER_SPREADS * np.where(spread > 0, spread, 1))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        row = int(distance[:, k].argmax())
        logger.warning("column(s) %s hold outliers in the training rows (e.g. %s = %.6g in training row %d, where the "
                       "middle half of its values spans %.6g to %.6g): they set the scaling, so every other value "
                       "becomes about 0 to the model; check the data (a missing-value code or a unit error?) and "
                       "drop or fix those rows", listing([names[i] for i in np.flatnonzero(bad).tolist()]), names[k],
                       float(array[row, k]), row + 1, float(q25[k]), float(q75[k]))


@dataclass
class Scaler:
    """z-score with statistics of the training rows only."""

    mean: Tensor   # (F,)
    std: Tensor    # (F,)

    @classmethod
    def fit(cls, values: Tensor, names: Sequence[str] | None = None) -> Scaler:
        """Mean and standard deviation per column (computed in float64: squares of large float32
        values would overflow). A column that is constant in ``values`` gets std 1 (with a
        warning naming it, when ``names`` are given): dividing by ~0 would blow any later change
        in it up to huge inputs.

        Shapes: values (N, F)

        Example:
            >>> Scaler.fit(torch.tensor([[1.0, 5.0], [3.0, 5.0]]), ["x", "c"]).std.tolist()
            [1.4142135381698608, 1.0]
        """
        wide = values.double()
        mean, std = wide.mean(0), wide.std(0)
        flat = ~(std > 1e-7 * mean.abs().clamp(min=1.0))          # below float32 rounding, or nan (one row)
        if flat.any() and names is not None:
            columns = [names[i] for i in flat.nonzero()[:, 0].tolist()]
            logger.warning("column(s) %s constant in the training rows (e.g. %s = %.6g); scaled with std 1 (it only "
                           "gets centred): it tells the model nothing there, and dividing by ~0 would blow up any later "
                           "change; drop it with --inputs if it stays constant", listing(columns),
                           columns[0], float(mean[flat][0]))
        if names is not None:
            warn_outliers(wide, names)
        return cls(mean.float(), torch.where(flat, torch.ones_like(std), std).float())

    def warn_far_outside(self, values: Tensor, names: Sequence[str], where: str) -> None:
        """Warn of values more than :data:`FAR_Z` training standard deviations from the training
        mean (a unit error, or 1e30 for a missing value): the model never saw anything like them,
        so what it says of them is an extrapolation. Shapes: values (N, F)"""
        z = ((values.double() - self.mean.double()) / self.std.double()).abs()     # (N, F)
        far = (z > FAR_Z).any(0)
        if far.any():
            k = int(far.nonzero()[0, 0])
            row = int(z[:, k].argmax())
            logger.warning("%s: column(s) %s hold values far outside the training rows (e.g. %s = %.6g, %.3g standard "
                           "deviations from the training mean %.6g): the model never saw such values, so its output "
                           "for them is an extrapolation; check the data (a unit or a missing-value code?)", where,
                           listing([names[i] for i in far.nonzero()[:, 0].tolist()]), names[k],
                           float(values[row, k]), float(z[row, k]), float(self.mean[k]))

    def transform(self, values: Tensor) -> Tensor:
        return (values - self.mean) / self.std

    def inverse(self, values: Tensor) -> Tensor:
        return values * self.std + self.mean


def windows(inputs: Tensor, targets: Tensor, input_len: int, horizon: int) -> tuple[Tensor, Tensor]:
    """Every window of ``input_len`` steps and the ``horizon`` steps after it (stride 1).

    Shapes: inputs (N, F_in), targets (N, F_out) -> x (W, L, F_in), y (W, H, F_out), W = N - L - H + 1

    Raises:
        DataError: when the series is shorter than one window.

    Example:
        >>> x, y = windows(torch.arange(6.)[:, None], torch.arange(6.)[:, None], 3, 2)
        >>> x[:, :, 0].tolist(), y[:, :, 0].tolist()
        ([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]], [[3.0, 4.0], [4.0, 5.0]])
    """
    count = inputs.size(0) - input_len - horizon + 1
    if count < 1:
        raise DataError(f"{inputs.size(0)} rows are too few for one window of {input_len} input steps and "
                        f"{horizon} to predict; lower --input-len or --horizon, or give more rows")
    x = inputs.unfold(0, input_len, 1)[:count].transpose(1, 2)                  # (W, L, F_in)
    y = targets[input_len:].unfold(0, horizon, 1)[:count].transpose(1, 2)       # (W, H, F_out)
    return x.contiguous(), y.contiguous()

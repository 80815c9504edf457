from __future__ import annotations

import pytest
import torch

from lstmkit.data.datasets.timeseries import Scaler, fraction_borders, read_csv_series, windows
from lstmkit.errors import DataError


def _csv(path, rows, header="date,a,b"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_reads_numeric_columns_and_dates(tmp_path):
    path = _csv(tmp_path / "s.csv", ["2020-01-01 00:00:00,1,2", "2020-01-01 01:00:00,3,4"])
    s = read_csv_series(path)
    assert s.columns == ["a", "b"] and s.values.tolist() == [[1, 2], [3, 4]] and s.dates[1].endswith("01:00:00")
    assert read_csv_series(path, ["b"]).values.tolist() == [[2], [4]]


def test_errors_name_columns_rows_and_values(tmp_path):
    path = _csv(tmp_path / "s.csv", ["2020-01-01,1,2", "2020-01-02,x,4"])
    with pytest.raises(DataError, match=r"no column\(s\) 'OT'; its columns are: 'date', 'a', 'b'"):
        read_csv_series(path, ["OT"])
    with pytest.raises(DataError, match=r"s\.csv:3: column 'a' holds 'x', not a number"):
        read_csv_series(path)
    with pytest.raises(DataError, match="header but no rows"):
        read_csv_series(_csv(tmp_path / "e.csv", []))


@pytest.mark.parametrize(("cell", "said"), [("nan", "a missing value"), ("NaN", "a missing value"),
                                           ("1e999", "an infinite value"), ("-Infinity", "an infinite value"),
                                           ("\u0663", "not a number")])            # an Arabic-Indic 3: float() reads it
def test_non_finite_cells_say_which_kind(tmp_path, cell, said):
    """Found by a tester: '1e999' (read as infinity) was called a missing value."""
    path = _csv(tmp_path / "s.csv", ["2020-01-01,1,2", f"2020-01-02,{cell},4"])
    with pytest.raises(DataError, match=f"s.csv:3: column 'a' holds '{cell}', {said}"):
        read_csv_series(path)


def test_windows_need_enough_rows():
    with pytest.raises(DataError, match="5 rows are too few for one window of 4 input steps and 2"):
        windows(torch.zeros(5, 1), torch.zeros(5, 1), 4, 2)


def test_time_split_has_no_leakage_and_scaler_uses_train_rows_only():
    values = torch.arange(100.0)[:, None]
    b = fraction_borders(100, 10)
    assert b.train == (0, 70) and b.valid == (60, 80) and b.test == (70, 100)
    _, y_valid = windows(values[b.valid[0] : b.valid[1]], values[b.valid[0] : b.valid[1]], 10, 1)
    assert float(y_valid.min()) >= 70                      # validation targets start after training rows
    scaler = Scaler.fit(values[: b.train[1]])
    assert float(scaler.mean) == pytest.approx(34.5)
    torch.testing.assert_close(scaler.inverse(scaler.transform(values)), values)

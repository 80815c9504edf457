from __future__ import annotations

import csv
import datetime as dt
import json
import math
from pathlib import Path

import pytest

from lstmkit.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from lstmkit.tasks.forecast.options import ForecastOptions
from lstmkit.errors import DataError
from lstmkit.tasks.forecast import model as forecast
from lstmkit.training.recipe import fit


def _cfg(path, **fc):
    return RunConfig(task="forecast", model=ModelConfig(hidden_size=24, dropout=0.0), data=DataConfig(path=str(path)),
                     train=TrainConfig(epochs=6, lr=0.01, batch_size=32, clip_norm=1.0),
                     options=ForecastOptions(**{"input_len": 24, "horizon": 6, **fc}))


def _series_csv(path, n=600):
    start = dt.datetime(2020, 1, 1)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", "load", "temp"])
        for i in range(n):
            w.writerow([str(start + dt.timedelta(hours=i)), 10 + 3 * math.sin(2 * math.pi * i / 24),
                        5 + math.cos(2 * math.pi * i / 24)])
    return path


def test_stateful_sine_to_cosine(tmp_path):
    cfg = RunConfig(task="forecast", model=ModelConfig(hidden_size=32, dropout=0.0), data=DataConfig(path="sine"),
                    train=TrainConfig(epochs=20, lr=0.01, clip_norm=1.0),
                    options=ForecastOptions(stateful=True, input_len=20))
    result = fit(cfg, tmp_path / "run")
    assert result.test["mse"] < 1e-2 and (tmp_path / "run" / "forecast.png").is_file()


@pytest.mark.parametrize("decoder,norm", [("direct", False), ("direct", True), ("autoregressive", False)])
def test_csv_forecasting_beats_a_flat_guess(tmp_path, decoder, norm):
    path = _series_csv(tmp_path / "s.csv")
    result = fit(_cfg(path, decoder=decoder, last_value_norm=norm, target="load"), tmp_path / "run")
    assert result.test["mse"] < 0.2          # scaled targets: predicting the mean scores about 1.0
    assert {"mse", "mae", "mse_original", "mae_original"} <= set(result.test)
    saved = json.loads((tmp_path / "run" / forecast.EVAL_FILE).read_text())
    assert saved["mse"] == pytest.approx(result.test["mse"])


def test_predict_writes_future_rows_with_dates(tmp_path):
    path = _series_csv(tmp_path / "s.csv")
    fit(_cfg(path, target="load"), tmp_path / "run")
    out = forecast.forecast_csv(tmp_path / "run", path, tmp_path / "f.csv")
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["step", "date", "load"] and len(rows) == 7
    assert rows[1][1] == str(dt.datetime(2020, 1, 1) + dt.timedelta(hours=600))
    assert 5 < float(rows[1][2]) < 15
    short = _series_csv(tmp_path / "short.csv", n=10)
    with pytest.raises(DataError, match="has 10 rows; the model reads the last 24"):
        forecast.forecast_csv(tmp_path / "run", short, tmp_path / "g.csv")


def test_bad_columns_and_too_few_rows_write_nothing(tmp_path):
    path = _series_csv(tmp_path / "s.csv")
    with pytest.raises(DataError, match=r"no column\(s\) 'OT'"):
        fit(_cfg(path, target="OT"), tmp_path / "run")
    assert not (tmp_path / "run").exists()
    with pytest.raises(DataError, match="too short for windows"):
        fit(_cfg(_series_csv(tmp_path / "t.csv", n=30)), tmp_path / "run2")
    assert not (tmp_path / "run2").exists()


def test_predict_never_replaces_a_users_forecast_csv(tmp_path, capsys):
    """Found by a tester: a user's own RUN/forecast.csv was replaced by `predict` without --force."""
    import shutil
    from pathlib import Path

    from lstmkit.cli import main

    fixtures = Path(__file__).parents[1] / "fixtures" / "runs_format2"
    run = tmp_path / "fc"
    shutil.copytree(fixtures / "forecast", run)
    (run / "forecast.csv").write_text("my notes\n")
    assert main(["predict", str(run), "--data", str(fixtures / "recent.csv")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (run / "forecast.csv").read_text() == "my notes\n"
    (run / "forecast.csv").unlink()
    assert main(["predict", str(run), "--data", str(fixtures / "recent.csv")]) == 0
    assert main(["predict", str(run), "--data", str(fixtures / "recent.csv")]) == 0     # its own: replaced
    assert (run / "forecast.csv").read_text().startswith("step,")


def test_forecast_dates_step_by_months_and_stop_at_year_9999(caplog):
    """Found by a tester: monthly dates drifted by a fixed 31 days (2020-10-02), and dates near
    the year 9999 gave a 500 from the server."""
    import datetime as dt

    from lstmkit.tasks.forecast.model import _next_dates

    assert _next_dates(dt.datetime(2020, 8, 1), dt.datetime(2020, 7, 1), 3) == [
        "2020-09-01 00:00:00", "2020-10-01 00:00:00", "2020-11-01 00:00:00"]
    assert _next_dates(dt.datetime(2020, 1, 1, 2), dt.datetime(2020, 1, 1, 1), 1) == ["2020-01-01 03:00:00"]
    for last, before in ((dt.datetime(9999, 12, 31), dt.datetime(9999, 12, 30)),
                         (dt.datetime(9999, 12, 1), dt.datetime(9999, 11, 1))):
        with pytest.raises(OverflowError):
            _next_dates(last, before, 3)


def test_a_loaded_forecaster_predicts_in_memory_without_files_or_reloading(monkeypatch, tmp_path):
    """Issue 19: predict wrote a temporary CSV, reloaded and checksummed the model on every
    call, wrote the forecast as a CSV and read it back. Now the model is loaded once and
    columns given in memory never touch the disk; the numbers are those of the CSV path."""
    import csv
    import shutil
    import tempfile

    import lstmkit
    from lstmkit.tasks.forecast import model as forecast

    fixtures = Path(__file__).parents[1] / "fixtures" / "runs_format2"
    run_dir = tmp_path / "forecast"
    shutil.copytree(fixtures / "forecast", run_dir)
    run = lstmkit.load(run_dir)
    with open(fixtures / "recent.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    columns = {name: [r[name] if name == "date" else float(r[name]) for r in rows] for name in rows[0]}
    from_file = run.predict(fixtures / "recent.csv")

    def refused(*args, **kwargs):
        raise AssertionError("no temporary files and no reload in predict")

    monkeypatch.setattr(tempfile, "TemporaryDirectory", refused)
    monkeypatch.setattr(forecast, "load_forecaster", refused)
    before = sorted(p.name for p in run_dir.iterdir())
    assert run.predict(columns) == from_file and run.predict(columns) == from_file
    assert sorted(p.name for p in run_dir.iterdir()) == before
    with pytest.raises(Exception, match="data row 2: column"):
        run.predict({**columns, "OT": [columns["OT"][0], "x", *columns["OT"][2:]]})

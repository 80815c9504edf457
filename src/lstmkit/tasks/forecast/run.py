"""A trained forecaster, loaded: ``predict`` the horizon after recent rows, ``evaluate`` on a CSV's test part."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lstmkit import boundary
from lstmkit.errors import ConfigError
from lstmkit.notices import in_caller_terms
from lstmkit.tasks.run import Evaluation, Run, ServeInput, check_eval_data


IN_MEMORY = "lstmkit-columns-in-memory"        # the name that columns given in memory have in messages, then renamed


class ForecasterRun(Run):
    def __init__(self, run_dir: str | Path, device: str = "cpu") -> None:
        super().__init__(run_dir, device)
        if self.cfg.forecast.stateful:
            raise ConfigError(f"{str(run_dir)!r} is the stateful sine demo; it has no CSV forecaster to load")
        from lstmkit.tasks.forecast import model as forecast

        self.model, _, self.meta = forecast.load_forecaster(self.run_dir, self.cfg)     # once: every predict uses it

    def series(self, data: Any):
        """``data`` (a CSV path, a DataFrame or a dict of columns) as the series the model reads,
        and its last ``input_len`` rows scaled as in training, (1, L, F_in); in memory, no file."""
        from lstmkit.tasks.forecast import model as forecast

        fc = self.cfg.forecast
        if isinstance(data, boundary.PATH_TYPES):
            return forecast.read_window(boundary.path("data", data), self.meta, fc)
        columns = boundary.columns("data", data)
        missing = [c for c in self.meta["inputs"] if c not in columns]
        if missing:
            from lstmkit.errors import listing

            raise boundary.ArgumentError(f"data lacks the column(s) {listing(missing)} that the forecaster reads; "
                                         f"it has {listing(columns)}")
        return self._window_of(columns)

    def _window_of(self, columns: dict[str, list]):
        """:meth:`series` of columns checked already (boundary.columns, the model's columns present)."""
        from lstmkit.tasks.forecast import model as forecast

        fc = self.cfg.forecast
        with in_caller_terms({IN_MEMORY: "data"}):          # 'data row 3', as the caller gave them
            return forecast.window(forecast.columns_series(columns, self.meta, fc, IN_MEMORY), self.meta, fc)

    def predict(self, data: Any) -> list[dict[str, Any]]:
        """Forecast the ``horizon`` steps after the last rows of ``data`` (a CSV path, a
        DataFrame or a dict of columns); one dict per step, original units."""
        from lstmkit.tasks.forecast import model as forecast

        series, x = self.series(data)
        header, rows = forecast.forecast_rows(self.model, self.meta, self.cfg.forecast, series, x)
        return [dict(zip(header, row)) for row in rows]

    predict_options = frozenset({"data", "output", "force"})
    serve_input = ServeInput("data", "a forecaster needs \"data\": {column: [values]} of recent rows")
    inspect_input = "data"

    def serve_info(self) -> dict[str, Any]:
        return {"inputs": self.cfg.forecast.input_len}

    def evaluate(self, data: str | Path | None = None, download: bool = False) -> Evaluation:
        """MSE/MAE (scaled and in original units) on the test part of ``data`` (default: the
        run's own), with the forecast plot."""
        boundary.switch("download", download)
        check_eval_data(data, optional=True)
        from lstmkit.tasks.forecast import model as forecast
        from lstmkit.tasks.forecast.data import prepare

        model, cfg = self.model, self.cfg
        prepared = prepare(str(data) if data is not None else cfg.data.path, cfg.forecast, download)
        scores = forecast.score(model, prepared, self.run_dir, cfg.forecast.plot_steps)
        saved = self._save_eval(scores, data)
        return Evaluation(scores, "\n".join([*(f"{k}\t{v:.6g}" for k, v in scores.items()), saved]))

    def predict_lines(self, inputs: list[str], data: str | Path | None = None, output: str | Path | None = None,
                      force: bool = False, **options: Any) -> list[str]:
        boundary.switch("force", force)
        from lstmkit.files import output_name
        from lstmkit.tasks.forecast import model as forecast
        from lstmkit.training.rundir import check_output, own_files

        if data is None:
            raise ConfigError("a forecaster predicts from a CSV: pass --data new.csv (its last input_len rows are read)")
        default = self.run_dir / "forecast.csv"
        target = output_name(output, example=default.name) if output is not None else default
        ours = os.path.realpath(target) == os.path.realpath(default)
        if ours and not _written_by_forecast(default):
            from lstmkit.files import OutputError

            raise OutputError(f"{str(default)!r} already exists and is not a forecast that predict wrote (it does not "
                              "start with 'step,'); move it, or write elsewhere with --output")
        check_output(target, protected=own_files(self.run_dir, exclude=(default.name,)), inputs=[data], force=force,
                     replaceable=ours)
        try:
            series, x = self.series(data)
            out = forecast.write_forecast(target, *forecast.forecast_rows(self.model, self.meta, self.cfg.forecast,
                                                                          series, x))
        except PermissionError as err:
            raise ConfigError(f"cannot write {str(target)!r}: {err.strerror}; choose another --output") from None
        return [f"forecast written to {out}"]

    def inspect_stack(self, value: Any, invert: bool, max_steps: int):
        if not value:
            raise ValueError("a forecaster is inspected on \"data\": {column: [values]} of recent rows")
        data = boundary.columns("data", value)
        missing = [c for c in self.meta["inputs"] if c not in data]
        if missing:                  # said in the inspector's words: its field is "data"
            raise ValueError(f"\"data\" has no column(s) {', '.join(map(repr, missing))}; the model reads "
                             f"{', '.join(map(repr, self.meta['inputs']))}, got "
                             f"{boundary.shown(sorted(data), 120, typed=False)}")
        _, x = self._window_of(data)                          # warns as predict does
        n = self.cfg.forecast.input_len
        return [f"t-{n - t}" for t in range(n)], x.float(), [self.model.rnn], {}


def _written_by_forecast(path: Path) -> bool:
    """Whether the run's default ``forecast.csv`` is absent or one that ``predict`` wrote (its
    header starts with ``step``): a user's own file of that name is never replaced unasked."""
    try:
        with open(path, "rb") as f:
            return f.readline(200).startswith(b"step,")
    except FileNotFoundError:
        return True
    except OSError:
        return False


__all__ = ['ForecasterRun']

"""The ``[forecast]`` section: the forecaster's own settings."""

from __future__ import annotations

from dataclasses import dataclass

from lstmkit.config import check_at_least, check_choice, setting
from lstmkit.errors import ConfigError


@dataclass(frozen=True)
class ForecastOptions:
    target: str = setting("", "comma-separated target columns; \"\" = every input column")
    inputs: str = setting("", "comma-separated input columns; \"\" = every column but the date")
    date_column: str = setting("date", "parsed as dates, not an input; forecasts continue them")
    input_len: int = setting(96, "steps the model reads")
    horizon: int = setting(24, "steps it predicts")
    decoder: str = setting("direct",
        "direct: all horizon steps from one linear layer; autoregressive: an LSTM cell rolls out one step at "
        "a time, fed its own predictions")
    last_value_norm: bool = setting(False, "subtract each window's last value (inputs and targets) first")
    stateful: bool = setting(False, "sine only: one stream, state carried window to window (the tutorial)")
    split: str = setting("auto", "informer (12/4/4 months, ETT) or fraction (70/10/20); auto: informer for ett-h1")
    plot_steps: int = setting(336, "how much of the test part the forecast plot shows")

    def __post_init__(self) -> None:
        for name in ("input_len", "horizon", "plot_steps"):
            check_at_least(f"forecast.{name}", getattr(self, name), 1)
        check_choice("forecast.decoder", self.decoder, ("autoregressive", "direct"))
        check_choice("forecast.split", self.split, ("auto", "fraction", "informer"))
        for name in ("target", "inputs"):                    # "OT,OT" fed OT twice; "HUFL,,OT" passed silently
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                continue
            names = _column_list(value, keep_empty=True)
            twice = sorted({c for c in names if c and names.count(c) > 1})
            if "" in names or twice:
                what = f"names {twice[0]!r} twice" if twice else "has an empty name"
                raise ConfigError(f"forecast.{name}={value!r} {what}; give each column once, separated by commas, "
                                  "e.g. --inputs OT,HUFL")

    def target_columns(self) -> list[str]:
        return _column_list(self.target)

    def input_columns(self) -> list[str]:
        return _column_list(self.inputs)


def _column_list(value: str, keep_empty: bool = False) -> list[str]:
    """``"OT, HUFL"`` as ``["OT", "HUFL"]``: the one reading of a comma-separated column list."""
    names = [c.strip() for c in value.split(",")]
    return names if keep_empty else [c for c in names if c]

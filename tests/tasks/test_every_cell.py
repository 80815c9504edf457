"""Every registered cell in every task (issue 20, item 1): ``--cell NAME`` trains a tiny run of
each task (the stateful sine stream too), the run loads, predicts (a language model generates
with carried state) and its recurrent layers are of that cell. LSTM and GRU are exercised by
every other test; here the cells without a fused kernel, which run on the reference loop."""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import numpy as np
import pytest

import lstmkit
from lstmkit.cli import main
from lstmkit.nn import cells

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from workspace import TRAIN_FLAGS, _write_data  # noqa: E402

LOOP_CELLS = [name for name in cells.names() if not cells.REGISTRY[name].native_kernel]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return _write_data(tmp_path_factory.mktemp("cells") / "data")


def _train(task: str, cell: str, data: dict, run: Path, *extra: str) -> None:
    argv = ["train", task, "--data", str(data.get(task, "sine")), "--run-dir", str(run), "--epochs", "1",
            "--no-progress", "-q", "--cell", cell, "--set", "model.hidden_size=8", *TRAIN_FLAGS.get(task, []), *extra]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0, argv


def _cells_in(model) -> set[str]:
    return {m.cell_name for m in model.modules() if getattr(m, "cell_name", "")}


@pytest.mark.parametrize("cell", LOOP_CELLS)
@pytest.mark.parametrize("task", ["lm", "classify", "tag", "forecast", "image"])
def test_every_task_trains_loads_and_predicts_with_the_cell(task, cell, data, tmp_path):
    run = tmp_path / "run"
    _train(task, cell, data, run)
    loaded = lstmkit.load(run)
    found = _cells_in(loaded.model)        # the tagger's character encoder stays an LSTM
    assert loaded.cfg.model.cell == cell and cell in found and found <= {cell, "lstm"}
    if task == "lm":
        text = loaded.generate("the ", length=10, temperature=0.8, seed=0)
        assert text.startswith("the ") and text == loaded.generate("the ", length=10, temperature=0.8, seed=0)
    elif task == "classify":
        assert {p["label"] for p in loaded.predict(["the film was great 1", "the film was dull 2"])} <= {"pos", "neg"}
    elif task == "tag":
        assert [w for w, _ in loaded.predict(["the cat runs"])[0]] == ["the", "cat", "runs"]
    elif task == "forecast":
        assert len(loaded.predict(str(data["forecast"]))) == 2                    # --horizon 2
    else:
        image = np.zeros((28, 28), dtype=np.float32)
        assert 0 <= loaded.predict([image])[0]["label"] <= 9


@pytest.mark.parametrize("cell", LOOP_CELLS)
def test_the_stateful_sine_stream_trains_with_the_cell(cell, data, tmp_path):
    run = tmp_path / "sine"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["train", "forecast", "--data", "sine", "--stateful", "--run-dir", str(run), "--epochs", "1",
                     "--no-progress", "-q", "--cell", cell, "--set", "model.hidden_size=8",
                     "--set", "forecast.input_len=50"]) == 0
    import json

    scores = json.loads((run / "eval.json").read_text())
    assert np.isfinite(scores["mse"])

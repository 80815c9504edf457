"""A task added from outside (issue 19, item 2): ``tests/toy_task.py`` is registered and runs
through train, eval, predict, config, the Python API, the server and export, with nothing in
``src/`` naming it; and an installed package adds a task through the ``lstmkit.tasks``
entry-point group."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lstmkit
from lstmkit import tasks
from lstmkit.cli import main
from lstmkit.errors import ConfigError

import toy_task  # noqa: E402 - the suite's own task, in tests/

HERE = Path(__file__).resolve().parent
OBVIOUS = ["9 9 9 9 9 9 9 9", "-9 -9 -9 -9 -9 -9 -9 -9"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The task registered (its section read from the class), trained once by the command line."""
    tasks.register(toy_task.NAME, "toy_task:ToyTask")
    root = tmp_path_factory.mktemp("toy")
    rows = toy_task.write_rows(root / "rows.txt", 600)
    run = root / "run"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["train", "toy", "--data", str(rows), "--run-dir", str(run), "--epochs", "25", "--no-progress",
                     "--hidden-size", "16", "--set", "toy.scale=9"])
    assert code == 0, out.getvalue()
    yield {"rows": rows, "run": run, "root": root, "train_out": out.getvalue()}
    tasks.unregister(toy_task.NAME)


def _cli(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(argv)) == 0, out.getvalue()
    return out.getvalue()


def test_the_command_line_trains_evaluates_predicts_and_describes_it(toy):
    assert "test accuracy" in toy["train_out"]
    cfg = json.loads((toy["run"] / "config.json").read_text())
    assert set(cfg) == {"format_version", "task", "model", "data", "vectors", "train", "toy"}
    assert cfg["toy"] == {"scale": 9.0}
    report = _cli("eval", str(toy["run"]), "--data", str(toy["rows"]))
    accuracy = json.loads((toy["run"] / "eval.json").read_text())["accuracy"]
    assert accuracy > 0.85, report                       # the sign of a sum is learnt, not guessed
    lines = _cli("predict", str(toy["run"]), *OBVIOUS).splitlines()
    assert [line.split("\t")[0] for line in lines] == ["pos", "neg"]
    described = _cli("config", "toy")
    assert "toy.scale" in described and "numbers are divided by this" in described
    assert "toy" in _cli_help("train", "--help")


def _cli_help(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(list(argv))
    return out.getvalue()


def test_the_python_api_trains_and_loads_it(toy, tmp_path):
    run = lstmkit.train("toy", str(toy["rows"]), run_dir=tmp_path / "api", epochs=2, scale=9.0)
    assert run.task == "toy" and run.cfg.toy.scale == 9.0
    loaded = lstmkit.load(toy["run"])
    assert [p["label"] for p in loaded.predict(OBVIOUS)] == ["pos", "neg"]
    assert lstmkit.tasks.names()[-1] == "toy"
    with pytest.raises(ConfigError, match="toy.scale=5.0 is not used by task lm"):
        lstmkit.config.apply_overrides(lstmkit.config.RunConfig(), ["toy.scale=5"])


def test_the_server_answers_predict_for_it(toy):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from lstmkit.serve.app import create_app

    with TestClient(create_app([toy["run"]])) as client:
        models = client.get("/models").json()
        assert [m["task"] for m in models] == ["toy"]
        answer = client.post("/predict", json={"texts": OBVIOUS})
        assert answer.status_code == 200, answer.text
        assert [r["label"] for r in answer.json()["results"]] == ["pos", "neg"]
        wrong = client.post("/predict", json={"images": [[[0.0]]]})
        assert wrong.status_code == 400 and "reads \"texts\"" in wrong.json()["error"], wrong.text


def test_export_writes_a_graph_that_gives_its_probabilities(toy):
    ort = pytest.importorskip("onnxruntime")
    import numpy as np
    import torch

    path = toy["root"] / "toy.onnx"
    _cli("export", str(toy["run"]), "--output", str(path))
    x = np.array([[float(v) for v in row.split()] for row in OBVIOUS], dtype=np.float32)
    got = ort.InferenceSession(str(path)).run(None, {"numbers": x})[0]
    run = lstmkit.load(toy["run"])
    with torch.no_grad():
        want = torch.softmax(run.model(torch.from_numpy(x)), -1).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    from lstmkit.exported import load_exported

    assert np.allclose(load_exported(path)(numbers=x)["probabilities"], want, atol=1e-6)     # its sidecar's checks included


def test_register_refuses_taken_and_malformed_names():
    with pytest.raises(ConfigError, match="already registered"):
        tasks.register("lm", "toy_task:ToyTask")
    with pytest.raises(ConfigError, match="shares"):
        tasks.register("model", "toy_task:ToyTask")
    with pytest.raises(ConfigError, match="lower-case"):
        tasks.register("Toy Task", "toy_task:ToyTask")
    with pytest.raises(ConfigError, match="'module:Class'"):
        tasks.register("toy2", "toy_task.ToyTask")


def test_an_installed_package_adds_a_task_by_entry_point(tmp_path):
    """A fresh process that finds a distribution with a ``lstmkit.tasks`` entry point lists and
    describes its task, with no register() call anywhere."""
    dist = tmp_path / "toy_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[lstmkit.tasks]\ntoy = toy_task:ToyTask\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(HERE), os.environ.get("PYTHONPATH", "")])}
    code = "import sys; from lstmkit.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-c", code, "config", "toy"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "toy.scale" in done.stdout


def test_a_broken_installed_task_is_left_out_with_a_warning_not_the_command_line(tmp_path):
    """An entry point whose module is missing, or raises on import, or two packages declaring
    one name: lstmkit --help and the shipped tasks still work, and a warning names the problem."""
    for dist, points in (("ghost", "ghost = nowhere.mod:GhostTask\n"), ("twice_a", "twice = toy_task:ToyTask\n"),
                         ("twice_b", "twice = toy_task:ToyTask\n"), ("bad", "lm = toy_task:ToyTask\n")):
        folder = tmp_path / f"{dist}-0.1.dist-info"
        folder.mkdir()
        (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
        (folder / "entry_points.txt").write_text(f"[lstmkit.tasks]\n{points}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(HERE), os.environ.get("PYTHONPATH", "")])}
    code = "import sys; from lstmkit.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-c", code, "train", "--help"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "lm" in done.stdout and "ghost" not in done.stdout
    assert "task 'ghost' is left out" in done.stderr and "No module named 'nowhere'" in done.stderr
    assert "declared by" in done.stderr and "'lm' of bad is left out" in done.stderr


def test_a_run_of_a_task_not_installed_says_so(toy, tmp_path):
    tasks.unregister(toy_task.NAME)
    try:
        with pytest.raises(lstmkit.errors.RunDirError, match="task 'toy', which is not installed here"):
            lstmkit.load(toy["run"])
    finally:
        tasks.register(toy_task.NAME, "toy_task:ToyTask")


def test_a_section_that_is_not_a_frozen_dataclass_of_plain_fields_is_refused():
    from dataclasses import dataclass

    from lstmkit import registry

    class Plain:
        scale = 1.0

    @dataclass(frozen=True)
    class Optional_:
        cap: "float | None" = None

    for section, message in ((Plain, "must be a frozen dataclass"), (Optional_, "bool, int, float or str")):
        tasks.register("toy_bad", "toy_task:ToyTask", section)
        try:
            with pytest.raises(ConfigError, match=message):
                registry.section_type("toy_bad")
        finally:
            tasks.unregister("toy_bad")

"""The README's Python API example runs as it stands and its models predict sensibly."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def api_example() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- api-example -->\n```python\n(.*?)```", text, re.S)
    assert match, "README.md lost its <!-- api-example --> block"
    return match.group(1)


def test_readme_api_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(out):
        exec(compile(api_example(), "README.md:api-example", "exec"), namespace)
    lines = out.getvalue().splitlines()
    # the classifier learned the toy sentiment: labels of the two new texts
    predictions = eval(lines[0])                       # printed list of dicts
    assert [p["label"] for p in predictions] == ["pos", "neg"]
    assert all(abs(sum(p["probabilities"].values()) - 1) < 1e-5 for p in predictions)
    # the tagger returns (word, tag) pairs for each word of the text
    tagged = eval(lines[1])
    assert [w for w, _ in tagged] == ["the", "young", "man", "runs"]
    assert [t for _, t in tagged] == ["DET", "ADJ", "NOUN", "VERB"]
    # generation continues the prefix; streaming yields the prefix and 20 characters
    assert lines[2].startswith("the time") and len(lines[2]) == len("the time") + 50
    assert lines[3].startswith("the time") and len(lines[3]) == len("the time") + 20
    # the forecaster gives horizon rows with the target column
    first = eval(lines[4])
    assert [r["step"] for r in first] == [1, 2] and all(isinstance(r["y"], float) for r in first)
    for name in ("api-classify", "api-tag", "api-lm", "api-fc"):
        assert (tmp_path / "runs" / name / "model.safetensors").is_file()


def test_readme_cells_example_runs() -> None:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- cells-example -->\n```python\n(.*?)```", text, re.S)
    assert match, "README.md lost its <!-- cells-example --> block"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(match.group(1), "README.md:cells-example", "exec"), {})
    from lstmkit.nn import cells

    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["lstm", "gru", "peephole", "lnlstm", "mingru", "minlstm"]
    assert all(line.endswith("(4, 10, 32)") for line in lines)
    assert set(cells.names()) >= {"lstm", "gru", "peephole", "lnlstm"}

"""Run directories saved by older lstmkit still load and predict what they predicted when they
were saved: format 2 (lstmkit 0.2, before manifests; tests/fixtures/runs_format2) and format 3
(every task's section in config.json, with a manifest; tests/fixtures/runs_format3, written by
the code before one folder per task)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import lstmkit
from lstmkit.training import manifest

FIXTURES = Path(__file__).parent.parent / "fixtures" / "runs_format2"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


def _copier(tmp_path: Path, fixtures: Path):
    def copy(task: str) -> Path:
        shutil.copytree(fixtures / task, tmp_path / task)
        return tmp_path / task
    return copy


@pytest.fixture()
def old(tmp_path):
    return _copier(tmp_path, FIXTURES)


@pytest.mark.parametrize("version", [2, 3])
def test_old_runs_predict_as_when_they_were_saved(tmp_path, version: int) -> None:
    fixtures = FIXTURES.parent / f"runs_format{version}"
    old, expected = _copier(tmp_path, fixtures), json.loads((fixtures / "expected.json").read_text())
    assert json.loads((fixtures / "lm" / "config.json").read_text())["format_version"] == version
    assert lstmkit.load(old("classify")).predict(["the film was great", "a dull plot"]) == expected["classify"]
    tagged = lstmkit.load(old("tag")).predict(["the dog runs", "a cat"])
    assert [[list(p) for p in s] for s in tagged] == expected["tag"]
    assert lstmkit.load(old("lm")).generate("the quick", length=20) == expected["lm"]
    image = np.zeros((28, 28), dtype=np.float32)
    image[6:8, 4:24] = 250
    assert lstmkit.load(old("image")).predict([image]) == expected["image"]
    assert lstmkit.load(old("forecast")).predict(str(fixtures / "recent.csv")) == expected["forecast"]


def test_format_2_runs_have_no_manifest_and_are_not_given_one_by_loading(old) -> None:
    run = old("classify")
    lstmkit.load(run).predict("a film")
    assert manifest.read_manifest(run) is None

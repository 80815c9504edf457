"""Run directories saved by lstmkit 0.2 before manifests (config format 2, kept in
tests/fixtures/runs_format2) still load and predict what they predicted when they were saved."""

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


@pytest.fixture()
def old(tmp_path):
    def copy(task: str) -> Path:
        shutil.copytree(FIXTURES / task, tmp_path / task)
        return tmp_path / task
    return copy


def test_format_2_runs_predict_as_when_they_were_saved(old) -> None:
    assert lstmkit.load(old("classify")).predict(["the film was great", "a dull plot"]) == EXPECTED["classify"]
    tagged = lstmkit.load(old("tag")).predict(["the dog runs", "a cat"])
    assert [[list(p) for p in s] for s in tagged] == EXPECTED["tag"]
    assert lstmkit.load(old("lm")).generate("the quick", length=20) == EXPECTED["lm"]
    image = np.zeros((28, 28), dtype=np.float32)
    image[6:8, 4:24] = 250
    assert lstmkit.load(old("image")).predict([image]) == EXPECTED["image"]
    assert lstmkit.load(old("forecast")).predict(str(FIXTURES / "recent.csv")) == EXPECTED["forecast"]


def test_format_2_runs_have_no_manifest_and_are_not_given_one_by_loading(old) -> None:
    run = old("classify")
    lstmkit.load(run).predict("a film")
    assert manifest.read_manifest(run) is None

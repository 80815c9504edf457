"""Loading a run (issue 19, item 7): each of its files is read at most twice (once for its
checksum against the manifest, once for its contents), ``config.json`` is parsed once and the
model is built once, whatever the task."""

from __future__ import annotations

import builtins
import collections
import io
import shutil
from pathlib import Path

import pytest

import lstmkit
from lstmkit.training import checkpoint

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runs_format3"


@pytest.mark.parametrize("task", ["classify", "tag", "lm", "forecast", "image"])
def test_loading_reads_each_file_at_most_twice_and_builds_once(task, tmp_path, monkeypatch):
    run = shutil.copytree(FIXTURES / task, tmp_path / task)
    opened: collections.Counter[str] = collections.Counter()
    real_open = io.open

    def counting_open(file, *args, **kwargs):
        if isinstance(file, (str, Path)) and Path(file).parent == run:
            opened[Path(file).name] += 1
        return real_open(file, *args, **kwargs)

    parsed, built = [], []
    real_parse, real_build = checkpoint._parse_run_config, checkpoint.build_and_load
    monkeypatch.setattr(io, "open", counting_open)
    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(checkpoint, "_parse_run_config", lambda d: parsed.append(d) or real_parse(d))
    monkeypatch.setattr(checkpoint, "build_and_load", lambda *a, **k: built.append(a) or real_build(*a, **k))
    loaded = lstmkit.load(run)
    assert loaded.task == task
    assert len(parsed) == 1 and len(built) == 1
    assert opened["manifest.json"] == 1 and opened["config.json"] == 2, opened
    assert max(opened.values()) <= 2, opened


def test_the_run_names_its_record_files_as_the_checkpoint_does():
    """tasks/run.py names metrics.json and eval.json itself, to import without torch."""
    from lstmkit.tasks import run

    assert (run.METRICS, run.SCORES) == (checkpoint.METRICS, checkpoint.SCORES)

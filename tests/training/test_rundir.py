"""Claiming and clearing run directories (lstmkit.training.rundir): --overwrite removes only
lstmkit's own run, only after the new run's data are read; two trainings on one folder never
destroy each other; a folder that is not an lstmkit run is never trained into or cleared."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import lstmkit
from lstmkit.cli import main
from lstmkit.training.manifest import read_manifest

TEXT = "the quick brown fox jumps over the lazy dog.\n" * 30
SMALL = ["--epochs", "1", "--no-progress", "-q", "--set", "model.hidden_size=8", "--set", "lm.num_steps=8",
         "--gen-length", "0"]


@pytest.fixture()
def trained(tmp_path) -> Path:
    data = tmp_path / "tiny.txt"
    data.write_text(TEXT)
    run = tmp_path / "runB"
    assert main(["train", "lm", "--data", str(data), "--run-dir", str(run), *SMALL]) == 0
    return run


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("bad_data", ["tiny.txtt", "empty.txt", "nothing-here/"])
def test_overwrite_with_bad_data_keeps_the_old_run_whole(trained, tmp_path, bad_data, capsys) -> None:
    (tmp_path / "empty.txt").write_text("")
    before = _snapshot(trained)
    assert main(["train", "lm", "--data", str(tmp_path / bad_data), "--run-dir", str(trained), "--overwrite",
                 *SMALL]) == 2
    assert "lstmkit: error:" in capsys.readouterr().err
    assert _snapshot(trained) == before
    lstmkit.load(trained).generate("the", length=5)


def test_overwrite_replaces_the_run_and_keeps_what_lstmkit_did_not_write(trained, tmp_path) -> None:
    (trained / "notes.txt").write_text("mine")
    (trained / "src").mkdir()
    (trained / "src" / "code.py").write_text("print(1)")
    old_id = read_manifest(trained)["run_id"]
    assert main(["train", "lm", "--data", str(tmp_path / "tiny.txt"), "--run-dir", str(trained), "--overwrite",
                 *SMALL]) == 0
    assert (trained / "notes.txt").read_text() == "mine" and (trained / "src" / "code.py").exists()
    assert read_manifest(trained)["run_id"] != old_id
    lstmkit.load(trained).generate("the", length=5)


def test_a_folder_that_is_not_an_lstmkit_run_is_never_cleared(tmp_path, capsys) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "config.json").write_text('{"name": "my app"}')
    (project / "notes.txt").write_text("mine")
    before = _snapshot(project)
    (tmp_path / "tiny.txt").write_text(TEXT)
    for extra in (["--overwrite"], []):
        assert main(["train", "lm", "--data", str(tmp_path / "tiny.txt"), "--run-dir", str(project), *extra,
                     *SMALL]) == 2
        assert "not a run lstmkit made" in capsys.readouterr().err
    assert _snapshot(project) == before


def test_data_the_api_stored_in_the_run_is_read_before_the_old_run_is_cleared(tmp_path) -> None:
    rows = [("a great film", "pos"), ("a dull film", "neg")] * 10
    lstmkit.train("classify", data=rows, run_dir=tmp_path / "runA", epochs=1, hidden_size=8, embedding_dim=8,
                  data__min_freq=1)
    stored = tmp_path / "runA" / "data" / "train.jsonl"
    assert main(["train", "classify", "--data", str(stored), "--run-dir", str(tmp_path / "runA"), "--overwrite",
                 "--epochs", "1", "--no-progress", "-q", "--set", "model.hidden_size=8",
                 "--set", "data.min_freq=1"]) == 0
    assert stored.is_file()                                   # an input of the new run stays
    assert lstmkit.load(tmp_path / "runA").predict("a great film")[0]["label"] in ("pos", "neg")
    again = lstmkit.train("classify", data=rows[::-1], run_dir=tmp_path / "runA", overwrite=True, epochs=1,
                          hidden_size=8, embedding_dim=8, data__min_freq=1)
    assert again.predict("a great film")[0]["label"] in ("pos", "neg")


def test_two_trainings_started_at_once_on_one_new_folder(tmp_path) -> None:
    (tmp_path / "tiny.txt").write_text(TEXT * 20)
    run = tmp_path / "shared-run"
    argv = [sys.executable, "-m", "lstmkit.cli", "train", "lm", "--data", str(tmp_path / "tiny.txt"),
            "--run-dir", str(run), "--epochs", "2", "--no-progress", "-q", "--set", "model.hidden_size=8",
            "--gen-length", "0"]
    procs = [subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    codes = [p.wait(timeout=300) for p in procs]
    errors = [p.stderr.read().decode() for p in procs]
    assert sorted(codes) == [0, 2], (codes, errors)
    refused = errors[codes.index(2)]
    assert "being trained by another process" in refused or "already holds a run" in refused, refused
    lstmkit.load(run).generate("the", length=5)               # the live run survived the refused one
    assert len(json.loads((run / "metrics.json").read_text())) == 2


def test_overwrite_refuses_a_run_being_trained(trained, tmp_path, capsys) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (trained / ".lock").write_text(str(sleeper.pid))
        before = _snapshot(trained)
        assert main(["train", "lm", "--data", str(tmp_path / "tiny.txt"), "--run-dir", str(trained), "--overwrite",
                     *SMALL]) == 2
        assert "being trained by another process" in capsys.readouterr().err
        assert _snapshot(trained) == before
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_failed_new_run_leaves_nothing_and_a_refused_one_touches_nothing(tmp_path) -> None:
    (tmp_path / "empty.txt").write_text("")
    assert main(["train", "lm", "--data", str(tmp_path / "empty.txt"), "--run-dir", str(tmp_path / "new"),
                 *SMALL]) == 2
    assert not (tmp_path / "new").exists()


# --- found by a tester after the cases above were written ------------------------------------

@pytest.mark.parametrize("folder, names", [("data", ["train.txt", "valid.txt"]),
                                           ("vectors", ["vectors.txt", "vectors.vocab.json"])])
def test_overwrite_never_deletes_through_a_linked_subfolder(trained, tmp_path, folder, names) -> None:
    """A run's data/ or vectors/ replaced by a link to the user's own folder: --overwrite removed
    the user's files through it. Now the link is never followed."""
    mine = tmp_path / "mine"
    mine.mkdir()
    for name in names:
        (mine / name).write_text("precious\n")
    if (trained / folder).exists():
        import shutil

        shutil.rmtree(trained / folder)
    (trained / folder).symlink_to(mine, target_is_directory=True)
    data = tmp_path / "tiny.txt"
    assert main(["train", "lm", "--data", str(data), "--run-dir", str(trained), "--overwrite", *SMALL]) == 0
    assert sorted(p.name for p in mine.iterdir()) == sorted(names)
    assert all((mine / n).read_text() == "precious\n" for n in names)


def test_weights_saved_with_a_manifest_need_it_whatever_the_config_says(trained, capsys) -> None:
    """Deleting manifest.json and writing format_version 2 into config.json got past every
    check (then labels or vocabularies could be swapped silently)."""
    (trained / "manifest.json").unlink()
    config = json.loads((trained / "config.json").read_text())
    config["format_version"] = 2
    (trained / "config.json").write_text(json.dumps(config))
    assert main(["generate", str(trained), "--prefix", "the", "--length", "3"]) == 2
    err = capsys.readouterr().err
    assert "saved by a run with a manifest" in err and "manifest.json" in err


def test_a_failed_new_run_leaves_no_empty_parent_folders(tmp_path, capsys) -> None:
    assert main(["train", "lm", "--data", str(tmp_path / "missing.txt"), "--run-dir",
                 str(tmp_path / "deep1" / "deep2" / "run"), *SMALL]) == 2
    assert not (tmp_path / "deep1").exists()


def test_a_folder_without_a_finished_run_says_why(tmp_path) -> None:
    """Found by a tester: a run killed during --overwrite, before its first save, was called
    'not a run directory'; a run file linked to a device was called 'missing'."""
    import os

    from lstmkit.errors import RunDirError

    folder = tmp_path / "killed"
    folder.mkdir()
    (folder / ".lock").write_text("999999999")                     # the pid of a training that is gone
    with pytest.raises(RunDirError, match="stopped before it saved its first epoch.*train again"):
        lstmkit.load(folder)
    (folder / ".lock").write_text(str(os.getpid()))                # a live one
    with pytest.raises(RunDirError, match=rf"is being trained \(pid {os.getpid()}\)"):
        lstmkit.load(folder)
    (tmp_path / "other").mkdir()
    with pytest.raises(RunDirError, match="is not a run directory"):
        lstmkit.load(tmp_path / "other")


def test_a_run_file_linked_to_a_device_is_named_as_such(trained) -> None:
    from lstmkit.errors import RunDirError

    for name in ("config.json", "vocab.json"):
        target = trained / name
        saved = target.read_bytes()
        target.unlink()
        target.symlink_to("/dev/null")
        with pytest.raises(RunDirError, match=rf"{name}' is a character device"):
            lstmkit.load(trained)
        target.unlink()
        target.write_bytes(saved)
    assert lstmkit.load(trained).task


def test_a_dangling_link_as_run_dir_and_a_folder_as_config(tmp_path, capsys) -> None:
    data = tmp_path / "tiny.txt"
    data.write_text(TEXT)
    (tmp_path / "dang").symlink_to(tmp_path / "nowhere")
    assert main(["train", "lm", "--data", str(data), "--run-dir", str(tmp_path / "dang"), *SMALL]) == 2
    assert "is a link to" in capsys.readouterr().err and not (tmp_path / "nowhere").exists()
    assert main(["train", "lm", "--data", str(data), "--config", str(tmp_path), "--run-dir", str(tmp_path / "r"),
                 *SMALL]) == 2
    assert "is a directory; pass the TOML file inside it" in capsys.readouterr().err


def test_a_marked_run_without_weights_is_not_offered_to_resume(tmp_path, capsys) -> None:
    """Found by a tester: a run killed after its manifest but before its first epoch was told
    "already holds a run ... or --resume", and --resume then said it holds no run."""
    from lstmkit.training import manifest

    folder = tmp_path / "partial"
    folder.mkdir()
    manifest._write(folder, manifest.new_run_id(), {})
    (folder / "notes.txt").write_text("mine")
    data = tmp_path / "t.txt"
    data.write_text("the quick brown fox jumps over the lazy dog\n" * 50)
    assert main(["train", "lm", "--data", str(data), "--run-dir", str(folder), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "stopped before it saved its first epoch (nothing to resume); pass --overwrite" in err, err
    assert "--resume" not in err and (folder / "notes.txt").read_text() == "mine"


def test_a_dash_for_a_file_is_said_to_be_no_standard_input() -> None:
    from lstmkit.data.text import check_path
    from lstmkit.errors import DataError

    with pytest.raises(DataError, match="text file '-' would be a file named '-', not the standard input"):
        check_path("-", "text file")


def test_one_default_run_dir_name_for_the_cli_and_the_api(tmp_path) -> None:
    """Issue 19: the CLI named runs by the second and the API by the microsecond, in two
    functions; one now, readable, and a second run in the same second gets -2."""
    import re

    from lstmkit.training.rundir import default_run_dir

    first = default_run_dir("tag", tmp_path)
    assert re.fullmatch(r"tag-\d{8}-\d{6}", first.name), first
    first.mkdir()
    (tmp_path / f"{first.name}-2").mkdir()
    second = default_run_dir("tag", tmp_path)
    assert second != first and not second.exists()           # -3 in the same second, else the next second's

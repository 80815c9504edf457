"""The command line's shared behaviour: help and config listings, quiet mode, progress bars,
encodings, working directories, refused options, overwrite and resume rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lstmkit.cli import main
from lstmkit.tasks import names as task_names

SMALL = ["--set", "model.hidden_size=16", "--set", "model.embedding_dim=8", "--set", "train.batch_size=8"]


def _error(capsys) -> str:
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("lstmkit: error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


def _table(path: Path, n: int, encoding: str = "utf-8") -> Path:
    rows = ["text,label"] + [f"{'un café superbe' if i % 2 else 'un café terne'} numéro {i % 7},{'pos' if i % 2 else 'neg'}"
                             for i in range(n)]
    path.write_text("\n".join(rows) + "\n", encoding=encoding)
    return path


@pytest.fixture(scope="module")
def classify_run(tmp_path_factory) -> Path:
    """A tiny classifier trained on a cp1252 table, its config pointing at relative paths."""
    root = tmp_path_factory.mktemp("cls")
    _table(root / "train.csv", 60, "cp1252")
    run = root / "run"
    import os

    cwd = os.getcwd()
    os.chdir(root)                                   # relative --data, as a user types it
    try:
        assert main(["train", "classify", "--data", "train.csv", "--run-dir", "run", "--epochs", "1",
                     "--set", "data.encoding=cp1252", "--set", "data.min_freq=1", "--no-progress", *SMALL]) == 0
    finally:
        os.chdir(cwd)
    return run


@pytest.mark.parametrize("task", list(task_names()))
def test_config_lists_every_setting_with_default_and_meaning(task, capsys):
    assert main(["config", task]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"settings of task {task}")
    fields = {line.split()[0] for line in lines[1:]}
    assert {"train.lr", "train.epochs", "model.hidden_size"} <= fields
    assert f"{task}.x" not in fields
    assert all(len(line.split(None, 2)) == 3 for line in lines[1:])      # key, default, meaning


def test_unknown_task_for_config_is_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["config", "translate"])
    assert stop.value.code == 2 and "invalid choice: 'translate'" in capsys.readouterr().err


@pytest.mark.parametrize("task", list(task_names()))
def test_train_help_shows_meanings_and_this_tasks_defaults(task, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", task, "--help"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--epochs" in text and "--resume" in text and "--overwrite" in text
    from lstmkit.tasks import get_task

    epochs = get_task(task).defaults.train.epochs
    help_of_epochs = text.split("--epochs EPOCHS ", 1)[1][:200]            # the option's entry, not the usage line
    assert "passes over the training data" in help_of_epochs and f"(default: {epochs})" in help_of_epochs


def test_quiet_after_the_subcommand_and_no_progress_bar_without_a_terminal(tiny_text_file, tmp_path, capsys):
    assert main(["train", "lm", "--data", str(tiny_text_file), "--run-dir", str(tmp_path / "a"), "--epochs", "1",
                 *SMALL]) == 0
    err = capsys.readouterr().err
    assert "training lm" in err                              # informational lines by default
    assert "\r" not in err and "it/s" not in err             # stderr is not a terminal: no bar redraws
    assert main(["train", "lm", "--data", str(tiny_text_file), "--run-dir", str(tmp_path / "b"), "--epochs", "1",
                 "-q", *SMALL]) == 0
    captured = capsys.readouterr()
    assert "training lm" not in captured.err and "perplexity" in captured.out


def test_eval_refuses_a_utf8_file_read_with_the_runs_encoding(classify_run, tmp_path, capsys):
    test = _table(tmp_path / "test.csv", 20, "utf-8")        # 'café' in UTF-8, the run trained on cp1252
    assert main(["eval", str(classify_run), "--data", str(test)]) == 2
    message = _error(capsys)
    assert "cp1252" in message and "--encoding" in message and str(test) in message
    assert main(["eval", str(classify_run), "--data", str(test), "--encoding", "utf-8"]) == 0
    assert "accuracy" in capsys.readouterr().out


def test_eval_works_from_another_working_directory(classify_run, tmp_path, monkeypatch, capsys):
    cfg = json.loads((classify_run / "config.json").read_text())
    assert Path(cfg["data"]["path"]).is_absolute()           # stored absolute, whatever was typed
    monkeypatch.chdir(tmp_path)
    assert main(["eval", str(classify_run), "--data", cfg["data"]["path"], "--device", "cpu"]) == 0
    assert "accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["--invert", "some text"], "--invert is not used"),
    (["--tokenizer", "jieba", "some text"], "--tokenizer is not used"),
    (["--data", "x.csv", "some text"], "--data is not used"),
])
def test_predict_refuses_options_the_run_does_not_use(classify_run, capsys, args, message):
    assert main(["predict", str(classify_run), *args]) == 2
    assert message in _error(capsys)


def test_generate_on_a_classifier_points_to_predict(classify_run, capsys):
    assert main(["generate", str(classify_run), "--prefix", "a"]) == 2
    assert "generate needs a language model" in _error(capsys)


def test_eval_and_predict_refuse_a_device_that_is_not_there(classify_run, capsys):
    assert main(["predict", str(classify_run), "un café", "--device", "tpu"]) == 2
    assert "tpu" in _error(capsys)


def test_overwrite_starts_clean(tiny_text_file, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "lm", "--data", str(tiny_text_file), "--run-dir", str(run), "--epochs", "1", "-q", *SMALL]
    assert main(args) == 0
    (run / "eval.json").write_text('{"valid_ppl": 1.0}')    # an old score
    (run / "confusion.png").write_bytes(b"old plot")
    assert main([*args, "--overwrite"]) == 0
    assert not (run / "confusion.png").exists()             # nothing of the old run stays
    assert json.loads((run / "eval.json").read_text())["valid_ppl"] > 1.0


def test_resume_takes_the_runs_own_command(tiny_text_file, tmp_path, capsys):
    """Issue 19: re-running the training command with --resume (as with Keras or Lightning)
    was refused ("only --epochs may change") although nothing else changed."""
    run = tmp_path / "run"
    command = ["train", "lm", "--data", str(tiny_text_file), "--run-dir", str(run), "-q", *SMALL]
    assert main([*command, "--epochs", "1"]) == 0
    assert main([*command, "--epochs", "2", "--resume", "--set", "train.max_minutes=30"]) == 0
    assert [m["epoch"] for m in json.loads((run / "metrics.json").read_text())] == [1, 2]
    assert json.loads((run / "config.json").read_text())["train"]["max_minutes"] == 30
    capsys.readouterr()
    assert main([*command, "--epochs", "3", "--resume", "--num-layers", "2"]) == 2
    assert "model.num_layers differs: the run has 1, this command 2" in _error(capsys)


def test_resume_refuses_other_settings(tiny_text_file, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "lm", "--data", str(tiny_text_file), "--run-dir", str(run), "--epochs", "1", "-q", *SMALL]) == 0
    capsys.readouterr()
    assert main(["train", "lm", "--resume", "--run-dir", str(run), "--set", "train.lr=0.1"]) == 2
    assert "train.lr differs: the run has 0.005, this command 0.1; only --epochs and train.max_minutes may change" \
        in _error(capsys)
    assert main(["train", "tag", "--resume", "--run-dir", str(run), "--epochs", "2"]) == 2
    assert "holds a lm run" in _error(capsys)
    assert main(["train", "lm", "--resume", "--run-dir", str(run), "--epochs", "2", "-q"]) == 0
    assert [m["epoch"] for m in json.loads((run / "metrics.json").read_text())] == [1, 2]

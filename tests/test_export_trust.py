"""Exported graphs say their limits (issue 18, section 3 item 1): the length cap of a classifier
trained without one, and lengths outside [1, T] refused inside the ONNX graph (onnxruntime) and
the ``.pt2`` program (torch.export.load) instead of NaN or garbage."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from pathlib import Path

import pytest
import torch

from lstmkit.cli import main

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

T = 16                        # the exported length (UNCAPPED_LEN made small: the test stays fast)


def _train(argv: list[str]) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["-q", "train", *argv, "--epochs", "1", "--no-progress", "--set", "model.hidden_size=8",
                     "--set", "model.embedding_dim=8"]) == 0, argv


@pytest.fixture(scope="module")
def uncapped(tmp_path_factory):
    """A classifier trained with classify.max_len=0, exported to both formats with its warnings."""
    import lstmkit.tasks.classify.export as classify_export
    from lstmkit.export import export_run

    root = tmp_path_factory.mktemp("export-trust")
    data = root / "t.csv"
    data.write_text("text,label\n" + "".join(f"the film was {'great' if i % 2 else 'dull'} {i % 5},"
                                             f"{'pos' if i % 2 else 'neg'}\n" for i in range(40)))
    run = root / "run"
    _train(["classify", "--data", str(data), "--run-dir", str(run), "--set", "data.min_freq=1",
            "--set", "classify.max_len=0"])
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("lstmkit.export")
    logger.addHandler(handler)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(classify_export, "UNCAPPED_LEN", T)
            paths = {fmt: export_run(run, fmt, root / f"c.{fmt}") for fmt in ("onnx", "pt2")}
    finally:
        logger.removeHandler(handler)
    return run, paths, [r.getMessage() for r in records if r.levelno == logging.WARNING]


def _classify(fmt: str, path: Path, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    if fmt == "onnx":
        session = ort.InferenceSession(str(path))
        return torch.from_numpy(session.run(None, {"tokens": tokens.numpy(), "lengths": lengths.numpy()})[0])
    return torch.export.load(str(path)).module()(tokens, lengths)


def test_the_cap_of_an_uncapped_classifier_is_said_at_export(uncapped):
    _, paths, warnings = uncapped
    assert len(warnings) == 2 and all(f"exported for {T} tokens" in w and "classify.max_len=0" in w
                                      for w in warnings)
    for path in paths.values():
        sidecar = json.loads(Path(str(path) + ".json").read_text())
        assert sidecar["max_len"] == T and sidecar["example_shapes"]["tokens"] == [3, T]
        assert f"cut to their first {T}" in sidecar["max_len_note"]
        assert sidecar["checks"].startswith(f"lengths must be between 1 and {T}, tokens between 0 and ")


@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
def test_exported_classifier_refuses_bad_lengths(uncapped, fmt):
    _, paths, _ = uncapped
    tokens = torch.ones(2, T, dtype=torch.long)
    good = _classify(fmt, paths[fmt], tokens, torch.tensor([3, T]))
    assert torch.isfinite(good).all()
    for bad in (0, -1, T + 1):                                     # 0 gave NaN; -1 and T + 1 garbage
        with pytest.raises(Exception) as info:
            _classify(fmt, paths[fmt], tokens, torch.tensor([3, bad]))
        if fmt == "onnx":
            assert f"check_lengths_between_1_and_{T}" in str(info.value)
        else:
            assert isinstance(info.value, RuntimeError)
            assert f"lengths must be between 1 and {T}" in str(info.value)


@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
def test_exported_classifier_refuses_token_ids_outside_the_vocabulary(uncapped, fmt):
    """Found by a tester: ONNX's Gather read a negative id from the end of the embedding."""
    run, paths, _ = uncapped
    top = int(json.loads(Path(str(paths[fmt]) + ".json").read_text())["checks"].rsplit(" ", 1)[1])
    tokens = torch.ones(2, T, dtype=torch.long)
    tokens[1, 0] = top
    assert torch.isfinite(_classify(fmt, paths[fmt], tokens, torch.tensor([3, T]))).all()
    for bad in (-1, top + 1):
        tokens[1, 0] = bad
        with pytest.raises(Exception) as info:
            _classify(fmt, paths[fmt], tokens, torch.tensor([3, T]))
        if fmt == "onnx":
            assert f"check_tokens_between_0_and_{top}" in str(info.value)
        else:
            assert f"tokens must be between 0 and {top}" in str(info.value)


def test_the_eager_export_module_refuses_bad_lengths(uncapped):
    from lstmkit.export import export_spec

    run, _, _ = uncapped
    spec = export_spec(run)
    tokens = spec.example[0][:1]
    with pytest.raises(RuntimeError, match="lengths must be between 1 and"):
        spec.module(tokens, torch.tensor([0]))


def test_an_exported_tagger_refuses_a_word_of_no_characters(tmp_path):
    """Not in the issue: the tagger's second length input, ``char_lengths``, is checked too."""
    import lstmkit
    from lstmkit.export import export_run, export_spec
    from lstmkit.tasks.tag.export import dense_tag_inputs

    data = tmp_path / "tags.txt"
    data.write_text("\n".join(["the/DET cat/NOUN runs/VERB", "a/DET dog/NOUN sees/VERB the/DET bird/NOUN"] * 20) + "\n")
    _train(["tag", "--data", str(data), "--run-dir", str(tmp_path / "tag")])
    run = lstmkit.load(tmp_path / "tag")
    spec = export_spec(tmp_path / "tag", length=6)
    assert "char_lengths between 1 and" in spec.notes["checks"]
    program = torch.export.load(str(export_run(tmp_path / "tag", "pt2", tmp_path / "t.pt2", length=6))).module()
    inputs = dense_tag_inputs([["the", "cat"], ["a"]], run.vocabs, spec.example[0].shape[1])
    assert inputs[3].min() >= 1                                    # padding words have one character too
    program(*inputs)
    words, lengths, chars, char_lengths = (x.clone() for x in inputs)
    char_lengths[0] = 0
    with pytest.raises(RuntimeError, match="char_lengths must be between 1 and"):
        program(words, lengths, chars, char_lengths)
    lengths[1] = 0
    with pytest.raises(RuntimeError, match="lengths must be between 1 and"):
        program(words, lengths, chars, inputs[3])


def test_length_sets_the_exported_time_and_is_refused_where_it_does_not_apply(uncapped, tmp_path):
    """``--length`` gives a classifier (and a tagger) another T, without the uncapped warning;
    a bad value, or one for a task whose graph has its own length, is one clear line."""
    from lstmkit.export import export_spec

    run, _, _ = uncapped
    spec = export_spec(run, length=5)
    assert spec.example[0].shape == (3, 5) and "max_len_note" not in spec.notes
    assert spec.notes["checks"].startswith("lengths must be between 1 and 5, tokens between 0 and ")
    for bad in ("0", "-3", "70000"):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            assert main(["export", str(run), "--length", bad, "--output", str(tmp_path / "x.onnx")]) == 2
        assert "length must be" in err.getvalue() and f"got {int(bad):,}" in err.getvalue()
        assert not (tmp_path / "x.onnx").exists()
    forecast = Path(__file__).parent / "fixtures" / "runs_format2" / "forecast"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["export", str(forecast), "--length", "8", "--output", str(tmp_path / "f.onnx")]) == 2
    assert "--length does not apply to a forecast run" in err.getvalue()


def test_the_cap_is_the_last_thing_the_export_command_says(uncapped, tmp_path, capsys, monkeypatch):
    """Found by a tester: the warning was printed first, then buried under the ONNX exporter's
    hundred lines of "Replaced initializer ..."."""
    import lstmkit.tasks.classify.export as classify_export

    run, _, _ = uncapped
    monkeypatch.setattr(classify_export, "UNCAPPED_LEN", T)
    assert main(["export", str(run), "--output", str(tmp_path / "c.onnx")]) == 0
    out, err = capsys.readouterr()
    assert out.strip().splitlines()[-1].startswith(f"note: trained with classify.max_len=0 (no cap), exported for {T}")
    assert "Replaced initializer" not in err and "torchvision" not in err


@pytest.mark.parametrize("task, name, bad, rule", [("forecast", "series", float("nan"), "check_series_finite"),
                                                   ("forecast", "series", float("inf"), "check_series_finite"),
                                                   ("image", "pixels", -100.0, "check_pixels_between_0_and_255")])
def test_exported_graphs_refuse_floats_that_are_not_numbers(tmp_path, task, name, bad, rule):
    """Found by a tester: the ONNX forecaster turned an all-NaN series into a believable
    forecast, and NaN or negative pixels gave finite probabilities."""
    from lstmkit.export import export_run

    run = Path(__file__).parent / "fixtures" / "runs_format2" / task
    onnx_path = export_run(run, "onnx", tmp_path / "m.onnx")
    session = ort.InferenceSession(str(onnx_path))
    dims = [1] + [d if isinstance(d, int) else 28 for d in session.get_inputs()[0].shape[1:]]
    x = torch.full(dims, 10.0).numpy()
    assert torch.isfinite(torch.from_numpy(session.run(None, {name: x})[0])).all()
    x.flat[0] = bad
    with pytest.raises(Exception, match=rule):
        session.run(None, {name: x})
    program = torch.export.load(str(export_run(run, "pt2", tmp_path / "m.pt2"))).module()
    with pytest.raises(RuntimeError, match=f"{name} must be"):
        program(torch.from_numpy(x))


@pytest.mark.parametrize("words, message", [
    ("the cat runs", "must be a list of sentences"),            # a str: its characters are not words
    (["the cat runs"], "split it into words first"),
    ([["the"] * 9], "has 9 words; the graph takes at most 8"),
    ([[]], "sentence 1 is empty"),
    ([["the", 3]], "sentence 1 word 2 must be text"),
])
def test_dense_tag_inputs_refuse_what_is_not_sentences_of_words(words, message):
    from lstmkit.boundary import ArgumentError
    from lstmkit.tasks.tag.export import dense_tag_inputs

    with pytest.raises(ArgumentError, match=message):
        dense_tag_inputs(words, None, 8)


@pytest.mark.parametrize("task", ["forecast", "image"])
def test_an_empty_batch_is_refused_not_an_abort(tmp_path, task):
    """Found by a tester: onnxruntime's LSTM kernel aborted the whole process on a batch of 0."""
    from lstmkit.export import export_run

    run = Path(__file__).parent / "fixtures" / "runs_format2" / task
    session = ort.InferenceSession(str(export_run(run, "onnx", tmp_path / "m.onnx")))
    first = session.get_inputs()[0]
    dims = [0] + [d if isinstance(d, int) else 28 for d in first.shape[1:]]
    with pytest.raises(Exception, match="batch_at_least_1"):
        session.run(None, {first.name: torch.zeros(dims).numpy()})


def test_an_lm_pt2_graph_takes_length_tokens_and_says_so(tmp_path, capfd):
    """Found by a tester: the pt2 graph took exactly lm.num_steps tokens, and --length, which
    would set it, was refused ("takes any length", true only of ONNX). The ONNX graph also
    made onnxruntime warn at every length but the example's."""
    run = Path(__file__).parent / "fixtures" / "runs_format2" / "lm"
    assert main(["export", str(run), "--format", "pt2", "--length", "1", "--output", str(tmp_path / "lm.pt2")]) == 0
    assert "note: this pt2 graph takes exactly 1 token per call" in capfd.readouterr().out
    program = torch.export.load(str(tmp_path / "lm.pt2")).module()
    side = json.loads((tmp_path / "lm.pt2.json").read_text())
    layers, _, hidden = side["example_shapes"]["state_in_h"]
    h = torch.zeros(layers, 3, hidden)
    assert program(torch.zeros(3, 1, dtype=torch.long), h, h)[0].shape[:2] == (3, 1)
    assert main(["export", str(run), "--length", "4", "--output", str(tmp_path / "lm.onnx")]) == 2
    assert "its ONNX graph takes any number of tokens" in capfd.readouterr().err
    assert main(["export", str(run), "--output", str(tmp_path / "lm.onnx")]) == 0
    options = ort.SessionOptions()
    options.log_severity_level = 1                                   # warnings and up: the shape mismatch was one
    session = ort.InferenceSession(str(tmp_path / "lm.onnx"), options)
    out = session.run(None, {"tokens": torch.zeros(3, 5, dtype=torch.long).numpy(), "state_in_h": h.numpy(),
                             "state_in_c": h.numpy()})
    assert out[0].shape[:2] == (3, 5)
    assert "VerifyOutputSizes" not in capfd.readouterr().err


def test_an_output_named_for_the_other_format_is_refused(tmp_path, capfd):
    """Found by a tester: --format pt2 --output m.onnx wrote a pt2 archive named .onnx, after a
    torch warning that named the temporary file."""
    run = Path(__file__).parent / "fixtures" / "runs_format2" / "image"
    assert main(["export", str(run), "--format", "pt2", "--output", str(tmp_path / "m.onnx")]) == 2
    assert "is named like a .onnx file, but --format is pt2: name it 'm.pt2'" in capfd.readouterr().err
    assert main(["export", str(run), "--output", str(tmp_path / "m.PT2")]) == 2
    assert list(tmp_path.iterdir()) == []
    assert main(["export", str(run), "--format", "pt2", "--output", str(tmp_path / "m.bin")]) == 0
    assert "lstmkit-tmp" not in capfd.readouterr().err


def test_export_outputs_are_checked_before_the_export_and_named_in_flag_terms(tmp_path, capfd):
    """Found by a tester: ``--output ''`` and a folder that takes no files failed after the export,
    a directory where the sidecar goes said "Is a directory" of a temporary, and ``--length 0``
    named the API's argument instead of the flag."""
    run = Path(__file__).parent / "fixtures" / "runs_format2" / "image"
    assert main(["export", str(run), "--output", ""]) == 2
    assert "--output is empty ('')" in capfd.readouterr().err
    assert main(["export", str(run), "--output", str(tmp_path)]) == 2
    assert f"give a file name, e.g. '{tmp_path / 'model.onnx'}'" in capfd.readouterr().err
    assert main(["export", str(run), "--output", "/proc/self/m.onnx"]) == 2
    assert "cannot write files in the folder '/proc/self'" in capfd.readouterr().err
    (tmp_path / "q.onnx.json").mkdir()
    assert main(["export", str(run), "--output", str(tmp_path / "q.onnx")]) == 2
    assert "needs its description 'q.onnx.json' beside it" in capfd.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.onnx.json"]
    lm = Path(__file__).parent / "fixtures" / "runs_format2" / "lm"
    assert main(["export", str(lm), "--format", "pt2", "--length", "0", "--output", str(tmp_path / "l.pt2")]) == 2
    assert "--length must be >= 1" in capfd.readouterr().err


def test_an_export_named_without_its_extension_is_written_with_a_warning(tmp_path, caplog):
    from lstmkit.export import export_run

    run = Path(__file__).parent / "fixtures" / "runs_format2" / "image"
    with caplog.at_level(logging.WARNING, logger="lstmkit.export"):
        path = export_run(run, "onnx", tmp_path / "model.txt")
    assert path == tmp_path / "model.txt" and path.stat().st_size > 0
    assert "does not end in .onnx; it is written all the same" in caplog.text
    ort.InferenceSession(str(path))                          # an ONNX graph whatever its name


def test_the_default_export_path_replaces_only_an_export_lstmkit_wrote(tmp_path, capfd):
    """Found by a tester: a user's own RUN/model.onnx (or model.onnx.json) was replaced by the
    default export without --force; a missing run was said as a missing --output folder."""
    import shutil

    run = tmp_path / "image"
    shutil.copytree(Path(__file__).parent / "fixtures" / "runs_format2" / "image", run)
    for name in ("model.onnx", "model.onnx.json"):
        (run / name).write_text("precious")
        assert main(["export", str(run)]) == 2
        assert "is not an export lstmkit wrote" in capfd.readouterr().err
        assert (run / name).read_text() == "precious"
        (run / name).unlink()
    assert main(["-q", "export", str(run)]) == 0 and main(["-q", "export", str(run)]) == 0   # its own: replaced
    (run / "model.onnx").write_bytes(b"edited by hand")
    assert main(["export", str(run)]) == 2 and (run / "model.onnx").read_bytes() == b"edited by hand"
    assert main(["-q", "export", str(run), "--force"]) == 0
    capfd.readouterr()
    assert main(["export", str(tmp_path / "nope")]) == 2
    assert "run directory" in capfd.readouterr().err
    assert main(["export", str(run), "--output", str(tmp_path / "newdir") + "/"]) == 2
    assert "ends in '/', naming a folder, and there is none" in capfd.readouterr().err
    assert not (tmp_path / "newdir").exists()
    (tmp_path / "u.onnx.json").write_text("mine")
    assert main(["export", str(run), "--output", str(tmp_path / "u.onnx")]) == 2
    assert f"writes its description 'u.onnx.json' beside it, and '{tmp_path / 'u.onnx.json'}' already exists" \
        in capfd.readouterr().err

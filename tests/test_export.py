"""Export: ONNX (run by onnxruntime) and torch.export programs equal the PyTorch models, with
unequal lengths, bidirectional layers and the language model's carried state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from lstmkit.cli import main

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from workspace import build_workspace

    return build_workspace(tmp_path_factory.mktemp("export")).runs


def _onnx(path: Path, feeds: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    session = ort.InferenceSession(str(path))
    return [torch.from_numpy(o) for o in session.run(None, {k: v.numpy() for k, v in feeds.items()})]


def test_lm_streams_chunk_by_chunk_with_the_state_carried(runs, tmp_path):
    from lstmkit.export import export_run, export_spec

    path = export_run(runs["lm"], "onnx", tmp_path / "lm.onnx")
    spec = export_spec(runs["lm"])
    assert spec.inputs == ["tokens", "state_in_h", "state_in_c"]
    assert json.loads(Path(str(path) + ".json").read_text())["outputs"] == ["logits", "state_out_h", "state_out_c"]
    torch.manual_seed(0)
    vocab = spec.module.model.embed.num_embeddings
    text = torch.randint(0, vocab, (3, 40))                                   # another batch size and length
    h0 = torch.zeros_like(spec.example[1][:, :1]).expand(-1, 3, -1).contiguous()
    with torch.no_grad():
        full, h_full, c_full = spec.module(text, h0, h0)
    h, c, pieces = h0, h0, []
    for start in range(0, 40, 16):                                            # chunks of 16, 16, 8
        logits, h, c = _onnx(path, {"tokens": text[:, start : start + 16], "state_in_h": h, "state_in_c": c})
        pieces.append(logits)
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(h, h_full, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(c, c_full, atol=1e-5, rtol=1e-5)
    bad = h0.clone()
    bad[0, 0, 0] = float("nan")                                               # found by a tester: NaN state passed
    with pytest.raises(Exception, match="check_state_in_h_finite"):
        _onnx(path, {"tokens": text[:, :16], "state_in_h": bad, "state_in_c": h0})


def test_lm_pt2_program_equals_the_model(runs, tmp_path):
    from lstmkit.export import export_run, export_spec

    path = export_run(runs["lm"], "pt2", tmp_path / "lm.pt2")
    spec = export_spec(runs["lm"])
    program = torch.export.load(str(path)).module()
    tokens = torch.randint(0, 10, (5, spec.example[0].shape[1]))              # another batch size
    h = torch.randn(spec.example[1].shape[0], 5, spec.example[1].shape[2])
    with torch.no_grad():
        expected = spec.module(tokens, h, h)
    for got, want in zip(program(tokens, h, h), expected):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_classifier_exports_with_unequal_lengths_and_both_directions(runs, tmp_path):
    import lstmkit
    from lstmkit.export import export_run, export_spec

    spec = export_spec(runs["classify"], length=12)                          # T = 12: unrolled, quick to export
    assert spec.module.model.rnn.bidirectional
    run = lstmkit.load(runs["classify"])
    texts = ["the film was great 1", "the film was dull", "great", "the film was great and the film was dull 3"]
    tokens = [run.vocab.encode(t.split()) for t in texts]
    lengths = torch.tensor([len(t) for t in tokens])
    padded = torch.zeros(len(texts), int(lengths.max()), dtype=torch.long)     # <pad> is id 0
    for i, t in enumerate(tokens):
        padded[i, : len(t)] = torch.tensor(t)
    expected = torch.tensor([list(p["probabilities"].values()) for p in run.predict(texts)])
    T = spec.example[0].shape[1]
    fixed = torch.zeros(len(texts), T, dtype=torch.long)
    fixed[:, : padded.shape[1]] = padded                                      # padded to the exported length
    (got,) = _onnx(export_run(runs["classify"], "onnx", tmp_path / "c.onnx", length=T), {"tokens": fixed, "lengths": lengths})
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    program = torch.export.load(str(export_run(runs["classify"], "pt2", tmp_path / "c.pt2", length=T))).module()
    torch.testing.assert_close(program(fixed, lengths), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("task", ["forecast", "image"])
@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
def test_window_models_export_in_original_units(runs, tmp_path, task, fmt):
    from lstmkit.export import export_run, export_spec

    spec = export_spec(runs[task])
    path = export_run(runs[task], fmt, tmp_path / f"m.{fmt}")
    scale = 0.9 if task == "image" else 1.5                   # pixels stay in [0, 255]
    x = spec.example[0][:1].repeat(4, *[1] * (spec.example[0].dim() - 1)) * scale  # another batch size
    with torch.no_grad():
        expected = spec.module(x)
    got = _onnx(path, {spec.inputs[0]: x})[0] if fmt == "onnx" else torch.export.load(str(path)).module()(x)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    if task == "image":
        torch.testing.assert_close(got.sum(-1), torch.ones(4))


def test_export_command_and_its_errors(runs, tmp_path, capsys):
    assert main(["export", str(runs["forecast"]), "--output", str(tmp_path / "f.onnx")]) == 0
    assert "exported to" in capsys.readouterr().out and (tmp_path / "f.onnx.json").is_file()
    assert main(["export", str(runs["lm"]), "--output", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["export", str(runs["image"]), "--output", str(tmp_path / "no" / "m.onnx")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("crf", [False, True])
def test_tagger_exports_with_its_character_encoder_and_decoding(runs, tmp_path, crf):
    import lstmkit
    from lstmkit.export import export_run, export_spec
    from lstmkit.tasks.tag.export import dense_tag_inputs
    from lstmkit.tasks.tag.data import TaggedSentence, encode_batch

    run_dir = runs["tag"]
    if crf:
        run_dir = tmp_path / "crf"
        assert main(["-q", "train", "tag", "--data", str(runs["tag"].parent.parent / "data" / "tags.txt"), "--crf",
                     "--epochs", "1", "--no-progress", "--run-dir", str(run_dir), "--set", "model.hidden_size=8",
                     "--set", "model.embedding_dim=8"]) == 0
    run = lstmkit.load(run_dir)
    sentences = [["the", "cat", "runs"], ["a", "dog", "sees", "the", "unseenword"], ["bird"]]
    want_tags = [[t for _, t in run.predict(" ".join(s), tokenizer="whitespace")] for s in sentences]
    with torch.no_grad():
        want_emissions = run.model.emissions(encode_batch([TaggedSentence(tuple(s), ("X",) * len(s))
                                                           for s in sentences], run.vocabs))
    spec = export_spec(run_dir, length=8)
    inputs = dense_tag_inputs(sentences, run.vocabs, spec.example[0].shape[1])
    for fmt in ("onnx", "pt2"):
        path = export_run(run_dir, fmt, tmp_path / f"t.{fmt}", length=8)
        if fmt == "onnx":
            tags, emissions = _onnx(path, dict(zip(spec.inputs, inputs)))
        else:
            tags, emissions = torch.export.load(str(path)).module()(*inputs)
        for b, s in enumerate(sentences):
            n = len(s)
            torch.testing.assert_close(emissions[b, :n], want_emissions[b, :n], atol=1e-5, rtol=1e-5)
            assert [run.vocabs.tags.itos[i] for i in tags[b, :n].tolist()] == want_tags[b]


def test_the_pt2_length_note_fits_the_length(runs):
    """Found by a tester: an LM exported with --length 1 was told to export with --length 1."""
    from lstmkit.export import export_spec

    one = export_spec(runs["lm"], length=1, fmt="pt2").notes["tokens_note"]
    assert "exactly 1 token per call" in one and "--length 1" not in one, one
    many = export_spec(runs["lm"], length=8, fmt="pt2").notes["tokens_note"]
    assert "exactly 8 tokens per call" in many and "export with --length 1" in many, many

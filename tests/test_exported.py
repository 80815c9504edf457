"""An exported graph run through :func:`lstmkit.exported.load_exported`: its inputs are checked
against the sidecar (names, dtypes, shapes, one batch size, ranges) with messages that name the
input, and a graph is refused beside another export's description (issue 18, section 3)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from lstmkit.boundary import ArgumentError
from lstmkit.export import export_run
from lstmkit.exported import ExportError, load_exported

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

RUNS = Path(__file__).parent / "fixtures" / "runs_format2"
T = 8


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("exported")
    return {(task, fmt): export_run(RUNS / task, fmt, root / f"{task}.{fmt}", length=T if task == "classify" else None)
            for task in ("classify", "image") for fmt in ("onnx", "pt2")}


def _classify_inputs(batch: int = 3):
    rng = np.random.default_rng(0)
    return rng.integers(1, 5, (batch, T)), np.array([T, 3, 1][:batch])


@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
def test_the_loaded_graph_gives_what_the_runtime_gives(exports, fmt):
    model = load_exported(exports["classify", fmt])
    tokens, lengths = _classify_inputs()
    got = model(tokens=tokens, lengths=lengths)["probabilities"]
    if fmt == "onnx":
        want = ort.InferenceSession(str(exports["classify", fmt])).run(None, {"tokens": tokens, "lengths": lengths})[0]
    else:
        module = torch.export.load(str(exports["classify", fmt])).module()
        want = module(torch.from_numpy(tokens), torch.from_numpy(lengths)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model(tokens.astype(np.int32), torch.from_numpy(lengths))["probabilities"], got,
                               rtol=1e-5, atol=1e-6)       # any integer width, tensors too, by position
    assert got.shape == (3, 2) and np.allclose(got.sum(1), 1, atol=1e-5)


@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
@pytest.mark.parametrize("change, message", [
    (lambda t, n: {"tokens": t, "lengths": n[:2]}, r"input 'lengths' is for a batch of 2, input 'tokens' for 3"),
    (lambda t, n: {"tokens": t.astype(float), "lengths": n}, r"'tokens' must hold integers \(int64\).*astype"),
    (lambda t, n: {"tokens": t[:, :5], "lengths": n}, r"axis 1 must be 8, got 5; pad \(or cut\) to 8"),
    (lambda t, n: {"tokens": t[:0], "lengths": n[:0]}, r"axis 0 must be the batch size \(>= 1\), got 0"),
    (lambda t, n: {"tokens": t, "lengths": n * 0}, r"'lengths' must be between 1 and 8; at \(0,\) it holds 0 \(3 values"),
    (lambda t, n: {"tokens": t + 10**6, "lengths": n}, r"'tokens' must be between 0 and \d+; at \(0, 0\)"),
    (lambda t, n: {"tokens": t, "lengths": n, "mask": n}, r"no input 'mask'; its inputs are 'tokens', 'lengths'"),
    (lambda t, n: {"tokens": t}, r"missing input 'lengths'"),
    (lambda t, n: {"tokens": t[0], "lengths": n}, r"'tokens' has shape \(8,\); the graph takes 2 dimensions"),
    (lambda t, n: {"tokens": t.astype(bool), "lengths": n}, r"'tokens' must hold integers"),     # nobody listed
    (lambda t, n: {"tokens": [[1, 2], [3]], "lengths": n}, r"'tokens' must be an array of int64"),  # ragged rows
])
def test_wrong_inputs_are_refused_by_name_before_the_graph_runs(exports, fmt, change, message):
    model = load_exported(exports["classify", fmt])
    with pytest.raises(ArgumentError, match=message):
        model(**change(*_classify_inputs()))


def test_float_inputs_take_numbers_and_refuse_what_is_not_finite_or_out_of_range(exports):
    model = load_exported(exports["image", "onnx"])
    pixels = np.full((2, 28, 28), 100, dtype=np.uint8)           # integers read as grey values
    assert model(pixels=pixels)["probabilities"].shape == (2, 10)
    for bad, said in ((np.nan, "between 0 and 255; at (1, 2, 3) it holds nan"), (300.0, "it holds 300.0")):
        x = pixels.astype(np.float64)
        x[1, 2, 3] = bad
        with pytest.raises(ArgumentError, match=re_escape(said)):
            model(pixels=x)
    with pytest.raises(ArgumentError, match=r"the graph takes \(batch, 28, 28\): axis 2 must be 28, got 27"):
        model(pixels=pixels[:, :, :27])
    with pytest.raises(ArgumentError, match="must hold numbers"):
        model(pixels=np.array([["a"] * 28] * 28))


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


def test_a_graph_and_a_description_that_are_not_a_pair_are_refused(exports, tmp_path):
    onnx, pt2 = exports["classify", "onnx"], exports["image", "onnx"]
    swapped = tmp_path / "m.onnx"
    shutil.copy(pt2, swapped)
    shutil.copy(f"{onnx}.json", f"{swapped}.json")              # the classifier's description, the image graph
    with pytest.raises(ExportError, match="is not the graph its description 'm.onnx.json' was written for"):
        load_exported(swapped)
    lone = tmp_path / "lone.onnx"
    shutil.copy(onnx, lone)
    with pytest.raises(ExportError, match="has no description 'lone.onnx.json' beside it"):
        load_exported(lone)
    old = json.loads(Path(f"{onnx}.json").read_text())
    for key in ("input_shapes", "sha256"):
        old.pop(key)
    Path(f"{lone}.json").write_text(json.dumps(old))
    with pytest.raises(ExportError, match="lacks the input shapes and checksum"):
        load_exported(lone)
    Path(f"{lone}.json").write_text("{not json")
    with pytest.raises(ExportError, match="cannot be read"):
        load_exported(lone)
    with pytest.raises(ExportError, match="is not a file"):
        load_exported(tmp_path)


def test_the_sidecar_says_each_inputs_shape_dtype_and_range(exports):
    side = json.loads(Path(f"{exports['classify', 'onnx']}.json").read_text())
    assert side["input_shapes"] == {"tokens": ["batch", T], "lengths": ["batch"]}
    assert side["input_dtypes"] == {"tokens": "int64", "lengths": "int64"}
    assert side["input_ranges"]["lengths"] == [1, T] and side["max_batch"] == 65_536
    assert len(side["sha256"]) == 64


def test_an_edited_description_is_refused_and_a_runtimes_refusal_is_said_as_lstmkits(exports, tmp_path):
    """Found by a tester: a sidecar with a widened range, another dtype or shape let onnxruntime
    answer from deep inside ("indices element out of data bounds")."""
    onnx = exports["classify", "onnx"]
    original = json.loads(Path(f"{onnx}.json").read_text())
    edits = {"input_ranges": {**original["input_ranges"], "tokens": [0, 1e9]}, "max_batch": -5,
             "input_dtypes": {**original["input_dtypes"], "tokens": "float32"},
             "input_shapes": {**original["input_shapes"], "tokens": ["batch", 4]}}
    for number, (key, value) in enumerate(edits.items()):
        graph = tmp_path / f"e{number}.onnx"
        shutil.copy(onnx, graph)
        Path(f"{graph}.json").write_text(json.dumps({**original, key: value}))
        with pytest.raises(ExportError, match="was edited after the export"):
            load_exported(graph)
    model = load_exported(onnx)
    model._run = lambda values: (_ for _ in ()).throw(RuntimeError("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : x"))
    with pytest.raises(ExportError, match=r"refused inputs that its description allows \(\[ONNXRuntimeError\]"):
        model(*_classify_inputs())


def test_odd_paths_and_huge_floats_are_said_plainly(exports, recwarn):
    with pytest.raises(ArgumentError, match="path"):
        load_exported(None)
    onnx = exports["classify", "onnx"]
    with pytest.raises(ExportError, match=f"is the description of an export; pass the graph beside it, '{onnx}'"):
        load_exported(f"{onnx}.json")
    pixels = np.zeros((1, 28, 28))
    pixels[0, 0, 0] = 1e300
    with pytest.raises(ArgumentError, match=r"at \(0, 0, 0\) it holds 1e\+300"):
        load_exported(exports["image", "pt2"])(pixels=pixels)
    assert not [w for w in recwarn if "overflow" in str(w.message)]


def test_a_pt2_archive_named_as_onnx_is_refused(exports, tmp_path):
    """Found by a tester: a .pt2 (which torch.export.load may unpickle) renamed evil.onnx with its
    sidecar loaded through torch, under a name that promises a graph without code."""
    evil = tmp_path / "evil.onnx"
    shutil.copy(exports["image", "pt2"], evil)
    shutil.copy(f"{exports['image', 'pt2']}.json", f"{evil}.json")
    with pytest.raises(ExportError, match="named or built like an ONNX graph, which carries no code"):
        load_exported(evil)
    with pytest.raises(ArgumentError, match="must be an array of int64; got NoneType None"):
        load_exported(exports["classify", "onnx"])(tokens=None, lengths=[1])

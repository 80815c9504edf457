"""Property-based: every reader, fed random bytes (and near-valid text), either returns data or
raises an :class:`LstmkitError` (one clear line at the command line); nothing else escapes."""

from __future__ import annotations

import gzip
import json
import os
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstmkit.errors import LstmkitError

# LSTMKIT_FUZZ_EXAMPLES: more examples for benchmarks/bench_reliability.py; the suite keeps 60.
SETTINGS = settings(max_examples=int(os.environ.get("LSTMKIT_FUZZ_EXAMPLES") or 60), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _readers() -> dict[str, tuple[str, Callable[[Path], object]]]:
    """name -> (file suffix, reader)."""
    from lstmkit.config import load_config
    from lstmkit.data.datasets.mnist import read_idx
    from lstmkit.data.datasets.table import read_table
    from lstmkit.data.datasets.timeseries import read_csv_series
    from lstmkit.data.datasets.treebank import read_conllu, read_word_tag
    from lstmkit.data.text import read_text
    from lstmkit.data.vectors import load_vectors
    from lstmkit.data.vocab import Vocab
    from lstmkit.tasks.classify.model import run_labels
    from lstmkit.tasks.forecast.model import read_scaler
    from lstmkit.tasks.image.model import read_image
    from lstmkit.training.checkpoint import read_run_config, read_weights_header

    def run_dir_file(name: str, reader: Callable[[Path], object]) -> Callable[[Path], object]:
        def read(path: Path) -> object:
            folder = path.parent / "run"
            folder.mkdir(exist_ok=True)
            (folder / name).write_bytes(path.read_bytes())
            (folder / "model.safetensors").touch()
            return reader(folder)
        return read

    return {
        "text": (".txt", lambda p: read_text(p)),
        "text-cp1252": (".txt", lambda p: read_text(p, "cp1252")),
        "csv": (".csv", lambda p: read_table(p)),
        "tsv": (".tsv", lambda p: read_table(p)),
        "jsonl": (".jsonl", lambda p: read_table(p)),
        "series-csv": (".csv", lambda p: read_csv_series(p)),
        "conllu": (".conllu", lambda p: read_conllu(p)),
        "word-tag": (".txt", lambda p: read_word_tag(p)),
        "idx-images": ("", lambda p: read_idx(p, 2051)),
        "idx-labels": ("", lambda p: read_idx(p, 2049)),
        "png": (".png", lambda p: read_image(p)),
        "npy": (".npy", lambda p: read_image(p)),
        "image-txt": (".txt", lambda p: read_image(p)),
        "vectors": (".txt", lambda p: load_vectors(p)),
        "vectors-gz": (".txt.gz", lambda p: load_vectors(p)),
        "config-toml": (".toml", lambda p: load_config(p)),
        "run-config": (".json", run_dir_file("config.json", read_run_config)),
        "run-vocab": (".json", lambda p: Vocab.load(p)),
        "run-labels": (".json", run_dir_file("labels.json", run_labels)),
        "run-scaler": (".json", lambda p: read_scaler(p)),
        "run-weights": (".safetensors", lambda p: read_weights_header(p)),
    }


READERS = _readers()

# near-valid inputs: the reader's own format with random damage, so the fuzz gets past the first check
SEEDS = {
    "csv": b"text,label\ngood film,pos\nbad film,neg\n",
    "tsv": b"text\tlabel\ngood film\tpos\nbad film\tneg\n",
    "jsonl": b'{"text": "good", "label": "pos"}\n{"text": "bad", "label": "neg"}\n',
    "series-csv": b"date,OT\n2020-01-01,1.5\n2020-01-02,2.5\n",
    "conllu": b"1\tThe\tthe\tDET\t_\t_\t2\tdet\t_\t_\n2\tdog\tdog\tNOUN\t_\t_\t0\troot\t_\t_\n\n",
    "word-tag": b"the/DET dog/NOUN\n",
    "idx-images": struct.pack(">iiii", 2051, 1, 28, 28) + bytes(784),
    "idx-labels": struct.pack(">ii", 2049, 2) + b"\x01\x02",
    "image-txt": ("\n".join(" ".join("0" for _ in range(28)) for _ in range(28))).encode(),
    "vectors": b"the 0.1 0.2\nfilm 0.3 0.4\n",
    "vectors-gz": b"the 0.1 0.2\nfilm 0.3 0.4\n",
    "config-toml": b"[model]\nhidden_size = 8\n[train]\nlr = 0.1\n",
    "run-config": json.dumps({"format_version": 2, "task": "lm", "model": {"hidden_size": 8}}).encode(),
    "run-vocab": b'{"tokens": ["<unk>", "a"], "specials": ["<unk>"]}',
    "run-labels": b'["neg", "pos"]',
    "run-scaler": json.dumps({"inputs": ["OT"], "targets": ["OT"], "mean": [0.0], "std": [1.0],
                              "target_mean": [0.0], "target_std": [1.0], "target_index": [0]}).encode(),
    "run-weights": b"\x40\x00\x00\x00\x00\x00\x00\x00" + json.dumps(
        {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode().ljust(64) + bytes(8),
}


def _mutate(seed: bytes, data: st.DataObject) -> bytes:
    """Flip, cut, insert or repeat bytes of ``seed``."""
    raw = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert", "repeat"]))
        at = data.draw(st.integers(0, max(0, len(raw) - 1)))
        if kind == "flip" and raw:
            raw[at] = data.draw(st.integers(0, 255))
        elif kind == "cut":
            del raw[at : at + data.draw(st.integers(1, 16))]
        elif kind == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        else:
            raw += raw[at : at + data.draw(st.integers(1, 64))] * data.draw(st.integers(1, 4))
    return bytes(raw)


def _read(name: str, raw: bytes) -> None:
    suffix, reader = READERS[name]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"input{suffix}"
        path.write_bytes(gzip.compress(raw) if suffix.endswith(".gz") else raw)
        try:
            reader(path)
        except LstmkitError as err:
            assert str(err) and "\n" not in str(err).strip(), f"a multi-line message: {err}"


@pytest.mark.parametrize("name", sorted(READERS))
@SETTINGS
@given(raw=st.binary(max_size=512))
def test_random_bytes(name: str, raw: bytes) -> None:
    _read(name, raw)


@pytest.mark.parametrize("name", sorted(SEEDS))
@SETTINGS
@given(data=st.data())
def test_damaged_valid_files(name: str, data: st.DataObject) -> None:
    _read(name, _mutate(SEEDS[name], data))


@pytest.mark.parametrize("name", ["csv", "conllu", "word-tag", "vectors", "config-toml", "text"])
@SETTINGS
@given(text=st.text(max_size=300))
def test_random_text(name: str, text: str) -> None:
    _read(name, text.encode("utf-8", "surrogatepass"))

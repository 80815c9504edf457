"""Shared fixtures: small text files written by the tests themselves."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):         # the README's command runs two workers on two cores:
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread each (and in their subprocesses),
    torch.set_num_threads(1)                       # not two each fighting for the same cores

TINY_TEXT = ("the quick brown fox jumps over the lazy dog. " * 40).strip()


@pytest.fixture()
def tiny_text_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.txt"
    path.write_text(TINY_TEXT, encoding="utf-8")
    return path


def sentiment_jsonl(path: Path, n: int, seed: int, max_words: int) -> Path:
    """Toy sentiment rows: filler words and one telling word (great/superb or awful/dull)."""
    import json
    import random

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        good = i % 2 == 1
        words = rng.choices(["the", "film", "plot", "was", "a"], k=rng.randint(2, max_words))
        words.append(rng.choice(["great", "superb"] if good else ["awful", "dull"]))
        rows.append(json.dumps({"text": " ".join(words), "label": "pos" if good else "neg"}))
    path.write_text("\n".join(rows) + "\n")
    return path


def write_idx(path, array: torch.Tensor, magic: int, compress: bool = True) -> None:
    header = struct.pack(">i", magic) + struct.pack(f">{array.dim()}i", *array.shape)
    raw = header + array.to(torch.uint8).numpy().tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


def fake_mnist(folder, n_train=200, n_test=50, seed=0):
    """Class k: a bright bar on rows 2k+4 and 2k+5, plus noise."""
    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = torch.randint(0, 10, (n,), generator=g)
        images = torch.randint(0, 40, (n, 28, 28), generator=g)
        for i, k in enumerate(labels.tolist()):
            images[i, 2 * k + 4 : 2 * k + 6, 4:24] = 250
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images, 2051)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels, 2049)
    return folder

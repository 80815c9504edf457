from __future__ import annotations

import gzip
import struct

import pytest
import torch

from lstmkit.data.datasets import mnist
from lstmkit.errors import DataError

from conftest import fake_mnist, write_idx  # noqa: E402


def test_reads_gzipped_and_plain_idx(tmp_path):
    images = torch.randint(0, 255, (3, 28, 28))
    write_idx(tmp_path / "a.gz", images, mnist.IMAGES)
    write_idx(tmp_path / "b", images, mnist.IMAGES, compress=False)
    assert torch.equal(mnist.read_idx(tmp_path / "a.gz", mnist.IMAGES), images.to(torch.uint8))
    assert torch.equal(mnist.read_idx(tmp_path / "b", mnist.IMAGES), images.to(torch.uint8))


def test_wrong_magic_and_truncated_files(tmp_path):
    write_idx(tmp_path / "labels.gz", torch.zeros(4), mnist.LABELS)
    with pytest.raises(DataError, match=r"IDX magic number 2049, expected images \(2051\)"):
        mnist.read_idx(tmp_path / "labels.gz", mnist.IMAGES)
    (tmp_path / "short").write_bytes(struct.pack(">iiii", 2051, 5, 28, 28) + b"\x00" * 10)
    with pytest.raises(DataError, match="holds 10 data bytes, its header says 3920"):
        mnist.read_idx(tmp_path / "short", mnist.IMAGES)


def test_load_from_a_folder_and_download_request(tmp_path, monkeypatch):
    data = mnist.load_mnist(fake_mnist(tmp_path / "m"))
    assert data.train_images.shape == (200, 28, 28) and len(data.test_labels) == 50
    monkeypatch.setenv("LSTMKIT_DATA", str(tmp_path / "none"))
    monkeypatch.setenv("LSTMKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="MNIST not found .*--download"):
        mnist.load_mnist()
    import pooch

    seen = []
    monkeypatch.setattr(pooch, "retrieve", lambda url, known_hash, **kw: seen.append((url, known_hash)) or str(tmp_path / "x"))
    mnist.locate(download=True)
    assert ("https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
            "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873") in seen and len(seen) == 4

"""MNIST from its original IDX files (``train-images-idx3-ubyte.gz`` and friends, gzipped or not).

IDX: a big-endian header (magic 2051 for images: count, rows, columns; 2049 for labels: count)
followed by unsigned bytes. Found in ``$LSTMKIT_DATA/mnist``, ``../shared/data/mnist`` or the
cache; downloaded with their published MD5s when asked.
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import torch
from torch import Tensor

from lstmkit.data.datasets.fetch import candidates, fetch
from lstmkit.data.text import check_path, is_gzip
from lstmkit import resources
from lstmkit.errors import DataError

MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"     # torchvision's mirror of LeCun's files
FILES = {
    "train_images": ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
}
IMAGES, LABELS = 2051, 2049


def read_idx(path: str | Path, expect: int) -> Tensor:
    """An IDX file as a uint8 tensor: (N, rows, cols) for images, (N,) for labels.

    Raises:
        DataError: for a missing file (or one that is not a regular file), a wrong magic number
            (naming the one found and the one expected), dimensions that are not all positive, or
            a data size other than their product.
    """
    path = check_path(path, "IDX file")
    zipped = is_gzip(path)
    try:
        with (gzip.open(path, "rb") if zipped else open(path, "rb")) as f:
            return _read_idx_stream(f, path, expect, None if zipped else path.stat().st_size)
    except (OSError, EOFError) as err:          # gzip.BadGzipFile is an OSError
        if not zipped:
            raise
        raise DataError(f"{str(path)!r} is a damaged gzip file: {err}") from None


def _read_idx_stream(f: BinaryIO, path: Path, expect: int, file_size: int | None) -> Tensor:
    """The header first, then exactly the bytes it announces (a decompression bomb is never
    inflated past them, and a size beyond the memory available is refused before reading).
    ``file_size``: the size of an uncompressed file, checked against the header first."""
    magic_bytes = f.read(4)
    if len(magic_bytes) < 4:
        raise DataError(f"{str(path)!r} is too short to be an IDX file ({len(magic_bytes)} bytes)")
    magic = struct.unpack(">i", magic_bytes)[0]
    if magic != expect:
        kinds = {IMAGES: "images (2051)", LABELS: "labels (2049)"}
        raise DataError(f"{str(path)!r} has IDX magic number {magic}, expected {kinds[expect]}; "
                        "is it the right MNIST file, and not a renamed or HTML download?")
    dims = 3 if expect == IMAGES else 1
    header = f.read(4 * dims)
    if len(header) < 4 * dims:
        raise DataError(f"{str(path)!r} is too short for its IDX header ({4 + len(header)} bytes, the header of "
                        f"{'images' if dims == 3 else 'labels'} has {4 + 4 * dims})")
    shape = struct.unpack(f">{dims}i", header)
    if not all(d >= 1 for d in shape):
        raise DataError(f"{str(path)!r}: the IDX header gives dimensions {' x '.join(map(str, shape))}; each must be "
                        "at least 1: the file is damaged (download it again)")
    size = 1
    for d in shape:
        size *= d
    if file_size is not None and file_size - 4 - 4 * dims != size:
        raise DataError(f"{str(path)!r} holds {file_size - 4 - 4 * dims} data bytes, its header says {size}")
    have = resources.available_bytes()
    if have is not None and size > have:
        raise DataError(f"{str(path)!r}: the IDX header announces {' x '.join(map(str, shape))} = {size:,} bytes, "
                        f"more than the {have / 2**30:.1f} GiB of memory available; the file is damaged or "
                        "not MNIST (download it again)")
    data = bytearray(size)
    view, got = memoryview(data), 0
    while got < size:
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    extra = len(f.read(1))
    if got != size or extra:
        held = f"{got}" if not extra else f"more than {size}"
        raise DataError(f"{str(path)!r} holds {held} data bytes, its header says {size}")
    return torch.frombuffer(data, dtype=torch.uint8).view(*shape)


@dataclass
class Mnist:
    train_images: Tensor    # (60000, 28, 28) uint8
    train_labels: Tensor    # (60000,) uint8
    test_images: Tensor     # (10000, 28, 28)
    test_labels: Tensor     # (10000,)


def locate(root: str | Path | None = None, download: bool = False) -> dict[str, Path]:
    """Paths of the four files, from ``root``, the data roots, or a download."""
    if root and check_path(root, "MNIST folder", folder=True).is_file():
        raise DataError(f"--data {str(root)!r} is a file; pass the folder that holds the four MNIST IDX files "
                        f"({', '.join(name for name, _ in FILES.values())}, or the same without .gz)")
    roots = [Path(root)] if root else candidates("mnist")
    for r in roots:
        paths = {k: r / fname for k, (fname, _) in FILES.items()}
        plain = {k: p.with_suffix("") for k, p in paths.items()}
        if all(p.exists() for p in paths.values()):           # read_idx says what one is if not a file
            return paths
        if all(p.exists() for p in plain.values()):
            return plain
    if not download:
        if root:
            r = Path(root)
            missing = [fname for fname, _ in FILES.values() if not (r / fname).exists() and
                       not (r / fname).with_suffix("").exists()]
            if len(missing) < len(FILES):
                raise DataError(f"the MNIST folder {str(root)!r} lacks {', '.join(missing)} (or the same without .gz); "
                                "all four IDX files are needed (train and t10k, images and labels)")
        raise DataError(f"MNIST not found (looked in {', '.join(str(r) for r in roots)}); pass --download "
                        "to fetch it, or --data PATH to the folder with the four IDX files")
    return {k: fetch(MIRROR + fname, f"md5:{md5}", "mnist", fname, f"MNIST file {fname}")
            for k, (fname, md5) in FILES.items()}


def load_mnist(root: str | Path | None = None, download: bool = False) -> Mnist:
    """The four MNIST arrays, checked against each other.

    Raises:
        DataError: for missing or damaged files, or image and label counts that differ.
    """
    paths = locate(root, download)
    data = Mnist(*(read_idx(paths[k], IMAGES if k.endswith("images") else LABELS) for k in FILES))
    for split in ("train", "test"):
        images, labels = getattr(data, f"{split}_images"), getattr(data, f"{split}_labels")
        if len(images) != len(labels):
            raise DataError(f"MNIST {split}: {len(images)} images but {len(labels)} labels")
        if len(labels) and int(labels.max()) > 9:
            bad = int((labels > 9).nonzero()[0, 0])
            raise DataError(f"{str(paths[split + '_labels'])!r}: label {int(labels[bad])} at index {bad}; MNIST labels "
                            "are digits 0-9 (is it another dataset's label file?)")
        if images.dim() != 3 or tuple(images.shape[1:]) != (28, 28):
            raise DataError(f"{str(paths[split + '_images'])!r} holds images of {tuple(images.shape[1:])} pixels; "
                            "MNIST images are 28x28")
    return data

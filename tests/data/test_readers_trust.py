"""Odd or hostile data files (issue 18, sections 3 and 5): each ends with one clear DataError
that names the file, or with correct data and a warning. Files are made in the test."""

from __future__ import annotations

import gzip
import io
import logging
import os
import socket
import struct
import sys
import tarfile
import tempfile
import threading
import tracemalloc
from pathlib import Path

import pytest
import torch

from lstmkit.cli import main
from lstmkit.data.datasets import corpora, imdb, mnist, table, timeseries, treebank
from lstmkit.data.text import check_path, read_text
from lstmkit.data.vectors import load_vectors
from lstmkit.errors import DataError, listing

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import write_idx  # noqa: E402


def _error(capsys) -> str:
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("lstmkit: error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


def _within(seconds: float, call):
    """Run ``call`` in a daemon thread: a reader that blocks (on a FIFO) fails the test instead
    of hanging the session. Returns what it raised (or returned)."""
    box: list = []

    def run() -> None:
        try:
            box.append(call())
        except BaseException as err:             # noqa: BLE001 - handed to the test
            box.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the reader blocked"
    return box[0]


# --- 3. one path check: what a path is, never blocking --------------------------------------

@pytest.fixture()
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe.csv"
    os.mkfifo(path)
    return path


READERS = {
    "text": lambda p: read_text(p),
    "table": lambda p: table.read_table(p),
    "vectors": lambda p: load_vectors(p),
    "idx": lambda p: mnist.read_idx(p, mnist.IMAGES),
    "csv-series": lambda p: timeseries.read_csv_series(p),
    "imdb": lambda p: imdb.read_imdb(p, "train"),
    "conllu": lambda p: treebank.read_conllu(p),
    "word-tag": lambda p: treebank.read_word_tag(p),
    "corpus": lambda p: corpora.read_corpus(str(p)),
    "ptb": lambda p: corpora.read_ptb(p),
    "zh-novel": lambda p: corpora.read_zh_novel(p),
    "image": lambda p: __import__("lstmkit.tasks.image", fromlist=["read_image"]).read_image(p),
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_every_reader_names_a_fifo_without_opening_it(fifo, reader):
    err = _within(10, lambda: READERS[reader](fifo))
    assert isinstance(err, DataError), err
    assert str(fifo) in str(err) and "a FIFO (named pipe)" in str(err)


@pytest.mark.parametrize("reader", ["text", "table", "vectors", "idx", "csv-series"])
def test_readers_name_a_character_device(reader):
    err = _within(10, lambda: READERS[reader]("/dev/zero"))    # reading it would never end
    assert isinstance(err, DataError) and "'/dev/zero' is a character device" in str(err)


def test_check_path_says_what_each_kind_of_path_is(tmp_path, fifo):
    with pytest.raises(DataError, match="is a directory; lstmkit reads data from regular files; pass the file"):
        check_path(tmp_path, "data file")
    assert check_path(tmp_path, "data folder", folder=True) == tmp_path
    with pytest.raises(DataError, match=r"'.*missing.csv' not found; pass a CSV"):
        check_path(tmp_path / "missing.csv", fix="pass a CSV")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DataError, match="below' not found"):
        check_path(tmp_path / "file.txt" / "below")                  # a file used as a folder
    link = tmp_path / "link.txt"                                      # not in the issue: a link to a FIFO
    link.symlink_to(fifo)
    with pytest.raises(DataError, match="link.txt' is a FIFO"):
        check_path(link)
    with tempfile.TemporaryDirectory(dir="/tmp") as short:           # AF_UNIX paths are short
        sock_path = Path(short) / "s"
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(sock_path))
            with pytest.raises(DataError, match="is a socket"):
                check_path(sock_path, "vectors file")


def test_a_fifo_inside_a_dataset_folder_is_named(tmp_path):
    for label in ("pos", "neg"):                                     # not in the issue: a review that is a FIFO
        (tmp_path / "aclImdb" / "train" / label).mkdir(parents=True)
        (tmp_path / "aclImdb" / "train" / label / "0_7.txt").write_text("fine")
    os.mkfifo(tmp_path / "aclImdb" / "train" / "pos" / "1_9.txt")
    err = _within(10, lambda: imdb.read_imdb(tmp_path, "train"))
    assert isinstance(err, DataError) and "1_9.txt' is a FIFO" in str(err)
    folder = tmp_path / "mnist"                                      # and an MNIST file
    folder.mkdir()
    for name, _ in mnist.FILES.values():
        os.mkfifo(folder / name)
    err = _within(10, lambda: mnist.load_mnist(folder))
    assert isinstance(err, DataError) and "is a FIFO" in str(err)


def test_cli_gives_one_line_for_a_fifo(fifo, tmp_path, capsys):
    code = _within(20, lambda: main(["train", "classify", "--data", str(fifo), "--run-dir", str(tmp_path / "r")]))
    assert code == 2
    assert "is a FIFO (named pipe)" in _error(capsys)


# --- 2. vectors: bounded lines and dimensions -----------------------------------------------

def test_one_huge_vectors_line_is_refused_in_little_memory(tmp_path):
    path = tmp_path / "huge.txt.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:               # one line of ~50 MB, no newline
        f.write(b"word ")
        chunk = b"0.1 " * 250_000                                   # 1 MB
        for _ in range(50):
            f.write(chunk)
    assert path.stat().st_size < 2_000_000
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"huge.txt.gz:1: a line longer than 1,048,576 characters"):
            load_vectors(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, f"reading took {peak:,} bytes"      # the whole line would be 50 MB (200 as str)


def test_vectors_dimensions_are_bounded(tmp_path):
    header = tmp_path / "w2v.txt"
    header.write_text("3 900000000\nthe 0.1\n")                    # the header asks for 900M per word
    with pytest.raises(DataError, match=r"w2v.txt:1: vectors of 900,000,000 dimensions"):
        load_vectors(header)
    wide = tmp_path / "wide.txt"                                    # not in the issue: a short line of many numbers
    wide.write_text("the " + "0 " * 70_000 + "\n")
    with pytest.raises(DataError, match=r"wide.txt:1: vectors of 65,537 dimensions"):
        load_vectors(wide)
    binary = tmp_path / "v.bin"
    binary.write_bytes(b"1000000 300\nthe " + b"\0" * 1200)
    with pytest.raises(DataError, match=r"v.bin:1: the header says 1,000,000 words of 300 dimensions"):
        load_vectors(binary)
    ok = tmp_path / "ok.txt"
    ok.write_text("the 0.1 0.2\nfilm 0.3 0.4\n")
    assert load_vectors(ok).vectors.shape == (2, 2)


# --- 4. IDX headers ---------------------------------------------------------------------------

@pytest.mark.parametrize("dims, expect", [((-5, 28, 28), "-5 x 28 x 28; each must be at least 1"),
                                          ((0, 28, 28), "0 x 28 x 28"), ((10, 0, 28), "10 x 0 x 28"),
                                          ((2**31 - 1, 2**31 - 1, 28), "its header says")])
def test_idx_header_dimensions_are_checked(tmp_path, dims, expect):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(struct.pack(">i", mnist.IMAGES) + struct.pack(">3i", *dims) + bytes(28 * 28))
    with pytest.raises(DataError, match=expect) as info:
        mnist.read_idx(path, mnist.IMAGES)
    assert str(path) in str(info.value)


def test_idx_header_cut_short_and_a_good_file(tmp_path):
    short = tmp_path / "short"
    short.write_bytes(struct.pack(">ii", mnist.IMAGES, 3))
    with pytest.raises(DataError, match="too short for its IDX header"):
        mnist.read_idx(short, mnist.IMAGES)
    good = tmp_path / "good.gz"
    write_idx(good, torch.arange(2 * 28 * 28).view(2, 28, 28) % 256, mnist.IMAGES)
    assert mnist.read_idx(good, mnist.IMAGES).shape == (2, 28, 28)


# --- 5. stray and non-UTF-8 files in aclImdb/ ----------------------------------------------

def _imdb_folder(root: Path) -> Path:
    for label in ("pos", "neg"):
        folder = root / "aclImdb" / "train" / label
        folder.mkdir(parents=True)
        for i in range(3):
            (folder / f"{i}_{8 if label == 'pos' else 2}.txt").write_text(f"review {i} {label}")
    return root / "aclImdb"


def test_stray_imdb_files_are_skipped_with_one_warning(tmp_path, caplog):
    root = _imdb_folder(tmp_path)
    (root / "train" / "pos" / "notes.txt").write_text("my notes")
    (root / "train" / "pos" / "README").write_text("x")
    (root / "train" / "pos" / "3_8.txt~").write_text("editor backup")      # not in the issue
    with caplog.at_level(logging.WARNING):
        examples = imdb.read_imdb(root, "train")
    assert len(examples) == 6
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "skipped 3 file(s)" in warnings[0] and "3_8.txt~" in warnings[0]


def test_stray_files_in_the_imdb_archive_are_skipped_too(tmp_path, caplog):
    archive = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in (("aclImdb/train/pos/0_9.txt", "good"), ("aclImdb/train/neg/0_1.txt", "bad"),
                           ("aclImdb/train/neg/notes.txt", "mine")):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text.encode()))
    with caplog.at_level(logging.WARNING):
        assert [e.label for e in imdb.read_imdb(archive, "train")] == ["neg", "pos"]
    assert "skipped 1 file(s)" in caplog.text and "notes.txt" in caplog.text


def test_a_latin1_review_is_named_with_the_fix(tmp_path):
    root = _imdb_folder(tmp_path)
    (root / "train" / "neg" / "7_1.txt").write_bytes("un film tr\xe8s m\xe9diocre".encode("latin-1"))
    with pytest.raises(DataError, match=r"7_1.txt.*iconv -f latin1 -t utf-8"):
        imdb.read_imdb(root, "train")
    jsonl = tmp_path / "j"                                                  # not in the issue: JSON Lines form
    jsonl.mkdir()
    (jsonl / "train.jsonl").write_bytes(b'{"text": "ok", "label": "pos"}\n' +
                                        '{"text": "caf\xe9", "label": "neg"}\n'.encode("latin-1"))
    with pytest.raises(DataError, match=r"train.jsonl:2' is not valid utf-8 .*iconv"):
        imdb.read_imdb(jsonl, "train")


# --- 6. messages that list values are bounded -----------------------------------------------

def test_listing_is_bounded():
    assert listing(["neg", "pos"]) == "'neg', 'pos'"
    assert listing([]) == "none"
    text = listing([f"label{i}" for i in range(1000)])
    assert text.endswith("and 995 more") and len(text) < 80
    assert len(listing(["x" * 10_000])) < 50                       # one huge value is cut too


def test_a_thousand_labels_seen_once_give_a_short_error(tmp_path, capsys):
    data = tmp_path / "many.csv"
    data.write_text("text,label\n" + "".join(f"the film {i},label{i}\n" for i in range(1000)))
    assert main(["train", "classify", "--data", str(data), "--run-dir", str(tmp_path / "r")]) == 2
    line = _error(capsys)
    assert "never seen in training" in line and "more" in line and len(line) < 400, len(line)


def test_a_table_with_a_thousand_columns_gives_a_short_error(tmp_path):
    data = tmp_path / "wide.csv"                                   # not in the issue: columns, not labels
    data.write_text(",".join(f"c{i}" for i in range(1000)) + "\n" + ",".join("1" * 1000) + "\n")
    with pytest.raises(DataError, match="and 990 more") as info:
        table.read_table(data)
    assert len(str(info.value)) < 400


# --- 7. --resume with --overwrite ------------------------------------------------------------

def test_resume_and_overwrite_together_are_refused(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    assert main(["train", "classify", "--resume", "--overwrite", "--run-dir", str(tmp_path / "run")]) == 2
    line = _error(capsys)
    assert "--resume" in line and "--overwrite" in line and "pass one of them" in line
    assert (tmp_path / "run").is_dir()                             # nothing was deleted


# --- 8. silent wrong results -----------------------------------------------------------------

def test_labels_written_in_several_ways_are_one_class(tmp_path, caplog):
    data = tmp_path / "t.csv"
    nfd = "cafe\u0301"                                             # e + combining accent; NFC is "caf\u00e9"
    data.write_text(f"text,label\na,pos\nb,pos \nc, pos\u00a0\nd,neg\ne,{nfd}\nf,caf\u00e9\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        labels = [e.label for e in table.read_table(data)]
    assert labels == ["pos", "pos", "pos", "neg", "caf\u00e9", "caf\u00e9"]
    assert "2 label(s) written in several ways" in caplog.text


def test_imdb_jsonl_labels_are_normalised_too(tmp_path):
    (tmp_path / "train.jsonl").write_text('{"text": "a", "label": "pos "}\n{"text": "b", "label": "neg"}\n')
    assert [e.label for e in imdb.read_imdb(tmp_path, "train")] == ["pos", "neg"]


def test_text_and_label_from_one_column_are_refused(tmp_path, capsys):
    data = tmp_path / "t.csv"
    data.write_text("review,y\ngood,pos\nbad,neg\n")
    with pytest.raises(DataError, match="both read from column 'review'"):
        table.read_table(data, "review", "review")
    assert main(["train", "classify", "--data", str(data), "--text-column", "y", "--label-column", "y",
                 "--run-dir", str(tmp_path / "r")]) == 2
    assert "both read from column 'y'" in _error(capsys)


def test_utf8_data_read_with_another_encoding_is_refused_at_train_time(tmp_path, capsys):
    data = tmp_path / "t.csv"
    labels = ["n\u00e9gatif", "positif"]
    data.write_text("text,label\n" + "".join(f"un film {i},{labels[i % 2]}\n" for i in range(20)), encoding="utf-8")
    assert main(["train", "classify", "--data", str(data), "--set", "data.encoding=cp1252",
                 "--run-dir", str(tmp_path / "r")]) == 2
    line = _error(capsys)
    assert "is UTF-8 text, but it is read as cp1252" in line and "n\u00c3\u00a9gatif" in line
    assert not (tmp_path / "r").exists()
    corpus = tmp_path / "c.txt"                                    # not in the issue: a text corpus
    corpus.write_text("la m\u00e9t\u00e9o " * 50, encoding="utf-8")
    with pytest.raises(DataError, match="read as latin-1"):
        read_text(corpus, "latin-1")
    real = tmp_path / "latin.csv"                                  # real latin-1 text is read as it is
    real.write_bytes("text,label\ntr\xe8s bien,pos\n".encode("latin-1"))
    assert table.read_table(real, encoding="latin-1")[0].text == "tr\u00e8s bien"


def test_a_constant_forecast_column_is_centred_with_a_warning(tmp_path, caplog):
    from lstmkit.config import ForecastConfig
    from lstmkit.tasks.forecast import prepare

    data = tmp_path / "s.csv"
    data.write_text("date,OT,flat\n" + "".join(f"2020-01-01 {i:04d},{i % 7},5\n" for i in range(120)))
    with caplog.at_level(logging.WARNING):
        prepared = prepare(str(data), ForecastConfig(target="OT", inputs="OT,flat", input_len=8, horizon=2))
    assert "'flat' constant in the training rows" in caplog.text
    flat = prepared.inputs.index("flat")
    assert prepared.scaler.std[flat] == 1.0 and prepared.scaler.std[prepared.inputs.index("OT")] > 1
    stepped = prepared.scaler.transform(torch.tensor([[3.0, 6.0]] if flat else [[6.0, 3.0]]))
    assert stepped.abs().max() < 10                                # a later change stays a small input


def test_forecast_values_outside_float32_are_refused(tmp_path):
    for value in ("1e308", "-3.5e38"):                             # -3.5e38: just past float32 (not listed)
        data = tmp_path / "s.csv"
        data.write_text(f"date,OT\n2020-01-01,1\n2020-01-02,{value}\n")
        with pytest.raises(DataError, match=rf"s.csv:3: column 'OT' holds '{value}', outside the float32 range"):
            timeseries.read_csv_series(data)
    data.write_text("date,OT\n2020-01-01,1\n2020-01-02,3e38\n")
    assert torch.isfinite(timeseries.read_csv_series(data).values).all()


def _rgba_png(path: Path, grey: float, alpha_stroke: float, alpha_ground: float) -> Path:
    import numpy as np
    from PIL import Image

    rgba = np.zeros((28, 28, 4), dtype=np.uint8)
    rgba[..., :3] = int(grey)                                      # the strokes' colour everywhere
    rgba[..., 3] = int(alpha_ground)
    rgba[8:20, 12:16, 3] = int(alpha_stroke)                       # a bar: the digit
    Image.fromarray(rgba, "RGBA").save(path)
    return path


def test_a_transparent_png_is_composited(tmp_path, caplog):
    from lstmkit.tasks.image import read_image

    light = _rgba_png(tmp_path / "light.png", 255, 255, 0)         # white strokes on transparent
    with caplog.at_level(logging.WARNING):
        image = read_image(light)
    assert image[8:20, 12:16].min() == 255 and image[0].max() == 0 # the digit is there, on black
    assert "transparent pixels" in caplog.text
    dark = _rgba_png(tmp_path / "dark.png", 0, 255, 0)             # black strokes on transparent: was all zeros
    with pytest.raises(DataError, match="invert"):
        read_image(dark)                                           # composited on white: a dark digit
    image = read_image(dark, invert=True)
    assert image[8:20, 12:16].min() == 255 and image[0].max() == 0
    clear = _rgba_png(tmp_path / "clear.png", 255, 0, 0)
    with pytest.raises(DataError, match="fully transparent"):
        read_image(clear)


def test_a_column_named_twice_in_the_header_is_refused(tmp_path) -> None:
    """Found by a tester: `text,label,text` trained silently on the last `text` column."""
    from lstmkit.data.datasets.table import read_table

    path = tmp_path / "dup.csv"
    path.write_text("text,label,text\na great film,pos,other\na dull film,neg,other\n")
    with pytest.raises(DataError, match="'text' more than once"):
        read_table(path)

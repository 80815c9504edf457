"""Odd or hostile data files (issue 18, sections 3 and 5): each ends with one clear DataError
that names the file, or with correct data and a warning. Files are made in the test."""

from __future__ import annotations

import contextlib
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
    "image": lambda p: __import__("lstmkit.tasks.image.model", fromlist=["read_image"]).read_image(p),
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


def test_vectors_files_that_lie_or_repeat(tmp_path, caplog):
    """Found by a tester: a NUL in a word, a header count the file does not hold, a word given
    twice (the last silently won) and 1e39 (a numpy RuntimeWarning, then 'inf')."""
    nul = tmp_path / "nul.txt"
    nul.write_bytes(b"the 0.1 0.2\nfi\x00lm 0.3 0.4\n")
    with pytest.raises(DataError, match=r"nul.txt:2: the word 'fi\\x00lm' holds a NUL byte"):
        load_vectors(nul)
    liar = tmp_path / "liar.vec"
    liar.write_text("1000 2\nthe 0.1 0.2\nfilm 0.3 0.4\n")
    with caplog.at_level(logging.WARNING):
        assert load_vectors(liar).words == ["the", "film"]
    assert "the header says 1,000 words, the file holds 2" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert len(load_vectors(liar, limit=1).words) == 1            # a limit below the count: no warning
    assert "header says" not in caplog.text
    twice = tmp_path / "twice.txt"
    twice.write_text("the 0.1 0.2\nfilm 0.3 0.4\nthe 9 9\n")
    with caplog.at_level(logging.WARNING):
        vectors = load_vectors(twice)
    assert vectors.words == ["the", "film"] and vectors.vectors[0].tolist() == pytest.approx([0.1, 0.2])
    assert "1 word(s) appear more than once, e.g. 'the'" in caplog.text
    huge = tmp_path / "huge.txt"
    huge.write_text("the 0.1 1e39\n")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")                              # no RuntimeWarning on the way
        with pytest.raises(DataError, match=r"huge.txt:1: the vector of 'the' holds 1e\+39, beyond the range of float32"):
            load_vectors(huge)


def test_text_that_is_not_utf8_text_is_named(tmp_path, caplog):
    """Found by a tester: NUL bytes trained silently, gzip got an encoding hint."""
    le = tmp_path / "le.txt"
    le.write_bytes("the time machine\n".encode("utf-16-le"))
    with pytest.raises(DataError, match="looks like UTF-16 text.*--encoding utf-16-le"):
        read_text(le)
    assert read_text(le, "utf-16-le") == "the time machine\n"
    bom = tmp_path / "bom.txt"
    bom.write_bytes("the time machine\n".encode("utf-16"))
    with pytest.raises(DataError, match="UTF-16 byte-order mark: pass --encoding utf-16"):
        read_text(bom)
    stray = tmp_path / "stray.txt"
    stray.write_bytes(b"the time\0 machine\n")
    with caplog.at_level(logging.WARNING):
        assert read_text(stray) == "the time\0 machine\n"
    assert "1 NUL character(s), the first at character 8" in caplog.text
    zipped = tmp_path / "book.txt"                               # gzip under a plain name: read all the same
    zipped.write_bytes(gzip.compress("the time machine\n".encode()))
    assert read_text(zipped) == "the time machine\n"
    damaged = tmp_path / "damaged.txt.gz"
    damaged.write_bytes(gzip.compress(b"the time machine " * 100)[:40])
    with pytest.raises(DataError, match="damaged gzip file"):
        read_text(damaged)


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


def test_idx_gzip_bombs_are_never_inflated(tmp_path, monkeypatch):
    """A header that lies small is read up to its size and no further; one that announces more
    than the memory available is refused before a byte of data is read."""
    liar = tmp_path / "liar-images-idx3-ubyte.gz"
    with gzip.open(liar, "wb") as f:
        f.write(struct.pack(">4i", mnist.IMAGES, 10, 28, 28))
        for _ in range(64):
            f.write(bytes(2**20))                          # 64 MiB of zeros behind a 7,840-byte header
    assert liar.stat().st_size < 2**20
    tracemalloc.start()
    with pytest.raises(DataError, match="holds more than 7840 data bytes"):
        mnist.read_idx(liar, mnist.IMAGES)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 * 2**20
    honest = tmp_path / "huge-images-idx3-ubyte.gz"
    with gzip.open(honest, "wb") as f:
        f.write(struct.pack(">4i", mnist.IMAGES, 2_000_000, 28, 28) + bytes(1000))
    monkeypatch.setattr(mnist.resources, "available_bytes", lambda: 2**30)
    with pytest.raises(DataError, match=r"announces 2000000 x 28 x 28 = 1,568,000,000 bytes.*1.0 GiB"):
        mnist.read_idx(honest, mnist.IMAGES)


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


def test_odd_imdb_names_warn_and_are_kept(tmp_path, caplog):
    """Found by a tester: a 2/10 review in pos/ and an id used twice were read without a word."""
    root = _imdb_folder(tmp_path)
    (root / "train" / "pos" / "5_2.txt").write_text("a 2/10 review filed as positive")
    (root / "train" / "neg" / "1_3.txt").write_text("the same id as 1_2.txt")
    with caplog.at_level(logging.WARNING):
        examples = imdb.read_imdb(root, "train")
    assert len(examples) == 8
    text = caplog.text
    assert "1 review(s) have a rating that does not belong" in text and "5_2.txt" in text
    assert "used more than once" in text and "1_2.txt" in text and "1_3.txt" in text


def test_json_labels_are_one_class_per_value_and_never_a_list(tmp_path, caplog):
    """Found by a tester: JSON labels 1 and 1.0 were two classes, a list label became its text."""
    from lstmkit.data.datasets.table import read_table

    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "a", "label": 1}\n{"text": "b", "label": 1.0}\n{"text": "c", "label": "1"}\n'
                    '{"text": "d", "label": 0}\n')
    assert [e.label for e in read_table(path)] == ["1", "1", "1", "0"]
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"text": "a", "label": true}\n{"text": "b", "label": 1}\n')
    with caplog.at_level(logging.WARNING):
        assert [e.label for e in read_table(mixed)] == ["true", "1"]
    assert "mix boolean and number" in caplog.text
    for bad, what in (('{"text": "a", "label": ["pos"]}', "'label' must be one text or number, got list"),
                      ('{"text": "a", "label": {"x": 1}}', "got dict"),
                      ('{"text": "a", "label": null}', "missing"),
                      ('{"text": ["a", "b"], "label": "pos"}', "'text' is list"),
                      ('{"text": 5, "label": "pos"}', "'text' is int 5; the text must be a JSON string")):
        path.write_text(bad + "\n")
        with pytest.raises(DataError, match=rf"rows.jsonl:1: .*{what}"):
            read_table(path)
        folder = tmp_path / "imdbjsonl"
        folder.mkdir(exist_ok=True)
        (folder / "train.jsonl").write_text(bad + "\n")
        with pytest.raises(DataError, match=r"train.jsonl:1: '(label|text)'"):
            imdb.read_imdb(folder, "train")


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
    from lstmkit.tasks.forecast.options import ForecastOptions
    from lstmkit.tasks.forecast.data import prepare

    data = tmp_path / "s.csv"
    data.write_text("date,OT,flat\n" + "".join(f"2020-01-01 {i:04d},{i % 7},5\n" for i in range(120)))
    with caplog.at_level(logging.WARNING):
        prepared = prepare(str(data), ForecastOptions(target="OT", inputs="OT,flat", input_len=8, horizon=2))
    assert "'flat' constant in the training rows" in caplog.text
    flat = prepared.inputs.index("flat")
    assert prepared.scaler.std[flat] == 1.0 and prepared.scaler.std[prepared.inputs.index("OT")] > 1
    stepped = prepared.scaler.transform(torch.tensor([[3.0, 6.0]] if flat else [[6.0, 3.0]]))
    assert stepped.abs().max() < 10                                # a later change stays a small input


def test_a_forecast_outlier_is_warned_of_in_training_and_prediction(tmp_path, caplog):
    """Found by a tester: one 1e30 (a missing-value code) among values of about 1 trained a model
    that saw every other value as 0, without a word; the same in the rows given to predict."""
    from lstmkit.tasks.forecast.options import ForecastOptions
    from lstmkit.tasks.forecast.data import prepare

    def series(odd_row: int, odd: str) -> Path:
        path = tmp_path / "s.csv"
        path.write_text("date,OT,x\n" + "".join(f"2020-01-01 {i:04d},{odd if i == odd_row else i % 7},{i % 3}\n"
                                                 for i in range(120)))
        return path

    cfg = ForecastOptions(target="OT", inputs="OT,x", input_len=8, horizon=2)
    for odd_row, odd, message in ((10, "1e30", "'OT' hold outliers in the training rows (e.g. OT = 1e+30 in training row 11"),
                                  (110, "-4e7", "the validation and test rows: column(s) 'OT' hold values far outside")):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            prepare(str(series(odd_row, odd)), cfg)
        assert message in caplog.text, caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        prepare(str(series(10, "60")), cfg)                        # large but of the same kind: no warning
    assert "outliers" not in caplog.text and "far outside" not in caplog.text
    sparse = tmp_path / "sparse.csv"                               # mostly 0 (no spread), a few spikes: not warned
    sparse.write_text("date,OT\n" + "".join(f"2020-01-01 {i:04d},{500 if i % 40 == 0 else 0}\n" for i in range(120)))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        prepare(str(sparse), ForecastOptions(target="OT", input_len=8, horizon=2))
    assert "outliers" not in caplog.text


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
    from lstmkit.tasks.image.model import read_image

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


def test_huge_images_are_refused_from_their_headers(tmp_path, monkeypatch):
    """Found by a tester: a 30000x30000 PNG (873 KB) was decoded to 7 GB before its size was
    checked. The size now comes from the header (PNG) or the array's header (.npy, mapped)."""
    import matplotlib.image
    import numpy as np
    from PIL import Image

    from lstmkit.tasks.image.model import read_image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    Image.new("L", (20000, 20000)).save(tmp_path / "huge.png")
    np.lib.format.open_memmap(tmp_path / "huge.npy", mode="w+", dtype=np.float64, shape=(4000, 4000)).flush()
    (tmp_path / "huge.txt").write_text("0 " * 600_000)

    def never(*args, **kwargs):
        raise AssertionError("the pixels were decoded")

    monkeypatch.setattr(matplotlib.image, "imread", never)
    with pytest.raises(DataError, match="has shape 20000x20000"):
        read_image(tmp_path / "huge.png")
    with pytest.raises(DataError, match="has shape 4000x4000"):
        read_image(tmp_path / "huge.npy")
    with pytest.raises(DataError, match="1,200,000 bytes, too large"):
        read_image(tmp_path / "huge.txt")


def test_a_column_named_twice_in_the_header_is_refused(tmp_path) -> None:
    """Found by a tester: `text,label,text` trained silently on the last `text` column."""
    from lstmkit.data.datasets.table import read_table

    path = tmp_path / "dup.csv"
    path.write_text("text,label,text\na great film,pos,other\na dull film,neg,other\n")
    with pytest.raises(DataError, match="'text' more than once"):
        read_table(path)


# --- found by the third round of testers ---------------------------------------------------

def test_json_keys_given_twice_and_nesting_too_deep_are_refused(tmp_path):
    from lstmkit.data.datasets.table import read_table

    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "a real review", "label": "pos", "text": "junk"}\n')
    with pytest.raises(DataError, match="rows.jsonl:1: not valid JSON .*the key 'text' appears twice"):
        read_table(path)
    path.write_text('{"text": ' + "[" * 100_000 + "]" * 100_000 + ', "label": "pos"}\n')
    with pytest.raises(DataError, match="nested too deeply"):
        read_table(path)


def test_invisible_and_case_variants_of_labels(tmp_path, caplog):
    from lstmkit.data.datasets.table import read_table

    path = tmp_path / "rows.csv"
    path.write_text("text,label\na,pos\nb,pos\u200b\nc,neg\nd,Neg\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert [e.label for e in read_table(path)] == ["pos", "pos", "neg", "Neg"]
    assert "were merged" in caplog.text and "differ only in case" in caplog.text


def test_forecast_csvs_read_like_every_csv(tmp_path, caplog):
    """The forecast reader shares the header rule, the semicolon rule and gzip by content."""
    series = timeseries.read_csv_series
    dup = tmp_path / "dup.csv"
    dup.write_text("date,OT,OT\n2020-01-01 00:00:00,1,2\n")
    with pytest.raises(DataError, match="'OT' more than once"):
        series(dup)
    semi = tmp_path / "semi.csv"
    semi.write_text("date;HUFL;OT\n2020-01-01 00:00:00;1;2\n2020-01-01 01:00:00;3;4\n")
    assert series(semi).values.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    zipped = tmp_path / "zipped.csv"
    zipped.write_bytes(gzip.compress(semi.read_bytes()))
    assert series(zipped).columns == ["HUFL", "OT"]
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(200_000)) + ",c7\n" + ",".join(["1"] * 200_001) + "\n")
    with pytest.raises(DataError, match="'c7' more than once"):   # linear: was quadratic in the columns
        series(wide)


def test_forecast_rows_must_run_forward_in_time(tmp_path, caplog):
    rows = [f"2020-01-01 {h:02d}:00:00,{h}" for h in range(6)]
    back = tmp_path / "back.csv"
    back.write_text("date,OT\n" + "\n".join(reversed(rows)) + "\n")
    with pytest.raises(DataError, match=r"not in time order: data row 2 \('2020-01-01 04:00:00'\).*sort the file"):
        timeseries.read_csv_series(back)
    odd = tmp_path / "odd.csv"
    odd.write_text("date,OT\n" + "\n".join(rows[:2] + [rows[1]] + rows[4:]) + "\n")
    with caplog.at_level(logging.WARNING):
        assert len(timeseries.read_csv_series(odd).values) == 5
    assert "repeat the time" in caplog.text and "gap(s) longer than the usual step" in caplog.text


def test_more_odd_files_named_clearly(tmp_path):
    import numpy as np

    from lstmkit.tasks.image.model import read_image

    ascii_text = tmp_path / "a.txt"
    ascii_text.write_text("the time machine\n")
    with pytest.raises(DataError, match="no zero bytes: it is ASCII or UTF-8 text.*--encoding utf-8"):
        read_text(ascii_text, "utf-16")
    np.save(tmp_path / "c.npy", np.ones((28, 28), dtype=np.complex64))
    with pytest.raises(DataError, match="holds complex numbers"):
        read_image(tmp_path / "c.npy")
    conllu = tmp_path / "ids.conllu"
    conllu.write_text("".join(f"1\tw{i}\t_\tNOUN\t_\t_\t0\troot\t_\t_\n" for i in range(3)) + "\n")
    with pytest.raises(DataError, match=r"numbers its words \[1, 1, 1\]; CoNLL-U numbers them 1, 2, 3"):
        treebank.read_conllu(conllu, "upos")
    half = tmp_path / "mnist"
    half.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (half / name).write_bytes(b"")
    with pytest.raises(DataError, match="lacks t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz"):
        mnist.locate(half)


def test_recent_rows_far_outside_the_training_rows_are_warned_of(caplog):
    import lstmkit

    run = lstmkit.load(Path(__file__).parents[1] / "fixtures" / "runs_format2" / "forecast")
    with caplog.at_level(logging.WARNING):
        run.predict({"OT": [0.1] * 29 + [-9e5]})
    assert "the last " in caplog.text and " rows of data: column(s) 'OT' hold values far outside" in caplog.text
    assert "input.csv" not in caplog.text                          # the caller's name, not the scratch file's


def test_a_word_tag_file_with_a_third_column_is_refused(tmp_path):
    """Found by a tester: 'From<TAB>ADP<TAB>extra' trained on words 'From\\tADP' and the tag 'extra'."""
    from lstmkit.data.datasets.treebank import read_word_tag

    data = tmp_path / "wt.txt"
    data.write_text("From\tADP\nthe\tDET\textra\n\nAP\tPROPN\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"wt.txt:2: expected word<TAB>tag, got 3 tab-separated fields"):
        read_word_tag(data)


def test_a_tagger_with_one_tag_is_refused(tmp_path):
    from lstmkit.cli import main

    data = tmp_path / "one.txt"
    data.write_text("\n".join(["the/X cat/X runs/X"] * 30) + "\n", encoding="utf-8")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["train", "tag", "--data", str(data), "--run-dir", str(tmp_path / "r"), "--epochs", "1",
                     "--no-progress", "-q"]) == 2
    assert "has 1 tag(s) ['X']; tagging needs at least 2" in err.getvalue()
    assert not (tmp_path / "r").exists()

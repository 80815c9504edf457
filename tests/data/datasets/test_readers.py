from __future__ import annotations

import gzip
import io
import json
import tarfile

import pytest

from lstmkit.data.datasets.imdb import read_imdb
from lstmkit.data.datasets.table import read_table
from lstmkit.errors import DataError

REVIEWS = {("train", "pos"): ["great film", "loved it"], ("train", "neg"): ["awful", "boring plot"],
           ("test", "pos"): ["superb"], ("test", "neg"): ["dull"], ("train", "unsup"): ["no label", "none"]}


def _rating(label):
    return {"pos": 8, "neg": 2, "unsup": 0}[label]


def _write_folder(root):
    for (split, label), texts in REVIEWS.items():
        folder = root / "aclImdb" / split / label
        folder.mkdir(parents=True)
        for number, text in enumerate(texts):
            (folder / f"{number}_{_rating(label)}.txt").write_text(text)
    return root / "aclImdb"


def _write_archive(path):
    with tarfile.open(path, "w:gz") as tar:
        for (split, label), texts in REVIEWS.items():
            for number, text in enumerate(texts):
                data = text.encode()
                info = tarfile.TarInfo(f"aclImdb/{split}/{label}/{number}_{_rating(label)}.txt")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


def test_imdb_folder_archive_and_jsonl_agree(tmp_path):
    folder = _write_folder(tmp_path / "f")
    archive = _write_archive(tmp_path / "aclImdb_v1.tar.gz")
    jsonl_dir = tmp_path / "j"
    jsonl_dir.mkdir()
    with gzip.open(jsonl_dir / "train.jsonl.gz", "wt") as handle:
        for example in read_imdb(folder, "train"):
            handle.write(json.dumps({"text": example.text, "label": example.label}) + "\n")
    for split in ("train", "test", "unsup"):
        from_folder = read_imdb(folder, split)
        assert from_folder == read_imdb(archive, split) == read_imdb(folder.parent, split)
    assert read_imdb(jsonl_dir, "train") == read_imdb(folder, "train")
    assert [e.label for e in read_imdb(folder, "train")] == ["neg", "neg", "pos", "pos"]
    assert [(e.text, e.label) for e in read_imdb(archive, "unsup")] == [("no label", "unsup"), ("none", "unsup")]


def test_imdb_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_imdb(tmp_path / "nope", "train")
    with pytest.raises(DataError, match="unknown IMDB split 'dev'; choose one of: train, test, unsup"):
        read_imdb(tmp_path, "dev")
    with pytest.raises(DataError, match="holds no IMDB data"):
        read_imdb(tmp_path, "train")


@pytest.mark.parametrize("marker", ["NaN", "nan", " NA ", "null", "None", "#N/A"])
def test_a_missing_value_marker_is_not_a_class(tmp_path, marker):
    """Found by a tester: pandas' 'NaN' for a missing label became a class of its own."""
    (tmp_path / "d.csv").write_text(f"text,label\ngood film,pos\nbad film,{marker}\n")
    with pytest.raises(DataError, match=r"d.csv:3: 'label' is .* missing value, so the row has no label"):
        read_table(tmp_path / "d.csv")


def test_an_empty_imdb_review_is_named_by_its_file(tmp_path):
    for label in ("pos", "neg"):
        (tmp_path / "aclImdb" / "train" / label).mkdir(parents=True)
    (tmp_path / "aclImdb" / "train" / "pos" / "0_9.txt").write_text("a fine film")
    (tmp_path / "aclImdb" / "train" / "neg" / "3_2.txt").write_text("  \n")
    with pytest.raises(DataError, match=r"neg/3_2.txt': the review is empty; remove the file"):
        read_imdb(tmp_path / "aclImdb", "train")


def test_table_csv_tsv_jsonl(tmp_path):
    (tmp_path / "d.csv").write_text('review,stars\n"good, very good",5\nbad,1\n')
    (tmp_path / "d.tsv").write_text("review\tstars\ngood\t5\n")
    (tmp_path / "d.jsonl").write_text('{"review": "ok", "stars": 3}\n\n{"review": "meh", "stars": 2}\n')
    csv_rows = read_table(tmp_path / "d.csv", "review", "stars")
    assert [(e.text, e.label) for e in csv_rows] == [("good, very good", "5"), ("bad", "1")]
    assert read_table(tmp_path / "d.tsv", "review", "stars")[0].label == "5"
    assert [e.label for e in read_table(tmp_path / "d.jsonl", "review", "stars")] == ["3", "2"]


def test_table_errors(tmp_path):
    (tmp_path / "d.csv").write_text("body,y\nhello,1\n")
    with pytest.raises(DataError, match=r"no column\(s\) \['text', 'label'\]; its columns are \['body', 'y'\]"):
        read_table(tmp_path / "d.csv")
    (tmp_path / "e.csv").write_text("text,label\nfine,1\n  ,0\n")
    with pytest.raises(DataError, match="e.csv:3: empty text"):
        read_table(tmp_path / "e.csv")
    (tmp_path / "e.jsonl").write_text('{"text": "a", "label": 1}\n\n{"text": "", "label": 0}\n')
    with pytest.raises(DataError, match="e.jsonl:3: empty text"):      # the file's line, blank lines counted
        read_table(tmp_path / "e.jsonl")
    (tmp_path / "f.jsonl").write_text('{"text": "a", "label": 1}\n{oops\n')
    with pytest.raises(DataError, match=r"f.jsonl:2: not valid JSON Lines, which hold one JSON object per line"):
        read_table(tmp_path / "f.jsonl")
    (tmp_path / "g.csv").write_bytes("text,label\ncaf\xe9,1\n".encode("latin-1"))
    with pytest.raises(DataError, match="not valid utf-8; pass its encoding with --encoding"):
        read_table(tmp_path / "g.csv")
    assert read_table(tmp_path / "g.csv", encoding="latin-1")[0].text == "café"
    (tmp_path / "g.txt").write_text("x")
    with pytest.raises(DataError, match="cannot tell the format"):
        read_table(tmp_path / "g.txt")


def test_download_errors_are_clear(monkeypatch, tmp_path):
    import pooch

    from lstmkit.data.datasets import imdb

    monkeypatch.setenv("LSTMKIT_CACHE", str(tmp_path))

    def mismatch(*args, **kwargs):
        raise ValueError("MD5 hash of downloaded file does not match the known hash")

    monkeypatch.setattr(pooch, "retrieve", mismatch)
    with pytest.raises(DataError, match="failed its checksum"):
        imdb.download()

    def offline(*args, **kwargs):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(DataError, match=r"cannot download IMDB .*ConnectionError.*pass --data PATH"):
        imdb.download()


def test_download_asks_pooch_for_the_published_archive_and_md5(monkeypatch, tmp_path):
    import pooch

    from lstmkit.data.datasets import imdb

    monkeypatch.setenv("LSTMKIT_CACHE", str(tmp_path))
    seen = {}
    monkeypatch.setattr(pooch, "retrieve", lambda url, known_hash, path, **kw: seen.update(url=url, hash=known_hash, path=path) or str(tmp_path / "a.tar.gz"))
    imdb.download()
    assert seen == {"url": "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
                    "hash": "md5:7c2ac02c03563afcf9b574c7e56c153a", "path": tmp_path / "imdb"}

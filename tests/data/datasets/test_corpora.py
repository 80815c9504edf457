from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from lstmkit.data.datasets import corpora
from lstmkit.errors import DataError

PTB = {"train": "a b <unk>\nc a\n", "valid": "a c\n", "test": "b <unk>\n"}


def _ptb_folder(root):
    root.mkdir(parents=True)
    for split, text in PTB.items():
        (root / f"ptb.{split}.txt").write_text(text)
    return root


def test_ptb_from_folder_d2l_zip_and_mikolov_tgz_agree(tmp_path):
    from_folder = corpora.read_ptb(_ptb_folder(tmp_path / "ptb"))
    with zipfile.ZipFile(tmp_path / "ptb.zip", "w") as z:                   # d2l's layout
        for split, text in PTB.items():
            z.writestr(f"ptb/ptb.{split}.txt", text)
    with tarfile.open(tmp_path / "simple-examples.tgz", "w:gz") as t:       # Mikolov's layout
        for split, text in PTB.items():
            data = text.encode()
            info = tarfile.TarInfo(f"./simple-examples/data/ptb.{split}.txt")
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    for path in (tmp_path / "ptb.zip", tmp_path / "simple-examples.tgz"):
        got = corpora.read_ptb(path)
        assert (got.train, got.valid, got.test) == (from_folder.train, from_folder.valid, from_folder.test)
    assert from_folder.test == PTB["test"]


def test_ptb_archive_missing_a_split(tmp_path):
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as z:
        z.writestr("ptb/ptb.train.txt", "a\n")
    with pytest.raises(DataError, match="has no ptb.valid.txt"):
        corpora.read_ptb(tmp_path / "bad.zip")


def test_named_corpora_are_found_under_lstmkit_data(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTMKIT_DATA", str(tmp_path))
    _ptb_folder(tmp_path / "ptb")
    assert corpora.read_corpus("ptb").valid == PTB["valid"]
    (tmp_path / "tinyshakespeare").mkdir()
    (tmp_path / "tinyshakespeare" / "input.txt").write_text("x" * 95 + "y" * 5)
    shakespeare = corpora.read_corpus("tinyshakespeare")
    assert len(shakespeare.train) == 90 and shakespeare.valid == "xxxxxyyyyy" and shakespeare.test == ""


def test_missing_corpus_says_where_it_looked_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTMKIT_DATA", str(tmp_path))
    monkeypatch.setenv("LSTMKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="corpus 'ptb' not found .*pass --download"):
        corpora.read_corpus("ptb")
    with pytest.raises(DataError, match="unknown corpus"):
        corpora.locate("wikitext")


def test_download_asks_pooch_for_the_published_file_and_hash(tmp_path, monkeypatch):
    import pooch

    monkeypatch.setenv("LSTMKIT_DATA", str(tmp_path))
    monkeypatch.setenv("LSTMKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    seen = {}

    def retrieve(url, known_hash, path, fname, **kwargs):
        seen.update(url=url, hash=known_hash)
        target = path / fname
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("To be, or not to be\n" * 20)
        return str(target)

    monkeypatch.setattr(pooch, "retrieve", retrieve)
    got = corpora.read_corpus("tinyshakespeare", download=True)
    assert got.train.startswith("To be")
    assert seen["url"].endswith("data/tinyshakespeare/input.txt")
    assert seen["hash"] == "sha256:86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"

    def mismatch(*args, **kwargs):
        raise ValueError("SHA256 hash of downloaded file does not match")

    monkeypatch.setattr(pooch, "retrieve", mismatch)
    with pytest.raises(DataError, match="failed its checksum"):
        corpora.read_corpus("zh-novel", download=True)


HEADER = "The Project Gutenberg EBook\n*** START OF THIS PROJECT GUTENBERG EBOOK 23950 ***\n"
FOOTER = "\nEnd of Project Gutenberg's Romance of the Three Kingdoms\nlicence text\n"
NUMBERS = "一二三四五六七八九十"


def _novel(n):
    chapters = []
    for i in range(1, n + 1):
        tens, ones = divmod(i, 10)
        number = (NUMBERS[tens - 1] if tens > 1 else "") + ("十" if tens else "") + (NUMBERS[ones - 1] if ones else "")
        chapters.append(f"第{number}回：標題{i}\n\n　　第{i}回正文，\n續行{i}。\n")
    return HEADER + "\n".join(chapters) + FOOTER


def test_novel_split_by_chapter_number(tmp_path):
    path = tmp_path / "novel.txt"
    path.write_text(_novel(20), encoding="utf-8")
    got = corpora.read_zh_novel(path)
    assert "第五回" in got.valid and "第十五回" in got.valid and "第五回" not in got.train
    assert "第十回" in got.test and "第二十回" in got.test
    assert got.train.count("回：") == 16
    assert "第1回正文，續行1。" in got.train                        # wrapped lines joined
    assert "Gutenberg" not in got.train + got.valid + got.test and "licence" not in got.test


def test_novel_without_chapters(tmp_path):
    path = tmp_path / "novel.txt"
    path.write_text("沒有章回的文字。\n", encoding="utf-8")
    with pytest.raises(DataError, match="has 0 chapters"):
        corpora.read_zh_novel(path)


def test_split_folder_errors(tmp_path):
    (tmp_path / "a.train.txt").write_text("x")
    with pytest.raises(DataError, match="has no valid file"):
        corpora.split_folder(tmp_path)
    (tmp_path / "a.valid.txt").write_text("y")
    (tmp_path / "b.valid.txt").write_text("z")
    with pytest.raises(DataError, match="several valid files"):
        corpora.split_folder(tmp_path)

from __future__ import annotations

import pytest

from lstmkit.data.datasets import treebank
from lstmkit.data.datasets.treebank import TaggedSentence, jieba_tagged, read_conllu, read_word_tag
from lstmkit.errors import DataError


def _row(i, form, upos, xpos="_"):
    return f"{i}\t{form}\t_\t{upos}\t{xpos}\t_\t_\t_\t_\t_"


CONLLU = "\n".join([
    "# sent_id = s1", "# text = Don't go.",
    _row("1-2", "Don't", "_"), _row(1, "Do", "AUX", "VBP"), _row(2, "n't", "PART", "RB"),
    _row(3, "go", "VERB", "VB"), _row("3.1", "go", "VERB", "VB"), _row(4, ".", "PUNCT", "."),
    "", "# sent_id = s2", _row(1, "Hi", "INTJ", "UH"), "", "",
])


def test_conllu_keeps_syntactic_words_and_skips_ranges_and_empty_nodes(tmp_path):
    path = tmp_path / "a.conllu"
    path.write_text(CONLLU)
    first, second = read_conllu(path)
    assert first == TaggedSentence(("Do", "n't", "go", "."), ("AUX", "PART", "VERB", "PUNCT"), "Don't go.", "s1")
    assert read_conllu(path, "xpos")[0].tags == ("VBP", "RB", "VB", ".")
    assert second.words == ("Hi",)


@pytest.mark.parametrize("bad,line,message", [
    ("1\tonly three\tfields", 3, "has 10 tab-separated fields, this one has 3"),
    (_row("x", "word", "NOUN"), 3, "bad ID 'x'"),
    (_row(1, "word", "_"), 3, "the word 'word' has no UPOS tag"),
])
def test_conllu_errors_name_file_and_line(tmp_path, bad, line, message):
    path = tmp_path / "b.conllu"
    path.write_text("\n".join(["# sent_id = ok", _row(1, "fine", "ADJ"), bad, ""]) + "\n")
    with pytest.raises(DataError, match=rf"b\.conllu:{line}: .*{message}"):
        read_conllu(path)


def test_conllu_sentence_without_words(tmp_path):
    path = tmp_path / "c.conllu"
    path.write_text(_row(1, "fine", "ADJ") + "\n\n# only a comment\n" + _row("1-2", "x", "_") + "\n")
    with pytest.raises(DataError, match=r"c\.conllu:3: a sentence with no words"):
        read_conllu(path)


def test_word_tag_formats(tmp_path):
    tabs = tmp_path / "t.tsv"
    tabs.write_text("The\tDET\ncat\tNOUN\n\nRuns\tVERB\n")
    assert [s.tags for s in read_word_tag(tabs)] == [("DET", "NOUN"), ("VERB",)]
    slashes = tmp_path / "s.txt"
    slashes.write_text("The/DET cat/NOUN\n1/2/NUM\n")
    assert [s.words for s in read_word_tag(slashes)] == [("The", "cat"), ("1/2",)]
    bad = tmp_path / "bad.txt"
    bad.write_text("The/DET cat\n")
    with pytest.raises(DataError, match=r"bad\.txt:1: expected word/tag, got 'cat'"):
        read_word_tag(bad)


def test_jieba_segments_and_tags_raw_chinese():
    sentences = jieba_tagged("我爱北京天安门。\n\n今天天气很好")
    assert len(sentences) == 2
    assert "北京" in sentences[0].words and sentences[0].tags[sentences[0].words.index("北京")] == "ns"
    with pytest.raises(DataError, match="no words"):
        jieba_tagged("  \n ")


def test_named_treebank_lookup_and_download(tmp_path, monkeypatch):
    import pooch

    monkeypatch.setenv("LSTMKIT_DATA", str(tmp_path))
    monkeypatch.setenv("LSTMKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="treebank 'ud-zh' .* not found .*--download"):
        treebank.locate_treebank("ud-zh")
    seen = []
    monkeypatch.setattr(pooch, "retrieve", lambda url, known_hash, path, fname, **kw: seen.append((url, known_hash)) or str(path / fname))
    paths = treebank.locate_treebank("ud-en-ewt", download=True)
    assert set(paths) == {"train", "dev", "test"}
    assert seen[0] == ("https://raw.githubusercontent.com/UniversalDependencies/UD_English-EWT/r2.16/en_ewt-ud-train.conllu",
                       "sha256:3fb78e2b55482c8ee00caa653af436c88c9e5bc9a73ce26e4ae3ddc79d2b7e7b")

"""A trained tagger, loaded: ``predict`` (word, tag) pairs, ``evaluate`` on a treebank (and jieba end to end)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lstmkit import boundary
from lstmkit.errors import DataError
from lstmkit.tasks.run import Evaluation, Run, ServeInput, check_eval_data


class TaggerRun(Run):
    def __init__(self, run_dir: str | Path, device: str = "cpu") -> None:
        super().__init__(run_dir, device)
        from lstmkit.tasks.tag import model as tag

        self.model, self.vocabs, _ = tag.load_tagger(run_dir, device, self.cfg)

    @property
    def chinese(self) -> bool:
        return self.cfg.data.path == "ud-zh" or self.cfg.tag.format == "jieba"

    def predict(self, texts: str | Iterable[str], tokenizer: str | None = None):
        """(word, tag) pairs of one text, or a list of them for several texts.

        ``tokenizer``: how texts are split into words (default: jieba for Chinese models,
        else the UD-style English tokenizer).
        """
        from lstmkit.tasks.tag import model as tag

        single = isinstance(texts, str)
        items = boundary.texts("texts", texts)
        if tokenizer is not None:
            boundary.choice("tokenizer", tokenizer, ("ud_english", "whitespace", "jieba"))
        tokenizer = tokenizer or ("jieba" if self.chinese else "ud_english")
        tagged = tag.tag_texts(self.model, self.vocabs, items, tokenizer)
        return tagged[0] if single else tagged

    predict_options = frozenset({"texts", "file", "tokenizer"})
    serve_input = ServeInput("texts", "a tagger needs \"texts\": a list of texts", batched=True)

    def served(self, results: list[Any]) -> list[Any]:
        return [[{"word": w, "tag": t} for w, t in pairs] for pairs in results]
    eval_options = frozenset({"data", "download", "encoding", "jieba"})

    def evaluate(self, data: str | Path | None = None, download: bool = False, encoding: str | None = None,
                 jieba: bool = False) -> Evaluation:
        """Token accuracy, per-tag P/R/F1 and confusions on ``data`` (default: the treebank's
        test part); for Chinese also end to end from jieba's segmentation."""
        boundary.switch("download", download)
        check_eval_data(data, optional=True)
        from lstmkit.tasks.tag import model as tag
        from lstmkit.tasks.tag.data import load_splits, read_sentences

        cfg = self.cfg
        if data is None:
            sentences = load_splits(cfg.data, cfg.tag, download, cfg.train.seed).test
            if not sentences:
                raise DataError(f"the run's data {cfg.data.path!r} has no test part; pass --data FILE")
        else:
            from lstmkit.data.text import check_inherited_encoding

            if encoding is None:
                check_inherited_encoding(data, cfg.data.encoding)
            sentences = read_sentences(data, cfg.tag.format, cfg.tag.column, encoding or cfg.data.encoding)
        rep = tag.evaluate(self.model, sentences, self.vocabs)
        scores, text = rep.to_dict(), rep.as_text()
        if jieba or self.chinese:
            e2e = tag.end_to_end_chinese(self.model, self.vocabs, sentences)
            text += (f"\n\nend to end from raw text segmented by jieba: segmentation F1 {100 * e2e.segmentation_f1:.2f}%, "
                     f"tagging F1 {100 * e2e.tagging_f1:.2f}% (P {100 * e2e.tagging_precision:.2f}, "
                     f"R {100 * e2e.tagging_recall:.2f}; {e2e.system_words} words for {e2e.gold_words} gold)")
            scores["end_to_end_jieba"] = e2e.__dict__
        saved = self._save_eval(scores, data)
        return Evaluation(scores, f"{text}\n{saved}")

    def predict_lines(self, inputs: list[str], tokenizer: str | None = None, **options: Any) -> list[str]:
        show = boundary.printable
        return [" ".join(f"{show(w)}/{show(t)}" for w, t in pairs) for pairs in self.predict(inputs, tokenizer)]

    def inspect_stack(self, value: str, invert: bool, max_steps: int):
        import torch

        from lstmkit.data.datasets.treebank import TaggedSentence
        from lstmkit.tasks.tag.data import encode_batch

        pairs = self.predict(value)[:max_steps]
        words = tuple(w for w, _ in pairs)
        batch = encode_batch([TaggedSentence(words, ("X",) * len(words))], self.vocabs)
        model = self.model
        mask = torch.ones(1, len(words), dtype=torch.bool)
        x = model.embed(batch.words)
        if model.char_embed is not None:
            x = torch.cat([x, model._char_features(batch, mask)], dim=-1)
        return list(words), x, [model.rnn], {"tags": [t for _, t in pairs]}



__all__ = ['TaggerRun']

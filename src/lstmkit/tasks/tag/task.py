"""Sequence tagging (part of speech): the tutorial's LSTM tagger grown into a BiLSTM(-CRF).

Each word is its embedding (optionally pretrained) joined with a character BiLSTM's final
states (for unknown and rare words); a BiLSTM reads the sentence; a linear layer scores the
tags of each word, followed by a softmax per word or a linear-chain CRF over the sentence.
Legend: B batch, T words, N real words in the batch, L characters, E/C embedding sizes,
H hidden, K tags.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lstmkit.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from lstmkit.errors import DataError, RunDirError
from lstmkit.training.task import COMMON_USES, Context, Flag, Headline, Option, Task

if TYPE_CHECKING:                      # types only: the model code loads with torch, when a method runs
    from lstmkit.data.datasets.treebank import TaggedSentence
    from lstmkit.tasks.tag.data import TagSplits
    from lstmkit.tasks.tag.model import TagData, Tagger
    from lstmkit.training.trainer import StepResult

logger = logging.getLogger(__name__)


class TagTask(Task):
    """Part-of-speech tagging: a BiLSTM(-CRF) over words and their characters."""

    name = "tag"
    run_class = "lstmkit.tasks.tag.run:TaggerRun"   # what load() returns
    export_module = "lstmkit.tasks.tag.export"
    eval_data_help = "a file (default: the treebank's test part)"
    eval_flags = (Option("--jieba", "also score Chinese end to end, segmented by jieba (default for Chinese models)"),)
    predict_flags = (Option("--tokenizer", "how texts are split into words (default: jieba for Chinese models, else "
                                           "ud_english)", str, choices=("ud_english", "whitespace", "jieba")),)
    memory_help = 'sentences of (word, tag) pairs'
    help = "part-of-speech tagging (UD treebanks, word/tag files, raw Chinese via jieba)"
    data_help = "ud-en-ewt|ud-zh|PATH"
    defaults = RunConfig(
        task="tag",
        model=ModelConfig(embedding_dim=100, hidden_size=200, bidirectional=True, dropout=0.33),
        data=DataConfig(min_freq=2),
        train=TrainConfig(epochs=20, lr=0.002, batch_size=32, patience=4, clip_norm=5.0),
    )
    uses = COMMON_USES | {"model.embedding_dim"} | {
        f"data.{f}" for f in ("valid_path", "test_path", "encoding", "valid_fraction", "min_freq", "max_vocab")} | {
        f"vectors.{f}" for f in ("path", "freeze", "unknown_init")}
    monitor = "valid_error"
    monitor_label = "highest valid accuracy"
    headline = Headline("valid_acc", "valid accuracy", percent=True)
    log_keys = ("train_loss", "valid_acc", "tokens_per_s")
    plot = ("accuracy.png", ("valid_acc",), "validation accuracy", False)
    flags = (Flag("--valid-data", "data.valid_path"), Flag("--test-data", "data.test_path"),
             Flag("--format", "tag.format", ("auto", "conllu", "word-tag", "jieba")),
             Flag("--tag-column", "tag.column", ("upos", "xpos")), Flag("--vectors", "vectors.path"),
             Flag("--freeze", "vectors.freeze"), Flag("--embedding-dim", "model.embedding_dim"), Flag("--crf", "tag.crf"),
             Flag("--encoding", "data.encoding"))

    def prepare(self, cfg: RunConfig, download: bool, splits: TagSplits | None = None) -> TagData:
        from lstmkit.tasks.tag.data import TagVocabs, check_sentences, load_splits
        from lstmkit.tasks.tag.model import TagData, pretrained
        from lstmkit.training.memory import check_batches_fit

        splits = splits or load_splits(cfg.data, cfg.tag, download, cfg.train.seed)
        check_sentences(splits.train, f"{splits.source} (train)")
        if not splits.valid:
            raise DataError(f"{splits.source!r} leaves no sentences for validation; add sentences, raise "
                            "data.valid_fraction or give data.valid_path")
        fix = "split long sentences (a treebank's sentences are rarely over 200 words)"
        for sentences, source, training in ((splits.train, "training data", True), (splits.valid, "validation data", False),
                                            (splits.test, "test data", False)):
            check_batches_fit([len(s.words) for s in sentences], cfg.train.batch_size if training else 64, cfg.model,
                              bidirectional=True, training=training, source=f"{splits.source} ({source})", fix=fix)
        vocabs = TagVocabs.build(splits.train, cfg.data.min_freq, cfg.data.max_vocab or None)
        if len(vocabs.tags) < 2:
            raise DataError(f"{splits.source} (train) has {len(vocabs.tags)} tag(s) {vocabs.tags.itos}; tagging needs at "
                            "least 2 (is the tag column right? --tag-column upos or xpos)")
        logger.info("%s: %d train / %d valid / %d test sentences; %d words, %d characters, %d tags",
                    splits.source, len(splits.train), len(splits.valid), len(splits.test), len(vocabs.words),
                    len(vocabs.chars), len(vocabs.tags))
        return TagData(splits, vocabs, pretrained(cfg, vocabs))

    def build(self, cfg: RunConfig, data: TagData) -> Tagger:
        from lstmkit.tasks.tag.model import Tagger

        self.vocabs = data.vocabs
        return Tagger(data.vocabs, cfg.model, cfg.tag, data.embedding, cfg.vectors.freeze)

    def save_assets(self, run_dir: Path, cfg: RunConfig, data: TagData) -> None:
        from lstmkit.tasks.tag.model import save_vocabs

        save_vocabs(run_dir, data.vocabs)

    def check_resume(self, run_dir: Path, data: TagData) -> None:
        from lstmkit.tasks.tag.model import VOCAB_FILES
        from lstmkit.training import checkpoint

        saved = checkpoint.load_vocab(run_dir, VOCAB_FILES["words"])
        if saved.itos != data.vocabs.words.itos:
            raise RunDirError(f"the data of {str(run_dir)!r} no longer gives the vocabulary it was trained with; "
                              "resume with the same data and data settings")

    def batches(self, ctx: Context, data: TagData, epoch: int):
        from lstmkit.tasks.tag.data import sentence_batches

        return sentence_batches(data.splits.train, ctx.cfg.train.batch_size, True, ctx.generator)

    def num_batches(self, ctx: Context, data: TagData) -> int:
        return -(-len(data.splits.train) // ctx.cfg.train.batch_size)

    def shard(self, batch: list[TaggedSentence], rank):
        return rank.slice(batch) or None

    def step(self, model: Tagger, ctx: Context, batch: list[TaggedSentence], state) -> StepResult:
        from lstmkit.tasks.tag.data import encode_batch
        from lstmkit.training.trainer import StepResult

        encoded = encode_batch(batch, self.vocabs)
        with ctx.autocast():
            loss, count = model.loss(encoded)
        return StepResult(loss, count, int(encoded.lengths.sum()))

    def validate(self, model: Tagger, ctx: Context, data: TagData) -> dict[str, float]:
        from lstmkit.tasks.tag.model import evaluate

        rep = evaluate(model, data.splits.valid, data.vocabs)
        return {"valid_acc": rep.accuracy, "valid_error": 1 - rep.accuracy}

    def finish(self, model: Tagger, ctx: Context, data: TagData, run_dir: Path) -> dict | None:
        from lstmkit.tasks.tag.model import end_to_end_chinese, evaluate

        if not data.splits.test:
            return None
        result = evaluate(model, data.splits.test, data.vocabs).to_dict()
        if data.splits.source == "ud-zh" or ctx.cfg.tag.format == "jieba":
            result["end_to_end_jieba"] = end_to_end_chinese(model, data.vocabs, data.splits.test).__dict__
        return result


    def report(self, fitted: Any, options: dict[str, Any]) -> list[str]:
        lines = super().report(fitted, options)
        e2e = (fitted.test or {}).get("end_to_end_jieba")
        if lines and e2e:
            lines.append(f"end to end from raw text segmented by jieba: segmentation F1 "
                         f"{100 * e2e['segmentation_f1']:.2f}%, tagging F1 {100 * e2e['tagging_f1']:.2f}%")
        return lines

    def memory_part(self, arg: str, value: Any) -> Any | None:
        """Sentences as lists of (word, tag) pairs."""
        from lstmkit import boundary

        if isinstance(value, boundary.PATH_TYPES):
            return None
        return boundary.tagged_sentences(arg, value)

    def write_part(self, value: list[list[tuple[str, str]]], folder: Path, name: str) -> Path:
        """Sentences of (word, tag) pairs given in memory, as word<TAB>tag lines."""
        from lstmkit import boundary
        from lstmkit.files import write_file

        lines = []
        for number, sentence in enumerate(value, 1):
            for word, tag in sentence:
                if not word.strip() or not tag.strip() or any(c in word + tag for c in "\t\n\r"):
                    raise boundary.ArgumentError(f"{name} sentence {number}: the pair {(word, tag)!r} has an empty "
                                                 "word or tag, or a tab or line break inside one; give one word and "
                                                 "one tag per pair")
            lines += [f"{w}\t{t}" for w, t in sentence] + [""]
        return write_file(folder / f"{name}.tsv", "\n".join(lines))

"""Text classification (IMDB sentiment and any labelled text): the tutorials' most repeated job.

Embedding (optionally pretrained, frozen or fine-tuned) -> (Bi)LSTM/GRU over a padded batch
with lengths (the layers' exact fast path) -> pooling over the real steps -> linear head.
Legend: B batch, T time, E embedding, H hidden, D directions, C classes, V vocab.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lstmkit.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from lstmkit.errors import ConfigError, RunDirError, listing
from lstmkit.files import write_file
from lstmkit.tasks.classify.options import ClassifyOptions
from lstmkit.training.task import COMMON_USES, Context, Flag, Headline, Option, Task, shard_rows

if TYPE_CHECKING:                      # types only: the model code loads with torch, when a method runs
    from lstmkit.tasks.classify.data import Prepared
    from lstmkit.tasks.classify.model import TextClassifier
    from lstmkit.training.trainer import StepResult


class ClassifyTask(Task):
    """Text classification: length-bucketed batches on the layers' padded-plus-lengths path."""

    name = "classify"
    run_class = "lstmkit.tasks.classify.run:ClassifierRun"   # what load() returns
    export_module = "lstmkit.tasks.classify.export"
    eval_data_help = "imdb (its test split) or a table"
    memory_help = '(text, label) rows'
    options = (Option("--save-vectors", "save the fine-tuned vectors (.npy + vocabulary, word2vec text) in "
                                        "RUN_DIR/vectors"),)
    help = "text classification (IMDB sentiment or any labelled text)"
    data_help = "imdb|PATH"
    defaults = RunConfig(
        task="classify",
        model=ModelConfig(embedding_dim=100, hidden_size=128, bidirectional=True, dropout=0.5),
        data=DataConfig(min_freq=2),
        train=TrainConfig(epochs=5, lr=0.001, batch_size=64, patience=2),
        options=ClassifyOptions(pooling="max"),
    )
    uses = COMMON_USES | {"model.embedding_dim", "model.bidirectional"} | {
        f"data.{f}" for f in ("valid_path", "test_path", "encoding", "valid_fraction", "tokenizer", "min_freq",
                              "max_vocab")} | {
        f"vectors.{f}" for f in ("path", "freeze", "lowercase_fallback", "unknown_init", "word2vec_dim",
                                 "word2vec_epochs", "word2vec_unlabelled")}
    monitor = "valid_loss"
    monitor_label = "lowest valid loss"
    headline = Headline("valid_acc", "valid accuracy", percent=True)
    log_keys = ("train_loss", "valid_loss", "valid_acc", "tokens_per_s")
    plot = ("loss.png", ("train_loss", "valid_loss"), "cross-entropy", False)
    flags = (Flag("--valid-data", "data.valid_path"), Flag("--test-data", "data.test_path"),
             Flag("--text-column", "classify.text_column"), Flag("--label-column", "classify.label_column"),
             Flag("--encoding", "data.encoding"), Flag("--vectors", "vectors.path"), Flag("--freeze", "vectors.freeze"),
             Flag("--embedding-dim", "model.embedding_dim"), Flag("--pooling", "classify.pooling", ("last", "mean", "max")))

    def prepare(self, cfg: RunConfig, download: bool, examples=None) -> Prepared:
        from lstmkit.tasks.classify.data import prepare
        from lstmkit.tasks.classify.model import check_fits, pretrained_embedding

        data = prepare(cfg.data, cfg.classify, cfg.train.seed, download,
                       with_unlabelled=cfg.vectors.path == "word2vec" and cfg.vectors.word2vec_unlabelled,
                       examples=examples)
        for split, source in ((data.train, "training data"), (data.valid, "validation data"), (data.test, "test data")):
            if split is not None:
                check_fits(cfg, split, cfg.train.batch_size, True, source)
        data.embedding = pretrained_embedding(cfg, data)
        return data

    def build(self, cfg: RunConfig, data: Prepared) -> TextClassifier:
        from lstmkit.data.vocab import PAD
        from lstmkit.tasks.classify.model import TextClassifier

        return TextClassifier(len(data.vocab), len(data.labels), cfg.model, cfg.classify.pooling,
                              data.vocab.stoi[PAD], data.embedding, freeze=cfg.vectors.freeze)

    def save_assets(self, run_dir: Path, cfg: RunConfig, data: Prepared) -> None:
        from lstmkit.training import checkpoint

        checkpoint.save_files(run_dir, {checkpoint.VOCAB: data.vocab.to_json(),
                                        "labels.json": json.dumps(data.labels, ensure_ascii=False)})

    def check_resume(self, run_dir: Path, data: Prepared) -> None:
        from lstmkit.tasks.classify.model import run_labels
        from lstmkit.training import checkpoint

        if checkpoint.load_vocab(run_dir).itos != data.vocab.itos:
            raise RunDirError(f"the data of {str(run_dir)!r} no longer gives the vocabulary it was trained with; "
                              "resume with the same data and data settings")
        if run_labels(run_dir) != data.labels:
            raise RunDirError(f"the data of {str(run_dir)!r} has the labels [{listing(data.labels)}], the run was "
                              f"trained on [{listing(run_labels(run_dir))}]; resuming would relabel the trained model: "
                              "resume with the same data")

    def batches(self, ctx: Context, data: Prepared, epoch: int):
        from lstmkit.data.vocab import PAD
        from lstmkit.tasks.classify.data import batches

        return batches(data.train, ctx.cfg.train.batch_size, data.vocab.stoi[PAD], True, ctx.generator)

    def num_batches(self, ctx: Context, data: Prepared) -> int:
        return -(-len(data.train) // ctx.cfg.train.batch_size)

    def shard(self, batch, rank):
        part = shard_rows(rank, *batch)
        if part is None:
            return None
        ids, lengths, labels = part
        return ids[:, : int(lengths.max())], lengths, labels               # (b, T')

    def step(self, model: TextClassifier, ctx: Context, batch, state) -> StepResult:
        import torch.nn.functional as F
        from lstmkit.training.trainer import StepResult

        ids, lengths, labels = batch
        with ctx.autocast():
            logits = model(ids.to(ctx.device), lengths)                       # (B, C)
        loss = F.cross_entropy(logits.float(), labels.to(ctx.device))
        return StepResult(loss, labels.numel(), int(lengths.sum()))

    def validate(self, model: TextClassifier, ctx: Context, data: Prepared) -> dict[str, float]:
        from lstmkit.data.vocab import PAD
        from lstmkit.tasks.classify.model import evaluate

        rep, nll = evaluate(model, data.valid, data.labels, ctx.cfg.train.batch_size * 2, data.vocab.stoi[PAD],
                            ctx.device, ctx.cfg.train.bf16)
        return {"valid_loss": nll, "valid_acc": rep.accuracy}

    def finish(self, model: TextClassifier, ctx: Context, data: Prepared, run_dir: Path) -> dict | None:
        from lstmkit.data.vocab import PAD
        from lstmkit.tasks.classify.model import evaluate

        if data.test is None:
            return None
        rep, nll = evaluate(model, data.test, data.labels, ctx.cfg.train.batch_size * 2, data.vocab.stoi[PAD],
                            ctx.device, ctx.cfg.train.bf16)
        write_file(run_dir / "eval.txt", rep.as_text() + "\n")
        return {**rep.to_dict(), "loss": nll}


    def check_options(self, run_dir: Path, cfg: RunConfig, options: dict[str, Any]) -> None:
        """--save-vectors writes RUN/vectors/: refused now, not after the training, where a
        user's file is in its place or a --vectors input would be replaced."""
        if not options.get("save_vectors"):
            return
        from lstmkit.files import same_file
        from lstmkit.training.rundir import SUBFOLDERS

        folder = run_dir / "vectors"
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise ConfigError(f"--save-vectors writes into {str(folder)!r}, which is a file or a link that lstmkit did "
                              "not make; move it, or leave out --save-vectors")
        for name in SUBFOLDERS["vectors"]:                    # the files save_vectors writes
            if cfg.vectors.path and same_file(Path(cfg.vectors.path), folder / name):
                raise ConfigError(f"--vectors {cfg.vectors.path!r} is the file {name} that --save-vectors writes; "
                                  "copy it elsewhere first (it would be replaced by the vectors trained from it)")

    def report(self, fitted: Any, options: dict[str, Any]) -> list[str]:
        from lstmkit.data.vectors import save_vectors

        lines = super().report(fitted, options)
        if options.get("save_vectors"):
            save_vectors(fitted.run_dir / "vectors", fitted.data.vocab, fitted.model.embed.weight)
            lines.append(f"vectors saved in {fitted.run_dir / 'vectors'}")
        return lines

    def memory_part(self, arg: str, value: Any) -> Any | None:
        """(text, label) pairs or {"text", "label"} rows."""
        from lstmkit import boundary

        if isinstance(value, boundary.PATH_TYPES):
            return None
        return boundary.labelled_rows(arg, value)

    def write_part(self, value: list[tuple[str, str]], folder: Path, name: str) -> Path:
        """(text, label) rows given in memory, as JSON Lines."""
        import json

        from lstmkit.files import write_file

        lines = [json.dumps({"text": t, "label": y}, ensure_ascii=False) for t, y in value]
        return write_file(folder / f"{name}.jsonl", "\n".join(lines) + "\n")

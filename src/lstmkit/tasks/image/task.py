"""Sequential images: MNIST read by an LSTM as 28 rows of 28 pixels (the tutorial's job), or
pixel by pixel (784 steps of 1 pixel, optionally in a fixed random order: permuted MNIST).

Legend: B batch, T steps (28 or 784), F pixels per step (28 or 1), H hidden, C classes (10).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from lstmkit.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from lstmkit.errors import ConfigError
from lstmkit.training.task import COMMON_USES, Context, Flag, Headline, Option, Task, shard_rows

if TYPE_CHECKING:                      # types only: the model code loads with torch, when a method runs
    from lstmkit.tasks.image.model import ImageData, SequenceClassifier
    from lstmkit.training.trainer import StepResult

logger = logging.getLogger(__name__)


class ImageTask(Task):
    """MNIST as sequences: rows, pixels, or permuted pixels."""

    name = "image"
    run_class = "lstmkit.tasks.image.run:ImageRun"   # what load() returns
    export_module = "lstmkit.tasks.image.export"
    predict_flags = (Option("--invert", "the digit is dark on a light background"),)
    export_length = False             # its graph takes the length its model was built for
    memory_help = "a folder of MNIST's IDX files"
    help = "MNIST read by an LSTM row by row (or pixel by pixel)"
    data_help = "mnist|PATH"
    defaults = RunConfig(
        task="image",
        model=ModelConfig(hidden_size=128, num_layers=1, dropout=0.0),
        data=DataConfig(path="mnist"),
        train=TrainConfig(epochs=10, lr=0.002, batch_size=128, clip_norm=1.0),
    )
    uses = COMMON_USES | {"model.bidirectional"}
    monitor = "valid_error"
    monitor_label = "highest valid accuracy"
    headline = Headline("valid_acc", "valid accuracy", percent=True)
    log_keys = ("train_loss", "valid_acc")
    plot = ("accuracy.png", ("valid_acc",), "validation accuracy", False)
    flags = (Flag("--mode", "image.mode", ("rows", "pixels", "permuted")),)

    def prepare(self, cfg: RunConfig, download: bool) -> ImageData:
        from lstmkit.data.datasets.mnist import load_mnist
        from lstmkit.tasks.image.model import ImageData, to_sequences

        ic = cfg.image
        data = load_mnist(None if cfg.data.path in ("", "mnist") else cfg.data.path, download)
        x_all, y_all = to_sequences(data.train_images, ic), data.train_labels.long()
        cut = len(x_all) - ic.valid_size
        if cut < 1:
            raise ConfigError(f"image.valid_size={ic.valid_size} holds out all {len(x_all)} training images; lower it")
        out = ImageData(x_all[:cut], y_all[:cut], x_all[cut:], y_all[cut:], to_sequences(data.test_images, ic),
                        data.test_labels.long())
        logger.info("MNIST as %s: %d train / %d valid / %d test sequences of %s", ic.mode, cut, ic.valid_size,
                    len(out.x_test), tuple(out.x_train.shape[1:]))
        return out

    def build(self, cfg: RunConfig, data: ImageData) -> SequenceClassifier:
        from lstmkit.tasks.image.model import SequenceClassifier

        return SequenceClassifier(data.x_train.size(-1), 10, cfg.model, cfg.image)

    def batches(self, ctx: Context, data: ImageData, epoch: int):
        from lstmkit.data.batching import shuffled_batches

        return shuffled_batches(data.x_train, data.y_train, ctx.cfg.train.batch_size, ctx.generator)

    def num_batches(self, ctx: Context, data: ImageData) -> int:
        return -(-len(data.x_train) // ctx.cfg.train.batch_size)

    def shard(self, batch, rank):
        return shard_rows(rank, *batch)

    def step(self, model: SequenceClassifier, ctx: Context, batch, state) -> StepResult:
        import torch.nn.functional as F
        from lstmkit.training.trainer import StepResult

        x, y = (b.to(ctx.device) for b in batch)
        with ctx.autocast():
            logits = model(x)                                                   # (B, C)
        return StepResult(F.cross_entropy(logits.float(), y), len(y), x.size(0) * x.size(1))

    def validate(self, model: SequenceClassifier, ctx: Context, data: ImageData) -> dict[str, float]:
        from lstmkit.tasks.image.model import predict

        if len(data.x_valid) == 0:
            return {}
        acc = float((predict(model, data.x_valid) == data.y_valid).float().mean())
        return {"valid_acc": acc, "valid_error": 1 - acc}

    def finish(self, model: SequenceClassifier, ctx: Context, data: ImageData, run_dir: Path) -> dict:
        from lstmkit.tasks.image.model import predict
        from lstmkit.training.classification_metrics import report

        from lstmkit.training.plots import plot_confusion

        rep = report(data.y_test, predict(model, data.x_test), [str(d) for d in range(10)])
        plot_confusion(rep.confusion, rep.labels, run_dir / "confusion.png")
        return rep.to_dict()

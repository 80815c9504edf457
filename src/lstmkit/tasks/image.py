"""Sequential images: MNIST read by an LSTM as 28 rows of 28 pixels (the tutorial's job), or
pixel by pixel (784 steps of 1 pixel, optionally in a fixed random order: permuted MNIST).

Legend: B batch, T steps (28 or 784), F pixels per step (28 or 1), H hidden, C classes (10).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.config import ImageConfig, ModelConfig, RunConfig
from lstmkit.data.batching import shuffled_batches
from lstmkit.data.datasets.mnist import load_mnist
from lstmkit.errors import DataError
from lstmkit.nn import init_chrono, init_forget_bias, make_rnn
from lstmkit.train import checkpoint
from lstmkit.train.build import device_of, make_optimizer
from lstmkit.train.classification_metrics import ClassificationReport, report
from lstmkit.train.hooks import EarlyStopping, LogEpoch, MetricsFile, PlotMetrics, SaveBest, TimeBudget
from lstmkit.train.schedule import LRSchedule
from lstmkit.train.trainer import Trainer

logger = logging.getLogger(__name__)

MEAN, STD = 0.1307, 0.3081        # MNIST training-set pixel statistics (on [0, 1])
EVAL_FILE = "eval.json"


def to_sequences(images: Tensor, cfg: ImageConfig) -> Tensor:
    """Normalised pixel sequences.  Shapes: images (N, 28, 28) uint8 -> (N, 28, 28) or (N, 784, 1)

    Example:
        >>> to_sequences(torch.zeros(2, 28, 28, dtype=torch.uint8), ImageConfig(mode="pixels")).shape
        torch.Size([2, 784, 1])
    """
    x = (images.float() / 255 - MEAN) / STD
    if cfg.mode == "rows":
        return x
    x = x.reshape(len(x), -1, 1)                                                  # (N, 784, 1)
    if cfg.mode == "permuted":
        order = torch.randperm(784, generator=torch.Generator().manual_seed(cfg.permutation_seed))
        x = x[:, order]
    return x


class SequenceClassifier(nn.Module):
    """LSTM/GRU over the steps; the last step's hidden state (both directions' last steps when
    bidirectional) feeds a linear classifier, as the tutorial does.

    Shapes: x (B, T, F) -> logits (B, C)

    Example:
        >>> model = SequenceClassifier(28, 10, ModelConfig(hidden_size=16))
        >>> model(torch.randn(4, 28, 28)).shape
        torch.Size([4, 10])
    """

    def __init__(self, input_size: int, num_classes: int, cfg: ModelConfig) -> None:
        super().__init__()
        self.rnn = make_rnn(cfg.cell, input_size, cfg.hidden_size, num_layers=cfg.num_layers, batch_first=True,
                            bidirectional=cfg.bidirectional, backend=cfg.backend,
                            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        if cfg.forget_bias:
            init_forget_bias(self.rnn, cfg.forget_bias)
        if cfg.chrono_init:
            init_chrono(self.rnn, cfg.chrono_init)
        directions = 2 if cfg.bidirectional else 1
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(directions * cfg.hidden_size, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        _, state = self.rnn(x)
        h = state[0] if isinstance(state, tuple) else state                         # (L*D, B, H)
        last = torch.cat([h[-2], h[-1]], dim=-1) if self.head.in_features != h.size(-1) else h[-1]
        return self.head(self.drop(last))


@dataclass
class ImageResult:
    model: SequenceClassifier
    history: list[dict[str, float]]
    test: ClassificationReport
    train_seconds: float


@torch.no_grad()
def predict(model: nn.Module, x: Tensor, batch_size: int = 1000) -> Tensor:
    """Class ids.  Shapes: x (N, T, F) -> (N,)"""
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    out = torch.cat([model(x[i : i + batch_size].to(device)).argmax(-1).cpu() for i in range(0, len(x), batch_size)])
    model.train(was)
    return out


def train_image(cfg: RunConfig, run_dir: str | Path, progress: bool = False, download: bool = False) -> ImageResult:
    """Train on MNIST (``data.path``: mnist or a folder of the IDX files), keep the best epoch by
    accuracy on held-out training images, and score the test set (eval.json, confusion.png)."""
    from lstmkit.train.plots import plot_confusion

    device = device_of(cfg.train.device)
    t, ic = cfg.train, cfg.image
    data = load_mnist(None if cfg.data.path in ("", "mnist") else cfg.data.path, download)
    x_all, y_all = to_sequences(data.train_images, ic), data.train_labels.long()
    n_valid = ic.valid_size
    x_train, y_train = x_all[: len(x_all) - n_valid], y_all[: len(x_all) - n_valid]
    x_valid, y_valid = x_all[len(x_all) - n_valid :], y_all[len(x_all) - n_valid :]
    x_test, y_test = to_sequences(data.test_images, ic), data.test_labels.long()
    torch.manual_seed(t.seed)
    model = SequenceClassifier(x_train.size(-1), 10, cfg.model).to(device)
    optimizer = make_optimizer(model.parameters(), t)
    generator = torch.Generator().manual_seed(t.seed)
    logger.info("MNIST as %s: %d train / %d valid / %d test sequences of %s", ic.mode, len(x_train), len(x_valid),
                len(x_test), tuple(x_train.shape[1:]))

    def batches(epoch: int):
        return shuffled_batches(x_train, y_train, t.batch_size, generator)

    def step(batch):
        x, y = (b.to(device) for b in batch)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=t.bf16):
            logits = model(x)
        return F.cross_entropy(logits.float(), y), len(y), x.size(0) * x.size(1)

    def validate() -> dict[str, float]:
        if n_valid == 0:
            return {}
        acc = float((predict(model, x_valid) == y_valid).float().mean())
        return {"valid_acc": acc, "valid_error": 1 - acc}

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    monitor = "valid_error" if n_valid else "train_loss"
    hooks = [LogEpoch(["train_loss", "valid_acc"]), MetricsFile(run_dir),
             PlotMetrics(run_dir / "accuracy.png", ["valid_acc"], "validation accuracy"),
             SaveBest(lambda: checkpoint.save_run(run_dir, model, cfg), monitor)]
    hooks += [EarlyStopping(monitor, t.patience)] if t.patience > 0 else []
    hooks += [TimeBudget(t.max_minutes, t.stop_mid_epoch)] if t.max_minutes > 0 else []
    hooks.insert(0, LRSchedule(optimizer, t.lr_schedule, t.lr, t.epochs, t.lr_decay, t.decay_start, monitor))
    start = time.perf_counter()
    state = Trainer(model, optimizer, clip_norm=t.clip_norm, hooks=hooks, progress=progress).fit(
        t.epochs, batches, step, validate)
    seconds = time.perf_counter() - start
    checkpoint.load_weights(run_dir, model)
    rep = report(y_test, predict(model, x_test), [str(d) for d in range(10)])
    (run_dir / EVAL_FILE).write_text(json.dumps(rep.to_dict(), indent=2), encoding="utf-8")
    plot_confusion(rep.confusion, rep.labels, run_dir / "confusion.png")
    return ImageResult(model, state.history, rep, seconds)


def load_image_model(run_dir: str | Path) -> tuple[SequenceClassifier, RunConfig]:
    cfg = checkpoint.read_run_config(run_dir, task="image")
    model = SequenceClassifier(28 if cfg.image.mode == "rows" else 1, 10, cfg.model)
    checkpoint.load_weights(run_dir, model)
    return model.eval(), cfg


def read_image(path: str | Path, invert: bool = False) -> Tensor:
    """A 28x28 digit as MNIST stores it (light digit on a dark background, uint8).

    Reads a PNG (grey or colour, averaged to grey) or a ``.npy``/``.txt`` array of 28x28 values
    in [0, 255] or [0, 1].

    Raises:
        DataError: for a missing or unreadable file, a size other than 28x28 (with a hint to
            resize), or an image that looks inverted (dark digit on light ground) without ``invert``.
    """
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise DataError(f"image file {str(path)!r} not found")
    try:
        if path.suffix.lower() == ".npy":
            array = np.load(path, allow_pickle=False)
        elif path.suffix.lower() in (".txt", ".csv"):
            array = np.loadtxt(path, delimiter="," if path.suffix.lower() == ".csv" else None)
        else:
            import matplotlib.image

            array = matplotlib.image.imread(path)
    except (OSError, ValueError, SyntaxError) as err:
        raise DataError(f"cannot read {str(path)!r} as an image: {err}") from None
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 3:
        array = array[..., :3].mean(-1)                              # colour -> grey (alpha dropped)
    if array.shape != (28, 28):
        raise DataError(f"{str(path)!r} is {array.shape[1] if array.ndim > 1 else '?'}x{array.shape[0]} "
                        f"pixels; the model reads 28x28 MNIST-style images: resize it first "
                        "(e.g. PIL's Image.resize((28, 28)))")
    if array.max() <= 1.0:
        array = array * 255
    if invert:
        array = 255 - array
    elif array.mean() > 127:
        raise DataError(f"{str(path)!r} looks inverted (mostly light, mean {array.mean():.0f}/255); MNIST digits "
                        "are light on dark: pass --invert")
    return torch.from_numpy(array.clip(0, 255).round().astype("uint8"))


def predict_image(model: SequenceClassifier, cfg: RunConfig, image: Tensor) -> tuple[int, Tensor]:
    """Class and probabilities of one 28x28 uint8 image."""
    x = to_sequences(image[None], cfg.image)
    with torch.no_grad():
        probs = torch.softmax(model(x), dim=-1)[0]
    return int(probs.argmax()), probs

"""A task from outside lstmkit (issue 19, item 2): the sign of a sequence's sum.

Nothing in ``src/`` names it. It is registered with :func:`lstmkit.tasks.register` (or, in a
fresh process, through the ``lstmkit.tasks`` entry-point group) and then trains, evaluates,
predicts, serves and exports like a shipped task. Its data: one row per line, ``LENGTH``
numbers separated by spaces, a tab, and ``pos`` or ``neg`` (the sign of their sum).

Legend: B batch, T time (LENGTH), H hidden, C classes (2).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lstmkit.config import DataConfig, ModelConfig, RunConfig, TrainConfig, check_at_least, setting
from lstmkit.errors import DataError
from lstmkit.tasks.run import Evaluation, Run, ServeInput
from lstmkit.training.task import COMMON_USES, Context, Defaults, Headline, Task

NAME = "toy"
LENGTH = 8
LABELS = ("neg", "pos")


@dataclass(frozen=True)
class ToyOptions:
    scale: float = setting(1.0, "numbers are divided by this before the model reads them")

    def __post_init__(self) -> None:
        check_at_least("toy.scale", self.scale, 1e-6)


def write_rows(path: Path, n: int, seed: int = 0) -> Path:
    """``n`` random rows with their labels: the task's data file."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        row = [rng.randint(-9, 9) for _ in range(LENGTH)]
        lines.append(" ".join(map(str, row)) + "\t" + LABELS[sum(row) > 0])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def parse_row(text: str, where: str) -> list[float]:
    try:
        row = [float(v) for v in text.split()]
    except ValueError:
        raise DataError(f"{where}: {text!r} is not {LENGTH} numbers separated by spaces") from None
    if len(row) != LENGTH:
        raise DataError(f"{where}: {len(row)} numbers, a toy row has {LENGTH}")
    return row


def read_rows(path: str) -> tuple[list[list[float]], list[int]]:
    rows, labels = [], []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        numbers, _, label = line.partition("\t")
        if label not in LABELS:
            raise DataError(f"{path}:{number}: label {label!r}, expected one of {LABELS}")
        rows.append(parse_row(numbers, f"{path}:{number}"))
        labels.append(LABELS.index(label))
    return rows, labels


def build_model(cfg: RunConfig):
    """An LSTM over the numbers and a linear head on its last state: (B, T) -> (B, C)."""
    from torch import nn

    from lstmkit.nn import make_rnn

    class SignModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = make_rnn(cfg.model.cell, 1, cfg.model.hidden_size, batch_first=True, backend=cfg.model.backend)
            self.head = nn.Linear(cfg.model.hidden_size, len(LABELS))

        def forward(self, x):
            out, _ = self.rnn(x.unsqueeze(-1) / cfg.toy.scale)     # (B, T) -> (B, T, H)
            return self.head(out[:, -1])                           # (B, C)

    return SignModel()


class ToyTask(Task):
    name = NAME
    section = ToyOptions
    help = "the sign of a sequence's sum (a task defined in the test suite)"
    data_help = "PATH"
    run_class = f"{__name__}:ToyRun"
    export_module = __name__
    export_length = False
    defaults = Defaults(model=ModelConfig(hidden_size=16, dropout=0.0), data=DataConfig(path=""),
                        train=TrainConfig(epochs=20, lr=0.02, batch_size=32))
    uses = COMMON_USES
    monitor = "valid_error"
    monitor_label = "highest valid accuracy"
    headline = Headline("valid_acc", "valid accuracy", percent=True)
    log_keys = ("train_loss", "valid_acc")

    def prepare(self, cfg: RunConfig, download: bool) -> Any:
        import torch

        rows, labels = read_rows(cfg.data.path)
        x, y = torch.tensor(rows), torch.tensor(labels)              # (N, T), (N,)
        cut = max(1, int(len(x) * 0.8))
        return {"train": (x[:cut], y[:cut]), "valid": (x[cut:], y[cut:])}

    def build(self, cfg: RunConfig, data: Any):
        return build_model(cfg)

    def batches(self, ctx: Context, data: Any, epoch: int):
        from lstmkit.data.batching import shuffled_batches

        return shuffled_batches(*data["train"], ctx.cfg.train.batch_size, ctx.generator)

    def step(self, model, ctx: Context, batch, state):
        import torch.nn.functional as F

        from lstmkit.training.trainer import StepResult

        x, y = (b.to(ctx.device) for b in batch)
        return StepResult(F.cross_entropy(model(x), y), len(y))

    def validate(self, model, ctx: Context, data: Any) -> dict[str, float]:
        import torch

        x, y = data["valid"]
        with torch.no_grad():
            acc = float((model(x).argmax(-1) == y).float().mean())
        return {"valid_acc": acc, "valid_error": 1 - acc}

    def finish(self, model, ctx: Context, data: Any, run_dir: Path) -> dict[str, float]:
        return {"accuracy": self.validate(model, ctx, data)["valid_acc"]}


class ToyRun(Run):
    serve_input = ServeInput("texts", f"a toy run needs \"texts\": rows of {LENGTH} numbers", batched=True)
    predict_options = frozenset({"texts"})

    def __init__(self, run_dir: str | Path, device: str = "cpu") -> None:
        super().__init__(run_dir, device)
        from lstmkit.training import checkpoint

        self.model = checkpoint.build_and_load(run_dir, lambda: build_model(self.cfg)).eval()

    def predict(self, texts: str | list[str]) -> list[dict[str, Any]]:
        import torch

        texts = [texts] if isinstance(texts, str) else list(texts)
        rows = [parse_row(t, f"texts[{i}]") for i, t in enumerate(texts)]
        with torch.no_grad():
            probs = torch.softmax(self.model(torch.tensor(rows)), -1)    # (B, C)
        return [{"text": t, "label": LABELS[int(p.argmax())], "probability": float(p.max())}
                for t, p in zip(texts, probs)]

    def predict_lines(self, inputs: list[str], **options: Any) -> list[str]:
        return [f"{p['label']}\t{p['probability']:.4f}\t{p['text']}" for p in self.predict(inputs)]

    def evaluate(self, data: str | Path | None = None, download: bool = False) -> Evaluation:
        rows, labels = read_rows(str(data if data is not None else self.cfg.data.path))
        found = [LABELS.index(p["label"]) for p in self.predict([" ".join(map(str, r)) for r in rows])]
        scores = {"accuracy": sum(a == b for a, b in zip(found, labels)) / len(labels)}
        saved = self._save_eval(scores, data)
        return Evaluation(scores, f"accuracy {100 * scores['accuracy']:.2f}% of {len(labels)} rows\n{saved}")


def export_spec(run_dir: Path, cfg: RunConfig, length: int | None, fmt: str):
    """The graph: (B, T) numbers -> (B, C) probabilities."""
    import torch
    from torch import nn

    from lstmkit.nn.exportable import ExportSpec

    class Probabilities(nn.Module):
        def __init__(self, model: nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, numbers):                                # the argument is the graph's input name
            return torch.softmax(self.model(numbers), -1)          # (B, T) -> (B, C)

    run = ToyRun(run_dir)
    return ExportSpec(Probabilities(run.model).eval(), (torch.randn(2, LENGTH),), ["numbers"], ["probabilities"],
                      {"numbers": 0}, {})

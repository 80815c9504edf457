"""Accuracy, per-class precision/recall/F1 and the confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class ClassificationReport:
    labels: list[str]
    confusion: Tensor  # (C, C): rows true class, columns predicted

    @property
    def accuracy(self) -> float:
        return float(self.confusion.diag().sum() / self.confusion.sum().clamp(min=1))

    def per_class(self) -> dict[str, dict[str, float]]:
        tp = self.confusion.diag().double()
        predicted = self.confusion.sum(0).double()
        actual = self.confusion.sum(1).double()
        precision = tp / predicted.clamp(min=1)
        recall = tp / actual.clamp(min=1)
        f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
        return {
            label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                    "support": int(actual[i])}
            for i, label in enumerate(self.labels)
        }

    def as_text(self) -> str:
        width = max(9, *(len(label) for label in self.labels))
        lines = [f"accuracy {100 * self.accuracy:.2f}%", "",
                 f"{'class':<{width}} precision  recall     f1  support"]
        for label, m in self.per_class().items():
            lines.append(f"{label:<{width}} {m['precision']:9.4f} {m['recall']:7.4f} {m['f1']:6.4f} {m['support']:8d}")
        lines += ["", "confusion (rows: true, columns: predicted)",
                  " " * width + "".join(f"{label:>{width + 1}}" for label in self.labels)]
        for i, label in enumerate(self.labels):
            lines.append(f"{label:<{width}}" + "".join(f"{int(v):>{width + 1}}" for v in self.confusion[i]))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "labels": self.labels, "per_class": self.per_class(),
                "confusion": self.confusion.tolist()}


def confusion_matrix(true: Tensor, predicted: Tensor, num_classes: int) -> Tensor:
    """Shapes: true (N,), predicted (N,) -> (C, C)

    Example:
        >>> confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]), 2).tolist()
        [[1, 0], [1, 1]]
    """
    index = true.long() * num_classes + predicted.long()
    return torch.bincount(index, minlength=num_classes * num_classes).view(num_classes, num_classes)


def report(true: Tensor, predicted: Tensor, labels: Sequence[str]) -> ClassificationReport:
    return ClassificationReport(list(labels), confusion_matrix(true, predicted, len(labels)))

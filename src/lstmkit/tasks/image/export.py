"""What an image model exports: raw 28x28 grey pixels to probabilities (:class:`ImagePixels`)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from lstmkit.config import RunConfig
from lstmkit.nn.exportable import ExportSpec, RangeCheck, checks_note



class ImagePixels(nn.Module):
    """Raw 28x28 grey pixels in [0, 255] -> class probabilities, with the run's reading order."""

    def __init__(self, model: nn.Module, image_cfg) -> None:
        super().__init__()
        self.model, self.image_cfg = model, image_cfg
        self.check_pixels = RangeCheck("pixels", 0, "(grey values 0-255: scale values in [0, 1] by 255 first)")

    def forward(self, pixels: Tensor) -> Tensor:
        from lstmkit.tasks.image.model import to_sequences

        pixels = self.check_pixels(pixels, 255)
        return torch.softmax(self.model(to_sequences(pixels, self.image_cfg)), dim=-1)


def export_spec(run_dir: Path, cfg: RunConfig, length: int | None, fmt: str) -> ExportSpec:
    """The exportable module of an image run (see :func:`lstmkit.export.export_spec`)."""
    from lstmkit.tasks.image.model import load_image_model

    model, _ = load_image_model(run_dir)
    example = (torch.rand(2, 28, 28) * 255,)
    ranges = {"pixels": (0, 255)}
    return ExportSpec(ImagePixels(model, cfg.image).eval(), example, ["pixels"], ["probabilities"],
                      {"pixels": 0}, {}, notes={"checks": checks_note(ranges) + " (grey values 0-255, not 0-1)"},
                      ranges=ranges)

"""The ``[image]`` section: how images become sequences, and the image model's initialisation."""

from __future__ import annotations

from dataclasses import dataclass

from lstmkit.config import check_at_least, check_choice, check_seed, setting
from lstmkit.errors import ConfigError


@dataclass(frozen=True)
class ImageOptions:
    mode: str = setting("rows",
        "rows: 28 steps of 28 pixels; pixels: 784 steps of 1; permuted: pixels in a fixed random order (seed "
        "permutation_seed)")
    permutation_seed: int = setting(0, "the fixed pixel order of permuted mode")
    valid_size: int = setting(5000, "training images held out for model selection")
    forget_bias: float = setting(0.0, "!= 0 starts each LSTM forget gate at this bias; 0 = torch's init")
    chrono_init: int = setting(0,
        ">= 3: chrono initialisation (Tallec & Ollivier) of the LSTM gates for memories up to this many steps"
        " (784 for pixel MNIST)")

    def __post_init__(self) -> None:
        check_choice("image.mode", self.mode, ("permuted", "pixels", "rows"))
        check_at_least("image.valid_size", self.valid_size, 0)
        check_seed("image.permutation_seed", self.permutation_seed)
        if self.chrono_init and (self.chrono_init < 3 or self.forget_bias):
            raise ConfigError(f"image.chrono_init must be 0 (off) or >= 3 and excludes image.forget_bias; "
                              f"got chrono_init={self.chrono_init}, forget_bias={self.forget_bias}")

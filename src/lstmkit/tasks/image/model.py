"""The image model, image readers, prediction and loading (its Task is task.py).

Sequential images: MNIST read by an LSTM as 28 rows of 28 pixels (the tutorial's job), or
pixel by pixel (784 steps of 1 pixel, optionally in a fixed random order: permuted MNIST).

Legend: B batch, T steps (28 or 784), F pixels per step (28 or 1), H hidden, C classes (10).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from lstmkit.config import ModelConfig, RunConfig
from lstmkit.tasks.image.options import ImageOptions
from lstmkit.data.text import check_path
from lstmkit.errors import DataError
from lstmkit.nn import init_chrono, init_forget_bias, make_rnn
from lstmkit.training import checkpoint

logger = logging.getLogger(__name__)

MEAN, STD = 0.1307, 0.3081        # MNIST training-set pixel statistics (on [0, 1])
EVAL_FILE = checkpoint.SCORES
MAX_TEXT_IMAGE_BYTES = 2**20    # a .txt/.csv of 28x28 values is a few KB; larger files are refused unread


def to_sequences(images: Tensor, cfg: ImageOptions) -> Tensor:
    """Normalised pixel sequences.  Shapes: images (N, 28, 28) uint8 -> (N, 28, 28) or (N, 784, 1)

    Example:
        >>> to_sequences(torch.zeros(2, 28, 28, dtype=torch.uint8), ImageOptions(mode="pixels")).shape
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
        >>> model = SequenceClassifier(28, 10, ModelConfig(hidden_size=16), ImageOptions())
        >>> model(torch.randn(4, 28, 28)).shape
        torch.Size([4, 10])
    """

    def __init__(self, input_size: int, num_classes: int, cfg: ModelConfig, ic: ImageOptions) -> None:
        super().__init__()
        self.rnn = make_rnn(cfg.cell, input_size, cfg.hidden_size, num_layers=cfg.num_layers, batch_first=True,
                            bidirectional=cfg.bidirectional, backend=cfg.backend,
                            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        if ic.forget_bias:
            init_forget_bias(self.rnn, ic.forget_bias)
        if ic.chrono_init:
            init_chrono(self.rnn, ic.chrono_init)
        directions = 2 if cfg.bidirectional else 1
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(directions * cfg.hidden_size, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        _, state = self.rnn(x)
        h = state[0] if isinstance(state, tuple) else state                         # (L*D, B, H)
        last = torch.cat([h[-2], h[-1]], dim=-1) if self.head.in_features != h.size(-1) else h[-1]
        return self.head(self.drop(last))


@torch.no_grad()
def predict(model: nn.Module, x: Tensor, batch_size: int = 1000) -> Tensor:
    """Class ids.  Shapes: x (N, T, F) -> (N,)"""
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    out = torch.cat([model(x[i : i + batch_size].to(device)).argmax(-1).cpu() for i in range(0, len(x), batch_size)])
    model.train(was)
    return out


@dataclass
class ImageData:
    x_train: Tensor    # (N, T, F)
    y_train: Tensor    # (N,)
    x_valid: Tensor
    y_valid: Tensor
    x_test: Tensor
    y_test: Tensor





def load_image_model(run_dir: str | Path, cfg: RunConfig | None = None) -> tuple[SequenceClassifier, RunConfig]:
    cfg = cfg or checkpoint.read_run_config(run_dir, task="image")          # a loaded run passes its own
    model = checkpoint.build_and_load(
        run_dir, lambda: SequenceClassifier(28 if cfg.image.mode == "rows" else 1, 10, cfg.model, cfg.image), sizes=cfg.model)
    return model.eval(), cfg


def read_image(path: str | Path, invert: bool = False) -> Tensor:
    """A 28x28 digit as MNIST stores it (light digit on a dark background, uint8).

    Reads a PNG (grey or colour, averaged to grey; transparency composited, see
    :func:`check_array`) or a ``.npy``/``.txt`` array of 28x28 values in [0, 255] or [0, 1].

    Raises:
        DataError: for a missing or unreadable file (or one that is not a regular file), a size
            other than 28x28 (with a hint to resize), a fully transparent PNG, or an image that
            looks inverted (dark digit on light ground) without ``invert``.
    """
    import numpy as np

    path = check_path(path, "image file")
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                    # an empty .txt: the size check below says it
            if path.suffix.lower() == ".npy":
                array = np.load(path, mmap_mode="r", allow_pickle=False)     # the shape, before any data
                check_shape(array.shape, repr(str(path)))
            elif path.suffix.lower() in (".txt", ".csv"):
                if path.stat().st_size > MAX_TEXT_IMAGE_BYTES:
                    raise DataError(f"{str(path)!r} is {path.stat().st_size:,} bytes, too large for the 28x28 values "
                                    f"of one image (at most {MAX_TEXT_IMAGE_BYTES:,}); give one 28x28 image")
                with open(path, "rb") as f:
                    comma = path.suffix.lower() == ".csv" or b"," in f.read(MAX_TEXT_IMAGE_BYTES)
                array = np.loadtxt(path, delimiter="," if comma else None, ndmin=2)   # spaces or commas
            else:
                import matplotlib.image
                from PIL import Image

                with Image.open(path) as opened:                            # reads the header only
                    width, height = opened.size
                check_shape((height, width), repr(str(path)))
                array = matplotlib.image.imread(path)
                if array.dtype.kind == "f":                 # matplotlib scales a PNG to 0-1 by its bit depth
                    array = array * 255.0                   # 0-255 here: its 0 and 255 are not "only 0 and 1"
    except DataError:
        raise
    except Exception as err:                                   # noqa: BLE001 - numpy/Pillow raise many kinds
        detail = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise DataError(f"cannot read {str(path)!r} as an image ({detail}); give a 28x28 PNG, .npy or .txt "
                        "of grey values") from None
    return check_array(array, repr(str(path)), invert)


def check_array(array, name: str, invert: bool = False) -> Tensor:
    """A 28x28 uint8 digit from an array of grey values in [0, 255] or [0, 1] (or a PNG's
    colours), light on dark as MNIST.

    A PNG with transparent pixels is composited on the background that shows its strokes: white
    behind dark strokes, black behind light ones (with a warning), instead of dropping the alpha
    channel, which turns black strokes on a transparent ground into an all-black image. Dark
    strokes so become a dark digit on white, which then needs ``invert`` as any such image does.

    Raises:
        DataError: for a size other than 28x28, values that are not finite or outside
            [0, 255], a PNG that is transparent everywhere, or an image that looks inverted
            (without ``invert``).
    """
    import numpy as np

    if np.iscomplexobj(array):
        raise DataError(f"{name} holds complex numbers ({np.asarray(array).dtype}); give real pixel values "
                        "(0-255 or 0-1)")
    kind = getattr(getattr(array, "dtype", None), "kind", "f")
    if kind not in "biuf":                                           # strings, dates, objects: not pixels
        raise DataError(f"{name} holds values of type {array.dtype} (not numbers); give pixel values as numbers "
                        "(0-255 or 0-1), e.g. numpy.save(path, image.astype('uint8'))")
    try:
        array = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataError(f"{name} is not an array of numbers: {err}") from None
    check_shape(array.shape, name)
    array = _one_grey_image(array, name)                             # (28, 28)
    if not np.isfinite(array).all():
        raise DataError(f"{name} has {int((~np.isfinite(array)).sum())} value(s) that are not finite (nan/inf); "
                        "pixels must be numbers in [0, 255] or [0, 1]")
    if array.min() < 0 or array.max() > 255:
        raise DataError(f"{name} has values in [{array.min():.4g}, {array.max():.4g}]; pixels must be in [0, 255] "
                        "or [0, 1]")
    if array.max() <= 1.0:
        if (array == np.round(array)).all() and array.max() > 0:    # only 0s and 1s: 0-1 or a faint 0-255?
            logger.warning("%s holds only 0 and 1: read as a black-and-white image on the 0-1 scale (1 = white); "
                           "if its values are 0-255 grey levels, the image is almost black", name)
        array = array * 255
    if invert:
        if array.mean() < 64:
            logger.warning("%s is already light on dark like MNIST (mean %.0f/255); invert makes it dark on light, "
                           "which the model was not trained on: leave invert out", name, array.mean())
        array = 255 - array
    elif array.mean() > 127:
        raise DataError(f"{name} looks inverted (mostly light, mean {array.mean():.0f}/255); MNIST digits "
                        "are light on dark: pass --invert (invert=True in Python, \"invert\": true over HTTP)")
    return torch.from_numpy(array.clip(0, 255).round().astype("uint8"))


def check_shape(shape: tuple[int, ...], name: str) -> None:
    """Raises DataError unless ``shape`` is one 28x28 image: (28, 28); with a channel axis
    (28, 28, 1/2/3/4: grey, grey and alpha, RGB, RGBA) or one leading image axis (1, 28, 28); or the 784 values
    of one flattened image (784,) or (1, 784) as in MNIST's CSV form. Read from a header,
    before the pixels are decoded."""
    shape = tuple(shape)
    if shape in _ONE_IMAGE:
        return
    if len(shape) == 3 and shape[1:] == (28, 28):
        raise DataError(f"{name} holds {shape[0]} images of 28x28 (shape {shape}); the model reads "
                        "one image per file: save each digit on its own")
    if len(shape) == 2 and shape[1] == 784:
        raise DataError(f"{name} holds {shape[0]} flattened images of 784 values (shape {shape}); the model reads "
                        "one image per file: save each digit on its own")
    if len(shape) <= 1 or (len(shape) == 2 and 1 in shape):
        count = math.prod(shape) if shape else 1
        raise DataError(f"{name} holds {count:,} value(s) in one row; one flattened image has 784 (28x28) values")
    shown = "x".join(str(d) for d in shape)
    raise DataError(f"{name} has shape {shown} (rows x columns{' x channels' if len(shape) == 3 else ''}); "
                    "the model reads one 28x28 MNIST-style image (grey, or with 1 to 4 channels): "
                    "resize it first (e.g. PIL's Image.resize((28, 28)))")


_ONE_IMAGE = {(28, 28), (1, 28, 28), (28, 28, 1), (28, 28, 2), (28, 28, 3), (28, 28, 4), (784,), (1, 784)}


def _one_grey_image(array, name: str):
    """One image of a shape :func:`check_shape` accepts, as (28, 28) grey values."""
    if array.shape in ((784,), (1, 784)):
        return array.reshape(28, 28)                                 # row by row, as MNIST's CSV stores it
    if array.shape == (1, 28, 28):
        return array[0]
    if array.ndim == 3:
        return _png_grey(array, name) if array.shape[-1] > 1 else array[..., 0]     # (28, 28, C) -> (28, 28)
    return array


def _png_grey(array, name: str):
    """(H, W, C) colours as (H, W) grey: C = 2 (grey, alpha), 3 (RGB) or 4 (RGBA), alpha
    composited (see :func:`check_array`)."""
    channels = array.shape[-1]
    grey = array[..., :3].mean(-1) if channels >= 3 else array[..., 0]        # colour -> grey
    if channels not in (2, 4):
        return grey
    white = 255.0 if array.max() > 1 else 1.0                        # 8-bit values or [0, 1]
    alpha = array[..., -1] / white                                   # (H, W) in [0, 1]
    if (alpha >= 1).all():
        return grey                                                  # opaque: nothing to composite
    if alpha.max() <= 0:
        raise DataError(f"{name} is fully transparent (alpha 0 in every pixel): there is no digit to read; "
                        "save it with opaque strokes")
    ink = float((grey * alpha).sum() / alpha.sum())                  # the strokes' grey, by opacity
    background = white if ink < white / 2 else 0.0
    logger.warning("%s has transparent pixels (%.0f%%); composited on %s behind its %s strokes", name,
                   100 * float((alpha < 1).mean()), "white" if background else "black",
                   "dark" if background else "light")
    return grey * alpha + background * (1 - alpha)


def predict_image(model: SequenceClassifier, cfg: RunConfig, image: Tensor) -> tuple[int, Tensor]:
    """Class and probabilities of one 28x28 uint8 image."""
    x = to_sequences(image[None], cfg.image)
    with torch.no_grad():
        probs = torch.softmax(model(x), dim=-1)[0]
    return int(probs.argmax()), probs

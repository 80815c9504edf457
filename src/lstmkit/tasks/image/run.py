"""A trained image model, loaded: ``predict`` digits of images or arrays, ``evaluate`` on MNIST's test set."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from lstmkit import boundary
from lstmkit.errors import ConfigError
from lstmkit.tasks.run import Evaluation, Run, ServeInput, check_eval_data


class ImageRun(Run):
    def __init__(self, run_dir: str | Path, device: str = "cpu") -> None:
        super().__init__(run_dir, device)
        from lstmkit.tasks.image import model as image

        self.model, _ = image.load_image_model(run_dir, self.cfg)

    def predict(self, images: Any, invert: bool = False) -> list[dict[str, Any]]:
        """Digits of image files (PNG/.npy/.txt) or 28x28 arrays/tensors: label and probabilities."""
        from lstmkit.tasks.image import model as image

        if not isinstance(invert, bool):
            raise boundary.ArgumentError(f"invert must be True or False, got {boundary.shown(invert)}")
        items = _image_items(images)
        if not items:
            raise boundary.ArgumentError("images is empty; give one or more image files or 28x28 arrays")
        out = []
        for number, item in enumerate(items, 1):
            if isinstance(item, (bytes, bytearray)):
                raise boundary.ArgumentError(f"images[{number - 1}] is bytes; give a file path or a 28x28 array (for a "
                                             "PNG's bytes: numpy.asarray(PIL.Image.open(io.BytesIO(data)).convert('L')))")
            if isinstance(item, (str, os.PathLike)):
                pixels = image.read_image(boundary.path(f"images[{number - 1}]", item), invert)
            else:
                dtype = getattr(item, "dtype", None)                   # torch: .is_complex; numpy: .kind "c"
                if getattr(dtype, "is_complex", False) is True or getattr(dtype, "kind", "") == "c":
                    raise boundary.ArgumentError(f"images[{number - 1}] holds complex numbers ({item.dtype}); "
                                                 "give real pixel values (0-255 or 0-1)")
                try:
                    array = torch.as_tensor(item, dtype=torch.float64).numpy()
                except (TypeError, ValueError, RuntimeError, OverflowError):
                    where = boundary.ragged(f"images[{number - 1}]", item)
                    raise boundary.ArgumentError(f"images[{number - 1}] must be an image file or a 28x28 array of "
                                                 f"numbers, got {boundary.shown(item)}"
                                                 + (f": {where}" if where else "")) from None
                pixels = image.check_array(array, f"images[{number - 1}]", invert)
            label, probs = image.predict_image(self.model, self.cfg, pixels)
            out.append({"label": label, "probability": float(probs[label]), "probabilities": probs.tolist()})
        return out

    predict_options = frozenset({"texts", "invert"})
    serve_input = ServeInput("images", "an image model needs \"images\": a list of 28x28 grey-value arrays",
                             options=("invert",))
    inspect_input = "images"

    def evaluate(self, data: str | Path | None = None, download: bool = False) -> Evaluation:
        """Accuracy, per-class P/R/F1 and the confusion plot on MNIST's test set."""
        boundary.switch("download", download)
        check_eval_data(data, optional=True)
        from lstmkit.data.datasets.mnist import load_mnist
        from lstmkit.tasks.image import model as image
        from lstmkit.training.classification_metrics import report
        from lstmkit.training.plots import plot_confusion

        mnist = load_mnist(str(data) if data not in (None, "mnist") else None, download)
        rep = report(mnist.test_labels.long(), image.predict(self.model, image.to_sequences(mnist.test_images, self.cfg.image)),
                     [str(d) for d in range(10)])
        png = plot_confusion(rep.confusion, rep.labels, self.run_dir / "confusion.png")
        scores = rep.to_dict()
        saved = self._save_eval(scores, data)
        return Evaluation(scores, f"{rep.as_text()}\nconfusion matrix plot: {png}\n{saved}")

    def predict_lines(self, inputs: list[str], invert: bool = False, **options: Any) -> list[str]:
        if not inputs:
            raise ConfigError("pass one or more image files (28x28 PNG, .npy or .txt)")
        return [f"{p['label']}\t{p['probability']:.4f}\t{boundary.printable(path)}"
                for path, p in zip(inputs, self.predict(inputs, invert))]

    def inspect_stack(self, value: Any, invert: bool, max_steps: int):
        from lstmkit.tasks.image.model import check_array, to_sequences

        if not value:
            raise ValueError("an image model is inspected on \"images\": one 28x28 array")
        if len(value) > 1:
            raise ValueError(f"\"images\" holds {len(value)} images; /inspect looks inside one at a time "
                             "(send one 28x28 array; /predict takes many)")
        pixels = check_array(torch.as_tensor(value[0], dtype=torch.float64).numpy(), "the image", invert)
        x = to_sequences(pixels[None], self.cfg.image)[:, :max_steps * 8]                  # (1, T, F)
        names = [f"row {t}" if self.cfg.image.mode == "rows" else f"px {t}" for t in range(x.shape[1])]
        return names, x, [self.model.rnn], {"prediction": self.predict([value[0]], invert)[0]}



def _image_items(images: Any) -> list[Any]:
    """The images of ``predict``: one image (a path, a 28x28 array, or 28 rows of 28 numbers
    as lists) or several (a list of them, or an (N, 28, 28) array)."""
    def numbers(row: Any) -> bool:
        return isinstance(row, (list, tuple)) and len(row) == 28 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in row)

    if isinstance(images, (list, tuple)):
        if len(images) == 28 and all(numbers(r) for r in images):
            return [images]                                  # one image written as nested lists
        return list(images)
    shape = getattr(images, "shape", None)
    if shape is not None and len(shape) == 3 and tuple(shape[1:]) == (28, 28):
        return list(images)                                  # a stack of images
    return [images]


__all__ = ['ImageRun']

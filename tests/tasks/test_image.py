from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.config import DataConfig, ImageConfig, ModelConfig, RunConfig, TrainConfig
from lstmkit.errors import DataError
from lstmkit.tasks import image
from lstmkit.training.recipe import fit

from conftest import fake_mnist


def _cfg(folder, mode="rows", epochs=10):
    return RunConfig(task="image", model=ModelConfig(hidden_size=32, dropout=0.0), data=DataConfig(path=str(folder)),
                     train=TrainConfig(epochs=epochs, lr=0.01, batch_size=32, clip_norm=1.0),
                     image=ImageConfig(mode=mode, valid_size=40))


def test_rows_learn_the_bars_and_the_run_reloads(tmp_path):
    folder = fake_mnist(tmp_path / "m", n_train=400)
    result = fit(_cfg(folder), tmp_path / "run")
    assert result.test["accuracy"] > 0.9 and (tmp_path / "run" / "confusion.png").is_file()
    model, cfg = image.load_image_model(tmp_path / "run")
    from lstmkit.data.datasets.mnist import load_mnist

    test = load_mnist(folder)
    for i in range(5):                                   # a PNG round trip predicts what the tensor does
        digit = image.read_image(_png(tmp_path / f"d{i}.png", test.test_images[i].numpy() / 255))
        assert int((digit.int() - test.test_images[i].int()).abs().max()) <= 1    # the grey colormap rounds
        expected = int(image.predict(model, image.to_sequences(test.test_images[i : i + 1], cfg.image))[0])
        assert image.predict_image(model, cfg, digit)[0] == expected


def test_pixel_and_permuted_sequences():
    images = torch.arange(2 * 784).remainder(256).view(2, 28, 28).to(torch.uint8)
    pixels = image.to_sequences(images, ImageConfig(mode="pixels"))
    permuted = image.to_sequences(images, ImageConfig(mode="permuted", permutation_seed=1))
    assert pixels.shape == permuted.shape == (2, 784, 1)
    assert not torch.equal(pixels, permuted) and torch.equal(pixels.sort(1).values, permuted.sort(1).values)
    assert torch.equal(permuted, image.to_sequences(images, ImageConfig(mode="permuted", permutation_seed=1)))


def _bar(k):
    a = np.zeros((28, 28))
    a[2 * k + 4 : 2 * k + 6, 4:24] = 1.0
    return a


def _png(path, array):
    import matplotlib.image

    matplotlib.image.imsave(path, array, cmap="gray", vmin=0, vmax=1)
    return path


def test_image_files_of_the_wrong_kind(tmp_path):
    with pytest.raises(DataError, match=r"has shape 56x56 \(rows x columns\); the model reads one 28x28"):
        image.read_image(_png(tmp_path / "big.png", np.zeros((56, 56))))
    inverted = 1 - _bar(2)
    with pytest.raises(DataError, match="looks inverted .* pass --invert"):
        image.read_image(_png(tmp_path / "inv.png", inverted))
    fixed = image.read_image(tmp_path / "inv.png", invert=True)
    assert int(fixed[9, 10]) == 255 and int(fixed[0, 0]) == 0
    np.save(tmp_path / "d.npy", _bar(1) * 255)
    assert image.read_image(tmp_path / "d.npy").shape == (28, 28)
    with pytest.raises(DataError, match="not found"):
        image.read_image(tmp_path / "none.png")

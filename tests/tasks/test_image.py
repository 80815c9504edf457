from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from lstmkit.tasks.image.options import ImageOptions
from lstmkit.errors import DataError
from lstmkit.tasks.image import model as image
from lstmkit.training.recipe import fit

from conftest import fake_mnist


def _cfg(folder, mode="rows", epochs=10):
    return RunConfig(task="image", model=ModelConfig(hidden_size=32, dropout=0.0), data=DataConfig(path=str(folder)),
                     train=TrainConfig(epochs=epochs, lr=0.01, batch_size=32, clip_norm=1.0),
                     options=ImageOptions(mode=mode, valid_size=40))


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
    pixels = image.to_sequences(images, ImageOptions(mode="pixels"))
    permuted = image.to_sequences(images, ImageOptions(mode="permuted", permutation_seed=1))
    assert pixels.shape == permuted.shape == (2, 784, 1)
    assert not torch.equal(pixels, permuted) and torch.equal(pixels.sort(1).values, permuted.sort(1).values)
    assert torch.equal(permuted, image.to_sequences(images, ImageOptions(mode="permuted", permutation_seed=1)))


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


@pytest.mark.parametrize("shape", [(1, 28, 28), (28, 28, 1), (28, 28, 3), (784,), (1, 784)])
def test_one_image_in_other_layouts_is_read_as_that_image(tmp_path, shape):
    """Found by a tester: (1,28,28), 28x28x1, 28x28x3 and flat 784-value arrays were told to
    resize; each is one 28x28 image and is read as it."""
    bar = (_bar(2) * 255).astype("uint8")                     # (28, 28)
    if shape in ((784,), (1, 784)):
        array = bar.reshape(shape)
    elif shape == (1, 28, 28):
        array = bar[None]
    else:
        array = np.repeat(bar[..., None], shape[-1], axis=-1)
    np.save(tmp_path / "one.npy", array)
    assert torch.equal(image.read_image(tmp_path / "one.npy"), torch.from_numpy(bar))
    assert torch.equal(image.check_array(array, "images[0]"), torch.from_numpy(bar))


def test_several_images_or_a_wrong_count_are_named(tmp_path):
    np.save(tmp_path / "two.npy", np.zeros((2, 784)))
    with pytest.raises(DataError, match=r"holds 2 flattened images of 784 values .* save each digit on its own"):
        image.read_image(tmp_path / "two.npy")
    np.save(tmp_path / "short.npy", np.zeros(700))
    with pytest.raises(DataError, match="holds 700 value.* one flattened image has 784"):
        image.read_image(tmp_path / "short.npy")


def test_text_arrays_of_strings_and_commas(tmp_path):
    """Found by a tester: a .npy of strings was called 'inverted'; a comma-separated .txt got
    numpy's parse error."""
    np.save(tmp_path / "s.npy", np.full((28, 28), "200"))
    with pytest.raises(DataError, match=r"holds values of type <U3 \(not numbers\)"):
        image.read_image(tmp_path / "s.npy")
    bar = (_bar(2) * 255).astype(int)
    (tmp_path / "c.txt").write_text("\n".join(",".join(map(str, row)) for row in bar) + "\n")
    assert torch.equal(image.read_image(tmp_path / "c.txt"), torch.from_numpy(bar.astype("uint8")))


def test_an_image_of_only_zeros_and_ones_says_how_it_is_read(tmp_path, caplog):
    binary = _bar(2).astype(int)
    assert int(image.check_array(binary, "img").max()) == 255
    assert "only 0 and 1" in caplog.text and "0-1 scale" in caplog.text


def test_a_black_and_white_png_is_not_called_0_1(tmp_path, caplog):
    """Found by a tester: a PNG of 0 and 255 was said to hold 'only 0 and 1' (matplotlib reads
    PNGs on the 0-1 scale)."""
    pixels = image.read_image(_png(tmp_path / "bw.png", _bar(2)))
    assert int(pixels.max()) == 255 and "only 0 and 1" not in caplog.text

import math

import pytest
import torch

from lstmkit.tasks.image.options import ImageOptions
from lstmkit.errors import ConfigError
from lstmkit.nn import GRU, LSTM, PeepholeLSTM, init_chrono, init_forget_bias


@pytest.mark.parametrize("make", [lambda: LSTM(2, 4, num_layers=2, bidirectional=True),
                                  lambda: PeepholeLSTM(2, 4, num_layers=2, bidirectional=True, backend="reference")])
def test_gate_biases_of_every_layer_and_direction(make):
    rnn = make()
    assert init_forget_bias(rnn, 1.0) == 4
    for name, p in rnn.named_parameters():
        if name.startswith("bias_"):
            assert p[4:8].tolist() == ([1.0] * 4 if "ih" in name else [0.0] * 4), name
    assert init_chrono(rnn, 100, torch.Generator().manual_seed(0)) == 4
    for name, p in rnn.named_parameters():
        if name.startswith("bias_ih"):
            assert torch.equal(p[:4], -p[4:8]) and (p[4:8] >= 0).all() and (p[4:8] <= math.log(99)).all()
        elif name.startswith("bias_hh"):
            assert not p[:8].any()


def test_gru_is_left_alone_and_bad_settings_are_refused():
    gru = GRU(2, 4)
    before = gru.bias_ih_l0.clone()
    assert init_forget_bias(gru, 1.0) == 0 and init_chrono(gru, 784) == 0
    assert torch.equal(gru.bias_ih_l0, before)
    with pytest.raises(ValueError, match="max_steps >= 3"):
        init_chrono(LSTM(2, 4), 2)
    with pytest.raises(ConfigError, match="chrono_init"):
        ImageOptions(chrono_init=784, forget_bias=1.0)

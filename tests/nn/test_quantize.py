"""Dynamic int8 quantisation reaches lstmkit's layers (torch's own skips subclasses)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lstmkit.nn import GRU, LSTM, PeepholeLSTM
from lstmkit.nn.quantize import QuantizedRecurrent, quantize_dynamic


class Head(nn.Module):
    def __init__(self, cls, bidirectional: bool) -> None:
        super().__init__()
        self.rnn = cls(16, 32, num_layers=2, batch_first=True, bidirectional=bidirectional)
        self.out = nn.Linear(32 * (2 if bidirectional else 1), 3)

    def forward(self, x, lengths=None):
        out, _ = self.rnn(x, lengths=lengths)
        return self.out(out)


def test_torch_alone_skips_the_subclass_and_lstmkit_quantises_it():
    model = Head(LSTM, False).eval()
    untouched = torch.ao.quantization.quantize_dynamic(model, {nn.LSTM, nn.Linear}, dtype=torch.qint8)
    assert isinstance(untouched.rnn, LSTM)                  # the gap this module fills
    small = quantize_dynamic(model)
    assert isinstance(small.rnn, QuantizedRecurrent) and isinstance(model.rnn, LSTM)   # a copy
    assert "quantized.dynamic" in type(small.rnn.rnn).__module__ and "quantized.dynamic" in type(small.out).__module__


@pytest.mark.parametrize("cls", [LSTM, GRU])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_int8_outputs_stay_close_with_unequal_lengths(cls, bidirectional):
    torch.manual_seed(0)
    model = Head(cls, bidirectional).eval()
    small = quantize_dynamic(model)
    x, lengths = torch.randn(4, 12, 16), torch.tensor([12, 7, 3, 9])
    with torch.no_grad():
        want, got = model(x, lengths), small(x, lengths)
    for b, n in enumerate(lengths.tolist()):
        assert (got[b, :n] - want[b, :n]).abs().max() < 0.05            # int8 weights: close, not equal
    assert (got.argmax(-1) == want.argmax(-1)).float().mean() > 0.9
    with torch.no_grad():
        out, _ = small.rnn(x, lengths=lengths)
    assert out[1, 7:].abs().max() == 0 and out[2, 3:].abs().max() == 0      # padding stays zero


def test_peephole_layers_are_refused():
    with pytest.raises(ValueError, match="peephole"):
        quantize_dynamic(nn.Sequential(PeepholeLSTM(3, 4)))

"""Dynamic int8 quantisation of models built from lstmkit layers.

``torch.ao.quantization.quantize_dynamic`` converts only modules whose type is exactly
``torch.nn.LSTM``/``GRU``, so it leaves lstmkit's subclasses in float. :func:`quantize_dynamic`
swaps each lstmkit ``LSTM``/``GRU`` for :class:`QuantizedRecurrent` (torch's dynamically
quantised kernel behind lstmkit's call signature, ``lengths=`` included, through a packed
sequence) and quantises every ``nn.Linear`` too: int8 weights, activations quantised per batch
at run time. CPU only, inference only.

    from lstmkit.nn.quantize import quantize_dynamic
    small = quantize_dynamic(model)          # a copy; model is unchanged
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from lstmkit.nn.rnn import GRU, LSTM


class QuantizedRecurrent(nn.Module):
    """A dynamically quantised LSTM/GRU with lstmkit's ``forward(x, hx, lengths=...)``.

    Shapes: as the layer it replaces.
    """

    def __init__(self, layer: LSTM | GRU, dtype: torch.dtype = torch.qint8) -> None:
        super().__init__()
        plain_cls = nn.LSTM if layer.mode == "LSTM" else nn.GRU
        kwargs = dict(num_layers=layer.num_layers, bias=layer.bias, batch_first=layer.batch_first,
                      dropout=layer.dropout, bidirectional=layer.bidirectional)
        if layer.mode == "LSTM":
            kwargs["proj_size"] = layer.proj_size
        plain = plain_cls(layer.input_size, layer.hidden_size, **kwargs)
        plain.load_state_dict(layer.state_dict())
        plain.eval()
        wrapped = nn.Sequential(plain)
        self.rnn = torch.ao.quantization.quantize_dynamic(wrapped, {plain_cls}, dtype=dtype)[0]
        self.mode, self.batch_first = layer.mode, layer.batch_first
        self.bidirectional, self.num_directions = layer.bidirectional, 2 if layer.bidirectional else 1

    def forward(self, input: Tensor | PackedSequence, hx=None, lengths=None, need_cell_state: bool = True):
        if lengths is None or isinstance(input, PackedSequence):
            return self.rnn(input, hx)
        lengths = torch.as_tensor(lengths).cpu()
        packed = pack_padded_sequence(input, lengths, batch_first=self.batch_first, enforce_sorted=False)
        out, state = self.rnn(packed, hx)
        out, _ = pad_packed_sequence(out, batch_first=self.batch_first,
                                     total_length=input.size(1 if self.batch_first else 0))
        return out, state


def quantize_dynamic(model: nn.Module, dtype: torch.dtype = torch.qint8) -> nn.Module:
    """A copy of ``model`` with every lstmkit LSTM/GRU and every ``nn.Linear`` quantised.

    Raises:
        ValueError: for a layer of a cell no fused kernel runs (a peephole LSTM): there is no
            fused kernel to quantise.
    """
    from lstmkit.nn.cells import REGISTRY

    model = copy.deepcopy(model).cpu().eval()
    for name, module in list(model.named_modules()):
        cell = getattr(module, "cell_name", "")
        if cell and not REGISTRY[cell].quantizes:
            raise ValueError(f"{name or 'the model'} is a {cell} layer, which does not quantise (no fused kernel runs "
                             f"it); only layers of {', '.join(c for c, e in REGISTRY.items() if e.quantizes)} do")
    _swap(model, dtype)
    return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=dtype)


def _swap(module: nn.Module, dtype: torch.dtype) -> None:
    for name, child in module.named_children():
        if isinstance(child, (LSTM, GRU)):
            setattr(module, name, QuantizedRecurrent(child, dtype))
        else:
            _swap(child, dtype)


__all__ = ["QuantizedRecurrent", "quantize_dynamic"]

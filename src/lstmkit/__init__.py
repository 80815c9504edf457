"""lstmkit: LSTM and GRU sequence learning on PyTorch, from the gate equations to trained models."""

__version__ = "0.1.0"

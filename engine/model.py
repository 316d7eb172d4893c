"""The article's LSTM (5 -> hidden -> 2), with two interchangeable recurrent cores.

Both cores use the same parameters (one ``nn.LSTM`` layer's weights), so a model trained with one
runs with the other and a saved file does not depend on the core:
- ``cell``: the article's loop, one LSTM cell step per time step in Python. ``nn.LSTMCell.forward``
  is ``lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)``; we call that op with the same weights.
- ``fused``: ``nn.LSTM`` over the whole window in one call (the default; much faster).
Built right after the same seed, both get the article's initial weights: LSTMCell and LSTM draw
their four tensors in the same order from the same uniform range.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import CORES


class LstmModel(nn.Module):
    def __init__(self, input_size: int = 5, hidden_size: int = 32, output_size: int = 2, core: str = "fused"):
        super().__init__()
        self.hidden_size = hidden_size
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.output = nn.Linear(hidden_size, output_size)
        self.core = core

    @property
    def core(self) -> str:
        return self._core

    @core.setter
    def core(self, value: str) -> None:
        if value not in CORES:
            raise ValueError(f"core must be one of {CORES}, got {value!r}")
        self._core = value

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if self._core == "fused":
            _, (H, _) = self.lstm(X)
            return self.output(H[-1])
        return self.output(self._unroll(X))

    def _unroll(self, X: torch.Tensor) -> torch.Tensor:
        lstm = self.lstm
        H = torch.zeros(X.shape[0], self.hidden_size, device=X.device, dtype=X.dtype)
        C = torch.zeros_like(H)
        for X_t in X.transpose(0, 1):
            H, C = torch.lstm_cell(
                X_t, (H, C), lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0
            )
        return H


def build_model(config, input_size: int = 5, output_size: int = 2) -> LstmModel:
    """Seed, then build: the article calls ``torch.manual_seed`` right before the model."""
    torch.manual_seed(config.seed)
    return LstmModel(input_size, config.hidden_size, output_size, core=config.core)

"""The article's LSTM (5 -> hidden -> 2), with two interchangeable recurrent cores.

Both cores use the same parameters (one ``nn.LSTM`` layer's weights), so a model trained with one
runs with the other and a saved file does not depend on the core:
- ``cell``: the article's loop, one LSTM cell step per time step in Python. ``nn.LSTMCell.forward``
  is ``lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)``; we call that op with the same weights.
- ``fused``: ``nn.LSTM`` over the whole window in one call (the default; much faster).
Built right after the same seed, both get the article's initial weights: LSTMCell and LSTM draw
their four tensors in the same order from the same uniform range.

Two optional reframings live inside the model, so training, evaluation, forecasts and saved files
see riders in and riders out whatever they are (the defaults are the article's, unchanged):
- ``normalize="window"`` or ``"week"``: rail and bus of each window are divided by that window's
  own level (per series: the mean of the whole window, or of its last 7 days) and the output is
  multiplied back, so the model learns the weekly shape rather than the absolute level (the 2020
  collapse is then not out of the training range). ``"week"`` follows a sudden change sooner.
- ``norm_clip``: the normalized rail and bus are capped at this many times the level, so the weeks
  before a sudden drop (the 2020 collapse) read as "high" rather than as ratios never seen in training.
- ``log_scale``: the normalized days are read as logs and the output is the log of the next day's
  ratio to the level (exp'd back), so a holiday's or a weekday's effect is a term to add, not a
  factor; the LSTM and the linear path then model multiplicative effects directly.
- ``target="weekly_change"``: the model predicts the change from the same day last week (row -7 of
  the window, the naive forecast), so an untrained model starts near the naive baseline.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import CORES, NORMALIZE, TARGET_KINDS
from .domain import SEASON, SERIES, TARGETS, features_for

LOG_FLOOR = 0.05  # log_scale: normalized days below this (closures) read as this
LOG_RANGE = (-5.0, 2.0)  # log_scale: the predicted ratio to the level stays within exp(-5)..exp(2)


class LstmModel(nn.Module):
    def __init__(
        self,
        input_size: int = 5,
        hidden_size: int = 32,
        output_size: int = 2,
        core: str = "fused",
        normalize: str = "none",
        target: str = "level",
        highway_days: int = 0,
        lstm_days: int = 0,
        norm_clip: float = 0.0,
        log_scale: bool = False,
    ):
        super().__init__()
        if normalize not in NORMALIZE:
            raise ValueError(f"normalize must be one of {NORMALIZE}, got {normalize!r}")
        if target not in TARGET_KINDS:
            raise ValueError(f"target must be one of {TARGET_KINDS}, got {target!r}")
        self.hidden_size = hidden_size
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.output = nn.Linear(hidden_size, output_size)
        self.core = core
        self.normalize = normalize
        self.target = target
        self.lstm_days = lstm_days  # slicing past the window's start reads the whole window
        self.highway_days = highway_days
        self.norm_clip = norm_clip
        self.log_scale = log_scale
        if highway_days:
            # LSTNet's autoregressive "highway", one set of lag weights per calendar column of the
            # target day: out_s += sum_k cal_k * (w_sk . days + b_sk). It sees every lag directly,
            # as a gradient-boosting model does; zero at the start, so training begins from the LSTM.
            calendar = input_size - SERIES
            self.highway = nn.Linear(SERIES * highway_days + 1, SERIES * calendar)
            nn.init.zeros_(self.highway.weight)
            nn.init.zeros_(self.highway.bias)

    @property
    def core(self) -> str:
        return self._core

    @core.setter
    def core(self, value: str) -> None:
        if value not in CORES:
            raise ValueError(f"core must be one of {CORES}, got {value!r}")
        self._core = value

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if self.normalize == "none" and self.target == "level" and not self.lstm_days:
            return self._raw(X)  # the article's model, untouched
        level = None
        if self.normalize != "none":
            # Per-window, per-series mean; a floor keeps an all-zero window (closed days) finite.
            recent = X[:, -SEASON:, :SERIES] if self.normalize == "week" else X[:, :, :SERIES]
            level = recent.mean(dim=1, keepdim=True).clamp_min(1e-4)
            scaled = X[:, :, :SERIES] / level
            if self.norm_clip:  # days far above the recent level (before a collapse) read as at most this
                scaled = scaled.clamp_max(self.norm_clip)
            if self.log_scale:  # a closed day (0 riders) reads as LOG_FLOOR of the level, not -inf
                scaled = torch.log(scaled.clamp_min(LOG_FLOOR))
            X = torch.cat([scaled, X[:, :, SERIES:]], dim=2)
        out = self._raw(X[:, -self.lstm_days :] if self.lstm_days else X)
        if self.highway_days:
            out = out + self._highway(X)
        if self.target == "weekly_change":
            out = out + X[:, -SEASON, :SERIES]
        if self.log_scale:  # bounded, so an untrained or odd window cannot overflow exp
            out = torch.exp(out.clamp(*LOG_RANGE))
        return out * level.squeeze(1) if level is not None else out

    def _highway(self, X: torch.Tensor) -> torch.Tensor:
        days = X[:, -self.highway_days :, :SERIES].reshape(len(X), -1)
        weights = self.highway(torch.cat([days, days.new_ones(len(X), 1)], dim=1)).view(len(X), SERIES, -1)
        calendar = X[:, -1, SERIES:]  # the target day's type (and weekday, holiday) columns
        return (weights * calendar[:, None, :]).sum(dim=2)

    def _raw(self, X: torch.Tensor) -> torch.Tensor:
        if self._core == "fused":
            _, (H, _) = self.lstm(X)
            return self.output(H[-1])
        return self.output(self._unroll(X))

    def _unroll(self, X: torch.Tensor) -> torch.Tensor:
        lstm = self.lstm
        H = torch.zeros(X.shape[0], self.hidden_size, device=X.device, dtype=X.dtype)
        C = torch.zeros_like(H)
        for X_t in X.transpose(0, 1):
            H, C = torch.lstm_cell(X_t, (H, C), lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
        return H


def build_model(config, generator: torch.Generator) -> LstmModel:
    """The one place a model is built for training: the initial weights are the draws that
    ``torch.manual_seed(config.seed)`` + construction would make (the article's), taken from
    ``generator`` instead of torch's global one so runs in other threads cannot disturb them."""
    model = model_for(config)
    stdv = 1.0 / math.sqrt(config.hidden_size)
    with torch.no_grad():
        for weight in model.lstm.parameters():
            weight.uniform_(-stdv, stdv, generator=generator)
        nn.init.kaiming_uniform_(model.output.weight, a=math.sqrt(5), generator=generator)
        bound = 1 / math.sqrt(config.hidden_size)
        model.output.bias.uniform_(-bound, bound, generator=generator)
    return model


def model_for(config) -> LstmModel:
    """An untrained model shaped for ``config``, to load saved weights into."""
    return LstmModel(
        len(features_for(config.inputs)),
        config.hidden_size,
        len(TARGETS),
        core=config.core,
        normalize=config.normalize,
        target=config.target,
        highway_days=min(config.highway_days, config.window_length),
        lstm_days=min(config.lstm_days, config.window_length),
        norm_clip=config.norm_clip,
        log_scale=config.log_scale,
    )

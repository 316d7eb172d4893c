"""Probe variants: monkeypatch engine.training.build_model with a subclass."""
import math, os, torch
from torch import nn
import engine.model as em, engine.training as et
from engine.domain import SEASON, SERIES

PROBE = os.environ.get("PROBE", "")
TRAIN_LEVEL = {}  # filled by the harness: lo, hi, mean, std of log level per series

class Probe(em.LstmModel):
    def __init__(self, input_size, hidden_size, output_size, **kw):
        super().__init__(input_size, hidden_size, output_size, **kw)
        self.extra = 0
        if "level" in PROBE:
            self.extra = 2
            self.lstm = nn.LSTM(input_size + 2, hidden_size, batch_first=True)
            for k in ("lo", "hi", "mu", "sd"):
                self.register_buffer(k, torch.tensor(TRAIN_LEVEL[k], dtype=torch.float32))
        if "sorted" in PROBE:
            calendar = input_size - SERIES
            self.sorthead = nn.Linear(SERIES * 8, SERIES * calendar)
            nn.init.zeros_(self.sorthead.weight); nn.init.zeros_(self.sorthead.bias)
        if "levhead" in PROBE:
            calendar = input_size - SERIES
            self.levhead = nn.Linear(2, SERIES * calendar)
            nn.init.zeros_(self.levhead.weight); nn.init.zeros_(self.levhead.bias)
            for k in ("lo", "hi", "mu", "sd"):
                self.register_buffer(k, torch.tensor(TRAIN_LEVEL[k], dtype=torch.float32))

    def _lev(self, level):
        z = torch.log(level.squeeze(1))
        z = torch.maximum(torch.minimum(z, self.hi), self.lo)
        return (z - self.mu) / self.sd

    def forward(self, X):
        recent = X[:, -SEASON:, :SERIES]
        level = recent.mean(dim=1, keepdim=True).clamp_min(1e-4)
        scaled = X[:, :, :SERIES] / level
        if self.norm_clip:
            scaled = scaled.clamp_max(self.norm_clip)
        X = torch.cat([scaled, X[:, :, SERIES:]], dim=2)
        Xl = X[:, -self.lstm_days:] if self.lstm_days else X
        if self.extra:
            lv = self._lev(level)[:, None, :].expand(-1, Xl.shape[1], -1)
            Xl = torch.cat([Xl, lv], dim=2)
        out = self._raw(Xl)
        if self.highway_days:
            out = out + self._highway(X)
        if "sorted" in PROBE:
            same = X[:, X.shape[1] % 7::7, :SERIES][:, -8:].sort(dim=1).values  # (N, 8, 2) same weekday as the target
            w = self.sorthead(same.transpose(1, 2).reshape(len(X), -1)).view(len(X), SERIES, -1)
            out = out + (w * X[:, -1, SERIES:][:, None, :]).sum(2)
        if "nolstm" in PROBE:
            out = out - self._raw(Xl) + self.output.bias
        if "levhead" in PROBE:
            w = self.levhead(self._lev(level)).view(len(X), SERIES, -1)
            out = out + (w * X[:, -1, SERIES:][:, None, :]).sum(2)
        return out * level.squeeze(1)

def model_for(config):
    from engine.domain import features_for, TARGETS
    return Probe(len(features_for(config.inputs)), config.hidden_size, len(TARGETS), core=config.core,
                 normalize=config.normalize, target=config.target,
                 highway_days=min(config.highway_days, config.window_length),
                 lstm_days=min(config.lstm_days, config.window_length), norm_clip=config.norm_clip)

def install(splits):
    w = splits["train"].windows[:, -SEASON:, :SERIES].mean(1).clamp_min(1e-4).log()
    TRAIN_LEVEL.update(lo=w.min(0).values.tolist(), hi=w.max(0).values.tolist(),
                       mu=w.mean(0).tolist(), sd=w.std(0).tolist())
    if PROBE:
        em.model_for = model_for

class PerSeries(nn.Module):
    def __init__(self, make):
        super().__init__()
        self.a, self.b = make(), make()
        self.lstm, self.output = self.a.lstm, self.a.output
    def forward(self, X):
        return torch.stack([self.a(X)[:, 0], self.b(X)[:, 1]], dim=1)

_orig_model_for = em.model_for
def install2():
    if PROBE == "perseries":
        torch.manual_seed(0)
        em.model_for = lambda config: PerSeries(lambda: _orig_model_for(config))

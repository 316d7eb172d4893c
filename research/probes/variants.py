"""Probe variants: monkeypatch engine.training.build_model with a subclass."""

import os

import torch
from torch import nn

import engine.model as em
import engine.training as et
from engine.domain import SEASON, SERIES

PROBE = os.environ.get("PROBE", "")
TRAIN_LEVEL = {}  # filled by the harness: lo, hi, mean, std of log level per series

AUX = {"loss": 0.0}


class AuxL1(nn.L1Loss):
    def forward(self, a, b):
        extra, AUX["loss"] = AUX["loss"], 0.0
        return super().forward(a, b) + extra


REL = {}  # relloss: each training row's weight, 1 / its series' level (normalized to mean 1)


class RelL1(nn.L1Loss):
    """L1 on the level-scaled errors (as LightGBM's ratio target), not on riders."""

    def forward(self, a, b):
        w = REL.pop("w", None)
        if w is None:
            return super().forward(a, b)
        return ((a - b).abs() * w).mean()


class Probe(em.LstmModel):
    def __init__(self, input_size, hidden_size, output_size, **kw):
        super().__init__(input_size, hidden_size, output_size, **kw)
        self.extra = 0
        if "aux" in PROBE:  # a second head: every LSTM step predicts the next day's scaled rail and bus
            self.auxhead = nn.Linear(hidden_size, SERIES)
        if "season" in PROBE:  # two more columns: sin/cos of the next day's day of year
            self.lstm = nn.LSTM(input_size + 2, hidden_size, batch_first=True)
        if "level" in PROBE:
            self.extra = 2
            self.lstm = nn.LSTM(input_size + 2, hidden_size, batch_first=True)
            for k in ("lo", "hi", "mu", "sd"):
                self.register_buffer(k, torch.tensor(TRAIN_LEVEL[k], dtype=torch.float32))
        if "sorted" in PROBE:
            calendar = input_size - SERIES
            self.sorthead = nn.Linear(SERIES * 8, SERIES * calendar)
            nn.init.zeros_(self.sorthead.weight)
            nn.init.zeros_(self.sorthead.bias)
        if "ord4" in PROBE or "med4" in PROBE:  # order statistics of the last 4 same-weekday days
            calendar = input_size - SERIES
            self.sort4 = nn.Linear(SERIES * 4, SERIES * calendar)
            nn.init.zeros_(self.sort4.weight)
            nn.init.zeros_(self.sort4.bias)
        if "mlp" in PROBE:  # a small nonlinear path over the last 28 scaled days and the target's calendar
            calendar = input_size - SERIES
            width = int(os.environ.get("MLPW", "32"))
            self.mlp = nn.Sequential(nn.Linear(SERIES * 28 + calendar, width), nn.ReLU(), nn.Linear(width, SERIES))
            nn.init.zeros_(self.mlp[2].weight)
            nn.init.zeros_(self.mlp[2].bias)
        if "levhead" in PROBE:
            calendar = input_size - SERIES
            self.levhead = nn.Linear(2, SERIES * calendar)
            nn.init.zeros_(self.levhead.weight)
            nn.init.zeros_(self.levhead.bias)
            for k in ("lo", "hi", "mu", "sd"):
                self.register_buffer(k, torch.tensor(TRAIN_LEVEL[k], dtype=torch.float32))

    def _lev(self, level):
        z = torch.log(level.squeeze(1))
        z = torch.maximum(torch.minimum(z, self.hi), self.lo)
        return (z - self.mu) / self.sd

    def _highway(self, X):
        if "season" in PROBE:  # the day-of-year columns feed the LSTM only
            X = X[:, :, :-2]
        return super()._highway(X)

    def forward(self, X):
        recent = X[:, -SEASON:, :SERIES]
        if "lvl14" in PROBE:
            recent = X[:, -14:, :SERIES]
        level = recent.mean(dim=1, keepdim=True).clamp_min(1e-4)
        if "median7" in PROBE:
            level = recent.median(dim=1, keepdim=True).values.clamp_min(1e-4)
        scaled = X[:, :, :SERIES] / level
        if self.norm_clip:
            scaled = scaled.clamp_max(self.norm_clip)
        if "logio" in PROBE:  # multiplicative effects (holidays, breaks) become additive
            scaled = torch.log(scaled.clamp_min(0.05))
        if "noise" in PROBE and self.training:
            scaled = scaled * (1 + float(os.environ.get("NOISE", "0.02")) * torch.randn_like(scaled))
        X = torch.cat([scaled, X[:, :, SERIES:]], dim=2)
        Xl = X[:, -self.lstm_days :] if self.lstm_days else X
        if self.extra:
            lv = self._lev(level)[:, None, :].expand(-1, Xl.shape[1], -1)
            Xl = torch.cat([Xl, lv], dim=2)
        if "aux" in PROBE and self.training:
            seq, (H, _) = self.lstm(Xl)
            out = self.output(H[-1])
            aux = self.auxhead(seq[:, :-1])  # step j predicts step j+1's scaled series
            AUX["loss"] = (aux - Xl[:, 1:, :SERIES]).abs().mean() * float(os.environ.get("AUXW", "0.3"))
        else:
            out = self._raw(Xl)
        if self.highway_days:
            out = out + self._highway(X)
        if "sorted" in PROBE:
            same = X[:, X.shape[1] % 7 :: 7, :SERIES][:, -8:].sort(dim=1).values  # (N, 8, 2) same weekday as the target
            w = self.sorthead(same.transpose(1, 2).reshape(len(X), -1)).view(len(X), SERIES, -1)
            out = out + (w * X[:, -1, SERIES:][:, None, :]).sum(2)
        if "ord4" in PROBE or "med4" in PROBE:
            same = X[:, X.shape[1] % 7 :: 7, :SERIES][:, -4:].sort(dim=1).values  # (N, 4, 2)
            if "med4" in PROBE:  # start from the robust seasonal naive: the mean of the middle two
                out = out + same[:, 1:3].mean(dim=1)
            w = self.sort4(same.transpose(1, 2).reshape(len(X), -1)).view(len(X), SERIES, -1)
            out = out + (w * X[:, -1, SERIES:][:, None, :]).sum(2)
        if "mlp" in PROBE:
            out = out + self.mlp(torch.cat([X[:, -28:, :SERIES].reshape(len(X), -1), X[:, -1, SERIES:]], dim=1))
        if "nolstm" in PROBE:
            out = out - self._raw(Xl) + self.output.bias
        if "levhead" in PROBE:
            w = self.levhead(self._lev(level)).view(len(X), SERIES, -1)
            out = out + (w * X[:, -1, SERIES:][:, None, :]).sum(2)
        if "logio" in PROBE:
            out = torch.exp(out.clamp(-5, 2))
        if ("relloss" in PROBE or "relall" in PROBE) and self.training:
            w = 1.0 / level.squeeze(1)
            # relall: rail and bus count alike in ratio terms too (LightGBM's two models); else riders between them
            REL["w"] = (w / (w.mean() if "relall" in PROBE else w.mean(dim=0, keepdim=True))).detach()
        return out * level.squeeze(1)


def model_for(config):
    from engine.domain import TARGETS, features_for

    return Probe(
        len(features_for(config.inputs)),
        config.hidden_size,
        len(TARGETS),
        core=config.core,
        normalize=config.normalize,
        target=config.target,
        highway_days=min(config.highway_days, config.window_length),
        lstm_days=min(config.lstm_days, config.window_length),
        norm_clip=config.norm_clip,
    )


def augment(splits, frame_index):
    if "noschool" in PROBE:  # the school-break column (the last of inputs="holidays") always 0
        import dataclasses

        out = {}
        for name, sp in splits.items():
            w = sp.windows.clone()
            w[:, :, -1] = 0
            out[name] = dataclasses.replace(sp, windows=w)
        splits = out
    if "season" not in PROBE:
        return splits
    import dataclasses

    import numpy as np

    out = {}
    for name, sp in splits.items():
        n, w = sp.windows.shape[:2]
        # row j of a window is the day target - (w - j); its next-day columns describe target - (w - 1 - j)
        tdates = frame_index[sp.target_positions]
        offs = np.arange(w - 1, -1, -1)
        doy = np.stack([(tdates - pd_td(o)).day_of_year.to_numpy() for o in offs], axis=1) / 365.25
        extra = torch.tensor(
            np.stack([np.sin(2 * np.pi * doy), np.cos(2 * np.pi * doy)], axis=2), dtype=sp.windows.dtype
        )
        out[name] = dataclasses.replace(sp, windows=torch.cat([sp.windows, extra], dim=2))
    return out


def pd_td(days):
    import pandas as pd

    return pd.Timedelta(days=int(days))


def install(splits):
    w = splits["train"].windows[:, -SEASON:, :SERIES].mean(1).clamp_min(1e-4).log()
    TRAIN_LEVEL.update(
        lo=w.min(0).values.tolist(), hi=w.max(0).values.tolist(), mu=w.mean(0).tolist(), sd=w.std(0).tolist()
    )
    if PROBE == "ens2":
        return install_ensemble()
    if PROBE:
        em.model_for = model_for
    if "aux" in PROBE:
        et.nn.L1Loss = AuxL1
    if "relloss" in PROBE or "relall" in PROBE:
        et.nn.L1Loss = RelL1


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


ENS = {}  # ens2: the members' own outputs while training, so each member learns on its own loss


class EnsL1(nn.L1Loss):
    def forward(self, a, b):
        outs = ENS.pop("outs", None)
        if outs is None:
            return super().forward(a, b)
        return (outs - b[None]).abs().mean()  # the mean of the members' L1 losses: independent training


class Ensemble(nn.Module):
    """ens2: two engine models (config's hidden size each), trained side by side, predictions averaged."""

    def __init__(self, make, k=2):
        super().__init__()
        self.members = nn.ModuleList(make() for _ in range(k))
        self.lstm, self.output = self.members[0].lstm, self.members[0].output

    def forward(self, X):
        outs = torch.stack([m(X) for m in self.members])
        if self.training:
            ENS["outs"] = outs
        return outs.mean(0)


def install_ensemble():
    torch.manual_seed(0)
    em.model_for = lambda config: Ensemble(lambda: _orig_model_for(config))
    et.nn.L1Loss = EnsL1

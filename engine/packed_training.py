"""Several trials of one shape trained as one batched model: GPU trial packing (issue 22, item 5).

K configurations that differ only in PER_TRIAL settings (learning rate, seed, clip, ...) train
together: every parameter is stacked on a leading K axis, one hand-written LSTM runs all K at once
(batched matrix multiplies, one loop over the window), and the optimizer updates the stacked tensors
with a learning-rate vector. Each trial keeps what ``engine.training.fit`` gives it alone:
- its initial weights: ``build_model`` with its own seeded generator (the same draws);
- its data order: that generator then draws its shuffles, as ``fit`` does, so each trial sees its
  own batches (gathered per trial on the K axis);
- its optimizer (SGD with momentum, Adam, AdamW: torch's foreach arithmetic, written out on the
  stacked tensors), its gradient clipping (the norm over the trial's own gradients), its scheduler
  (torch's own schedulers, on stand-in optimizers holding only learning rates), its divergence
  check, its best epoch and its end weights.
Trials never mix: the loss summed over trials has, for each trial's parameters, that trial's
gradient only. The numbers match ``fit``'s within float rounding (the matrix products and sums run in
another order), not bit for bit: tests/engine/test_packed_training.py.

The inputs' reframing (normalization, cap, log, the highway's lags, the weekly-change base) does not
depend on the weights, so it is computed once per split for all trials, not per batch.

Checkpoints are fit's: ``on_state`` / ``resume_state`` give each trial the state ``fit(resume=...)``
takes, and ``resume=`` continues trials (saved packed or alone, all at one epoch) packed.

Meant for a GPU, where one small trial leaves the device idle. On one CPU thread it measured at
0.5-0.9x the time of the same 4 trials one after another (the best preset's shape; a loaded 2-core
machine, so noisy); whole sweeps (``ridership sweep --pack``, engine/sweep/packed.py) on 2 cores ran
faster with one unpacked worker per core (bench/results/sweep_cli_pack.log), so the CPU default is 1.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .config import TrainConfig
from .data.windows import Split
from .domain import SEASON, SERIES
from .events import EpochEvent
from .lean_imports import without_compiler_import
from .model import LOG_FLOOR, LOG_RANGE, build_model, model_for
from .training import (
    FitResult,
    _clone_state,
    _divergence,
    _draw_base_seed,
    make_optimizer,
    make_scheduler,
    seeded_generator,
    shuffled_order,
    stretch_cosine,
)

# Settings that may differ between the trials of one pack; every other setting changes a tensor's
# shape, the forward's code path, the data, or the loop's length, and must be the same.
# (core and device do not change what is learned: the pack is its own core, on the device given.)
PER_TRIAL = ("lr", "seed", "clip", "momentum", "weight_decay", "patience", "factor", "restore_best", "core", "device")
_ADAM_BETAS, _ADAM_EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults, which make_optimizer keeps
_LSTM = ("lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0")


def pack_key(config: TrainConfig) -> TrainConfig:
    """What trials must share to be packed together: the config with its per-trial settings reset."""
    return config.replace(**{name: getattr(TrainConfig, name) for name in PER_TRIAL})


def check_packable(configs: list[TrainConfig]) -> None:
    """Raise ValueError naming the first setting in which a config differs from the first one."""
    if not configs:
        raise ValueError("fit_packed needs at least one config")
    first = pack_key(configs[0])
    for number, config in enumerate(configs[1:], start=2):
        key = pack_key(config)
        if key != first:
            name = next(f for f in first.to_dict() if getattr(key, f) != getattr(first, f))
            raise ValueError(
                f"trials packed together must share {name}: trial 1 has {getattr(first, name)!r}, "
                f"trial {number} has {getattr(key, name)!r} (only {', '.join(PER_TRIAL)} may differ)"
            )


@dataclass
class _Inputs:
    """One split's windows, reframed as the model's forward would before its weights (all trials)."""

    lstm: torch.Tensor  # (N, days, features): what the LSTM reads
    highway: torch.Tensor | None  # (N, SERIES * highway_days + 1): the highway's lags and its 1
    calendar: torch.Tensor | None  # (N, calendar columns) of the target day
    base: torch.Tensor | None  # (N, SERIES): weekly_change's same day last week
    level: torch.Tensor | None  # (N, SERIES): the window's level, to multiply the output back


def _prepare(model, X: torch.Tensor) -> _Inputs:
    """engine/model.py LstmModel.forward up to its weights, for every window of ``X`` at once."""
    if model.normalize == "none" and model.target == "level" and not model.lstm_days:
        return _Inputs(X, None, None, None, None)
    level = None
    if model.normalize != "none":
        recent = X[:, -SEASON:, :SERIES] if model.normalize == "week" else X[:, :, :SERIES]
        level = recent.mean(dim=1, keepdim=True).clamp_min(1e-4)
        scaled = X[:, :, :SERIES] / level
        if model.norm_clip:
            scaled = scaled.clamp_max(model.norm_clip)
        if model.log_scale:
            scaled = torch.log(scaled.clamp_min(LOG_FLOOR))
        X = torch.cat([scaled, X[:, :, SERIES:]], dim=2)
    highway = calendar = None
    if model.highway_days:
        days = X[:, -model.highway_days :, :SERIES].reshape(len(X), -1)
        highway = torch.cat([days, days.new_ones(len(X), 1)], dim=1)
        calendar = X[:, -1, SERIES:]
    return _Inputs(
        X[:, -model.lstm_days :] if model.lstm_days else X,
        highway,
        calendar,
        X[:, -SEASON, :SERIES] if model.target == "weekly_change" else None,
        level.squeeze(1) if level is not None else None,
    )


class _PackedModel:
    """K LstmModels' parameters stacked on a leading axis, and their forward on (K, batch, ...) inputs."""

    def __init__(self, models, device: torch.device):
        self.template = models[0]
        self.names = [name for name, _ in models[0].named_parameters()]
        self.params = [
            torch.stack([dict(m.named_parameters())[name].detach() for m in models]).to(device).requires_grad_()
            for name in self.names
        ]
        self.by_name = dict(zip(self.names, self.params))

    def forward(self, inputs: _Inputs, index: torch.Tensor | None) -> torch.Tensor:
        """(K, batch, SERIES) predictions; ``index`` (K, batch) picks each trial's windows, None
        gives every trial all of them."""
        p, t = self.by_name, self.template

        def take(x):
            return x[index] if index is not None else x.expand(len(self.params[0]), *x.shape)

        X = take(inputs.lstm)  # (K, B, days, F)
        K, B, days, F = X.shape
        w_ih, w_hh, b_ih, b_hh = (p[name] for name in _LSTM)
        # As nn.LSTM: every step's input projection at once, then the recurrence; gates i, f, g, o.
        projected = torch.bmm(X.reshape(K, B * days, F), w_ih.transpose(1, 2)).view(K, B, days, -1)
        projected = projected + (b_ih + b_hh)[:, None, None, :]
        hidden = t.hidden_size
        H = X.new_zeros(K, B, hidden)
        C = torch.zeros_like(H)
        w_hh_t = w_hh.transpose(1, 2)
        # unbind, not projected[:, :, step]: indexing one step would make its backward zero-fill the
        # whole (K, B, days, 4H) gradient for every step (half the time, measured)
        for step in projected.unbind(2):
            gates = torch.baddbmm(step, H, w_hh_t)
            # one sigmoid over all four gates (g's is unused) and one tanh: fewer kernels per step
            i, f, _, o = torch.sigmoid(gates).chunk(4, dim=2)
            g = torch.tanh(gates[:, :, 2 * hidden : 3 * hidden])
            C = f * C + i * g
            H = o * torch.tanh(C)
        out = torch.baddbmm(p["output.bias"][:, None, :], H, p["output.weight"].transpose(1, 2))
        if t.highway_days:
            weights = torch.baddbmm(
                p["highway.bias"][:, None, :], take(inputs.highway), p["highway.weight"].transpose(1, 2)
            )
            calendar = take(inputs.calendar)
            out = out + (weights.view(K, B, SERIES, -1) * calendar[:, :, None, :]).sum(dim=3)
        if inputs.base is not None:
            out = out + take(inputs.base)
        if t.log_scale:
            out = torch.exp(out.clamp(*LOG_RANGE))
        return out * take(inputs.level) if inputs.level is not None else out

    def state(self, k: int) -> dict[str, torch.Tensor]:
        """Trial ``k``'s weights as an LstmModel state_dict."""
        return {name: p[k].detach().clone() for name, p in zip(self.names, self.params)}


class _Optimizer:
    """torch's foreach SGD (momentum, L2 decay) or Adam/AdamW on stacked parameters, with a learning
    rate, momentum and weight decay per trial (vectors on the K axis)."""

    def __init__(self, configs: list[TrainConfig], params: list[torch.Tensor]):
        self.adam = configs[0].optimizer == "adam"
        self.params = params
        device = params[0].device
        self.momentum = torch.tensor([c.momentum for c in configs], device=device)
        # float64 on the CPU, as torch's Python-float arithmetic (and MPS has no float64); the
        # float32 results go to the device
        self.device = device
        self.decay64 = torch.tensor([c.weight_decay for c in configs], dtype=torch.float64)
        self.decay = self.decay64.float().to(device)
        self.decaying = any(c.weight_decay for c in configs)
        self.steps = 0
        self.buffers: list[torch.Tensor] | None = None
        self.exp_avg = [torch.zeros_like(p) for p in params] if self.adam else None
        self.exp_avg_sq = [torch.zeros_like(p) for p in params] if self.adam else None

    @staticmethod
    def _per_trial(vector: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return vector.view(-1, *([1] * (like.dim() - 1)))

    @torch.no_grad()
    def step(self, lr64: torch.Tensor) -> None:
        """One step with learning rates ``lr64`` (K, float64 on the CPU)."""
        self.steps += 1
        grads = [p.grad for p in self.params]
        if self.adam:
            beta1, beta2 = _ADAM_BETAS
            bias1, bias2 = 1 - beta1**self.steps, 1 - beta2**self.steps
            shrink = (1 - lr64 * self.decay64).float().to(self.device)  # AdamW: decoupled decay first (1 when 0)
            step_size = (-(lr64 / bias1)).float().to(self.device)
            for p, g, m, v in zip(self.params, grads, self.exp_avg, self.exp_avg_sq):
                p.mul_(self._per_trial(shrink, p))
                m.lerp_(g, 1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                denom = (v.sqrt() / bias2**0.5).add_(_ADAM_EPS)
                p.add_(self._per_trial(step_size, p) * m / denom)
            return
        if self.decaying:
            grads = [g + self._per_trial(self.decay, p) * p for g, p in zip(grads, self.params)]
        if self.buffers is None:
            self.buffers = [g.clone() for g in grads]
        else:
            for b, g in zip(self.buffers, grads):
                b.mul_(self._per_trial(self.momentum, b)).add_(g)
        neg_lr = (-lr64).float().to(self.device)
        for p, b in zip(self.params, self.buffers):
            p.add_(self._per_trial(neg_lr, p) * b)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


def _clip(params: list[torch.Tensor], clips: torch.Tensor) -> None:
    """torch.nn.utils.clip_grad_norm_ per trial: each trial's gradient norm over all its tensors;
    a trial whose clip is 0 is left alone."""
    with torch.no_grad():
        norms = torch.stack([p.grad.flatten(1).norm(dim=1) for p in params], dim=1).norm(dim=1)
        coef = (clips / (norms + 1e-6)).clamp(max=1.0)
        coef = torch.where(clips > 0, coef, torch.ones_like(coef))
        for p in params:
            p.grad.mul_(coef.view(-1, *([1] * (p.dim() - 1))))


class _Schedules:
    """Each trial's learning-rate schedule, by torch's own schedulers on stand-in optimizers (one
    tiny tensor per trial), so the arithmetic is theirs: a cosine per batch for all trials at once,
    or one ReduceLROnPlateau per trial on that trial's validation MAE."""

    def __init__(self, configs: list[TrainConfig], batches_per_epoch: int):
        self.per_batch = configs[0].schedule == "cosine"
        if self.per_batch:
            holder = without_compiler_import(torch.optim.SGD)(
                [{"params": [torch.zeros(1)], "lr": c.lr} for c in configs]
            )
            self.groups = holder.param_groups
            total = max(1, batches_per_epoch * configs[0].epochs)
            self.cosine = torch.optim.lr_scheduler.CosineAnnealingLR(holder, T_max=total)
            holder.step()  # a no-op (no gradients) that tells the scheduler the optimizer steps first
        else:
            holders = [without_compiler_import(torch.optim.SGD)([torch.zeros(1)], lr=c.lr) for c in configs]
            self.groups = [h.param_groups[0] for h in holders]
            self.plateaus = [
                torch.optim.lr_scheduler.ReduceLROnPlateau(h, mode="min", patience=c.patience, factor=c.factor)
                for h, c in zip(holders, configs)
            ]

    def lrs(self) -> list[float]:
        return [g["lr"] for g in self.groups]

    def lr_vector(self) -> torch.Tensor:
        return torch.tensor(self.lrs(), dtype=torch.float64)

    def states(self) -> list[dict]:
        """Each trial's scheduler state_dict, as its own scheduler in fit would have it."""
        if not self.per_batch:
            return [copy.deepcopy(p.state_dict()) for p in self.plateaus]
        shared = self.cosine.state_dict()
        return [
            {**copy.deepcopy(shared), "base_lrs": [shared["base_lrs"][k]], "_last_lr": [shared["_last_lr"][k]]}
            for k in range(len(self.groups))
        ]

    def load(self, states: list[dict], total_batches: int) -> None:
        """Each trial's saved scheduler state; a cosine then decays over ``total_batches``, as fit's
        resume stretches it (the learning rates were set from the saved optimizers first)."""
        if not self.per_batch:
            for scheduler, state in zip(self.plateaus, states):
                scheduler.load_state_dict(state)
            return
        self.cosine.load_state_dict(
            {
                **states[0],
                "base_lrs": [state["base_lrs"][0] for state in states],
                "_last_lr": [state["_last_lr"][0] for state in states],
            }
        )
        stretch_cosine(self.cosine, self.cosine.optimizer, total_batches)

    def after_batch(self) -> None:
        if self.per_batch:
            self.cosine.step()

    def after_epoch(self, valid_maes: list[float], active: list[bool]) -> None:
        if not self.per_batch:
            for scheduler, mae, on in zip(self.plateaus, valid_maes, active):
                if on:
                    scheduler.step(mae)


class _Boundary:
    """Everything the pack needs, at the end of one epoch, to give each trial the state
    ``engine.training.fit`` would checkpoint there (its ``resume`` format): the stacked tensors are
    cloned now (cheap), each trial's dict is built only when asked for."""

    def __init__(self, epoch, packed, optimizer, best, schedules, generators, histories):
        self.epoch = epoch
        self.names = packed.names
        self.params = [p.detach().clone() for p in packed.params]
        self.best = [b.clone() for b in best]
        self.steps = optimizer.steps
        self.buffers = [b.clone() for b in optimizer.buffers] if optimizer.buffers is not None else None
        self.exp_avg = [m.clone() for m in optimizer.exp_avg] if optimizer.adam else None
        self.exp_avg_sq = [v.clone() for v in optimizer.exp_avg_sq] if optimizer.adam else None
        self.lrs = schedules.lrs()
        self.schedules = schedules.states()
        self.generators = [g.get_state() for g in generators]
        self.histories = [list(h) for h in histories]

    def state(self, k: int, config: TrainConfig, batches_per_epoch: int) -> dict:
        """Trial k's resume state, as fit's boundary_state: fit(config, splits, resume=it) continues it."""
        model = model_for(config).to(self.params[0].device)
        model.load_state_dict({name: p[k] for name, p in zip(self.names, self.params)})
        optimizer = make_optimizer(config, model)
        make_scheduler(config, optimizer, batches_per_epoch)  # as fit: a cosine marks the group's initial_lr
        for number, param in enumerate(model.parameters()):
            if self.exp_avg is not None:
                optimizer.state[param] = {
                    "step": torch.tensor(float(self.steps)),
                    "exp_avg": self.exp_avg[number][k].clone(),
                    "exp_avg_sq": self.exp_avg_sq[number][k].clone(),
                }
            elif config.momentum and self.buffers is not None:
                optimizer.state[param] = {"momentum_buffer": self.buffers[number][k].clone()}
        optimizer.param_groups[0]["lr"] = self.lrs[k]
        history = self.histories[k]
        best_epoch = history[-1].best_epoch if history else 0
        return {
            "epoch": len(history),
            "model": _clone_state(model),
            "optimizer": copy.deepcopy(optimizer.state_dict()),
            "scheduler": self.schedules[k],
            "generator": self.generators[k],
            "history": [dict(e.__dict__) for e in history],
            "best_epoch": best_epoch,
            "best_valid_mae": history[-1].best_valid_mae if history else math.inf,
            "best_model": {name: b[k].clone() for name, b in zip(self.names, self.best)} if best_epoch else None,
        }


@torch.no_grad()
def _load(states, packed, optimizer, schedules, generators, best, total_batches: int) -> None:
    """Put each trial's resume state (fit's format) into its slice of the pack, as fit's resume does."""
    for k, state in enumerate(states):
        for name, p, b in zip(packed.names, packed.params, best):
            p[k].copy_(state["model"][name])
            if state.get("best_model") is not None:
                b[k].copy_(state["best_model"][name])
        moments = state["optimizer"]["state"]
        for number in range(len(packed.params)):
            saved = moments.get(number, moments.get(str(number), {}))
            if optimizer.adam:
                optimizer.exp_avg[number][k].copy_(saved["exp_avg"])
                optimizer.exp_avg_sq[number][k].copy_(saved["exp_avg_sq"])
                optimizer.steps = int(saved["step"])  # the same in every trial: same epoch, same batches
            elif "momentum_buffer" in saved:
                if optimizer.buffers is None:
                    optimizer.buffers = [torch.zeros_like(q) for q in packed.params]
                optimizer.buffers[number][k].copy_(saved["momentum_buffer"])
        schedules.groups[k]["lr"] = state["optimizer"]["param_groups"][0]["lr"]
        generators[k].set_state(state["generator"])
    schedules.load([state["scheduler"] for state in states], total_batches)


def _loss(config: TrainConfig, pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(K,) losses, each the mean over its trial's batch as nn.HuberLoss / nn.L1Loss."""
    if config.loss == "huber":
        per_item = torch.nn.functional.huber_loss(pred, y, reduction="none")
    else:
        per_item = (pred - y).abs()
    return per_item.flatten(1).mean(dim=1)


def fit_packed(
    configs: list[TrainConfig],
    splits: dict[str, Split],
    device: torch.device | str = "cpu",
    *,
    on_epoch: Callable[[int, EpochEvent], None] | None = None,
    should_stop: Callable[[], bool | str] | None = None,
    on_state: Callable[[int, dict], None] | None = None,
    resume: list[dict] | None = None,
    stop_trial: Callable[[int], bool] | None = None,
) -> list[FitResult]:
    """Train ``configs`` (same shape; see PER_TRIAL) as one packed model; one FitResult per config,
    as ``engine.training.fit(config, splits, device)`` would return it. ``on_epoch(k, event)`` is
    called for trial k's epochs, and ``on_state(k, state)`` after them with the state to continue
    trial k from (fit's ``resume`` format: ``fit(config, splits, resume=state)`` continues it alone);
    ``should_stop`` is checked every batch and stops every trial; ``stop_trial(k)``, asked after
    trial k's epoch callbacks, stops trial k alone (a sweep's pruner): it ends "stopped" at that
    epoch, as ``fit`` stopped during the next one ends, while its slot keeps computing, ignored
    (cheaper than rebuilding the pack). ``resume``: one such state per config (from a packed run or
    from fit alone), all at the same epoch, to continue them packed."""
    check_packable(configs)
    if resume is not None:
        epochs = {len(state["history"]) for state in resume}
        if len(resume) != len(configs) or len(epochs) != 1:
            raise ValueError(
                f"resume needs one state per config ({len(configs)}), all at the same epoch; got "
                f"{len(resume)} at epochs {sorted(epochs)}"
            )
    device = torch.device(device)
    should_stop = should_stop or (lambda: False)
    K, first = len(configs), configs[0]
    generators = [seeded_generator(c.seed) for c in configs]
    models = [build_model(c, g) for c, g in zip(configs, generators)]
    packed = _PackedModel(models, device)
    optimizer = _Optimizer(configs, packed.params)
    train, valid = splits["train"], splits["valid"]
    n_train = len(train)
    batches_per_epoch = math.ceil(n_train / first.batch_size)
    schedules = _Schedules(configs, batches_per_epoch)
    clips = torch.tensor([c.clip for c in configs], device=device)
    clipping = bool(clips.any())
    train_in = _prepare(models[0], train.windows.to(device))
    train_y = train.targets.to(device)
    valid_in = _prepare(models[0], valid.windows.to(device))
    valid_y = valid.targets.to(device)

    histories: list[list[EpochEvent]] = [[] for _ in configs]
    status = ["finished"] * K
    reason = [f"completed {c.epochs} epochs" for c in configs]
    ended: list[dict[str, torch.Tensor] | None] = [None] * K  # weights where a failed trial stopped
    best_epoch, best_mae = [0] * K, [math.inf] * K
    best = [p.detach().clone() for p in packed.params]  # each trial's best weights, on the K axis
    boundaries: list[_Boundary | None] = [None] * K  # each trial's last finished epoch
    lowest = [math.inf] * K
    stopped = None
    if resume is not None:
        _load(resume, packed, optimizer, schedules, generators, best, batches_per_epoch * first.epochs)
        histories = [[EpochEvent(**e) for e in state["history"]] for state in resume]
        best_epoch = [state["best_epoch"] for state in resume]
        best_mae = [state["best_valid_mae"] for state in resume]
        lowest = [min((e.train_loss for e in h), default=math.inf) for h in histories]
        if histories[0]:
            boundary = _Boundary(len(histories[0]), packed, optimizer, best, schedules, generators, histories)
            boundaries = [boundary] * K

    for epoch in range(len(histories[0]) + 1, first.epochs + 1):
        started = time.perf_counter()
        active = [s == "finished" for s in status]
        if not any(active):
            break
        epoch_lrs = schedules.lrs()
        # Every trial draws its own shuffle from its own generator, as fit does (failed ones too:
        # their draws no longer matter).
        orders = torch.stack([shuffled_order(n_train, g) for g in generators]).to(device)
        abs_error = torch.zeros(K, device=device)
        total_loss = [0.0] * K
        for number, start in enumerate(range(0, n_train, first.batch_size), start=1):
            if why := should_stop():
                stopped = (
                    f"stopped: {why} during epoch {epoch}"
                    if isinstance(why, str)
                    else f"stopped by the user during epoch {epoch}"
                )
                break
            index = orders[:, start : start + first.batch_size]
            y = train_y[index]
            pred = packed.forward(train_in, index)
            losses = _loss(first, pred, y)
            values = losses.tolist()
            for k, value in enumerate(values):
                if status[k] != "finished":
                    continue
                lowest[k] = min(lowest[k], value)
                if diverged := _divergence(value, lowest[k]):
                    status[k] = "failed"
                    reason[k] = (
                        f"the loss {diverged} at epoch {epoch}, batch {number}: training diverged "
                        f"(try a smaller lr than {configs[k].lr:g})"
                    )
                    ended[k] = packed.state(k)
                else:
                    total_loss[k] += value
            if not any(s == "finished" for s in status):
                break
            losses.sum().backward()
            if clipping:
                _clip(packed.params, clips)
            optimizer.step(schedules.lr_vector())
            optimizer.zero_grad()
            schedules.after_batch()
            with torch.no_grad():
                abs_error += (pred.detach() - y).abs().flatten(1).sum(dim=1)
        if stopped:
            break
        live = [k for k in range(K) if active[k] and status[k] == "finished"]
        if not live:
            break
        train_mae = (abs_error / (train_y.numel())).tolist()
        for g in generators:
            _draw_base_seed(g)  # the validation loader's base seed
        with torch.no_grad():
            valid_pred = packed.forward(valid_in, None)
            valid_mae = ((valid_pred - valid_y).abs().flatten(1).sum(dim=1) / valid_y.numel()).tolist()
        improved = [False] * K
        for k in live:
            if not math.isfinite(valid_mae[k]):
                status[k] = "failed"
                reason[k] = (
                    f"the validation MAE became {valid_mae[k]} at epoch {epoch}: training diverged "
                    f"(try a smaller lr than {configs[k].lr:g})"
                )
                ended[k] = packed.state(k)
            elif valid_mae[k] < best_mae[k]:
                best_epoch[k], best_mae[k], improved[k] = epoch, valid_mae[k], True
        schedules.after_epoch(valid_mae, [status[k] == "finished" and k in live for k in range(K)])
        if any(improved):
            mask = torch.tensor(improved, device=device)
            with torch.no_grad():
                for b, p in zip(best, packed.params):
                    b.copy_(torch.where(mask.view(-1, *([1] * (p.dim() - 1))), p, b))
        seconds = time.perf_counter() - started  # the pack's epoch: every trial's, all at once
        for k in live:
            if status[k] != "finished":
                continue
            event = EpochEvent(
                epoch=epoch,
                epochs=configs[k].epochs,
                train_loss=total_loss[k] / batches_per_epoch,
                train_mae=train_mae[k],
                valid_mae=valid_mae[k],
                lr=epoch_lrs[k],
                seconds=seconds,
                best_epoch=best_epoch[k],
                best_valid_mae=best_mae[k],
            )
            histories[k].append(event)
            if on_epoch is not None:
                on_epoch(k, event)
        boundary = _Boundary(epoch, packed, optimizer, best, schedules, generators, histories)
        for k in live:
            if status[k] == "finished":
                boundaries[k] = boundary
                if on_state is not None:
                    on_state(k, boundary.state(k, configs[k], batches_per_epoch))
                if stop_trial is not None and epoch < first.epochs and stop_trial(k):
                    status[k], reason[k] = "stopped", f"stopped after epoch {epoch}"

    results = []
    for k, config in enumerate(configs):
        if stopped and status[k] == "finished":
            status[k], reason[k] = "stopped", stopped
        best_state = {name: b[k].detach().clone() for name, b in zip(packed.names, best)} if best_epoch[k] else None
        weights_epoch = len(histories[k])
        state = ended[k] or packed.state(k)
        if best_state is not None and (config.restore_best or status[k] != "finished"):
            state, weights_epoch = best_state, best_epoch[k]
        elif status[k] != "finished":
            weights_epoch = 0
        model = model_for(config).to(device)
        model.load_state_dict(state)
        results.append(
            FitResult(
                model=model,
                config=config,
                device=str(device),
                history=histories[k],
                status=status[k],
                reason=reason[k],
                best_epoch=best_epoch[k],
                best_valid_mae=best_mae[k],
                weights_epoch=weights_epoch,
                best_state=best_state,
                resume_state=boundaries[k].state(k, config, batches_per_epoch) if boundaries[k] else None,
            )
        )
    return results

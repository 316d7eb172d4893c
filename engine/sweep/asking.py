"""Settings for the next trial that no other trial of the sweep has (unless the space has no other).

Parallel trials ask one shared Optuna study; a sampler may still hand two of them the same values
(TPE from the same history, a small grid of choices). A repeat is told to the study as a failed,
uncounted ask (user attr ``duplicate``) and asked again; callers serialise their asks (the local
workers under one lock, the Ray driver alone), so two trials asked at once see each other.
"""

from __future__ import annotations

import itertools
import math
import random

from .space import SearchSpace

DUPLICATE = "duplicate"
TRIES = 50


def space_size(space: SearchSpace) -> float:
    """How many distinct settings the space holds (inf with a float range)."""
    size = 1.0
    for p in space.params:
        if p.kind == "choice":
            size *= len(p.choices)
        elif p.kind == "int":
            size *= (int(p.high) - int(p.low)) // (p.step or 1) + 1
        else:
            return math.inf
    return size


def _key(params: dict) -> tuple:
    return tuple(sorted(params.items()))


def taken(study) -> set[tuple]:
    """The settings of trials that ran, run or count (a stopped or duplicate ask does not)."""
    from optuna.trial import TrialState

    out = set()
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get(DUPLICATE) or t.user_attrs.get("stopped") or t.user_attrs.get("interrupted"):
            continue
        if t.state in (TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL) and t.params:
            out.add(_key(t.params))
    return out


def _values(param) -> list:
    if param.kind == "choice":
        return list(param.choices)
    return list(range(int(param.low), int(param.high) + 1, param.step or 1))


def unseen(space: SearchSpace, seen: set[tuple], rng: random.Random) -> dict | None:
    """Settings of a finite space that no trial has, drawn at random (None: none left)."""
    names = space.names
    values = [_values(p) for p in space.params]
    if space_size(space) <= 20000:
        left = [combo for combo in itertools.product(*values) if _key(dict(zip(names, combo))) not in seen]
        return dict(zip(names, rng.choice(left))) if left else None
    for _ in range(1000):
        params = {n: rng.choice(v) for n, v in zip(names, values)}
        if _key(params) not in seen:
            return params
    return None


def ask_distinct(study, space: SearchSpace):
    """``study.ask``, and when the sampler repeats a trial's settings (TPE keeps to what worked:
    with choices it soon repeats itself), that ask is dropped (told failed, not counted) and the
    trial gets settings no trial has: for a finite space drawn from those left, for a float range
    asked again. Only an exhausted space repeats."""
    import optuna

    distributions = space.distributions()
    size = space_size(space)
    rng = random.Random()
    seen = taken(study)
    for _ in range(TRIES):
        trial = study.ask(distributions)
        if _key(trial.params) not in seen or len(seen) >= size:
            return trial
        trial.set_user_attr(DUPLICATE, True)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        if math.isfinite(size):
            params = unseen(space, seen, rng)
            if params is not None:
                study.enqueue_trial(params)  # the next ask serves it (callers ask one at a time)
                return study.ask(distributions)
    return study.ask(distributions)  # a float range sampled twice the same 50 times: give up quietly

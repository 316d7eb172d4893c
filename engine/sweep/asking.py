"""Settings for the next trial that no other trial of the sweep has (unless the space has no other).

Parallel trials ask one shared Optuna study; a sampler may still hand two of them the same values
(TPE from the same history, a small grid of choices). A repeat is told to the study as a failed,
uncounted ask (user attr ``duplicate``) and asked again; callers serialise their asks (the local
workers under one lock, the Ray driver alone), so two trials asked at once see each other.
"""

from __future__ import annotations

import math

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


def ask_distinct(study, space: SearchSpace):
    """``study.ask`` until the settings are new to the sweep (or the space is exhausted)."""
    import optuna

    distributions = space.distributions()
    size = space_size(space)
    for _ in range(TRIES):
        seen = taken(study)
        trial = study.ask(distributions)
        if _key(trial.params) not in seen or len(seen) >= size:
            return trial
        trial.set_user_attr(DUPLICATE, True)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return trial  # the sampler keeps repeating itself: let it (a tiny space nearly exhausted)

"""Hyperparameter sweeps: a search space over TrainConfig fields (space.py), one recorded run per
trial (trial.py), local worker processes with Optuna (local.py) or Ray actors driven by the
sweep's process (ray_backend.py), and the sweep's rows in the run store (records.py)."""

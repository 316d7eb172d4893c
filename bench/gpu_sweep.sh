#!/usr/bin/env bash
# GPU trial packing (issue 22, item 5), run once on a CUDA machine from the repo root:
#   bash bench/gpu_sweep.sh [PATH/TO/CTA.csv]      (without a path: the synthetic series)
#   STEPS=4 bash bench/gpu_sweep.sh ...            (only the steps named, e.g. 4 or 134; default all)
# Writes bench/results/gpu_sweep_packed.log (and a copy under $OUT when the device runner sets it).
# About 8-13 minutes on one GPU in all (step 4 alone about 4-7); every step has its own time limit so the log always comes back.
#  1. fit_packed on cuda against fit on cuda, trial by trial (how close; cuDNN's LSTM sums in
#     another order than the packed batched matmuls).
#  2. Trials per minute, training only: the best preset's shape, 5 epochs, lr searched: GPU packed in
#     groups of 8, 32 and 128 (128 trials), then GPU and CPU one at a time (16 trials).
#  3. Trials per minute of whole sweeps (worker start-up, scoring and the store included): 1 and 2
#     CPU workers and the GPU one trial at a time, on 16 trials of the same space.
#  4. Whole packed sweeps as a user runs them: the wall clock of `ridership sweep --device cuda
#     --pack 1 / 8 / 32` (32 trials, 5 epochs, one worker), then the same 32 trials on 2 CPU workers.
set -u
DATA=${1:-}
DATA_ARGS=()
[ -n "$DATA" ] && DATA_ARGS=(--data "$DATA")
LOG=bench/results/gpu_sweep_packed.log
mkdir -p bench/results
export RIDERSHIP_HOME=${RIDERSHIP_HOME:-$(mktemp -d)} RIDERSHIP_CACHE=${RIDERSHIP_CACHE:-$(mktemp -d)}
PY=${PYTHON:-python3}
SPACE='lr=log:0.001:0.01'
STEPS=${STEPS:-1234}
want() { [[ "$STEPS" == *"$1"* ]]; }
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
  echo "cores: $(nproc); load: $(cat /proc/loadavg); data: ${DATA:-synthetic}"

  if want 1; then
  echo "== 1. packed on cuda vs each trial alone on cuda (best preset's shape, 3 epochs, K=4)"
  timeout 150 $PY - <<'EOF'
import time, torch
from engine.data import make_splits
from engine.data.sources import synthetic
from engine.packed_training import fit_packed
from engine.presets import apply_preset
from engine.training import fit

torch.set_num_threads(1)
data = synthetic()
base = apply_preset("best").replace(epochs=3, device="cuda")
configs = [base.replace(lr=lr, seed=seed) for lr, seed in ((0.003, 42), (0.001, 7), (0.01, 3), (0.005, 11))]
splits = make_splits(data, base)
fit(base.replace(epochs=1), splits, "cuda")  # warm-up
t = time.perf_counter(); packed = fit_packed(configs, splits, "cuda"); tp = time.perf_counter() - t
t = time.perf_counter(); alone = [fit(c, splits, "cuda") for c in configs]; ta = time.perf_counter() - t
print(f"packed {tp:.2f} s, one after another {ta:.2f} s")
for k, (p, a) in enumerate(zip(packed, alone)):
    rel = max(abs(getattr(x, f) - getattr(y, f)) / abs(getattr(y, f))
              for x, y in zip(p.history, a.history) for f in ("train_mae", "valid_mae"))
    sa, sp = a.model.state_dict(), p.model.state_dict()
    dw = max((sp[n] - sa[n]).abs().max().item() for n in sa)
    print(f"trial {k}: {p.status}/{a.status}, best epoch {p.best_epoch}/{a.best_epoch}, "
          f"valid MAE {p.history[-1].valid_mae:.6f}/{a.history[-1].valid_mae:.6f}, "
          f"largest relative MAE difference {rel:.2e}, largest weight difference {dw:.2e}")
EOF
  echo "rc=$?"
  fi

  if want 2; then
  echo "== 2a. training only, GPU packed in groups of 8, 32, 128 (128 trials, best preset, 5 epochs)"
  timeout 200 $PY -m bench.bench_sweep "${DATA_ARGS[@]}" --preset best --space "$SPACE" --trials 128 --epochs 5 \
    --setups gpu-packed:128,gpu-packed:32,gpu-packed:8 | grep -v "^  {"
  echo "rc=${PIPESTATUS[0]}"
  echo "== 2b. training only, one at a time on the GPU and on one CPU core, and packed by 16 (16 trials)"
  timeout 150 $PY -m bench.bench_sweep "${DATA_ARGS[@]}" --preset best --space "$SPACE" --trials 16 --epochs 5 \
    --setups gpu-alone:1,cpu-alone:1,gpu-packed:16,cpu-packed:16 | grep -v "^  {"
  echo "rc=${PIPESTATUS[0]}"
  fi

  if want 3; then
  echo "== 3. whole sweeps (run_local): 1 and 2 CPU workers, the GPU one trial at a time (16 trials)"
  timeout 200 $PY -m bench.bench_sweep "${DATA_ARGS[@]}" --preset best --space "$SPACE" --trials 16 --epochs 5 \
    --setups cpu:1,cpu:2,cuda:1 | grep -v "^  {"
  echo "rc=${PIPESTATUS[0]}"
  fi

  if want 4; then
  echo "== 4a. ridership sweep --device cuda, 1 worker, --pack 1 / 8 / 32 (32 trials, 5 epochs)"
  timeout 240 $PY -m bench.bench_sweep --cli "${DATA_ARGS[@]}" --device cuda --trials 32 --epochs 5 \
    --workers 1:1,1:8,1:32 | grep -v "^  {"
  echo "rc=${PIPESTATUS[0]}"
  echo "== 4b. the same 32 trials: ridership sweep --device cpu, 2 workers, then 1 worker --pack 8 (CPU)"
  timeout 200 $PY -m bench.bench_sweep --cli "${DATA_ARGS[@]}" --device cpu --trials 32 --epochs 5 \
    --workers 2:1,1:8 | grep -v "^  {"
  echo "rc=${PIPESTATUS[0]}"
  fi
  date -u
} 2>&1 | tee "$LOG"
[ -n "${OUT:-}" ] && cp "$LOG" "$OUT/"
exit 0

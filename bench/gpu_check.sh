#!/usr/bin/env bash
# GPU checks, run once on a CUDA machine from the repo root:
#   bash bench/gpu_check.sh PATH/TO/CTA.csv
# The training benchmark on cuda (both cores), the article's run trained on cuda, saved, then scored
# and used for a forecast on the CPU (a checkpoint made on a GPU must load anywhere), and the
# better preset on cuda; --device auto's measured choice; a sweep with several trials per GPU against
# the same trials on the CPU cores (trials per minute).
set -u
DATA=${1:?usage: bash bench/gpu_check.sh PATH/TO/CTA.csv}
export RIDERSHIP_HOME=${RIDERSHIP_HOME:-$(mktemp -d)} RIDERSHIP_CACHE=${RIDERSHIP_CACHE:-$(mktemp -d)}
PY=${PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
$PY -c "from engine.device import describe, resolve_device; print(*describe(resolve_device('auto')).lines(), sep='\n')"
echo "== benchmark, cuda, fused core (50 epochs)"
$PY -m bench.bench_training --data "$DATA" --epochs 50 --device cuda --core fused
echo "== benchmark, cuda, cell core (10 epochs)"
$PY -m bench.bench_training --data "$DATA" --epochs 10 --device cuda --core cell
echo "== benchmark, cpu on this machine, fused core (20 epochs)"
$PY -m bench.bench_training --data "$DATA" --epochs 20 --device cpu --core fused
echo "== article config trained on cuda, saved, then evaluated and used on cpu"
$PY -m cli.main train --data "$DATA" --device cuda --save /tmp/cuda_model.pt --no-record | tail -6
$PY -m cli.main evaluate --data "$DATA" --model /tmp/cuda_model.pt
$PY -m cli.main forecast --data "$DATA" --model /tmp/cuda_model.pt --days 3
echo "== better preset on cuda"
$PY -m cli.main train --data "$DATA" --device cuda --preset normalized --no-record | tail -5
echo "== --device auto: measured step time per device for the best preset's model, and the choice"
$PY -c "
import torch
from engine.device import available, fastest_device, step_seconds
from engine.presets import apply_preset
for hidden in (32, 256):
    c = apply_preset('best').replace(hidden_size=hidden)
    times = {k: step_seconds(torch.device(k), c) for k in available()}
    print(f'hidden {hidden}:', {k: f'{v * 1e3:.2f} ms' for k, v in times.items()}, '-> auto picks', fastest_device(c, available()))
"
echo "== sweep: the same 16 trials (best preset, 5 epochs) on the CPU cores and packed on the GPU"
$PY -m bench.bench_sweep --data "$DATA" --preset best --trials 16 --epochs 5 --setups cpu:8,cuda:8,cuda:16

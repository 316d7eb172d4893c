#!/usr/bin/env bash
# GPU checks, run once on a CUDA machine from the repo root:
#   bash bench/gpu_check.sh PATH/TO/CTA.csv
# The training benchmark on cuda (both cores), the article's run trained on cuda, saved, then scored
# and used for a forecast on the CPU (a checkpoint made on a GPU must load anywhere), and the
# better preset on cuda.
set -u
DATA=${1:?usage: bash bench/gpu_check.sh PATH/TO/CTA.csv}
export RIDERSHIP_HOME=${RIDERSHIP_HOME:-$(mktemp -d)} RIDERSHIP_CACHE=${RIDERSHIP_CACHE:-$(mktemp -d)}
PY=${PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
$PY -c "from engine.device import describe, resolve_device; print(*describe(resolve_device('auto')).lines(), sep='\n')"
echo "== benchmark, cuda, fused core (50 epochs)"
$PY bench/bench_training.py --data "$DATA" --epochs 50 --device cuda --core fused
echo "== benchmark, cuda, cell core (10 epochs)"
$PY bench/bench_training.py --data "$DATA" --epochs 10 --device cuda --core cell
echo "== benchmark, cpu on this machine, fused core (20 epochs)"
$PY bench/bench_training.py --data "$DATA" --epochs 20 --device cpu --core fused
echo "== article config trained on cuda, saved, then evaluated and used on cpu"
$PY -m engine.cli train --data "$DATA" --device cuda --save /tmp/cuda_model.pt --no-record | tail -6
$PY -m engine.cli evaluate --data "$DATA" --model /tmp/cuda_model.pt
$PY -m engine.cli forecast --data "$DATA" --model /tmp/cuda_model.pt --days 3
echo "== better preset on cuda"
$PY -m engine.cli train --data "$DATA" --device cuda --preset normalized --no-record | tail -5

#!/bin/bash
# usage: batch.sh "label|split|seeds|overrides" ...   runs 2 at a time, prints compact lines
cd "$(dirname "$0")/../.."   # the repository root; needs RIDERSHIP_DATA and the venv active
run() {
  IFS='|' read -r label split seeds over <<< "$1"
  out=$(python -m research.probes.analyze $split $seeds $over 2>&1)
  v=$(echo "$out" | grep '^valid' | head -1); t=$(echo "$out" | grep '^test' | head -1)
  rv=$(echo "$out" | grep 'rail lstm' | head -1); rt=$(echo "$out" | grep 'rail lstm' | tail -1)
  python - "$label" "$split" "$v" "$t" "$rv" "$rt" <<'PY'
import sys, re
label, split, v, t, rv, rt = sys.argv[1:]
def parse(line):
    ens = float(re.search(r"ens (\d+)", line).group(1)); gbm = float(re.search(r"gbm (\d+)", line).group(1))
    singles = re.search(r"singles \[([^\]]*)\]", line).group(1)
    return ens, gbm, singles
ve, vg, vs = parse(v); te, tg, ts = parse(t)
print(f"{label:30s} {split:8s} valid {ve/2:7.0f} x{ve/vg:.3f} [{vs}] test {te/2:7.0f} x{te/tg:.3f} [{ts}] | {rv.strip()}", flush=True)
PY
}
export -f run
printf '%s\n' "$@" | xargs -P 2 -I{} bash -c 'run "$@"' _ {}

#!/usr/bin/env bash
# Time dilation's equivalence check (README, "Virtual time"): one scenario at time_scale 1
# and at K, TRIALS trials each, side by side (`orchestrator sweep`); the trial medians of
# p50, p95 and p99 must agree within 5 % or 2 ms. Prints the comparison; exits 1 when a
# figure disagrees, 2 when a point did not give figures (failed or distorted).
#
#   scripts/equivalence.sh [SCENARIO] [K] [TRIALS]     (default scenarios/smoke.toml 4 3)
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-scenarios/smoke.toml}
k=${2:-4}
trials=${3:-3}
mkdir -p reports
out=$(mktemp -d reports/equivalence.XXXXXX)
rc=0
./lab sweep "$scenario" --set "scenario.time_scale=1,$k" --trials "$trials" --out "$out" || rc=$?
echo "sweep exit $rc; results in $out"
python3 - "$out/sweep.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
pts = s["points"]
if len(pts) != 2 or any(p["status"] != "met" and p["status"] != "missed" for p in pts):
    print("not comparable:", [(p["set"], p["status"], p["distorted"]) for p in pts])
    sys.exit(2)
a, b = (p["figures"] for p in pts)
ok = True
for key in ("p50", "p95", "p99"):
    x, y = a.get(key), b.get(key)
    if x is None or y is None:
        print(f"{key}: missing"); ok = False; continue
    diff = abs(y - x)
    rel = diff / x if x else float("inf")
    good = rel <= 0.05 or diff <= 2.0
    ok &= good
    print(f"{key}: k=1 {x:.1f} ms, k={pts[1]['set'][0]['value']} {y:.1f} ms: "
          f"{y - x:+.1f} ms ({rel * 100:+.1f} %) {'agree' if good else 'DISAGREE'}")
sys.exit(0 if ok else 1)
PY

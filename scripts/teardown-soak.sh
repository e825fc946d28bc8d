#!/usr/bin/env bash
# Teardown soak: runs a scenario N times, each interrupted by SIGINT at a random moment
# (or, with --complete, run to the end), and after each run checks that the engine holds
# no container and no network of that run (label meshlab.run=<run id>), and at the end none
# of the lab at all (label meshlab=1; skip with --shared when other runs share the engine).
# With `--runner swarm` it also counts the run's swarm services, and checks after each run
# that the engine is in the swarm state it was found in (a swarm the run created is left).
# Prints one line per run and a summary; exits 1 if anything was ever left behind.
#
#   scripts/teardown-soak.sh [--complete] [--shared] [--runs N] [--max-delay S] [--runner docker|swarm] SCENARIO
#
# Uses the binaries already built in target/ (./lab run or cargo build --release builds
# them), copied aside first so that a rebuild during the soak changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=50 max_delay=50 complete=0 shared=0 runner=docker
while [ $# -gt 1 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --max-delay) max_delay=$2; shift 2 ;;
    --complete) complete=1; shift ;;
    --shared) shared=1; shift ;;
    --runner) runner=$2; shift 2 ;;
    *) echo "error: failed to parse the command line: unknown option $1" >&2; exit 2 ;;
  esac
done
scenario=${1:?usage: scripts/teardown-soak.sh [--complete] [--shared] [--runs N] [--max-delay S] [--runner docker|swarm] SCENARIO}
case "$runner" in docker|swarm) ;; *) echo "error: failed to parse --runner: \`$runner\` is neither docker nor swarm" >&2; exit 2 ;; esac
[ -f "$scenario" ] || { echo "error: failed to read $scenario: no such file" >&2; exit 2; }

rel=target/x86_64-unknown-linux-gnu/release
bins=$(mktemp -d)
trap 'rm -rf "$bins"' EXIT
for b in orchestrator meshnode labshaper; do
  [ -x "$rel/$b" ] || { echo "error: failed to find $rel/$b: build first (cargo build --release --workspace --bins)" >&2; exit 2; }
  cp "$rel/$b" "$bins/"
done
mkdir -p reports
reports=$(mktemp -d reports/soak.XXXXXX)

swarm_state() {
  docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' 2>/dev/null || echo unknown
}
swarm_before=$(swarm_state)

# Containers and networks labelled $1 (e.g. meshlab.run=smoke-1a2b3c4d), and swarm
# services (counted with the containers) when the engine is a swarm manager; an engine
# that does not answer counts as one left each.
leftovers() {
  local c n s=""
  c=$(docker ps -aq --filter "label=$1") || c=unanswered
  n=$(docker network ls -q --filter "label=$1") || n=unanswered
  if [ "$(swarm_state)" = "active true" ]; then
    s=$(docker service ls -q --filter "label=$1") || s=unanswered
  fi
  printf '%s\n' "$c" "$s" | awk 'NF { k++ } END { printf "%d ", k + 0 }'
  printf '%s\n' "$n" | awk 'NF { k++ } END { print k + 0 }'
}

dirty=0
for i in $(seq 1 "$runs"); do
  t0=$(date +%s.%N)
  "$bins/orchestrator" run "$scenario" --reports "$reports" --runner "$runner" \
    --node-binary "$bins/meshnode" --shaper-binary "$bins/labshaper" \
    >"$reports/run-$i.out" 2>"$reports/run-$i.err" &
  pid=$!
  delay=-
  if [ "$complete" -eq 0 ]; then
    delay=$(awk -v m="$max_delay" -v s="$RANDOM" 'BEGIN { srand(s); printf "%.1f", rand() * m }')
    sleep "$delay"
    kill -INT "$pid" 2>/dev/null || true
  fi
  rc=0
  wait "$pid" || rc=$?
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  # The run prints its id before it creates anything.
  id=$(sed -n 's/^==> run \([a-z0-9-]*\): .*/\1/p' "$reports/run-$i.err" | head -n 1)
  verdict="clean (stopped before creating anything)"
  if [ -n "$id" ]; then
    read -r c n < <(leftovers "meshlab.run=$id")
    verdict="clean ($id)"
    if [ "$c" -ne 0 ] || [ "$n" -ne 0 ]; then
      verdict="LEFT $c containers/services, $n networks ($id)"
      dirty=$((dirty + 1))
    fi
  fi
  now=$(swarm_state)
  if [ "$now" != "$swarm_before" ]; then
    verdict="$verdict; swarm $swarm_before -> $now"
    dirty=$((dirty + 1))
    swarm_before=$now
  fi
  printf 'run %2d  SIGINT after %5s s  exit %d  %6s s  %s\n' "$i" "$delay" "$rc" "$secs" "$verdict"
done
if [ "$shared" -eq 0 ]; then
  read -r c n < <(leftovers meshlab=1)
  if [ "$c" -ne 0 ] || [ "$n" -ne 0 ]; then
    echo "after the soak the engine holds $c containers and $n networks of the lab"
    dirty=$((dirty + 1))
  fi
fi
echo "summary: $runs runs of $scenario, $dirty left something behind (logs: $reports)"
[ "$dirty" -eq 0 ]

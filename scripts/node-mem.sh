#!/usr/bin/env bash
# Where a node's host memory goes: for each running container whose name starts with
# PREFIX (a run id), one line of figures in KiB, then their means. Reads only /proc and
# the cgroup v1 memory controller; changes nothing.
#
#   scripts/node-mem.sh PREFIX
#
# Columns: node RSS (anon / file), threads, cgroup usage, cgroup rss, cgroup cache,
# cgroup mapped_file, kernel memory (kmem), of it TCP buffers, the containerd-shim's RSS
# (anon / file), and the RSS of the storage driver's per-container process (fuse-overlayfs)
# when there is one.
set -euo pipefail
prefix=${1:?usage: node-mem.sh RUN_ID_PREFIX}
cg=/sys/fs/cgroup/memory/docker
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
kib() { awk -v k="$2" '$1==k":" {print $2; f=1} END {if (!f) print 0}' "/proc/$1/status"; }
stat() { awk -v k="$2" '$1==k {print int($2/1024)}' "$1/memory.stat"; }
printf '%-28s %7s %7s %3s | %7s %7s %7s %7s %6s %5s | %6s %6s | %6s\n' \
  name rssAnon rssFile thr cgUsage cgRss cgCache cgMapF kmem tcp shimAn shimFi fuse
docker ps --filter "name=^${prefix}" --format '{{.ID}} {{.Names}}' | while read -r short name; do
  id=$(docker inspect -f '{{.Id}}' "$short")
  pid=$(docker inspect -f '{{.State.Pid}}' "$short")
  shim=$(ps -o ppid= -p "$pid" | tr -d ' ')
  dir=$cg/$id
  fuse=0
  merged=$(docker inspect -f '{{.GraphDriver.Data.MergedDir}}' "$short")
  for f in $(pgrep -x fuse-overlayfs || true); do
    if tr '\0' ' ' <"/proc/$f/cmdline" | grep -qF " $merged"; then
      fuse=$(kib "$f" VmRSS)
    fi
  done
  printf '%-28s %7s %7s %3s | %7s %7s %7s %7s %6s %5s | %6s %6s | %6s\n' "$name" \
    "$(kib "$pid" RssAnon)" "$(kib "$pid" RssFile)" "$(kib "$pid" Threads)" \
    $(($(cat "$dir/memory.usage_in_bytes") / 1024)) "$(stat "$dir" total_rss)" \
    "$(stat "$dir" total_cache)" "$(stat "$dir" total_mapped_file)" \
    $(($(cat "$dir/memory.kmem.usage_in_bytes") / 1024)) \
    $(($(cat "$dir/memory.kmem.tcp.usage_in_bytes") / 1024)) \
    "$(kib "$shim" RssAnon)" "$(kib "$shim" RssFile)" "$fuse"
done >"$tmp"
cat "$tmp"
awk '{for (i = 2; i <= NF; i++) if ($i == "|") s[i] = "|"; else s[i] += $i; n++}
  END {if (n) {printf "%-28s", "mean of " n; for (i = 2; i <= NF; i++) if (s[i] == "|") printf " |"; else printf " %7.0f", s[i] / n; print ""}}' "$tmp"

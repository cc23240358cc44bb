#!/usr/bin/env bash
# A/B of two etcd-bun source trees on one member: alternates a run of each, so both see the same
# machine load. Prints writes (or reads)/s, server CPU per request (from /proc/PID/stat), p50,
# p99 and max latency for every run.
#
#   bench/ab.sh <connections> <seconds> <rounds> <put|get> <treeA> <treeB>
#   e.g. git worktree add /tmp/base HEAD~3 && ln -s "$PWD/node_modules" /tmp/base/node_modules
#        bench/ab.sh 64 8 3 put /tmp/base .
#
# KEYS (default 1000) sets the keys per wrk thread; EXTRA_ARGS is appended to the member's flags
# (e.g. EXTRA_ARGS="--snapshot-count 20000" KEYS=30000 to cross snapshots of a larger store).
# Needs wrk and curl. Members listen on a random high port of 127.0.0.1 and are stopped by PID.
set -euo pipefail
conns=$1 secs=$2 rounds=$3 mode=$4 treeA=$5 treeB=$6
lua="$(cd "$(dirname "$0")" && pwd)/wrk/etcd-v2.lua"
threads=$([ "$conns" -ge 2 ] && echo 2 || echo 1)
keys=${KEYS:-1000}
read -r -a extra <<<"${EXTRA_ARGS:-}"

run() {
  local tree=$1 port=$((20000 + RANDOM % 10000)) dir
  dir=$(mktemp -d)
  (cd "$tree" && exec ./node_modules/.bin/bun src/main.ts --data-dir "$dir/data" \
    --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
    --listen-peer-urls "http://127.0.0.1:$((port + 1))" \
    --initial-advertise-peer-urls "http://127.0.0.1:$((port + 1))" \
    --initial-cluster "default=http://127.0.0.1:$((port + 1))" "${extra[@]}" >"$dir/member.log" 2>&1) &
  local pid=$!
  for _ in $(seq 100); do curl -s "127.0.0.1:$port/version" >/dev/null && break; sleep 0.1; done
  if [ "$mode" = get ]; then
    for i in $(seq 0 999); do printf 'url="http://127.0.0.1:%s/v2/keys/bench/k%s"\nrequest=PUT\ndata=value=x\n\n' "$port" "$i"; done >"$dir/fill"
    curl -s -K "$dir/fill" >/dev/null
  fi
  local c0 c1 out
  c0=$(awk '{print $14+$15}' "/proc/$pid/stat")
  out=$(wrk -t"$threads" -c"$conns" -d"${secs}s" -s "$lua" "http://127.0.0.1:$port" -- "$mode" /v2/keys/bench/ "$keys" | tail -1)
  c1=$(awk '{print $14+$15}' "/proc/$pid/stat")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
  echo "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); n=d['requests']; print(f\"{n/d['durationUs']*1e6:8.0f}/s  cpu/req {($c1-$c0)*10000/n:6.1f} us  p50 {d['p50Us']/1000:.2f}  p99 {d['p99Us']/1000:.2f}  max {d['maxUs']/1000:.1f} ms\")"
}

for _ in $(seq "$rounds"); do
  printf 'A '; run "$treeA"
  printf 'B '; run "$treeB"
done

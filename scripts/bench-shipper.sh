#!/usr/bin/env bash
# Shipper benchmark: tail -> forward (acks) -> aggregator (forward input -> null output, Release).
# Generates 4 Docker json-file logs with 1,000,000 lines in total (~200 MB), publishes the shipper NativeAOT, runs it
# with Read_from_Head On until the aggregator acknowledged every line (the shipper's own
# gateway_shipper_records_acked_total on /metrics), and reports the shipper's lines per CPU-second (utime+stime from
# /proc/<pid>/stat, from process start to the last ack) and its peak RSS (VmHWM). Two variants: plain tail (the
# line under `log`) and `multiline.parser docker, cri`. Peak RSS is reported in MiB and MB (the issue's target is MB).
# Usage: scripts/bench-shipper.sh [lines=1000000] [mem_buf_limit=5MB]
# Environment: BENCH_RUNS=n runs each variant n times (default 1); BENCH_BASELINE_REF=<git ref> also publishes the
# shipper of that commit (in a temporary git worktree) and runs it on the same logs, alternating with this tree's
# build, so a before/after comes from one run of the script.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

lines="${1:-1000000}"
mem_buf_limit="${2:-5MB}"
runs="${BENCH_RUNS:-1}"
baseline_ref="${BENCH_BASELINE_REF:-}"
forward_port="${BENCH_FORWARD_PORT:-24250}"
aggregator_http="${BENCH_AGGREGATOR_HTTP_PORT:-2040}"
shipper_http="${BENCH_SHIPPER_HTTP_PORT:-2041}"
work="$(mktemp -d "${TMPDIR:-/tmp}/gateway-bench-shipper.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ -d "$work/baseline-src" ]; then git -C "$repo_root" worktree remove --force "$work/baseline-src" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> generating $lines docker json-file lines in 4 files under $work/logs"
mkdir -p "$work/logs"
python3 - "$work/logs" "$lines" <<'PY'
import sys, os
out, total = sys.argv[1], int(sys.argv[2])
per = total // 4
for f in range(4):
    n = per if f < 3 else total - 3 * per
    path = os.path.join(out, f"bench-{f}_default_app-{f:064x}.log")
    with open(path, "w", buffering=1 << 20) as w:
        for i in range(n):
            s = i % 60
            w.write('{"log":"2026-11-25T18:%02d:%02d.%03dZ INFO [worker-%d] GET /api/v1/items/%07d status=200 duration_ms=%d '
                    'user=u%05d trace=%016x\\n","stream":"stdout","time":"2026-11-25T18:%02d:%02d.%09dZ"}\n'
                    % (i // 60 % 60, s, i % 1000, f, i, i % 250, i % 99991, i * 2654435761 % (1 << 64), i // 60 % 60, s, i % 1000000000))
PY
du -sh "$work/logs" | awk '{ print "    " $1 " of logs" }'

echo "==> publishing the shipper (NativeAOT, linux-x64) and building the aggregator (Release)"
dotnet publish src/Shipper/Gateway.Shipper.csproj -c Release -r linux-x64 -nologo -v quiet -o .tmp/bin/shipper-aot >/dev/null
builds=("this tree=.tmp/bin/shipper-aot/Gateway.Shipper")
if [ -n "$baseline_ref" ]; then
  baseline_commit="$(git rev-parse --short "$baseline_ref")"
  echo "==> publishing the baseline shipper ($baseline_ref @ $baseline_commit)"
  git worktree add --detach "$work/baseline-src" "$baseline_commit" >/dev/null 2>&1
  dotnet publish "$work/baseline-src/src/Shipper/Gateway.Shipper.csproj" -c Release -r linux-x64 -nologo -v quiet -o .tmp/bin/shipper-aot-baseline >/dev/null
  builds=("$baseline_ref @ $baseline_commit=.tmp/bin/shipper-aot-baseline/Gateway.Shipper" "${builds[@]}")
fi
dotnet build src/Aggregator/Gateway.Aggregator.csproj -c Release -nologo -v quiet -o .tmp/bin/aggregator >/dev/null

cat >"$work/aggregator.conf" <<CONF
[SERVICE]
    Flush        1
    Log_Level    warn
    HTTP_Server  On
    HTTP_Listen  127.0.0.1
    HTTP_Port    ${aggregator_http}

[INPUT]
    Name         forward
    Listen       127.0.0.1
    Port         ${forward_port}

[OUTPUT]
    Name  null
    Match *
CONF
dotnet .tmp/bin/aggregator/Gateway.Aggregator.dll -c "$work/aggregator.conf" >"$work/aggregator.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:${aggregator_http}/readyz" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$work/aggregator.log" >&2; exit 1; }
  sleep 0.25
done

ticks="$(getconf CLK_TCK)"
acked() { curl -fsS "http://127.0.0.1:${shipper_http}/metrics" 2>/dev/null | awk '/^gateway_shipper_records_acked_total/ { print int($2) }'; }

run_variant() {
  local name="$1" parser_line="$2" shipper="$3"
  rm -f "$work"/*.db*
  cat >"$work/shipper.conf" <<CONF
[SERVICE]
    Flush        1
    Log_Level    warn
    HTTP_Server  On
    HTTP_Listen  127.0.0.1
    HTTP_Port    ${shipper_http}

[INPUT]
    Name              tail
    Tag               app.*
    Path              ${work}/logs/*.log
    DB                ${work}/tail.db
    Mem_Buf_Limit     ${mem_buf_limit}
    Read_from_Head    On
    Refresh_Interval  1
${parser_line}
CONF
  local start end pid
  start="$(date +%s.%N)"
  "$shipper" -c "$work/shipper.conf" --aggregator "127.0.0.1:${forward_port}" >"$work/shipper-$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  local done_lines=0
  for _ in $(seq 1 2400); do
    done_lines="$(acked || echo 0)"
    [ "${done_lines:-0}" -ge "$lines" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/shipper-$name.log" >&2; exit 1; }
    sleep 0.25
  done
  end="$(date +%s.%N)"
  local cpu hwm hwm_mb
  cpu="$(awk -v t="$ticks" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$pid/stat")"
  hwm="$(awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")"
  hwm_mb="$(awk '/^VmHWM/ { printf "%.1f", $2 * 1024 / 1000000 }' "/proc/$pid/status")"
  kill -TERM "$pid"; wait "$pid" || true
  [ "${done_lines:-0}" -ge "$lines" ] || { echo "error: only ${done_lines:-0} of $lines lines acknowledged; shipper log:" >&2; cat "$work/shipper-$name.log" >&2; exit 1; }
  local wall per_cpu
  wall="$(echo "$end - $start" | bc -l)"
  per_cpu="$(echo "$lines / $cpu" | bc)"
  printf '| %s | %s | %s | %s | %.1f | %s | %s | %s MiB = %s MB |\n' "$(date -u +%F)" "$4" "$name" "$lines" "$wall" "$cpu" "$per_cpu" "$hwm" "$hwm_mb"
}

echo "==> running (results as a docs/benchmarks.md table row)"
echo "| Date (UTC) | Build | Variant | Lines | Wall s | Shipper CPU s | Lines per CPU-s | Peak RSS |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for variant in "tail (no parser)|" "multiline.parser docker, cri|    multiline.parser  docker, cri"; do
  for _ in $(seq 1 "$runs"); do
    for build in "${builds[@]}"; do
      run_variant "${variant%%|*}" "${variant#*|}" "${build#*=}" "${build%%=*}"
    done
  done
done

#!/usr/bin/env bash
# Ingest benchmark: the aggregator (Release) with forward input -> filesystem buffer (storage.sync normal) -> null
# output, driven by tools/Gateway.Load (PackedForward, acks on). Reports records/s, aggregator CPU seconds
# (utime+stime from /proc/<pid>/stat), records per CPU-second, peak RSS (VmHWM) and, as a sanity check, how many
# records the null output received. 3M records by default: at ~0.4 CPU-s per 1M the 10 ms tick and warm-up
# effects (first segments, thread pool ramp-up) move a 1M run by +-25%.
# Usage: scripts/bench-ingest.sh [records=3000000] [connections=4] [batch=1000]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=lib/bench.sh
. scripts/lib/bench.sh

records="${1:-3000000}"
connections="${2:-4}"
batch="${3:-1000}"
forward_port="${BENCH_FORWARD_PORT:-24240}"
http_port="${BENCH_HTTP_PORT:-2030}"
work=".tmp/bench"

echo "==> building aggregator and load tool (Release)"
dotnet build src/Aggregator/Gateway.Aggregator.csproj -c Release -nologo -v quiet -o .tmp/bin/aggregator >/dev/null
dotnet build tools/Gateway.Load/Gateway.Load.csproj -c Release -nologo -v quiet -o .tmp/bin/load >/dev/null

rm -rf "$work"
mkdir -p "$work"
cat >"$work/fluent-bit.conf" <<CONF
[SERVICE]
    Flush        1
    Log_Level    warn
    HTTP_Server  On
    HTTP_Listen  127.0.0.1
    HTTP_Port    ${http_port}
    storage.path ${repo_root}/${work}/storage
    storage.sync normal

[INPUT]
    Name         forward
    Listen       127.0.0.1
    Port         ${forward_port}
    storage.type filesystem

[OUTPUT]
    Name  null
    Match *
CONF

dotnet .tmp/bin/aggregator/Gateway.Aggregator.dll -c "$work/fluent-bit.conf" >"$work/aggregator.log" 2>&1 &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT

wait_ready "http://127.0.0.1:${http_port}/readyz" "$pid" "$work/aggregator.log"


# Warm-up run (JIT, first segment files) so the measured run is the steady state.
dotnet .tmp/bin/load/Gateway.Load.dll --port "$forward_port" --records 50000 --connections "$connections" --batch "$batch" >/dev/null

before="$(cpu_ticks "$pid")"
echo "==> load: $records records, $connections connections, $batch records per message (acks on)"
result="$(dotnet .tmp/bin/load/Gateway.Load.dll --port "$forward_port" --records "$records" --connections "$connections" --batch "$batch")"
after="$(cpu_ticks "$pid")"
echo "    $result"

rate="$(sed -n 's/.*records_per_sec=\([0-9]*\).*/\1/p' <<<"$result")"
cpu_seconds="$(awk -v a="$after" -v b="$before" -v t="$ticks" 'BEGIN { printf "%.2f", (a - b) / t }')"
per_cpu="$(awk -v r="$records" -v c="$cpu_seconds" 'BEGIN { if (c > 0) printf "%.0f", r / c; else print "n/a" }')"
peak_rss_mib="$(peak_rss_mib "$pid")"
# Warm-up + measured records must all have reached the output (acks only say they were stored).
flushed="$(curl -fsS "http://127.0.0.1:${http_port}/metrics" 2>/dev/null | awk '/^gateway_output_records_flushed_total/ { n += $2 } END { print n + 0 }')"

echo
echo "records/s:            $rate"
echo "aggregator CPU s:     $cpu_seconds"
echo "records per CPU-s:    $per_cpu"
echo "peak RSS (VmHWM):     ${peak_rss_mib} MiB"
echo "null output received: ${flushed} records (warm-up 50000 included; may trail by the last flush)"

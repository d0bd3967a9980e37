#!/usr/bin/env bash
# gRPC ingest benchmark, beside scripts/bench-ingest.sh (forward): the aggregator (Release) with a gateway_grpc
# input -> filesystem buffer (storage.sync normal) -> null output, driven by tools/Gateway.Load over
# gateway.v1.Ingest bidirectional streams, each batch acknowledged only once stored. Two client forms:
#   grpc        structured-body events (gateway.v1.Value maps, as an app's GatewayLogClient sends them), which the
#               aggregator encodes to msgpack records;
#   grpc-chunk  events_msgpack chunks (the shipper's gRPC output form), stored as received after validation.
# Reports records/s, aggregator CPU seconds (utime+stime from /proc/<pid>/stat), records per CPU-second, peak RSS
# (VmHWM) and, as a sanity check, how many records the null output received. Same records (~190 bytes, four
# fields) as bench-ingest.sh, so the figures sit beside forward's.
# Usage: scripts/bench-grpc.sh [records=3000000] [connections=4] [batch=1000] [protocol=grpc|grpc-chunk]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=lib/bench.sh
. scripts/lib/bench.sh

records="${1:-3000000}"
connections="${2:-4}"
batch="${3:-1000}"
protocol="${4:-grpc}"
grpc_port="${BENCH_GRPC_PORT:-24241}"
http_port="${BENCH_HTTP_PORT:-2031}"
work=".tmp/bench-grpc"

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
    Name         gateway_grpc
    Listen       127.0.0.1
    Port         ${grpc_port}
    storage.type filesystem

[OUTPUT]
    Name  null
    Match *
CONF

dotnet .tmp/bin/aggregator/Gateway.Aggregator.dll -c "$work/fluent-bit.conf" >"$work/aggregator.log" 2>&1 &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT

wait_ready "http://127.0.0.1:${http_port}/readyz" "$pid" "$work/aggregator.log"

load=(dotnet .tmp/bin/load/Gateway.Load.dll --protocol "$protocol" --port "$grpc_port" --connections "$connections" --batch "$batch")

# Warm-up run (JIT, first segment files, HTTP/2 connections) so the measured run is the steady state.
"${load[@]}" --records 50000 >/dev/null

before="$(cpu_ticks "$pid")"
echo "==> load: $records records, $connections streams, $batch records per batch ($protocol, acked after storing)"
result="$("${load[@]}" --records "$records")"
after="$(cpu_ticks "$pid")"
echo "    $result"

rate="$(load_rate "$result")"
cpu_seconds="$(cpu_seconds_between "$before" "$after")"
per_cpu="$(per_cpu_second "$records" "$cpu_seconds")"
peak_rss_mib="$(peak_rss_mib "$pid")"
flushed="$(records_flushed "$http_port")"

echo
echo "records/s:            $rate"
echo "aggregator CPU s:     $cpu_seconds"
echo "records per CPU-s:    $per_cpu"
echo "peak RSS (VmHWM):     ${peak_rss_mib} MiB"
echo "null output received: ${flushed} records (warm-up 50000 included; may trail by the last flush)"

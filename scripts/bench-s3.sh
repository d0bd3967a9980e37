#!/usr/bin/env bash
# S3 benchmark: the aggregator (Release) with forward input -> filesystem buffer (storage.sync normal) -> s3 output
# (compression gzip, store_dir on local disk) -> s3rver on 127.0.0.1 (tests/clients/s3rver, signatures verified),
# driven by tools/Gateway.Load (PackedForward, acks on). The clock and the CPU count run from the first record
# sent until the last record is in S3 (objects are cut at total_file_size; the tail goes up at upload_timeout).
# Reports records/s end to end, aggregator CPU seconds (utime+stime from /proc/<pid>/stat), records per
# CPU-second, bytes received vs. bytes written to S3, and peak RSS (VmHWM). s3rver's own CPU is not counted.
# Usage: scripts/bench-s3.sh [records=1000000] [connections=4] [batch=1000] [compression=gzip]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=lib/bench.sh
. scripts/lib/bench.sh

records="${1:-1000000}"
connections="${2:-4}"
batch="${3:-1000}"
compression="${4:-gzip}"
forward_port="${BENCH_FORWARD_PORT:-24241}"
http_port="${BENCH_HTTP_PORT:-2032}"
s3_port="${BENCH_S3_PORT:-4569}"
work="$repo_root/.tmp/bench-s3"

[ -d tests/clients/s3rver/node_modules/s3rver ] || (cd tests/clients/s3rver && npm ci --no-audit --no-fund --loglevel=error)
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
    storage.path ${work}/storage
    storage.sync normal

[INPUT]
    Name         forward
    Listen       127.0.0.1
    Port         ${forward_port}
    storage.type filesystem

[OUTPUT]
    Name              s3
    Match             *
    bucket            bench
    region            us-east-1
    endpoint          http://127.0.0.1:${s3_port}
    store_dir         ${work}/store
    s3_key_format     /bench/\$TAG/%Y/%m/%d/%H/\$INDEX-\$UUID.json.gz
    compression       ${compression}
    total_file_size   50M
    upload_chunk_size 10M
    upload_timeout    3s
CONF

node tests/clients/s3rver/server.js --port "$s3_port" --directory "$work/s3rver" --bucket bench >"$work/s3rver.log" 2>&1 &
s3_pid=$!
AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_EC2_METADATA_DISABLED=true \
  dotnet .tmp/bin/aggregator/Gateway.Aggregator.dll -c "$work/fluent-bit.conf" >"$work/aggregator.log" 2>&1 &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; kill "$s3_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:${http_port}/readyz" >/dev/null 2>&1 && grep -q listening "$work/s3rver.log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/aggregator.log" >&2; exit 1; }
  sleep 0.25
done

uploaded() {
  curl -fsS "http://127.0.0.1:${http_port}/metrics" 2>/dev/null |
    awk '/^gateway_output_records_out/ && /output="s3.0"/ { n += $NF } END { printf "%d", n + 0 }'
}
wait_uploaded() {
  for _ in $(seq 1 1200); do
    [ "$(uploaded)" -ge "$1" ] && return 0
    sleep 0.1
  done
  echo "timed out waiting for $1 records in S3 (have $(uploaded))" >&2
  tail -20 "$work/aggregator.log" >&2
  exit 1
}

# Warm-up run (JIT, first objects and parts, SDK connections) so the measured run is the steady state.
dotnet .tmp/bin/load/Gateway.Load.dll --port "$forward_port" --records 50000 --connections "$connections" --batch "$batch" >/dev/null
wait_uploaded 50000

objects_before="$(find "$work/s3rver" -name '*._S3rver_object' -printf '%s\n' | awk '{ n += $1 } END { printf "%d", n + 0 }')"
before="$(cpu_ticks "$pid")"
start_ns="$(date +%s%N)"
echo "==> load: $records records, $connections connections, $batch records per message (acks on), compression $compression"
result="$(dotnet .tmp/bin/load/Gateway.Load.dll --port "$forward_port" --records "$records" --connections "$connections" --batch "$batch")"
echo "    $result"
wait_uploaded $((50000 + records))
end_ns="$(date +%s%N)"
after="$(cpu_ticks "$pid")"

seconds="$(awk -v s="$start_ns" -v e="$end_ns" 'BEGIN { printf "%.2f", (e - s) / 1e9 }')"
rate="$(awk -v r="$records" -v s="$seconds" 'BEGIN { printf "%.0f", r / s }')"
cpu_seconds="$(cpu_seconds_between "$before" "$after")"
per_cpu="$(per_cpu_second "$records" "$cpu_seconds")"
peak_rss_mib="$(peak_rss_mib "$pid")"
bytes_in="$(awk -v r="$records" -v b="$(sed -n 's/.*bytes_per_record=\([0-9]*\).*/\1/p' <<<"$result")" 'BEGIN { printf "%d", r * b }')"
objects_after="$(find "$work/s3rver" -name '*._S3rver_object' -printf '%s\n' | awk '{ n += $1 } END { printf "%d", n + 0 }')"
bytes_out=$((objects_after - objects_before))
object_count="$(find "$work/s3rver" -name '*._S3rver_object' | wc -l)"

echo
echo "records/s (into S3):  $rate  (${seconds} s from first send to last record in S3, upload_timeout 3s included)"
echo "aggregator CPU s:     $cpu_seconds"
echo "records per CPU-s:    $per_cpu"
echo "forward bytes in:     $bytes_in ($(awk -v b="$bytes_in" -v r="$records" 'BEGIN { printf "%.0f", b / r }') per record, msgpack)"
echo "S3 bytes written:     $bytes_out ($(awk -v b="$bytes_out" -v r="$records" 'BEGIN { printf "%.1f", b / r }') per record; ratio in/out $(awk -v i="$bytes_in" -v o="$bytes_out" 'BEGIN { if (o > 0) printf "%.1f", i / o; else print "n/a" }'))"
echo "objects in bucket:    $object_count (warm-up included)"
echo "peak RSS (VmHWM):     ${peak_rss_mib} MiB"

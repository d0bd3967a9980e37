#!/usr/bin/env bash
# Ingest benchmark: the aggregator (Release) with forward input -> filesystem buffer (storage.sync normal) -> null
# output, driven by tools/Gateway.Load (PackedForward, acks on). Reports records/s, aggregator CPU seconds
# (utime+stime from /proc/<pid>/stat), records per CPU-second, peak RSS (VmHWM) and, as a sanity check, how many
# records the null output received. 3M records by default: at ~0.4 CPU-s per 1M the 10 ms tick and warm-up
# effects (first segments, thread pool ramp-up) move a 1M run by +-25%.
# Usage: scripts/bench-ingest.sh [records=3000000] [connections=4] [batch=1000]
# Environment: BENCH_RUNS=n runs each build n times (default 1); BENCH_BASELINE_REF=<git ref> also builds that
# commit's aggregator (temporary git worktree) and alternates it with this tree's, one table at the end.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=lib/bench.sh
. scripts/lib/bench.sh

records="${1:-3000000}"
connections="${2:-4}"
batch="${3:-1000}"
work=".tmp/bench"

echo "==> building aggregator and load tool (Release)"
dotnet build src/Aggregator/Gateway.Aggregator.csproj -c Release -nologo -v quiet -o .tmp/bin/aggregator >/dev/null
dotnet build tools/Gateway.Load/Gateway.Load.csproj -c Release -nologo -v quiet -o .tmp/bin/load >/dev/null

remove_baseline_worktree "$work"
rm -rf "$work"
mkdir -p "$work"
pid=""
trap '[ -n "$pid" ] && { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }; remove_baseline_worktree "$work"' EXIT
aggregator_builds "$work"

rows=()
# run_once LABEL DLL RUN: one aggregator process on a fresh buffer directory: warm-up, then the measured load.
run_once() {
  local label="$1" dll="$2" run="$3"
  prepare_run "$run"
  cat >"$work/fluent-bit.conf" <<CONF
[SERVICE]
    Flush        1
    Log_Level    warn
    HTTP_Server  On
    HTTP_Listen  127.0.0.1
    HTTP_Port    ${http_port}
    storage.path ${storage}
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

  echo "==> run $run: $label"
  dotnet "$dll" -c "$work/fluent-bit.conf" >"$work/aggregator.log" 2>&1 &
  pid=$!
  wait_ready "http://127.0.0.1:${http_port}/readyz" "$pid" "$work/aggregator.log"

  # Warm-up run (JIT, first segment files) so the measured run is the steady state.
  dotnet .tmp/bin/load/Gateway.Load.dll --port "$forward_port" --records 50000 --connections "$connections" --batch "$batch" >/dev/null

  local before after result rate cpu_seconds per_cpu peak flushed
  before="$(cpu_ticks "$pid")"
  echo "    load: $records records, $connections connections, $batch records per message (acks on)"
  result="$(dotnet .tmp/bin/load/Gateway.Load.dll --port "$forward_port" --records "$records" --connections "$connections" --batch "$batch")"
  after="$(cpu_ticks "$pid")"
  echo "    $result"

  rate="$(load_rate "$result")"
  cpu_seconds="$(cpu_seconds_between "$before" "$after")"
  per_cpu="$(per_cpu_second "$records" "$cpu_seconds")"
  peak="$(peak_rss_mib "$pid")"
  # Warm-up + measured records must all have reached the output (acks only say they were stored).
  flushed="$(records_flushed "$http_port")"

  stop_aggregator "$storage"
  echo "    ${rate} records/s, ${cpu_seconds} CPU s, ${per_cpu} records per CPU-s, peak RSS ${peak} MiB, null output received ${flushed} (warm-up 50000 included; may trail by the last flush)"
  rows+=("| ${label} | ${rate} | ${cpu_seconds} | ${per_cpu} | ${peak} MiB |")
}

run_builds

print_table "| Build | Records/s | Aggregator CPU s | Records per CPU-s | Peak RSS |" "| --- | --- | --- | --- | --- |"

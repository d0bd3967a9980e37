#!/usr/bin/env bash
# Kubernetes enrichment benchmark: forward input -> kubernetes filter (Merge_Log, Labels, Annotations; metadata
# from one list+watch of tools/Gateway.FakeServices' fake API server) -> grep (drops level=debug) -> filesystem
# buffer -> null output. Same load as scripts/bench-ingest.sh (PackedForward, acks on, ~200-byte records, batches
# of 1000) from tools/Gateway.Load --kubernetes-pods, each message one pod's container log tag.
# Reports the aggregator's records per CPU-second (utime+stime from /proc/<pid>/stat over the measured run), peak
# RSS (VmHWM, whole run including the pod list), the records the null output received and the requests the fake
# API server saw.
# Usage: scripts/bench-kubernetes.sh [records=3000000] [pods=1000] [connections=4] [batch=1000]
# Environment: BENCH_MAX_CHUNKS_UP (storage.max_chunks_up, default 128), BENCH_PERF=1 (perf record the measured run),
# BENCH_RUNS=n (each build n times), BENCH_BASELINE_REF=<git ref> (that commit's aggregator alternating with this
# tree's against the same fake API server; one table at the end). The fake's request counts cover all runs.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=lib/bench.sh
. scripts/lib/bench.sh

records="${1:-3000000}"
pods="${2:-1000}"
connections="${3:-4}"
batch="${4:-1000}"
warmup=50000
work=".tmp/bench-kubernetes"
# Fluent Bit's default: 128 filesystem chunks up (~1 MB each here, enriched).
max_chunks_up="${BENCH_MAX_CHUNKS_UP:-128}"

echo "==> building aggregator, load tool and fake services (Release)"
dotnet build src/Aggregator/Gateway.Aggregator.csproj -c Release -nologo -v quiet -o .tmp/bin/aggregator >/dev/null
dotnet build tools/Gateway.Load/Gateway.Load.csproj -c Release -nologo -v quiet -o .tmp/bin/load >/dev/null
dotnet build tools/Gateway.FakeServices/Gateway.FakeServices.csproj -c Release -nologo -v quiet -o .tmp/bin/fakes >/dev/null

remove_baseline_worktree "$work"
rm -rf "$work"
mkdir -p "$work"

fake_pid=""
pid=""
cleanup() {
  [ -n "$pid" ] && { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  [ -n "$fake_pid" ] && { kill -TERM "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; }
  remove_baseline_worktree "$work"
}
trap cleanup EXIT
aggregator_builds "$work"

echo "==> fake Kubernetes API with $pods pods"
dotnet .tmp/bin/fakes/Gateway.FakeServices.dll --kubernetes-pods "$pods" --kubernetes-token bench-token >"$work/fakes.log" 2>&1 &
fake_pid=$!
for _ in $(seq 1 480); do
  grep -q '^ready$' "$work/fakes.log" && break
  kill -0 "$fake_pid" 2>/dev/null || { cat "$work/fakes.log" >&2; exit 1; }
  sleep 0.25
done
kube_url="$(sed -n 's/^kubernetes_url=\([^ ]*\).*/\1/p' "$work/fakes.log")"
[ -n "$kube_url" ] || { echo "fake services did not start" >&2; cat "$work/fakes.log" >&2; exit 1; }
printf 'bench-token\n' >"$work/token"

rows=()
# run_once LABEL DLL RUN: one aggregator process on a fresh buffer directory: warm-ups, then the measured load.
run_once() {
  local label="$1" dll="$2" run="$3"
  prepare_run "$run"
  local warm_rss perf_pid before result after rate cpu_seconds per_cpu peak flushed enriched without
  echo "==> run $run: $label"
  cat >"$work/fluent-bit.conf" <<CONF
[SERVICE]
    Flush        1
    Log_Level    warn
    HTTP_Server  On
    HTTP_Listen  127.0.0.1
    HTTP_Port    ${http_port}
    storage.path ${storage}
    storage.sync normal
    storage.max_chunks_up ${max_chunks_up}

[INPUT]
    Name         forward
    Listen       127.0.0.1
    Port         ${forward_port}
    storage.type filesystem

[FILTER]
    Name            kubernetes
    Match           kube.*
    Kube_URL        ${kube_url}
    Kube_Token_File ${repo_root}/${work}/token
    Merge_Log       On
    Labels          On
    Annotations     On

[FILTER]
    Name    grep
    Match   kube.*
    Exclude level ^debug$

[OUTPUT]
    Name  null
    Match *
CONF

  # BENCH_PERF=1: profile the measured run (perf record; JIT'd frames named via the perf map) into $work/perf.data.
  if [ -n "${BENCH_PERF:-}" ]; then
    export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
  fi
  dotnet "$dll" -c "$work/fluent-bit.conf" >"$work/aggregator.log" 2>&1 &
  pid=$!
  unset DOTNET_PerfMapEnabled DOTNET_EnableWriteXorExecute

  wait_ready "http://127.0.0.1:${http_port}/readyz" "$pid" "$work/aggregator.log"


  # Warm-up run (JIT, first segment files, the pod list applied and every pod's tag seen once) so the measured run
  # is the steady state.
  dotnet .tmp/bin/load/Gateway.Load.dll --port "$forward_port" --records "$warmup" --connections "$connections" --batch "$batch" --kubernetes-pods "$pods" >/dev/null
  dotnet .tmp/bin/load/Gateway.Load.dll --port "$forward_port" --records "$((pods * 10))" --connections "$connections" --batch 10 --kubernetes-pods "$pods" >/dev/null

  # Peak so far: start-up, the initial pod list (the API client's objects for every pod) and the warm-ups.
  warm_rss="$(peak_rss_mib "$pid")"
  perf_pid=""
  if [ -n "${BENCH_PERF:-}" ]; then
    perf record -F 499 -g -p "$pid" -o "$work/perf.data" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  before="$(cpu_ticks "$pid")"
  echo "    load: $records records over $pods pods, $connections connections, $batch records per message (acks on)"
  result="$(dotnet .tmp/bin/load/Gateway.Load.dll --port "$forward_port" --records "$records" --connections "$connections" --batch "$batch" --kubernetes-pods "$pods")"
  after="$(cpu_ticks "$pid")"
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
  fi
  echo "    $result"

  rate="$(load_rate "$result")"
  cpu_seconds="$(cpu_seconds_between "$before" "$after")"
  per_cpu="$(per_cpu_second "$records" "$cpu_seconds")"
  peak="$(peak_rss_mib "$pid")"
  sleep 2 # the last chunks reach the null output within a flush interval
  flushed="$(metric gateway_output_records_flushed_total)"
  enriched="$(metric gateway_kubernetes_records_enriched_total)"
  without="$(metric gateway_kubernetes_records_without_metadata_total)"

  stop_aggregator "$storage"
  local sent=$((warmup + pods * 10 + records))
  echo "    ${rate} records/s, ${cpu_seconds} CPU s, ${per_cpu} records per CPU-s, peak RSS ${peak} MiB (${warm_rss} MiB before the measured run)"
  echo "    null output received ${flushed} of ${sent} sent (warm-ups included; grep drops level=debug, 1 in 8); ${enriched} enriched, ${without} without metadata"
  rows+=("| ${label} | ${rate} | ${cpu_seconds} | ${per_cpu} | ${peak} MiB (${warm_rss} before the run) | ${enriched} / ${without} |")
}

run_builds

# Stop the fake last, then ask it what it served (every run: one list + one watch each).
kill -TERM "$fake_pid" 2>/dev/null || true
wait "$fake_pid" 2>/dev/null || true
fake_pid=""
requests="$(grep '^kubernetes_requests' "$work/fakes.log" || echo 'kubernetes_requests (none reported)')"

print_table "| Build | Records/s | Aggregator CPU s | Records per CPU-s | Peak RSS | Enriched / without metadata |" \
  "| --- | --- | --- | --- | --- | --- |"
echo
echo "fake API server (all runs): ${requests}"

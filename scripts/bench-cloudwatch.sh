#!/usr/bin/env bash
# CloudWatch Logs benchmark: forward input -> kubernetes filter (Merge_Log, Labels, Annotations; metadata from
# tools/Gateway.FakeServices' fake API server) -> grep (drops level=debug) -> filesystem buffer -> cloudwatch_logs
# over HTTPS to the same host's CloudWatch Logs fake (SigV4 verified, every PutLogEvents limit enforced, a fresh
# self-signed certificate the aggregator trusts through SSL_CERT_FILE; static credentials from the environment).
# Load: tools/Gateway.Load --kubernetes-pods (PackedForward, acks on, ~200-byte container-log records), each message
# one pod's container log tag. Output config as the container-insights seed's application output (stream =
# ${HOST_NAME}- + tag, Flush 5).
# Reports the aggregator's records per CPU-second (utime+stime over the measured run, until the last record is
# delivered to the fake), peak RSS (VmHWM), forward messages (= chunks) received and PutLogEvents requests.
# Usage: scripts/bench-cloudwatch.sh [records=600000] [pods=40] [connections=4] [batch=100]
# Environment: BENCH_RUNS=n runs each build n times (default 1); BENCH_BASELINE_REF=<git ref> also builds the
# aggregator of that commit (in a temporary git worktree) and runs it against the same fakes, alternating with this
# tree's build, so a before/after comes from one run of the script. BENCH_MAX_CHUNKS_UP, BENCH_BATCH_MEM and
# BENCH_BACKLOG set storage.max_chunks_up, the output's batch_mem_limit and storage.backlog.mem_limit;
# BENCH_SAMPLE=1 samples memory each second and BENCH_PERF=1 profiles (the last run, into $work).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=lib/bench.sh
. scripts/lib/bench.sh

records="${1:-600000}"
pods="${2:-40}"
connections="${3:-4}"
batch="${4:-100}"
warmup="${BENCH_WARMUP:-50000}"
flush="${BENCH_FLUSH:-5}"
work=".tmp/bench-cloudwatch"

if [ -z "${BENCH_NO_BUILD:-}" ]; then
  echo "==> building aggregator, load tool and fake services (Release)"
  dotnet build src/Aggregator/Gateway.Aggregator.csproj -c Release -nologo -v quiet -o .tmp/bin/aggregator >/dev/null
  dotnet build tools/Gateway.Load/Gateway.Load.csproj -c Release -nologo -v quiet -o .tmp/bin/load >/dev/null
  dotnet build tools/Gateway.FakeServices/Gateway.FakeServices.csproj -c Release -nologo -v quiet -o .tmp/bin/fakes >/dev/null
fi

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

echo "==> fakes: Kubernetes API with $pods pods, CloudWatch Logs over HTTPS"
dotnet .tmp/bin/fakes/Gateway.FakeServices.dll --kubernetes-pods "$pods" --kubernetes-token bench-token \
  --cloudwatch-cert "$repo_root/$work/fake-ca.pem" >"$work/fakes.log" 2>&1 &
fake_pid=$!
for _ in $(seq 1 480); do
  grep -q '^ready$' "$work/fakes.log" && break
  kill -0 "$fake_pid" 2>/dev/null || { cat "$work/fakes.log" >&2; exit 1; }
  sleep 0.25
done
kube_url="$(sed -n 's/^kubernetes_url=\([^ ]*\).*/\1/p' "$work/fakes.log")"
cw_line="$(grep '^cloudwatch_url=' "$work/fakes.log" || true)"
[ -n "$kube_url" ] && [ -n "$cw_line" ] || { echo "fake services did not start" >&2; cat "$work/fakes.log" >&2; exit 1; }
cw_url="$(sed -n 's/^cloudwatch_url=\([^ ]*\).*/\1/p' <<<"$cw_line")"
cw_region="$(sed -n 's/.* region=\([^ ]*\).*/\1/p' <<<"$cw_line")"
cw_key="$(sed -n 's/.* access_key=\([^ ]*\).*/\1/p' <<<"$cw_line")"
cw_secret="$(sed -n 's/.* secret_key=\([^ ]*\).*/\1/p' <<<"$cw_line")"
printf 'bench-token\n' >"$work/token"

# Everything queued for the output is done with (delivered, or rejected by CloudWatch and counted). Polled twice a
# second: each poll is a /metrics scrape the aggregator pays for inside the measured window (at 10 a second they
# were ~2-3% of its CPU).
wait_delivered() {
  for _ in $(seq 1 240); do
    local queued flushed
    queued="$(metric gateway_output_chunks_queued_total)"
    flushed="$(metric gateway_output_chunks_flushed_total)"
    [ "$queued" -gt 0 ] && [ "$flushed" -ge "$queued" ] && return 0
    sleep 0.5
  done
  echo "timed out waiting for delivery" >&2
  return 1
}

rows=()
# run_once LABEL DLL RUN: one aggregator process (fresh storage, fresh ports): warm-up, then the measured load.
run_once() {
  local label="$1" dll="$2" run="$3"
  prepare_run "$run"
  cat >"$work/fluent-bit.conf" <<CONF
[SERVICE]
    Flush        ${flush}
    Log_Level    warn
    HTTP_Server  On
    HTTP_Listen  127.0.0.1
    HTTP_Port    ${http_port}
    storage.path ${storage}
    storage.sync normal
    storage.backlog.mem_limit ${BENCH_BACKLOG:-5M}
${BENCH_MAX_CHUNKS_UP:+    storage.max_chunks_up ${BENCH_MAX_CHUNKS_UP}}

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
    Name                cloudwatch_logs
    Match               kube.*
    region              ${cw_region}
    endpoint            ${cw_url}
    log_group_name      /eks/bench/application
    log_stream_prefix   \${HOST_NAME}-
    auto_create_group   true
    extra_user_agent    container-insights
${BENCH_BATCH_MEM:+    batch_mem_limit     ${BENCH_BATCH_MEM}}
CONF

  echo "==> run $run: $label"
  # BENCH_PERF=1: profile the measured run (perf record; JIT'd frames named via the perf map) into $work/perf.data.
  if [ -n "${BENCH_PERF:-}" ]; then
    export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
  fi
  # The fake's certificate is the only trust anchor the aggregator needs here: SSL_CERT_FILE is where .NET (and
  # OpenSSL) read trusted roots on Linux. Credentials come from the standard AWS environment variables.
  SSL_CERT_FILE="$repo_root/$work/fake-ca.pem" HOST_NAME=bench-node \
  AWS_ACCESS_KEY_ID="$cw_key" AWS_SECRET_ACCESS_KEY="$cw_secret" AWS_REGION="$cw_region" \
    dotnet "$dll" -c "$work/fluent-bit.conf" >"$work/aggregator.log" 2>&1 &
  pid=$!
  unset DOTNET_PerfMapEnabled DOTNET_EnableWriteXorExecute

  wait_ready "http://127.0.0.1:${http_port}/readyz" "$pid" "$work/aggregator.log"

  # Warm-up (JIT, first segment files, every stream created) so the measured run is the steady state.
  dotnet .tmp/bin/load/Gateway.Load.dll --port "$forward_port" --records "$warmup" --connections "$connections" --batch "$batch" --kubernetes-pods "$pods" >/dev/null
  wait_delivered
  local warm_messages warm_flushed warm_puts
  warm_messages="$(metric gateway_forward_messages_total)"
  warm_flushed="$(metric gateway_output_records_flushed_total)"
  warm_puts="$(metric gateway_cloudwatch_put_requests_total)"

  local perf_pid=""
  if [ -n "${BENCH_PERF:-}" ]; then
    perf record -F 499 -g -p "$pid" -o "$work/perf.data" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  # BENCH_SAMPLE=1: every second, the aggregator's RSS (anonymous / file / shmem), GC heap, chunk bytes in memory
  # and the output's queue, to $work/samples.
  local sampler_pid=""
  if [ -n "${BENCH_SAMPLE:-}" ]; then
    ( while kill -0 "$pid" 2>/dev/null; do
        printf '%s %s gc_heap=%s gc_committed=%s memory_bytes=%s disk_bytes=%s queue_depth=%s chunks_flushed=%s\n' "$(date +%T)" \
          "$(awk '/^(VmRSS|RssAnon|RssFile|RssShmem)/ { printf "%s%.0fMiB ", $1, $2 / 1024 }' "/proc/$pid/status")" \
          "$(metric dotnet_gc_last_collection_heap_size)" "$(metric dotnet_gc_last_collection_memory_committed)" \
          "$(metric gateway_buffer_memory_bytes)" "$(metric gateway_buffer_disk_bytes)" "$(metric gateway_output_queue_depth)" \
          "$(metric gateway_output_chunks_flushed_total)"
        sleep 1
      done ) >"$work/samples" 2>/dev/null &
    sampler_pid=$!
  fi
  local before start_ns result after end_ns
  before="$(cpu_ticks "$pid")"
  start_ns="$(date +%s%N)"
  echo "    load: $records records over $pods pods, $connections connections, $batch records per message (acks on)"
  result="$(dotnet .tmp/bin/load/Gateway.Load.dll --port "$forward_port" --records "$records" --connections "$connections" --batch "$batch" --kubernetes-pods "$pods")"
  echo "    $result"
  # Until the output has delivered everything the grep filter let through (Flush interval included).
  wait_delivered
  after="$(cpu_ticks "$pid")"
  end_ns="$(date +%s%N)"
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
  fi
  [ -n "$sampler_pid" ] && { kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; }

  local messages flushed puts cpu_seconds wall_seconds per_cpu ratio peak rejected
  messages=$(( $(metric gateway_forward_messages_total) - warm_messages ))
  flushed=$(( $(metric gateway_output_records_flushed_total) - warm_flushed ))
  puts=$(( $(metric gateway_cloudwatch_put_requests_total) - warm_puts ))
  cpu_seconds="$(cpu_seconds_between "$before" "$after")"
  wall_seconds="$(awk -v a="$end_ns" -v b="$start_ns" 'BEGIN { printf "%.2f", (a - b) / 1e9 }')"
  per_cpu="$(per_cpu_second "$records" "$cpu_seconds")"
  ratio="$(awk -v m="$messages" -v p="$puts" 'BEGIN { if (p > 0) printf "%.1f", m / p; else print "n/a" }')"
  peak="$(peak_rss_mib "$pid")"
  rejected="$(metric gateway_cloudwatch_events_rejected_total)"

  stop_aggregator "$storage"
  echo "    wall ${wall_seconds} s to the last delivery, ${cpu_seconds} CPU s, ${per_cpu} records per CPU-s, peak RSS ${peak} MiB"
  echo "    ${messages} forward chunks, ${puts} PutLogEvents (${ratio} chunks per request), ${flushed} of ${records} records delivered (grep drops level=debug, 1 in 8), ${rejected} events rejected"
  rows+=("| ${label} | ${per_cpu} | ${peak} MiB | ${messages} | ${puts} | ${ratio} | ${flushed} |")
}

run_builds

kill -TERM "$fake_pid" 2>/dev/null || true
wait "$fake_pid" 2>/dev/null || true
fake_pid=""
summary="$(grep '^cloudwatch_requests' "$work/fakes.log" || echo 'cloudwatch_requests (none reported)')"

print_table "| Build | Records per CPU-s | Peak RSS | Forward chunks | PutLogEvents | Chunks per request | Records delivered |" \
  "| --- | --- | --- | --- | --- | --- | --- |"
echo
echo "fake CloudWatch Logs (all runs): ${summary}"

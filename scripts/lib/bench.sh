# Shared by the scripts/bench-*.sh benchmarks (sourced, not run): how they wait for the aggregator and how they
# read a process's CPU time and peak memory, so every benchmark measures the same way.

# Clock ticks per second, the unit of utime/stime in /proc/<pid>/stat.
ticks="$(getconf CLK_TCK)"

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Peak resident set size (VmHWM) of a process, in MiB.
peak_rss_mib() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

# wait_ready URL PID LOG: polls URL until it answers (at most 120 s); fails with the log when the process died or
# never became ready.
wait_ready() {
  local url="$1" pid="$2" log="$3"
  for _ in $(seq 1 480); do
    curl -fsS "$url" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { echo "the process serving $url exited" >&2; cat "$log" >&2; exit 1; }
    sleep 0.25
  done
  echo "$url not ready after 120 s" >&2
  cat "$log" >&2
  exit 1
}

# A free TCP port on 127.0.0.1 (other builds and benchmarks share this machine).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# aggregator_builds WORK: fills the array `builds` with "label=dll" entries: this tree's Release aggregator
# (.tmp/bin/aggregator, built by the caller) and, when BENCH_BASELINE_REF names a commit, that commit's aggregator
# built from a temporary git worktree under WORK (remove it with remove_baseline_worktree WORK), listed first so
# the runs alternate baseline, this tree, baseline, ...
aggregator_builds() {
  local work="$1"
  builds=("this tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo '+changes'))=.tmp/bin/aggregator/Gateway.Aggregator.dll")
  if [ -n "${BENCH_BASELINE_REF:-}" ]; then
    local commit
    commit="$(git rev-parse --short "$BENCH_BASELINE_REF")"
    echo "==> building the baseline aggregator ($BENCH_BASELINE_REF @ $commit)"
    remove_baseline_worktree "$work"
    git worktree add --detach "$work/baseline-src" "$commit" >/dev/null 2>&1
    dotnet build "$work/baseline-src/src/Aggregator/Gateway.Aggregator.csproj" -c Release -nologo -v quiet -o .tmp/bin/aggregator-baseline >/dev/null
    builds=("baseline $commit=.tmp/bin/aggregator-baseline/Gateway.Aggregator.dll" "${builds[@]}")
  fi
}

# remove_baseline_worktree WORK: drops the worktree aggregator_builds made, if any.
remove_baseline_worktree() {
  if [ -d "$1/baseline-src" ]; then git worktree remove --force "$1/baseline-src" >/dev/null 2>&1 || true; fi
}

# cpu_seconds_between BEFORE AFTER: the CPU seconds between two cpu_ticks readings.
cpu_seconds_between() { awk -v a="$2" -v b="$1" -v t="$ticks" 'BEGIN { printf "%.2f", (a - b) / t }'; }

# per_cpu_second RECORDS CPU_SECONDS: records per CPU-second ("n/a" when no CPU time was measured).
per_cpu_second() { awk -v r="$1" -v c="$2" 'BEGIN { if (c > 0) printf "%.0f", r / c; else print "n/a" }'; }

# load_rate RESULT: the records/s the load tool printed (its records_per_sec=).
load_rate() { sed -n 's/.*records_per_sec=\([0-9]*\).*/\1/p' <<<"$1"; }

# records_flushed HTTP_PORT: what the aggregator's outputs have flushed so far (gateway_output_records_flushed).
records_flushed() {
  curl -fsS "http://127.0.0.1:$1/metrics" 2>/dev/null | awk '/^gateway_output_records_flushed_total/ { n += $2 } END { print n + 0 }'
}

# stop_aggregator STORAGE: ends the aggregator whose pid is in $pid and removes that run's buffer directory.
stop_aggregator() {
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
  rm -rf "$1"
}

# run_builds: calls the script's run_once LABEL DLL RUN for each of BENCH_RUNS runs and each entry of `builds`
# (baseline first), collecting its table rows in `rows`.
run_builds() {
  local run build
  for run in $(seq 1 "${BENCH_RUNS:-1}"); do
    for build in "${builds[@]}"; do
      run_once "${build%%=*}" "${build#*=}" "$run"
    done
  done
}

# print_table "| A | B |" "| --- | --- |": the header, then the rows run_once collected.
print_table() {
  echo
  echo "$1"
  echo "$2"
  printf '%s\n' "${rows[@]}"
}

# metric NAME: the sum of a Prometheus metric's samples on the aggregator at $http_port.
metric() { curl -fsS "http://127.0.0.1:${http_port}/metrics" 2>/dev/null | awk -v m="$1" '$1 ~ "^"m { n += $2 } END { printf "%.0f", n + 0 }'; }

# prepare_run RUN: fresh ports (unless BENCH_FORWARD_PORT/BENCH_HTTP_PORT fix them) and an empty buffer directory
# under $work for one run: sets forward_port, http_port and storage.
prepare_run() {
  forward_port="${BENCH_FORWARD_PORT:-$(free_port)}"
  http_port="${BENCH_HTTP_PORT:-$(free_port)}"
  storage="${repo_root}/${work}/storage-$1"
  rm -rf "$storage"
}

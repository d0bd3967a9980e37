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

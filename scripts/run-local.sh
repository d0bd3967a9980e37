#!/usr/bin/env bash
# Runs the gateway end to end on this machine: builds and starts the aggregator with scripts/local/aggregator.conf
# (forward input on 127.0.0.1:24224 -> file output under ./.tmp/out), sends the fixture logs
# ../shared/fixtures/node/var/log/** to it with a real Fluent forward client (acks on), waits until every record
# landed, and prints where they are.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

fixtures="${GATEWAY_FIXTURES:-$repo_root/../shared/fixtures}/node/var/log"
config="scripts/local/aggregator.conf"
out_dir=".tmp/out"
[ -d "$fixtures" ] || { echo "error: fixture logs not found at $fixtures (set GATEWAY_FIXTURES)" >&2; exit 1; }

echo "==> building the aggregator (Release)"
dotnet build src/Aggregator/Gateway.Aggregator.csproj -c Release -nologo -v quiet -clp:NoSummary -o .tmp/bin/aggregator

if [ ! -d tests/clients/node_modules/@fluent-org/logger ]; then
  echo "==> npm ci (tests/clients)"
  (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error)
fi

rm -rf "$out_dir" .tmp/storage
mkdir -p "$out_dir"

echo "==> starting the aggregator: -c $config"
dotnet .tmp/bin/aggregator/Gateway.Aggregator.dll -c "$config" >.tmp/aggregator.log 2>&1 &
aggregator_pid=$!
trap 'kill -TERM "$aggregator_pid" 2>/dev/null || true; wait "$aggregator_pid" 2>/dev/null || true' EXIT

# Ready = the engine finished replaying its storage and the forward port accepts connections.
for _ in $(seq 1 60); do
  if curl -fsS http://127.0.0.1:2020/readyz >/dev/null 2>&1; then break; fi
  if ! kill -0 "$aggregator_pid" 2>/dev/null; then
    echo "error: the aggregator exited; its log:" >&2; cat .tmp/aggregator.log >&2; exit 1
  fi
  sleep 0.5
done
curl -fsS http://127.0.0.1:2020/readyz >/dev/null || { echo "error: aggregator not ready after 30 s" >&2; cat .tmp/aggregator.log >&2; exit 1; }

mapfile -t files < <(find "$fixtures" -type f | sort)
echo "==> sending ${#files[@]} fixture files from $fixtures"
sent="$(node scripts/local/send-fixtures.js 127.0.0.1 24224 "${files[@]}")"
echo "    $sent records acknowledged"

# Acked means stored in the buffer; the file output flushes every second, so wait for the lines to appear.
landed=0
for _ in $(seq 1 60); do
  landed="$(cat "$out_dir"/* 2>/dev/null | wc -l)"
  [ "$landed" -ge "$sent" ] && break
  sleep 0.5
done

echo "==> $landed of $sent records landed in $repo_root/$out_dir:"
for f in "$out_dir"/*; do
  printf '    %s (%s lines)\n' "$f" "$(wc -l <"$f")"
done
echo "    aggregator log: .tmp/aggregator.log; metrics: curl http://127.0.0.1:2020/metrics"
[ "$landed" -ge "$sent" ] || { echo "error: records missing from the output" >&2; exit 1; }

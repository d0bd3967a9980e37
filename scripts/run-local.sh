#!/usr/bin/env bash
# Runs the gateway end to end on this machine, no AWS account or cluster needed: builds the shipper, the
# aggregator and the gRPC sample app, copies the fixture node tree (../shared/fixtures/node/var/log) to
# .tmp/node, and starts both programs on one Fluent Bit classic config (scripts/local/gateway.conf): the shipper
# tails the copied logs and forwards them with acks to the aggregator, which writes them to files under
# .tmp/out. Then the sample app (samples/Gateway.Sample) logs over gRPC: through the Gateway logging provider
# (gateway_grpc input, :24225) and the OpenTelemetry SDK's OTLP exporter (opentelemetry input, :4317). It waits
# until every expected record landed and prints where they are.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

fixtures="${GATEWAY_FIXTURES:-$repo_root/../shared/fixtures}/node/var/log"
config="scripts/local/gateway.conf"
out_dir=".tmp/out"
node_root=".tmp/node"
[ -d "$fixtures" ] || { echo "error: fixture logs not found at $fixtures (set GATEWAY_FIXTURES)" >&2; exit 1; }

echo "==> building the aggregator and the shipper (Release)"
dotnet build src/Aggregator/Gateway.Aggregator.csproj -c Release -nologo -v quiet -clp:ErrorsOnly -o .tmp/bin/aggregator
dotnet build src/Shipper/Gateway.Shipper.csproj -c Release -nologo -v quiet -clp:ErrorsOnly -o .tmp/bin/shipper
dotnet build samples/Gateway.Sample/Gateway.Sample.csproj -c Release -nologo -v quiet -clp:ErrorsOnly -o .tmp/bin/sample

rm -rf "$out_dir" .tmp/storage "$node_root"
mkdir -p "$out_dir" "$node_root/var"
cp -r "$fixtures" "$node_root/var/log"
chmod -R u+w "$node_root"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

wait_ready() { # name url pid log
  for _ in $(seq 1 120); do
    if curl -fsS "$2" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$3" 2>/dev/null; then echo "error: the $1 exited; its log:" >&2; cat "$4" >&2; exit 1; fi
    sleep 0.5
  done
  echo "error: the $1 is not ready after 60 s; its log:" >&2; cat "$4" >&2; exit 1
}

echo "==> starting the aggregator: -c $config (forward :24224, gateway_grpc :24225, OTLP/gRPC :4317, HTTP :2020; all 127.0.0.1)"
HTTP_PORT=2020 dotnet .tmp/bin/aggregator/Gateway.Aggregator.dll -c "$config" >.tmp/aggregator.log 2>&1 &
pids+=($!)
wait_ready aggregator http://127.0.0.1:2020/readyz "${pids[0]}" .tmp/aggregator.log

echo "==> starting the shipper: -c $config --aggregator 127.0.0.1:24224 (node root $node_root, HTTP on :2021)"
HTTP_PORT=2021 GATEWAY_PATH_ROOT="$node_root" NODE_NAME=local-node \
  dotnet .tmp/bin/shipper/Gateway.Shipper.dll -c "$config" --aggregator 127.0.0.1:24224 >.tmp/shipper.log 2>&1 &
pids+=($!)
wait_ready shipper http://127.0.0.1:2021/healthz "${pids[1]}" .tmp/shipper.log

echo "==> running the gRPC sample app: 5 log entries via AddGateway (gateway_grpc) and 5 via the OpenTelemetry SDK (OTLP/gRPC)"
dotnet .tmp/bin/sample/Gateway.Sample.dll --address http://127.0.0.1:24225 --otlp http://127.0.0.1:4317 --count 5 | sed 's/^/    /'

# 10 container records (aws-node's three CRI partial lines join into one), 2 dmesg, 5 syslog lines, and the
# sample's 5 + 5 gRPC records.
expected=27
landed=0
for _ in $(seq 1 120); do
  landed="$( (cat "$out_dir"/* 2>/dev/null || true) | wc -l)"
  [ "$landed" -ge "$expected" ] && break
  sleep 0.5
done

echo "==> $landed of $expected records landed in $repo_root/$out_dir:"
for f in "$out_dir"/*; do
  printf '    %s (%s lines)\n' "$f" "$(wc -l <"$f")"
done
echo "==> the gRPC sample's records (out_file format: tag: [time, record]):"
for tag in sample.app otel.sample; do
  [ -f "$out_dir/$tag" ] && head -n 1 "$out_dir/$tag" | cut -c1-300 | sed 's/^/    /'
done
echo "    logs: .tmp/aggregator.log .tmp/shipper.log; metrics: http://127.0.0.1:2020/metrics (aggregator), :2021/metrics (shipper)"
[ "$landed" -ge "$expected" ] || { echo "error: records missing from the output" >&2; exit 1; }

#!/usr/bin/env bash
# Runs the `dotnet publish` command of each Dockerfile (read from the Dockerfile itself, so the two cannot drift)
# with the output moved from /app to .tmp/publish/<image>, then starts the image's ENTRYPOINT from that output
# with --version. No Docker engine is needed: this is what CI runs in place of `docker build`.
# Usage: scripts/publish-images.sh [shipper|aggregator ...]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

images=("$@")
[ "${#images[@]}" -gt 0 ] || images=(shipper aggregator)

for image in "${images[@]}"; do
  dockerfile="Dockerfile.${image}"
  [ -f "$dockerfile" ] || { echo "error: $dockerfile not found" >&2; exit 1; }
  out="$repo_root/.tmp/publish/$image"
  rm -rf "$out"

  # The RUN line with `dotnet publish`, continuation lines joined, up to the first `&&`.
  publish="$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$dockerfile" | grep -o 'dotnet publish[^&]*' | head -n 1)"
  [ -n "$publish" ] || { echo "error: no 'dotnet publish' in $dockerfile" >&2; exit 1; }
  publish="${publish/ -o \/app / -o $out }"
  echo "==> $dockerfile: $publish"
  eval "$publish"

  # ENTRYPOINT ["a", "b"] → the published file the image would run: /app/X or the COPY destination of /app/X.
  entry="$(grep '^ENTRYPOINT' "$dockerfile" | tail -n 1 | sed -e 's/^ENTRYPOINT *\[//' -e 's/\]$//' -e 's/"//g' -e 's/, */ /g')"
  read -r -a argv <<<"$entry"
  if [ "${argv[0]}" = "dotnet" ]; then
    target="$out/${argv[1]#/app/}"
    run=(dotnet "$target")
  else
    source="$(grep '^COPY --from=build' "$dockerfile" | awk -v dest="${argv[0]}" '$4 == dest { print $3 }')"
    [ -n "$source" ] || { echo "error: ENTRYPOINT ${argv[0]} is not copied from the build stage" >&2; exit 1; }
    target="$out/${source#/app/}"
    run=("$target")
  fi
  [ -f "$target" ] || { echo "error: $dockerfile's ENTRYPOINT needs $target, which the publish did not produce" >&2; exit 1; }
  echo "==> $image entrypoint: ${run[*]} --version"
  "${run[@]}" --version
done

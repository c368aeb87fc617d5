#!/usr/bin/env bash
# Runs examples/hello end to end with its own state root: make the busybox
# image from Debian's busybox-static, load it, bring the stack up detached,
# show it working, then take it down again.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=bin/compose
export COMPOSE_ROOT="${COMPOSE_ROOT:-/var/lib/compose-demo}"
file=examples/hello/compose.yaml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go run -tags seccomp ./tools/busybox-image -o "$work/busybox.tar" -t busybox:latest
$bin image load -i "$work/busybox.tar"
$bin -f "$file" up -d
$bin -f "$file" ps
echo "--- waiting for the client to fetch http://web/ by name"
for _ in $(seq 1 100); do
	if $bin -f "$file" logs client | grep -q "hello from web"; then break; fi
	sleep 0.1
done
$bin -f "$file" logs --tail 3
$bin -f "$file" down

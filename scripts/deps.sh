#!/usr/bin/env bash
# Installs the Debian packages the build (cgo + libseccomp) and the tests
# (busybox-static for the test image, docker-registry for pushes and pulls,
# chromium to open `compose graph`'s SVG in a browser) need. Idempotent;
# quiet when all are there.
set -euo pipefail
need=()
for pkg in busybox-static libseccomp-dev pkg-config gcc docker-registry chromium; do
	dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

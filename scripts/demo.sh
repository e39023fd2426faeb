#!/usr/bin/env bash
# The quick-start demo, as root on a fresh Debian/Ubuntu machine: installs what kiln needs, makes
# the busybox base image from Debian's busybox-static, builds the demo Dockerfile (two stages,
# a cache mount, a heredoc, COPY --from) and runs the image it built.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export KILN_ROOT=${KILN_ROOT:-/var/lib/kiln}
kiln=(bin/kiln.js)
if ! "${kiln[@]}" inspect busybox:latest >/dev/null 2>&1; then
  KILN="${kiln[*]}" fixtures/make-busybox-image.sh "$KILN_ROOT" >/dev/null
fi
"${kiln[@]}" build -t kiln-demo:latest fixtures/dockerfiles/demo
"${kiln[@]}" run --rm kiln-demo:latest

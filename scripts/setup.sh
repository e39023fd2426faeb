#!/usr/bin/env bash
# Installs everything kiln and its tests need on a Debian/Ubuntu machine, as root:
# the Debian packages (runc, busybox-static, the registry, skopeo, umoci, uidmap, ...), the npm
# dependencies (native ones are compiled here), and the compiled CLI in dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

need_node() {
  echo "kiln needs Node.js 20.19 or later (22: 22.12 or later) with npm (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "Install it from your distribution or nodejs.org, then run this again." >&2
  exit 1
}
command -v node >/dev/null && command -v npm >/dev/null || need_node
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=12)||(a===20&&b>=19)?0:1)' || need_node

if [[ $(id -u) != 0 ]]; then
  echo "scripts/setup.sh installs Debian packages and runs containers: run it as root." >&2
  exit 1
fi

# bsdutils has script(1), which gives runc the terminal it relays for kiln serve's docker run -t.
pkgs=(runc busybox-static bsdutils docker-registry skopeo umoci zstd openssl apache2-utils python3 make g++ gcc libc6-dev uidmap)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
# kiln serve's end-to-end tests drive the stock docker CLI; only its client is used.
command -v docker >/dev/null || missing+=(docker.io)
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A clean install when the lock file changed since the last one (always on a fresh clone).
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build

#!/usr/bin/env bash
# kiln build on the shared benchmark scenarios (../shared/bench-scenarios), timed the way BuildKit
# was: whole-process wall time of `kiln build` (Node start included), median of N runs, peak RSS
# from /usr/bin/time. Cold scenarios build with --no-cache after removing the tag; warm ones prime
# once, then time rebuilds (S3 runs its mutate.sh before each).
#   bench/build/run.sh [-n RUNS] [S1 S2 ...]      (default: S1 S2 S3 S4 S5 S7, 5 runs)
# With DOCKER_HOST set and docker on PATH, BuildKit runs the same builds side by side.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
scen_dir=${SCEN_DIR:-$(cd "$repo/../shared/bench-scenarios" && pwd)}
export KB=${KB:-/tmp/kiln-bench}
runs=5
want=()
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) runs=$2; shift 2 ;;
    *) want+=("$1"); shift ;;
  esac
done
[[ ${#want[@]} -gt 0 ]] || want=(S1 S2 S3 S4 S5 S7)

declare -A buildkit=([S1]=0.22 [S2]=0.49 [S3]=1.10 [S4]=2.38 [S5]=2.47 [S7]=8.66)
declare -A target=([S1]=- [S2]=0.25 [S3]=0.5 [S4]=2.2 [S5]=1.2 [S7]=4)

# The benchmark runs the compiled CLI, as users do. tsc emits even when unrelated files have
# type errors, so a half-finished module elsewhere does not stop the bench.
(cd "$repo" && npx tsc -p tsconfig.json >/dev/null 2>&1 || true)
root=$KB/kiln-root
kiln=(node "$repo/bin/kiln.js" --root "$root")
if ! "${kiln[@]}" images 2>/dev/null | grep -q busybox; then
  for _ in 1 2 3; do KILN="node $repo/bin/kiln.js" "$repo/fixtures/make-busybox-image.sh" "$root" >/dev/null && break; done
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# time_build TOOL NOCACHE DOCKERFILE CONTEXT TAG -> "wall_s rss_kb"
time_build() {
  local tool=$1 nc=() ; [[ $2 == 1 ]] && nc=(--no-cache)
  local t0 t1
  t0=$(date +%s%N)
  if [[ $tool == kiln ]]; then
    /usr/bin/time -f '%M' -o "$tmp/rss" "${kiln[@]}" build --progress plain "${nc[@]}" -f "$3" -t "$5" "$4" >"$tmp/log" 2>&1
  else
    /usr/bin/time -f '%M' -o "$tmp/rss" docker build -q "${nc[@]}" -f "$3" -t "$5" "$4" >"$tmp/log" 2>&1
  fi || { echo "build failed:" >&2; tail -20 "$tmp/log" >&2; return 1; }
  t1=$(date +%s%N)
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}') $(tail -1 "$tmp/rss")"
}

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

bench() { # TOOL SCENARIO_DIR -> "median min max maxrss_mb"
  local tool=$1 sdir=$2 MODE=cold PREP="" s
  . "$sdir/scenario.conf"
  s=$(basename "$sdir")
  local tag="kb-$(echo "${s%%-*}" | tr 'A-Z' 'a-z'):$tool" ctx=$KB/ctx/$s df=$sdir/Dockerfile
  "$sdir/gen-context.sh" >/dev/null
  [[ $MODE == warm ]] && time_build "$tool" 0 "$df" "$ctx" "$tag" >/dev/null
  : > "$tmp/walls"; : > "$tmp/rsss"
  for _ in $(seq 1 "$runs"); do
    if [[ $MODE == cold ]]; then
      if [[ $tool == kiln ]]; then "${kiln[@]}" image rm "$tag" >/dev/null 2>&1 || true; else docker image rm "$tag" >/dev/null 2>&1 || true; fi
    fi
    [[ -n $PREP ]] && "$sdir/$PREP"
    read -r wall rss < <(time_build "$tool" "$([[ $MODE == cold ]] && echo 1 || echo 0)" "$df" "$ctx" "$tag")
    echo "$wall" >> "$tmp/walls"; echo "$rss" >> "$tmp/rsss"
  done
  echo "$(median < "$tmp/walls") $(sort -n "$tmp/walls" | head -1) $(sort -n "$tmp/walls" | tail -1) $(sort -n "$tmp/rsss" | tail -1 | awk '{printf "%.0f", $1/1024}')"
}

docker_too=0
[[ -n ${DOCKER_HOST:-} ]] && command -v docker >/dev/null && docker_too=1

echo "kiln build benchmarks: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $runs runs each, wall seconds (median, min-max), peak RSS"
printf '| scenario | kiln median (min-max) | kiln peak RSS | target | BuildKit (reference) |%s\n' "$([[ $docker_too == 1 ]] && echo ' BuildKit here |')"
printf '|---|---|---|---|---|%s\n' "$([[ $docker_too == 1 ]] && echo '---|')"
for w in "${want[@]}"; do
  sdir=$(ls -d "$scen_dir/$w"-*/ | head -1)
  read -r med lo hi rss < <(bench kiln "${sdir%/}")
  extra=""
  if [[ $docker_too == 1 ]]; then read -r dmed _ _ _ < <(bench docker "${sdir%/}"); extra=" $dmed |"; fi
  printf '| %s | %s (%s-%s) | %s MB | %s | %s |%s\n' "$(basename "$sdir")" "$med" "$lo" "$hi" "$rss" "${target[$w]}" "${buildkit[$w]}" "$extra"
done

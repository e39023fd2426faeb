#!/usr/bin/env bash
# kiln build on the shared benchmark scenarios (../shared/bench-scenarios), timed the way BuildKit
# was: whole-process wall time of `kiln build` (Node start included), median of N runs, peak RSS
# and CPU seconds (user+sys, runc and other children included) from /usr/bin/time. Cold scenarios
# build with --no-cache after removing the tag; warm ones prime once, then time rebuilds (S3 runs
# its mutate.sh before each).
#   bench/build/run.sh [-n RUNS] [-b BASE_REPO] [S1 S2 ...]   (default: S1 S2 S3 S4 S5 S7, 5 runs)
# -b runs a second kiln checkout (e.g. `git archive HEAD~3 | tar -x -C /tmp/base`, with a
# node_modules symlink) side by side, run for run in alternation, on a state root of its own, and
# adds its figures and the ratio: on a shared, loaded machine only such pairs compare.
# With DOCKER_HOST set and docker on PATH, BuildKit runs the same builds side by side.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
scen_dir=${SCEN_DIR:-$(cd "$repo/../shared/bench-scenarios" && pwd)}
export KB=${KB:-/tmp/kiln-bench}
runs=5
base=""
want=()
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) runs=$2; shift 2 ;;
    -b) base=$(cd "$2" && pwd); shift 2 ;;
    *) want+=("$1"); shift ;;
  esac
done
[[ ${#want[@]} -gt 0 ]] || want=(S1 S2 S3 S4 S5 S7)

declare -A buildkit=([S1]=0.22 [S2]=0.49 [S3]=1.10 [S4]=2.38 [S5]=2.47 [S6]=17.69 [S7]=8.66)
declare -A target=([S1]=- [S2]=0.25 [S3]=0.5 [S4]=2.2 [S5]=1.2 [S6]=- [S7]=4)

# The benchmark runs the compiled CLI as users do: bin/kiln.js as an executable, whose #! line
# gives Node kiln's flags. tsc emits even when unrelated files have type errors, so a
# half-finished module elsewhere does not stop the bench.
declare -A cli root
prepare() { # TOOL REPO ROOT
  (cd "$2" && { npx tsc -p tsconfig.json >/dev/null 2>&1 || true; if [[ -f dist/cli/bundle.js ]]; then node dist/cli/bundle.js >/dev/null; fi; })
  cli[$1]="$2/bin/kiln.js --root $3"
  root[$1]=$3
  if ! ${cli[$1]} images 2>/dev/null | grep -q busybox; then
    for _ in 1 2 3; do KILN="$2/bin/kiln.js" "$repo/fixtures/make-busybox-image.sh" "$3" >/dev/null && break; done
  fi
}
tools=(kiln)
prepare kiln "$repo" "$KB/kiln-root"
if [[ -n $base ]]; then tools+=(base); prepare base "$base" "$KB/kiln-base-root"; fi
[[ -n ${DOCKER_HOST:-} ]] && command -v docker >/dev/null && tools+=(docker)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# time_build TOOL NOCACHE DOCKERFILE CONTEXT TAG -> "wall_s rss_kb cpu_s"
time_build() {
  local tool=$1 nc=() ; [[ $2 == 1 ]] && nc=(--no-cache)
  local t0 t1 cmd
  if [[ $tool == docker ]]; then cmd=(docker build -q); else read -r -a cmd <<< "${cli[$tool]}"; cmd+=(build --progress plain); fi
  t0=$(date +%s%N)
  /usr/bin/time -f '%M %U %S' -o "$tmp/time" "${cmd[@]}" "${nc[@]}" -f "$3" -t "$5" "$4" >"$tmp/log" 2>&1 \
    || { echo "$tool build failed:" >&2; tail -20 "$tmp/log" >&2; return 1; }
  t1=$(date +%s%N)
  read -r rss u s < <(tail -1 "$tmp/time")
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}') $rss $(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u+s}')"
}

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

untag() { # TOOL TAG
  if [[ $1 == docker ]]; then docker image rm "$2" >/dev/null 2>&1 || true; else ${cli[$1]} image rm "$2" >/dev/null 2>&1 || true; fi
}

# bench SCENARIO_DIR: every tool once per run, in alternation; writes $tmp/<tool>.{walls,rsss,cpus}
bench() {
  local sdir=$1 MODE=cold PREP="" s t
  . "$sdir/scenario.conf"
  s=$(basename "$sdir")
  local ctx=$KB/ctx/$s df=$sdir/Dockerfile nc=0
  [[ $MODE == cold ]] && nc=1
  "$sdir/gen-context.sh" >/dev/null
  local name; name="kb-$(echo "${s%%-*}" | tr 'A-Z' 'a-z')"
  for t in "${tools[@]}"; do
    : > "$tmp/$t.walls"; : > "$tmp/$t.rsss"; : > "$tmp/$t.cpus"
    [[ $MODE == warm ]] && time_build "$t" 0 "$df" "$ctx" "$name:$t" >/dev/null
  done
  for _ in $(seq 1 "$runs"); do
    for t in "${tools[@]}"; do
      local tag=$name:$t
      [[ $MODE == cold ]] && untag "$t" "$tag"
      [[ -n $PREP ]] && "$sdir/$PREP"
      read -r wall rss cpu < <(time_build "$t" "$nc" "$df" "$ctx" "$tag")
      echo "$wall" >> "$tmp/$t.walls"; echo "$rss" >> "$tmp/$t.rsss"; echo "$cpu" >> "$tmp/$t.cpus"
    done
  done
}

stats() { # TOOL -> "median (min-max)" "cpu median" "peak rss MB"
  local t=$1
  echo "$(median < "$tmp/$t.walls") ($(sort -n "$tmp/$t.walls" | head -1)-$(sort -n "$tmp/$t.walls" | tail -1))|$(median < "$tmp/$t.cpus")|$(sort -n "$tmp/$t.rsss" | tail -1 | awk '{printf "%.0f", $1/1024}')"
}

echo "kiln build benchmarks: $(nproc) CPUs, load before $(cut -d' ' -f1-3 /proc/loadavg), $runs runs each, wall s median (min-max), CPU s (user+sys incl. children) median, peak RSS"
head='| scenario | kiln wall | kiln CPU | kiln RSS |'
rule='|---|---|---|---|'
if [[ -n $base ]]; then head+=' base wall | base CPU | wall ratio | CPU ratio |'; rule+='---|---|---|---|'; fi
[[ " ${tools[*]} " == *" docker "* ]] && { head+=' BuildKit here |'; rule+='---|'; }
echo "$head target | BuildKit (reference) |"
echo "$rule---|---|"
for w in "${want[@]}"; do
  sdir=$(ls -d "$scen_dir/$w"-*/ | head -1)
  bench "${sdir%/}"
  IFS='|' read -r kw kc kr < <(stats kiln)
  row="| $(basename "$sdir") | $kw | $kc | $kr MB |"
  if [[ -n $base ]]; then
    IFS='|' read -r bw bc _ < <(stats base)
    row+=" $bw | $bc | $(awk -v a="${kw%% *}" -v b="${bw%% *}" 'BEGIN{printf "%.2f", a/b}') | $(awk -v a="$kc" -v b="$bc" 'BEGIN{printf "%.2f", a/b}') |"
  fi
  [[ " ${tools[*]} " == *" docker "* ]] && { IFS='|' read -r dw _ _ < <(stats docker); row+=" ${dw%% *} |"; }
  echo "$row ${target[$w]} | ${buildkit[$w]} |"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

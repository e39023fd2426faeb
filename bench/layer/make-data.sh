#!/bin/sh
# The S6 big-layer data (../shared/bench-scenarios/S6-big-layer-export/make-data.sh): 64 files of
# 8 MiB, each 6 MiB of repeated text then 2 MiB from /dev/urandom (~25% incompressible).
set -e
dir=${1:?usage: make-data.sh DIR}
mkdir -p "$dir"
i=0
while [ $i -lt 64 ]; do
  f=$dir/blob$(printf %02d $i)
  { yes "kiln bench S6 line: the quick brown fox jumps over the lazy dog $i" | head -c 6291456
    head -c 2097152 /dev/urandom; } > "$f"
  i=$((i + 1))
done

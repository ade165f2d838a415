#!/bin/bash
# Instructions per record of counting kept records again (the page's filter
# changes), natively, serial, on one real-site file: cachegrind's count with
# LOGTALLY_REPEAT=3 less the one with =1, halved, per record (reading the file
# and keeping its records cancel out). Needs valgrind and the example:
#   cargo build --release -p logtally-core --features rayon --example retally_time
#   bash bench/recount_instructions.sh [BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-target/release/examples/retally_time}
file=target/bench/corpus-visitors/site-0.log.gz
out=$(mktemp -d)
for repeat in 1 3; do
  GLIBC_TUNABLES=glibc.malloc.hugetlb=0 RAYON_NUM_THREADS=1 LOGTALLY_REPEAT=$repeat \
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
    "$binary" 'status>=400' "$file" 2>&1 | grep "I *refs" | tr -d , | awk '{print $NF}' >"$out/$repeat" &
done
wait
records=$(RAYON_NUM_THREADS=1 "$binary" 'status>=400' "$file" | awk '/^\[\]/ {print $(NF-1)}')
echo "instructions per record: $(( ($(cat "$out/3") - $(cat "$out/1")) / 2 / records ))"
rm -r "$out"

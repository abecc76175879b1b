#!/bin/bash
# After run_more.sh: the seed's own scale for the names in bare Keras (10 epochs, every
# training name), again with a longer limit: run_first.sh's 150 s stopped it (logs/bare_names_full.txt).
#
#   nohup bash docs/reproduction/run_first_more2.sh > docs/reproduction/logs/first/run_more2.log 2>&1 &

set -u
cd "$(dirname "$0")/../.."
while pgrep -f "bash docs/reproduction/run_(all|more)\.sh" > /dev/null; do sleep 10; done
eval "$(sed -n '/^set -u/,/^echo "$(date -u +%T) queue start/p' docs/reproduction/run_first.sh | sed '$d')"
echo "$(date -u +%T) queue start; load: $(cat /proc/loadavg)"

run bare_names_full_10_epochs 420 "$BIN/python" benchmarks/bare_names.py --seeds 1 --curve

echo "$(date -u +%T) queue end; load: $(cat /proc/loadavg)"

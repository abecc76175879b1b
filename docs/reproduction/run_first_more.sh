#!/bin/bash
# The runs added after run_first.sh had started (it cannot be edited while bash reads it):
# waits for run_first.sh to end, then runs with the same helpers and DEADLINE.
#
#   nohup bash docs/reproduction/run_first_more.sh > docs/reproduction/logs/first/run_more.log 2>&1 &

set -u
cd "$(dirname "$0")/../.."
while pgrep -f "bash docs/reproduction/run_first.sh" > /dev/null; do sleep 10; done
# the helpers run() and study() of run_first.sh, without its queue
eval "$(sed -n '/^set -u/,/^echo "$(date -u +%T) queue start/p' docs/reproduction/run_first.sh | sed '$d')"
echo "$(date -u +%T) queue start; load: $(cat /proc/loadavg)"

# seed 001: a fifth of the windows, 8 epochs (see the variant's docstring)
study poems_next_word_short 480 $D/repro_poems_next_word.py --repeats 3 --epochs 8 --subset 2000

echo "$(date -u +%T) queue end; load: $(cat /proc/loadavg)"

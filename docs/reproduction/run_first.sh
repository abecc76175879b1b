#!/bin/bash
# The first, shorter queue of docs/REPRODUCTION.md (the session before run_all.sh), one after
# another, on one worker, on a machine shared with the test suite. Its logs are in logs/first/.
# Five of its studies were run again by run_all.sh at the issue's scale; their figures in
# docs/reproduction/<study>/ are run_all.sh's now (git history has this queue's).
#
#   export PYTHONPATH=$PWD
#   nohup bash docs/reproduction/run_first.sh > docs/reproduction/logs/first/run_all.log 2>&1 &
#
# Each study's full output goes to docs/reproduction/logs/first/<study>.txt, with its wall time
# (/usr/bin/time) at the end; then `rnnstudy report` writes its table and figures to
# docs/reproduction/<study>/ and prints the table to logs/<study>-report.txt. Each step has a
# time limit (SIGINT: a study stops as on Ctrl-C, its finished trials kept), and no step starts
# that could not end before DEADLINE, so the whole queue ends in the time this session had.
# NAMES_DIR holds the PyTorch tutorial's data/names/*.txt (not in this repository; see the doc).

set -u
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD"
BIN=${BIN:-/work/main/.venv/bin}
DEADLINE=${DEADLINE:-"12:00"}
NAMES_DIR=${NAMES_DIR:-/tmp/tutorial_names}
LOGS=docs/reproduction/logs/first
S=studies
D=docs/reproduction/studies
mkdir -p "$LOGS"

# run NAME LIMIT_S COMMAND...: the command's output to logs/NAME.txt, under min(LIMIT_S, time left)
run() {
    local name=$1 limit=$2
    shift 2
    local left=$(($(date -u -d "$DEADLINE" +%s) - $(date -u +%s) - 30))
    if ((left < 60)); then
        echo "$(date -u +%T) SKIPPED $name: the deadline $DEADLINE UTC is too close"
        return
    fi
    ((limit > left)) && limit=$left
    echo "$(date -u +%T) start $name (limit ${limit}s): $*"
    {
        echo "\$ $*"
        /usr/bin/time -f "wall time: %e s (user %U s, system %S s)" \
            timeout -s INT -k 60 "$limit" "$@"
        echo "exit status: $?"
    } > "$LOGS/$name.txt" 2>&1
    echo "$(date -u +%T) end $name: $(grep -a 'wall time' "$LOGS/$name.txt" | tail -1)"
}

# study NAME LIMIT_S FILE ARGS...: rnnstudy optimize, then its report and figures
study() {
    local name=$1 limit=$2 file=$3
    shift 3
    run "$name" "$limit" "$BIN/rnnstudy" optimize "$file" --workers 1 "$@"
    "$BIN/rnnstudy" report "$file" --out "docs/reproduction/$name" > "$LOGS/$name-report.txt" 2>&1
    "$BIN/rnnstudy" report "$file" --out "docs/reproduction/$name" --format markdown \
        > "$LOGS/$name-report.md" 2>&1
}

echo "$(date -u +%T) queue start; load: $(cat /proc/loadavg)"

# seed 002 Problem 1, and its bare Keras check (GRU-20 at the same scale)
study char_prediction 540 $S/char_prediction.py --repeats 3 --epochs 4 --set train_samples=6000
run bare_char_prediction 180 "$BIN/python" benchmarks/bare_char_prediction.py \
    --cell gru --sequence-length 20 --epochs 4 --train-samples 6000 --seeds 3

# seed 004 Task 1, and the bare check: Faker's names, then the tutorial's, at the same scale
study names_lstm 600 $S/names_lstm.py --repeats 3 --epochs 4 --set train_samples=2500
run bare_names 150 "$BIN/python" benchmarks/bare_names.py --epochs 4 --train-samples 2500 --seeds 3
run bare_names_tutorial 150 "$BIN/python" benchmarks/bare_names.py --epochs 4 --train-samples 2500 \
    --seeds 3 --data tutorial --data-dir "$NAMES_DIR" --keep-duplicates
run bare_names_tutorial_unique 150 "$BIN/python" benchmarks/bare_names.py --epochs 4 \
    --train-samples 2500 --seeds 3 --data tutorial --data-dir "$NAMES_DIR"

# seed 000
study glove_vs_scratch 660 $D/repro_glove_vs_scratch.py

# seed 001
study poems_next_word 360 $S/poems_next_word.py --repeats 3 --epochs 15

# seed 003 A Q2, B Q6, B Q1-Q4
study fashion_channels 420 $D/repro_fashion_channels.py --epochs 4 --subset 2000
study text_rnn_variants 600 $S/text_rnn_variants.py --repeats 3 --epochs 5
study text_classification 420 $D/repro_text_classification.py --repeats 3 --epochs 10

# seed 004 Task 2, and the seed's scale (10 epochs, every training name) in bare Keras
study names_batch_size 360 $S/names_batch_size.py --repeats 3 --epochs 4 --set train_samples=2500
run bare_names_full 150 "$BIN/python" benchmarks/bare_names.py --seeds 1
run bare_names_tutorial_full 300 "$BIN/python" benchmarks/bare_names.py --seeds 1 \
    --data tutorial --data-dir "$NAMES_DIR" --keep-duplicates

# seed 002 Problem 2, seed 003 A Q3
study shakespeare 420 $D/repro_shakespeare.py --repeats 3 --epochs 3 --set stride=160
study fashion_optimizers 420 $D/repro_fashion_optimizers.py --repeats 3 --epochs 8 --subset 1500

echo "$(date -u +%T) queue end; load: $(cat /proc/loadavg)"

#!/bin/bash
# cli.sh SYMBENCH FIXTURES: end-to-end tests of `symbench run` and `symbench eval`.
#
# Every kind of bad input gets its exact one-line "file:line:col: message" on stderr and exit
# status 1 (usage errors: 2); the success paths get exit 0 and their printed values. The fixtures
# are copied to a temporary directory and run from there, so messages name relative paths and
# nothing is written into the source tree.
set -u
SB=$(realpath "$1")
FIX=$(realpath "$2")
TMP=$(mktemp -d /tmp/sb_cli_XXXXXX)
trap 'rm -rf "$TMP"' EXIT
cp -r "$FIX"/. "$TMP"/
cd "$TMP" || exit 1
fails=0
count=0

# expect STATUS STDERR -- ARGS...: run symbench ARGS, compare the exit status and all of stderr
# (STDERR may hold a glob '*' where the text lists things other modules add to, e.g. passes).
expect() {
    local status=$1 want=$2
    shift 3
    count=$((count + 1))
    local got rc
    got=$("$SB" "$@" 2>&1 >/dev/null)
    rc=$?
    # shellcheck disable=SC2053
    if [[ $rc != "$status" || ( "$got" != "$want" && "$got" != $want ) ]]; then
        echo "FAIL: symbench $*"
        echo "  status $rc, expected $status"
        echo "  stderr: $got"
        echo "  wanted: $want"
        fails=$((fails + 1))
    fi
}

# expect_out STDOUT -- ARGS...: exit 0, empty stderr, exactly this stdout.
expect_out() {
    local want=$1
    shift 2
    count=$((count + 1))
    local out err rc
    out=$("$SB" "$@" 2>"$TMP/stderr")
    rc=$?
    err=$(cat "$TMP/stderr")
    if [[ $rc != 0 || -n "$err" || "$out" != "$want" ]]; then
        echo "FAIL: symbench $*"
        echo "  status $rc, stderr: $err"
        echo "  stdout: $out"
        echo "  wanted: $want"
        fails=$((fails + 1))
    fi
}

# ---- pipelines: JSON and keys ------------------------------------------------------------
expect 1 "malformed.pipeline.json:3:25: malformed JSON: expected a key after ',', found '}'" \
    -- run malformed.pipeline.json
expect 1 "unknown_key.pipeline.json:4:3: unknown key 'trian' in pipeline" \
    -- run unknown_key.pipeline.json
expect 1 "wrong_type.pipeline.json:3:11: 'data' must be an object" -- run wrong_type.pipeline.json
# cuda: without CUDA in the build, or without a device, one error at the "backend" value
count=$((count + 1))
got=$("$SB" run --quiet cuda.pipeline.json 2>&1 >/dev/null)
rc=$?
if [[ $rc != 0 && "$got" != "cuda.pipeline.json:4:14: backend 'cuda' is not available in this build" &&
      "$got" != "cuda.pipeline.json:4:14: backend 'cuda': "* ]]; then
    echo "FAIL: symbench run cuda.pipeline.json (status $rc): $got"
    fails=$((fails + 1))
fi
expect 1 "unknown_pass.pipeline.json:4:23: unknown pass 'no_such_pass' (known: *)" \
    -- run unknown_pass.pipeline.json
expect 1 "no_data.pipeline.json:3:11: no data for shared variable 'w'" -- run no_data.pipeline.json
expect 1 "nope.pipeline.json: cannot open: No such file or directory" -- run nope.pipeline.json

# ---- files ---------------------------------------------------------------------------------
expect 1 "missing_graph.pipeline.json:2:12: no_such.graph.json: cannot open: No such file or directory" \
    -- run missing_graph.pipeline.json
expect 1 "missing_data.pipeline.json:3:17: no_such.npy: cannot open: No such file or directory" \
    -- run missing_data.pipeline.json
expect 1 "bad_npy.pipeline.json:3:17: bad.npy: bad .npy file: wrong magic (not a .npy file)" \
    -- run bad_npy.pipeline.json
expect 1 "data_shape.pipeline.json:3:17: x: data of shape (3, 4) does not match declared float64[2, 3] (dim 0 is 3, not 2)" \
    -- run data_shape.pipeline.json

# ---- graphs --------------------------------------------------------------------------------
expect 1 "graph_wrong_type.graph.json:2:13: 'inputs' must be an object" \
    -- run graph_wrong_type.pipeline.json
expect 1 "bad_type.graph.json:2:33: expected ',' or ']' in type 'float32[?, 78a]'" \
    -- run bad_type.pipeline.json
expect 1 "syntax.graph.json:3:31: unexpected '*'" -- run syntax.pipeline.json
expect 1 "unknown_fn.graph.json:3:25: unknown function 'frobnicate'" -- run unknown_fn.pipeline.json
expect 1 "arity.graph.json:3:21: exp takes 1 positional argument, got 2" -- run arity.pipeline.json
expect 1 "shape.graph.json:3:23: matmul: inner dimensions 4 and 5 differ (float32[3, 4] @ float32[5, 2])" \
    -- run shape.pipeline.json
expect 1 "dtype.graph.json:3:25: indices must be integers (or bool arrays), got float32" \
    -- run dtype.pipeline.json
expect 1 "unknown_op.graph.json:4:21: unknown op 'frobnicate'" -- run unknown_op.pipeline.json
expect 1 "unknown_id.graph.json:4:42: unknown node id 5" -- run unknown_id.pipeline.json
expect 1 "update.graph.json:4:15: update of 'x', which is not a shared variable" \
    -- run update.pipeline.json

expect 1 "inline_error.pipeline.json:4:35: axis 2 is out of range for 2 dimensions" \
    -- run inline_error.pipeline.json

# shared variables with an initial value in the graph (paths relative to the graph file; the
# pipeline's data wins; errors point into the graph file)
expect_out "y: float64[] = 53" -- run --quiet graph_init.pipeline.json
expect_out "y: float64[] = 50" -- run --quiet graph_init_override.pipeline.json
expect 1 "sub/missing_init.graph.json:3:19: sub/missing.npy: cannot open: No such file or directory" \
    -- run graph_init_missing.pipeline.json
expect 1 "sub/bad_init.graph.json:4:55: unknown key 'colour' in a shared variable" \
    -- run graph_init_bad.pipeline.json

# ---- usage ---------------------------------------------------------------------------------
expect 2 "$("$SB" run --help)" -- run
expect 2 "symbench run: unexpected argument '--bogus'
$("$SB" run --help)" -- run --bogus ok.pipeline.json
expect 0 "" -- run --help
expect 2 "symbench bench: --omp-wait must be spin, passive or active, not 'bogus'" -- bench --omp-wait bogus
expect 2 "symbench bench: --rounds must be 1 to 100, not '0'" -- bench --rounds 0
expect 2 "symbench bench: --rounds must be 1 to 100, not 'x'" -- bench --rounds x
expect 0 "" -- eval --help
expect 2 "$("$SB" eval --help)" -- eval

# ---- the process environment (tools/procenv.c) -----------------------------------------------
# `symbench bench --help` runs after the re-execution: the waiting it reports is what was chosen.
# An environment that names a policy keeps it; without one, spin or passive by the load average.
count=$((count + 1))
w=$(OMP_WAIT_POLICY=active "$SB" bench --only none --no-peers 2>&1 | head -1)
[[ $w == *"OpenMP waiting: active,"* ]] || { echo "FAIL: OMP_WAIT_POLICY=active not kept: $w"; fails=$((fails + 1)); }
count=$((count + 1))
w=$(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$SB" bench --only none --no-peers 2>&1 | head -1)
[[ $w == *"OpenMP waiting: spin 10000 then sleep,"* || $w == *"OpenMP waiting: passive,"* ]] ||
    { echo "FAIL: no waiting policy chosen: $w"; fails=$((fails + 1)); }
count=$((count + 1))
w=$(env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=77 "$SB" bench --only none --no-peers 2>&1 | head -1)
[[ $w == *"OpenMP waiting: spin 77 then sleep,"* ]] || { echo "FAIL: GOMP_SPINCOUNT not kept: $w"; fails=$((fails + 1)); }

# ---- success -------------------------------------------------------------------------------
expect_out "y: float64[2] = [12, 30]
m: float64[3] = [4, 5, 6]
saved y -> out/ok_y.npy" -- run --quiet ok.pipeline.json
[[ -s out/ok_y.npy ]] || { echo "FAIL: out/ok_y.npy was not written"; fails=$((fails + 1)); }
expect 0 "" -- run --quiet notes.pipeline.json   # every key is acted on now: no notes
# training (core/train.c): the loop saves, the run writes the report of its stages
count=$((count + 1))
out=$("$SB" run --quiet train.pipeline.json 2>"$TMP/stderr")
rc=$?
if [[ $rc != 0 || "$out" != *"saved w -> out/train/w.npy"* || ! -s out/train/report.html ||
      ! -s out/train/metrics.jsonl ]]; then
    echo "FAIL: symbench run --quiet train.pipeline.json (status $rc)"
    echo "  stdout: $out"
    echo "  stderr: $(cat "$TMP/stderr")"
    fails=$((fails + 1))
fi
# one evaluation = one call of a Theano function: outputs from the old values, then the updates
# (W <- W - 1, c <- sum(old W) = 6); save writes the updated shared variables
expect_out "total: float64[] = 9
y: float64[2] = [4.5, 4.5]
updated W, c
saved W -> out/eval_W.npy
saved c -> out/eval_c.npy
saved total -> out/eval_total.npy" -- run --quiet eval_update.pipeline.json
count=$((count + 1))
if [[ -x /usr/bin/python3 ]] && ! /usr/bin/python3 -c '
import numpy as np
W, c, t = np.load("out/eval_W.npy"), np.load("out/eval_c.npy"), np.load("out/eval_total.npy")
W0 = np.full((2, 2), 1.5)
assert W.dtype == np.float64 and W.shape == (2, 2) and (W == W0 - 1).all(), W
assert c.shape == () and c == W0.sum(), c
assert t == W0.sum() + 3, t'; then
    echo "FAIL: the saved values of eval_update.pipeline.json differ from NumPy's"
    fails=$((fails + 1))
fi
expect 1 "resume_no_checkpoint.pipeline.json:4:35: 'resume' needs a 'checkpoint' (the directory a run resumes from)" \
    -- run resume_no_checkpoint.pipeline.json
expect 1 "loss_unknown.pipeline.json:4:33: train.loss: 'mse' is not an output of the graph" \
    -- run loss_unknown.pipeline.json
expect_out "y: float64[2] = [6, 15]
m: float64[3] = [4, 5, 6]
report -> out/report.html" -- run --quiet viz.pipeline.json
for f in out/stages/00-input.dot out/stages/02-dce.dot out/trace.jsonl out/report.html; do
    [[ -s $f ]] || { echo "FAIL: $f was not written"; fails=$((fails + 1)); }
done
[[ ! -e out/stages/01-merge.dot ]] || { echo "FAIL: stage 1 drawn though not asked for"; fails=$((fails + 1)); }
grep -q '"name":"dce"' out/trace.jsonl || { echo "FAIL: no dce record in the trace"; fails=$((fails + 1)); }
expect 1 "viz_format.pipeline.json:4:21: 'format' must be \"svg\", \"png\", \"dot\" or \"pdf\"" \
    -- run viz_format.pipeline.json

# ---- eval ----------------------------------------------------------------------------------
expect_out "12" -- eval --var 'x=float64[3]=[1, 2, 3]' 'sum(x * 2)'
expect_out "[[1, 2],
 [3, 4]]" -- eval --var 'x=int64[?, 2]=[[1, 2], [3, 4]]' 'x'
expect_out "[2, 2]" -- eval --var 'x=float64[2]' 'grad(sum(x ** 2), x) / x'
expect_out "-3" -- eval -- '-(1 + 2)'
expect 1 "<expr>:1:4: expected an expression" -- eval 'x +'
expect 1 "<expr>:1:1: unknown name 'zz'" -- eval 'zz + 1'
expect 1 "--var: x=floot[3]: unknown dtype 'floot' (expected float32, float64, int32, int64, uint8 or bool)" \
    -- eval --var 'x=floot[3]' 'x'

echo "$((count - fails)) of $count CLI checks passed"
[[ $fails == 0 ]]

#!/bin/bash
# profile.sh SYMBENCH SOURCE_ROOT: end-to-end tests of `symbench run --profile` and of the
# compiled plan drawn as a stage (`symbench run` NN-plan, `symbench viz --stage plan`, the
# fuse / inplace trace records).
#
# - the table on stderr names every op of examples/tiny.pipeline.json's optimized graph and its
#   rows add up to the total within rounding; --profile=FILE.json holds the same numbers; the
#   HTML report gets a profile section and the plan stage;
# - a training run profiles its steps (one run per step);
# - a pipeline with a known fusion (tanh(x * y + z) * 3: one group of 4 ops) and an SGD update
#   that the plan writes in place: the trace's {"type": "plan"} records count them, and the plan
#   drawing has one cluster of 4 nodes and a "destroyed" edge per in-place write.
set -u
SB=$(realpath "$1")
ROOT=$(realpath "$2")
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
TMP=$(mktemp -d /tmp/sb_profile_XXXXXX)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
cp "$ROOT/examples/tiny.pipeline.json" .
cp "$ROOT/tests/tools/fixtures/train.pipeline.json" "$ROOT/tests/tools/fixtures/linreg.graph.json" \
   "$ROOT/tests/tools/fixtures/train_x.npy" "$ROOT/tests/tools/fixtures/train_y.npy" .
fails=0
count=0

fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

check() { # check DESCRIPTION COMMAND...: the command must succeed
    count=$((count + 1))
    local what=$1
    shift
    "$@" || fail "$what"
}

# ---- the table --------------------------------------------------------------------------------
"$SB" run --quiet --profile tiny.pipeline.json >out.txt 2>err.txt
check "run --profile exits 0" test $? = 0
check "the outputs are still printed" grep -q '^total: float64\[\] = ' out.txt
check "the table is on stderr" grep -q '^per op type:' err.txt
check "one run" grep -q '^profile: 1 run, ' err.txt
# op rows: from the header after "per op type:" to the "total" row
awk '/^per op type:/{on=1; next} on && /time \(ms\)/{next} on && / total$/{exit} on{print}' err.txt >rows.txt
total=$(awk '/^per op type:/{on=1} on && / total$/{print $1; exit}' err.txt)
nrows=$(wc -l <rows.txt)
check "some op rows" test "$nrows" -ge 4
# every op of the optimized graph appears: as a row of its own or inside a fused group's label
for op in 'matmul|gemv' add sigmoid softplus sum argmax; do # (a matrix-vector product: a gemv step)
    check "the table names $op" grep -Eq "( |[{,])($op)([},]|$)" rows.txt
done
check "rows add up to the total ($total) within rounding" \
    awk -v t="$total" -v n="$nrows" '{s += $1} END {d = s - t; if (d < 0) d = -d; exit !(d <= 0.0005 * n + 1e-9)}' rows.txt
check "percentages add up to 100" \
    awk '{s += $2} END {d = s - 100; if (d < 0) d = -d; exit !(d <= 0.05 * NR + 1e-9)}' rows.txt
check "a memory line" grep -Eq '^memory: [0-9]+ allocations? by steps, .*; peak pool ' err.txt
check "the report has a profile section" grep -q '<h2 id="profile">Profile</h2>' out/tiny_report.html
check "the report's profile names matmul" grep -Eq '<td>(matmul|gemv)</td>' out/tiny_report.html
check "the report has the plan stage" grep -q '<a href="#stage[0-9]*">plan</a>' out/tiny_report.html
check "the plan is drawn as the last stage" test -s out/tiny_stages/04-plan.svg

# ---- JSON -------------------------------------------------------------------------------------
"$SB" run --quiet --profile=prof/tiny.json tiny.pipeline.json >out.txt 2>err.txt
check "run --profile=FILE exits 0" test $? = 0
check "no table on stderr with a file" test ! -s err.txt
check "the file is announced" grep -q '^profile -> prof/tiny.json$' out.txt
check "the JSON's rows add up to its total" "$PY" - prof/tiny.json <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
ops = [o["op"] for o in p["ops"]]
assert p["runs"] == 1 and p["steps"] == sum(o["calls"] for o in p["ops"]), p
assert abs(sum(o["seconds"] for o in p["ops"]) - p["step_seconds"]) < 1e-9, p
assert abs(sum(o["percent"] for o in p["ops"]) - 100) < 1e-6, p
assert ("matmul" in ops or "gemv" in ops) and any("softplus" in o for o in ops), ops
assert p["memory"]["peak_pool_bytes"] >= 0 and len(p["nodes"]) == p["steps"], p
EOF
"$SB" run --profile=tiny.pipeline.json/x.json tiny.pipeline.json >/dev/null 2>err.txt
check "an unwritable profile file is an error" test $? = 1
check "... naming the file" grep -q '^tiny.pipeline.json/x.json: cannot ' err.txt

# ---- training ---------------------------------------------------------------------------------
"$SB" run --quiet --profile train.pipeline.json >out.txt 2>err.txt
check "a training run profiles" test $? = 0
check "one run per step (and evaluations)" grep -Eq '^profile: (2[0-9][0-9]) runs' err.txt
check "the training step's ops" grep -q 'gemm\|matmul' err.txt
check "the training report has the section" grep -q '<h2 id="profile">Profile</h2>' out/train/report.html

# ---- the plan: fuse / inplace records, drawings ------------------------------------------------
cat >fuse.pipeline.json <<'EOF'
{
  "graph": {
    "inputs": {"x": "float32[8, 16]", "y": "float32[8, 16]", "z": "float32[8, 16]", "t": "float32[8, 4]"},
    "shared": {"W": "float32[16, 4]"},
    "let": {"r": "x @ W - t"},
    "outputs": {"f": "tanh(x * y + z) * 3", "loss": "sum(r * r)"},
    "updates": {"W": "W - 0.5 * (x.T @ r)"}
  },
  "data": {"x": {"random": "normal", "seed": 1}, "y": {"random": "normal", "seed": 2},
           "z": {"random": "normal", "seed": 3}, "t": {"random": "normal", "seed": 4},
           "W": {"init": "normal", "std": 0.1, "seed": 5}},
  "passes": ["merge", "fuse", "inplace"],
  "viz": {"dir": "out/fuse", "format": "dot", "stages": ["plan"]},
  "trace": "out/fuse.jsonl"
}
EOF
"$SB" run --quiet --profile fuse.pipeline.json >out.txt 2>err.txt
check "the fuse pipeline runs" test $? = 0
check "the fuse record counts the group" "$PY" - out/fuse.jsonl <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
plan = {r["pass"]: r for r in recs if r["type"] == "plan"}
assert set(plan) == {"fuse", "inplace"}, recs
for r in plan.values():
    assert r["backend"] == "cpu" and r["described"], r
    assert r["fused_groups"] >= 2 and r["fused_nodes"] >= 4, r   # tanh group, r * r + sum
    # x @ W - t, the update; r = x @ W - t written over the product (destroy/alias analysis)
    assert r["gemms"] == 2 and r["inplace_steps"] == 2, r
passes = [r["name"] for r in recs if r["type"] == "pass"]
assert passes == ["merge", "fuse", "inplace"], passes
EOF
check "the plan stage is drawn, no pass stage" test "$(ls out/fuse | tr '\n' ' ')" = "00-input.dot 04-plan.dot "
check "the fused group of 4 ops" "$PY" - out/fuse/04-plan.dot <<'EOF'
import re, sys
dot = open(sys.argv[1]).read()
blocks = re.findall(r"subgraph (cluster_k\d+) \{(.*?)\n\t\}", dot, re.S)
sizes = {name: len(re.findall(r"^\t\tn\d+\t", body, re.M)) for name, body in blocks}
labels = [re.findall(r"label=(\w+),", body) for _, body in blocks]
assert any(sorted(l) == ["add", "mul", "mul", "tanh"] for l in labels), (sizes, labels)
assert all(n >= 2 for n in sizes.values()), sizes
assert dot.count("destroyed") == 2, "two in-place writes (the update, r over x @ W)"
EOF
"$SB" viz --stage plan fuse.pipeline.json >viz.dot 2>err.txt
check "viz --stage plan" test $? = 0
check "viz --stage plan draws the clusters" grep -q 'subgraph cluster_k' viz.dot
check "viz --stage plan's title" grep -q 'stage 4: plan (' viz.dot
"$SB" viz --stage all --format dot -o vizall fuse.pipeline.json >out.txt 2>err.txt
check "viz --stage all" test $? = 0
check "viz --stage all ends with the plan" test "$(tail -1 out.txt)" = "stage 4 plan         -> vizall/04-plan.dot"
check "... with its clusters" grep -q 'subgraph cluster_k' vizall/04-plan.dot

echo "$((count - fails)) of $count profile/plan checks passed"
[[ $fails == 0 ]]

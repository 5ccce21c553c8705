#!/bin/bash
# quickstart.sh SYMBENCH SOURCE_ROOT: the README's main job, end to end. Runs
# examples/quickstart.pipeline.json (from a copy, so nothing is written into the source tree):
# one epoch of the Fashion-MNIST MLP must reach at least 0.80 test accuracy, every optimizer
# stage and the compiled plan must be drawn as PNG files, and the trace, metrics, report and
# saved weights must be written. Skips (77) when the dataset package is not installed.
set -u
SB=$(realpath "$1")
ROOT=$(realpath "$2")
[[ -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]] || {
    echo "dataset-fashion-mnist is not installed: skipped"; exit 77; }
TMP=$(mktemp -d /tmp/sb_quickstart_XXXXXX)
trap 'rm -rf "$TMP"' EXIT
cp "$ROOT"/examples/quickstart.pipeline.json "$ROOT"/examples/fmnist_mlp.graph.json "$TMP"/
cd "$TMP" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

out=$("$SB" run -q quickstart.pipeline.json 2>&1) || { echo "$out"; fail "symbench run exited $?"; }
acc=$(sed -n 's/^eval step 938 (final):  accuracy \([0-9.]*\) .*/\1/p' <<<"$out")
[[ -n "$acc" ]] || fail "no final evaluation line in: $out"
[[ -n "$acc" ]] && awk -v a="$acc" 'BEGIN { exit !(a >= 0.80) }' || fail "test accuracy $acc < 0.80"
for f in 00-input 01-constant_fold 02-saturate 03-dce 04-plan; do
    p=out/quickstart/stages/$f.png
    [[ "$(head -c 8 "$p" 2>/dev/null | od -An -tx1 | tr -d ' \n')" == 89504e470d0a1a0a ]] ||
        fail "$p is not a PNG file"
done
grep -q "\"type\":\"rewrite\"" out/quickstart/trace.jsonl || fail "no rule firing (rewrite record) in the trace"
[[ $(wc -l <out/quickstart/metrics.jsonl) -ge 10 ]] || fail "fewer than 10 metrics records"
grep -q '<svg' out/quickstart/report.html || fail "the report has no drawing"
for w in W1 b1 W2 b2 accuracy; do
    [[ "$(head -c 6 out/quickstart/$w.npy | tail -c 5)" == NUMPY ]] || fail "$w.npy is not a .npy file"
done
echo "quickstart: test accuracy $acc, $fails failures"
[[ $fails == 0 ]]

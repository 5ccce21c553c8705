#!/bin/bash
# gradcheck.sh SYMBENCH: end-to-end tests of `symbench gradcheck` (core/gradcheck.c through
# tools/cmd_gradcheck.c): a correct graph passes (exit 0, one "ok" row per float variable), a
# graph whose symbolic gradient is wrong for x fails (exit 1, its row FAILED, the message names
# x), and bad uses get exit 1 (or 2 for usage) with one clear message.
set -u
SB=$(realpath "$1")
TMP=$(mktemp -d /tmp/sb_gradcheck_XXXXXX)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
fails=0

check() { # check NAME CONDITION...
    local name=$1
    shift
    if ! "$@"; then
        echo "FAIL: $name"
        fails=$((fails + 1))
    fi
}

cat > logreg.graph.json <<'JSON'
{
  "inputs":  {"x": "float32[?, 20]", "y": "int64[?]"},
  "shared":  {"W": "float32[20, 4]", "b": "float32[4]"},
  "let":     {"p": "softmax(x @ W + b)"},
  "outputs": {"cost": "mean(-log(p[arange(shape(y)[0]), y]))", "pred": "argmax(p, axis=1)",
              "hv": "Rop(grad(cost, b), b, b)"},
  "updates": {"W": "W - 0.1 * grad(cost, W)", "b": "b - 0.1 * grad(cost, b)"}
}
JSON
cat > floor.graph.json <<'JSON'
{"inputs": {"x": "float64[4]", "y": "float64[?, 4]"},
 "outputs": {"c": "sum(floor(x * 1000) / 1000) + sum(y * x)"}}
JSON

out=$("$SB" gradcheck logreg.graph.json --seed 3 2>err.txt); rc=$?
check "logreg passes" test $rc = 0
check "logreg: a row per float variable" test "$(grep -c ' ok$' <<<"$out")" = 3
check "logreg: no stderr" test ! -s err.txt
out=$("$SB" gradcheck logreg.graph.json --output hv 2>err.txt); rc=$?
check "grad of grad (Rop of grad) passes" test $rc = 0
out=$("$SB" gradcheck floor.graph.json --eps 0.01 2>err.txt); rc=$?
check "a wrong gradient fails" test $rc = 1
check "its row says FAILED" grep -q '^x .*FAILED$' <<<"$out"
check "y still passes" grep -q '^y .* ok$' <<<"$out"
check "the message names x" grep -q "gradient w.r.t. 'x' disagrees with finite differences" err.txt
"$SB" gradcheck logreg.graph.json --output pred >/dev/null 2>err.txt; rc=$?
check "an integer output is an error" test $rc = 1
check "its message" grep -q "output 'pred' has type int64\[?\]; it must be a float tensor" err.txt
"$SB" gradcheck logreg.graph.json --output nope >/dev/null 2>err.txt; rc=$?
check "a missing output is an error" test $rc = 1
check "its message" grep -q "no output named 'nope'" err.txt
"$SB" gradcheck missing.json >/dev/null 2>err.txt; rc=$?
check "a missing file is an error" test $rc = 1
check "its message" grep -q "missing.json" err.txt
"$SB" gradcheck >/dev/null 2>&1; rc=$?
check "no graph is a usage error" test $rc = 2
"$SB" gradcheck --help | grep -q "usage: symbench gradcheck"
check "--help" test $? = 0
echo "gradcheck.sh: $fails failure(s)"
exit $((fails > 0))

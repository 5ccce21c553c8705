#!/usr/bin/env bash
# bench/epoch.sh: time per epoch of the Fashion-MNIST MLP (examples/fmnist_mlp.graph.json:
# 784-500-10 tanh, softmax cross-entropy, SGD with momentum, batch 64) trained by
# `symbench run` on the CPU fast path, next to the same model in PyTorch (bench/mlp_epoch.py),
# in one invocation, reported as a ratio (torch / symbench > 1: symbench is faster).
#
#   bench/epoch.sh [--epochs N] [--symbench PATH] [--keep-coretype] [--no-torch] [--with-eval]
#
# symbench runs a copy of examples/fmnist_mlp.pipeline.json with N epochs (default 3), a
# metrics record at the end of each epoch (log_every = 938 steps), evaluation at the end only,
# no checkpoint or saved files; an epoch's time is the difference of the records' elapsed_s
# (the training loop: minibatch gathering, the step function, logging). It runs before and
# after PyTorch and the two medians are averaged (this machine's load drifts). Environment, as
# `symbench bench` uses it (docs/performance.md): OMP_NUM_THREADS (default 2; PyTorch gets
# torch.set_num_threads of the same), OpenMP waiting (unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is
# set: GOMP_SPINCOUNT=10000 when nothing else runs (the running count of /proc/loadavg: awk and
# this script) and the 1-minute load is below the CPUs + 1, else passive, as tools/procenv.c
# chooses; both sides get the same), OPENBLAS_CORETYPE
# (SkylakeX when the CPU has AVX-512, unless --keep-coretype). Needs /usr/bin/python3 with
# python3-torch for the PyTorch side. --with-eval also times the same run on the reference
# evaluator (SB_CPU_EXEC=eval: the CPU backend's path before the plan), between the two.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
epochs=3
sb=""
torch=1
keep=0
with_eval=0
while [ $# -gt 0 ]; do
    case "$1" in
    --epochs) epochs=$2; shift ;;
    --symbench) sb=$2; shift ;;
    --keep-coretype) keep=1 ;;
    --no-torch) torch=0 ;;
    --with-eval) with_eval=1 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/epoch.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$sb" ]; then
    for c in "$root"/build/tools/symbench "$root"/build-*/tools/symbench; do
        if [ -x "$c" ]; then sb=$c; break; fi
    done
fi
[ -x "$sb" ] || { echo "bench/epoch.sh: no symbench program (use --symbench PATH)" >&2; exit 2; }
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
if [ -z "${OMP_WAIT_POLICY:-}" ] && [ -z "${GOMP_SPINCOUNT:-}" ]; then
    if awk -v n="$(nproc)" '{ split($4, r, "/"); exit !(r[1] <= 2 && $1 < n + 1) }' /proc/loadavg
    then export GOMP_SPINCOUNT=10000
    else export OMP_WAIT_POLICY=passive; fi
fi
if [ "$keep" = 0 ] && grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX; fi
py=/usr/bin/python3
tmp=$(mktemp -d /tmp/sb-epoch-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$py" - "$root/examples" "$tmp" "$epochs" <<'EOF'
import json, sys
ex, tmp, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
p = json.load(open(f"{ex}/fmnist_mlp.pipeline.json"))
p["graph"] = f"{ex}/fmnist_mlp.graph.json"
t = p["train"]
spe = -(-60000 // t["batch_size"])
t.update(epochs=epochs, log_every=spe, eval_every=10 ** 9, metrics=f"{tmp}/metrics.jsonl")
t.pop("checkpoint", None)
p.pop("save", None)
json.dump(p, open(f"{tmp}/epoch.pipeline.json", "w"), indent=1)
EOF

# One symbench run: prints "median_epoch_s wall_s accuracy".
run_sb() {
    rm -f "$tmp/metrics.jsonl"
    local t0 t1
    t0=$(date +%s.%N)
    "$sb" run -q "$tmp/epoch.pipeline.json" > "$tmp/run.log" 2>&1 ||
        { cat "$tmp/run.log" >&2; echo "bench/epoch.sh: symbench run failed" >&2; exit 1; }
    t1=$(date +%s.%N)
    "$py" - "$tmp/metrics.jsonl" "$t0" "$t1" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
logs = [r for r in recs if "loss" in r]
acc = [r["eval"]["accuracy"] for r in recs if "eval" in r]
el = [0.0] + [r["elapsed_s"] for r in logs]
ep = sorted(b - a for a, b in zip(el, el[1:]))
print(f"{ep[len(ep) // 2]:.4f} {float(sys.argv[3]) - float(sys.argv[2]):.2f} {acc[-1] if acc else 'nan'}")
EOF
}

echo "bench/epoch.sh: $epochs epochs, OMP_NUM_THREADS=$OMP_NUM_THREADS" \
     "OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-(unset)} GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-(unset)} OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(default)}," \
     "$sb, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
read -r sb1 wall1 acc1 <<< "$(run_sb)"
tt=nan tacc=nan ev=nan
if [ "$with_eval" = 1 ]; then
    read -r ev _ _ <<< "$(SB_CPU_EXEC=eval run_sb)"
fi
if [ "$torch" = 1 ]; then
    "$py" "$here/mlp_epoch.py" --epochs "$epochs" --threads "$OMP_NUM_THREADS" > "$tmp/torch.json"
    read -r tt tacc <<< "$("$py" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["median_epoch_s"], j["test_accuracy"])' "$tmp/torch.json")"
    read -r sb2 wall2 acc2 <<< "$(run_sb)"
else
    sb2=$sb1 wall2=$wall1
fi
"$py" - "$sb1" "$sb2" "$wall1" "$wall2" "$acc1" "$tt" "$tacc" "$ev" "$epochs" <<'EOF'
import sys
sb1, sb2, w1, w2, acc, tt, tacc, ev = map(float, sys.argv[1:9])
sb = (sb1 + sb2) / 2
print(f"{'':24} {'s/epoch':>9} {'test acc':>9}   (after {sys.argv[9]} epochs)")
print(f"{'symbench run (plan)':24} {sb:9.3f} {acc:9.4f}   runs {sb1:.3f} / {sb2:.3f} s/epoch, "
      f"wall {w1:.1f} / {w2:.1f} s with data loading")
if ev == ev:
    print(f"{'symbench (SB_CPU_EXEC=eval)':24} {ev:9.3f}")
if tt == tt:
    print(f"{'PyTorch':24} {tt:9.3f} {tacc:9.4f}")
    print(f"torch/symbench = {tt / sb:.2f}")
if ev == ev:
    print(f"eval/plan = {ev / sb:.2f}")
EOF

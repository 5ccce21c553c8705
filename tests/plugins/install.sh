#!/bin/bash
# install.sh BUILD_ROOT SOURCE_ROOT: the tutorial of docs/plugins.md, step by step. Install
# libsymbench into a temporary prefix (meson install --destdir), build the tutorial's plugin out
# of tree with pkg-config against that copy, and load it with the built symbench.
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d /tmp/sb-tutorial-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

meson install -C "$build" --no-rebuild --destdir "$tmp/root" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; exit 1; }
prefix=$(meson introspect "$build" --buildoptions |
    /usr/bin/python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
pc=$(find "$tmp/root" -name symbench.pc | head -1)
[ -n "$pc" ] || { echo "no symbench.pc installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")

# The tutorial's plugin source: the code block after "<!-- tutorial: myrules.c -->".
mkdir -p "$tmp/myplugin"
awk '/<!-- tutorial: myrules.c -->/ {on = 1; next} on && /^```c/ {code = 1; next}
     code && /^```/ {exit} code {print}' "$src/docs/plugins.md" >"$tmp/myplugin/myrules.c"
[ -s "$tmp/myplugin/myrules.c" ] || { echo "no tutorial code in docs/plugins.md"; exit 1; }

# The installed tree lives under DESTDIR: point pkg-config's prefix there.
cflags=$(pkg-config --define-variable=prefix="$tmp/root$prefix" --cflags symbench)
echo "cflags: $cflags"
[ -f "$tmp/root$prefix/include/symbench/symbench.h" ] || { echo "symbench.h not installed"; exit 1; }
( cd "$tmp/myplugin" && cc -shared -fPIC -Wall -Werror $cflags myrules.c -o myrules.so )

out=$("$build/tools/symbench" plugins info "$tmp/myplugin/myrules.so")
echo "$out"
grep -q "^plugin myrules$" <<<"$out"
grep -q "  rule div-by-two$" <<<"$out"
out=$("$build/tools/symbench" --plugin "$tmp/myplugin/myrules.so" simplify --rules myrules \
      --var x=float32[8] 'x / 2 + x ** 2')
echo "$out"
grep -q "^x \* 0.5 + x \* x$" <<<"$out"
echo "tutorial: ok"

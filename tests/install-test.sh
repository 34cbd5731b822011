#!/bin/sh
# install-test.sh SOURCE_ROOT BUILD_ROOT: msc as a third party sees it.
#
#  1. `meson install --destdir TMP` from BUILD_ROOT; the public headers
#     (msc.h, msc-types.h, msc-plugin.h, msc-op.h) must be installed, and
#     every "..." include of an installed header must resolve among them.
#  2. Copies examples/tool-example/count-ops.c and examples/embed/embed.c
#     out of the tree and builds them with `pkg-config --cflags --libs msc`
#     against the installed msc.pc only (its prefix pointed at TMP); the
#     flags must not mention the source or build tree.
#  3. The installed `msc run` (installed libmsc, installed plugins, the
#     build tree's plugin dir switched off with MSC_NO_BUILD_PLUGINS=1) runs
#     a pipeline whose INI has a [tool.count-ops] section, with
#     MSC_PLUGIN_PATH naming the out-of-tree plugin's folder; the report
#     must show the stage "track:count-ops" ok and its plan file written.
#  4. Runs the out-of-tree embed example.
# Exit 77 (skip) without pkg-config, a C compiler or meson.
set -u
src=${1:?usage: install-test.sh SOURCE_ROOT BUILD_ROOT}
build=${2:?usage: install-test.sh SOURCE_ROOT BUILD_ROOT}
CC=${CC:-cc}
for tool in pkg-config meson "$CC"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not found"; exit 77; }
done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
chmod 700 "$T"
fail() { echo "FAIL: $*"; exit 1; }

# 1. install into a staging root
meson install -C "$build" --destdir "$T/dest" --no-rebuild --quiet >"$T/install.log" 2>&1 ||
  { cat "$T/install.log"; fail "meson install --destdir"; }
pc=$(find "$T/dest" -name msc.pc | head -n 1)
[ -n "$pc" ] || fail "no msc.pc installed"
pcdir=$(dirname "$pc")
prefix=$(PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR="$pcdir" pkg-config --variable=prefix msc)
root=$T/dest$prefix
pkg() { PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR="$pcdir:$(pkg-config --variable pc_path pkg-config 2>/dev/null)" \
  pkg-config --define-variable=prefix="$root" "$@"; }
incdir=$(pkg --variable=includedir msc)/msc
libdir=$(pkg --variable=libdir msc)
plugindir=$(pkg --variable=plugindir msc)
case $plugindir in "$root"/*) ;; *) plugindir=$T/dest$plugindir ;; esac
for h in msc.h msc-types.h msc-plugin.h msc-op.h; do
  [ -f "$incdir/$h" ] || fail "header $h not installed in $incdir"
done
for h in "$incdir"/*.h; do
  for inc in $(sed -n 's/^ *# *include *"\([^"]*\)".*/\1/p' "$h"); do
    [ -f "$incdir/$inc" ] || fail "installed $(basename "$h") includes \"$inc\", which is not installed"
  done
done
[ -f "$libdir/libmsc.so" ] || fail "libmsc.so not installed in $libdir"
for p in ref profiler; do
  ls "$plugindir"/*"$p"*.so >/dev/null 2>&1 || fail "plugin $p not installed in $plugindir"
done
cflags=$(pkg --cflags msc) || fail "pkg-config --cflags msc"
libs=$(pkg --libs msc) || fail "pkg-config --libs msc"
case "$cflags $libs" in
  *"$src"* | *"$build"*) fail "pkg-config flags point into the source or build tree: $cflags $libs" ;;
esac
echo "ok: installed headers, libmsc, plugins and msc.pc under $root"

# 2. out-of-tree builds against the installed files only (a sanitizer build's
#    libmsc needs the same -fsanitize flags in the programs linking it)
san=$(meson introspect "$build" --buildoptions 2>/dev/null | python3 -c '
import json, sys
opts = {o["name"]: o["value"] for o in json.load(sys.stdin)}
v = opts.get("b_sanitize", "none")
print("" if v in ("none", "") else "-fsanitize=" + v)' 2>/dev/null)
CFLAGS_EXT="-std=c11 -O1 -Wall -Werror=implicit-function-declaration $san"
mkdir -p "$T/ext/tool" "$T/ext/embed" "$T/ext/plugins"
cp "$src/examples/tool-example/count-ops.c" "$T/ext/tool/"
cp "$src/examples/embed/embed.c" "$T/ext/embed/"
# shellcheck disable=SC2086
(cd "$T/ext/tool" && $CC $CFLAGS_EXT -fPIC -shared -fvisibility=hidden $cflags -o "$T/ext/plugins/msc-tool-count-ops.so" count-ops.c) >"$T/tool.log" 2>&1 ||
  { cat "$T/tool.log"; fail "building the tool example out of tree"; }
# shellcheck disable=SC2086
(cd "$T/ext/embed" && $CC $CFLAGS_EXT $cflags -o msc-embed embed.c $libs -Wl,-rpath,"$libdir") >"$T/embed.log" 2>&1 ||
  { cat "$T/embed.log"; fail "building the embed example out of tree"; }
chmod 755 "$T/ext/plugins"
echo "ok: tool plugin and embed example built out of tree with pkg-config msc"

# 3. the installed msc runs the out-of-tree plugin as a pipeline stage
msc=$root/bin/msc
[ -x "$msc" ] || fail "msc not installed in $root/bin"
run_env() {
  env LD_LIBRARY_PATH="$libdir" MSC_NO_BUILD_PLUGINS=1 MSC_PLUGIN_PATH="$plugindir:$T/ext/plugins" "$@"
}
run_env "$msc" plugins >"$T/plugins.out" 2>&1 || { cat "$T/plugins.out"; fail "msc plugins"; }
grep -q "msc.tool.count-ops" "$T/plugins.out" || { cat "$T/plugins.out"; fail "count-ops not found via MSC_PLUGIN_PATH"; }
grep -q "$T/ext/plugins/msc-tool-count-ops.so" "$T/plugins.out" || fail "count-ops loaded from the wrong place"
if grep "$build" "$T/plugins.out" | grep -q '\.so'; then fail "a plugin was loaded from the build tree"; fi
cat >"$T/ext/count.ini" <<'EOF'
[model]
path = zoo:resnet_mini
shapes = input=1x3x64x64
[dataset]
samples = 2
[benchmark]
warmup = 0
repeat = 2
[tool.count-ops]
with_domain = true
[export]
dir = out
EOF
run_env "$msc" run "$T/ext/count.ini" >"$T/run.out" 2>"$T/run.err" || { cat "$T/run.out" "$T/run.err"; fail "msc run with [tool.count-ops]"; }
grep -q "^  track:count-ops  *ok" "$T/run.out" || { cat "$T/run.out"; fail "report table lacks an ok track:count-ops stage"; }
grep -q '"name" : "track:count-ops"' "$T/ext/out/report.json" || fail "report.json lacks the count-ops stage"
[ -s "$T/ext/out/plans/count-ops.json" ] || fail "count-ops plan not written"
grep -q '"Conv"' "$T/ext/out/plans/count-ops.json" || { cat "$T/ext/out/plans/count-ops.json"; fail "count-ops plan lacks Conv"; }
echo "ok: installed msc ran the out-of-tree plugin as pipeline stage track:count-ops"

# 4. the embed example against the installed library
run_env "$T/ext/embed/msc-embed" >"$T/embed.out" 2>&1 || { cat "$T/embed.out"; fail "msc-embed"; }
echo "ok: out-of-tree msc-embed ran: $(head -n 1 "$T/embed.out")"
exit 0

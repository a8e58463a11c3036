#!/usr/bin/env bash
# The plugin SDK out of tree, as a plugin author uses it: install only the
# SDK component of the build into a fresh prefix, build a copy of the
# example plugin plugins/bus as a project of its own with
# find_package(invsys), and have the real registry load the result
# (invsys-fcgi --check, which refuses any plugin file it cannot load).
#
# usage: build_and_load.sh <source dir> <build dir> <invsys-fcgi> <C++ compiler>
set -euo pipefail

source_dir="$1" build_dir="$2" fcgi="$3" cxx="$4"
work="$(mktemp -d "${TMPDIR:-/tmp}/invsys-out-of-tree.XXXXXX")"
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== install the SDK into $work/prefix"
cmake --install "$build_dir" --component sdk --prefix "$work/prefix"

# The SDK is the two plugin headers and the CMake package, nothing else of
# core: a plugin that needs more cannot build against it.
headers="$(cd "$work/prefix" && find . -path ./lib -prune -o -type f -print | sort)"
expected="$(printf '%s\n' ./include/invsys/plugin_abi.hpp ./include/invsys/resource_type.hpp)"
[ "$headers" = "$expected" ] || fail "installed outside lib/: $(echo "$headers" | tr '\n' ' ')"
for f in invsysConfig.cmake invsysConfigVersion.cmake invsysTargets.cmake InvsysPlugin.cmake; do
    [ -n "$(find "$work/prefix" -path "*/cmake/invsys/$f")" ] || fail "no $f installed"
done

echo "== build a copy of plugins/bus against it"
cp -r "$source_dir/plugins/bus" "$work/bus"
# A project that asks for another standard still gets invsys's (the loader
# refuses a plugin whose build signature differs); -Werror: no warnings.
cmake -S "$work/bus" -B "$work/bus-build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_STANDARD=17 -DCMAKE_CXX_FLAGS=-Werror \
    -DCMAKE_PREFIX_PATH="$work/prefix" 2>&1 | tee "$work/configure.log"
if grep -q "CMake Warning" "$work/configure.log"; then fail "configure warned"; fi
cmake --build "$work/bus-build" -j2

plugin="$work/bus-build/libinvsys-bus.so"
[ -f "$plugin" ] || fail "no $plugin"

echo "== load it through the registry: invsys-fcgi --check"
mkdir -p "$work/plugins" "$work/db"
cp "$plugin" "$work/plugins/"
cat >"$work/invsys.conf" <<CONF
database = sqlite:$work/db/invsys.db
plugin_dir = $work/plugins
CONF
# The environment overrides the config; make sure it cannot here.
set +e
output="$(env -u INVSYS_DATABASE -u INVSYS_PLUGIN_DIR "$fcgi" --config "$work/invsys.conf" --check 2>&1)"
rc=$?
set -e
echo "$output"
[ "$rc" -eq 0 ] || fail "invsys-fcgi --check exited $rc"
grep -q "plugin loaded: Bus (buses) from $work/plugins/libinvsys-bus.so" <<<"$output" ||
    fail "no 'plugin loaded: Bus' line"
grep -q "check passed: .* types=Bus$" <<<"$output" || fail "the check did not pass with exactly Bus"
echo "PASS"

#!/bin/sh
# Entrypoint of the invsys image: puts the image's built-in plugins into the
# plugin directory, then runs invsys-fcgi in the foreground (PID 2 under the
# compose file's `init: true`, which forwards SIGTERM and SIGHUP to it).
#
# The plugin directory is the named volume invsys-plugins. Docker fills a new
# named volume from the image once, and never again: without this refresh a
# newer image would keep serving the built-in plugins of the first one. Each
# built-in that differs is copied under a name the loader skips (it loads
# *.so only) and renamed over the old file: a running process that has the
# old file mapped keeps its copy (overwriting a loaded .so in place crashes
# it). Extra plugins in the volume are left alone.
#
# Environment: INVSYS_CONFIG (the service reads it too), INVSYS_PLUGIN_DIR
# (else plugin_dir from the config file), INVSYS_BUILTIN_PLUGIN_DIR
# (default /usr/lib/invsys/builtin-plugins). Arguments go to invsys-fcgi
# (e.g. `--check`).
set -eu

config="${INVSYS_CONFIG:-/etc/invsys/invsys.conf}"
builtin_dir="${INVSYS_BUILTIN_PLUGIN_DIR:-/usr/lib/invsys/builtin-plugins}"
plugin_dir="${INVSYS_PLUGIN_DIR:-}"
if [ -z "$plugin_dir" ] && [ -r "$config" ]; then
    plugin_dir="$(sed -n 's/^[[:space:]]*plugin_dir[[:space:]]*=[[:space:]]*//p' "$config" | tail -n 1)"
fi

refresh_builtins() {
    [ -n "$plugin_dir" ] && [ -d "$builtin_dir" ] || return 0
    if [ ! -d "$plugin_dir" ] || [ ! -w "$plugin_dir" ]; then
        echo "invsys-entrypoint: $plugin_dir is not a writable directory; built-in plugins not refreshed" >&2
        return 0
    fi
    for source in "$builtin_dir"/*.so; do
        [ -f "$source" ] || continue
        name="${source##*/}"
        target="$plugin_dir/$name"
        cmp -s "$source" "$target" 2>/dev/null && continue
        # mktemp: replicas starting together share the volume (and may share
        # a PID in their own namespaces), so the staged name must be unique.
        staged="$(mktemp "$plugin_dir/.$name.new.XXXXXX")" || {
            echo "invsys-entrypoint: cannot write in $plugin_dir; $name not refreshed" >&2
            continue
        }
        if cp "$source" "$staged" && chmod 0644 "$staged" && mv -f "$staged" "$target"; then
            echo "invsys-entrypoint: built-in plugin $name installed in $plugin_dir" >&2
        else
            rm -f "$staged"
            echo "invsys-entrypoint: could not install built-in plugin $name in $plugin_dir" >&2
        fi
    done
}

refresh_builtins
# The first admin key, from the environment (a compose secret or variable):
# made a live admin key before the pool starts; replicas starting together
# are safe (the key is inserted once). Never passed on the command line.
if [ -n "${INVSYS_ADMIN_KEY:-}" ] && [ "${1:-}" != "--check" ]; then
    invsys-admin keys ensure --role admin --name compose-admin ||
        { echo "invsys-entrypoint: INVSYS_ADMIN_KEY could not be made an admin key" >&2; exit 1; }
fi
exec invsys-fcgi "$@"

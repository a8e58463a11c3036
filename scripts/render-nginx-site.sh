#!/usr/bin/env bash
# Renders nginx/invsys.conf.template as a site file for a system nginx (the
# Debian package's /etc/nginx/sites-available/invsys): the same gateway as
# scripts/render-nginx-conf.sh renders for a private prefix, inside the
# `http` block of Debian's /etc/nginx/nginx.conf instead of a whole conf.
#
#   scripts/render-nginx-site.sh --listen 127.0.0.1:8080 \
#       --upstream unix:/run/invsys/invsys.sock [--access-log PATH] \
#       [--web-root DIR] > invsys.site
#
# --web-root: the built web/ (admin UI at /, Swagger UI at /docs/); default
# /usr/share/invsys/web, where the Debian package installs it.
#
# From the rendered conf's `http` block: the upstream and map blocks, the
# limit zones and log_format stay at the site's top level (http context,
# the only one they are allowed in); every other directive of
# that block (limits, types, timeouts, access_log) moves into the server
# block, where it is valid too and overrides nginx.conf's value without
# duplicating it at one level (which nginx refuses). Temp paths, pid,
# error_log and the `user` line are left to the system nginx.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
listen=""
upstream=""
access_log=/var/log/nginx/invsys-access.log
web_root=/usr/share/invsys/web
while [[ $# -gt 0 ]]; do
    case "$1" in
        --listen) listen="$2"; shift 2 ;;
        --upstream) upstream="$2"; shift 2 ;;
        --access-log) access_log="$2"; shift 2 ;;
        --web-root) web_root="$2"; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "render-nginx-site.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[[ -n "$listen" && -n "$upstream" ]] || { echo "render-nginx-site.sh: --listen and --upstream are required" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# As a non-root render (no `user` line, no socket group needed): the line is dropped anyway.
if [[ "$(id -u)" == 0 ]]; then
    render=(setpriv --reuid=nobody --regid=nogroup --clear-groups -- bash)
    chmod 0777 "$work"
else
    render=(bash)
fi
"${render[@]}" "$here/render-nginx-conf.sh" --prefix "$work/prefix" --listen "$listen" \
    --upstream "$upstream" --web-root "$web_root" >/dev/null 2>"$work/messages" || { cat "$work/messages" >&2; exit 1; }

echo "# invsys gateway site, rendered from nginx/invsys.conf.template by"
echo "# scripts/render-nginx-site.sh (listen $listen, upstream $upstream)."
echo "# Enable: ln -s /etc/nginx/sites-available/invsys /etc/nginx/sites-enabled/"
awk -v q="'" -v access_log="$access_log" '
    # Brace depth of a line, quoted strings and comments left out.
    function delta(line,    s, opens, closes) {
        s = line
        gsub(q "[^" q "]*" q, "", s); gsub(/"[^"]*"/, "", s); sub(/#.*/, "", s)
        opens = gsub(/\{/, "{", s); closes = gsub(/\}/, "}", s)
        return opens - closes
    }
    {
        d = delta($0)
        if (!in_http) {
            if ($0 ~ /^http[ \t]*\{/) { in_http = 1; depth = 1 }
            next
        }
        if (depth == 1 && part == "") {
            stripped = $0; sub(/^[ \t]+/, "", stripped)
            if (stripped == "" || stripped ~ /^#/) next
            if (stripped ~ /^\}/) { in_http = 0; next }
            if (stripped ~ /^(upstream|map)[ \t]/) part = "top"
            else if (stripped ~ /^(limit_req_zone|limit_conn_zone)[ \t]/) part = "statement-top"
            else if (stripped ~ /^server[ \t]*\{/) part = "server"
            else if (stripped ~ /^log_format[ \t]/) part = "statement-top"
            else if (stripped ~ /^types[ \t]*\{/) part = "block-prelude"
            else if (stripped ~ /_temp_path[ \t]/) part = "drop"
            # The server block sets its own default_type: a second one at
            # that level is refused.
            else if (stripped ~ /^default_type[ \t]/) part = "drop"
            else if (stripped ~ /^access_log[ \t]/) { prelude = prelude "        access_log " access_log " invsys_json;\n"; next }
            else part = "statement-prelude"
        }
        depth += d
        line = $0
        if (part == "top" || part == "statement-top") top = top line "\n"
        else if (part == "block-prelude" || part == "statement-prelude") prelude = prelude "    " line "\n"
        else if (part == "server") server = server line "\n"
        # A part ends back at depth 1 (blocks) or at its semicolon (statements).
        if (part ~ /^statement/) { if (line ~ /;[ \t]*(#.*)?$/) part = "" }
        else if (depth == 1) part = ""
    }
    END {
        printf "%s\n", top
        n = split(server, lines, "\n")
        for (i = 1; i <= n; i++) {
            if (lines[i] == "" && i == n) break
            print lines[i]
            if (!done && lines[i] ~ /^[ \t]*server[ \t]*\{/) {
                print "        # From the gateway conf'"'"'s http block (valid here too, and kept to this site)."
                printf "%s", prelude
                done = 1
            }
        }
    }
'   "$work/prefix/nginx.conf" | sed -e 's/^    //' -e '/^# Extra locations/d'

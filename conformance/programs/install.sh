#!/usr/bin/env bash
# cmake --install puts the programs, libsockcheck, its headers and
# sockcheck.pc in place, and a program builds against them with pkg-config.
# Usage: install.sh BUILD_DIR C_COMPILER [CFLAGS] (the sanitizer flags of
# the build, which the installed static library needs at link time too)
set -euo pipefail
build=$1 cc=$2 cflags=${3:-}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/sockcheck-server bin/sockcheck-client include/sockcheck/server.h share/pkgconfig/sockcheck.pc; do
  [ -e "$prefix/$f" ] || { echo "not installed: $f"; exit 1; }
done
[ -n "$(find "$prefix" -name libsockcheck.a)" ] || { echo "not installed: libsockcheck.a"; exit 1; }
cat >"$prefix/use.c" <<'C'
#include <sockcheck/addr.h>
#include <sockcheck/net.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    sc_addr_t a;
    char text[SC_ADDR_STRLEN];
    if (sc_addr_parse(&a, "[::1]:7", strlen("[::1]:7"), 0, 0) != 0)
        return 1;
    sc_addr_format((const struct sockaddr *)&a.ss, a.len, text, sizeof(text));
    printf("%s %s\n", text, SOCKCHECK_VERSION);
    return strcmp(text, "[::1]:7") != 0;
}
C
export PKG_CONFIG_PATH="$prefix/share/pkgconfig"
# shellcheck disable=SC2046,SC2086
"$cc" $cflags "$prefix/use.c" $(pkg-config --cflags --libs sockcheck) -o "$prefix/use"
"$prefix/use"
"$prefix/bin/sockcheck-server" --version
echo "1 passed, 0 failed"

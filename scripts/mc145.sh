#!/usr/bin/env bash
# Builds memcached 1.6.45 (the newest release, a reference daemon) once and
# prints the directory that holds the build: memcached, memcached-debug,
# timedrun and the source's t/ (memcached's own test suite) and scripts/.
#
#   dir=$(bash scripts/mc145.sh)
#
# The build is cached outside the work tree, in $GOCACHED_CACHE (default
# ~/.cache/gocached), under a name that carries the tarball's checksum: it is
# reused while the tarball is unchanged. The tarball is
# ../shared/memcached/memcached-1.6.45.tar.gz beside the checkout, or
# $MEMCACHED_TARBALL. Build dependencies (build-essential libevent-dev
# libssl-dev automake) and the Perl modules the test suite uses for TLS
# (libio-socket-ssl-perl) are installed with apt when missing.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tarball="${MEMCACHED_TARBALL:-$repo/../shared/memcached/memcached-1.6.45.tar.gz}"
# A clone elsewhere (CI's clean clone) finds the workplace's copy.
[ -f "$tarball" ] || [ -n "${MEMCACHED_TARBALL:-}" ] || tarball=/work/shared/memcached/memcached-1.6.45.tar.gz
[ -f "$tarball" ] || {
	echo "mc145: no tarball at $tarball (set MEMCACHED_TARBALL)" >&2
	exit 1
}
sum="$(sha256sum "$tarball" | cut -c1-16)"
cache="${GOCACHED_CACHE:-$HOME/.cache/gocached}"
dir="$cache/memcached-1.6.45-$sum"
if [ -x "$dir/memcached-debug" ] && [ -x "$dir/memcached" ] && [ -x "$dir/timedrun" ] && [ -f "$dir/.built" ]; then
	echo "$dir"
	exit 0
fi

need=()
# automake: the tarball's compile, missing, install-sh, config.guess and
# config.sub are symbolic links into /usr/share/automake-1.16.
for p in build-essential libevent-dev libssl-dev libio-socket-ssl-perl automake; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
	echo "mc145: installing ${need[*]}" >&2
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

echo "mc145: building memcached 1.6.45 in $dir (about a minute)" >&2
rm -rf "$dir" "$dir.tmp"
mkdir -p "$dir.tmp"
tar -xzf "$tarball" -C "$dir.tmp" --strip-components=1
(
	cd "$dir.tmp"
	./configure --enable-tls >configure.log 2>&1 || {
		tail -20 configure.log >&2
		exit 1
	}
	make -j"$(nproc)" memcached memcached-debug timedrun >make.log 2>&1 || {
		tail -30 make.log >&2
		exit 1
	}
)
touch "$dir.tmp/.built"
mv "$dir.tmp" "$dir"
echo "$dir"

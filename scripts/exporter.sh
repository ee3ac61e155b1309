#!/usr/bin/env bash
# Builds prometheus/memcached_exporter once, for interop's
# TestMemcachedExporter, into a cache outside the work tree, and prints the
# binary's path. The module comes from the Go module proxy; its own go.sum
# pins its dependencies (the checksum database does not list this version,
# hence GOSUMDB=off for the download of the exporter's module alone).
#
#   scripts/exporter.sh            # prints .../memcached_exporter
set -euo pipefail

version=v0.14.4
cache="${GOCACHED_CACHE:-$HOME/.cache/gocached}"
dir="$cache/memcached_exporter-$version"
bin="$dir/memcached_exporter"
if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/exporter.XXXXXX")"
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
(
	cd "$tmp"
	go mod init exporterbuild >/dev/null 2>&1
	src="$(GOSUMDB=off go mod download -json "github.com/prometheus/memcached_exporter@$version" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	[ -n "$src" ] || { echo "exporter: download of memcached_exporter@$version failed" >&2; exit 1; }
	cp -r "$src" src
	chmod -R u+w src
	cd src
	echo "exporter: building memcached_exporter $version" >&2
	go build -o "$tmp/memcached_exporter" ./cmd/memcached_exporter
)
mkdir -p "$dir"
mv "$tmp/memcached_exporter" "$bin"
echo "$bin"

#!/usr/bin/env bash
# Builds the local images the e2e tests and the demo need, with no registry:
#   local/lifeboat-helper:1  busybox + GNU tar + zstd + gzip (the restore/backup helper)
#   local/postgres:15        Debian bookworm minbase + postgresql-15
# Idempotent: an image that already exists is left alone (FORCE=1 rebuilds).
set -Eeuo pipefail

readonly HELPER_IMAGE="${LIFEBOAT_HELPER_IMAGE:-local/lifeboat-helper:1}"
readonly POSTGRES_IMAGE="${LIFEBOAT_POSTGRES_IMAGE:-local/postgres:15}"

log() { printf '[images] %s\n' "$*" >&2; }

image_exists() {
	[[ "${FORCE:-0}" != 1 ]] && docker image inspect "$1" >/dev/null 2>&1
}

# Copies a dynamically linked binary and the shared libraries ldd lists into root.
copy_with_libs() {
	local root="$1" bin="$2" lib
	install -D -m 0755 "$bin" "$root/usr/bin/$(basename "$bin")"
	while read -r lib; do
		[[ -n "$lib" ]] || continue
		install -D -m 0755 "$lib" "$root$lib"
	done < <(ldd "$bin" | grep -o '/[^ ]*' | sort -u)
}

build_helper() {
	local root
	root="$(mktemp -d)"
	# shellcheck disable=SC2064 # expand now: root is local
	trap "rm -rf '$root'" RETURN
	mkdir -p "$root"/{bin,usr/bin,tmp,data,backup}
	chmod 1777 "$root/tmp"
	install -m 0755 /bin/busybox "$root/bin/busybox"
	local applet
	for applet in sh ash cat cp mv rm ls mkdir rmdir chmod chown find head tail wc sha256sum \
		dd od tr sed grep awk stat du df sleep true false test printf echo env id xargs sync touch ln readlink sort; do
		ln -s busybox "$root/bin/$applet"
	done
	# GNU tar (numeric owners, xattrs, sub-path extraction, fast), real gzip and zstd.
	copy_with_libs "$root" /bin/tar
	copy_with_libs "$root" /bin/gzip
	copy_with_libs "$root" /usr/bin/zstd
	ln -s /usr/bin/tar "$root/bin/tar"
	ln -s /usr/bin/gzip "$root/bin/gzip"
	ln -s /usr/bin/zstd "$root/bin/zstd"
	tar -C "$root" -c . | docker import \
		-c 'ENV PATH=/usr/bin:/bin' \
		-c 'LABEL org.opencontainers.image.title=lifeboat-helper' \
		- "$HELPER_IMAGE" >/dev/null
	log "built $HELPER_IMAGE"
}

mirror() {
	local uri
	uri="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || :)"
	printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

build_postgres() {
	local root
	root="$(mktemp -d /var/tmp/lifeboat-pgroot.XXXXXX)"
	# shellcheck disable=SC2064
	trap "rm -rf '$root'" RETURN
	debootstrap --variant=minbase --include=postgresql-15 bookworm "$root" "$(mirror)" >/tmp/lifeboat-debootstrap.log 2>&1 \
		|| { tail -20 /tmp/lifeboat-debootstrap.log >&2; return 1; }
	# The Debian package runs a cluster of its own under /var/lib/postgresql/15; the image only needs binaries.
	rm -rf "$root/var/lib/postgresql/15" "$root/var/cache/apt/archives/"*.deb "$root/etc/postgresql"
	mkdir -p "$root/var/run/postgresql" "$root/var/lib/postgresql/data"
	chroot "$root" chown postgres:postgres /var/run/postgresql /var/lib/postgresql/data
	chmod 2775 "$root/var/run/postgresql"
	chmod 0700 "$root/var/lib/postgresql/data"
	tar -C "$root" -c . | docker import \
		-c 'USER postgres' \
		-c 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/bin:/bin' \
		-c 'ENV PGDATA=/var/lib/postgresql/data' \
		-c 'CMD ["postgres","-D","/var/lib/postgresql/data"]' \
		- "$POSTGRES_IMAGE" >/dev/null
	log "built $POSTGRES_IMAGE"
}

# Usage: test-images.sh [all|helper|postgres]   (a production host needs only the helper)
_main() {
	local which="${1:-all}"
	case "$which" in all|helper|postgres) ;; *) log "usage: $0 [all|helper|postgres]"; return 2 ;; esac
	if [[ "$which" != postgres ]]; then
		if image_exists "$HELPER_IMAGE"; then log "$HELPER_IMAGE present"; else build_helper; fi
	fi
	if [[ "$which" != helper ]]; then
		if image_exists "$POSTGRES_IMAGE"; then log "$POSTGRES_IMAGE present"; else build_postgres; fi
	fi
}

_main "$@"

#!/usr/bin/env bash
# Builds the local images the e2e tests and the demo need, with no registry:
#   local/lifeboat-helper:1  images/helper/Dockerfile (the restore/backup helper), on a local
#                            Debian bookworm base (local/lifeboat-helper-base:bookworm)
#   local/postgres:15        Debian bookworm minbase + postgresql-15
#   local/mariadb:10.11      Debian bookworm minbase + mariadb-server/-client, official-like entrypoint
#   local/redis:7            Debian bookworm minbase + redis-server, official-like entrypoint
# Idempotent: an image that already exists is left alone (FORCE=1 rebuilds).
set -Eeuo pipefail

readonly HELPER_IMAGE="${LIFEBOAT_HELPER_IMAGE:-local/lifeboat-helper:1}"
readonly POSTGRES_IMAGE="${LIFEBOAT_POSTGRES_IMAGE:-local/postgres:15}"
readonly MARIADB_IMAGE="${LIFEBOAT_MARIADB_IMAGE:-local/mariadb:10.11}"
readonly REDIS_IMAGE="${LIFEBOAT_REDIS_IMAGE:-local/redis:7}"

log() { printf '[images] %s\n' "$*" >&2; }

image_exists() {
	[[ "${FORCE:-0}" != 1 ]] && docker image inspect "$1" >/dev/null 2>&1
}

# The helper comes from the production Dockerfile (images/helper), built with no network
# (--network none: tests reach nothing but 127.0.0.1) from a local Debian bookworm base
# that already holds the Dockerfile's packages, so its install step downloads nothing.
readonly HELPER_BASE_IMAGE=local/lifeboat-helper-base:bookworm
readonly HELPER_LABEL='images/helper/Dockerfile'

# A helper made before it came from the Dockerfile (busybox) is rebuilt.
helper_current() {
	docker image inspect -f '{{index .Config.Labels "org.opencontainers.image.description"}}' "$1" 2>/dev/null | grep -qF "$HELPER_LABEL"
}

setup_helper_base() { :; }

build_helper() {
	if ! image_exists "$HELPER_BASE_IMAGE"; then
		build_debian_image "$HELPER_BASE_IMAGE" 'zstd xz-utils bzip2' setup_helper_base 'CMD ["/bin/sh"]'
	fi
	local start=$SECONDS dir
	dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../images/helper" && pwd)"
	# The classic builder: this engine has no BuildKit client (buildx) to talk to.
	DOCKER_BUILDKIT=0 docker build -q --network none --build-arg "BASE_IMAGE=$HELPER_BASE_IMAGE" -t "$HELPER_IMAGE" "$dir" >/tmp/lifeboat-helper-build.log 2>&1 \
		|| { tail -20 /tmp/lifeboat-helper-build.log >&2; return 1; }
	log "built $HELPER_IMAGE from images/helper/Dockerfile ($(( SECONDS - start )) s, $(docker image inspect -f '{{.Size}}' "$HELPER_IMAGE" | awk '{ printf "%d MB", $1 / 1e6 }'))"
}

mirror() {
	local uri
	uri="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || :)"
	printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

# A Debian bookworm minbase root, made once per run by debootstrap and copied for each image
# (debootstrap is the slow part; apt-get install into a copy takes seconds).
BASE_ROOT=""
TMP_ROOTS=()
cleanup_roots() { if (( ${#TMP_ROOTS[@]} > 0 )); then rm -rf "${TMP_ROOTS[@]}"; fi; }
trap cleanup_roots EXIT

new_root() {
	local -n _dir="$1"
	_dir="$(mktemp -d /var/tmp/lifeboat-root.XXXXXX)"
	TMP_ROOTS+=("$_dir")
}

ensure_base() {
	[[ -z "$BASE_ROOT" ]] || return 0
	local root start=$SECONDS
	new_root root
	debootstrap --variant=minbase bookworm "$root" "$(mirror)" >/tmp/lifeboat-debootstrap.log 2>&1 \
		|| { tail -20 /tmp/lifeboat-debootstrap.log >&2; return 1; }
	# No documentation in the images; services are never started while packages install.
	cat >"$root/etc/dpkg/dpkg.cfg.d/01-lifeboat-nodoc" <<-'EOF'
		path-exclude=/usr/share/doc/*
		path-exclude=/usr/share/man/*
		path-exclude=/usr/share/info/*
		path-exclude=/usr/share/locale/*
		path-exclude=/usr/share/lintian/*
	EOF
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	BASE_ROOT="$root"
	log "debian base ready ($(( SECONDS - start )) s)"
}

# build_debian_image IMAGE "PKG ..." SETUP [docker-import change ...]
# Copies the base, installs the packages (no recommends), runs SETUP ROOT (a function that
# adds the entrypoint, directories, owners), strips documentation and apt caches, imports.
build_debian_image() {
	local image="$1" packages="$2" setup="$3" root start change
	shift 3
	local -a changes=()
	for change in "$@"; do changes+=(-c "$change"); done
	ensure_base
	start=$SECONDS
	new_root root
	cp -a "$BASE_ROOT/." "$root/"
	local aptlog="/tmp/lifeboat-apt-${image//[^A-Za-z0-9]/-}.log"
	# shellcheck disable=SC2086 # packages is a word list
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C \
		apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 $packages >"$aptlog" 2>&1 \
		|| { tail -20 "$aptlog" >&2; return 1; }
	"$setup" "$root"
	rm -rf "$root/usr/sbin/policy-rc.d" "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin \
		"$root/var/cache/apt/archives/"*.deb "$root/var/log/"*.log "$root/var/log/apt/"* \
		"$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/locale"
	tar -C "$root" -c . | docker import "${changes[@]}" - "$image" >/dev/null
	rm -rf "$root"
	log "built $image ($(( SECONDS - start )) s, $(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%d MB", $1 / 1e6 }'))"
}

# Writes an executable script (read from stdin) into the image root.
install_script() {
	install -D -m 0755 /dev/stdin "$1$2"
}

setup_postgres() {
	local root="$1"
	# The Debian package runs a cluster of its own under /var/lib/postgresql/15; the image only needs binaries.
	rm -rf "$root/var/lib/postgresql/15" "$root/etc/postgresql"
	mkdir -p "$root/var/run/postgresql" "$root/var/lib/postgresql/data"
	chroot "$root" chown postgres:postgres /var/run/postgresql /var/lib/postgresql/data
	chmod 2775 "$root/var/run/postgresql"
	chmod 0700 "$root/var/lib/postgresql/data"
}

build_postgres() {
	build_debian_image "$POSTGRES_IMAGE" postgresql-15 setup_postgres \
		'USER postgres' \
		'ENV PATH=/usr/lib/postgresql/15/bin:/usr/bin:/bin' \
		'ENV PGDATA=/var/lib/postgresql/data' \
		'CMD ["postgres","-D","/var/lib/postgresql/data"]'
}

# Like the official mariadb image, for what the tests use: an empty /var/lib/mysql is initialised
# on first start (MARIADB_ROOT_PASSWORD or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD, optional
# MARIADB_DATABASE / MARIADB_USER / MARIADB_PASSWORD, MYSQL_* aliases), root@localhost and
# root@% use a password (no unix_socket), then mariadbd runs as mysql as PID 1 (SIGTERM stops it).
setup_mariadb() {
	local root="$1"
	rm -rf "$root/var/lib/mysql" "$root/etc/mysql/debian.cnf"
	mkdir -p "$root/var/lib/mysql" "$root/run/mysqld"
	chroot "$root" chown mysql:mysql /var/lib/mysql /run/mysqld
	printf '[mysqld]\nbind-address = 0.0.0.0\nskip-name-resolve\nexpire_logs_days = 0\n' >"$root/etc/mysql/mariadb.conf.d/90-lifeboat.cnf"
	install_script "$root" /usr/local/bin/docker-entrypoint.sh <<'EOF'
#!/bin/bash
set -Eeuo pipefail
datadir=/var/lib/mysql
note() { printf '[entrypoint] %s\n' "$*" >&2; }
sql_string() { local s="${1//\\/\\\\}"; printf "'%s'" "${s//\'/\\\'}"; }

if [[ "${1:-}" == -* ]]; then set -- mariadbd "$@"; fi
if [[ "${1:-}" != mariadbd && "${1:-}" != mysqld ]]; then exec "$@"; fi
for arg; do case "$arg" in --help | --version | -V | -'?' | --print-defaults) exec "$@" ;; esac; done
if [[ "$(id -u)" == 0 ]]; then
	mkdir -p "$datadir" /run/mysqld
	find "$datadir" /run/mysqld \! -user mysql -exec chown mysql:mysql {} +
	exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
fi
if [[ ! -d "$datadir/mysql" ]]; then
	password="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}"
	database="${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}"
	user="${MARIADB_USER:-${MYSQL_USER:-}}"
	if [[ -z "$password" && -z "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-${MYSQL_ALLOW_EMPTY_PASSWORD:-}}" ]]; then
		note "$datadir is empty: set MARIADB_ROOT_PASSWORD or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=1"
		exit 1
	fi
	note "initialising $datadir"
	mariadb-install-db --datadir="$datadir" --auth-root-authentication-method=normal \
		--skip-test-db --skip-log-bin --skip-name-resolve >/dev/null
	{
		echo 'FLUSH PRIVILEGES;'
		# mariadb-install-db also makes password-less root@127.0.0.1, root@::1 and root@<hostname>.
		echo "DROP USER IF EXISTS root@'127.0.0.1', root@'::1', root@$(sql_string "$(</proc/sys/kernel/hostname)");"
		echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$password");"
		echo "CREATE USER 'root'@'%' IDENTIFIED BY $(sql_string "$password");"
		echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
		if [[ -n "$database" ]]; then echo "CREATE DATABASE IF NOT EXISTS \`${database//\`/\`\`}\`;"; fi
		if [[ -n "$user" ]]; then
			echo "CREATE USER $(sql_string "$user")@'%' IDENTIFIED BY $(sql_string "${MARIADB_PASSWORD:-${MYSQL_PASSWORD:-}}");"
			if [[ -n "$database" ]]; then echo "GRANT ALL ON \`${database//\`/\`\`}\`.* TO $(sql_string "$user")@'%';"; fi
		fi
	} | mariadbd --bootstrap --datadir="$datadir" --skip-networking --skip-log-bin --log-warnings=0
	note "initialised"
fi
exec "$@"
EOF
}

build_mariadb() {
	build_debian_image "$MARIADB_IMAGE" 'mariadb-server mariadb-client' setup_mariadb \
		'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		'VOLUME /var/lib/mysql' \
		'EXPOSE 3306' \
		'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
		'CMD ["mariadbd"]'
}

# Like the official redis image: data in /data (the working directory), redis-server as user
# redis as PID 1 (SIGTERM saves and exits); arguments starting with "-" go to redis-server.
setup_redis() {
	local root="$1"
	rm -rf "$root/var/lib/redis/"*
	mkdir -p "$root/data"
	chroot "$root" chown redis:redis /data
	install_script "$root" /usr/local/bin/docker-entrypoint.sh <<'EOF'
#!/bin/bash
set -Eeuo pipefail
if [[ "${1:-}" == -* || "${1:-}" == *.conf ]]; then set -- redis-server "$@"; fi
if [[ "${1:-}" == redis-server && "$(id -u)" == 0 ]]; then
	find /data \! -user redis -exec chown redis:redis {} +
	exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
exec "$@"
EOF
}

build_redis() {
	build_debian_image "$REDIS_IMAGE" redis-server setup_redis \
		'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		'VOLUME /data' \
		'WORKDIR /data' \
		'EXPOSE 6379' \
		'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
		'CMD ["redis-server","--dir","/data","--appendonly","yes"]'
}

# Usage: test-images.sh [all|helper|postgres|mariadb|redis]   (a production host needs only the helper)
_main() {
	local which="${1:-all}" name image
	case "$which" in all|helper|postgres|mariadb|redis) ;; *) log "usage: $0 [all|helper|postgres|mariadb|redis]"; return 2 ;; esac
	for name in helper postgres mariadb redis; do
		[[ "$which" == all || "$which" == "$name" ]] || continue
		case "$name" in
			helper) image="$HELPER_IMAGE" ;;
			postgres) image="$POSTGRES_IMAGE" ;;
			mariadb) image="$MARIADB_IMAGE" ;;
			redis) image="$REDIS_IMAGE" ;;
		esac
		if image_exists "$image" && { [[ "$name" != helper ]] || helper_current "$image"; }; then
			log "$image present"
		else
			"build_$name"
		fi
	done
}

_main "$@"

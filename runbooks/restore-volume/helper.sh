# shellcheck shell=sh
# The helper container's script (a POSIX sh with pipefail, GNU tar, zstd), run by restore-volume.sh as
# `sh -c "$HELPER_SH" lifeboat-helper OP ARGS...` and inlined there at assembly. Busybox
# prefers its own applets, so GNU tools are called by absolute path.
set -eu
# bash (as sh) and busybox sh have pipefail; dash does not.
# shellcheck disable=SC3040
set -o pipefail
gnu_tar=/usr/bin/tar
[ -x "$gnu_tar" ] || gnu_tar=/bin/tar
op="$1"; shift
# Checked where it matters (no separate container run: each costs the restore about a second).
# Passes at most LIMIT bytes (dd reads exactly that much); more is a decompression
# bomb or a wrong catalog size: stop, and say so on a line the host looks for (so
# does tar's checkpoint, below).
bounded() {
  dd bs=1048576 count="$1" iflag=fullblock,count_bytes 2>/dev/null
  if [ "$(dd bs=1 count=1 2>/dev/null | wc -c)" != 0 ]; then
    echo "lifeboat-limit: beyond $1 bytes" >&2; exit 5
  fi
}
need_tools() {
  "$gnu_tar" --version | head -1 | grep -q 'GNU tar' || { echo 'helper image lacks GNU tar' >&2; exit 3; }
  command -v zstd >/dev/null 2>&1 || [ -x /usr/bin/zstd ] || { echo 'helper image lacks zstd' >&2; exit 3; }
}
case "$op" in
probe)
  # Entries at the top, free KiB on the filesystem behind /data, and its root owner:group:mode.
  # Assignments, so that a find or df that fails (an unlistable export) fails the probe
  # instead of reading as "0 entries": empty is only ever what was actually listed.
  n="$(find /data -mindepth 1 -maxdepth 1 | wc -l)"
  free="$(df -Pk /data | awk 'NR == 2 { print $4 }')"
  root="$(stat -c %u:%g:%a /data)"
  printf '%s %s %s\n' "$n" "$free" "$root"
  ;;
usage)
  du -sk /data | cut -f1
  ;;
extract)
  need_tools
  # The archive arrives through a FIFO the host writes (not the container's
  # stdin: Docker's attach stream halves the throughput).
  exec </io/stream
  codec="$1"; sub="$2"; limit="$3"; dest=/data
  if [ -n "$sub" ]; then dest="/data/.lifeboat-extract"; mkdir "$dest"; fi
  # CMD ARGS... with a 1 MiB pipe to tar where the image has perl to set it (F_SETPIPE_SZ):
  # tar's 1 MiB reads then take 1 MiB, not 64 KiB; a third off the extraction here.
  wide() {
    if command -v perl >/dev/null; then perl -e 'fcntl(STDOUT, 1031, 1 << 20); exec { $ARGV[0] } @ARGV or die "$ARGV[0]: $!\n"' -- "$@"; else "$@"; fi
  }
  decompress() {
    case "$codec" in
      zstd) wide /usr/bin/zstd -dcq ;;
      gzip) wide /usr/bin/gzip -dc ;;
      xz) wide xzcat ;;
      bzip2) wide bzcat ;;
      none) wide cat ;;
      *) echo "unknown codec $codec" >&2; exit 2 ;;
    esac
  }
  untar() {
    # 1 MiB reads and writes (-b 2048) halve extraction time against tar's 10 KiB
    # default; archives of any record size still read (short reads from a pipe).
    # tar stops at the end-of-archive blocks; the rest of the last record
    # (up to 1 MiB of zeros) is read too, so the host hashes the whole stream.
    "$gnu_tar" -x -b 2048 -f - -C "$dest" --numeric-owner --same-owner -p --xattrs --delay-directory-restore "$@"
    if [ -z "$limit" ]; then cat >/dev/null; else bounded "$limit" >/dev/null; fi
  }
  # Written back as it comes: the kernel would hold up to a tenth of RAM dirty until the sync
  # below, which then waits for all of it (seconds per GB on a slow disk). A sync starts every
  # 0.2 s, or as soon as the last one ends when it took longer, so the disk writes all along
  # (every 1 s left it idle between syncs: 0.5 s slower per 1.5 GB here). At most 5 a second.
  # (If this script fails, the container ends, and this loop with it; without sync -f, no loop.)
  while :; do sleep 0.2 & sync -f /data || break; wait || :; done &
  flusher=$!
  # No process in between (a pipe copy costs CPU the chain is short of): with a bound, tar
  # itself stops at the 1 MiB record past it (its checkpoint; -b 2048 reblocks a pipe's reads).
  if [ -z "$limit" ]; then decompress | untar; else
    decompress | untar --checkpoint=$((limit / 1048576 + 1)) \
      --checkpoint-action="exec=echo 'lifeboat-limit: beyond $limit bytes' >&2; kill -TERM \$PPID"
  fi
  kill "$flusher" 2>/dev/null || :
  if [ -n "$sub" ]; then
    src="$dest/$sub"
    [ -d "$src" ] || { echo "archive has no directory $sub" >&2; exit 4; }
    find "$src" -mindepth 1 -maxdepth 1 -exec mv -t /data {} +
    chown "$(stat -c %u:%g "$src")" /data
    chmod "$(stat -c %a "$src")" /data
    rm -rf "$dest"
  fi
  # Nothing from an archive may become a device or a setuid/setgid program on the host.
  # (Without CAP_MKNOD tar cannot make device nodes; this catches a helper run with it.)
  if [ -n "$(find /data \( -type b -o -type c \) -print | head -n 1)" ]; then
    echo "lifeboat-special: the archive contains block or character devices" >&2; exit 6
  fi
  setid="$(find /data ! -type d \( -perm -4000 -o -perm -2000 \) -exec chmod ug-s {} + -print | wc -l)"
  sync -f /data
  printf 'setid=%s root=%s\n' "$setid" "$(stat -c '%u:%g:%a' /data)"
  # The top-level names (plain ones, at most 64): how the host tells the engine (Verify=auto).
  names="" n=0
  for f in /data/* /data/.[!.]* /data/..?*; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    b="${f##*/}"
    case "$b" in *[!A-Za-z0-9_.-]*) continue ;; esac
    [ "${#b}" -le 64 ] || continue
    n=$((n + 1)); [ "$n" -le 64 ] || break
    names="$names $b"
  done
  printf 'names=%s\n' "${names# }"
  ;;
copy)
  need_tools
  # /src -> /dst, owners, modes, times and xattrs kept.
  "$gnu_tar" -C /src -c -f - --numeric-owner --xattrs . | "$gnu_tar" -x -f - -C /dst --numeric-owner --same-owner -p --xattrs
  sync -f /dst
  ;;
wipe)
  find /data -mindepth 1 -maxdepth 1 -exec rm -rf {} +
  # The root's owner and mode as they were before the restore (tar gave it the archive's).
  case "${1:-}" in
  *[!0-9:]* | '') ;;
  *) chown "${1%:*}" /data && chmod "${1##*:}" /data ;;
  esac
  ;;
digest)
  # Names, types, modes, owners, sizes, mtimes and file contents of the tree. Not sockets:
  # tar never copies them (a database's socket in its data directory), and they hold no data.
  cd /data
  # A directory's own size is a filesystem artifact (it never shrinks), not data.
  {
    stat -c '%n %f %u %g' .
    find . -mindepth 1 -type d -exec stat -c '%n %f %u %g %Y' {} + | sort
    find . -mindepth 1 ! -type d ! -type s -exec stat -c '%n %f %u %g %s %Y' {} + | sort
    find . -type f -exec sha256sum {} + | sort -k2
  } | sha256sum | cut -c1-64
  ;;
*) echo "unknown helper op $op" >&2; exit 2 ;;
esac

# shellcheck shell=sh
# The helper container's script for backup-volume.sh (a POSIX sh with pipefail, GNU tar, zstd), run as
# `sh -c "$HELPER_SH" lifeboat-helper OP ARGS...` and inlined there at assembly.
set -eu
# bash (as sh) and busybox sh have pipefail; dash does not.
# shellcheck disable=SC3040
set -o pipefail
op="$1"; shift
case "$op" in
probe)
  # The tools, then the size and entry count of /data and its top-level names: one container run.
  /usr/bin/tar --version | head -1 | grep -q 'GNU tar' || { echo 'helper image lacks GNU tar' >&2; exit 3; }
  [ -x /usr/bin/zstd ] || { echo 'helper image lacks zstd' >&2; exit 3; }
  printf '%s %s\n' "$(du -sb /data | cut -f1)" "$(find /data -mindepth 1 | wc -l)"
  # The top-level names (plain ones, at most 64): the manifest's dataMarkers, which tell the engine.
  printf 'names=%s\n' "$(find /data -mindepth 1 -maxdepth 1 | sed 's|^/data/||' | grep -E '^[A-Za-z0-9_.-]{1,64}$' | sort | head -n 64 | tr '\n' ' ' | sed 's/ $//')"
  ;;
archive)
  # Into the FIFO the host reads (not the container's stdout: Docker's attach
  # stream halves the throughput). 1 MiB tar records: fewer, larger pipe writes.
  /usr/bin/tar -C /data -b 2048 -c -f - --numeric-owner --xattrs --totals . | /usr/bin/zstd -q -c -T0 "-$1" >/io/stream
  ;;
*) echo "unknown helper op $op" >&2; exit 2 ;;
esac

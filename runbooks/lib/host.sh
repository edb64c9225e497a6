# shellcheck shell=bash
# Host-side plumbing shared by both documents: the per-target lock and FIFO release.

# One Lifeboat run per volume or host directory at a time, restore or backup:
# a second restore would merge into the first's new volume (docker volume
# create returns an existing volume), and a backup taken mid-restore would
# archive half the data. /run is a root-only tmpfs: a reboot frees the locks,
# and no other user can plant a symlink where root opens the lock file.
LOCK_DIR=/run/lifeboat
take_host_lock() {
  command -v flock >/dev/null || fail failed "flock (util-linux) is not installed on this host"
  local name
  if [[ -n "$P_VolumeName" ]]; then
    name="volume-$P_VolumeName"
  else
    name="path-$(printf '%s' "$P_HostPath" | sha256sum | cut -c1-32)"
  fi
  local dir="$LOCK_DIR"
  [[ -e "$dir" ]] || mkdir -m 0700 "$dir" 2>/dev/null || :  # another run may make it first
  [[ -d "$dir" && ! -L "$dir" && -O "$dir" ]] || fail failed "cannot use $dir for locks (missing, a symlink, or not owned by $(id -un))"
  exec {HOST_LOCK_FD}>>"$dir/$name.lock"
  flock -n "$HOST_LOCK_FD" \
    || fail refused "another Lifeboat restore or backup of ${P_VolumeName:-$P_HostPath} is running on this host; nothing was changed (try again when it has finished)"
}

# A FIFO's open blocks until its other end is opened too. When one side of a
# transfer has ended, the other may be waiting there: give it a peer for a
# moment (open read-write, close) until it ends; it then sees EOF or EPIPE.
release_fifo() {  # FIFO PID
  local i fd
  for (( i = 0; i < 50; i++ )); do
    kill -0 "$2" 2>/dev/null || return 0
    { exec {fd}<>"$1" && exec {fd}>&-; } 2>/dev/null || :
    sleep 0.1
  done
}

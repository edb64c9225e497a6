#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Lifeboat restore-volume. Reads its parameters from SSM_<name> variables
# (interpolationType ENV_VAR), validates each again here, and never splices
# a value into code: values are passed as quoted arguments.
set -Eeuo pipefail
shopt -s inherit_errexit
umask 077
export LC_ALL=C

# Shared functions (runbooks/lib), inlined here at assembly.
# shellcheck source=../lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../lib/params.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../lib/params.sh"
# shellcheck source=../lib/host.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../lib/host.sh"
# shellcheck source=../lib/images.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../lib/images.sh"
# shellcheck source=../lib/sourced.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../lib/sourced.sh"
# Labels, networks and aliases for Compose-managed services (compose.sh beside this file).
# shellcheck source=compose.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/compose.sh"
# The download: one stream, or ranges over several connections (fetch.sh beside this file).
# shellcheck source=fetch.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/fetch.sh"

# ---------------------------------------------------------------- helper
# The helper container's script (helper.sh beside this file: a POSIX sh with pipefail,
# GNU tar, zstd), inlined here as a heredoc at assembly.
read -r -d '' HELPER_SH <"$(dirname -- "${BASH_SOURCE[0]}")/helper.sh" || :  # read returns 1 at EOF by design

# ------------------------------------------------------------- state
RESULT_PRINTED=0
PID_FILE=""
WATCHDOG_PID=""
OUTCOME=failed
FAILED_PHASE=""
ERROR=""
PHASE=preflight
declare -A SECONDS_BY_PHASE=()
PHASE_STARTED_US=0
STARTED_US=0
BYTES=0
SHA256=""
CODEC=""
PRESERVED=""
ROLLED_BACK=false
CONTAINER_ACTION=none
VERIFY_OUTPUT=""
DATA_NAMES=""  # top-level names of the restored data (the helper lists them), for Verify=auto
STRIPPED_SETID=0
DATA_ROOT=""
DOCKER_ROOT="" DOCKER_HOSTNAME=""  # dockerd's DockerRootDir and host name (preflight)
WORK=""
STAGE=""
STOPPED_CONTAINER=0
ORIGINAL_DIGEST=""

# The compensation stack: each host-side change registers its undo (a function name)
# where it is made; a failed run unwinds them newest first (rollback).
UNDO=()
on_undo() { UNDO+=("$1"); }
# The database comes back last, once its data is back: at the bottom of the stack, once.
on_undo_at_end() {
  local f
  for f in "${UNDO[@]}"; do [[ "$f" != "$1" ]] || return 0; done
  UNDO=("$1" "${UNDO[@]}")
}
# An undo no longer needed (or no longer wanted) leaves the stack.
drop_undo() {
  local f
  local -a kept=()
  for f in "${UNDO[@]}"; do [[ "$f" == "$1" ]] || kept+=("$f"); done
  UNDO=("${kept[@]}")
}
# A change and its undo's registration, as one step for a TERM or INT: bash acts on a signal
# once the command running when it came has ended, which could be between a change and its
# on_undo (the change kept, its undo never run). One that comes between hold_signals and
# release_signals is acted on at release_signals (no held region waits with `wait`, which a
# signal would end). Where the undo is harmless before the change (starting a container that
# runs, stopping one that does not), it is registered first instead. Both cover a TERM or INT
# sent to the script itself, as cancel-restore and the watchdog send them; one sent to the
# whole process group also ends the change's own command, which docker may still complete.
HOLD=0 HELD=0
hold_signals() { HOLD=1; }
release_signals() {
  HOLD=0
  if (( HELD )); then interrupted; fi
}

log() { printf '[lifeboat restore %s] %s\n' "${P_RestoreId:-?}" "$*" >&2; }

print_result() {
  local total phases="" k
  phase finished
  total=$(( ${EPOCHREALTIME/./} - STARTED_US ))
  for k in preflight download extract swap start verify cleanup; do
    phases+="${phases:+,}\"$k\":$(secs "${SECONDS_BY_PHASE[$k]:-0}")"
  done
  printf '{"lifeboat":"restore-result","version":1,"restoreId":%s,"mode":"%s","outcome":"%s","failedPhase":%s,"error":%s,"volume":%s,"hostPath":%s,"container":%s,"containerAction":"%s","bytes":%s,"sha256":%s,"compression":%s,"preservedVolume":%s,"rolledBack":%s,"engine":%s,"verifyOutput":%s,"strippedSetid":%s,"dataRoot":%s,"helper":%s,"containerImage":%s,"phases":{%s},"totalSeconds":%s}\n' \
    "$(json_str "${P_RestoreId:-}")" "${P_Mode:-restore}" "$OUTCOME" "$(json_or_null "$FAILED_PHASE")" "$(json_or_null "$ERROR")" \
    "$(json_or_null "${P_VolumeName:-}")" "$(json_or_null "${P_HostPath:-}")" "$(json_or_null "${P_ContainerName:-}")" \
    "$CONTAINER_ACTION" "$BYTES" "$(json_or_null "$SHA256")" "$(json_or_null "$CODEC")" \
    "$(json_or_null "$PRESERVED")" "$ROLLED_BACK" "$(json_or_null "$ENGINE")" "$(json_or_null "$VERIFY_OUTPUT")" "$STRIPPED_SETID" "$(json_or_null "$DATA_ROOT")" "$(helper_json)" "$(container_image_json)" "$phases" "$(secs "$total")"
  RESULT_PRINTED=1
}

# ------------------------------------------------------------ params
# PATTERN and MAXCHARS: generated from restore-volume.yaml's parameters at assembly.
declare -A PATTERN=() MAXCHARS=()
# Engine profiles (ENGINE_* tables, engine_argv, engine_check_allowed, ...): generated at
# assembly from functions/core/engines/; change them there.
# shellcheck disable=SC2034 # the raw file's placeholder; assembly replaces this line
declare -a ENGINE_NAMES=()
DRILL_NAME='^lifeboat-drill-[a-z0-9-]{1,60}$'

load_params() {
  read_params
  check_host_path "choose a data directory such as /srv/... or /data/..."
  check_verify_params
  check_compose_params
  [[ "$P_ContainerNetwork" != host ]] || fail refused "ContainerNetwork host would widen the container's privileges; use a bridge network"
  if [[ "$P_Mode" == drill ]]; then
    # A drill may only create and then remove things of its own.
    [[ "$P_VolumeName" =~ $DRILL_NAME && -z "$P_HostPath" ]] || fail refused "a drill restores into a throwaway volume named lifeboat-drill-..., not $P_VolumeName$P_HostPath"
    [[ "$P_ContainerName" =~ $DRILL_NAME ]] || fail refused "a drill starts a throwaway container named lifeboat-drill-..., not ${P_ContainerName:-(none)}"
    [[ "$P_IfVolumeExists" == fail ]] || fail refused "a drill never preserves or replaces data: IfVolumeExists must be fail"
    [[ -n "$P_ContainerImage" ]] || fail refused "a drill needs ContainerImage to start its throwaway database"
    [[ -z "$P_VolumeDriverOpts" && ( -z "$P_VolumeDriver" || "$P_VolumeDriver" == local ) ]] \
      || fail refused "a drill restores into a plain local volume: driver options could point at the production data (e.g. the same NFS export)"
  fi
  check_driver_opts
}

# How the run proves the database answers. The engine's own check rules apply to
# VerifyQuery (the same as the service's); with auto they apply once the engine is known.
ENGINE=""
check_verify_params() {
  if [[ -z "$P_ContainerName" ]]; then
    [[ "$P_Verify" == none || "$P_Verify" == auto ]] || fail refused "Verify=$P_Verify needs a ContainerName (a data-only restore has no database to ask)"
    [[ -z "$P_VerifyQuery$P_ExpectMinimum$P_HealthCommand" ]] \
      || fail refused "VerifyQuery, ExpectMinimum and HealthCommand need a ContainerName (a data-only restore has no database to ask)"
    ENGINE=none
    return 0
  fi
  if [[ "$P_Verify" == custom ]]; then
    [[ -n "$P_HealthCommand" ]] || fail refused "Verify=custom needs HealthCommand (a program and its arguments, one space apart)"
  else
    [[ -z "$P_HealthCommand" ]] || fail refused "HealthCommand is for Verify=custom only; $P_Verify has its own"
  fi
  [[ -z "$P_ExpectMinimum" || "$P_Verify" != running && "$P_Verify" != none ]] \
    || fail refused "ExpectMinimum needs a check; Verify=$P_Verify runs none"
  [[ "$P_Verify" == auto ]] || use_engine "$P_Verify"
}

# use_engine ENGINE: the run verifies as ENGINE; its check text must suit it.
use_engine() {
  ENGINE="$1"
  if [[ -n "$P_VerifyQuery" ]]; then
    case "$ENGINE" in
      running|none) fail refused "VerifyQuery: Verify=$ENGINE runs no check" ;;
      *) engine_check_allowed "$ENGINE" "$P_VerifyQuery" \
           || fail refused "VerifyQuery does not suit $ENGINE's check rules (functions/core/engines/checks.ts); nothing was run" ;;
    esac
  fi
  return 0
}

# With Verify=auto, once the data is restored: the one engine whose data markers are
# among its top-level names (as the helper listed them).
decide_engine() {
  [[ -z "$ENGINE" ]] || return 0
  local found
  # shellcheck disable=SC2086 # the helper's names are words of [A-Za-z0-9_.-]
  found="$(engine_from_names $DATA_NAMES)" \
    || fail refused "Verify=auto: the restored data does not show which engine it is (top level: ${DATA_NAMES:-nothing}); give Verify (postgres, mysql, redis, mongodb, custom, running or none)"
  log "engine: $found, told from the restored data"
  use_engine "$found"
}

# A created volume's options decide what the host mounts: never a disk or a
# device of this host, never a bind of a host directory; network filesystems
# and tmpfs only. Refused before anything is created.
check_driver_opts() {
  local opt dev="" type=""
  local -a opts=()
  read -r -a opts <<<"$P_VolumeDriverOpts"
  for opt in "${opts[@]}"; do
    case "$opt" in
      o=*bind*|type=none|type=bind) fail refused "VolumeDriverOpts $opt would bind a host directory; use HostPath for bind targets" ;;
      type=nfs|type=nfs4|type=cifs|type=tmpfs) type="${opt#type=}" ;;
      type=*) fail refused "VolumeDriverOpts $opt: only network filesystems (nfs, nfs4, cifs) and tmpfs may back a created volume" ;;
      device=*) dev="${opt#device=}" ;;
    esac
  done
  [[ -z "$dev" || -n "$type" ]] || fail refused "VolumeDriverOpts device=$dev needs type= (nfs, nfs4, cifs or tmpfs)"
  if [[ "$dev" == /* ]]; then
    local real
    real="$(realpath -m -- "$dev")"
    if [[ "$dev" == /dev || "$dev" == /dev/* || "$real" == /dev || "$real" == /dev/* || -b "$dev" || -c "$dev" ]]; then
      fail refused "VolumeDriverOpts device=$dev names a device of this host; a created volume is never backed by a local disk"
    fi
  fi
}

# Every ancestor of a HostPath target must be a root-owned directory no one else
# can write: otherwise another user could swap a path component for a symlink
# between the checks and root's writes.
check_host_path_ancestors() {
  local dir
  dir="$(dirname -- "$P_HostPath")"
  while :; do
    if [[ -e "$dir" || -L "$dir" ]]; then
      [[ -d "$dir" && ! -L "$dir" ]] || fail refused "HostPath ancestor $dir is not a plain directory"
      local owner mode
      read -r owner mode < <(stat -c '%u %a' -- "$dir")
      [[ "$owner" == 0 ]] || fail refused "HostPath ancestor $dir is not owned by root"
      (( (8#$mode & 8#022) == 0 )) || fail refused "HostPath ancestor $dir is writable by group or others (mode $mode)"
    fi
    [[ "$dir" != / ]] || break
    dir="$(dirname -- "$dir")"
  done
}

# ------------------------------------------------------------ docker
HELPER_N=0
# helper MOUNT_ARGS... -- OP ARGS...: run one helper op, no network, few capabilities.
helper() {
  local -a mounts=()
  while [[ "$1" != -- ]]; do mounts+=("$1"); shift; done
  shift
  HELPER_N=$(( HELPER_N + 1 ))
  docker run --rm --network none --read-only --tmpfs /tmp \
    --cap-drop ALL --cap-add CHOWN --cap-add DAC_OVERRIDE --cap-add FOWNER --cap-add FSETID \
    --security-opt no-new-privileges \
    --name "lifeboat-helper-$P_RestoreId-$BASHPID-$HELPER_N" \
    --label "lifeboat.restore-id=$P_RestoreId" --label lifeboat.role=helper \
    "${mounts[@]}" --entrypoint /bin/sh "$HELPER_IMAGE" -c "$HELPER_SH" lifeboat-helper "$@"
}
# One --mount spec for a volume or a host directory. --mount never copies image
# content in (volume-nocopy); callers only mount volumes they checked exist.
mnt() {  # KIND NAME DEST [ro]
  local ro=""
  [[ "${4:-}" == ro ]] && ro=",readonly"
  if [[ "$1" == volume ]]; then
    printf 'type=volume,src=%s,dst=%s,volume-nocopy%s' "$2" "$3" "$ro"
  else
    printf 'type=bind,src=%s,dst=%s%s' "$2" "$3" "$ro"
  fi
}
volume_exists() { docker volume inspect "$1" >/dev/null 2>&1; }
container_state() { docker inspect -f "$(gotpl '<%.State.Status%>')" "$1" 2>/dev/null || :; }  # empty when absent

# -------------------------------------------------------- preflight
TRANSFER_WRITER="" TRANSFER_READER="" TRANSFER_HASH=""
STARTED_AS=""
RUNS_DIR=/var/lib/lifeboat/runs
MARKER=""
TARGET_KIND=volume
TARGET=""
TARGET_STATE=absent   # absent | empty | nonempty
TARGET_FREE_KB=""
TARGET_ROOT=""        # an empty volume's root owner:group:mode, put back by a wipe
CONTAINER_WAS=absent  # absent | running | stopped

# A restore into a volume it creates marks it on disk until the run has ended,
# so that a run killed hard (host reboot, SIGKILL: no trap runs) is known to
# the next one, which removes the half-filled volume instead of taking it for
# the user's data. Only a volume carrying that run's own labels is removed.
# A volume created with VolumeLabels carries no label of Lifeboat's: its creation time,
# added to the marker once it exists, tells it apart instead.
marker_path() { printf '%s' "$RUNS_DIR/volume-$TARGET"; }
mark_created_target() {
  [[ -d "$RUNS_DIR" ]] || { mkdir -p "$RUNS_DIR" && chmod 0700 "$RUNS_DIR"; }
  MARKER="$(marker_path)"
  printf '%s\n' "$P_RestoreId" >"$MARKER"
}
volume_label() { docker volume inspect -f "$(gotpl "<%index .Labels \"$2\"%>")" "$1" 2>/dev/null | head -c 200; }  # NAME KEY
volume_created_at() { docker volume inspect -f "$(gotpl '<%.CreatedAt%>')" "$1" 2>/dev/null | head -c 64 | tr -dc 'A-Za-z0-9:.+-'; }
reclaim_interrupted_target() {
  [[ "$TARGET_KIND" == volume ]] || return 0
  local marker id created labels
  marker="$(marker_path)"
  [[ -f "$marker" && ! -L "$marker" ]] || return 0
  id="$(head -n 1 "$marker" | head -c 100 | tr -dc 'A-Za-z0-9_.-')"
  created="$(sed -n '2s/^created=//p' "$marker" | head -c 64 | tr -dc 'A-Za-z0-9:.+-')"
  if volume_exists "$TARGET"; then
    labels="$(docker volume inspect -f "$(gotpl '<%index .Labels "lifeboat.role"%> <%index .Labels "lifeboat.restore-id"%>')" "$TARGET")"
    local ours=0
    [[ -n "$id" && "$labels" == "restored $id" ]] && ours=1
    [[ -n "$id" && -n "$created" && "$(volume_created_at "$TARGET")" == "$created" ]] && ours=1
    if [[ "$ours" == 1 && -z "$(docker ps -aq --filter "volume=$TARGET")" ]]; then
      log "removing volume $TARGET: restore $id created it and was stopped before it finished (host reboot or kill); it never held your data"
      docker volume rm "$TARGET" >/dev/null
    else
      log "keeping volume $TARGET: it is not the volume interrupted restore $id created"
    fi
  fi
  rm -f -- "$marker"
}

preflight() {
  # (A docker CLI before 28.1 exits 0 with an empty line when it cannot reach the engine.)
  DOCKER_ROOT="$(docker info -f "$(gotpl '<%.DockerRootDir%> <%.Name%>')" 2>/dev/null)" || DOCKER_ROOT=""
  [[ "$DOCKER_ROOT" == /* ]] || fail failed "the Docker engine is not reachable (is dockerd running?)"
  DOCKER_HOSTNAME="${DOCKER_ROOT##* }" DOCKER_ROOT="${DOCKER_ROOT% *}"
  acquire_helper

  if [[ -n "$P_VolumeName" ]]; then
    TARGET_KIND=volume; TARGET="$P_VolumeName"
  else
    TARGET_KIND=bind; TARGET="$P_HostPath"
  fi
  reclaim_interrupted_target
  [[ "$TARGET_KIND" != bind ]] || check_host_path_ancestors
  if [[ "$TARGET_KIND" == volume ]] && volume_exists "$TARGET"; then
    local n probe
    probe="$(probe_volume "$TARGET")"
    read -r n TARGET_FREE_KB TARGET_ROOT <<<"$probe"
    if [[ "$n" == 0 ]]; then TARGET_STATE=empty; else TARGET_STATE=nonempty; fi
  elif [[ "$TARGET_KIND" == bind && -e "$TARGET" ]]; then
    [[ -d "$TARGET" && ! -L "$TARGET" ]] || fail refused "HostPath $TARGET exists and is not a directory"
    # A filesystem mounted there (a data disk) can be neither moved aside nor staged beside.
    ! mountpoint -q -- "$TARGET" \
      || fail refused "HostPath $TARGET is a mount point (a filesystem of its own): give a directory inside it; nothing was changed"
    if [[ -z "$(find "$TARGET" -mindepth 1 -maxdepth 1 -print -quit)" ]]; then TARGET_STATE=empty; else TARGET_STATE=nonempty; fi
  fi
  log "target $TARGET_KIND $TARGET is $TARGET_STATE"
  # absent: a restore on a host shared with other sources may only make a new volume or directory.
  if [[ "$P_Mode" == drill || "$P_IfVolumeExists" == absent ]]; then
    [[ "$TARGET_STATE" == absent ]] || fail refused "$TARGET_KIND $TARGET exists (IfVolumeExists=$P_IfVolumeExists, Mode=$P_Mode); nothing was changed"
    [[ -z "$(container_state "$P_ContainerName")" ]] || fail refused "drill container $P_ContainerName already exists; a drill only uses names of its own"
  fi
  if [[ "$TARGET_STATE" == nonempty && "$P_IfVolumeExists" != preserve ]]; then
    fail refused "$TARGET_KIND $TARGET already holds data; nothing was changed. Re-run with IfVolumeExists=preserve to keep the current contents in a labelled copy"
  fi
  check_free_space

  if [[ -n "$P_ContainerName" ]]; then
    case "$(container_state "$P_ContainerName")" in
      "") CONTAINER_WAS=absent ;;
      running|restarting|paused) CONTAINER_WAS=running ;;
      *) CONTAINER_WAS=stopped ;;
    esac
    if [[ "$CONTAINER_WAS" == absent && -z "$P_ContainerImage" ]]; then
      fail refused "container $P_ContainerName does not exist and no ContainerImage was given to recreate it"
    fi
    if [[ "$CONTAINER_WAS" == absent && -z "$P_MountPath" && -n "$ENGINE" && -z "${ENGINE_MOUNT_PATH[$ENGINE]:-}" ]]; then
      fail refused "container $P_ContainerName is to be recreated: give MountPath (Verify=$ENGINE has no default)"
    fi
    if [[ "$CONTAINER_WAS" != absent ]]; then
      check_container_mount
    fi
    if [[ "$CONTAINER_WAS" == absent && -n "$P_ContainerEnvNames" ]]; then
      check_env_file
    fi
    check_recreate
    [[ "$CONTAINER_WAS" != absent ]] || acquire_container_image
  fi
  # Another running container using the target would have data pulled from under it.
  if [[ "$TARGET_KIND" == volume && "$TARGET_STATE" != absent ]]; then
    local other
    other="$(docker ps --filter "volume=$TARGET" --format "$(gotpl '<%.Names%>')" | grep -vxF -- "${P_ContainerName:-}" || :)"  # grep exits 1 when none: fine
    [[ -z "$other" ]] || fail refused "volume $TARGET is in use by running container(s) $other; stop them first"
  fi
  remove_stale_leftovers
}

# A container recreated from ContainerImage: the image is used when present, else pulled
# (after an ECR login when it is in ECR), before anything is changed.
CONTAINER_IMAGE="" CONTAINER_IMAGE_SOURCE="" CONTAINER_IMAGE_DIGEST=""
acquire_container_image() {
  CONTAINER_IMAGE="$P_ContainerImage" CONTAINER_IMAGE_SOURCE=present
  docker image inspect "$CONTAINER_IMAGE" >/dev/null 2>&1 && return 0
  if ! pull_image "$CONTAINER_IMAGE"; then
    local hint="check that this host reaches the image's registry, or docker load the image here"
    ! ecr_registry "$CONTAINER_IMAGE" \
      || hint="the host role needs a pull of that repository: the stack's HostPolicy<source> grants it for the ECR entries of allowedImages (another account's repository also needs a repository policy)"
    fail failed "image $CONTAINER_IMAGE is not on this host and cannot be pulled ($PULL_ERROR); $hint; nothing was changed"
  fi
  CONTAINER_IMAGE_SOURCE=pulled
  log "image $CONTAINER_IMAGE was not on this host: pulled it"
}
container_image_json() {
  [[ -n "$CONTAINER_IMAGE_DIGEST" ]] || { printf 'null'; return 0; }
  printf '{"image":%s,"digest":%s,"source":"%s"}' "$(json_str "$CONTAINER_IMAGE")" "$(json_str "$CONTAINER_IMAGE_DIGEST")" "$CONTAINER_IMAGE_SOURCE"
}

# An existing container must mount the target at MountPath, or restarting it
# would not bring the restored data up.
check_container_mount() {
  local type name source dest found=""
  while read -r type name source dest; do
    if [[ -z "$P_MountPath" ]]; then
      # No MountPath given: wherever the container mounts the target.
      if [[ "$TARGET_KIND" == volume && "$type" == volume && "$name" == "$TARGET" ]] \
        || [[ "$TARGET_KIND" == bind && "$type" == bind && "$source" == "$TARGET" ]]; then P_MountPath="$dest"; return 0; fi
      continue
    fi
    [[ "$dest" == "$P_MountPath" ]] || continue
    found="$type $name $source"
    if [[ "$TARGET_KIND" == volume && "$type" == volume && "$name" == "$TARGET" ]]; then return 0; fi
    if [[ "$TARGET_KIND" == bind && "$type" == bind && "$source" == "$TARGET" ]]; then return 0; fi
  done < <(docker inspect -f "$(gotpl '<%range .Mounts%><%.Type%> <%if .Name%><%.Name%><%else%>-<%end%> <%.Source%> <%.Destination%><%"\n"%><%end%>')" "$P_ContainerName")
  fail refused "container $P_ContainerName mounts ${found:-nothing} at ${P_MountPath:-any path}, not $TARGET_KIND $TARGET; nothing was changed"
}

# Env files come only from a root-only directory, owned by root, mode 0600; and only
# the named variables reach the container, through a private copy (never the whole file).
ENV_COPY=""
check_env_file() {
  [[ -n "$P_ContainerEnvFile" ]] || fail refused "container needs environment variables $P_ContainerEnvNames; give ContainerEnvFile (a file in /etc/lifeboat/env/) with their values"
  local f="$P_ContainerEnvFile" d owner mode
  d="$(dirname -- "$f")"
  [[ -d "$d" && ! -L "$d" ]] || fail refused "ContainerEnvFile: $d does not exist; create it owned by root, mode 0700"
  read -r owner mode < <(stat -c '%u %a' -- "$d")
  [[ "$owner" == 0 && $(( 8#$mode & 8#022 )) == 0 ]] || fail refused "ContainerEnvFile: $d must be owned by root and writable by no one else"
  [[ -f "$f" && ! -L "$f" ]] || fail refused "ContainerEnvFile $f does not exist (or is not a regular file)"
  read -r owner mode < <(stat -c '%u %a' -- "$f")
  [[ "$owner" == 0 && "$mode" == 600 ]] || fail refused "ContainerEnvFile $f must be owned by root with mode 0600 (it is $owner, $mode)"
  local name line missing=""
  local -a names
  IFS=, read -r -a names <<<"$P_ContainerEnvNames"
  ENV_COPY="$WORK/container.env"
  : >"$ENV_COPY"
  for name in "${names[@]}"; do
    line="$(grep -m 1 -- "^$name=" "$f" || :)"  # grep exits 1 when absent: counted below
    if [[ -z "$line" ]]; then missing+="${missing:+,}$name"; else printf '%s\n' "$line" >>"$ENV_COPY"; fi
  done
  [[ -z "$missing" ]] || fail refused "ContainerEnvFile lacks $missing"
}

# Free space: the restored data plus a margin must fit before anything is created
# (a preserve also holds the old data, a staging copy and the preserved copy).
kib() { printf '%s' $(( ($1 + 1023) / 1024 )); }
limit_bytes() { printf '%s' $(( P_ExpectedUncompressedBytes + P_ExpectedUncompressedBytes / 10 + 64 * 1024 * 1024 )); }
# A tenth of the free space (at most 1 GiB) is left free: the filesystem may hold other
# databases, and an archive whose manifest overstates its size (a bomb) must not fill it.
keep_kb() { printf '%s' $(( $1 / 10 < 1048576 ? $1 / 10 : 1048576 )); }
need_space() {  # WHERE FREE_KB NEED_KB
  local keep; keep="$(keep_kb "$2")"
  (( $2 >= $3 + keep )) || fail refused "not enough free space on $1: $(( $2 / 1024 )) MiB free, the restore needs $(( ($3 + keep) / 1024 )) MiB (the archive's expected uncompressed size plus a margin, and $(( keep / 1024 )) MiB kept free); nothing was changed"
}
docker_free_kb() { df -Pk -- "$DOCKER_ROOT/volumes" | awk 'NR == 2 { print $4 }'; }
check_free_space() {
  [[ -n "$P_ExpectedUncompressedBytes" ]] || return 0
  local new
  new="$(kib "$(limit_bytes)")"
  if [[ "$TARGET_KIND" == bind ]]; then
    local dir="$TARGET"
    while [[ ! -d "$dir" ]]; do dir="$(dirname -- "$dir")"; done
    need_space "the filesystem of $TARGET" "$(df -Pk -- "$dir" | awk 'NR == 2 { print $4 }')" "$new"
  elif [[ "$TARGET_STATE" == nonempty ]]; then
    local old
    old="$(helper --mount "$(mnt volume "$TARGET" /data ro)" -- usage)"
    need_space "Docker's volume storage (staging and preserved copies)" "$(docker_free_kb)" $(( (old + new > 2 * new ? old + new : 2 * new) ))
    need_space "volume $TARGET" $(( TARGET_FREE_KB + old )) "$new"
  elif [[ "$TARGET_STATE" == empty ]]; then
    need_space "volume $TARGET" "$TARGET_FREE_KB" "$new"
  elif [[ -z "$P_VolumeDriverOpts" && -z "$P_VolumeDriver" ]]; then
    need_space "Docker's volume storage" "$(docker_free_kb)" "$new"
  fi  # a volume on other storage is measured once it exists (check_created_volume)
}

# probe_volume NAME: "ENTRIES FREE_KIB UID:GID:MODE" (its root), looked at from here when it is a plain local volume
# (a directory of dockerd's; a helper container takes most of a second to start), else by a
# helper: also when dockerd is not this host's (another name: DOCKER_HOST, a context) and while
# a container may yet be stopped (the helper's first run proves it works before that).
probe_volume() {
  local d n free root
  [[ "$DOCKER_HOSTNAME" == "$HOSTNAME" && ( -z "$P_ContainerName" || ( "$PHASE" != preflight && "$CONTAINER_WAS" != running ) ) ]] \
    && d="$(docker volume inspect -f "$(gotpl '<%.Driver%> <%len .Options%> <%.Mountpoint%>')" "$1")" && [[ "$d" =~ ^local\ 0\ (/[A-Za-z0-9._/-]+)$ ]] \
    && d="${BASH_REMATCH[1]}" && [[ -d "$d" && ! -L "$d" ]] && n="$(set -o pipefail; find "$d" -mindepth 1 -maxdepth 1 -printf . | wc -c)" \
    && free="$(df -Pk -- "$d" | awk 'NR == 2 { print $4 }')" && [[ "$free" =~ ^[0-9]+$ ]] && root="$(stat -c %u:%g:%a -- "$d")" && echo "$n $free $root" && return
  helper --mount "$(mnt volume "$1" /data ro)" -- probe
}
# A volume this run created must be empty, like any existing target: storage that
# already holds data (an NFS export, a tmpfs of someone's) is refused, never merged into.
check_created_volume() {
  local n free probe
  probe="$(probe_volume "$TARGET" 2>"$WORK/probe.err")" || fail failed "the new volume $TARGET cannot be mounted with its driver options: $(grep -v '^$' "$WORK/probe.err" | tail -n 1 | sed 's/\(pass\(word\)\{0,1\}\|credentials\)=[^,]*/\1=***/g' | head -c 300)"
  read -r n free _ <<<"$probe"
  if [[ "$n" != 0 ]]; then
    if [[ -n "$P_VolumeDriver" && "$P_VolumeDriver" != local ]]; then
      drop_undo remove_created_volume  # removing a plugin's volume may delete its storage: keep it
      rm -f -- "$MARKER"; MARKER=""
      fail refused "volume $TARGET was created on storage that already holds data ($n entries); nothing was written to it. It is left as it is (driver $P_VolumeDriver): check what it points at"
    fi
    fail refused "volume $TARGET was created on storage that already holds data ($n entries); nothing was written to it and the volume was removed (the storage itself is untouched)"
  fi
  if [[ -n "$P_ExpectedUncompressedBytes" ]]; then need_space "volume $TARGET" "$free" "$(kib "$(limit_bytes)")"; fi
}

# A run killed hard (reboot, SIGKILL) cannot clean up; the next run does,
# touching only objects labelled as staging for this same target.
remove_stale_leftovers() {
  local c v
  while read -r c; do
    [[ -n "$c" ]] && { log "removing leftover helper container $c"; docker rm -f "$c" >/dev/null 2>&1 || :; }
  done < <(docker ps -aq --filter label=lifeboat.role=helper --filter status=exited)
  [[ "$TARGET_KIND" == volume ]] || return 0
  while read -r v; do
    [[ -n "$v" ]] || continue
    if [[ -z "$(docker ps -aq --filter "volume=$v")" ]]; then
      log "removing staging volume $v left by an interrupted restore"
      docker volume rm "$v" >/dev/null
    fi
  done < <(docker volume ls -q --filter label=lifeboat.role=staging --filter "label=lifeboat.target=$TARGET")
}

# ---------------------------------------------------- download+extract
detect_codec() {
  local magic code
  code="$(curl --globoff --proto '=https,http' --silent --show-error --max-time 60 --retry 3 \
    --range 0-5 --output "$WORK/magic" --write-out '%{http_code}' -- "$P_ArchiveUrl" 2>"$WORK/curl.err")" || code="${code:-000}"
  case "$code" in
    200|206) ;;
    000) fail failed "archive URL is unreachable: $(head -c 300 "$WORK/curl.err")" ;;
    403) fail failed "archive URL answered HTTP 403 (expired or wrong presigned URL?)" ;;
    404) fail failed "archive URL answered HTTP 404 (no such archive)" ;;
    *) fail failed "archive URL answered HTTP $code" ;;
  esac
  magic="$(od -An -tx1 -N6 "$WORK/magic" | tr -d ' \n')"
  case "$magic" in
    1f8b*) CODEC=gzip ;;
    28b52ffd*) CODEC=zstd ;;
    fd377a585a00) CODEC=xz ;;
    425a68*) CODEC=bzip2 ;;
    *) CODEC=none ;;
  esac
  log "archive compression: $CODEC"
}

create_volume() {  # NAME ROLE [use driver options]
  local -a args=(volume create --label "lifeboat.restore-id=$P_RestoreId" --label "lifeboat.role=$2" --label "lifeboat.target=$TARGET")
  # The target with VolumeLabels: those alone (Compose warns about any label it did not write).
  [[ "$2" != restored || ${#VOLUME_LABEL_ARGS[@]} == 0 ]] || args=(volume create "${VOLUME_LABEL_ARGS[@]}")
  if [[ "${3:-}" == with-driver ]]; then
    [[ -n "$P_VolumeDriver" ]] && args+=(--driver "$P_VolumeDriver")
    local opt
    local -a opts=()
    read -r -a opts <<<"$P_VolumeDriverOpts"
    for opt in "${opts[@]}"; do args+=(--opt "$opt"); done
  fi
  docker "${args[@]}" "$1" >/dev/null
}

# While the data comes in, its filesystem keeps a twentieth of its size (1 GiB at most) and of
# its inodes free: the tar stream's bytes count neither blocks nor inodes, and restores into
# other volumes at once each passed their own free-space check. Below that, extraction stops.
space_low() {  # DIR
  local -a d
  read -r -a d <<<"$(df -k --output=size,avail,itotal,iavail -- "$1" 2>/dev/null | tail -n +2)"
  [[ "${d[*]}" =~ ^[0-9]+\ [0-9]+ ]] || return 1
  (( d[1] < (d[0] / 20 < 1048576 ? d[0] / 20 : 1048576) )) && return 0
  [[ "${d[3]:-}" =~ ^[0-9]+$ ]] && (( d[3] < d[2] / 20 ))
}
guard_space() {  # DIR READER
  while kill -0 "$2" 2>/dev/null && kill -0 $$ 2>/dev/null; do
    if space_low "$1"; then
      : >"$WORK/space-low"
      docker ps -q --filter "label=lifeboat.restore-id=$P_RestoreId" --filter label=lifeboat.role=helper | xargs -r docker kill >/dev/null 2>&1
      return 0
    fi
    sleep 0.5
  done
}

# Streams the archive through sha256 and into tar in the helper; no copy on disk.
# The helper reads it from a FIFO in a private folder mounted read-only.
transfer() {  # DEST_KIND DEST
  local st xst dir="" guard=""
  # The host directory the data lands in (a volume's only when this host runs its Docker engine).
  if [[ "$1" == bind ]]; then dir="$2"; elif [[ "$DOCKER_HOSTNAME" == "$HOSTNAME" ]]; then dir="$(docker volume inspect -f "$(gotpl '<%.Mountpoint%>')" "$2" 2>/dev/null)" || dir=""; fi
  [[ "$WORK" =~ ^/[A-Za-z0-9._/-]+$ ]] || fail failed "the temporary folder $WORK cannot be mounted into the helper (unusual characters in TMPDIR?)"
  mkdir -m 700 "$WORK/io"
  mkfifo -m 600 "$WORK/io/stream"
  local hash_to=/dev/null termed=0
  # A TERM while its processes start waits until all are named: the EXIT trap must know each
  # (one it did not would wait on a FIFO, holding the run's output open, for good).
  trap 'termed=1' INT TERM
  if ! fetch_in_python; then  # (fetch.py hashes what it sends)
    hash_to="$WORK/hash.fifo"
    mkfifo "$hash_to"
    # openssl uses the CPU's SHA instructions (coreutils' sha256sum takes 3 times the CPU, and
    # the restore's chain is CPU-bound); sha256sum where there is no openssl.
    if command -v openssl >/dev/null; then openssl dgst -sha256 -r; else sha256sum; fi <"$hash_to" >"$WORK/sha" &
    TRANSFER_HASH=$!
  fi
  # Both sides in the background, so a TERM (SSM timeout or cancel) is handled
  # at once by `wait` instead of after the whole transfer; the trap then removes
  # the helper container, which ends the pipeline.
  {
    set +e
    local limit=""
    [[ -z "$P_ExpectedUncompressedBytes" ]] || limit="$(limit_bytes)"
    helper --mount "$(mnt "$1" "$2" /data)" --mount "$(mnt bind "$WORK/io" /io ro)" -- extract "$CODEC" "$P_ArchiveSubPath" "$limit" \
      >"$WORK/extract.out" 2>"$WORK/extract.err"
    printf '%s' "$?" >"$WORK/extract.status"
  } &
  local reader=$!
  TRANSFER_READER=$reader
  if [[ -n "$dir" ]]; then guard_space "$dir" "$reader" & guard=$!; fi
  {
    set +e
    # No --retry here: a retried transfer would append a second copy to the stream (a range
    # is resumed from its own next byte instead).
    (fetch_archive "$WORK/io/stream" 3>&2 2>"$WORK/curl.err" 4>"$hash_to")
    printf '%s' "$?" >"$WORK/status"
    printf '%s' "$(now_us)" >"$WORK/downloaded_at"
  } &
  local writer=$!
  TRANSFER_WRITER=$writer
  trap interrupted INT TERM
  (( ! termed )) || interrupted
  wait "$reader"
  TRANSFER_READER=""
  if [[ -n "$guard" ]]; then
    kill "$guard" 2>/dev/null || :
    wait "$guard" 2>/dev/null || :
    ! space_low "$dir" || : >"$WORK/space-low"
  fi
  # The helper failed before opening the stream: the download's open ends (for as long as it runs).
  while kill -0 "$writer" 2>/dev/null; do release_fifo "$WORK/io/stream" "$writer"; done
  wait "$writer"
  TRANSFER_WRITER=""
  st="$(cat "$WORK/status")"
  xst="$(cat "$WORK/extract.status" 2>/dev/null || :)"
  [[ -z "$TRANSFER_HASH" ]] || wait "$TRANSFER_HASH" || :  # its input ended with the download; a failure shows as a missing hash below
  TRANSFER_HASH=""
  SHA256="$(cut -c1-64 "$WORK/sha" 2>/dev/null || :)"
  BYTES="$(tr -dc 0-9 <"$WORK/bytes" 2>/dev/null || :)"; BYTES="${BYTES:-0}"
  if [[ -s "$WORK/downloaded_at" ]]; then
    SECONDS_BY_PHASE[download]=$(( $(cat "$WORK/downloaded_at") - PHASE_STARTED_US ))
    PHASE_STARTED_US="$(cat "$WORK/downloaded_at")"
  fi
  PHASE=extract
  [[ ! -e "$WORK/space-low" ]] \
    || fail failed "the filesystem of $1 $2 came within a twentieth of its size or inodes (1 GiB at most) of full as the archive was extracted: stopped and rolled back (other writers at once, or many small files: free space, or give the real uncompressed size)"
  # curl 23 / SIGPIPE means the extracting side stopped reading first.
  if [[ "$st" != 0 && "$st" != 23 && "$st" != 141 ]]; then
    PHASE=download
    [[ -s "$WORK/curl.err" ]] || echo "exit $st" >"$WORK/curl.err"  # killed (OOM, a signal): no words of its own
    fail failed "download failed after $BYTES bytes: $(head -c 300 "$WORK/curl.err" | tr '\n' ' ')"
  fi
  if [[ -n "$P_ExpectedSha256" && "$xst" == 0 && "$SHA256" != "$P_ExpectedSha256" ]]; then
    PHASE=download
    fail failed "checksum mismatch: archive sha256 is $SHA256, expected $P_ExpectedSha256"
  fi
  if [[ -n "$P_ExpectedArchiveBytes" && "$xst" == 0 && "$BYTES" != "$P_ExpectedArchiveBytes" ]]; then
    PHASE=download
    fail failed "size mismatch: received $BYTES bytes, the cataloged archive has $P_ExpectedArchiveBytes"
  fi
  if grep -q '^lifeboat-limit:' "$WORK/extract.err"; then
    fail failed "the archive expands beyond its expected uncompressed size ($P_ExpectedUncompressedBytes bytes plus a margin): extraction was stopped and everything rolled back (a decompression bomb, or a wrong size in the catalog: give the real size to restore it)"
  fi
  if grep -q -e '^lifeboat-special:' -e 'Cannot mknod' "$WORK/extract.err"; then
    fail refused "the archive contains block or character device nodes; they are never created on the host: nothing was kept"
  fi
  if [[ "$xst" != 0 ]]; then
    fail failed "extract failed (helper exit ${xst:-unknown}): $(grep -v '^$' "$WORK/extract.err" | tail -n 3 | tr '\n' ' ' | head -c 400)"
  fi
  local out
  out="$(tail -n 2 "$WORK/extract.out")"  # setid=… root=…, then names=…
  STRIPPED_SETID="$(sed -n 's/^setid=\([0-9]*\) .*/\1/p' <<<"$out")"; STRIPPED_SETID="${STRIPPED_SETID:-0}"
  DATA_NAMES="$(sed -n 's/^names=\([A-Za-z0-9_. -]*\)$/\1/p' <<<"$out")"
  DATA_ROOT="$(sed -n 's/.* root=\([0-9]*:[0-9]*:[0-7]*\)$/\1/p' <<<"$out")"
  (( STRIPPED_SETID == 0 )) || log "cleared setuid/setgid bits on $STRIPPED_SETID file(s) from the archive"
  log "received $BYTES bytes, sha256 $SHA256; data root owner:group:mode $DATA_ROOT"
}

restore_data() {
  phase download
  detect_codec
  if [[ "$TARGET_KIND" == volume ]]; then
    case "$TARGET_STATE" in
      absent)
        create_target_volume
        check_created_volume
        stop_container
        transfer volume "$TARGET"
        ;;
      empty)
        stop_container
        check_still_empty
        on_undo wipe_target_volume
        transfer volume "$TARGET"
        ;;
      nonempty)
        # Old data stays live (and the database up) until the new data is
        # complete and verified; only then is the target swapped.
        STAGE="lifeboat-stage-$P_RestoreId"
        on_undo remove_stage
        create_volume "$STAGE" staging
        transfer volume "$STAGE"
        ;;
    esac
  else
    STAGE="$(dirname -- "$TARGET")/.lifeboat-stage-$P_RestoreId"
    on_undo remove_stage
    mkdir -p -- "$(dirname -- "$TARGET")"
    mkdir -m 0700 -- "$STAGE"
    transfer bind "$STAGE"
  fi
}

# The target volume, absent at preflight, created with a signal held until its undo is
# registered. (Not registered first: a create that fails, on a volume of that name that
# appeared since with another driver, must not remove that volume.) `docker volume create`
# of a name that exists hands back that volume without an error: one that appeared since the
# preflight (docker compose up, another run) is looked for first, and the created one must
# carry this run's id, or it is someone else's and never written to or removed.
create_target_volume() {
  ! volume_exists "$TARGET" \
    || fail refused "volume $TARGET appeared since the preflight (docker compose up, or another run?); nothing was written to it and nothing was changed"
  mark_created_target
  hold_signals
  create_volume "$TARGET" restored with-driver
  if [[ ${#VOLUME_LABEL_ARGS[@]} == 0 && "$(volume_label "$TARGET" lifeboat.restore-id)" != "$P_RestoreId" ]]; then
    rm -f -- "$MARKER"; MARKER=""
    fail refused "volume $TARGET appeared as this run created it: Docker handed back the existing volume, which this run never writes to or removes; nothing was changed"
  fi
  on_undo remove_created_volume
  release_signals
  [[ ${#VOLUME_LABEL_ARGS[@]} == 0 ]] || printf 'created=%s\n' "$(volume_created_at "$TARGET")" >>"$MARKER"
}

# An empty volume seen while its database ran is looked at again once it has stopped: a
# database may write as it stops (Redis saves dump.rdb), and that is never merged into or wiped.
check_still_empty() {
  (( STOPPED_CONTAINER )) || return 0
  local n
  read -r n _ <<<"$(probe_volume "$TARGET")"
  [[ "$n" == 0 ]] || fail failed "volume $TARGET was empty while $P_ContainerName ran, and holds data (${n:-?} entries) now that it has stopped (written as it stopped); nothing was written to it, and the container is started again. Re-run with IfVolumeExists=preserve to keep that data in a labelled copy"
}

stop_container() {
  [[ "$CONTAINER_WAS" == running && "$STOPPED_CONTAINER" == 0 ]] || return 0
  log "stopping container $P_ContainerName"
  on_undo_at_end restart_container  # first: a TERM while it stops starts it again
  docker stop --time 60 "$P_ContainerName" >/dev/null
  STOPPED_CONTAINER=1
}

# Undos of restore_data and stop_container.
remove_created_volume() { docker volume rm -f "$TARGET" >/dev/null || ERROR+="; could not remove volume $TARGET, which this run created"; }
wipe_target_volume() {
  helper --mount "$(mnt volume "$TARGET" /data)" -- wipe "$TARGET_ROOT" \
    || data_not_back "could not empty volume $TARGET again: it holds part of the restored data"
}
remove_stage() {
  if [[ "$TARGET_KIND" == volume ]]; then docker volume rm -f "$STAGE" >/dev/null; else rm -rf -- "$STAGE"; fi \
    || ERROR+="; could not remove the staging copy $STAGE (remove it by hand)"
}
# A data undo that failed: said in the result, and the database is not started on that data.
DATA_NOT_BACK=0
data_not_back() { DATA_NOT_BACK=1; OUTCOME=failed; ERROR+="; ROLLBACK FAILED: $1"; }
restart_container() {
  if (( DATA_NOT_BACK )); then
    ERROR+="; $P_ContainerName is left stopped: its data could not be put back as it was"
    return 0
  fi
  # A stop that a signal to the whole group cut short goes on in dockerd: a start now would
  # find the container still running and do nothing, and the stop then ends it. Let it end.
  (( STOPPED_CONTAINER )) || docker stop --time 60 "$P_ContainerName" >/dev/null 2>&1 || :
  docker start "$P_ContainerName" >/dev/null 2>&1 && [[ "$(container_state "$P_ContainerName")" == running ]] \
    || ERROR+="; could not restart $P_ContainerName"
}

# ------------------------------------------------------------- swap
swap() {
  phase swap
  if [[ "$TARGET_KIND" == volume ]]; then
    [[ "$TARGET_STATE" == nonempty ]] || return 0
    stop_container
    PRESERVED="$TARGET.pre-restore.$P_RestoreId"
    on_undo remove_preserved_copy
    log "preserving current contents of $TARGET in volume $PRESERVED"
    ORIGINAL_DIGEST="$(helper --mount "$(mnt volume "$TARGET" /data ro)" -- digest)"
    create_volume "$PRESERVED" preserved
    helper --mount "$(mnt volume "$TARGET" /src ro)" --mount "$(mnt volume "$PRESERVED" /dst)" -- copy \
      || fail failed "could not copy the current contents of $TARGET to $PRESERVED; $TARGET is unchanged"
    [[ "$(helper --mount "$(mnt volume "$PRESERVED" /data ro)" -- digest)" == "$ORIGINAL_DIGEST" ]] \
      || fail failed "the preserved copy $PRESERVED does not match $TARGET; $TARGET is unchanged"
    # From here the target changes: undone by copying the preserved contents back.
    hold_signals
    drop_undo remove_preserved_copy
    on_undo restore_preserved_volume
    release_signals
    helper --mount "$(mnt volume "$TARGET" /data)" -- wipe
    helper --mount "$(mnt volume "$STAGE" /src ro)" --mount "$(mnt volume "$TARGET" /dst)" -- copy \
      || fail failed "could not copy the restored data into $TARGET"
    docker volume rm "$STAGE" >/dev/null
    drop_undo remove_stage
  else
    if [[ "$TARGET_STATE" == nonempty ]]; then
      stop_container
      PRESERVED="$TARGET.pre-restore.$P_RestoreId"
      hold_signals
      mv -T -- "$TARGET" "$PRESERVED"
      on_undo put_back_moved_target
      release_signals
    elif [[ "$TARGET_STATE" == empty ]]; then
      stop_container
      ORIGINAL_DIGEST="$(stat -c '%a %u %g' -- "$TARGET")"
      hold_signals
      rmdir -- "$TARGET"
      on_undo recreate_empty_target
      release_signals
    fi
    if [[ "$TARGET_STATE" == absent ]]; then
      # A database still running on it (its directory moved aside by hand) is stopped, or it
      # would go on serving the old data. The path is claimed, never taken over: `mv -T`
      # replaces an empty directory, which may have appeared since the preflight (Docker
      # makes a missing bind source for a container that starts).
      stop_container
      hold_signals
      mkdir -m 0700 -- "$TARGET" 2>/dev/null \
        || fail failed "HostPath $TARGET appeared since the preflight (a container starting with it as its bind source?); it was left as it is and the restored data removed"
      on_undo remove_created_dir
      release_signals
    fi
    hold_signals
    mv -T -- "$STAGE" "$TARGET"
    drop_undo remove_stage
    release_signals
  fi
}

# Undos of swap. A volume's old contents are copied back and checked against their digest.
# The target never changed: the preserved copy is redundant.
remove_preserved_copy() { docker volume rm -f "$PRESERVED" >/dev/null; PRESERVED=""; }
restore_preserved_volume() {
  helper --mount "$(mnt volume "$TARGET" /data)" -- wipe \
    && helper --mount "$(mnt volume "$PRESERVED" /src ro)" --mount "$(mnt volume "$TARGET" /dst)" -- copy \
    && [[ "$(helper --mount "$(mnt volume "$TARGET" /data ro)" -- digest)" == "$ORIGINAL_DIGEST" ]] \
    && ROLLED_BACK=true
  [[ "$ROLLED_BACK" == true ]] || data_not_back "the previous data is safe in volume $PRESERVED"
}
# A host directory's new data is moved aside and deleted; the old directory comes back.
move_new_data_aside() {
  local failed_dir
  failed_dir="$(dirname -- "$TARGET")/.lifeboat-failed-$P_RestoreId"
  mv -T -- "$TARGET" "$failed_dir" && rm -rf -- "$failed_dir"
}
put_back_moved_target() {
  move_new_data_aside
  mv -T -- "$PRESERVED" "$TARGET" && ROLLED_BACK=true && PRESERVED=""
  [[ "$ROLLED_BACK" == true ]] || data_not_back "the previous data is safe in $PRESERVED"
}
recreate_empty_target() {
  move_new_data_aside
  local m u g; read -r m u g <<<"$ORIGINAL_DIGEST"
  mkdir -m "$m" -- "$TARGET" && chown "$u:$g" -- "$TARGET" && ROLLED_BACK=true
  [[ "$ROLLED_BACK" == true ]] || data_not_back "could not make $TARGET an empty directory again"
}
remove_created_dir() { rm -rf -- "$TARGET"; }

# ------------------------------------------------------ start+verify
create_container() {
  [[ -n "$P_MountPath" ]] || P_MountPath="${ENGINE_MOUNT_PATH[$ENGINE]:-}"
  [[ -n "$P_MountPath" ]] || fail refused "give MountPath to recreate container $P_ContainerName (Verify=$ENGINE has no default)"
  [[ -n "$P_ShmSize" ]] || P_ShmSize="${ENGINE_SHM_SIZE[$ENGINE]:-}"
  local role=database
  [[ "$P_Mode" == drill ]] && role=drill
  local -a args=(create --name "$P_ContainerName" --label "lifeboat.restore-id=$P_RestoreId" --label "lifeboat.role=$role")
  if [[ "$TARGET_KIND" == volume ]]; then
    args+=(--mount "type=volume,src=$TARGET,dst=$P_MountPath")
  else
    args+=(--mount "type=bind,src=$TARGET,dst=$P_MountPath")
  fi
  [[ -n "$P_ShmSize" ]] && args+=(--shm-size "$P_ShmSize")
  [[ -n "$P_ContainerEnvNames" ]] && args+=(--env-file "$ENV_COPY")
  local -a ports=() cmd
  local p
  if [[ "$P_Mode" == drill ]]; then
    # Reaches nothing and nothing reaches it; never restarts on its own.
    args+=(--network none)
  else
    [[ -n "$P_RestartPolicy" ]] && args+=(--restart "$P_RestartPolicy")
    recreate_args args
    IFS=, read -r -a ports <<<"$P_ContainerPorts"
  fi
  for p in "${ports[@]}"; do args+=(--publish "$p"); done
  args+=(-- "$P_ContainerImage")
  if [[ -n "$P_ContainerCommand" ]]; then
    read -r -a cmd <<<"$P_ContainerCommand"
    args+=("${cmd[@]}")
  fi
  docker "${args[@]}" >/dev/null
}

start_container() {
  phase start
  [[ -n "$P_ContainerName" ]] || return 0
  if [[ "$CONTAINER_WAS" == absent ]]; then
    log "creating container $P_ContainerName from $P_ContainerImage"
    create_networks
    # Not registered first: if a container of that name appeared since the preflight, docker
    # refuses to create one, and that one is not this run's to remove.
    hold_signals
    create_container || fail failed "could not create container $P_ContainerName"
    on_undo remove_created_container
    release_signals
    connect_networks
    CONTAINER_ACTION=created
  else
    CONTAINER_ACTION=restarted
  fi
  # Registered before the start (stopping a container that does not run changes nothing): a
  # TERM while it starts must not leave the database running on data the rollback puts back.
  if [[ "$CONTAINER_WAS" != absent ]]; then
    on_undo stop_container_on_new_data
    [[ "$CONTAINER_WAS" != running ]] || on_undo_at_end restart_container
  fi
  docker start "$P_ContainerName" >/dev/null || fail failed "container $P_ContainerName did not start"
  if [[ -z "$CONTAINER_IMAGE" ]]; then
    CONTAINER_IMAGE="$(docker inspect -f "$(gotpl '<%.Config.Image%>')" "$P_ContainerName")" CONTAINER_IMAGE_SOURCE=present
  fi
  CONTAINER_IMAGE_DIGEST="$(image_digest "$P_ContainerName" "$CONTAINER_IMAGE")"
  log "container $P_ContainerName runs $CONTAINER_IMAGE_DIGEST"
  STARTED_AS="$(docker inspect -f "$(gotpl '<%.State.StartedAt%> <%.RestartCount%>')" "$P_ContainerName" 2>/dev/null || :)"
}

# Undos of start_container.
remove_created_container() { docker rm -f "$P_ContainerName" >/dev/null 2>&1; }
stop_container_on_new_data() { docker stop --time 30 "$P_ContainerName" >/dev/null 2>&1; }

# A database can answer once and crash a moment later (a bad page read at
# startup, an OOM kill): it must still be the same running container, not
# restarted by its restart policy, a little after it answered.
settle() {
  (( P_VerifySettleSeconds > 0 )) || return 0
  sleep "$P_VerifySettleSeconds"
  local now
  now="$(docker inspect -f "$(gotpl '<%.State.Status%> <%.State.StartedAt%> <%.RestartCount%>')" "$P_ContainerName" 2>/dev/null || :)"
  [[ "$now" == "running $STARTED_AS" ]] \
    || { container_logs; fail failed "container $P_ContainerName answered, then stopped or restarted within ${P_VerifySettleSeconds}s (now: ${now:-gone}); its last log lines are in the command output"; }
}

# db_exec KIND TEXT: runs the engine's KIND (health or check) command in the database
# container, TEXT its check (or custom command); prints its output, returns its status.
# A password the client needs comes from the container's own environment through
# docker exec -e NAME (never a command line). A program the image lacks (exit 126/127)
# is retried once under the profile's other name (mysql -> mariadb), remembered. Bounded
# (DB_EXEC_SECONDS, else StartTimeoutSeconds): a query blocked on a lock or a health
# command that hangs would hold off a cancel, or the watchdog, until SSM kills the run.
declare -A FALLBACK_USED=()
db_exec() {
  local kind="$1" text="$2" out rc limit="${DB_EXEC_SECONDS:-$P_StartTimeoutSeconds}"
  engine_argv "$ENGINE" "$kind" "$P_VerifyUser" "$text" || return 2
  (( ${#ENGINE_ARGV[@]} > 0 )) || return 0
  [[ -z "${FALLBACK_USED[$kind]:-}" ]] || engine_fallback || :
  local -a pass=()
  [[ -z "$ENGINE_SECRET_NAME" ]] || pass=(-e "$ENGINE_SECRET_NAME")
  while :; do
    rc=0
    out="$(
      if [[ -n "$ENGINE_SECRET_NAME" ]]; then export "$ENGINE_SECRET_NAME=$ENGINE_SECRET_VALUE"; fi
      timeout -k 5 "$limit" docker exec ${pass[@]+"${pass[@]}"} "$P_ContainerName" "${ENGINE_ARGV[@]}" 2>&1
    )" || rc=$?
    (( rc != 124 && rc != 137 )) || out="no answer within ${limit}s"
    if (( rc == 126 || rc == 127 )) && [[ -z "${FALLBACK_USED[$kind]:-}" ]] && engine_fallback; then
      FALLBACK_USED[$kind]=1
      continue
    fi
    printf '%s\n' "$out"
    return "$rc"
  done
}

verify() {
  phase verify
  [[ -n "$P_ContainerName" && "$ENGINE" != none ]] || return 0
  local started=$SECONDS deadline=$(( SECONDS + P_StartTimeoutSeconds )) state out health="" check
  [[ "$ENGINE" != custom ]] || health="$P_HealthCommand"
  ENGINE_SECRET_NAME="" ENGINE_SECRET_VALUE=""
  if [[ -n "${ENGINE_SECRET_ENV[$ENGINE]:-}" ]]; then
    engine_secret "$ENGINE" < <(docker inspect -f "$(gotpl '<%range .Config.Env%><%println .%><%end%>')" "$P_ContainerName" 2>/dev/null || :)
  fi
  while :; do
    state="$(container_state "$P_ContainerName")"
    if [[ "$state" != running ]]; then
      container_logs
      fail failed "container $P_ContainerName is $state after the restore; its last log lines are in the command output"
    fi
    if [[ "$ENGINE" == running ]]; then
      (( SECONDS >= started + 5 )) && break  # stayed up for 5 s
    elif out="$(DB_EXEC_SECONDS=$(( deadline > SECONDS ? deadline - SECONDS : 1 )) db_exec health "$health")" && engine_answer_ok health "$ENGINE" "$out"; then
      break
    fi
    (( SECONDS < deadline )) || { container_logs; fail failed "$ENGINE did not answer within ${P_StartTimeoutSeconds}s; its last log lines are in the command output"; }
    sleep 0.2  # seconds of downtime matter: poll often (bounded by the deadline)
  done
  if [[ "$ENGINE" != running ]]; then
    check="$P_VerifyQuery"
    engine_argv "$ENGINE" check "$P_VerifyUser" "$check"
    if (( ${#ENGINE_ARGV[@]} > 0 )); then
      out="$(db_exec check "$check")" || { log "the check failed: $out"; fail failed "the $ENGINE check failed (its error is in the command output)"; }
      VERIFY_OUTPUT="$(printf '%s\n' "$out" | head -n 1 | head -c 200)"
      engine_answer_ok check "$ENGINE" "$out" || { log "the check answered: $VERIFY_OUTPUT"; fail failed "the $ENGINE check did not answer as it should (its answer is in the command output)"; }
      if [[ -n "$P_ExpectMinimum" ]]; then
        if [[ ! "$VERIFY_OUTPUT" =~ ^[0-9]{1,18}$ ]] || (( 10#$VERIFY_OUTPUT < 10#$P_ExpectMinimum )); then
          fail failed "the $ENGINE check answered ${VERIFY_OUTPUT:-nothing}, expected a number of at least $P_ExpectMinimum"
        fi
      fi
      log "database answers: $VERIFY_OUTPUT"
    fi
  fi
  settle
}

# A container's log may hold anything its environment held: it goes to the command
# output (CloudWatch, for those allowed to read it), never into the result.
container_logs() {
  log "last log lines of $P_ContainerName:"
  docker logs --tail 20 "$P_ContainerName" >&2 2>&1 || :  # a container that is gone has no logs
}

# A drill removes everything it made once the database has answered.
drill_cleanup() {
  [[ "$P_Mode" == drill ]] || return 0
  phase cleanup
  docker rm -f "$P_ContainerName" >/dev/null || fail failed "drill cleanup: could not remove container $P_ContainerName"
  drop_undo remove_created_container
  docker volume rm -f "$TARGET" >/dev/null || fail failed "drill cleanup: could not remove volume $TARGET"
  drop_undo remove_created_volume
  log "drill cleaned up: container $P_ContainerName and volume $TARGET removed"
}

# ----------------------------------------------------- cleanup
# Removes any helper still running, then unwinds the compensation stack: every change
# this run made is undone, newest first, and the database comes back last.
rollback() {
  set +e
  log "rolling back ($ERROR)"
  local -a ids=()
  local i
  # The transfer's helper may still be starting (its docker run in the background), not yet
  # listed: until that docker run has ended, look again (or its container keeps the volume).
  for (( i = 0; i < 100; i++ )); do
    mapfile -t ids < <(docker ps -aq --filter "label=lifeboat.restore-id=$P_RestoreId" --filter label=lifeboat.role=helper)
    (( ${#ids[@]} == 0 )) || docker rm -f "${ids[@]}" >/dev/null 2>&1
    if [[ -z "$TRANSFER_READER" ]] || ! kill -0 "$TRANSFER_READER" 2>/dev/null; then break; fi
    sleep 0.1
  done
  for (( i = ${#UNDO[@]} - 1; i >= 0; i-- )); do "${UNDO[i]}"; done
  set -e
}

# The TERM of the cancel-restore document or of the watchdog (or an INT): the EXIT trap rolls back.
# A download in ranges stops first: its connections end now, not after the rollback.
# The traps belong to the script's own shell: a background step (the watchdog TERMed before it
# set its own trap) that runs one only ends, or it would print a second result line.
interrupted() {
  [[ "$BASHPID" == "$$" ]] || exit 130
  if (( HOLD )); then HELD=1; return 0; fi  # acted on at release_signals
  [[ -z "$TRANSFER_WRITER" ]] || stop_fetch
  [[ -n "$ERROR" ]] || { ERROR="interrupted by a signal (cancel, or the command's time ran out) in phase $PHASE"; FAILED_PHASE="$PHASE"; }
  exit 130
}

on_exit() {
  local rc=$?
  [[ "$BASHPID" == "$$" ]] || exit "$rc"
  trap - EXIT
  # A second TERM (a cancel sent again) must not cut the rollback short. (A handler, not an ignore:
  # the commands it runs keep the default.)
  trap : INT TERM
  [[ -z "$WATCHDOG_PID" ]] || kill "$WATCHDOG_PID" 2>/dev/null || :  # it may have fired already
  if [[ "$OUTCOME" != succeeded ]]; then
    [[ -n "$ERROR" ]] || { ERROR="unexpected error (exit $rc) in phase $PHASE"; FAILED_PHASE="$PHASE"; }
    [[ -n "${P_RestoreId:-}" ]] && rollback
  fi
  # The run has ended: its marker goes, unless a volume it created is still there.
  if [[ -n "$MARKER" ]] && { [[ "$OUTCOME" == succeeded ]] || ! volume_exists "$TARGET"; }; then rm -f -- "$MARKER"; fi
  # Interrupted mid-transfer: the download stops (if it had not started when the TERM came), and
  # may wait on the FIFO of a helper that is gone.
  [[ -n "$TRANSFER_WRITER" ]] && { stop_fetch; release_fifo "$WORK/io/stream" "$TRANSFER_WRITER"; }
  [[ -n "$TRANSFER_HASH" ]] && release_fifo "$WORK/hash.fifo" "$TRANSFER_HASH"
  [[ -n "$WORK" ]] && rm -rf -- "$WORK"
  [[ -z "$PID_FILE" ]] || rm -f -- "$PID_FILE"
  [[ "$RESULT_PRINTED" == 1 ]] || print_result
  [[ "$OUTCOME" == succeeded ]] && exit 0
  exit 1
}

# Names this run for the cancel-restore document (SSM's own cancel is a SIGKILL:
# no trap would run). In take_host_lock's root-only directory, removed at exit.
name_run() {
  PID_FILE="/run/lifeboat/run-$P_RestoreId.pid"
  printf '%s\n' "$$" >"$PID_FILE"
}

# SSM kills the command with SIGKILL at its timeout (7200 s, the step's timeoutSeconds):
# no trap would run. This stops the run with TERM 5 minutes before, so it puts the
# host back and reports, within the command's time.
start_watchdog() {
  # Started before the host lock is taken, so neither it nor its sleep holds the lock's
  # descriptor; the sleep holds none of the run's output pipes (a runner waits for them
  # to close). on_exit TERMs it, and its trap stops the sleep, so nothing outlives the run.
  {
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    sleep "$(( 7200 - 300 ))" >/dev/null 2>&1 &
    sleeper=$!
    wait "$sleeper" || exit 0
    log "the command's time is nearly up: stopping and putting the host back"
    kill -TERM "$$"
  } &
  WATCHDOG_PID=$!
}

_main() {
  STARTED_US="$(now_us)"; PHASE_STARTED_US="$STARTED_US"
  trap on_exit EXIT
  trap 'interrupted' INT TERM
  load_params
  start_watchdog
  take_host_lock
  name_run
  WORK="$(mktemp -d)"
  preflight
  restore_data
  decide_engine
  swap
  start_container
  verify
  drill_cleanup
  OUTCOME=succeeded
  log "$P_Mode succeeded"
}

if ! _is_sourced; then _main "$@"; fi

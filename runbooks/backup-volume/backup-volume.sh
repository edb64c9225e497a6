#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Lifeboat backup-volume. Parameters come from SSM_<name> variables and are
# validated again here; values are only ever passed as quoted arguments.
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

# The helper container's script (helper.sh beside this file), inlined as a heredoc at assembly.
read -r -d '' HELPER_SH <"$(dirname -- "${BASH_SOURCE[0]}")/helper.sh" || :  # read returns 1 at EOF by design

RESULT_PRINTED=0
OUTCOME=failed
FAILED_PHASE=""
ERROR=""
PHASE=preflight
declare -A SECONDS_BY_PHASE=()
PHASE_STARTED_US=0
STARTED_US=0
WORK=""
TARGET_KIND=volume
TARGET=""
NAME=""
KEY=""
BYTES=0
UNCOMPRESSED=0
FILES=0
EST_BYTES=0
DATA_MARKERS=()
SHA256=""
CONTAINER_RUNNING=0
PAUSED=0
STOPPED=0
FROZEN_US=0
FROZEN_TOTAL_US=0
UPLOAD_STARTED=0
BG_PID=""
PRUNE_RUNNING="[]"
PRUNE_UNREFERENCED="[]"
declare -a AWS=()

log() { printf '[lifeboat backup %s] %s\n' "${P_BackupId:-?}" "$*" >&2; }
json_list() {  # one JSON array from the argument words
  local out="" w
  for w in "$@"; do out+="${out:+,}$(json_str "$w")"; done
  printf '[%s]' "$out"
}

# PATTERN and MAXCHARS: generated from backup-volume.yaml's parameters at assembly.
declare -A PATTERN=() MAXCHARS=()
load_params() {
  read_params
  # A State Manager association runs with fixed parameters: each run names itself.
  [[ -n "$P_BackupId" ]] || P_BackupId="b-$(date -u +%Y%m%dT%H%M%SZ)-$$"
  # Never ship a system directory (secrets, keys) off the host.
  check_host_path "only data directories are backed up"
  AWS=(aws --only-show-errors)
  [[ -n "$P_S3EndpointUrl" ]] && AWS+=(--endpoint-url "$P_S3EndpointUrl")
  [[ -n "$P_Region" ]] && AWS+=(--region "$P_Region")
  return 0
}

helper() {
  local -a mounts=()
  while [[ "$1" != -- ]]; do mounts+=("$1"); shift; done
  shift
  docker run --rm --network none --read-only --tmpfs /tmp \
    --cap-drop ALL --cap-add DAC_READ_SEARCH --security-opt no-new-privileges \
    --name "lifeboat-helper-$P_BackupId-$RANDOM" \
    --label "lifeboat.backup-id=$P_BackupId" --label lifeboat.role=helper \
    "${mounts[@]}" --entrypoint /bin/sh "$HELPER_IMAGE" -c "$HELPER_SH" lifeboat-helper "$@"
}
source_mount() {
  if [[ "$TARGET_KIND" == volume ]]; then
    printf 'type=volume,src=%s,dst=/data,volume-nocopy,readonly' "$TARGET"
  else
    printf 'type=bind,src=%s,dst=/data,readonly' "$TARGET"
  fi
}

print_result() {
  local total phases="" k
  phase finished
  total=$(( $(now_us) - STARTED_US ))
  for k in preflight archive manifest; do
    phases+="${phases:+,}\"$k\":$(secs "${SECONDS_BY_PHASE[$k]:-0}")"
  done
  printf '{"lifeboat":"backup-result","version":1,"backupId":%s,"outcome":"%s","failedPhase":%s,"error":%s,"volume":%s,"hostPath":%s,"container":%s,"consistency":%s,"bucket":%s,"archiveKey":%s,"manifestKey":%s,"bytes":%s,"uncompressedBytes":%s,"fileCount":%s,"sha256":%s,"compression":"zstd","containerFrozenSeconds":%s,"helper":%s,"phases":{%s},"totalSeconds":%s,"pruneRisk":{"notUsedByRunningContainer":%s,"unreferenced":%s}}\n' \
    "$(json_str "${P_BackupId:-}")" "$OUTCOME" "$(json_or_null "$FAILED_PHASE")" "$(json_or_null "$ERROR")" \
    "$(json_or_null "${P_VolumeName:-}")" "$(json_or_null "${P_HostPath:-}")" "$(json_or_null "${P_ContainerName:-}")" \
    "$(json_or_null "${P_Consistency:-}")" "$(json_or_null "${P_Bucket:-}")" \
    "$(json_or_null "$([[ "$OUTCOME" == succeeded ]] && printf '%s' "$KEY")")" \
    "$(json_or_null "$([[ "$OUTCOME" == succeeded ]] && printf '%s' "$KEY.manifest.json")")" \
    "$BYTES" "$UNCOMPRESSED" "$FILES" "$(json_or_null "$SHA256")" "$(secs "$FROZEN_TOTAL_US")" "$(helper_json)" \
    "$phases" "$(secs "$total")" "$PRUNE_RUNNING" "$PRUNE_UNREFERENCED"
  RESULT_PRINTED=1
}

preflight() {
  docker info >/dev/null 2>&1 || fail failed "the Docker engine is not reachable (is dockerd running?)"
  command -v aws >/dev/null || fail failed "the AWS CLI is not installed on this host"
  acquire_helper
  if [[ -n "$P_VolumeName" ]]; then
    TARGET_KIND=volume; TARGET="$P_VolumeName"; NAME="$P_VolumeName"
    docker volume inspect "$TARGET" >/dev/null 2>&1 || fail refused "volume $TARGET does not exist on this host"
  else
    TARGET_KIND=bind; TARGET="$P_HostPath"; NAME="$(basename -- "$P_HostPath")"
    [[ -d "$TARGET" && ! -L "$TARGET" ]] || fail refused "HostPath $TARGET is not a directory"
  fi
  if [[ -n "$P_ContainerName" ]]; then
    local state
    state="$(docker inspect -f "$(gotpl '<%.State.Status%>')" "$P_ContainerName" 2>/dev/null)" \
      || fail refused "container $P_ContainerName does not exist"
    [[ "$state" == running ]] && CONTAINER_RUNNING=1
  fi
  local probe
  probe="$(helper --mount "$(source_mount)" -- probe 2>"$WORK/probe.err")" \
    || fail failed "the helper ($HELPER_IMAGE) cannot read the data: $(tail -n 2 "$WORK/probe.err" | tr '\n' ' ' | head -c 300)"
  read -r EST_BYTES FILES <<<"$probe"
  read -r -a DATA_MARKERS <<<"$(sed -n 's/^names=\([A-Za-z0-9_. -]*\)$/\1/p' <<<"$probe")"
  KEY="$P_KeyPrefix/$P_Source/$NAME/$(date -u +%Y%m%dT%H%M%SZ).tar.zst"
}

freeze() {
  [[ "$CONTAINER_RUNNING" == 1 ]] || return 0
  case "$P_Consistency" in
    pause) log "pausing $P_ContainerName"; docker pause "$P_ContainerName" >/dev/null; PAUSED=1 ;;
    stop) log "stopping $P_ContainerName"; docker stop --time 60 "$P_ContainerName" >/dev/null; STOPPED=1 ;;
    none) return 0 ;;
  esac
  FROZEN_US="$(now_us)"
}
thaw() {
  if [[ "$PAUSED" == 1 ]]; then
    docker unpause "$P_ContainerName" >/dev/null && PAUSED=0 && log "resumed $P_ContainerName"
  fi
  if [[ "$STOPPED" == 1 ]]; then
    docker start "$P_ContainerName" >/dev/null && STOPPED=0 && log "restarted $P_ContainerName"
  fi
  if [[ "$FROZEN_US" != 0 ]]; then
    FROZEN_TOTAL_US=$(( $(now_us) - FROZEN_US )); FROZEN_US=0
  fi
  [[ "$PAUSED" == 0 && "$STOPPED" == 0 ]]
}

archive() {
  phase archive
  [[ "$WORK" =~ ^/[A-Za-z0-9._/-]+$ ]] || fail failed "the temporary folder $WORK cannot be mounted into the helper (unusual characters in TMPDIR?)"
  freeze
  mkfifo "$WORK/hash.fifo" "$WORK/count.fifo"
  mkdir -m 700 "$WORK/io"
  mkfifo -m 600 "$WORK/io/stream"
  sha256sum <"$WORK/hash.fifo" >"$WORK/sha" &
  local hash_pid=$!
  wc -c <"$WORK/count.fifo" >"$WORK/bytes" &
  local count_pid=$!
  local -a st
  local helper_status helper_pid
  UPLOAD_STARTED=1
  # Both sides in the background so a TERM (SSM timeout or cancel) is handled
  # at once: the trap resumes the container instead of waiting for the upload.
  # The helper writes the archive into a FIFO in a private folder mounted
  # read-only (a FIFO is written through a read-only mount; nothing else is).
  {
    set +e
    helper --mount "$(source_mount)" --mount "type=bind,src=$WORK/io,dst=/io,readonly" -- archive "$P_CompressionLevel" 2>"$WORK/tar.err"
    printf '%s' "$?" >"$WORK/helper.status"
  } &
  helper_pid=$!
  {
    set +e
    tee "$WORK/hash.fifo" "$WORK/count.fifo" <"$WORK/io/stream" \
      | "${AWS[@]}" s3 cp - "s3://$P_Bucket/$KEY" --expected-size "$EST_BYTES" --content-type application/zstd 2>"$WORK/upload.err"
    printf '%s\n' "${PIPESTATUS[*]}" >"$WORK/status"
  } &
  BG_PID=$!
  wait "$helper_pid"
  release_fifo "$WORK/io/stream" "$BG_PID"  # the helper failed before opening it
  wait "$BG_PID"
  BG_PID=""
  read -r -a st <"$WORK/status"
  helper_status="$(cat "$WORK/helper.status" 2>/dev/null || :)"
  wait "$hash_pid" "$count_pid" || :  # their input ended with the pipeline; checked below
  thaw || fail failed "could not resume container $P_ContainerName"
  SHA256="$(cut -c1-64 "$WORK/sha")"
  BYTES="$(tr -dc 0-9 <"$WORK/bytes")"
  UNCOMPRESSED="$(sed -n 's/^Total bytes written: \([0-9]*\).*/\1/p' "$WORK/tar.err" | tail -n 1)"
  UNCOMPRESSED="${UNCOMPRESSED:-0}"
  # An upload that failed first makes the helper fail too (EPIPE): report the cause.
  if [[ "${st[1]}" != 0 ]]; then
    fail failed "upload to s3://$P_Bucket/$KEY failed: $(tail -n 3 "$WORK/upload.err" | tr '\n' ' ' | head -c 400)"
  fi
  if [[ "$helper_status" != 0 ]]; then
    # GNU tar exits 1 when a file changed while read: only expected without a freeze.
    if [[ "$helper_status" == 1 && "$P_Consistency" == none ]]; then
      log "warning: files changed while being read (Consistency=none): $(grep -v '^Total' "$WORK/tar.err" | head -n 3 | tr '\n' ' ')"
    else
      fail failed "reading the data failed: $(grep -v '^Total' "$WORK/tar.err" | tail -n 3 | tr '\n' ' ' | head -c 400)"
    fi
  fi
  log "uploaded $BYTES bytes (from $UNCOMPRESSED, $FILES entries) sha256 $SHA256"
}
# A failed run leaves no archive behind: removes only the key this run wrote.
discard_upload() {
  timeout 60 "${AWS[@]}" s3 rm "s3://$P_Bucket/$KEY" >/dev/null 2>&1 \
    || ERROR+="; could not remove the incomplete upload s3://$P_Bucket/$KEY (it has no manifest)"
}

container_spec_json() {
  [[ -n "$P_ContainerName" ]] || { printf 'null'; return 0; }
  local ports="" line
  while read -r line; do
    [[ -n "$line" ]] && ports+="${ports:+,}$(json_str "$line")"
  done < <(docker inspect -f "$(gotpl '<%range $p, $b := .HostConfig.PortBindings%><%range $b%><%if .HostIp%><%.HostIp%>:<%end%><%.HostPort%>:<%$p%><%"\n"%><%end%><%end%>')" "$P_ContainerName")
  # Env NAMES only, and only those the container set beyond its image's own
  # ENV: values are compared here and never leave the host.
  local -a env=() image_env=() names=()
  local image entry
  image="$(docker inspect -f "$(gotpl '<%.Image%>')" "$P_ContainerName")"
  mapfile -t env < <(docker inspect -f "$(gotpl '<%range .Config.Env%><%.%><%"\n"%><%end%>')" "$P_ContainerName")
  mapfile -t image_env < <(docker image inspect -f "$(gotpl '<%range .Config.Env%><%.%><%"\n"%><%end%>')" "$image" 2>/dev/null || :)  # image may be gone: then all names count
  for entry in "${env[@]}"; do
    [[ -n "$entry" ]] || continue
    printf '%s\n' "${image_env[@]}" | grep -qxF -- "$entry" || names+=("${entry%%=*}")
  done
  local spec
  spec="$(docker inspect -f "$(gotpl '{"envNames":ENVNAMES,"ports":[PORTS],"networks":NETWORKS,"labels":<%json .Config.Labels%>,"name":<%json .Name%>,"image":<%json .Config.Image%>,"command":<%json .Config.Cmd%>,"shmSize":<%.HostConfig.ShmSize%>,"restartPolicy":<%json .HostConfig.RestartPolicy.Name%>,"networkMode":<%json .HostConfig.NetworkMode%>,"privileged":<%.HostConfig.Privileged%>,"capAdd":<%json .HostConfig.CapAdd%>,"pidMode":<%json .HostConfig.PidMode%>,"user":<%json .Config.User%>,"mounts":[<%range $i, $m := .Mounts%><%if $i%>,<%end%>{"type":<%json $m.Type%>,"name":<%json $m.Name%>,"source":<%json $m.Source%>,"destination":<%json $m.Destination%>,"readOnly":<%if $m.RW%>false<%else%>true<%end%>}<%end%>]}')" "$P_ContainerName")"
  # The placeholders come first, so the first match is ours; quoted replacements
  # keep an & literal (bash 5.2 patsub_replacement).
  spec="${spec/ENVNAMES/"$(json_list "${names[@]}")"}"
  spec="${spec/NETWORKS/"$(networks_json)"}"
  printf '%s\n' "${spec/\[PORTS\]/"[$ports]"}"
}
# The container's networks and its aliases on each (not its own short id, which Docker
# adds); for a user-defined network also what a restore needs to create it as it was.
networks_json() {
  local id line name alias out="" entry details
  local -a words
  id="$(docker inspect -f "$(gotpl '<%.Id%>')" "$P_ContainerName")"
  while read -r line; do
    [[ -n "$line" ]] || continue
    read -r -a words <<<"$line"
    name="${words[0]}"
    local aliases=()
    for alias in "${words[@]:1}"; do [[ "$alias" == "${id:0:12}" ]] || aliases+=("$alias"); done
    entry="{\"name\":$(json_str "$name"),\"aliases\":$(json_list "${aliases[@]}")"
    case "$name" in
      bridge|host|none) ;;
      *)
        details="$(docker network inspect -f "$(gotpl '"driver":<%json .Driver%>,"internal":<%.Internal%>,"enableIPv6":<%.EnableIPv6%>,"labels":<%json .Labels%>,"options":<%json .Options%>')" -- "$name" 2>/dev/null)" \
          || details=""  # removed meanwhile: its name and aliases are still worth recording
        [[ -z "$details" ]] || entry+=",$details"
        ;;
    esac
    out+="${out:+,}$entry}"
  done < <(docker inspect -f "$(gotpl '<%range $n, $e := .NetworkSettings.Networks%><%$n%><%range $e.Aliases%> <%.%><%end%><%"\n"%><%end%>')" "$P_ContainerName")
  printf '[%s]' "$out"
}
mount_path() {
  local dest=""
  if [[ -n "$P_ContainerName" ]]; then
    dest="$(docker inspect -f "$(gotpl '<%range .Mounts%><%.Type%> <%.Name%> <%.Source%> <%.Destination%><%"\n"%><%end%>')" "$P_ContainerName" \
      | awk -v k="$TARGET_KIND" -v t="$TARGET" '($1 == k && (k == "bind" ? $3 : $2) == t) { print $NF; exit }')"
  fi
  printf '%s' "${dest:-$P_MountPath}"
}

manifest() {
  phase manifest
  local vol_json="null" created
  created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  if [[ "$TARGET_KIND" == volume ]]; then
    vol_json="$(docker volume inspect -f "$(gotpl '{"name":<%json .Name%>,"driver":<%json .Driver%>,"driverOpts":<%json .Options%>,"labels":<%json .Labels%>}')" "$TARGET")"
  fi
  printf '{"lifeboat":"archive-manifest","version":1,"archiveKey":%s,"createdAt":"%s","source":%s,"backupId":%s,"sha256":"%s","compression":"zstd","compressedBytes":%s,"uncompressedBytes":%s,"fileCount":%s,"consistency":%s,"volume":%s,"hostPath":%s,"mountPath":%s,"container":%s,"dataMarkers":%s}\n' \
    "$(json_str "$KEY")" "$created" "$(json_str "$P_Source")" "$(json_str "$P_BackupId")" "$SHA256" "$BYTES" "$UNCOMPRESSED" "$FILES" \
    "$(json_str "$P_Consistency")" "$vol_json" "$(json_or_null "$P_HostPath")" "$(json_str "$(mount_path)")" "$(container_spec_json)" "$(json_list "${DATA_MARKERS[@]}")" \
    >"$WORK/manifest.json"
  "${AWS[@]}" s3 cp "$WORK/manifest.json" "s3://$P_Bucket/$KEY.manifest.json" --content-type application/json 2>"$WORK/upload.err" \
    || fail failed "the manifest could not be uploaded (the archive was removed again): $(tail -n 2 "$WORK/upload.err" | tr '\n' ' ')"
}

volumes_of() {
  docker inspect -f "$(gotpl '<%range .Mounts%><%if eq .Type "volume"%><%.Name%><%"\n"%><%end%><%end%>')" "$@" | sort -u
}
# Volumes a prune would delete now: `docker system prune --volumes` removes
# stopped containers first, so any volume without a running user is at risk.
prune_risk() {
  local -a all=() running=() referenced=() risky=() unref=() ids=()
  local v
  mapfile -t all < <(docker volume ls -q)
  mapfile -t ids < <(docker ps -q)
  (( ${#ids[@]} == 0 )) || mapfile -t running < <(volumes_of "${ids[@]}")
  mapfile -t ids < <(docker ps -aq)
  (( ${#ids[@]} == 0 )) || mapfile -t referenced < <(volumes_of "${ids[@]}")
  for v in "${all[@]}"; do
    [[ -n "$v" ]] || continue
    printf '%s\n' "${running[@]}" | grep -qxF -- "$v" || risky+=("$v")
    printf '%s\n' "${referenced[@]}" | grep -qxF -- "$v" || unref+=("$v")
  done
  PRUNE_RUNNING="$(json_list "${risky[@]}")"
  PRUNE_UNREFERENCED="$(json_list "${unref[@]}")"
}

# The traps belong to the script's own shell. A background step (a subshell) that ever runs one only
# ends: a second result line, or a second cleanup, would come from it (seen once under heavy load).
interrupted() {
  [[ "$BASHPID" == "$$" ]] || exit 130
  [[ -n "$ERROR" ]] || { ERROR="interrupted by a signal (SSM timeout or cancel) in phase $PHASE"; FAILED_PHASE="$PHASE"; }
  exit 130
}

on_exit() {
  local rc=$?
  [[ "$BASHPID" == "$$" ]] || exit "$rc"
  trap - EXIT
  set +e
  if [[ "$OUTCOME" != succeeded && -n "${P_BackupId:-}" ]]; then
    local -a ids=()
    mapfile -t ids < <(docker ps -aq --filter "label=lifeboat.backup-id=$P_BackupId" 2>/dev/null)
    (( ${#ids[@]} == 0 )) || docker rm -f "${ids[@]}" >/dev/null 2>&1
  fi
  thaw >/dev/null 2>&1 || ERROR+="; could not resume container $P_ContainerName"
  if [[ -n "$BG_PID" ]]; then
    # Interrupted mid-transfer: stop the upload before removing what it wrote.
    pkill -TERM -P "$BG_PID" 2>/dev/null
    wait "$BG_PID" 2>/dev/null
  fi
  [[ "$OUTCOME" != succeeded && "$UPLOAD_STARTED" == 1 ]] && discard_upload
  if [[ "$OUTCOME" != succeeded && -z "$ERROR" ]]; then
    ERROR="unexpected error (exit $rc) in phase $PHASE"; FAILED_PHASE="$PHASE"
  fi
  docker info >/dev/null 2>&1 && prune_risk
  [[ -n "$WORK" ]] && rm -rf -- "$WORK"
  [[ "$RESULT_PRINTED" == 1 ]] || print_result
  [[ "$OUTCOME" == succeeded ]] && exit 0
  exit 1
}

_main() {
  STARTED_US="$(now_us)"; PHASE_STARTED_US="$STARTED_US"
  trap on_exit EXIT
  trap 'interrupted' INT TERM
  load_params
  take_host_lock
  WORK="$(mktemp -d)"
  preflight
  archive
  manifest
  OUTCOME=succeeded
  log "backup succeeded: s3://$P_Bucket/$KEY"
}

if ! _is_sourced; then _main "$@"; fi

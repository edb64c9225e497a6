#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Lifeboat cancel-restore. Reads its parameters from SSM_<name> variables and
# checks each again; the restore names itself in a root-only pid file.
set -Eeuo pipefail
umask 077
export LC_ALL=C

# Shared functions (runbooks/lib), inlined here at assembly.
# shellcheck source=../lib/sourced.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../lib/sourced.sh"

# PATTERN: generated from cancel-restore.yaml's parameters at assembly.
declare -A PATTERN=()

log() { printf '[lifeboat cancel %s] %s\n' "${P_RestoreId:-?}" "$*" >&2; }
result() {  # OUTCOME MESSAGE
  printf '{"lifeboat":"cancel-result","version":1,"restoreId":"%s","outcome":"%s","message":"%s"}\n' "${P_RestoreId:-}" "$1" "$2"
}

load_params() {
  local name var value
  for name in "${!PATTERN[@]}"; do
    var="SSM_$name"
    [[ -n "${!var+set}" ]] || { result refused "parameter $name is missing"; exit 2; }
    value="${!var}"
    [[ "$value" =~ ${PATTERN[$name]} ]] || { result refused "parameter $name does not match its allowed pattern"; exit 2; }
    printf -v "P_$name" '%s' "$value"
  done
}

# The pid the restore wrote, if that process is still this restore's script.
running_pid() {
  local file="/run/lifeboat/run-$P_RestoreId.pid" pid
  [[ -d /run/lifeboat && ! -L /run/lifeboat && -O /run/lifeboat ]] || return 1
  [[ -f "$file" && ! -L "$file" && -O "$file" ]] || return 1
  pid="$(tr -dc 0-9 <"$file" | head -c 10)"
  [[ -n "$pid" && -r "/proc/$pid/environ" ]] || return 1
  tr '\0' '\n' <"/proc/$pid/environ" | grep -qxF -- "SSM_RestoreId=$P_RestoreId" || return 1
  printf '%s' "$pid"
}

_main() {
  load_params
  local pid
  if ! pid="$(running_pid)"; then
    log "restore $P_RestoreId is not running on this host"
    result not-running "restore $P_RestoreId is not running on this host (it has ended, or never started here)"
    return 0
  fi
  log "asking restore $P_RestoreId (pid $pid) to stop and put the host back"
  # TERM to the script alone: its trap runs after the step in progress, rolls back,
  # and prints the restore's own result line. Never its process group: SSM's shell
  # would die first and the restore's result could be lost.
  kill -TERM "$pid"
  local deadline=$(( SECONDS + P_WaitSeconds ))
  while kill -0 "$pid" 2>/dev/null; do
    if (( SECONDS >= deadline )); then
      result still-running "restore $P_RestoreId was asked to stop and is still putting the host back after ${P_WaitSeconds}s"
      return 1
    fi
    sleep 1
  done
  log "restore $P_RestoreId has stopped"
  result stopped "restore $P_RestoreId stopped and put the host back; its own result says what it did"
}

if ! _is_sourced; then _main "$@"; fi

# shellcheck shell=bash
# Shared by restore-volume.sh and backup-volume.sh; inlined into each document at
# assembly. Each script keeps its own state variables (PHASE, ERROR, OUTCOME, ...).

# SSM reads double braces in a document as parameter references, so Go templates for
# docker --format are written with <% %> and turned into braces here.
gotpl() {
  local t="$1" open=$'\x7b\x7b' close=$'\x7d\x7d'
  t="${t//<%/"$open"}"
  printf '%s' "${t//%>/"$close"}"
}
now_us() { printf '%s' "${EPOCHREALTIME/./}"; }

# No subshell or program inside (each forks the whole script: ~10 ms here); callers still fork one.
json_str() {
  local s="$1"
  s="${s//\\/\\\\}"; s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"; s="${s//$'\r'/\\r}"; s="${s//$'\t'/\\t}"
  s="${s//[[:cntrl:]]/}"  # the other control characters (LC_ALL=C: 0x01-0x1f, 0x7f)
  printf '"%s"' "$s"
}
json_or_null() { if [[ -n "$1" ]]; then json_str "$1"; else printf 'null'; fi; }
secs() {  # MICROSECONDS: seconds to the millisecond
  local us="$1" sign=""
  (( us >= 0 )) || { sign=-; us=$(( -us )); }
  us=$(( (us + 500) / 1000 ))
  printf '%s%d.%03d' "$sign" $(( us / 1000 )) $(( us % 1000 ))
}

phase() {
  local t="${EPOCHREALTIME/./}"
  if [[ "$PHASE_STARTED_US" != 0 ]]; then
    SECONDS_BY_PHASE[$PHASE]=$(( ${SECONDS_BY_PHASE[$PHASE]:-0} + t - PHASE_STARTED_US ))
  fi
  PHASE="$1"; PHASE_STARTED_US="$t"
  log "phase: $1"
}

# fail CODE MESSAGE: record the error and exit; the EXIT trap cleans up (and rolls back).
fail() {
  ERROR="$2"; FAILED_PHASE="$PHASE"
  # refused means nothing was changed: after a database was stopped it is failed (and put back)
  [[ "$1" == refused ]] && (( ! ${STOPPED_CONTAINER:-0} )) && OUTCOME=refused
  exit 1
}

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

json_str() {
  local s="$1"
  s="${s//\\/\\\\}"; s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"; s="${s//$'\r'/\\r}"; s="${s//$'\t'/\\t}"
  s="$(printf '%s' "$s" | tr -d '\000-\037\177')"
  printf '"%s"' "$s"
}
json_or_null() { if [[ -n "$1" ]]; then json_str "$1"; else printf 'null'; fi; }
secs() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1000000 }'; }

phase() {
  local t; t="$(now_us)"
  if [[ "$PHASE_STARTED_US" != 0 ]]; then
    SECONDS_BY_PHASE[$PHASE]=$(( ${SECONDS_BY_PHASE[$PHASE]:-0} + t - PHASE_STARTED_US ))
  fi
  PHASE="$1"; PHASE_STARTED_US="$t"
  log "phase: $1"
}

# fail CODE MESSAGE: record the error and exit; the EXIT trap cleans up (and rolls back).
fail() {
  ERROR="$2"; FAILED_PHASE="$PHASE"
  [[ "$1" == refused ]] && OUTCOME=refused
  exit 1
}

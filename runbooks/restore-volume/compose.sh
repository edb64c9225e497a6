# shellcheck shell=bash
# What a recreated container and a created volume get back so that a later
# `docker compose up -d` adopts them instead of recreating them: labels, networks
# (created when missing, as they were) and aliases. Part of restore-volume.sh,
# inlined at assembly. The values are document parameters, already checked against
# their patterns; a drill uses none of them (its container has no network and its
# names are its own).

declare -a CONTAINER_LABEL_ARGS=() VOLUME_LABEL_ARGS=() JOIN_NETWORKS=() CREATED_NETWORKS=()
declare -A NETWORK_ALIASES=() NETWORK_SPEC=()
PRIMARY_NETWORK=""

# label_args ARRAY TEXT PARAMETER: the --label words of a space-separated key=value list.
# Lifeboat's own labels decide what a later run removes: never taken from a parameter.
label_args() {
  local -n label_words="$1"
  local word
  local -a words=()
  read -r -a words <<<"$2"
  for word in "${words[@]}"; do
    [[ "${word,,}" != lifeboat.* ]] || fail refused "$3: label ${word%%=*}: Lifeboat's own labels (lifeboat.*) are never set from parameters"
    label_words+=(--label "$word")
  done
}

check_network_name() {  # NAME PARAMETER
  case "$1" in
    host|none) fail refused "$2: network $1 is refused (a recreated container joins bridge networks; ContainerNetwork=none alone isolates it)" ;;
  esac
}

# From load_params: parses and checks the parameters; changes nothing.
check_compose_params() {
  PRIMARY_NETWORK="$P_ContainerNetwork"
  if [[ "$P_Mode" != restore ]]; then
    [[ -z "$P_ContainerLabels$P_VolumeLabels$P_ContainerNetworks$P_CreateNetworks$P_ContainerOtherMounts" ]] \
      || log "a drill does not use ContainerLabels, VolumeLabels, ContainerNetworks, CreateNetworks or ContainerOtherMounts"
    return 0
  fi
  label_args CONTAINER_LABEL_ARGS "$P_ContainerLabels" ContainerLabels
  label_args VOLUME_LABEL_ARGS "$P_VolumeLabels" VolumeLabels
  local entry name part
  local -a entries=() parts=()
  read -r -a entries <<<"$P_CreateNetworks"
  for entry in "${entries[@]}"; do
    IFS=, read -r -a parts <<<"$entry"
    name="${parts[0]}"
    check_network_name "$name" CreateNetworks
    [[ "$name" != bridge ]] || fail refused "CreateNetworks: bridge is Docker's own network; it is never created"
    for part in "${parts[@]:1}"; do
      [[ "${part,,}" != lifeboat.* ]] || fail refused "CreateNetworks $name: label ${part%%=*}: Lifeboat's own labels (lifeboat.*) are never set from parameters"
    done
    NETWORK_SPEC[$name]="$entry"
  done
  read -r -a entries <<<"$P_ContainerNetworks"
  for entry in "${entries[@]}"; do
    name="${entry%%:*}"
    check_network_name "$name" ContainerNetworks
    [[ -z "${NETWORK_ALIASES[$name]+set}" ]] || fail refused "ContainerNetworks names network $name twice"
    NETWORK_ALIASES[$name]=""
    [[ "$entry" != *:* ]] || NETWORK_ALIASES[$name]="${entry#*:}"
    [[ "$name" != bridge || -z "${NETWORK_ALIASES[$name]}" ]] || fail refused "ContainerNetworks: Docker's default bridge network takes no aliases"
    JOIN_NETWORKS+=("$name")
  done
  if [[ "$P_ContainerNetwork" == none && ${#JOIN_NETWORKS[@]} -gt 0 ]]; then
    fail refused "ContainerNetwork=none cannot be combined with ContainerNetworks: a container with no network joins no other"
  fi
  [[ -n "$PRIMARY_NETWORK" ]] || PRIMARY_NETWORK="${JOIN_NETWORKS[0]:-}"
}
# The networks a recreated container joins, each once: the first one, then the others.
networks_to_join() {
  local net
  [[ -z "$PRIMARY_NETWORK" ]] || printf '%s\n' "$PRIMARY_NETWORK"
  for net in "${JOIN_NETWORKS[@]}"; do [[ "$net" == "$PRIMARY_NETWORK" ]] || printf '%s\n' "$net"; done
}

# The value of one of ContainerLabels' labels (empty when absent).
container_label() {
  local word
  local -a words=()
  read -r -a words <<<"$P_ContainerLabels"
  for word in "${words[@]}"; do [[ "${word%%=*}" != "$1" ]] || { printf '%s' "${word#*=}"; return 0; }; done
}

# From preflight, before anything changes, when the container is to be recreated.
check_recreate() {
  [[ "$P_Mode" == restore && "$CONTAINER_WAS" == absent ]] || return 0
  if [[ -n "$P_ContainerOtherMounts" ]]; then
    local m rest named=""
    local -a mounts=()
    read -r -a mounts <<<"$P_ContainerOtherMounts"
    for m in "${mounts[@]}"; do
      rest="${m#*:}"
      named+="${named:+; }${m%%:*} ${rest%%:*} at ${rest#*:}"
    done
    fail refused "container $P_ContainerName would have to be recreated, and it also mounted $named. Lifeboat never creates those mounts: restore the data alone (no ContainerName), then recreate the container with its mounts (e.g. docker compose up -d); nothing was changed"
  fi
  local net
  while read -r net; do
    [[ "$net" != bridge ]] || continue
    docker network inspect "$net" >/dev/null 2>&1 || [[ -n "${NETWORK_SPEC[$net]:-}" ]] \
      || fail refused "network $net does not exist on this host and CreateNetworks does not describe it: create it first; nothing was changed"
  done < <(networks_to_join)
  # Compose takes every container with its project and service labels for one of the
  # service's: a second would be a replica it scales away, or the one it keeps.
  local project service others
  project="$(container_label com.docker.compose.project)"
  service="$(container_label com.docker.compose.service)"
  if [[ -n "$project" && -n "$service" ]]; then
    others="$(docker ps -a --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$service" \
      --filter label=com.docker.compose.oneoff=False --format "$(gotpl '<%.Names%>')" | tr '\n' ' ')"
    [[ -z "${others// /}" ]] \
      || fail refused "Compose service $service of project $project already has a container on this host (${others% }); restore into it instead (give its name); nothing was changed"
  fi
}

# From start_container, before the container is created: the missing networks it joins, as recorded.
# Docker makes a second network of the same name when two creates meet (two members of a
# recovery wave), and neither fails: the check and the create hold a host-wide lock.
create_networks() {
  [[ "$P_Mode" == restore ]] || return 0
  local net part id lock
  local -a args parts
  local -a nets=()
  mapfile -t nets < <(networks_to_join)
  exec {lock}>>"$LOCK_DIR/networks.lock"
  flock -w 120 "$lock" || fail failed "network lock busy for 2 minutes"
  for net in "${nets[@]}"; do
    [[ -n "${NETWORK_SPEC[$net]:-}" ]] || continue
    docker network inspect "$net" >/dev/null 2>&1 && continue
    args=(network create --driver bridge)
    IFS=, read -r -a parts <<<"${NETWORK_SPEC[$net]}"
    for part in "${parts[@]:1}"; do
      if [[ "$part" == internal ]]; then args+=(--internal); else args+=(--label "$part"); fi
    done
    # A signal held until the network's undo is registered: a TERM while docker creates it is
    # acted on once it is recorded, so the rollback removes it.
    hold_signals
    id="$(docker "${args[@]}" -- "$net")" || fail failed "could not create network $net"
    (( ${#CREATED_NETWORKS[@]} > 0 )) || on_undo remove_created_networks
    CREATED_NETWORKS+=("$id $net")
    release_signals
    log "created network $net"
  done
  exec {lock}>&-
}
# By id: never another network of the same name.
remove_created_networks() {
  local net
  for net in "${CREATED_NETWORKS[@]}"; do
    docker network rm "${net%% *}" >/dev/null 2>&1 || ERROR+="; could not remove network ${net#* }, which this run created"
  done
}

# Options of `docker create` for a recreated container: its labels, its first network and its aliases there.
recreate_args() {
  local -n create_words="$1"
  local alias
  local -a aliases=()
  create_words+=("${CONTAINER_LABEL_ARGS[@]}")
  [[ -n "$PRIMARY_NETWORK" ]] || return 0
  create_words+=(--network "$PRIMARY_NETWORK")
  IFS=, read -r -a aliases <<<"${NETWORK_ALIASES[$PRIMARY_NETWORK]:-}"
  for alias in "${aliases[@]}"; do create_words+=(--network-alias "$alias"); done
}

# After the container is created: the other networks, with its aliases on each.
connect_networks() {
  [[ "$P_Mode" == restore ]] || return 0
  local net alias
  local -a args aliases
  for net in "${JOIN_NETWORKS[@]}"; do
    [[ "$net" != "$PRIMARY_NETWORK" ]] || continue
    args=(network connect)
    IFS=, read -r -a aliases <<<"${NETWORK_ALIASES[$net]}"
    for alias in "${aliases[@]}"; do args+=(--alias "$alias"); done
    docker "${args[@]}" -- "$net" "$P_ContainerName" >/dev/null || fail failed "could not connect container $P_ContainerName to network $net"
  done
}

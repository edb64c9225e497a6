# shellcheck shell=bash
# Images a run needs, obtained by the host itself: a replacement host has none of them.
# The helper is used when present, else pulled, else made from this host's own tools;
# a database image is used when present, else pulled. An image in ECR is pulled after
# a login with the instance role, into a Docker config of this run's own that is
# removed right after the pull: no credentials stay on disk. Needs log and fail.

# An ECR registry host: <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/...
ECR_REGISTRY='^([0-9]{12}\.dkr\.ecr(-fips)?\.([a-z0-9-]{1,32})\.amazonaws\.com(\.cn)?)/'
ECR_HOST="" ECR_REGION=""
# ecr_registry IMAGE: whether IMAGE is in ECR; sets ECR_HOST and ECR_REGION.
ecr_registry() {
  [[ "$1" =~ $ECR_REGISTRY ]] || return 1
  ECR_HOST="${BASH_REMATCH[1]}" ECR_REGION="${BASH_REMATCH[3]}"
}

# pull_image IMAGE: docker pull (after an ECR login when IMAGE is in ECR). On failure
# PULL_ERROR says why.
PULL_ERROR=""
pull_image() {
  local image="$1" config="" rc=0
  local -a with=()
  PULL_ERROR=""
  if ecr_registry "$image"; then
    command -v aws >/dev/null || { PULL_ERROR="the AWS CLI is not installed, so this host cannot log in to $ECR_HOST"; return 1; }
    config="$(mktemp -d "${WORK:-${TMPDIR:-/tmp}}/docker-config.XXXXXX")"
    with=(env "DOCKER_CONFIG=$config")
    log "logging in to $ECR_HOST (region $ECR_REGION) with the instance role"
    aws ecr get-login-password --region "$ECR_REGION" 2>"$config/err" \
      | "${with[@]}" docker login --username AWS --password-stdin "$ECR_HOST" >/dev/null 2>>"$config/err" || rc=$?
    if (( rc != 0 )); then
      PULL_ERROR="the login to $ECR_HOST failed: $(tail -n 2 "$config/err" | tr '\n' ' ' | head -c 300)"
      rm -rf -- "$config"
      return 1
    fi
  fi
  log "pulling $image"
  local err
  # Bounded: an unreachable registry must not hold the run (the helper can be made instead).
  err="$(timeout 900 "${with[@]}" docker pull -q "$image" 2>&1 >/dev/null)" || rc=$?
  [[ -z "$config" ]] || rm -rf -- "$config"
  (( rc == 0 )) || PULL_ERROR="docker pull failed: $(printf '%s' "$err" | tail -n 2 | tr '\n' ' ' | head -c 300)"
  return "$rc"
}

# image_digest CONTAINER REF: the image the container runs, as repository@sha256:… (the
# RepoDigest of REF's repository, else the first), or its image id when it has none.
image_digest() {
  local id want="${2%@*}" digests d
  id="$(docker inspect -f "$(gotpl '<%.Image%>')" "$1" 2>/dev/null)" || return 0
  [[ "${want##*/}" != *:* ]] || want="${want%:*}"
  digests="$(docker image inspect -f "$(gotpl '<%range .RepoDigests%><%println .%><%end%>')" "$id" 2>/dev/null || :)"
  for d in $digests; do [[ "${d%@*}" != "$want" ]] || { printf '%s' "$d"; return 0; }; done
  d="${digests%%$'\n'*}"
  printf '%s' "${d:-$id}"
}

# The helper's commands (runbooks/*/helper.sh), each copied with the libraries ldd lists
# when the helper is made from this host's tools. xz and bzip2 are optional.
HELPER_TOOLS=(tar gzip zstd cat dd wc find df awk du cut mkdir mv rm chown chmod stat sync sleep head tail sha256sum sort grep sed tr)
# tool_packages TOOL...: the packages that hold them, as "dnf install … / apt-get install …".
tool_packages() {
  local t dnf="" apt=""
  for t in "$@"; do
    case "$t" in
      tar|gzip|zstd|grep|sed) dnf+=" $t"; apt+=" $t" ;;
      find) dnf+=" findutils"; apt+=" findutils" ;;
      awk) dnf+=" gawk"; apt+=" mawk" ;;
      ldd) dnf+=" glibc-common"; apt+=" libc-bin" ;;
      bash) dnf+=" bash"; apt+=" bash" ;;
      *) [[ "$dnf" == *coreutils* ]] || { dnf+=" coreutils"; apt+=" coreutils"; } ;;
    esac
  done
  printf 'dnf install%s / apt-get install%s' "$dnf" "$apt"
}

# copy_tool ROOT PATH NAME: PATH (symlinks followed) as ROOT/usr/bin/NAME, with its libraries
# and the dynamic loader at the paths ldd names (the loader finds them there).
copy_tool() {
  local lib
  cp -L -- "$2" "$1/usr/bin/$3"
  while read -r lib; do
    [[ -e "$1$lib" ]] && continue
    mkdir -p -- "$1$(dirname -- "$lib")"
    cp -L -- "$lib" "$1$lib"
  done < <(ldd "$2" 2>/dev/null | grep -o '/[^ ]*' | sort -u)  # a static program lists none (ldd exits 1)
}

# provision_helper: a helper image made from this host's bash, GNU tar, gzip, zstd (xz and
# bzip2 when present) and the coreutils/findutils the helper uses, in an otherwise empty root,
# imported as local/lifeboat-helper-host:<content hash> (HELPER_IMAGE). Else PROVISION_ERROR names what to install.
provision_helper() {
  local t path lacking=() root hash image
  for t in "${HELPER_TOOLS[@]}" ldd; do command -v "$t" >/dev/null || lacking+=("$t"); done
  if command -v tar >/dev/null && ! tar --version 2>/dev/null | head -n 1 | grep -q 'GNU tar'; then lacking+=("tar (GNU tar; this one is not)"); fi
  if (( ${#lacking[@]} > 0 )); then
    PROVISION_ERROR="to make one from this host's tools, install ${lacking[*]} ($(tool_packages "${lacking[@]%% *}"))"
    return 1
  fi
  root="$(mktemp -d "${WORK:-${TMPDIR:-/tmp}}/helper-root.XXXXXX")"
  mkdir -p -- "$root/usr/bin" "$root/etc" "$root/tmp" "$root/data" "$root/io"
  ln -s usr/bin "$root/bin"
  ln -s /proc/mounts "$root/etc/mtab"
  # bash as /bin/sh: the helper needs pipefail, which dash lacks.
  copy_tool "$root" "$BASH" bash
  ln -s bash "$root/usr/bin/sh"
  for t in "${HELPER_TOOLS[@]}" xz bzip2; do
    path="$(command -v "$t")" || continue  # xz and bzip2 are optional
    copy_tool "$root" "$path" "$t"
  done
  [[ ! -e "$root/usr/bin/xz" ]] || ln -s xz "$root/usr/bin/xzcat"
  [[ ! -e "$root/usr/bin/bzip2" ]] || ln -s bzip2 "$root/usr/bin/bzcat"
  chmod -R u=rwX,go=rX "$root"  # the scripts' umask is 077; root in the helper may lack DAC_OVERRIDE
  chmod 1777 "$root/tmp"
  hash="$(cd "$root" && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2 | sha256sum | cut -c1-16)"
  image="local/lifeboat-helper-host:$hash"
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    tar -C "$root" -c --owner=0 --group=0 --numeric-owner . \
      | docker import -c 'ENV PATH=/usr/bin:/bin' -c 'LABEL org.opencontainers.image.title=lifeboat-helper' \
        -c 'LABEL org.opencontainers.image.description="made by Lifeboat from the host tools"' - "$image" >/dev/null 2>"$root.err" \
      || { PROVISION_ERROR="making one from this host's tools failed (docker import: $(tail -n 2 "$root.err" | tr '\n' ' ' | head -c 300))"; rm -rf -- "$root" "$root.err"; return 1; }
  fi
  rm -rf -- "$root" "$root.err"
  # The tools must run in it: a missing library shows here, not mid-restore.
  # (Called in an || list, where set -e is off: this check is what catches a failed copy.)
  docker run --rm --network none --entrypoint /bin/sh "$image" -c \
    'set -o pipefail; for t; do command -v "$t" >/dev/null || exit 1; done
     tar --version | head -n 1 | grep -q "GNU tar" && printf x | gzip -c | gzip -dc | zstd -q -c | zstd -dcq | awk "/x/" | grep -q x' \
    lifeboat-helper-check "${HELPER_TOOLS[@]}" >/dev/null 2>&1 \
    || { docker image rm "$image" >/dev/null 2>&1 || :; PROVISION_ERROR="making one from this host's tools failed (they do not run in the image: a library missing?)"; return 1; }
  HELPER_IMAGE="$image"
}

# host_arch: this host's CPU as Docker names image architectures (amd64, arm64, ...).
host_arch() {
  case "$(uname -m)" in
    x86_64) printf amd64 ;;
    aarch64|arm64) printf arm64 ;;
    *) uname -m ;;
  esac
}

# helper_usable IMAGE: IMAGE is on this host and built for its CPU (an amd64 helper on a
# Graviton host would fail at its first run with "exec format error"). Else HELPER_UNUSABLE says why.
HELPER_UNUSABLE=""
helper_usable() {
  local arch
  arch="$(docker image inspect -f "$(gotpl '<%.Architecture%>')" "$1" 2>/dev/null)" || { HELPER_UNUSABLE="it is not on this host"; return 1; }
  [[ -z "$arch" || "$arch" == "$(host_arch)" ]] && return 0
  HELPER_UNUSABLE="it is built for $arch and this host is $(host_arch) (set helperPlatform in the stack's configuration)"
  return 1
}

# acquire_helper: sets HELPER_IMAGE (the image the helper runs) and HELPER_SOURCE
# (present, pulled or provisioned) from the HelperImage parameter. Only a reference pinned
# by digest is ever pulled: a tag (local/lifeboat-helper:1 is Docker Hub's "local" namespace
# to docker pull) would let whoever controls it choose what runs as root over the data.
HELPER_IMAGE="" HELPER_SOURCE="" PROVISION_ERROR=""
acquire_helper() {
  local why
  if helper_usable "$P_HelperImage"; then
    HELPER_IMAGE="$P_HelperImage" HELPER_SOURCE=present
    log "helper image $P_HelperImage is on this host"
    return 0
  fi
  why="$HELPER_UNUSABLE"
  if [[ "$why" == "it is not on this host" ]]; then
    if [[ "$P_HelperImage" != *@sha256:* ]]; then
      why+=", and a helper named by tag is never pulled (only a reference pinned by @sha256: is)"
    elif pull_image "$P_HelperImage" && helper_usable "$P_HelperImage"; then
      HELPER_IMAGE="$P_HelperImage" HELPER_SOURCE=pulled
      log "helper image $P_HelperImage was not on this host: pulled it"
      return 0
    else
      why+=" and cannot be used from its registry (${PULL_ERROR:-$HELPER_UNUSABLE})"
    fi
  fi
  log "helper image $P_HelperImage: $why; making one from this host's own tools"
  provision_helper || fail failed "helper image $P_HelperImage: $why; $PROVISION_ERROR, or make $P_HelperImage available on this host"
  HELPER_SOURCE=provisioned
  log "made helper image $HELPER_IMAGE from this host's own tools (bash, GNU tar, gzip, zstd, coreutils, findutils)"
}
helper_json() {
  [[ -n "$HELPER_SOURCE" ]] || { printf 'null'; return 0; }
  printf '{"image":%s,"source":"%s"}' "$(json_str "$HELPER_IMAGE")" "$HELPER_SOURCE"
}

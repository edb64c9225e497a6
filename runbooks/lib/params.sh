# shellcheck shell=bash
# Parameter checks shared by both documents. PATTERN and MAXCHARS are generated
# from the document's parameters at assembly (the YAML is the contract).

# Every parameter is checked again here: SSM checks allowedPattern, but the script
# must stay safe when run by hand or by an agent that did not. Each value becomes P_<name>.
# Lengths are checked apart from the patterns: bash compiles a bounded repeat such as
# {1,3900} into thousands of states (1.7 s for the URL pattern alone).
read_params() {
  local name var value
  for name in "${!PATTERN[@]}"; do
    var="SSM_$name"
    if [[ -z "${!var+set}" ]]; then
      fail refused "parameter $name is missing (SSM_$name not set; SSM Agent >= 3.3.2746.0 is required)"
    fi
    value="${!var}"
    if (( ${#value} > ${MAXCHARS[$name]:-4096} )); then
      fail refused "parameter $name is longer than ${MAXCHARS[$name]:-4096} characters"
    fi
    if [[ ! "$value" =~ ${PATTERN[$name]} ]]; then
      fail refused "parameter $name does not match its allowed pattern ${PATTERN[$name]}"
    fi
    printf -v "P_$name" '%s' "$value"
  done
  if [[ -n "$P_VolumeName" && -n "$P_HostPath" ]] || [[ -z "$P_VolumeName" && -z "$P_HostPath" ]]; then
    fail refused "exactly one of VolumeName and HostPath must be set"
  fi
}

# Directories no HostPath may be, lie inside, or hold: system files, secrets and keys,
# other users' files, the data of Docker, SSM and the cloud agents (a backup of /var/lib
# would ship every volume and container env in /var/lib/docker). The service refuses the
# same list (SYSTEM_DIRECTORIES, functions/core/restore/request.ts; a unit test holds them
# equal). A trailing * matches the rest of the last name: /lib* is /lib, /lib64, /libx32.
SYSTEM_DIRS=(/etc /usr /bin /sbin '/lib*' /boot /proc /sys /dev /run /root /home /tmp
  /var/tmp /var/run /var/log /var/cache /var/spool /var/backups /var/lib/docker
  /var/lib/containerd /var/lib/lifeboat /var/lib/dpkg /var/lib/apt /var/lib/rpm
  /var/lib/systemd /var/lib/amazon /var/lib/cloud)

# check_host_path ADVICE: never restore into, nor ship off the host, a system or
# shared directory, nor one that holds any (secrets, keys, other users' files). One
# list for both documents. The path is judged as given and as it resolves (a symlink
# such as /srv/data -> /var/lib).
check_host_path() {
  [[ -n "$P_HostPath" ]] || return 0
  [[ "$P_HostPath" != */.* && "$P_HostPath" != *..* ]] || fail refused "HostPath must not contain dot segments"
  local real path dir what how
  real="$(realpath -m -- "$P_HostPath")"
  for path in "$P_HostPath" "$real"; do
    what="HostPath $P_HostPath"
    [[ "$path" == "$P_HostPath" ]] || what+=" resolves to $path, which"
    path="${path%/}"
    for dir in "${SYSTEM_DIRS[@]}"; do
      # shellcheck disable=SC2053 # $dir unquoted on purpose: /lib* is a pattern
      if [[ "$path/" == $dir/* ]]; then
        how="is inside"
        [[ "${path%/*}" != "${dir%/*}" ]] || how=is  # the same parent: it is the directory
      elif [[ "$dir/" == "$path/"* ]]; then how=holds
      else continue
      fi
      fail refused "$what $how a system directory ($dir): HostPath may be neither one of, inside nor above a system directory; $1"
    done
  done
}

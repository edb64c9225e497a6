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

# check_host_path ADVICE: never restore into, nor ship off the host, a system or
# shared directory (secrets, keys, other users' files). One list for both documents.
check_host_path() {
  [[ -n "$P_HostPath" ]] || return 0
  case "$P_HostPath/" in
    /etc/*|/usr/*|/bin/*|/sbin/*|/lib*|/boot/*|/proc/*|/sys/*|/dev/*|/run/*|/root/*|/home/*|/tmp/*|/var/tmp/*|/var/run/*|/var/log/*|/var/cache/*|/var/spool/*|/var/lib/docker/*|/var/lib/containerd/*|/var/lib/lifeboat/*|/var/lib/dpkg/*|/var/lib/apt/*|/var/lib/rpm/*|/var/lib/systemd/*|/var/lib/amazon/*|/var/lib/cloud/*)
      fail refused "HostPath $P_HostPath is inside a system directory; $1" ;;
  esac
  [[ "$P_HostPath" != */.* && "$P_HostPath" != *..* ]] || fail refused "HostPath must not contain dot segments"
}

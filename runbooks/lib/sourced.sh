# shellcheck shell=bash
# Shared by every document's script; inlined at assembly. A script ends in
# `if ! _is_sourced; then _main "$@"; fi`, so tests can source it and call one function.

# Whether the file is being sourced (tests of single functions) rather than run,
# as docker-library's entrypoints check it.
_is_sourced() {
  [[ "${#FUNCNAME[@]}" -ge 2 && "${FUNCNAME[0]}" == _is_sourced && "${FUNCNAME[1]}" == source ]]
}

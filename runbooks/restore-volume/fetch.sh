# shellcheck shell=bash
# The download (issue 19). S3 serves one connection at about 85-90 MB/s (AWS's performance
# guidelines), so an archive of known size (ExpectedArchiveBytes) spanning 3+ chunks is
# fetched as FETCH_CHUNK-byte ranges over DownloadConnections connections by fetch.py, one
# python3 process that writes them strictly in order to the extraction and hashes them (a
# curl, two cats and a pipe into openssl per range took four times its CPU). At most
# connections+1 chunks are held, in its memory. A range that fails or stalls is resumed from
# the byte it stopped at (FETCH_TRIES tries), never the whole download. A server that
# ignores Range (or an object of another size) gets one stream. Without python3 (or behind
# a proxy, or short of RAM) the archive comes as one curl stream. Needs bash 5, curl and
# coreutils; log, WORK and the P_ parameters. StallSeconds bounds each read.

# 32 MiB: S3's ~0.1 s to first byte is then a fifth of a range's time at 85 MB/s.
FETCH_CHUNK=$(( 32 << 20 )) FETCH_TRIES=4 FETCH_PY=/usr/bin/python3 FETCH_PY_OK=""
# The system's python3 where there is one (on PATH may be a pyenv shim: 0.3 s a start).
[[ -x "$FETCH_PY" ]] || FETCH_PY=python3
read -r -d '' FETCH_PY_CODE <"$(dirname -- "${BASH_SOURCE[0]}")/fetch.py" || :

# fetch_in_python: whether fetch_archive takes ranges (in fetch.py, which then hashes too:
# sha256 in $WORK/sha): they apply, the host has python3 (3.6+ with ssl), no proxy is set
# (curl's business) and free RAM holds the chunks twice over. Decided once (FETCH_PY_OK),
# so that the transfer and the fetch agree on who hashes.
fetch_in_python() {
  [[ -n "$FETCH_PY_OK" ]] || FETCH_PY_OK="$(fetch_python_ok && echo 1 || echo 0)"
  (( FETCH_PY_OK ))
}
fetch_python_ok() {
  local n=$(( (${P_ExpectedArchiveBytes:-0} + FETCH_CHUNK - 1) / FETCH_CHUNK )) kb
  (( P_DownloadConnections > 1 && n > 2 )) || return
  kb="$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)"
  if [[ -n "${https_proxy:-}${HTTPS_PROXY:-}${http_proxy:-}${all_proxy:-}${ALL_PROXY:-}" ]] || (( ${kb:-0} >> 10 <= 2 * (P_DownloadConnections + 1) * (FETCH_CHUNK >> 20) )) \
    || ! "$FETCH_PY" -I -c 'import sys, ssl, http.client; sys.exit(sys.version_info < (3, 6))' >/dev/null 2>&1; then
    log "one stream: ranges need python3 3.6+, no proxy, $(( (P_DownloadConnections + 1) * (FETCH_CHUNK >> 19) )) MiB free RAM"
    return 1
  fi
}

# fetch_archive [OUT]: the archive to stdout, or to OUT (a FIFO); the bytes sent so far in
# $WORK/bytes and, from ranges, its sha256 in $WORK/sha, else a copy to descriptor 4 (the
# hash's FIFO). Run it in a subshell
# (its traps are its own); notes go to descriptor 3. $WORK/fetch.pid names it while it
# fetches (stop_fetch). Exit status: curl's or fetch.py's; 141 or 23 when a reader stopped
# reading. S3 checks a presigned URL's expiry when a request starts: no range is asked later
# than 2 minutes before it (X-Amz-Date to the minute + X-Amz-Expires); the rest comes as one stream.
fetch_archive() {
  local until=$(( 1 << 40 ))
  local -a get=(curl --globoff --proto '=https,http' --fail --silent --show-error --connect-timeout 30
    --speed-limit 1024 --speed-time "$P_StallSeconds")
  if ! fetch_in_python 2>&3; then
    # OUT first, before anything can fail: its reader (the helper) always gets its end of file.
    [[ -z "${1:-}" ]] || exec >"$1"
    fetch_stream
    return
  fi
  [[ ! "$P_ArchiveUrl" =~ X-Amz-Date=([0-9]{8})T([0-9]{4}).*X-Amz-Expires=([0-9]{1,6}) ]] \
    || until=$(( $(date -ud "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}" +%s) + BASH_REMATCH[3] - 120 ))
  # Every process it started ends with it (jobs -p: also one started a moment before a TERM; a
  # second TERM does not cut this short).
  trap 'trap "" TERM; kill $(jobs -p) 2>/dev/null; rm -f -- "$WORK/fetch.pid"' EXIT
  trap 'exit 143' TERM
  printf '%s' "$BASHPID" >"$WORK/fetch.pid"
  # fetch.py opens OUT itself once its connections are under way (the helper's container starts
  # meanwhile); nothing here holds the run's own output. In the background, so that a TERM
  # reaches the trap at once (and the trap ends it).
  [[ -z "${1:-}" ]] || exec >/dev/null
  LIFEBOAT_URL="$P_ArchiveUrl" LIFEBOAT_OUT="${1:-}" "$FETCH_PY" -I -c "$FETCH_PY_CODE" "${P_ExpectedArchiveBytes:-0}" \
    "$P_DownloadConnections" "$FETCH_CHUNK" "$FETCH_TRIES" "$P_StallSeconds" "$until" "$WORK" "[lifeboat restore ${P_RestoreId:-?}] " &
  local st=0
  wait "$!" || st=$?
  # A fetch.py that ended before it opened OUT (it could not start, it was killed): the reader
  # still gets its end of file, however late its container starts (the transfer then reports this
  # exit status). The open waits for the reader; if none comes, the transfer's release_fifo or a
  # TERM (stop_fetch) ends it. Only the FIFO itself: nothing created, truncated or followed.
  if [[ -n "${1:-}" && ! -e "$WORK/opened" && -p "$1" ]]; then
    dd if=/dev/null of="$1" conv=nocreat,notrunc oflag=nofollow status=none 2>/dev/null 3>&- 4>&- &
    wait "$!" || :
  fi
  return "$st"
}

# fetch_stream: the archive as one stream, to stdout and descriptor 4; $WORK/bytes then counts
# what came (curl's own count: no counting pipe). Exit status: curl's, else tee's.
fetch_stream() {
  local -a st
  "${get[@]}" -o /dev/fd/5 -w '%{size_download}' -- "$P_ArchiveUrl" 5>&1 >"$WORK/got" | tee -a /dev/fd/4
  st=("${PIPESTATUS[@]}")
  tr -dc 0-9 <"$WORK/got" >"$WORK/bytes"
  return $(( st[0] ? st[0] : st[1] ))
}

# A run that ends mid-download (TERM, a failed helper) stops the fetch and its connections
# (|| : because the fetch may have ended on its own a moment before).
stop_fetch() { [[ ! -s "$WORK/fetch.pid" ]] || kill "$(<"$WORK/fetch.pid")" 2>/dev/null || :; }

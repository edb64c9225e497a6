# shellcheck shell=bash
# The download (issue 19). S3 serves one connection at about 85-90 MB/s (AWS's performance
# guidelines), so an archive of known size (ExpectedArchiveBytes) spanning 3+ chunks is
# fetched as FETCH_CHUNK-byte ranges over DownloadConnections connections and written
# strictly in order to the same two readers as the single stream (the hash, the extract).
# At most connections+1 chunks exist at once, in RAM (/dev/shm) when it has room,
# else in the run's private folder; each is deleted once written. A range that fails or
# stalls is resumed from the byte it stopped at (FETCH_TRIES tries), never the whole
# download. A server that ignores Range (or an object of another size) gets one stream.
# Needs bash 5, curl (7.84+ for %header{}: with an older one chunk 0 fails the Content-Range check, so one stream) and coreutils; log,
# WORK and the P_ parameters. StallSeconds bounds each try: a range that keeps stalling
# fails after FETCH_TRIES of them. A run killed hard (SIGKILL: no trap) leaves its chunk
# folder in /dev/shm (at most connections+1 chunks) until reboot, as it leaves WORK.

# 32 MiB: S3's ~0.1 s to first byte is then a fifth of a range's time at 85 MB/s.
FETCH_CHUNK=$(( 32 << 20 )) FETCH_TRIES=4 FETCH_DIR="" FETCH_PIDS=()

# fetch_archive: the archive to stdout and to descriptor 4 (the hash's FIFO); the bytes sent so
# far in $WORK/bytes. Run it in a subshell (its traps are its own); notes on retries go to
# descriptor 3. $WORK/fetch.pid names it while it fetches ranges (stop_fetch). Exit status:
# curl's; 141 or 23 when a reader stopped reading; 1 when a range failed for good.
# S3 checks a presigned URL's expiry when a request starts: no range is asked later than
# 2 minutes before it (X-Amz-Date to the minute + X-Amz-Expires); the rest then comes as one stream.
fetch_archive() {
  local size="${P_ExpectedArchiveBytes:-0}" conns="$P_DownloadConnections" n i next=0 try a len have code h until=$(( 1 << 40 ))
  local -a get=(curl --globoff --proto '=https,http' --fail --silent --show-error --connect-timeout 30
    --speed-limit 1024 --speed-time "$P_StallSeconds")
  n=$(( (size + FETCH_CHUNK - 1) / FETCH_CHUNK ))
  (( conns > 1 && n > 2 )) || { fetch_rest 0; return; }
  [[ ! "$P_ArchiveUrl" =~ X-Amz-Date=([0-9]{8})T([0-9]{4}).*X-Amz-Expires=([0-9]{1,6}) ]] \
    || until=$(( $(date -ud "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}" +%s) + BASH_REMATCH[3] - 120 ))
  trap 'kill "${FETCH_PIDS[@]}" 2>/dev/null; rm -rf -- "$FETCH_DIR" "$WORK/fetch.pid"' EXIT
  trap 'exit 143' TERM
  printf '%s' "$BASHPID" >"$WORK/fetch.pid"
  FETCH_DIR=/dev/shm
  (( $(df -Pm /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }') + 0 > (conns + 1) * (FETCH_CHUNK >> 20) )) || FETCH_DIR="$WORK"
  FETCH_DIR="$(mktemp -d "$FETCH_DIR/lifeboat-fetch.XXXXXX")" || return 1
  fetch_more "$conns"
  for (( i = 0; i < n; i++ )); do
    a=$(( i * FETCH_CHUNK )) have=0
    len=$(( a + FETCH_CHUNK > size ? size - a : FETCH_CHUNK ))
    for (( try = 1; ; try++ )); do
      wait "${FETCH_PIDS[i]}"
      unset 'FETCH_PIDS[i]'
      code="$(<"$FETCH_DIR/$i.code")"
      [[ ! -f "$FETCH_DIR/$i.$try" ]] || have=$(( have + $(stat -c %s -- "$FETCH_DIR/$i.$try") ))
      if [[ "$code" == 2* && "$code" != "206 "*"/$size" ]]; then
        (( i == 0 )) || { printf 'range %s-: HTTP %s\n' "$a" "$code" >&2; return 1; }
        kill "${FETCH_PIDS[@]}" 2>/dev/null
        FETCH_PIDS=() n=0
        log "no ranges (HTTP $code): one stream" 2>&3
        break 2
      fi
      (( have < len )) || break
      (( try < FETCH_TRIES )) || { printf 'range %s-: HTTP %s, %s\n' "$(( a + have ))" "${code%% *}" "$(tail -n 1 "$FETCH_DIR/$i.err")" >&2; return 1; }
      log "range $a- cut at byte $(( a + have )): resuming there" 2>&3
      fetch_range "$i" $(( try + 1 )) "$have"
    done
    fetch_more $(( i + conns + 1 ))
    # To the hash and to the extraction at once (two readers of the file: no tee in between).
    cat -- "$FETCH_DIR/$i".[1-9] >&4 &
    h=$!
    cat -- "$FETCH_DIR/$i".[1-9] || return
    wait "$h" || return
    printf '%s' $(( a + len )) >"$WORK/bytes"
    rm -f -- "$FETCH_DIR/$i".*
  done
  # The rest (all of it from a server that ignores Range) as one stream.
  (( n * FETCH_CHUNK >= size )) || fetch_rest $(( n * FETCH_CHUNK ))
}

# fetch_rest FROM: the archive from byte FROM on as one stream, to stdout and descriptor 4;
# $WORK/bytes then counts what came (curl's own count: no counting pipe). In fetch_archive.
# Exit status: curl's, else tee's.
fetch_rest() {
  local -a r=() st
  (( $1 == 0 )) || r=(--range "$1-")
  "${get[@]}" "${r[@]}" -o /dev/fd/5 -w '%{size_download}' -- "$P_ArchiveUrl" 5>&1 >"$WORK/got" | tee -a /dev/fd/4
  st=("${PIPESTATUS[@]}")
  printf '%s' $(( $1 + $(tr -dc 0-9 <"$WORK/got") + 0 )) >"$WORK/bytes"
  return $(( st[0] ? st[0] : st[1] ))
}

# fetch_more LIMIT: starts ranges up to chunk LIMIT-1; near the URL's expiry, none more (the
# chunks after are then the one stream's). In fetch_archive.
fetch_more() {
  while (( next < n && next < $1 )); do
    (( EPOCHSECONDS < until )) || { n=$next; log "URL expiring: one stream from $(( n * FETCH_CHUNK ))" 2>&3; return; }
    fetch_range "$next" 1 0
    next=$(( next + 1 ))
  done
}

# fetch_range I TRY HAVE: one try at chunk I from its byte HAVE on, in the background
# (curl itself, so its pid in FETCH_PIDS[I] is what a kill must reach). In fetch_archive.
fetch_range() {
  local a=$(( $1 * FETCH_CHUNK + $3 )) b=$(( ($1 + 1) * FETCH_CHUNK ))
  (( b <= size )) || b=$size
  "${get[@]}" --range "$a-$(( b - 1 ))" --max-filesize $(( b - a )) --output "$FETCH_DIR/$1.$2" \
    --write-out '%{http_code} %header{content-range}' -- "$P_ArchiveUrl" >"$FETCH_DIR/$1.code" 2>"$FETCH_DIR/$1.err" &
  FETCH_PIDS[$1]=$!
}

# A run that ends mid-download (TERM, a failed helper) stops the fetch and its connections
# (|| : because the fetch may have ended on its own a moment before).
stop_fetch() { [[ ! -s "$WORK/fetch.pid" ]] || kill "$(<"$WORK/fetch.pid")" 2>/dev/null || :; }

# The ranged download (fetch.sh runs it): argv SIZE CONNECTIONS CHUNK TRIES STALL_SECONDS UNTIL
# WORK LOG_PREFIX, the URL in LIFEBOAT_URL (out of ps). The archive in order to LIFEBOAT_OUT (a
# FIFO, opened once the connections are under way: WORK/opened then) or else to stdout, its
# sha256 to WORK/sha, the bytes sent so far to WORK/bytes, notes to descriptor 3. A thread per
# connection, each reusing its connection; CONNECTIONS+1 chunk buffers, reused (bounded memory).
# The chunk next in order is sent as its bytes come (an eighth or more at a time), not once it is
# whole; its last byte only once it is whole, and then its buffer is free again.
# A range that fails, stalls or trickles (below 1 KiB/s for STALL_SECONDS, as curl's
# --speed-limit) is asked again from the byte it reached, on a new connection: at once when
# that try brought bytes, else after a pause that doubles.
# Exit 0; 141 when the reader stopped; 1 with the reason on stderr. Python 3.6+, stdlib only.
import hashlib
import http.client
import mmap
import os
import socket
import ssl
import sys
import threading
import time
from urllib.parse import urlsplit

SIZE, CONNS, CHUNK, TRIES, STALL, UNTIL = map(int, sys.argv[1:7])
WORK, PREFIX = sys.argv[7:9]
URL = urlsplit(os.environ["LIFEBOAT_URL"])
PATH = URL.path + ("?" + URL.query if URL.query else "")
N = -(-SIZE // CHUNK)
MiB = 1 << 20
PIECE = max(1, CHUNK // 8)  # the least of a chunk still coming that is sent on (4 MiB of 32)
CTX = ssl.create_default_context() if URL.scheme == "https" else None
cv = threading.Condition()
done = {}  # chunk: its buffer, why the rest comes as one stream, or why it failed
part = {}  # chunk handed to a worker, until the writer takes it whole: [its buffer, bytes read so far]
st = {"next": 0, "end": N, "stop": False}

free = []  # chunk buffers (main makes them)
meters = []  # a connection's [bytes read, the same at the last look, when, its connection, too slow]


def watch():
    while True:
        time.sleep(1)
        now = time.time()
        for m in meters:
            if not m[3] or now - m[2] >= STALL:
                if m[3] and m[0] - m[1] < 1024 * STALL:
                    m[4] = True  # the blocked read ends: the try fails, and is resumed
                    try:
                        m[3].sock.shutdown(socket.SHUT_RDWR)
                    except (OSError, AttributeError):
                        pass
                m[1], m[2] = m[0], now


def note(text):
    os.write(3, (PREFIX + text + "\n").encode())


def save(name, text):
    with open(os.path.join(WORK, name), "w") as f:
        f.write(text)


def count(sent):
    # Rewritten in place, never truncated (truncating frees the file's block, and freeing one
    # waits for the disk, its write-back and a discard, on the path every byte takes). The count
    # only grows, so each number is as long as the last or longer and covers it whole.
    os.pwrite(st["count"], b"%d" % sent, 0)


def get(conn, first, last=""):
    if not conn:
        if CTX:
            conn = http.client.HTTPSConnection(URL.hostname, URL.port, timeout=30, context=CTX)
        else:
            conn = http.client.HTTPConnection(URL.hostname, URL.port, timeout=30)
    conn.request("GET", PATH, headers={"Range": "bytes=%d-%s" % (first, last)} if first or last else {})
    conn.sock.settimeout(STALL)  # a read waiting longer than StallSeconds fails the try
    return conn, conn.getresponse()


def fetch(conn, i, p, m):
    buf = p[0]
    a = i * CHUNK
    n = min(CHUNK, SIZE - a)
    have = tries = 0
    while True:
        code = 0
        reused, m[4], began = conn, False, have
        try:
            conn, r = get(conn, a + have, a + n - 1)
            code = r.status
            if code // 100 == 2 and r.getheader("Content-Range") != "bytes %d-%d/%d" % (a + have, a + n - 1, SIZE):
                conn.close()
                if i == have == 0:  # a server without ranges, or an object of another size
                    return None, "no ranges (HTTP %d): one stream" % code
                raise ValueError("range %d-: HTTP %d" % (a, code))
            if code != 206 or r.chunked or r.length != n - have:
                raise OSError("HTTP error")
            view = memoryview(buf)
            m[1], m[2], m[3] = m[0], time.time(), conn
            while have < n:
                # What one read of the socket brings (the watchdog sees every byte come).
                got = r.fp.readinto1(view[have:n])
                if not got:
                    raise OSError("transfer closed with %d bytes remaining to read" % (n - have))
                have += got
                p[1] = have  # bytes before it are final (a resumed try reads on from here)
                m[0] += got
            m[3] = None
            r.close()  # all its bytes read: the connection takes the next range
            return conn, buf
        except (OSError, http.client.HTTPException) as e:
            m[3] = None
            if conn:
                conn.close()
            conn = None
            if reused and not code:  # a kept connection the server had closed meanwhile: not a try
                continue
            tries += 1
            why = "slower than 1 KiB/s for %d s" % STALL if m[4] else str(e) or type(e).__name__
            if tries == TRIES:
                raise OSError("range %d-: HTTP %03d, %s" % (a + have, code, why))
            # A try that brought bytes (a connection cut mid-body) resumes at once, as s3transfer
            # does; one that brought none (an HTTP error, no answer) waits longer each time.
            wait = 0 if have > began else 0.25 * 2**tries
            note("range %d- cut at byte %d (%s): resuming there%s" % (a, a + have, why, " after %g s" % wait if wait else ""))
            time.sleep(wait)


def worker():
    conn = None
    m = [0, 0, 0, None, False]
    meters.append(m)
    while True:
        with cv:
            while not free and not st["stop"]:
                cv.wait()
            i = st["next"]
            if st["stop"] or i >= st["end"]:
                return
            if time.time() >= UNTIL:  # S3 checks a presigned URL's expiry when a request starts
                st["end"] = i
                note("URL expiring: one stream from %d" % (i * CHUNK))
                cv.notify_all()
                return
            st["next"] = i + 1
            buf = free.pop()
            part[i] = p = [buf, 0]
        try:
            conn, got = fetch(conn, i, p, m)
        except Exception as e:  # the download fails there, with its reason
            got = e
        with cv:
            done[i] = got
            cv.notify_all()
            if got is not buf:  # a failure, or no ranges: this connection is done
                if not isinstance(got, Exception):  # (a failed chunk's buffer may be being sent)
                    free.append(buf)
                return


def write(view):
    try:
        while view:
            view = view[os.write(1, view) :]
    except BrokenPipeError:
        os._exit(141)  # the reader stopped first (as a SIGPIPE or curl's 23 would say)


def main():
    digest = hashlib.sha256()
    st["count"] = os.open(os.path.join(WORK, "bytes"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    count(0)
    # Private anonymous maps: pages are taken as the bytes come (a bytearray zeroes them all
    # first), 2 MiB at a time where the kernel allows (4 KiB page faults took a fifth of the CPU).
    for _ in range(min(CONNS + 1, N)):
        free.append(mmap.mmap(-1, CHUNK, flags=mmap.MAP_PRIVATE))
        try:
            free[-1].madvise(mmap.MADV_HUGEPAGE)
        except (AttributeError, OSError):  # before Python 3.8; a kernel without huge pages
            pass
    for _ in range(min(CONNS, N)):
        threading.Thread(target=worker, daemon=True).start()
    threading.Thread(target=watch, daemon=True).start()
    out = os.environ.get("LIFEBOAT_OUT")
    if out:
        # Opening a FIFO waits for its reader (the helper, whose container takes a few tenths of a
        # second to start): the first ranges come meanwhile.
        fd = os.open(out, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
        os.dup2(fd, 1)
        os.close(fd)
        save("opened", "")
    try:  # a 1 MiB pipe: a sixteenth of the wake-ups of the default
        import fcntl

        fcntl.fcntl(1, getattr(fcntl, "F_SETPIPE_SZ", 1031), MiB)
    except OSError:
        pass
    sent = 0
    why = None
    while sent < SIZE:
        i, at = divmod(sent, CHUNK)
        last = min(CHUNK, SIZE - i * CHUNK) - 1
        with cv:
            # The chunk whole, or PIECE more of it (polled: a worker wakes the writer only when a
            # chunk is done), or no such chunk (the rest comes as one stream). A piece never holds
            # the chunk's last byte: a chunk read to the end but not yet in `done` is waited for,
            # so that every chunk ends through `done` and its buffer goes back to `free`.
            while i not in done and i < st["end"] and (i not in part or min(part[i][1], last) - at < PIECE):
                cv.wait(0.01)
            got = done.pop(i, None)
            if isinstance(got, Exception):
                raise OSError(str(got))
            if isinstance(got, mmap.mmap):
                buf, upto, whole = got, last + 1, True
                part.pop(i, None)
            elif got is None and i in part:
                buf, upto, whole = part[i][0], min(part[i][1], last), False
            else:
                why = got
                st["stop"] = True  # no worker takes another chunk
                cv.notify_all()
                break
        view = memoryview(buf)[at:upto]
        # The hash in a thread beside the write (hashlib lets go of the GIL).
        hashing = threading.Thread(target=digest.update, args=(view,))
        hashing.start()
        write(view)
        hashing.join()
        sent += len(view)
        count(sent)
        if whole:
            with cv:
                free.append(buf)
                cv.notify_all()
    if sent < SIZE:
        # The rest as one stream (a server without ranges, an expiring URL): all that comes.
        if why:
            note(why)
        try:
            r = get(None, sent)[1]
            # From byte 0 whatever comes (the size check judges it); else exactly the rest.
            if r.status // 100 != 2 or sent and r.getheader("Content-Range") != "bytes %d-%d/%d" % (sent, SIZE - 1, SIZE):
                raise OSError("HTTP %d %s" % (r.status, r.getheader("Content-Range", "")))
            buf = memoryview(bytearray(MiB))
            got = r.readinto(buf)
            while got:
                digest.update(buf[:got])
                write(buf[:got])
                sent += got
                got = r.readinto(buf)
        except (OSError, http.client.HTTPException) as e:
            raise OSError("one stream from byte %d: %s" % (sent, str(e) or type(e).__name__))
        finally:
            count(sent)
    save("sha", digest.hexdigest() + "\n")


if __name__ == "__main__":
    status = 0
    try:
        main()
    except Exception as e:  # noqa: BLE001 (the reason, on one line, for the run's error)
        sys.stderr.write("%s\n" % (str(e) or type(e).__name__))
        status = 1
    sys.stderr.flush()
    os._exit(status)  # not waiting for the other connections' threads

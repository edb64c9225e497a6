# The ranged download (fetch.sh runs it): argv SIZE CONNECTIONS CHUNK TRIES STALL_SECONDS UNTIL
# WORK LOG_PREFIX, the URL in LIFEBOAT_URL (out of ps). The archive to stdout in order, its
# sha256 to WORK/sha, the bytes sent so far to WORK/bytes, notes to descriptor 3. A thread per
# connection, each reusing its connection; CONNECTIONS+1 chunk buffers, reused (bounded memory).
# A range that fails or stalls is asked again from the byte it stopped at, on a new connection.
# Exit 0; 141 when the reader stopped; 1 with the reason on stderr. Python 3.6+, stdlib only.
import hashlib
import http.client
import mmap
import os
import ssl
import sys
import threading
import time
from urllib.parse import urlsplit

SIZE, CONNS, CHUNK, TRIES, STALL, UNTIL = map(int, sys.argv[1:7])
WORK, PREFIX = sys.argv[7:9]
URL = urlsplit(os.environ["LIFEBOAT_URL"])
N = -(-SIZE // CHUNK)
MiB = 1 << 20
cv = threading.Condition()
done = {}  # chunk: its buffer, why the rest comes as one stream, or why it failed
st = {"next": 0, "end": N, "stop": False}
# Anonymous maps: their pages are taken as the bytes come (a bytearray would zero them all first).
free = [mmap.mmap(-1, CHUNK) for _ in range(min(CONNS + 1, N))]


def note(text):
    os.write(3, (PREFIX + text + "\n").encode())


def save(name, text):
    with open(os.path.join(WORK, name), "w") as f:
        f.write(text)


def get(conn, first, last=""):
    if not conn:
        if URL.scheme == "https":
            conn = http.client.HTTPSConnection(URL.hostname, URL.port, timeout=30, context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(URL.hostname, URL.port, timeout=30)
    conn.request("GET", URL.path + ("?" + URL.query if URL.query else ""), headers={"Range": "bytes=%d-%s" % (first, last)} if first or last else {})
    conn.sock.settimeout(STALL)  # a read waiting longer than StallSeconds fails the try
    return conn, conn.getresponse()


def fetch(conn, i, buf):
    a = i * CHUNK
    n = min(CHUNK, SIZE - a)
    have = 0
    for attempt in range(1, TRIES + 1):
        code = 0
        try:
            conn, r = get(conn, a + have, a + n - 1)
            code = r.status
            if code // 100 == 2 and r.getheader("Content-Range") != "bytes %d-%d/%d" % (a + have, a + n - 1, SIZE):
                conn.close()
                if i == have == 0:  # a server without ranges, or an object of another size
                    return None, "no ranges (HTTP %d): one stream" % code
                raise ValueError("range %d-: HTTP %d" % (a, code))
            if code != 206:
                raise OSError("HTTP error")
            view = memoryview(buf)
            while have < n:
                got = r.readinto(view[have : min(n, have + MiB)])
                if not got:
                    raise OSError("transfer closed with %d bytes remaining to read" % (n - have))
                have += got
            return conn, buf
        except (OSError, http.client.HTTPException) as e:
            if conn:
                conn.close()
            conn = None
            if attempt == TRIES:
                raise OSError("range %d-: HTTP %03d, %s" % (a + have, code, str(e) or type(e).__name__))
            note("range %d- cut at byte %d: resuming there" % (a, a + have))


def worker():
    conn = None
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
        try:
            conn, got = fetch(conn, i, buf)
        except Exception as e:  # the download fails there, with its reason
            got = e
        with cv:
            done[i] = got
            cv.notify_all()
            if got is not buf:  # a failure, or no ranges: this connection is done
                free.append(buf)
                return


def write(view):
    while view:
        view = view[os.write(1, view) :]


def main():
    digest = hashlib.sha256()
    try:  # a 1 MiB pipe: a sixteenth of the wake-ups of the default
        import fcntl

        fcntl.fcntl(1, getattr(fcntl, "F_SETPIPE_SZ", 1031), MiB)
    except OSError:
        pass
    for _ in range(min(CONNS, N)):
        threading.Thread(target=worker, daemon=True).start()
    sent = 0
    while sent < SIZE:
        i = sent // CHUNK
        with cv:
            while i not in done and i < st["end"]:
                cv.wait()
            buf = done.pop(i, None)
            if isinstance(buf, Exception):
                raise OSError(str(buf))
            if not isinstance(buf, mmap.mmap):
                st["stop"] = True  # no worker takes another chunk
                cv.notify_all()
                break
        view = memoryview(buf)[: min(CHUNK, SIZE - sent)]
        # The hash in a thread beside the write (hashlib lets go of the GIL).
        hashing = threading.Thread(target=digest.update, args=(view,))
        hashing.start()
        write(view)
        hashing.join()
        sent += len(view)
        save("bytes", str(sent))
        with cv:
            free.append(buf)
            cv.notify_all()
    if sent < SIZE:
        # The rest as one stream (a server without ranges, an expiring URL): all that comes.
        if buf:
            note(buf)
        r = get(None, sent)[1]
        if r.status // 100 != 2:
            raise OSError("HTTP %d" % r.status)
        buf = memoryview(bytearray(MiB))
        got = r.readinto(buf)
        while got:
            digest.update(buf[:got])
            write(buf[:got])
            sent += got
            got = r.readinto(buf)
        save("bytes", str(sent))
    save("sha", digest.hexdigest() + "\n")


if __name__ == "__main__":
    status = 0
    try:
        main()
    except BrokenPipeError:
        status = 141  # the reader stopped first (as a SIGPIPE or curl's 23 would say)
    except Exception as e:  # noqa: BLE001 (the reason, on one line, for the run's error)
        sys.stderr.write("%s\n" % (str(e) or type(e).__name__))
        status = 1
    sys.stderr.flush()
    os._exit(status)  # not waiting for the other connections' threads

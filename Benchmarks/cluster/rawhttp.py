"""Just enough HTTP/1.1 for the benchmark's asyncio clients (cas.py, watchfanout.py).

Keep-alive requests written as bytes and answers read from an asyncio stream, and a
de-chunker for long streaming answers (SSE, etcd's gateway watch) fed read by read.
Standard library only, like the rest of the driver: wrk cannot carry state from an answer
into the next request of the same connection, which a read-modify-write needs, and aiohttp
is not installed here.
"""

import asyncio
import re

STATUS_RE = re.compile(rb"HTTP/1\.[01] (\d{3})")


def request(method, path, host, port, body=None, headers=None):
    """One request as bytes. body is str or bytes; a JSON content type goes with it."""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%d" % (host, port)]
    for name, value in (headers or {}).items():
        lines.append("%s: %s" % (name, value))
    payload = b""
    if body is not None:
        payload = body.encode() if isinstance(body, str) else body
        lines.append("Content-Type: application/json")
        lines.append("Content-Length: %d" % len(payload))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def parse_head(head):
    """(status, {lower-case name: value}) of a response head ending in CRLF CRLF."""
    text = head.decode("latin-1").split("\r\n")
    match = STATUS_RE.match(head)
    if not match:
        raise ValueError("not an HTTP response: %r" % head[:40])
    headers = {}
    for line in text[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(match.group(1)), headers


async def read_response(reader):
    """(status, headers, body) of one whole answer on a keep-alive connection."""
    status, headers = parse_head(await reader.readuntil(b"\r\n\r\n"))
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(p[:-2] for p in parts)
    else:
        body = b""
    return status, headers, body


class CRFreeDechunker:
    """Turns the bytes of a chunked body into its payload, read by read, for bodies whose
    payload never holds a CR byte (SSE events written with LF line ends, one-line JSON
    messages). Then every CR belongs to the chunk framing, and a read is de-chunked with
    three C-speed calls instead of a Python loop per chunk, which matters when a thousand
    streams each bring one small chunk per event. Chunk boundaries need not line up with
    reads or with the events inside the payload.

    The framing between chunks is CRLF <hex size> CRLF (the body's first size line is given
    a CRLF in front, so it looks the same), two CRs per framing. An odd count of CRs means
    the last framing is cut off by the read; it waits for the next one."""

    FRAMING = re.compile(rb"\r\n[0-9a-fA-F]+\r\n")

    def __init__(self):
        self.pending = b"\r\n"

    def feed(self, data):
        buf = self.pending + data if self.pending else data
        crs = buf.count(b"\r")
        if crs == 0:
            self.pending = b""
            return buf
        last = buf.rfind(b"\r")
        if crs % 2:
            safe = last                              # a framing begun but not finished
        elif last + 1 < len(buf):
            safe = len(buf)                          # the last framing is whole
        else:
            safe = buf.rfind(b"\r", 0, last)         # its final LF has not arrived
        self.pending = buf[safe:]
        return self.FRAMING.sub(b"", buf[:safe])

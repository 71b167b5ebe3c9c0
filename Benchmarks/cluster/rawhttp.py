"""Just enough HTTP/1.1 for the benchmark's asyncio clients (cas.py, watchfanout.py).

Keep-alive requests written as bytes and answers read from an asyncio stream, and a
de-chunker for long streaming answers (SSE, etcd's gateway watch) fed straight from a
Protocol's data_received. Standard library only, like the rest of the driver: wrk cannot
carry state from an answer into the next request of the same connection, which a
read-modify-write needs, and aiohttp is not installed here.
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


class Dechunker:
    """Turns the bytes of a chunked body into its payload, piece by piece as they arrive.
    Chunk boundaries need not line up with reads or with the events inside the payload."""

    def __init__(self, chunked):
        self.chunked = chunked
        self.remaining = 0      # payload bytes left in the current chunk
        self.trailer = 0        # CRLF bytes after the current chunk's payload still to skip
        self.pending = b""      # an incomplete size line
        self.finished = False

    def feed(self, data):
        if not self.chunked:
            return data
        out = []
        pos, end = 0, len(data)
        if self.pending:
            data = self.pending + data
            self.pending = b""
            end = len(data)
        while pos < end:
            if self.remaining:
                take = min(self.remaining, end - pos)
                out.append(data[pos:pos + take])
                pos += take
                self.remaining -= take
                if not self.remaining:
                    self.trailer = 2
                continue
            if self.trailer:
                skip = min(self.trailer, end - pos)
                pos += skip
                self.trailer -= skip
                continue
            line_end = data.find(b"\r\n", pos)
            if line_end < 0:
                self.pending = data[pos:]
                break
            size = int(data[pos:line_end].split(b";", 1)[0], 16)
            pos = line_end + 2
            if size == 0:
                self.finished = True
                break
            self.remaining = size
        return b"".join(out)

"""A raw FastCGI client: speaks to invsys-fcgi straight (bypassing nginx) as nginx's
fastcgi_params would; fcgi_record / fcgi_pair build records for tests that speak it by hand."""

import socket
import time

from .http_client import STACK_KEY, default_key


def fcgi_record(rtype, request_id, content=b""):
    pad = (8 - len(content) % 8) % 8
    return bytes([1, rtype, request_id >> 8, request_id & 0xFF, len(content) >> 8, len(content) & 0xFF, pad, 0]) \
        + content + b"\0" * pad


def fcgi_pair(name, value):
    def length(n):
        return bytes([n]) if n < 128 else (n | 0x80000000).to_bytes(4, "big")
    name, value = name.encode(), value.encode()
    return length(len(name)) + length(len(value)) + name + value


def fcgi_request(address, method, uri, body=b"", content_type="application/json", timeout=10, key=STACK_KEY,
                 params_extra=None):
    """Speaks FastCGI straight to invsys-fcgi (bypassing nginx), as nginx's fastcgi_params would.
    address: ("127.0.0.1", port) or a unix socket path. Returns (status, headers dict, body bytes).
    key: STACK_KEY (the admin key registered for the address by Fcgi.start), None (no
    Authorization) or a secret, sent as HTTP_AUTHORIZATION; params_extra: more (or replaced) parameters."""
    path, _, query = uri.partition("?")
    params = {
        "QUERY_STRING": query, "REQUEST_METHOD": method, "CONTENT_TYPE": content_type if body else "",
        "CONTENT_LENGTH": str(len(body)) if body else "", "SCRIPT_NAME": path, "REQUEST_URI": uri,
        "DOCUMENT_URI": path, "DOCUMENT_ROOT": "/", "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_SCHEME": "http",
        "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_SOFTWARE": "harness", "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000", "SERVER_ADDR": "127.0.0.1", "SERVER_PORT": "80", "SERVER_NAME": "localhost",
    }
    secret = default_key(address if isinstance(address, str) else tuple(address)) if key is STACK_KEY else key
    if secret is not None:
        params["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    params.update(params_extra or {})
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(address)
        out = fcgi_record(1, 1, bytes([0, 1, 0, 0, 0, 0, 0, 0]))  # BEGIN_REQUEST, RESPONDER
        out += fcgi_record(4, 1, b"".join(fcgi_pair(k, v) for k, v in params.items()))
        out += fcgi_record(4, 1)
        for i in range(0, len(body), 32768):
            out += fcgi_record(5, 1, body[i:i + 32768])
        out += fcgi_record(5, 1)
        sock.sendall(out)
        buf, stdout = b"", b""
        deadline = time.monotonic() + timeout
        ended = False
        while not ended and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 8:
                clen = (buf[4] << 8) | buf[5]
                total = 8 + clen + buf[6]
                if len(buf) < total:
                    break
                rtype, content = buf[1], buf[8:8 + clen]
                buf = buf[total:]
                if rtype == 6:
                    stdout += content
                elif rtype == 3:
                    ended = True
                    break
    head, _, payload = stdout.partition(b"\r\n\r\n")
    if not _:
        head, _, payload = stdout.partition(b"\n\n")
    headers = {}
    for line in head.decode("latin-1").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    status = int(headers.get("status", "200").split()[0]) if stdout else 0
    return status, headers, payload


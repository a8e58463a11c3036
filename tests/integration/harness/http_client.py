"""HTTP through the gateway: one request per connection (http.client), the answer as a Response,
and the Link / Location headers as paths; free loopback ports; the API key requests carry.

API keys: every route but /api/health needs `Authorization: Bearer <key>`. A Stack creates an
admin key at its start and registers it for its gateway port (set_default_key), so that every
request to that port carries it unless the test says otherwise: `key=None` sends no
Authorization header, `key="<secret>"` sends that one, and an Authorization header given in
`headers` is sent as it is (and no key added)."""

import http.client
import json as _json
import re
import socket
import urllib.parse

from . import openapi_check
from .settings import HTTP_TIMEOUT_S


STACK_KEY = object()  # the default of `key`: the key registered for the port or address

_default_keys = {}


def set_default_key(address, secret):
    """Requests to `address` (a gateway port, a FastCGI socket path or (host, port)) carry
    `secret` unless they say otherwise; None forgets it."""
    if secret is None:
        _default_keys.pop(address, None)
    else:
        _default_keys[address] = secret


def default_key(address):
    return _default_keys.get(address)


def with_key(headers, address, key=STACK_KEY):
    """`headers` (a dict, copied) with the Authorization header `key` asks for."""
    hdrs = dict(headers or {})
    if any(name.lower() == "authorization" for name in hdrs):
        return hdrs
    secret = default_key(address) if key is STACK_KEY else key
    if secret is not None:
        hdrs["Authorization"] = f"Bearer {secret}"
    return hdrs


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, method, path, status, headers, body):
        self.method = method
        self.path = path
        self.status = status
        self.headers = headers  # http.client.HTTPMessage (case-insensitive get / get_all)
        self.body = body        # bytes
        self.text = body.decode("utf-8", "replace")

    def json(self, **kwargs):
        try:
            return _json.loads(self.body.decode("utf-8"), **kwargs)
        except (ValueError, UnicodeDecodeError) as e:
            raise AssertionError(
                f"{self.method} {self.path[:200]} -> {self.status}: body is not JSON ({e}): {self.text[:500]!r}")

    def header(self, name):
        return self.headers.get(name)

    @property
    def content_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def __repr__(self):
        return f"<{self.method} {self.path[:120]} -> {self.status} {self.text[:300]!r}>"


def http_request(port, method, path, json=None, body=None, headers=None, timeout=HTTP_TIMEOUT_S,
                 host="127.0.0.1", chunked=False, key=STACK_KEY, check=True):
    """One request on a new connection. body may be str or bytes; json is serialised as UTF-8.
    key: STACK_KEY (the key registered for the port, if any), None (no key) or a secret.
    check: the answer must match the service's OpenAPI document (harness/openapi_check.py);
    raises OpenApiMismatch (an AssertionError) when it does not."""
    hdrs = with_key(headers, port, key)
    if json is not None:
        body = _json.dumps(json, ensure_ascii=False).encode("utf-8")
        hdrs.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode("utf-8")
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        sent_error = None
        try:
            if chunked:
                conn.request(method, path, body=iter([body]) if body else iter([]), headers=hdrs,
                             encode_chunked=True)
            else:
                if body is None and method in ("POST", "PATCH", "PUT"):
                    hdrs.setdefault("Content-Length", "0")
                conn.request(method, path, body=body, headers=hdrs)
        except (BrokenPipeError, ConnectionResetError) as e:
            # The server may answer (413) and close before taking the whole body.
            sent_error = e
        try:
            resp = conn.getresponse()
            data = resp.read()
        except (http.client.HTTPException, OSError) as e:
            if sent_error is not None:
                raise sent_error
            raise
    finally:
        conn.close()
    response = Response(method, path, resp.status, resp.msg, data)
    if check and host == "127.0.0.1":
        openapi_check.check(port, response)
    return response


def link_next(resp):
    """The target of a `Link: <…>; rel="next"` header as a path with query, or None."""
    for value in resp.headers.get_all("Link") or []:
        for part in re.finditer(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)", value):
            params = part.group(2)
            if re.search(r';\s*rel\s*=\s*"?(?:[^";]*\s)?next(?:\s[^";]*)?"?', params):
                url = part.group(1)
                split = urllib.parse.urlsplit(url)
                path = split.path
                if split.query:
                    path += "?" + split.query
                return path
    return None


def location_path(resp):
    loc = resp.headers.get("Location")
    if loc is None:
        return None
    split = urllib.parse.urlsplit(loc)
    return split.path + (("?" + split.query) if split.query else "")


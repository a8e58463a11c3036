"""Every answer the integration suite receives, checked against the service's own OpenAPI
document (GET /api/openapi.json): its status must be declared for the operation, its body must
match the declared schema, and the declared required headers must be present.

http_client.http_request calls check(port, response) for each answer. The document is fetched
once per gateway port the first time an answer from it is checked (with the port's default key),
and forgotten when the Stack stops (forget(port)), since the next stack on that port may load
other plugins. Validators are compiled once per (document, schema) and cached.

What is not checked, and why:
- requests to ports with no default key (the document cannot be fetched), paths outside /api/,
  and answers to paths or methods that match no operation (a 404/405 for a path of no known
  shape is checked against the Problem schema only);
- during a pool reload, a success on a collection the document does not have is fetched again
  once; if the new fetch (perhaps from a worker of the other generation) still lacks it, that
  answer is not checked;
- HEAD bodies (there are none), and the body of answers a test reads cut short;
- the bounded load generators (harness/load.py, pool.py) and raw sockets: they do not go
  through http_request's check (check=False), to keep the load's pace.

Set INVSYS_OPENAPI_CHECK=0 to switch the check off (when a test must measure raw timing)."""

import json
import os
import re
import threading
import urllib.parse

try:
    import jsonschema
except ImportError:
    # Another Python than Debian's runs the tests (a pyenv one, say): take Debian's
    # python3-jsonschema (scripts/setup.sh installs it), which is pure Python.
    import sys as _sys
    _sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import jsonschema
    except ImportError as e:  # the whole suite depends on it: say what to install
        raise ImportError("the integration harness needs jsonschema (Debian: python3-jsonschema, "
                          "installed by scripts/setup.sh) for the Python that runs the tests") from e

_lock = threading.Lock()
_documents = {}   # port -> _Document, or None while it cannot be had
_fetching = threading.local()

ENABLED = os.environ.get("INVSYS_OPENAPI_CHECK", "1") != "0"


class OpenApiMismatch(AssertionError):
    pass


class _Document:
    def __init__(self, doc):
        self.doc = doc
        base = (doc.get("servers") or [{}])[0].get("url", "")
        self.base = base.rstrip("/")
        self.routes = []   # (compiled path regex, path item)
        for path, item in doc.get("paths", {}).items():
            pattern = "^" + re.escape(self.base + path) + "/?$"
            pattern = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", pattern)
            literal = path.count("{")
            self.routes.append((literal, re.compile(pattern), item))
        # Literal segments win over placeholders, as in the router.
        self.routes.sort(key=lambda r: r[0])
        self._validators = {}

    def operation(self, method, path):
        for _, regex, item in self.routes:
            if regex.match(path):
                return item, item.get(method.lower())
        return None, None

    def resolve(self, obj):
        while isinstance(obj, dict) and "$ref" in obj:
            ref = obj["$ref"]
            node = self.doc
            for part in ref.lstrip("#/").split("/"):
                node = node[part]
            obj = node
        return obj

    def inlined(self, schema):
        """`schema` with every $ref replaced by its target (the document's schemas do not
        recurse): resolving references on each validation costs more than the validation."""
        if isinstance(schema, dict):
            if "$ref" in schema:
                return self.inlined(self.resolve(schema))
            return {k: self.inlined(v) for k, v in schema.items()}
        if isinstance(schema, list):
            return [self.inlined(v) for v in schema]
        return schema

    def validator(self, schema):
        key = json.dumps(schema, sort_keys=True)
        v = self._validators.get(key)
        if v is None:
            v = jsonschema.Draft202012Validator(self.inlined(schema))
            self._validators[key] = v
        return v


def forget(port):
    with _lock:
        _documents.pop(port, None)


def _document(port):
    from .http_client import default_key, http_request
    with _lock:
        if port in _documents:
            return _documents[port]
    if default_key(port) is None:
        return None
    _fetching.active = True
    try:
        r = http_request(port, "GET", "/api/openapi.json", check=False)
    finally:
        _fetching.active = False
    doc = _Document(r.json()) if r.status == 200 else None
    with _lock:
        if doc is not None:
            _documents[port] = doc
    return doc


def _fail(response, message):
    raise OpenApiMismatch(f"OpenAPI: {response.method} {response.path[:160]} -> {response.status}: {message}; "
                          f"body {response.text[:300]!r}")


def _check_body(doc, response, declared):
    content = declared.get("content")
    if response.method == "HEAD" or response.status in (204, 304):
        return
    if not content:
        if response.body:
            _fail(response, "a body where the document declares none")
        return
    media = response.content_type
    if media not in content:
        _fail(response, f"Content-Type {media!r} is not one of {sorted(content)}")
    schema = content[media].get("schema")
    if schema is None or not media.endswith("json"):
        return
    try:
        body = json.loads(response.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        _fail(response, f"body is not JSON ({e})")
    errors = sorted(doc.validator(schema).iter_errors(body), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        _fail(response, f"body does not match {schema.get('$ref', 'its schema')}: {e.message[:300]} "
                        f"at {'/'.join(map(str, e.path)) or '(root)'}")


def check(port, response):
    """Raise OpenApiMismatch when `response` (an http_client.Response from `port`) breaks the
    document of the service behind that port."""
    if not ENABLED or getattr(_fetching, "active", False):
        return
    path = urllib.parse.urlsplit(response.path).path
    if not path.startswith("/api/"):
        return
    doc = _document(port)
    if doc is None:
        return
    method = response.method if response.method != "HEAD" else "GET"
    item, op = doc.operation(method, path)
    if op is None and response.status < 400:
        # A worker of a newer plugin generation (a reload) serves a collection the document
        # fetched before does not have: fetch it again. Should another generation's worker
        # answer that fetch, which of them answered cannot be told: not checked.
        forget(port)
        doc = _document(port)
        item, op = doc.operation(method, path) if doc is not None else (None, None)
        if op is None:
            return
    if op is None:
        # No such operation (a path of no known shape, a method the path does not take): the
        # answer is an error, whose shape is still the document's Problem.
        if response.body and response.method != "HEAD":
            _check_body(doc, response, doc.resolve({"$ref": "#/components/responses/Problem404"}))
        return
    declared = op.get("responses", {}).get(str(response.status))
    if declared is None:
        _fail(response, f"status not declared for {op.get('operationId')} "
                        f"(declared: {', '.join(sorted(op.get('responses', {})))})")
    declared = doc.resolve(declared)
    for name, header in (declared.get("headers") or {}).items():
        header = doc.resolve(header)
        if header.get("required") and response.headers.get(name) is None:
            _fail(response, f"required header {name} is missing")
    _check_body(doc, response, declared)

"""The API's values: UTC times as the service writes them, microsecond counts, ids, the fields
of a resource and of an allocation."""

import datetime as _dt
import re
import time

HOUR_US = 3600 * 1_000_000
INT64_MIN = -(2 ** 63)
INT64_MAX = 2 ** 63 - 1

UTC_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

RESOURCE_FIELDS = {"id", "name", "resource_type", "created", "attributes"}
ALLOCATION_FIELDS = {
    "id", "resource_type", "resource_id", "from_infinity", "to_infinity",
    "from_datetime", "to_datetime", "allocation_type", "description", "dump", "created",
}



def parse_utc(text):
    """Microseconds since the epoch of a `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` string."""
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z$", text)
    if not m:
        raise ValueError(f"not a UTC time with Z: {text!r}")
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    frac = (m.group(7) or "").ljust(6, "0")
    dt = _dt.datetime(y, mo, d, h, mi, s, tzinfo=_dt.timezone.utc)
    epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    delta = dt - epoch
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + int(frac or "0")


def utc_us(y, mo, d, h=0, mi=0, s=0, us=0):
    dt = _dt.datetime(y, mo, d, h, mi, s, us, tzinfo=_dt.timezone.utc)
    epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    delta = dt - epoch
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def iso(us):
    """A UTC microsecond count as `…Z` (for building requests)."""
    epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    dt = epoch + _dt.timedelta(microseconds=us)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def now_us():
    return int(time.time() * 1_000_000)


def allocation_payload(frm, to, allocation_type="booking", **extra):
    """An allocation body; frm/to: a time string, or None for an open end."""
    p = {"allocation_type": allocation_type}
    if frm is None:
        p["from_infinity"] = True
    else:
        p["from_datetime"] = frm
    if to is None:
        p["to_infinity"] = True
    else:
        p["to_datetime"] = to
    p.update(extra)
    return p

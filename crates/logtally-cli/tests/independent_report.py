#!/usr/bin/env python3
"""Independent oracle for tests of `logtally --report` (report schema 2).

Reads Combined / Common Log Format files (plain or gzip) and prints one JSON
object shaped like logtally's schema-2 report, computed from the written
definitions only (never from logtally's Rust sources), so that a Rust test can
compare the two:

    independent_report.py [--since T] [--until T] [--where EXPR]...
                          [--bucket 1m|5m|15m|1h|1d] [--prefix P] FILE...

Output:

    {"totals": {"lines", "counted", "filtered", "malformed", "visitors", "bytes_sent"},
     "panels": {NAME: {"hits": {KEY: n}, "visitors": {KEY: n}, "bytes": {KEY: n}}},
     "timeseries": {"bucket": B, "points": [{"start", "hits", "visitors", "bytes",
                                             "2xx", "3xx", "4xx", "5xx"}]}}

Panels hold ALL keys (no top-N cut). The `browser` and `os` panels are present
only when the optional `woothee` package can be imported.

Standard library only (plus optional woothee); Python 3.11.
"""
import argparse
import datetime
import gzip
import ipaddress
import json
import re
import sys
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass

try:
    import woothee
except ImportError:  # the browser/os panels are then omitted
    woothee = None

LINE_RE = re.compile(
    r'^(\S+) (\S+) (\S+) \[([^\]]+)\] "(.*?)" (\d{3}|-) (\S+)(?: "(.*?)" "(.*?)")?$'
)
TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z"

NAME_EXCLUDE = {
    "favicon.ico", "robots.txt", "humans.txt", "crossdomain.xml", "_images",
    "search.html", "genindex.html", "searchindex.js", "modindex.html", "py-modindex.html",
}
EXT_EXCLUDE = (".png", ".js", ".css")

BUCKET_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1d": 1440}
MAX_DEFAULT_BUCKETS = 200
EPOCH = datetime.datetime(1970, 1, 1)

WHERE_FIELDS = {"status", "method", "path", "host", "agent", "referrer", "bytes", "vhost", "protocol"}
# Longest operators first, so that ">=" is not read as ">" followed by "=...".
WHERE_OPS = [">=", "<=", "!=", "!~", "^=", "=", "~", ">", "<"]
NUMERIC_OPS = {">", "<", ">=", "<="}
NUMERIC_FIELDS = {"status", "bytes"}


@dataclass(frozen=True)
class Record:
    host: str
    time: datetime.datetime  # aware, in the record's own offset
    request: str
    status: str
    bytes_field: str
    referrer: str  # "" when absent or "-"
    agent: str  # "" for Common lines
    method: str
    target: str
    protocol: str
    path: str

    @property
    def local(self):
        """Wall time in the record's own offset, as a naive datetime."""
        return self.time.replace(tzinfo=None)

    @property
    def size(self):
        return record_bytes(self.bytes_field)

    @property
    def visitor(self):
        return (self.host, self.local.strftime("%Y-%m-%d"), self.agent or "")


# --- reading ---------------------------------------------------------------

def read_lines(filename):
    """Yield the decoded lines of a plain or gzip file.

    Bytes are split on b"\\n"; a final piece without "\\n" is a line when
    non-empty; one trailing "\\r" is stripped; decoding is UTF-8 with U+FFFD
    replacement.
    """
    with open(filename, "rb") as probe:
        is_gzip = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if is_gzip else open
    with opener(filename, "rb") as fh:
        for raw in fh:  # binary iteration splits on b"\n" only
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            elif not raw:
                continue
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            yield raw.decode("utf-8", errors="replace")


def record_bytes(field):
    """Response size: the decimal field, 0 for "-" (and for anything non-decimal)."""
    return int(field) if re.fullmatch(r"[0-9]+", field) else 0


def split_request(request):
    """(method, target, protocol) of a request line, as the definitions state.

    Note: for a 2-word request the definition gives protocol = words[-1], which
    is the same word as the target.
    """
    words = request.split()
    if not words:
        return "", "", "-"
    method = words[0]
    protocol = words[-1] if len(words) > 1 else "-"
    if len(words) > 2:
        target = " ".join(words[1:-1])
    elif len(words) == 2:
        target = words[1]
    else:
        target = ""
    return method, target, protocol


def url_path(target):
    try:
        return urllib.parse.urlparse(target).path
    except ValueError:
        return ""


def parse_line(line):
    """A Record, or None when the line is malformed."""
    match = LINE_RE.fullmatch(line.rstrip())
    if not match:
        return None
    host, _ident, _user, ts, request, status, size, referrer, agent = match.groups()
    try:
        when = datetime.datetime.strptime(ts, TIME_FORMAT)
    except ValueError:
        return None
    method, target, protocol = split_request(request)
    return Record(
        host=host,
        time=when,
        request=request,
        status=status,
        bytes_field=size,
        referrer="" if referrer in (None, "-") else referrer,
        agent=agent or "",
        method=method,
        target=target,
        protocol=protocol,
        path=url_path(target),
    )


# --- the book's path filter and the prefix -----------------------------------

def interesting_path(path):
    """reference.py's path_filter: False for "/", "", excluded names and static files."""
    segments = path.split("/")
    if not any(segments):
        return False
    if any(s in NAME_EXCLUDE for s in segments):
        return False
    return not segments[-1].endswith(EXT_EXCLUDE)


def under_prefix(path, prefix):
    """reference.py's book_filter generalised: the path starts with the prefix's
    non-empty segments and has at least one more non-empty segment."""
    want = [s for s in prefix.split("/") if s]
    have = [s for s in path.split("/") if s]
    return have[: len(want)] == want and len(have) > len(want)


# --- filters -----------------------------------------------------------------

def parse_time_bound(text):
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(f"bad time {text!r}: want YYYY-MM-DD[THH:MM[:SS]]")


def parse_where(text):
    """(field, op, value) from "FIELD OP VALUE"; spaces around OP are allowed."""
    m = re.match(r"[a-z-]+", text)
    if not m or m.group(0) not in WHERE_FIELDS:
        raise argparse.ArgumentTypeError(f"bad --where {text!r}: unknown field")
    field = m.group(0)
    rest = text[m.end():].lstrip()
    op = next((o for o in WHERE_OPS if rest.startswith(o)), None)
    if op is None:
        raise argparse.ArgumentTypeError(f"bad --where {text!r}: no operator")
    value = rest[len(op):].strip()
    if op in NUMERIC_OPS:
        if field not in NUMERIC_FIELDS:
            raise argparse.ArgumentTypeError(f"bad --where {text!r}: {op} needs status or bytes")
        try:
            value = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad --where {text!r}: not a number") from None
    elif op in ("~", "!~"):
        try:
            value = re.compile(value)
        except re.error as e:
            raise argparse.ArgumentTypeError(f"bad --where {text!r}: {e}") from None
    return field, op, value


def field_value(record, field):
    return {
        "status": record.status,
        "method": record.method,
        "path": record.path,
        "host": record.host,
        "agent": record.agent,
        "referrer": record.referrer,
        "bytes": record.bytes_field,
        "vhost": "",
        "protocol": record.protocol,
    }[field]


def host_in_network(host, cidr):
    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:  # host is not an IP address (or the network is invalid)
        return False


def where_matches(record, clause):
    field, op, value = clause
    actual = field_value(record, field)
    if op in NUMERIC_OPS:
        if field == "status":
            if not actual.isdigit():
                return False  # status "-" never matches a numeric comparison
            number = int(actual)
        else:
            number = record_bytes(actual)
        return {">": number > value, "<": number < value,
                ">=": number >= value, "<=": number <= value}[op]
    if op == "~":
        return value.search(actual) is not None
    if op == "!~":
        return value.search(actual) is None
    if op == "^=":
        return actual.startswith(value)
    if field == "host" and "/" in value:
        equal = host_in_network(actual, value)
    else:
        equal = actual == value
    return equal if op == "=" else not equal


def is_filtered(record, args):
    local = record.local
    if args.since is not None and not local >= args.since:
        return True
    if args.until is not None and not local < args.until:
        return True
    if not all(where_matches(record, clause) for clause in args.where):
        return True
    if args.prefix is not None and not under_prefix(record.path, args.prefix):
        return True
    return False


# --- panels ------------------------------------------------------------------

def referrer_host(referrer):
    if referrer in ("", "-"):
        return "-"
    try:
        netloc = urllib.parse.urlsplit(referrer).netloc
    except ValueError:
        return "-"
    host = netloc.rpartition("@")[2]
    if host.startswith("["):  # IPv6 literal: keep the brackets, drop a port
        host = host[: host.find("]") + 1] if "]" in host else host
    else:
        host = host.partition(":")[0]
    host = host.lower()
    return host or "-"


_woothee_cache = {}


def woothee_of(agent):
    if agent not in _woothee_cache:
        _woothee_cache[agent] = woothee.parse(agent)
    return _woothee_cache[agent]


def panel_keys(record):
    """(panel name, key) pairs a counted record contributes to."""
    path = record.path
    keys = []
    if interesting_path(path):
        keys.append(("path", path))
    elif path:
        keys.append(("static", path))
    if record.status == "404" and path:
        keys.append(("not-found", path))
    local = record.local
    keys += [
        ("host", record.host),
        ("status", record.status),
        ("method", record.method or "-"),
        ("protocol", record.protocol or "-"),
        ("hour", local.strftime("%Y-%m-%d %H:00")),
        ("day", local.strftime("%Y-%m-%d")),
        ("referrer-host", referrer_host(record.referrer)),
    ]
    if woothee is not None:
        ua = woothee_of(record.agent)
        keys += [("browser", ua["name"]), ("os", ua["os"])]
    return keys


PANEL_NAMES = ["path", "static", "not-found", "host", "status", "method", "protocol",
               "hour", "day", "referrer-host"] + (["browser", "os"] if woothee else [])


class Tally:
    """hits, distinct visitor ids and byte sums per key."""

    def __init__(self):
        self.hits = Counter()
        self.visitors = defaultdict(set)
        self.bytes = Counter()

    def add(self, key, record):
        self.hits[key] += 1
        self.visitors[key].add(record.visitor)
        self.bytes[key] += record.size

    def to_json(self):
        order = sorted(self.hits, key=lambda k: (-self.hits[k], k))
        return {
            "hits": {k: self.hits[k] for k in order},
            "visitors": {k: len(self.visitors[k]) for k in order},
            "bytes": {k: self.bytes[k] for k in order},
        }


# --- time series ---------------------------------------------------------------

def minute_of(record):
    """Minutes since 1970-01-01 00:00 local wall time."""
    return int((record.local - EPOCH).total_seconds()) // 60


def choose_bucket(first_minute, last_minute):
    for name, size in BUCKET_MINUTES.items():  # smallest first
        if last_minute // size - first_minute // size + 1 <= MAX_DEFAULT_BUCKETS:
            return name
    return "1d"


def timeseries(counted, bucket):
    if not counted:
        return {"bucket": bucket or "1h", "points": []}
    minutes = [minute_of(r) for r in counted]
    if bucket is None:
        bucket = choose_bucket(min(minutes), max(minutes))
    size = BUCKET_MINUTES[bucket]
    tz = counted[0].time.tzinfo
    per = defaultdict(lambda: {"hits": 0, "visitors": set(), "bytes": 0,
                               "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0})
    for record, minute in zip(counted, minutes):
        point = per[minute // size]
        point["hits"] += 1
        point["visitors"].add(record.visitor)
        point["bytes"] += record.size
        cls = record.status[:1] + "xx"
        if cls in ("2xx", "3xx", "4xx", "5xx"):
            point[cls] += 1
    first, last = min(per), max(per)
    points = []
    for index in range(first, last + 1):
        point = per.get(index) or per.default_factory()
        start = (EPOCH + datetime.timedelta(minutes=index * size)).replace(tzinfo=tz)
        points.append({
            "start": start.isoformat(),
            "hits": point["hits"],
            "visitors": len(point["visitors"]),
            "bytes": point["bytes"],
            "2xx": point["2xx"], "3xx": point["3xx"],
            "4xx": point["4xx"], "5xx": point["5xx"],
        })
    return {"bucket": bucket, "points": points}


# --- the report ----------------------------------------------------------------

def report(files, args):
    lines = filtered = malformed = 0
    counted = []
    for filename in files:
        for line in read_lines(filename):
            lines += 1
            record = parse_line(line)
            if record is None:
                malformed += 1
            elif is_filtered(record, args):
                filtered += 1
            else:
                counted.append(record)

    panels = {name: Tally() for name in PANEL_NAMES}
    for record in counted:
        for name, key in panel_keys(record):
            panels[name].add(key, record)

    return {
        "totals": {
            "lines": lines,
            "counted": len(counted),
            "filtered": filtered,
            "malformed": malformed,
            "visitors": len({r.visitor for r in counted}),
            "bytes_sent": sum(r.size for r in counted),
        },
        "panels": {name: tally.to_json() for name, tally in panels.items()},
        "timeseries": timeseries(counted, args.bucket),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--since", type=parse_time_bound)
    ap.add_argument("--until", type=parse_time_bound)
    ap.add_argument("--where", type=parse_where, action="append", default=[])
    ap.add_argument("--bucket", choices=list(BUCKET_MINUTES))
    ap.add_argument("--prefix")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args(argv)
    json.dump(report(args.files, args), sys.stdout)
    print()


if __name__ == "__main__":
    main()

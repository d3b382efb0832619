#!/usr/bin/env python3
"""Hostile and polite HTTP clients against `gru4rec serve`: the probe suite of the security audit.

Every request the server must refuse (and the polite ones next to them that it must answer),
sent over raw TCP sockets to real `gru4rec serve` processes that this script starts itself on
free ports, with a small model it trains in a temporary directory. One line per probe (name,
expected, got, PASS/FAIL), then a summary.

  bench/hostile_probes.py --gru4rec build/cli/gru4rec [--group NAME] [--verbose] [--list]

Groups: basics, limits, framing, headers, cross-site, session-ids, query, json, pipelining,
timeouts, connections, admin-auth, admin, redis, training, lifecycle (--list prints them).

Exit status: 0 when every probe got its expected answer; 1 when one did not; 77 when a program
a group needs is missing and that group was skipped (redis-server for the redis group; with the
environment variable CI set, a missing program is a failure instead). Standard library only;
each socket operation has a short timeout, so that a server that hangs is a FAIL, never a stuck
run. Runs in about half a minute (CTest: HostileProbes.EveryProbeGetsItsAnswer).
"""

import argparse
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

TIMEOUT = 3.0  # seconds for a connect or an answer, unless a probe says otherwise
RUN_LIMIT = 240  # seconds for the whole run: beyond, every server is killed and the run fails

# Small limits, so that the limits are cheap to reach.
MAX_BODY = 4096
MAX_HEAD = 4096
MAX_FIELDS = 32
MAX_K = 100
HEAD_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
IDLE_TIMEOUT = 2.5
MAX_REQUESTS_PER_CONNECTION = 5
MAX_MODEL_BYTES = 64 << 20
TRAIN_PARAMS = "n_epochs=1,layers=16,n_sample=16,batch_size=16,loss=cross-entropy"

VERBOSE = False


# ---------------------------------------------------------------------------------------------
# Results


class Results:
    def __init__(self):
        self.rows = []  # (group, name, expected, got, ok)
        self.skipped = []  # (group, why)
        self.lock = threading.Lock()

    def add(self, group, name, expected, got, ok, detail=""):
        with self.lock:
            self.rows.append((group, name, expected, got, ok))
        line = f"{group}/{name}  expected: {expected}  got: {got}  {'PASS' if ok else 'FAIL'}"
        if detail and (VERBOSE or not ok):
            line += "".join(f"\n      | {d[:300]}" for d in detail.splitlines()[:12])
        say(line)

    def failed(self):
        return [r for r in self.rows if not r[4]]


RESULTS = Results()


def say(text):
    """Prints a line; a reader that went away (| head) does not stop the probes."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")


def short(data, n=160):
    text = data if isinstance(data, str) else data.decode("latin-1")
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= n else text[:n] + f"... ({len(data)} bytes)"


# ---------------------------------------------------------------------------------------------
# HTTP over raw sockets


@dataclass
class Response:
    status: Optional[int] = None
    reason: str = ""
    headers: list = field(default_factory=list)
    body: bytes = b""
    error: str = ""  # "timeout", "closed", "reset", ... when no complete answer came
    elapsed: float = 0.0
    closed: Optional[bool] = None  # the server closed the connection after answering

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def message(self):
        j = self.json()
        try:
            return j["error"]["message"]
        except (TypeError, KeyError):
            return ""

    def describe(self):
        if self.status is None:
            return self.error or "no answer"
        return str(self.status)

    def dump(self):
        fields = "; ".join(f"{k}: {v}" for k, v in self.headers)
        head = f"HTTP {self.status} {self.reason} {fields}"
        return f"{head}\nbody: {short(self.body, 400)}\nerror: {self.error} " \
               f"closed: {self.closed} elapsed: {self.elapsed:.3f}s"


class Conn:
    """One client connection, with a buffer of what the server sent."""

    def __init__(self, port, host="127.0.0.1", source=None, timeout=TIMEOUT):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if source:
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False

    def send(self, data):
        """Sends data; False when the server had closed (a refusal may come before the body)."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError):
            return False

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "timeout"
        if self.eof:
            return "closed"
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return "timeout"
        except ConnectionResetError:
            self.eof = True
            return "reset"
        except OSError as e:
            self.eof = True
            return f"error {e}"
        if not data:
            self.eof = True
            return "closed"
        self.buf += data
        return ""

    def read_response(self, timeout=TIMEOUT, head_only=False):
        """The next response (a 1xx one too); error set when none came complete."""
        start = time.monotonic()
        deadline = start + timeout
        r = Response()
        while b"\r\n\r\n" not in self.buf:
            err = self._fill(deadline)
            if err:
                r.error = err + (f" after {short(self.buf)}" if self.buf else "")
                r.elapsed = time.monotonic() - start
                return r
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        m = re.match(rb"HTTP/1\.[01] (\d{3}) ?(.*)", lines[0])
        if not m:
            r.error = f"bad status line {short(lines[0])}"
            return r
        r.status, r.reason = int(m.group(1)), m.group(2).decode("latin-1")
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            r.headers.append((k.decode("latin-1").strip(), v.decode("latin-1").strip()))
        self.buf = rest
        if 100 <= r.status < 200 or head_only:
            r.elapsed = time.monotonic() - start
            return r
        length = r.header("Content-Length")
        if length is None:  # to the end of the connection
            while self._fill(deadline) == "":
                pass
            r.body, self.buf = self.buf, b""
        else:
            n = int(length)
            while len(self.buf) < n:
                err = self._fill(deadline)
                if err:
                    r.error = f"body cut short ({err})"
                    break
            r.body, self.buf = self.buf[:n], self.buf[n:]
        r.elapsed = time.monotonic() - start
        return r

    def closed_within(self, timeout):
        """Whether the server closes the connection within timeout (sending nothing more)."""
        deadline = time.monotonic() + timeout
        while True:
            err = self._fill(deadline)
            if err in ("closed", "reset") or err.startswith("error"):
                return True
            if err == "timeout":
                return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def exchange(port, data, timeout=TIMEOUT, head_only=False, closes=False, source=None,
             final=True):
    """Sends data on a new connection and reads one answer (the final one: 1xx skipped)."""
    start = time.monotonic()
    try:
        c = Conn(port, source=source)
    except OSError as e:
        return Response(error=f"connect failed: {e}")
    try:
        c.send(data)
        while True:
            r = c.read_response(timeout, head_only)
            if not (final and r.status is not None and 100 <= r.status < 200):
                break
        r.elapsed = time.monotonic() - start
        if closes and r.status is not None:
            r.closed = c.closed_within(1.0)
        return r
    finally:
        c.close()


class Target:
    """Builds requests for one listener (its port fills the Host field)."""

    def __init__(self, port):
        self.port = port
        self.host = f"127.0.0.1:{port}"

    def req(self, method, target, headers=(), body=None, host=True, version="HTTP/1.1",
            length=True):
        out = [f"{method} {target} {version}".encode()]
        if host is True:
            out.append(b"Host: " + self.host.encode())
        elif host is not None and host is not False:
            out.append(b"Host: " + (host.encode() if isinstance(host, str) else host))
        for h in headers:
            out.append(h.encode("latin-1") if isinstance(h, str) else h)
        if body is not None:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            if isinstance(body, str):
                body = body.encode()
            if length:
                out.append(f"Content-Length: {len(body)}".encode())
        return b"\r\n".join(out) + b"\r\n\r\n" + (body or b"")

    def get(self, target, headers=(), **kw):
        return self.req("GET", target, headers, **kw)

    def post(self, target, body, headers=(), **kw):
        return self.req("POST", target, headers, body=body, **kw)

    def call(self, method, target, body=None, headers=(), timeout=TIMEOUT, **kw):
        return exchange(self.port, self.req(method, target, headers, body=body, **kw), timeout)


def chunked(*chunks, trailer=b""):
    out = b""
    for c in chunks:
        c = c.encode() if isinstance(c, str) else c
        out += f"{len(c):x}\r\n".encode() + c + b"\r\n"
    return out + b"0\r\n" + trailer + b"\r\n"


# ---------------------------------------------------------------------------------------------
# Checks on an answer: each returns "" when it holds, else what is wrong


def error_shape(r):
    """Every error is JSON {"error": {"status": N, "message": "..."}} with the HTTP status N."""
    if r.status is None or r.status < 400 or not r.body:
        return ""
    j = r.json()
    try:
        if j["error"]["status"] != r.status or not isinstance(j["error"]["message"], str):
            return "error body does not match its status"
    except (TypeError, KeyError):
        return f"error body is not {{\"error\": {{...}}}}: {short(r.body)}"
    return ""


def jfield(path, value):
    def check(r):
        j = r.json()
        for p in path.split("."):
            if isinstance(j, dict) and p in j:
                j = j[p]
            elif isinstance(j, list) and p.isdigit() and int(p) < len(j):
                j = j[int(p)]
            else:
                return f"no {path} in the answer"
        ok = value(j) if callable(value) else j == value
        return "" if ok else f"{path} is {short(json.dumps(j, ensure_ascii=False), 80)}"
    return check


def message_has(*texts):
    def check(r):
        m = r.message()
        missing = [t for t in texts if t.lower() not in m.lower()]
        return f"message {m!r} lacks {missing}" if missing else ""
    return check


def header_is(name, value):
    def check(r):
        v = r.header(name)
        ok = value(v) if callable(value) else (v is not None and v.lower() == value.lower())
        return "" if ok else f"{name}: {v!r}"
    return check


def faster_than(seconds):
    def check(r):
        return "" if r.elapsed < seconds else f"took {r.elapsed:.2f}s (limit {seconds}s)"
    return check


def n_recs(n):
    return jfield("recommendations", lambda v: len(v) == n)


# ---------------------------------------------------------------------------------------------
# Table-driven probes


@dataclass
class P:
    name: str
    send: bytes
    expect: object  # a status, or a tuple of acceptable ones
    checks: tuple = ()
    closes: bool = False  # the server must close the connection after its answer
    timeout: float = TIMEOUT
    head_only: bool = False


def expected_text(expect):
    if isinstance(expect, tuple):
        return " or ".join(str(e) for e in expect)
    return str(expect)


def run_table(group, port, probes):
    for p in probes:
        run_probe(group, port, p)


def run_probe(group, port, p):
    try:
        r = exchange(port, p.send, p.timeout, p.head_only, p.closes)
    except Exception as e:  # noqa: BLE001 - a probe that raises is a FAIL, not a stopped run
        RESULTS.add(group, p.name, expected_text(p.expect), f"exception {e!r}", False)
        return None
    want = p.expect if isinstance(p.expect, tuple) else (p.expect,)
    problems = []
    if r.status not in want:
        problems.append(r.describe())
    else:
        for check in (error_shape,) + tuple(p.checks):
            why = check(r)
            if why:
                problems.append(why)
        if p.closes and not r.closed:
            problems.append("connection left open")
    got = r.describe() if not problems else "; ".join(problems)
    if p.closes and not problems:
        got += ", closed"
    detail = f"sent: {short(p.send, 300)}\n{r.dump()}"
    RESULTS.add(group, p.name, expected_text(p.expect) + (", closed" if p.closes else ""),
                got, not problems, detail)
    return r


def probe(group, name, expected, fn):
    """A probe as code: fn returns (got, ok) or (got, ok, detail); an exception is a FAIL."""
    try:
        out = fn()
        got, ok = out[0], out[1]
        detail = out[2] if len(out) > 2 else ""
    except Exception as e:  # noqa: BLE001
        got, ok, detail = f"exception {e!r}", False, ""
    RESULTS.add(group, name, expected, got, ok, detail)
    return ok


def status_is(r, status, *checks, shape=True):
    problems = []
    if r.status != status:
        problems.append(r.describe())
    else:
        for check in ((error_shape,) if shape else ()) + checks:
            why = check(r)
            if why:
                problems.append(why)
    return ("; ".join(problems) if problems else r.describe()), not problems, r.dump()


# ---------------------------------------------------------------------------------------------
# Processes


PROCESSES = []  # every process started, killed at exit if still running


def popen(args, **kw):
    p = subprocess.Popen(args, **kw)
    PROCESSES.append(p)
    return p


def kill_all():
    for p in PROCESSES:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGCONT)
                p.kill()
                p.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass


class Server:
    """A gru4rec serve process on free ports; its stderr lines are kept for the probes."""

    def __init__(self, ctx, model, args=(), admin=False, nofile=None, name="serve", drain=0.2):
        self.ctx, self.model, self.name = ctx, model, name
        cmd = [ctx.gru4rec, "serve", model, "--port", "0", "--drain", str(drain),
               "--shutdown-timeout", "3", *args]
        if admin:
            cmd += ["--admin-port", "0", "--admin-token-file", ctx.token_file]
        self.admin = admin
        preexec = None
        if nofile:
            def preexec():
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        self.lines = []
        self.cond = threading.Condition()
        self.proc = popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, preexec_fn=preexec)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.port = self.admin_port = None
        serving = self.wait_for(r"Serving .* on http://[0-9.]+:(\d+)", 15)
        if not serving:
            self.kill()
            raise RuntimeError(f"{name} did not start: {' | '.join(self.lines[-5:])}")
        self.port = int(serving.group(1))
        if admin:
            line = self.wait_for(r"Admin .* on http://[0-9.]+:(\d+)", 5)
            if not line:
                self.kill()
                raise RuntimeError(f"{name}: no admin listener: {' | '.join(self.lines[-5:])}")
            self.admin_port = int(line.group(1))
        self.public = Target(self.port)
        self.adm = Target(self.admin_port) if admin else None

    def _read(self):
        for raw in self.proc.stderr:
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, pattern, timeout, start=0):
        """The first stderr line from index start matching pattern, within timeout; or None."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        with self.cond:
            while True:
                for line in self.lines[start:]:
                    m = rx.search(line)
                    if m:
                        return m
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self.reader.is_alive()):
                    return None
                self.cond.wait(remaining)

    def line_count(self):
        with self.cond:
            return len(self.lines)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=6.0):
        """SIGTERM and wait: (exit status or None when it had to be killed, seconds)."""
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            rc = None
        return rc, time.monotonic() - start

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Context:
    """The temporary directory, the models and the servers shared by groups."""

    def __init__(self, gru4rec, tmp):
        self.gru4rec, self.tmp = gru4rec, tmp
        self.token = os.urandom(16).hex()
        self.token_file = os.path.join(tmp, "admin.token")
        with open(self.token_file, "w") as f:
            f.write(self.token + "\n")
        data = os.path.join(tmp, "data")
        self.run([gru4rec, "synth", data, "--items", "60", "--sessions", "400", "--topics", "5"])
        self.train_file = os.path.join(data, "train.tsv")
        self.model = os.path.join(tmp, "model.g4r")
        self.model2 = os.path.join(tmp, "model2.g4r")
        self.train(self.train_file, self.model, TRAIN_PARAMS)
        self.train(self.train_file, self.model2, TRAIN_PARAMS + ",seed=2")
        items = set()
        with open(self.train_file) as f:
            next(f)
            for line in f:
                items.add(line.split("\t")[1])
        self.items = sorted(items)
        self._big = None
        self.servers = {}

    def run(self, args, timeout=60):
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {p.stderr.decode()[-500:]}")
        return p

    def train(self, data, out, params):
        # Weights only: the probes size their models (--max-model-bytes) without Adagrad's state.
        self.run([self.gru4rec, "train", data, "-ps", params, "-s", out, "-q",
                  "--progress", "none", "--no-optimizer-state"])

    def big_model(self):
        """A model that takes a while (~0.1-0.2 s) to load: wide GRU layers."""
        if self._big is None:
            data = os.path.join(self.tmp, "small.tsv")
            with open(data, "w") as f:
                f.write("SessionId\tItemId\tTime\n")
                t = 1000
                for s in range(40):
                    for e in range(3):
                        t += 1
                        f.write(f"{s}\t{self.items[(s * 7 + e * 13) % len(self.items)]}\t{t}\n")
            self._big = os.path.join(self.tmp, "big.g4r")
            self.train(data, self._big, "n_epochs=1,layers=1536,n_sample=16,batch_size=16")
        return self._big

    def server(self, key, **kw):
        """A server shared by groups (started on first use)."""
        if key not in self.servers:
            model = kw.pop("model", self.model)
            self.servers[key] = Server(self, model, name=key, **kw)
        return self.servers[key]

    def stop_all(self):
        for s in self.servers.values():
            s.stop()


MAIN_ARGS = ["--head-timeout", str(HEAD_TIMEOUT), "--body-timeout", str(BODY_TIMEOUT),
             "--idle-timeout", str(IDLE_TIMEOUT), "--max-body-bytes", str(MAX_BODY),
             "--max-header-bytes", str(MAX_HEAD), "--max-header-count", str(MAX_FIELDS),
             "--max-k", str(MAX_K), "--max-requests-per-connection",
             str(MAX_REQUESTS_PER_CONNECTION)]


def main_server(ctx):
    return ctx.server("main", args=MAIN_ARGS)


# ---------------------------------------------------------------------------------------------
# Groups


def g_basics(ctx):
    s = main_server(ctx)
    t = s.public
    item = ctx.items[0]
    ok_json = (header_is("Content-Type", lambda v: v and v.startswith("application/json")),)
    run_table("basics", s.port, [
        P("health", t.get("/health"), 200, ok_json + (jfield("status", "ok"),)),
        P("ready", t.get("/ready"), 200, (jfield("ready", True),)),
        P("metrics", t.get("/metrics"), 200,
          (lambda r: "" if b"gru4rec_requests_total" in r.body else "no counter",)),
        P("openapi", t.get("/openapi.json"), 200,
          (jfield("openapi", lambda v: v.startswith("3")),)),
        P("model", t.get("/v1/model"), 200, (jfield("items", len(ctx.items)),)),
        P("model-has-no-file-path", t.get("/v1/model"), 200,
          (lambda r: "" if ctx.tmp.encode() not in r.body else "the answer names the file",)),
        P("experiments", t.get("/v1/experiments"), 200, (jfield("experiment", "default"),)),
        P("events-one-item", t.post("/v1/sessions/basic/events", {"item": item}), 200,
          (jfield("session", "basic"), jfield("session_events", 1), n_recs(20))),
        P("events-known-session", t.post("/v1/sessions/basic/events", {"items": [item, item]}),
          200, (jfield("session_events", 3), jfield("created", False))),
        P("recommendations", t.get("/v1/sessions/basic/recommendations?k=3"), 200,
          (n_recs(3), jfield("session_found", True))),
        P("recommendations-unknown-session", t.get("/v1/sessions/nobody/recommendations"), 200,
          (jfield("session_found", False), jfield("popular", True))),
        P("stateless-recommend", t.post("/v1/recommend", {"items": [item], "k": 5}), 200,
          (n_recs(5),)),
        P("stateless-without-items", t.post("/v1/recommend", {"k": 5}), 400),
        P("stateless-unknown-variant", t.post("/v1/recommend", {"items": [item], "variant": "x"}),
          404),
        P("stateless-variant-not-string", t.post("/v1/recommend", {"items": [item], "variant": 1}),
          400),
        P("delete-session", t.req("DELETE", "/v1/sessions/basic"), 200, (jfield("deleted", True),)),
        P("delete-again", t.req("DELETE", "/v1/sessions/basic"), 404),
        P("unknown-path", t.get("/nope"), 404),
        P("unknown-session-suffix", t.get("/v1/sessions/a/nope"), 404),
        P("slash-in-raw-path-is-another-route", t.post("/v1/sessions/a/b/events", {"item": item}),
          404),
        P("absolute-form-target", t.get("http://evil.example/health"), 404),
        P("put-health", t.req("PUT", "/health", body=b"{}"), 405),
        P("post-health", t.post("/health", b"{}"), 405),
        P("delete-recommend", t.req("DELETE", "/v1/recommend"), 405),
        P("get-events", t.get("/v1/sessions/a/events"), 405),
        P("post-recommendations", t.post("/v1/sessions/a/recommendations", b"{}"), 405),
        P("get-session", t.get("/v1/sessions/a"), 405),
        P("unknown-method", t.req("FOO", "/health"), (400, 405)),
        P("lower-case-method", t.req("get", "/health"), (400, 405)),
        P("options-asterisk", t.req("OPTIONS", "*"), (400, 404, 405)),
        P("admin-reload-not-on-public-listener",
          t.post("/admin/reload", b"", [f"Authorization: Bearer {ctx.token}"]), 404),
        P("admin-path-get-on-public-listener", t.get("/admin/reload"), 404),
        P("http10-without-host", t.get("/health", host=None, version="HTTP/1.0"), 200,
          closes=True),
        P("http10-with-host", t.get("/health", version="HTTP/1.0"), 200),
    ])


def stream_probe(port, head, filler, total=200 << 20, limit=5.0):
    """Sends head, then filler over and over (up to total bytes) as fast as the server takes it,
    reading meanwhile. Returns (answer, seconds to the answer, bytes sent)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.sendall(head)
    s.setblocking(False)
    block = (filler * (65536 // len(filler) + 1))[:65536]
    start = time.monotonic()
    sent, buf, answered_at, send_done, eof = 0, b"", None, False, False
    try:
        while time.monotonic() - start < limit:
            rl = [] if eof else [s]
            wl = [] if send_done else [s]
            if not rl and not wl:
                break
            r, w, _ = select.select(rl, wl, [], 0.2)
            if r:
                try:
                    data = s.recv(65536)
                except (ConnectionResetError, OSError):
                    data = b""
                if not data:
                    eof = True
                buf += data
                if answered_at is None and b"\r\n\r\n" in buf:
                    answered_at = time.monotonic() - start
            if w:
                try:
                    sent += s.send(block[: min(len(block), total - sent)])
                except (BrokenPipeError, ConnectionResetError, OSError):
                    send_done = True
                if sent >= total:
                    send_done = True
            if answered_at is not None and eof and send_done:
                break
    finally:
        s.close()
    c = Conn.__new__(Conn)
    c.buf, c.eof, c.sock = buf, True, None
    r = c.read_response(0.01) if buf else Response(error="no answer")
    return r, answered_at, sent


def g_limits(ctx):
    s = main_server(ctx)
    t = s.public
    item = ctx.items[0]
    body_ok = json.dumps({"item": item}).encode()
    padded = body_ok + b" " * (MAX_BODY - len(body_ok))
    chunk_head = t.req("POST", "/v1/sessions/lim/events", ["Transfer-Encoding: chunked"])
    fields_ok = [f"X-F{i}: v" for i in range(MAX_FIELDS - 1)]  # with Host: exactly the limit
    run_table("limits", s.port, [
        P("head-one-byte-over-field", t.get("/health", ["X-Big: " + "a" * MAX_HEAD]), 431,
          closes=True),
        P("head-long-target", t.get("/health?" + "a" * MAX_HEAD), 431, closes=True),
        P("head-just-under-limit", t.get("/health", ["X-Big: " + "a" * (MAX_HEAD - 200)]), 200),
        P("fields-at-limit", t.get("/health", fields_ok), 200),
        P("fields-over-limit", t.get("/health", fields_ok + ["X-One-More: v"]), 431, closes=True),
        P("many-tiny-fields", t.get("/health", ["a:" for _ in range(500)]), 431, closes=True),
        P("body-at-limit", t.post("/v1/sessions/lim/events", padded), 200),
        P("body-over-limit", t.post("/v1/sessions/lim/events", padded + b" "), 413, closes=True),
        # Only the head is sent: the refusal must come without waiting for the body.
        P("content-length-over-limit-refused-before-body",
          t.req("POST", "/v1/sessions/lim/events", [f"Content-Length: {MAX_BODY + 1}"]), 413,
          (faster_than(0.5),), closes=True),
        P("content-length-huge", t.req("POST", "/v1/recommend", ["Content-Length: 999999999999"]),
          413, (faster_than(0.5),), closes=True),
        P("content-length-overflow",
          t.req("POST", "/v1/recommend", ["Content-Length: 99999999999999999999999"]), (400, 413),
          closes=True),
        P("chunked-decoded-over-limit",
          chunk_head + chunked(*([b" " * 1000] * 5)), 413, closes=True),
        P("chunked-decoded-at-limit", chunk_head + chunked(padded[:2000], padded[2000:]), 200),
        # 1-byte chunks: 3000 decoded bytes but 6 wire bytes each, over body + head limits.
        P("chunked-wire-bytes-over-limit",
          chunk_head + b"".join(b"1\r\n \r\n" for _ in range(3000)) + b"0\r\n\r\n", 413,
          closes=True),
        P("chunked-small-extension-accepted",
          chunk_head + f"{len(body_ok):x};name=value\r\n".encode() + body_ok + b"\r\n0\r\n\r\n",
          200),
    ])
    # Endless streams: the server must answer quickly and stop reading.
    streams = [
        ("endless-chunk-extension", chunk_head + b"1;a=", b"b", 413),
        ("endless-chunk-size-line", chunk_head, b"0", 413),
        ("endless-trailer", chunk_head + chunked(body_ok, trailer=b"X-Trailer: ")[:-2], b"c", 413),
        ("endless-chunk-extension-after-data", chunk_head + b"2\r\n{}\r\n3;x=", b"y", 413),
        ("endless-head-field", t.get("/health")[:-2] + b"X-Endless: ", b"a", 431),
        ("endless-request-line", b"GET /", b"a", 431),
        ("endless-field-count", t.get("/health")[:-2], b"a:b\r\n", 431),
        ("endless-body-content-length", t.req("POST", "/v1/recommend",
                                              [f"Content-Length: {200 << 20}"]), b" ", 413),
        ("endless-chunk-data", chunk_head + b"10000000\r\n", b" ", 413),
        ("endless-tiny-chunks", chunk_head, b"1\r\n \r\n", 413),
    ]
    for name, head, filler, status in streams:
        def run(head=head, filler=filler, status=status):
            r, answered, sent = stream_probe(s.port, head, filler)
            problems = []
            if r.status != status:
                problems.append(r.describe())
            if answered is None or answered > 1.0:
                problems.append(f"answer after {answered}s")
            if sent > 32 << 20:
                problems.append(f"{sent >> 20} MB taken")
            got = f"{r.status} in {answered if answered is None else round(answered, 3)}s, " \
                  f"{sent / (1 << 20):.1f} MB taken"
            return (got if not problems else "; ".join(problems) + f" ({got})"), not problems, \
                r.dump()
        probe("limits", name, f"{status} within 1 s, <= 32 MB of 200 MB taken", run)
    probe("limits", "health-after-streams", "200",
          lambda: status_is(t.call("GET", "/health"), 200))


def g_framing(ctx):
    s = main_server(ctx)
    t = s.public
    item = ctx.items[0]
    body = json.dumps({"item": item}).encode()
    ev = "/v1/sessions/frame/events"

    def te(*values, version="HTTP/1.1", extra=(), payload=None):
        hs = [f"Transfer-Encoding: {v}" for v in values] + list(extra)
        return t.req("POST", ev, hs, version=version) + (payload if payload is not None
                                                         else chunked(body))

    run_table("framing", s.port, [
        P("chunked", te("chunked"), 200),
        P("chunked-upper-case", te("CHUNKED"), 200),
        P("chunked-mixed-case", te("ChUnKeD"), 200),
        P("chunked-then-identity", te("chunked, identity"), 400, closes=True),
        P("identity-then-chunked", te("identity, chunked"), 400, closes=True),
        P("gzip-then-chunked", te("gzip, chunked"), 400, closes=True),
        P("chunked-twice-one-field", te("chunked, chunked"), 400, closes=True),
        P("two-te-fields", te("chunked", "chunked"), 400, closes=True),
        P("two-te-fields-identity-chunked", te("identity", "chunked"), 400, closes=True),
        P("te-identity", te("identity", payload=b""), 501, closes=True),
        P("te-gzip", te("gzip", payload=b""), 501, closes=True),
        P("te-deflate", te("deflate", payload=b""), 501, closes=True),
        P("te-empty-token-list", te(",", payload=b""), (400, 501), closes=True),
        P("te-on-http10", te("chunked", version="HTTP/1.0"), 400, closes=True),
        P("te-with-content-length", te("chunked", extra=[f"Content-Length: {len(body)}"]), 400,
          closes=True),
        P("content-length-with-te", t.req("POST", ev, [f"Content-Length: {len(body) + 5}",
                                                       "Transfer-Encoding: chunked"])
          + chunked(body), 400, closes=True),
        P("te-with-space-before-colon", t.req("POST", ev, ["Transfer-Encoding : chunked"])
          + chunked(body), 400, closes=True),
        P("te-with-vertical-tab", t.req("POST", ev, ["Transfer-Encoding:\x0bchunked"])
          + chunked(body), (400, 411, 501), closes=True),
        P("two-different-content-lengths",
          t.req("POST", ev, [f"Content-Length: {len(body)}", f"Content-Length: {len(body) + 1}"])
          + body + b" ", 400, closes=True),
        P("content-length-list", t.req("POST", ev, [f"Content-Length: {len(body)}, {len(body)}"])
          + body, (200, 400)),
        P("content-length-negative", t.req("POST", ev, ["Content-Length: -1"]) + body, 400,
          closes=True),
        P("content-length-plus", t.req("POST", ev, [f"Content-Length: +{len(body)}"]) + body, 400,
          closes=True),
        P("content-length-hex", t.req("POST", ev, ["Content-Length: 0x10"]) + body, 400,
          closes=True),
        P("content-length-letters", t.req("POST", ev, ["Content-Length: abc"]) + body, 400,
          closes=True),
        P("chunk-size-not-hex", t.req("POST", ev, ["Transfer-Encoding: chunked"])
          + b"zz\r\n" + body + b"\r\n0\r\n\r\n", 400, closes=True),
        P("chunk-size-overflow", t.req("POST", ev, ["Transfer-Encoding: chunked"])
          + b"fffffffffffffffffffff\r\n" + body + b"\r\n0\r\n\r\n", (400, 413), closes=True),
        P("chunk-size-negative", t.req("POST", ev, ["Transfer-Encoding: chunked"])
          + b"-5\r\n" + body + b"\r\n0\r\n\r\n", 400, closes=True),
        P("chunk-data-longer-than-size", t.req("POST", ev, ["Transfer-Encoding: chunked"])
          + b"2\r\n" + body + b"\r\n0\r\n\r\n", 400, closes=True),
        P("chunk-without-crlf", t.req("POST", ev, ["Transfer-Encoding: chunked"])
          + f"{len(body):x}\n".encode() + body + b"\n0\n\n", (400, 408), closes=True),
        P("trailer-field", te("chunked", payload=chunked(body, trailer=b"X-Trailer: 1\r\n")), 400,
          closes=True),
        P("trailer-content-length", te("chunked", payload=chunked(
            body, trailer=b"Content-Length: 5\r\n")), 400, closes=True),
        P("trailer-host", te("chunked", payload=chunked(body, trailer=b"Host: evil\r\n")), 400,
          closes=True),
        P("bare-lf-line-endings", b"GET /health HTTP/1.1\nHost: x\n\n", (400, 505), closes=True),
        P("bare-cr-in-field", t.get("/health", [b"X-A: a\rb"]), 400, closes=True),
        P("nul-in-field", t.get("/health", [b"X-A: a\x00b"]), 400, closes=True),
        P("space-before-colon", t.get("/health", ["X-A : b"]), 400, closes=True),
        P("field-without-colon", t.get("/health", ["X-A"]), 400, closes=True),
        P("obs-fold", t.get("/health", ["X-A: a", " folded"]), (200, 400)),
        P("control-char-in-target", b"GET /hea\x01lth HTTP/1.1\r\nHost: x\r\n\r\n", 400,
          closes=True),
        P("space-in-target", b"GET /hea lth HTTP/1.1\r\nHost: x\r\n\r\n", (400, 505),
          closes=True),
    ])

    # Smuggling: a request hidden in a body that the server refused must never run.
    def smuggle(name, head_fields, version="HTTP/1.1"):
        def run():
            victim = f"victim-{name}"
            r = t.call("POST", f"/v1/sessions/{victim}/events", {"item": item})
            if r.status != 200:
                return f"setup: {r.describe()}", False, r.dump()
            hidden = t.req("DELETE", f"/v1/sessions/{victim}")
            payload = b"0\r\n\r\n" + hidden
            req = t.req("POST", "/v1/recommend", head_fields + [f"Content-Length: {len(payload)}"],
                        version=version) + payload
            c = Conn(s.port)
            c.send(req)
            first = c.read_response()
            second = c.read_response(1.0)
            c.close()
            after = t.call("GET", f"/v1/sessions/{victim}/recommendations")
            alive = after.json() and after.json().get("session_found") is True
            ok = first.status in (400, 501) and second.status is None and alive
            got = f"{first.describe()}, then {second.describe()}; victim " + \
                  ("alive" if alive else "DELETED")
            return got, ok, first.dump() + "\n" + second.dump()
        probe("framing", f"smuggle-{name}", "400/501, nothing more; victim alive", run)

    smuggle("chunked-identity", ["Transfer-Encoding: chunked, identity"])
    smuggle("gzip-chunked", ["Transfer-Encoding: gzip, chunked"])
    smuggle("two-te-fields", ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"])
    smuggle("te-identity", ["Transfer-Encoding: identity"])
    smuggle("te-http10", ["Transfer-Encoding: chunked"], version="HTTP/1.0")
    smuggle("te-and-content-length", ["Transfer-Encoding: chunked"])
    smuggle("te-space-before-colon", ["Transfer-Encoding : chunked"])


def g_headers(ctx):
    s = main_server(ctx)
    t = s.public
    run_table("headers", s.port, [
        P("http11-without-host", t.get("/health", host=None), 400, (message_has("Host"),),
          closes=True),
        P("http11-two-hosts", t.get("/health", ["Host: other"]), 400, closes=True),
        P("http10-two-hosts", t.get("/health", ["Host: other"], version="HTTP/1.0"), 400,
          closes=True),
        P("host-with-space", t.get("/health", host="a b"), 400, closes=True),
        P("host-with-slash", t.get("/health", host="evil.example/x"), 400, closes=True),
        P("host-with-at", t.get("/health", host="user@evil.example"), 400, closes=True),
        P("host-with-angle", t.get("/health", host="a<b>"), 400, closes=True),
        P("host-with-quote", t.get("/health", host='a"b'), 400, closes=True),
        P("host-with-backslash", t.get("/health", host="a\\b"), 400, closes=True),
        P("host-non-ascii", t.get("/health", host=b"caf\xc3\xa9"), 400, closes=True),
        P("host-ipv6-literal", t.get("/health", host="[::1]:8080"), 200),
        P("host-name-and-port", t.get("/health", host="shop.example:8080"), 200),
        P("host-empty", t.get("/health", host=""), 200),
        P("version-http2", t.get("/health", version="HTTP/2.0"), 505, closes=True),
        P("version-http12", t.get("/health", version="HTTP/1.2"), 505, closes=True),
        P("version-http3", t.get("/health", version="HTTP/3.0"), 505, closes=True),
        P("version-http09", t.get("/health", version="HTTP/0.9"), 505, closes=True),
        P("version-garbage", t.get("/health", version="HTTP/1.1x"), (400, 505), closes=True),
        P("version-wrong-name", t.get("/health", version="HTTZ/1.1"), (400, 505), closes=True),
        P("version-lower-case", t.get("/health", version="http/1.1"), (400, 505), closes=True),
        P("version-missing", b"GET /health\r\nHost: x\r\n\r\n", 400, closes=True),
        P("version-two-digits", t.get("/health", version="HTTP/10.0"), (400, 505), closes=True),
        P("content-encoding-gzip", t.post("/v1/recommend", b"{}", ["Content-Encoding: gzip"]),
          415, closes=True),
        P("content-encoding-br", t.post("/v1/recommend", b"{}", ["Content-Encoding: br"]), 415,
          closes=True),
        P("content-encoding-identity", t.post("/v1/recommend", {"items": [ctx.items[0]]},
                                              ["Content-Encoding: identity"]), 200),
        P("content-encoding-identity-upper", t.post("/v1/recommend", {"items": [ctx.items[0]]},
                                                    ["Content-Encoding: IDENTITY"]), 200),
        P("content-encoding-list", t.post("/v1/recommend", b"{}",
                                          ["Content-Encoding: identity, gzip"]), 415, closes=True),
        P("content-encoding-second-field", t.post("/v1/recommend", b"{}", [
            "Content-Encoding: identity", "Content-Encoding: gzip"]), 415, closes=True),
        P("content-encoding-on-get", t.get("/health", ["Content-Encoding: gzip"]), 415,
          closes=True),
        P("post-without-length", t.req("POST", "/v1/recommend"), 411, closes=True),
        P("post-events-without-length", t.req("POST", "/v1/sessions/x/events"), 411, closes=True),
        P("post-content-length-zero", t.post("/v1/recommend", b""), 400,
          (message_has("empty"),)),
        P("expect-unknown", t.post("/v1/recommend", {"items": [ctx.items[0]]},
                                   ["Expect: something"]), (200, 417)),
    ])


def g_cross_site(ctx):
    s = main_server(ctx)
    t = s.public
    ev = "/v1/sessions/xs/events"
    body = {"item": ctx.items[0]}
    own = f"http://127.0.0.1:{s.port}"
    run_table("cross-site", s.port, [
        P("no-origin-json", t.post(ev, body, ["Content-Type: application/json"]), 200),
        P("no-origin-text-plain", t.post(ev, body, ["Content-Type: text/plain"]), 200),
        P("no-origin-form", t.post(ev, body, ["Content-Type: application/x-www-form-urlencoded"]),
          200),
        P("fetch-site-cross-site", t.post(ev, body, ["Sec-Fetch-Site: cross-site"]), 403,
          closes=True),
        P("fetch-site-same-site", t.post(ev, body, ["Sec-Fetch-Site: same-site"]), 403,
          closes=True),
        P("fetch-site-upper-case", t.post(ev, body, ["Sec-Fetch-Site: CROSS-SITE"]), 403,
          closes=True),
        P("fetch-site-same-origin", t.post(ev, body, ["Sec-Fetch-Site: same-origin"]), 200),
        P("fetch-site-none", t.post(ev, body, ["Sec-Fetch-Site: none"]), 200),
        P("fetch-site-cross-site-on-get",
          t.get("/v1/sessions/xs/recommendations", ["Sec-Fetch-Site: cross-site"]), 403,
          closes=True),
        P("fetch-site-wins-over-own-origin",
          t.post(ev, body, ["Sec-Fetch-Site: cross-site", f"Origin: {own}"]), 403, closes=True),
        P("origin-null", t.post(ev, body, ["Origin: null"]), 403, closes=True),
        P("origin-other-site", t.post(ev, body, ["Origin: http://evil.example"]), 403,
          closes=True),
        P("origin-other-port", t.post(ev, body, [f"Origin: http://127.0.0.1:{s.port + 1}"]), 403,
          closes=True),
        P("origin-no-port", t.post(ev, body, ["Origin: http://127.0.0.1"]), 403, closes=True),
        P("origin-suffix-trick", t.post(ev, body, [f"Origin: {own}.evil.example"]), 403,
          closes=True),
        P("origin-prefix-trick", t.post(ev, body, [f"Origin: http://evil.example@127.0.0.1:"
                                                   f"{s.port}"]), 403, closes=True),
        P("origin-garbage", t.post(ev, body, ["Origin: not a url"]), 403, closes=True),
        P("origin-empty", t.post(ev, body, ["Origin: "]), 403, closes=True),
        P("origin-text-plain-cross", t.post(ev, body, ["Origin: http://evil.example",
                                                       "Content-Type: text/plain"]), 403,
          closes=True),
        P("origin-on-get", t.get("/v1/model", ["Origin: http://evil.example"]), 403, closes=True),
        P("origin-same-as-host", t.post(ev, body, [f"Origin: {own}"]), 200),
        P("origin-localhost-same-as-host",
          t.post(ev, body, [f"Origin: http://localhost:{s.port}"], host=f"localhost:{s.port}"),
          200),
        P("origin-case-insensitive",
          t.post(ev, body, [f"Origin: HTTP://LOCALHOST:{s.port}"], host=f"localhost:{s.port}"),
          200),
        P("origin-default-port", t.post(ev, body, ["Origin: http://shop.example"],
                                        host="shop.example:80"), 200),
        P("origin-same-with-fetch-site-same-origin",
          t.post(ev, body, [f"Origin: {own}", "Sec-Fetch-Site: same-origin"]), 200),
    ])


SESSION_ID_REFUSED = [
    ("empty", ""),
    ("257-bytes", "a" * 257),
    ("257-bytes-encoded", "%61" * 257),
    ("encoded-slash", "a%2Fb"),
    ("encoded-slash-lower", "a%2fb"),
    ("nul", "a%00b"),
    ("line-feed", "a%0Ab"),
    ("carriage-return", "a%0Db"),
    ("tab", "a%09b"),
    ("unit-separator", "a%1Fb"),
    ("delete", "a%7Fb"),
    ("overlong-slash", "a%C0%AFb"),
    ("overlong-3-byte", "a%E0%80%AFb"),
    ("overlong-4-byte", "a%F0%82%82%ACb"),
    ("surrogate", "a%ED%A0%80b"),
    ("above-max-code-point", "a%F4%90%80%80b"),
    ("f5-lead-byte", "a%F5%80%80%80b"),
    ("ff-byte", "a%FFb"),
    ("lone-continuation", "a%80b"),
    ("truncated-2-byte", "a%C3"),
    ("truncated-3-byte", "a%E2%82"),
    ("bad-escape-zz", "a%zzb"),
    ("bad-escape-short", "a%2"),
    ("bad-escape-percent-alone", "a%"),
    ("bad-escape-u", "a%u0041"),
    ("bad-escape-2g", "a%2Gb"),
    ("c1-nel", "a%C2%85b"),
    ("c1-first", "a%C2%80b"),
    ("c1-last", "a%C2%9Fb"),
    ("line-separator", "a%E2%80%A8b"),
    ("paragraph-separator", "a%E2%80%A9b"),
    ("left-to-right-mark", "a%E2%80%8Eb"),
    ("right-to-left-mark", "a%E2%80%8Fb"),
    ("arabic-letter-mark", "a%D8%9Cb"),
    ("lre", "a%E2%80%AAb"),
    ("rle", "a%E2%80%ABb"),
    ("pdf", "a%E2%80%ACb"),
    ("lro", "a%E2%80%ADb"),
    ("rlo-override", "abc%E2%80%AEgpj.exe"),
    ("lri", "a%E2%81%A6b"),
    ("rli", "a%E2%81%A7b"),
    ("fsi", "a%E2%81%A8b"),
    ("pdi", "a%E2%81%A9b"),
    ("zero-width-space", "a%E2%80%8Bb"),
    ("zero-width-non-joiner", "a%E2%80%8Cb"),
    ("zero-width-joiner", "a%E2%80%8Db"),
    ("word-joiner", "a%E2%81%A0b"),
    ("byte-order-mark", "%EF%BB%BFab"),
    ("noncharacter-fffe", "a%EF%BF%BEb"),
    ("noncharacter-ffff", "a%EF%BF%BFb"),
]

SESSION_ID_ACCEPTED = [
    ("256-bytes", "a" * 256, "a" * 256),
    ("256-bytes-encoded", "%61" * 256, "a" * 256),
    ("no-break-space", "a%C2%A0b", "a\u00a0b"),
    ("hair-space", "a%E2%80%8Ab", "a\u200ab"),
    ("per-mille", "a%E2%80%B0b", "a\u2030b"),
    ("arabic-semicolon", "a%D8%9Bb", "a\u061bb"),
    ("replacement-char", "a%EF%BF%BDb", "a\ufffdb"),
    ("emoji", "a%F0%9F%98%80b", "a\U0001F600b"),
    ("max-code-point", "a%F4%8F%BF%BDb", "a\U0010FFFDb"),
    ("plus-stays-plus", "a+b", "a+b"),
    ("dot-dot", "..", ".."),
    ("raw-utf8", "caf\u00e9", "caf\u00e9"),
]


def g_session_ids(ctx):
    s = main_server(ctx)
    t = s.public
    body = {"item": ctx.items[0]}
    probes = []
    for name, raw in SESSION_ID_REFUSED:
        probes.append(P(name, t.post(f"/v1/sessions/{raw}/events", body), 400))
    probes.append(P("get-refused-id", t.get("/v1/sessions/a%00b/recommendations"), 400))
    probes.append(P("delete-refused-id", t.req("DELETE", "/v1/sessions/a%E2%80%AEb"), 400))
    for name, raw, stored in SESSION_ID_ACCEPTED:
        target = f"/v1/sessions/{raw}/events".encode("utf-8")
        req = t.post("/", body).replace(b"POST / ", b"POST " + target + b" ", 1)
        probes.append(P(name, req, 200, (jfield("session", stored),)))
    cafe = "caf%C3%A9%20au%20lait"
    probes += [
        P("encoded-id-stored-and-echoed", t.post(f"/v1/sessions/{cafe}/events", body), 200,
          (jfield("session", "caf\u00e9 au lait"), jfield("created", True))),
        P("encoded-id-lower-hex-same-session",
          t.post("/v1/sessions/caf%c3%a9%20au%20lait/events", body), 200,
          (jfield("session", "caf\u00e9 au lait"), jfield("session_events", 2))),
        P("encoded-id-recommendations", t.get(f"/v1/sessions/{cafe}/recommendations"), 200,
          (jfield("session_found", True), jfield("session", "caf\u00e9 au lait"))),
        P("encoded-id-delete", t.req("DELETE", f"/v1/sessions/{cafe}"), 200,
          (jfield("deleted", True), jfield("session", "caf\u00e9 au lait"))),
        P("encoded-id-gone", t.get(f"/v1/sessions/{cafe}/recommendations"), 200,
          (jfield("session_found", False),)),
        P("encoded-id-delete-again", t.req("DELETE", f"/v1/sessions/{cafe}"), 404),
    ]
    run_table("session-ids", s.port, probes)


def g_query(ctx):
    s = main_server(ctx)
    t = s.public
    r = t.call("POST", "/v1/sessions/q/events", {"items": ctx.items[:3]})
    probe("query", "setup-session", "200", lambda: status_is(r, 200))
    rec = "/v1/sessions/q/recommendations"
    bad = [
        ("k-twice", "k=5&k=6"), ("k-twice-same", "k=5&k=5"),
        ("exclude-seen-twice", "exclude_seen=true&exclude_seen=false"),
        ("exclude-seen-twice-same", "exclude_seen=true&exclude_seen=true"),
        ("exclude-seen-1", "exclude_seen=1"), ("exclude-seen-True", "exclude_seen=True"),
        ("exclude-seen-yes", "exclude_seen=yes"), ("exclude-seen-empty", "exclude_seen="),
        ("exclude-seen-no-value", "exclude_seen"), ("exclude-seen-space", "exclude_seen=true%20"),
        ("k-zero", "k=0"), ("k-negative", "k=-1"), ("k-over-max", f"k={MAX_K + 1}"),
        ("k-float", "k=1.5"), ("k-letters", "k=abc"), ("k-empty", "k="), ("k-no-value", "k"),
        ("k-plus", "k=%2B5"), ("k-raw-plus", "k=+5"), ("k-hex", "k=0x10"), ("k-space", "k=5%20"),
        ("k-huge", "k=99999999999999999999"), ("k-int64-min", "k=-9223372036854775808"),
        ("k-exponent", "k=1e2"),
    ]
    probes = [P(name, t.get(f"{rec}?{q}"), 400) for name, q in bad]
    probes += [
        P("k-one", t.get(f"{rec}?k=1"), 200, (n_recs(1),)),
        P("k-max", t.get(f"{rec}?k={MAX_K}"), 200, (n_recs(min(MAX_K, len(ctx.items))),)),
        P("k-leading-zero", t.get(f"{rec}?k=05"), 200, (n_recs(5),)),
        P("exclude-seen-true", t.get(f"{rec}?k=60&exclude_seen=true"), 200,
          (jfield("recommendations", lambda v: not {x["item"] for x in v} & set(ctx.items[:3])),)),
        P("exclude-seen-false", t.get(f"{rec}?exclude_seen=false&k=3"), 200, (n_recs(3),)),
        P("unknown-key-ignored", t.get(f"{rec}?foo=bar&k=2"), 200, (n_recs(2),)),
        P("key-prefix-not-k", t.get(f"{rec}?kk=5&k=2"), 200, (n_recs(2),)),
        P("empty-query", t.get(f"{rec}?"), 200, (n_recs(20),)),
    ]
    run_table("query", s.port, probes)


def g_json(ctx):
    s = ctx.server("json", args=["--max-k", str(MAX_K)])
    t = s.public
    ev = "/v1/sessions/js/events"
    item = ctx.items[0]
    q = json.dumps(item)

    def raw(name, body, status, *checks):
        return P(name, t.post(ev, body), status, checks)

    deep_open = b"[" * 10000
    deep_closed = b"[" * 10000 + b"]" * 10000
    deep_objects = b'{"a":' * 10000 + b"1" + b"}" * 10000
    deep_in_field = b'{"item":' + q.encode() + b',"x":' + b"[" * 10000 + b"]" * 10000 + b"}"
    probes = [
        raw("not-json", b"hello", 400),
        raw("empty-body", b"", 400),
        raw("array", b"[]", 400, message_has("object")),
        raw("string", b'"x"', 400),
        raw("number", b"5", 400),
        raw("null", b"null", 400),
        raw("truncated", b'{"item": ' + q.encode(), 400),
        raw("trailing-garbage", b'{"item": ' + q.encode() + b"} x", 400),
        raw("two-objects", b'{"item": ' + q.encode() + b'}{"item": 1}', 400),
        raw("single-quotes", b"{'item': '1'}", 400),
        raw("comment", b'{"item": ' + q.encode() + b"/* c */}", 400),
        raw("trailing-comma", b'{"item": ' + q.encode() + b",}", 400),
        raw("duplicate-key", b'{"item": ' + q.encode() + b', "item": "x"}', 400,
            message_has("item", "twice")),
        raw("duplicate-k", b'{"item": ' + q.encode() + b', "k": 1, "k": 50}', 400),
        raw("duplicate-key-nested", b'{"item": ' + q.encode() + b', "x": {"a": 1, "a": 2}}', 400),
        raw("duplicate-key-deep",
            b'{"item": ' + q.encode() + b', "x": [[{"y": {"b": 1, "b": 1}}]]}', 400),
        raw("duplicate-key-escaped", b'{"item": ' + q.encode() + b', "\\u0069tem": "x"}', 400),
        raw("same-key-in-sibling-objects", b'{"item": ' + q.encode()
            + b', "x": [{"a": 1}, {"a": 2}]}', 200),
        raw("invalid-utf8-in-string", b'{"item": "\xff"}', 400),
        raw("overlong-utf8-in-string", b'{"item": "\xc0\xaf"}', 400),
        raw("surrogate-utf8-in-string", b'{"item": "\xed\xa0\x80"}', 400),
        raw("invalid-utf8-in-key", b'{"it\xfem": 1, "item": ' + q.encode() + b"}", 400),
        raw("lone-surrogate-escape", b'{"item": "\\ud800"}', 400),
        raw("raw-control-char", b'{"item": "a\x01b"}', 400),
        raw("nul-byte", b'{"item": ' + q.encode() + b"}\x00", 400),
        raw("nul-then-garbage", b'{"item": ' + q.encode() + b"}\x00garbage", 400),
        raw("nul-then-duplicate-keys", b'{"item": ' + q.encode() + b'}\x00{"item": 1, "item": 2',
            400),
        raw("nul-inside-object", b'{"item": ' + q.encode() + b', "k":\x00 1}', 400),
        raw("nan", b'{"item": ' + q.encode() + b', "k": NaN}', 400),
        raw("infinity", b'{"item": ' + q.encode() + b', "k": Infinity}', 400),
        raw("minus-infinity", b'{"item": ' + q.encode() + b', "k": -Infinity}', 400),
        raw("huge-exponent", b'{"item": ' + q.encode() + b', "k": 1e999}', 400),
        raw("huge-integer-item", b'{"item": 1' + b"0" * 400 + b"}", 400),
        raw("huge-number-unused-field", b'{"item": ' + q.encode() + b', "x": 1e999}', (200, 400)),
        raw("deep-open-arrays", deep_open, 400),
        raw("deep-closed-arrays", deep_closed, 400),
        raw("deep-objects", deep_objects, 400),
        raw("deep-array-in-field", deep_in_field, 200),
        P("k-string", t.post(ev, {"item": item, "k": "5"}), 400),
        P("k-float", t.post(ev, {"item": item, "k": 5.0}), 400),
        P("k-float-fraction", t.post(ev, {"item": item, "k": 5.5}), 400),
        P("k-negative", t.post(ev, {"item": item, "k": -1}), 400),
        P("k-zero", t.post(ev, {"item": item, "k": 0}), 400),
        P("k-over-max", t.post(ev, {"item": item, "k": MAX_K + 1}), 400),
        P("k-uint64-max", t.post(ev, {"item": item, "k": 18446744073709551615}), 400,
          (message_has("18446744073709551615"),)),
        P("k-int64-min", t.post(ev, {"item": item, "k": -9223372036854775808}), 400,
          (message_has("-9223372036854775808"),)),
        raw("k-beyond-uint64", b'{"item": ' + q.encode() + b', "k": 18446744073709551616}', 400),
        P("k-true", t.post(ev, {"item": item, "k": True}), 400),
        P("k-null", t.post(ev, {"item": item, "k": None}), 400),
        P("k-array", t.post(ev, {"item": item, "k": [5]}), 400),
        P("k-ok", t.post(ev, {"item": item, "k": 7}), 200, (n_recs(7),)),
        P("item-and-items", t.post(ev, {"item": item, "items": [item]}), 400),
        P("neither-item-nor-items", t.post(ev, {"k": 5}), 400),
        P("empty-object", t.post(ev, {}), 400),
        P("items-empty", t.post(ev, {"items": []}), 400),
        P("items-not-array", t.post(ev, {"items": item}), 400),
        P("items-object", t.post(ev, {"items": {"a": item}}), 400),
        P("items-nested-array", t.post(ev, {"items": [[item]]}), 400),
        P("items-with-null", t.post(ev, {"items": [item, None]}), 400),
        P("item-object", t.post(ev, {"item": {"id": item}}), 400),
        P("item-float", t.post(ev, {"item": 1.5}), 400),
        P("item-bool", t.post(ev, {"item": True}), 400),
        P("item-null", t.post(ev, {"item": None}), 400),
        P("item-integer", t.post("/v1/sessions/js-int/events", {"item": int(item)}), 200,
          (jfield("unknown_items", []), jfield("session_events", 1))),
        P("items-integers", t.post("/v1/sessions/js-int/events", {"items": [int(x) for x in
                                                                           ctx.items[:3]]}),
          200, (jfield("unknown_items", []), jfield("session_events", 4))),
        P("unknown-item-reported", t.post("/v1/sessions/js-unk/events",
                                          {"items": [item, "no-such-item", 42]}), 200,
          (jfield("unknown_items", ["no-such-item", "42"]), jfield("session_events", 1))),
        P("only-unknown-items", t.post("/v1/sessions/js-unk2/events", {"item": "nope"}), 200,
          (jfield("unknown_items", ["nope"]), jfield("popular", True))),
        P("items-1000", t.post("/v1/sessions/js-1000/events", {"items": [item] * 1000}), 200,
          (jfield("unknown_items", []), jfield("session_events", 200))),  # the last 200 kept
        P("items-1001", t.post("/v1/sessions/js-1001/events", {"items": [item] * 1001}), 400,
          (message_has("1001"),)),
        P("exclude-1001", t.post(ev, {"item": item, "exclude": [item] * 1001}), 400),
        P("include-1001", t.post(ev, {"item": item, "include": [item] * 1001}), 400),
        P("stateless-items-1001", t.post("/v1/recommend", {"items": [item] * 1001}), 400),
        P("exclude-seen-string", t.post(ev, {"item": item, "exclude_seen": "true"}), 400),
        P("exclude-seen-number", t.post(ev, {"item": item, "exclude_seen": 1}), 400),
        P("exclude-seen-true", t.post(ev, {"item": item, "exclude_seen": True, "k": 60}), 200,
          (jfield("recommendations", lambda v: item not in {x["item"] for x in v}),)),
        P("exclude-not-array", t.post(ev, {"item": item, "exclude": item}), 400),
        P("exclude-unknown-ignored", t.post(ev, {"item": item, "exclude": ["nope"]}), 200),
        P("exclude-applied", t.post(ev, {"item": item, "exclude": ctx.items[:10], "k": 60}), 200,
          (jfield("recommendations", lambda v: not {x["item"] for x in v} & set(ctx.items[:10])),)),
        P("include-all-unknown", t.post(ev, {"item": item, "include": ["nope"]}), 400),
        P("include-empty", t.post(ev, {"item": item, "include": []}), 400),
        P("include-applied", t.post(ev, {"item": item, "include": ctx.items[:3], "k": 10}), 200,
          (jfield("recommendations", lambda v: {x["item"] for x in v} <= set(ctx.items[:3])),)),
        P("body-over-65536", t.post(ev, b" " * 65537), 413, closes=True),
    ]
    run_table("json", s.port, probes)
    probe("json", "alive-after-hostile-json", "200",
          lambda: status_is(t.call("GET", "/health"), 200))


def g_pipelining(ctx):
    s = main_server(ctx)
    t = s.public
    item = ctx.items[0]

    def pipelined():
        reqs = b"".join(t.post("/v1/sessions/pipe/events", {"item": item, "k": k})
                        for k in (1, 2, 3))
        c = Conn(s.port)
        c.send(reqs)
        rs = [c.read_response() for _ in range(3)]
        c.close()
        got = [(r.status, len((r.json() or {}).get("recommendations", [])),
                (r.json() or {}).get("session_events")) for r in rs]
        return str(got), got == [(200, 1, 1), (200, 2, 2), (200, 3, 3)]
    probe("pipelining", "three-events-in-one-write", "[(200, 1, 1), (200, 2, 2), (200, 3, 3)]",
          pipelined)

    def mixed():
        c = Conn(s.port)
        c.send(t.get("/health") + t.get("/v1/model") + t.get("/ready")
               + t.get("/v1/sessions/pipe/recommendations?k=4"))
        rs = [c.read_response() for _ in range(4)]
        c.close()
        keys = [sorted((r.json() or {}).keys())[:1] for r in rs]
        ok = [r.status for r in rs] == [200] * 4 and keys[0] == ["status"] and \
            "model_id" in (rs[1].json() or {}) and keys[2] == ["ready"] and \
            len(rs[3].json()["recommendations"]) == 4
        return str([r.status for r in rs]) + (" in order" if ok else " out of order"), ok
    probe("pipelining", "four-endpoints-in-order", "[200, 200, 200, 200] in order", mixed)

    def bad_in_middle():
        c = Conn(s.port)
        c.send(t.get("/health") + t.get("/health", host=None)
               + t.req("DELETE", "/v1/sessions/pipe"))
        rs = [c.read_response(1.5) for _ in range(3)]
        c.close()
        alive = t.call("GET", "/v1/sessions/pipe/recommendations").json()["session_found"]
        got = [r.status for r in rs]
        return f"{got}, session {'alive' if alive else 'DELETED'}", \
            got == [200, 400, None] and alive
    probe("pipelining", "malformed-second-request-ends-connection",
          "[200, 400, None], session alive", bad_in_middle)

    def head_then_get():
        c = Conn(s.port)
        c.send(t.req("HEAD", "/health"))
        h = c.read_response(head_only=True)
        c.send(t.get("/health"))
        g = c.read_response()
        c.close()
        ok = h.status == 200 and int(h.header("Content-Length") or 0) > 0 and \
            g.status == 200 and g.json() == {"status": "ok"}
        return f"HEAD {h.status} (Content-Length {h.header('Content-Length')}), then GET " \
               f"{g.describe()} {short(g.body, 40)}", ok
    probe("pipelining", "head-no-body-connection-usable", "HEAD 200 without body, then GET 200",
          head_then_get)

    def head_pipelined():
        c = Conn(s.port)
        c.send(t.req("HEAD", "/v1/model") + t.get("/health"))
        h = c.read_response(head_only=True)
        g = c.read_response()
        c.close()
        return f"HEAD {h.status}, GET {g.describe()} {short(g.body, 40)}", \
            h.status == 200 and g.status == 200 and g.json() == {"status": "ok"}
    probe("pipelining", "head-pipelined", "HEAD 200, GET 200 {status: ok}", head_pipelined)

    def head_error():
        c = Conn(s.port)
        c.send(t.req("HEAD", "/nope") + t.get("/health"))
        h = c.read_response(head_only=True)
        g = c.read_response()
        c.close()
        return f"HEAD {h.status}, GET {g.describe()}", h.status == 404 and g.status == 200
    probe("pipelining", "head-404-no-body", "HEAD 404, GET 200", head_error)

    def expect_continue():
        body = json.dumps({"item": item}).encode()
        c = Conn(s.port)
        c.send(t.req("POST", "/v1/sessions/cont/events",
                     ["Expect: 100-continue", f"Content-Length: {len(body)}"]))
        first = c.read_response(1.5)
        c.send(body)
        final = c.read_response()
        c.close()
        ok = first.status == 100 and final.status == 200
        return f"{first.describe()} then {final.describe()}", ok
    probe("pipelining", "expect-100-continue", "100 then 200", expect_continue)

    def expect_too_big():
        c = Conn(s.port)
        c.send(t.req("POST", "/v1/sessions/cont/events",
                     ["Expect: 100-continue", f"Content-Length: {MAX_BODY + 1}"]))
        first = c.read_response(1.5)
        c.close()
        return first.describe(), first.status == 413
    probe("pipelining", "expect-100-continue-too-large", "413 (no 100)", expect_too_big)

    def expect_chunked():
        body = json.dumps({"item": item}).encode()
        c = Conn(s.port)
        c.send(t.req("POST", "/v1/sessions/cont/events",
                     ["Expect: 100-continue", "Transfer-Encoding: chunked"]))
        first = c.read_response(1.5)
        c.send(chunked(body))
        final = c.read_response()
        c.close()
        return f"{first.describe()} then {final.describe()}", \
            first.status == 100 and final.status == 200
    probe("pipelining", "expect-100-continue-chunked", "100 then 200", expect_chunked)

    def max_requests():
        c = Conn(s.port)
        statuses, closes = [], []
        for _ in range(MAX_REQUESTS_PER_CONNECTION):
            c.send(t.get("/health"))
            r = c.read_response()
            statuses.append(r.status)
            closes.append((r.header("Connection") or "").lower() == "close")
        closed = c.closed_within(1.0)
        c.close()
        want = [False] * (MAX_REQUESTS_PER_CONNECTION - 1) + [True]
        return f"{statuses}, Connection: close on {closes}, closed {closed}", \
            statuses == [200] * MAX_REQUESTS_PER_CONNECTION and closes == want and closed
    probe("pipelining", "max-requests-per-connection",
          f"{MAX_REQUESTS_PER_CONNECTION} x 200, the last with Connection: close, closed",
          max_requests)

    def http10_keep_alive():
        c = Conn(s.port)
        c.send(t.get("/health", ["Connection: keep-alive"], version="HTTP/1.0"))
        a = c.read_response()
        c.send(t.get("/health", version="HTTP/1.0"))
        b = c.read_response()
        closed = c.closed_within(1.0)
        c.close()
        return f"{a.describe()}, {b.describe()}, closed {closed}", \
            a.status == 200 and b.status == 200 and closed
    probe("pipelining", "http10-keep-alive-then-close", "200, 200, closed", http10_keep_alive)

    def connection_close():
        c = Conn(s.port)
        c.send(t.get("/health", ["Connection: close"]) + t.get("/health"))
        a = c.read_response()
        b = c.read_response(1.0)
        c.close()
        return f"{a.describe()}, then {b.describe()}", a.status == 200 and b.status is None
    probe("pipelining", "connection-close-honoured", "200, then nothing", connection_close)


def g_timeouts(ctx):
    s = main_server(ctx)
    t = s.public
    results = {}

    def timed(name, data, wait):
        def run():
            c = Conn(s.port)
            start = time.monotonic()
            c.send(data)
            r = c.read_response(wait)
            r.elapsed = time.monotonic() - start
            r.closed = c.closed_within(1.0) if r.status else None
            c.close()
            results[name] = r
        return threading.Thread(target=run)

    def idle(name, request):
        def run():
            c = Conn(s.port)
            start = time.monotonic()
            if request:
                c.send(t.get("/health"))
                c.read_response()
                start = time.monotonic()
            closed = c.closed_within(IDLE_TIMEOUT + 2)
            results[name] = (closed, time.monotonic() - start, c.buf)
            c.close()
        return threading.Thread(target=run)

    threads = [
        idle("idle-keep-alive-closed", True),
        idle("idle-new-connection-closed", False),
        timed("head-stalls", t.get("/health")[:-4], HEAD_TIMEOUT + 2),
        timed("body-stalls", t.req("POST", "/v1/recommend", ["Content-Length: 100"]) + b'{"items"',
              BODY_TIMEOUT + 2),
        timed("chunked-body-stalls", t.req("POST", "/v1/recommend", ["Transfer-Encoding: chunked"])
              + b"5\r\n{\"ite", BODY_TIMEOUT + 2),
        timed("request-line-stalls", b"GET /hea", HEAD_TIMEOUT + 2),
    ]
    for th in threads:
        th.start()

    # Trickle: one byte every 0.1 s of a head that never ends: 408 after head-timeout from the
    # first byte, however steady the bytes.
    def trickle():
        c = Conn(s.port)
        data = t.get("/health")[:-2] + b"X-Slow: " + b"a" * 1000
        start = time.monotonic()
        status = None
        for i in range(len(data)):
            if not c.send(data[i:i + 1]):
                break
            ready, _, _ = select.select([c.sock], [], [], 0.1)
            if ready:
                r = c.read_response(1.0)
                status = r.status
                break
            if time.monotonic() - start > HEAD_TIMEOUT + 2:
                break
        elapsed = time.monotonic() - start
        c.close()
        ok = status == 408 and HEAD_TIMEOUT - 0.2 <= elapsed <= HEAD_TIMEOUT + 1
        return f"{status} after {elapsed:.2f}s", ok
    probe("timeouts", "head-trickle", f"408 after ~{HEAD_TIMEOUT}s", trickle)

    # Slowloris: many clients dripping bytes; a polite client stays fast meanwhile.
    def slowloris(n=60, seconds=2.5):
        socks = []
        for _ in range(n):
            try:
                socks.append(Conn(s.port))
            except OSError:
                break
        data = t.get("/health")[:-2] + b"X-Slow: " + b"a" * 1000
        stop = time.monotonic() + seconds
        answers = {}
        lat = []
        pos = 0
        while time.monotonic() < stop:
            for i, c in enumerate(socks):
                if i in answers:
                    continue
                if not c.send(data[pos:pos + 1]):
                    answers[i] = "send failed"
            pos += 1
            t0 = time.monotonic()
            r = exchange(s.port, t.get("/health"), timeout=1.0)
            lat.append((time.monotonic() - t0, r.status))
            waiting = {c.sock: i for i, c in enumerate(socks) if i not in answers}
            readable, _, _ = select.select(list(waiting), [], [], 0.15)
            for sock in readable:
                i = waiting[sock]
                r = socks[i].read_response(0.5)
                answers[i] = r.status
        for c in socks:
            c.close()
        worst = max(x[0] for x in lat)
        polite_ok = all(st == 200 for _, st in lat) and worst < 0.25
        refused = sum(1 for v in answers.values() if v == 408)
        ok = polite_ok and refused == len(socks) == n
        return f"{len(socks)} slow clients, {refused} answered 408; polite /health " \
               f"{len(lat)} x {sorted(set(st for _, st in lat))}, slowest {worst * 1000:.0f} ms", ok
    probe("timeouts", "slowloris-polite-client-fast",
          "every slow client 408, polite /health 200 in < 250 ms", slowloris)

    for th in threads:
        th.join(IDLE_TIMEOUT + 5)
    for name, limit in (("head-stalls", HEAD_TIMEOUT), ("body-stalls", BODY_TIMEOUT),
                        ("chunked-body-stalls", BODY_TIMEOUT),
                        ("request-line-stalls", HEAD_TIMEOUT)):
        r = results.get(name)

        def check(r=r, limit=limit):
            if r is None:
                return "no result", False
            ok = r.status == 408 and limit - 0.2 <= r.elapsed <= limit + 1 and r.closed
            why = error_shape(r)
            return f"{r.describe()} after {r.elapsed:.2f}s, closed {r.closed}" + \
                (f" ({why})" if why else ""), ok and not why, r.dump()
        probe("timeouts", name, f"408 after ~{limit}s, closed", check)
    for name in ("idle-keep-alive-closed", "idle-new-connection-closed"):
        res = results.get(name)

        def check(res=res):
            if res is None:
                return "no result", False
            closed, elapsed, extra = res
            ok = closed and IDLE_TIMEOUT - 0.3 <= elapsed <= IDLE_TIMEOUT + 1.0 and extra == b""
            return f"closed {closed} after {elapsed:.2f}s, {len(extra)} bytes sent", ok
        probe("timeouts", name, f"closed silently after ~{IDLE_TIMEOUT}s", check)


def g_connections(ctx):
    # The public budget full of idle keep-alive connections.
    s = ctx.server("conn", args=["--max-connections", "8", "--max-admin-connections", "2",
                                 "--idle-timeout", "10"], admin=True)
    t = s.public
    held = []

    def fill():
        for _ in range(8):
            c = Conn(s.port)
            c.send(t.get("/health"))
            r = c.read_response()
            if r.status != 200:
                return f"connection {len(held) + 1}: {r.describe()}", False
            held.append(c)
        return "8 x 200", True
    probe("connections", "fill-public-budget", "8 x 200", fill)
    probe("connections", "over-max-connections", "503, Retry-After: 1", lambda: status_is(
        exchange(s.port, t.get("/health"), closes=True), 503, header_is("Retry-After", "1"),
        message_has("too many connections"), lambda r: "" if r.closed else "left open"))
    probe("connections", "over-max-connections-silent-client", "503 without a request",
          lambda: status_is(exchange(s.port, b""), 503, header_is("Retry-After", "1")))
    probe("connections", "admin-reload-while-public-full", "200", lambda: status_is(
        exchange(s.admin_port, s.adm.post("/admin/reload", b"", [
            f"Authorization: Bearer {ctx.token}", "Connection: close"])), 200))
    admin_held = []
    for _ in range(2):
        admin_held.append(Conn(s.admin_port))
    time.sleep(0.3)
    probe("connections", "over-max-admin-connections", "503, Retry-After: 1", lambda: status_is(
        exchange(s.admin_port, s.adm.post("/admin/reload", b"", [
            f"Authorization: Bearer {ctx.token}"])), 503, header_is("Retry-After", "1")))
    for c in admin_held:
        c.close()

    def freed():
        held.pop().close()
        deadline = time.monotonic() + 2
        while True:
            r = exchange(s.port, t.get("/health"))
            if r.status == 200 or time.monotonic() > deadline:
                return status_is(r, 200)
            time.sleep(0.05)
    probe("connections", "budget-freed-after-close", "200", freed)
    for c in held:
        c.close()

    # Per address.
    s2 = ctx.server("per-address", args=["--max-connections-per-address", "3",
                                         "--idle-timeout", "10"])
    t2 = s2.public
    mine = []

    def three():
        for _ in range(3):
            c = Conn(s2.port)
            c.send(t2.get("/health"))
            r = c.read_response()
            if r.status != 200:
                return r.describe(), False
            mine.append(c)
        return "3 x 200", True
    probe("connections", "per-address-fill", "3 x 200", three)
    probe("connections", "per-address-over", "503 'your address'", lambda: status_is(
        exchange(s2.port, t2.get("/health")), 503, message_has("your address"),
        header_is("Retry-After", "1")))
    probe("connections", "per-address-other-address", "200 (from 127.0.0.2)", lambda: status_is(
        exchange(s2.port, t2.get("/health"), source="127.0.0.2"), 200))

    def freed2():
        mine.pop().close()
        deadline = time.monotonic() + 2
        while True:
            r = exchange(s2.port, t2.get("/health"))
            if r.status == 200 or time.monotonic() > deadline:
                return status_is(r, 200)
            time.sleep(0.05)
    probe("connections", "per-address-freed-after-close", "200", freed2)
    for c in mine:
        c.close()

    # Out of file descriptors: 100 clients against a process limited to 64 descriptors.
    s3 = Server(ctx, ctx.model, args=["--max-connections", "1000", "--idle-timeout", "10"],
                nofile=64, name="fd-limit")
    try:
        probe("connections", "fd-limit-warning-logged", "a warning on stderr", lambda: (
            "logged" if s3.wait_for("file descriptor limit", 2) else "no warning",
            bool(s3.wait_for("file descriptor limit", 0.1))))

        conns = []

        def flood(n=100):
            for _ in range(n):
                try:
                    conns.append(Conn(s3.port, timeout=2))
                except OSError as e:
                    conns.append(e)
            start = time.monotonic()
            for c in conns:
                if isinstance(c, Conn):
                    c.send(Target(s3.port).get("/health"))
            counts = {}
            for c in conns:
                if not isinstance(c, Conn):
                    counts["connect failed"] = counts.get("connect failed", 0) + 1
                    continue
                remaining = max(0.01, start + 2.0 - time.monotonic())
                r = c.read_response(remaining)
                key = r.status if r.status else r.error.split(" ")[0]
                counts[key] = counts.get(key, 0) + 1
            elapsed = time.monotonic() - start
            ok = set(counts) <= {200, 503} and sum(counts.values()) == n and elapsed < 2.5 \
                and counts.get(503, 0) > 0
            return f"{counts} in {elapsed:.2f}s", ok
        probe("connections", "fd-limit-100-clients", "each 200 or 503 (some 503) within 2 s",
              flood)
        # The answered ones still hold their descriptors: one more client is told, not left.
        probe("connections", "fd-limit-exhausted-new-client", "503 within 1 s", lambda: status_is(
            exchange(s3.port, Target(s3.port).get("/health"), timeout=1.0), 503,
            faster_than(1.0)))
        for c in conns:
            if isinstance(c, Conn):
                c.close()

        def recovered():
            deadline = time.monotonic() + 3
            while True:
                r = exchange(s3.port, Target(s3.port).get("/health"))
                if r.status == 200 or time.monotonic() > deadline:
                    return status_is(r, 200)
                time.sleep(0.1)
        probe("connections", "fd-limit-recovers", "200", recovered)
    finally:
        rc, took = s3.stop()
    probe("connections", "fd-limit-server-stops", "exit 0 within 3 s",
          lambda: (f"exit {rc} in {took:.2f}s", rc == 0 and took < 3))


def admin_req(ctx, srv, auth="default", host=None, extra=()):
    hs = list(extra) + ["Connection: close"]
    if auth == "default":
        hs.append(f"Authorization: Bearer {ctx.token}")
    elif auth is not None:
        hs.append(auth if isinstance(auth, bytes) else f"Authorization: {auth}")
    kw = {} if host is None else {"host": host}
    return srv.adm.post("/admin/reload", b"", hs, **kw)


def g_admin_auth(ctx):
    tok = ctx.token
    s = ctx.server("auth-1", admin=True)
    www = header_is("WWW-Authenticate", "Bearer")
    # Whitespace after a field value is not part of it (RFC 9110 5.5): the right token.
    probe("admin-auth", "trailing-space-is-not-part-of-the-value", "200", lambda: status_is(
        exchange(s.admin_port, admin_req(ctx, s, f"Bearer {tok} ")), 200))
    # Four failures: under the throttle's limit of five.
    wrong = [
        ("basic", f"Basic {tok}"),
        ("lower-case-bearer", f"bearer {tok}"),
        ("token-space-junk", f"Bearer {tok} x"),
        ("empty-token", "Bearer "),
    ]
    for name, auth in wrong:
        probe("admin-auth", name, "401, WWW-Authenticate: Bearer", lambda auth=auth: status_is(
            exchange(s.admin_port, admin_req(ctx, s, auth)), 401, www))
    probe("admin-auth", "bad-host-does-not-count", "421", lambda: status_is(
        exchange(s.admin_port, admin_req(ctx, s, f"Basic {tok}", host="evil.example")), 421))
    probe("admin-auth", "right-token-after-4-failures", "200", lambda: status_is(
        exchange(s.admin_port, admin_req(ctx, s)), 200, jfield("reloaded", False)))
    probe("admin-auth", "token-prefix-5th-failure", "401", lambda: status_is(
        exchange(s.admin_port, admin_req(ctx, s, f"Bearer {tok[:-1]}")), 401, www))
    probe("admin-auth", "right-token-throttled", "429 with Retry-After", lambda: status_is(
        exchange(s.admin_port, admin_req(ctx, s)), 429,
        header_is("Retry-After", lambda v: v is not None and v.isdigit() and 0 < int(v) <= 60)))
    probe("admin-auth", "throttled-health-too", "429", lambda: status_is(
        exchange(s.admin_port, s.adm.get("/health", [f"Authorization: Bearer {tok}"])), 429))
    probe("admin-auth", "other-address-not-throttled", "200 (from 127.0.0.2)", lambda: status_is(
        exchange(s.admin_port, admin_req(ctx, s), source="127.0.0.2"), 200))
    probe("admin-auth", "public-listener-unaffected", "200", lambda: status_is(
        s.public.call("GET", "/health"), 200))
    probe("admin-auth", "failures-logged", "log lines naming the address", lambda: (
        "logged" if s.wait_for(r"Admin: refused a request from 127\.0\.0\.1.*429", 1)
        else "no log line", bool(s.wait_for(r"Admin: refused .*429", 0.1))))
    probe("admin-auth", "token-not-logged", "the token nowhere on stderr", lambda: (
        "absent" if not any(tok in line for line in s.lines) else "LOGGED",
        not any(tok in line for line in s.lines)))

    s2 = ctx.server("auth-2", admin=True)
    more = [
        ("token-plus-one-char", f"Authorization: Bearer {tok}x"),
        ("missing-authorization", None),
        ("two-spaces", f"Authorization: Bearer  {tok}"),
        ("upper-case-token", f"Authorization: Bearer {tok.upper()}"
         if tok.upper() != tok else f"Authorization: Bearer {tok}!"),
    ]
    for name, auth in more:
        probe("admin-auth", name, "401, WWW-Authenticate: Bearer", lambda auth=auth: status_is(
            exchange(s2.admin_port, admin_req(ctx, s2, auth.encode() if auth else None)), 401,
            www))
    probe("admin-auth", "right-token-second-server", "200", lambda: status_is(
        exchange(s2.admin_port, admin_req(ctx, s2)), 200))
    probe("admin-auth", "admin-health-with-token", "200", lambda: status_is(
        exchange(s2.admin_port, s2.adm.get("/health", [f"Authorization: Bearer {tok}"])), 200))
    probe("admin-auth", "admin-get-reload", "405", lambda: status_is(
        exchange(s2.admin_port, s2.adm.get("/admin/reload", [f"Authorization: Bearer {tok}"])),
        405))

    # Weak tokens are refused at start.
    def weak(token):
        def run():
            path = os.path.join(ctx.tmp, "weak.token")
            with open(path, "w") as f:
                f.write(token)
            p = subprocess.run([ctx.gru4rec, "serve", ctx.model, "--port", "0", "--admin-port",
                                "0", "--admin-token-file", path], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=10)
            msg = p.stderr.decode(errors="replace").strip().splitlines()
            return f"exit {p.returncode}: {msg[-1][:90] if msg else ''}", p.returncode != 0
        return run
    for name, token in (("token-too-short", "abcdef0123456"), ("token-repeated", "a" * 32),
                        ("token-few-distinct", "abcabcabcabcabcabc"),
                        ("token-with-space", "abcd efgh ijkl mnop"),
                        ("token-non-ascii", "abcdefghijklmnop\u00e9")):
        probe("admin-auth", name, "serve refuses to start", weak(token))


def write_target(path, kind, good):
    """Puts a hostile (or valid) reload target at path."""
    if os.path.islink(path) or os.path.isfile(path) or (os.path.exists(path)
                                                        and not os.path.isdir(path)):
        os.remove(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)
    if kind == "missing":
        return
    if kind == "directory":
        os.mkdir(path)
        return
    if kind == "fifo":
        os.mkfifo(path)
        return
    if kind == "dev-zero":
        os.symlink("/dev/zero", path)
        return
    if kind == "symlink-loop":
        os.symlink(path, path)
        return
    if kind == "dangling-symlink":
        os.symlink(path + ".nowhere", path)
        return
    with open(path, "wb") as f:
        if kind == "empty":
            pass
        elif kind == "text":
            f.write(b"this is not a model\n" * 50)
        elif kind == "truncated":
            f.write(good[: len(good) // 2])
        elif kind == "truncated-by-one":
            f.write(good[:-1])
        elif kind == "flipped-byte-middle":
            b = bytearray(good)
            b[len(b) // 2] ^= 0x01
            f.write(b)
        elif kind == "flipped-byte-header":
            b = bytearray(good)
            b[4] ^= 0x01
            f.write(b)
        elif kind == "flipped-byte-last":
            b = bytearray(good)
            b[-1] ^= 0x80
            f.write(b)
        elif kind == "appended-garbage":
            f.write(good + b"garbage")
        elif kind == "too-large":
            f.truncate(MAX_MODEL_BYTES + 1)
        elif kind == "valid":
            f.write(good)
        else:
            raise ValueError(kind)


def g_admin(ctx):
    big = ctx.big_model()
    model_path = os.path.join(ctx.tmp, "served.g4r")
    with open(ctx.model, "rb") as f:
        good = f.read()
    with open(ctx.model2, "rb") as f:
        good2 = f.read()
    write_target(model_path, "valid", good)
    s = Server(ctx, model_path, args=["--max-model-bytes", str(MAX_MODEL_BYTES)], admin=True,
               name="admin")
    try:
        admin_group(ctx, s, model_path, good, good2, big)
    finally:
        if s.proc.poll() is None:
            s.kill()


def admin_group(ctx, s, model_path, good, good2, big):
    G = "admin"
    ap = s.admin_port
    tok = ctx.token
    t = s.public

    def version():
        j = t.call("GET", "/v1/model").json()
        return (j["model_version"], j["model_id"]) if j else (None, None)

    # DNS rebinding: the admin listener answers only to IP literals and localhost.
    for name, host, status in [
        ("host-evil-name", "evil.example", 421),
        ("host-evil-name-with-port", f"evil.example:{ap}", 421),
        ("host-localhost-suffix", "localhost.evil.example", 421),
        ("host-ip-like-name", "127.0.0.1.nip.io", 421),
        ("host-hex-ip", "0x7f.0.0.1", 421),
        ("host-short-ip", "127.1", 421),
        ("host-ip-out-of-range", "256.0.0.1", 421),
        ("host-ip-five-parts", "127.0.0.1.1", 421),
        ("host-ipv6-bad-chars", "[::g]", 421),
        ("host-empty", "", 421),
        ("host-localhost", "localhost", 200),
        ("host-localhost-port", f"localhost:{ap}", 200),
        ("host-localhost-upper", f"LOCALHOST:{ap}", 200),
        ("host-ipv4", "127.0.0.1", 200),
        ("host-ipv4-port", f"127.0.0.1:{ap}", 200),
        ("host-other-ipv4", "10.1.2.3:80", 200),
        ("host-ipv6", f"[::1]:{ap}", 200),
    ]:
        probe(G, name, str(status), lambda host=host, status=status: status_is(
            exchange(ap, admin_req(ctx, s, host=host)), status))
    probe(G, "admin-missing-host-http11", "400", lambda: status_is(
        exchange(ap, admin_req(ctx, s, host=None).replace(
            f"Host: 127.0.0.1:{ap}\r\n".encode(), b"")), 400))
    probe(G, "admin-cross-site", "403", lambda: status_is(exchange(
        ap, admin_req(ctx, s, extra=["Sec-Fetch-Site: cross-site"])), 403))
    probe(G, "admin-wrong-token", "401", lambda: status_is(
        exchange(ap, admin_req(ctx, s, f"Bearer {tok[::-1]}")), 401,
        header_is("WWW-Authenticate", "Bearer")))
    probe(G, "admin-reload-on-public-port", "404", lambda: status_is(
        t.call("POST", "/admin/reload", b"", [f"Authorization: Bearer {tok}"]), 404))
    probe(G, "admin-unknown-path", "404", lambda: status_is(exchange(
        ap, s.adm.post("/admin/nope", b"", [f"Authorization: Bearer {tok}"])), 404))

    v0, id0 = version()
    targets = ["missing", "empty", "text", "truncated", "truncated-by-one",
               "flipped-byte-middle", "flipped-byte-header", "flipped-byte-last",
               "appended-garbage", "directory", "fifo", "dev-zero", "symlink-loop",
               "dangling-symlink", "too-large"]
    last_failure = 0.0
    for i, kind in enumerate(targets):
        write_target(model_path, kind, good)
        wait = last_failure + 1.05 - time.monotonic()
        if wait > 0:
            time.sleep(wait)

        def reload_fails():
            r = exchange(ap, admin_req(ctx, s), timeout=5)
            return status_is(r, 422, faster_than(1.0), message_has("not reloaded"))
        probe(G, f"reload-{kind}", "422 within 1 s", reload_fails)
        last_failure = time.monotonic()
        if i == 0:
            probe(G, "reload-again-within-1s", "429 with Retry-After", lambda: status_is(
                exchange(ap, admin_req(ctx, s)), 429, header_is("Retry-After", "1")))

        def still_serving():
            r = t.call("POST", "/v1/sessions/adm/events", {"item": ctx.items[0]})
            got_v = (r.json() or {}).get("model_version")
            v, mid = version()
            ok = r.status == 200 and got_v == v0 and (v, mid) == (v0, id0)
            return f"{r.describe()}, model_version {got_v}, /v1/model {v} {mid}", ok
        probe(G, f"reload-{kind}-old-model-serves", f"200, model_version {v0}", still_serving)

    # The throttle after a failure holds even for a good file.
    write_target(model_path, "valid", good2)
    probe(G, "valid-model-within-1s-of-failure", "429", lambda: status_is(
        exchange(ap, admin_req(ctx, s)), 429))
    time.sleep(max(0.0, last_failure + 1.05 - time.monotonic()))
    probe(G, "reload-valid-different-model", f"200, reloaded, version {v0 + 1}", lambda: status_is(
        exchange(ap, admin_req(ctx, s)), 200, jfield("reloaded", True),
        jfield("model_version", v0 + 1)))
    probe(G, "new-model-serves", f"model_version {v0 + 1}", lambda: status_is(
        t.call("POST", "/v1/sessions/adm/events", {"item": ctx.items[0]}), 200,
        jfield("model_version", v0 + 1), jfield("state_rebuilt", True)))
    probe(G, "reload-same-model", "200, reloaded false", lambda: status_is(
        exchange(ap, admin_req(ctx, s)), 200, jfield("reloaded", False),
        jfield("model_version", v0 + 1)))
    os.remove(model_path)
    os.symlink(ctx.model2, model_path)
    probe(G, "reload-symlink-to-same-model", "200, reloaded false", lambda: status_is(
        exchange(ap, admin_req(ctx, s)), 200, jfield("reloaded", False)))

    # Two reloads at once: one runs, the other is told so (409).
    os.remove(model_path)
    shutil.copyfile(big, model_path)

    def concurrent():
        tries = []
        for _ in range(4):
            c1, c2 = Conn(ap), Conn(ap)
            req = admin_req(ctx, s)
            c1.send(req)
            c2.send(req)
            r1, r2 = c1.read_response(5), c2.read_response(5)
            c1.close()
            c2.close()
            got = sorted([r1.status or 0, r2.status or 0])
            tries.append(got)
            if got == [200, 409]:
                msg = (r1 if r1.status == 409 else r2).message()
                return f"{got} ({msg[:40]})", True
        return f"{tries}", False
    probe(G, "concurrent-reloads-409", "[200, 409]", concurrent)
    v_big = version()[0]

    # SIGHUP reloads; SIGTERM right after a SIGHUP still stops promptly.
    write_target(model_path, "valid", good)

    def sighup():
        mark = s.line_count()
        s.signal(signal.SIGHUP)
        m = s.wait_for(r"Reloaded \(model version (\d+)\)", 5, mark)
        if not m:
            return f"no log line: {s.lines[mark:][-3:]}", False
        v = version()[0]
        return f"logged version {m.group(1)}, serving {v}", int(m.group(1)) == v == v_big + 1
    probe(G, "sighup-reloads", f"'Reloaded (model version {v_big + 1})' logged", sighup)

    def sighup_bad():
        write_target(model_path, "text", good)
        mark = s.line_count()
        s.signal(signal.SIGHUP)
        m = s.wait_for(r"Reload failed, still serving", 5, mark)
        v = version()[0]
        return ("logged" if m else "no log line") + f", serving {v}", bool(m) and v == v_big + 1
    probe(G, "sighup-bad-file", "'Reload failed' logged, old model serves", sighup_bad)

    def sighup_then_sigterm():
        shutil.copyfile(big, model_path + ".tmp")
        os.replace(model_path + ".tmp", model_path)
        s.signal(signal.SIGHUP)
        time.sleep(0.01)
        rc, took = s.stop(timeout=8)
        return f"exit {rc} in {took:.2f}s", rc == 0 and took < 3.0
    probe(G, "sigterm-right-after-sighup", "exit 0 within 3 s", sighup_then_sigterm)


def g_training(ctx):
    G = "training"
    d = os.path.join(ctx.tmp, "train-ids")
    os.makedirs(d, exist_ok=True)

    def write(name, item_id=None, session_id=None):
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write("SessionId\tItemId\tTime\n1\t100\t1\n")
            f.write(f"{session_id or 1}\t{item_id or 101}\t2\n2\t100\t3\n2\t101\t4\n")
        return path

    def train(path, expect_ok, *texts):
        p = subprocess.run([ctx.gru4rec, "train", path, "-ps",
                            "n_epochs=1,layers=8,n_sample=4,batch_size=2", "-q", "--progress",
                            "none"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=60)
        err = p.stderr.decode(errors="replace")
        if expect_ok:
            return f"exit {p.returncode}", p.returncode == 0, err[-300:]
        missing = [x for x in texts if x not in err]
        got = f"exit {p.returncode}: {err.strip()[:120]}"
        return got, p.returncode != 0 and not missing and len(err) < 2000, err[-300:]

    big = write("item-5mb.tsv", item_id="x" * (5 << 20))
    probe(G, "item-id-5-mb", "non-zero exit naming FILE:3 and 1024",
          lambda: train(big, False, f"{big}:3", "1024"))
    p1025 = write("item-1025.tsv", item_id="y" * 1025)
    probe(G, "item-id-1025-bytes", "non-zero exit naming FILE:3 and 1024",
          lambda: train(p1025, False, f"{p1025}:3", "1024"))
    p1024 = write("item-1024.tsv", item_id="y" * 1024)
    probe(G, "item-id-1024-bytes", "exit 0", lambda: train(p1024, True))
    sid = write("session-5mb.tsv", session_id="s" * (5 << 20))
    probe(G, "session-id-5-mb", "non-zero exit naming FILE:3 and 1024",
          lambda: train(sid, False, f"{sid}:3", "1024"))
    nl = os.path.join(d, "no-newline.tsv")
    with open(nl, "w") as f:
        f.write("SessionId\tItemId\tTime\n1\t100\t1\n1\t" + "z" * (3 << 20) + "\t5")
    probe(G, "unterminated-last-line-5-mb", "non-zero exit naming FILE:3 and 1024",
          lambda: train(nl, False, f"{nl}:3", "1024"))


# ---------------------------------------------------------------------------------------------
# Redis


class Resp:
    """A minimal Redis client (RESP2)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=2)
        self.f = self.sock.makefile("rb")

    def cmd(self, *args):
        out = f"*{len(args)}\r\n".encode()
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += f"${len(a)}\r\n".encode() + a + b"\r\n"
        self.sock.sendall(out)
        return self._reply()

    def _reply(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise ValueError(f"bad reply {line!r}")

    def close(self):
        self.sock.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def g_redis(ctx):
    G = "redis"
    port = free_port()
    redis = popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        db = None
        while time.monotonic() < deadline:
            try:
                db = Resp(port)
                if db.cmd("PING") == "PONG":
                    break
            except OSError:
                time.sleep(0.05)
        if db is None:
            probe(G, "redis-started", "PONG", lambda: ("redis-server did not answer", False))
            return
        redis_group(ctx, G, port, redis, db)
    finally:
        if redis.poll() is None:
            os.kill(redis.pid, signal.SIGCONT)
            redis.terminate()
            try:
                redis.wait(5)
            except subprocess.TimeoutExpired:
                redis.kill()


def redis_group(ctx, G, port, redis, db):
    store_timeout = 0.3
    s = Server(ctx, ctx.model, args=["--session-store", f"redis://127.0.0.1:{port}",
                                     "--session-store-timeout", str(store_timeout)],
               name="redis")
    t = s.public
    item = ctx.items[0]
    ev = lambda sid: f"/v1/sessions/{sid}/events"  # noqa: E731
    try:
        probe(G, "new-session", "200, created", lambda: status_is(
            t.call("POST", ev("r1"), {"item": item}), 200, jfield("created", True),
            jfield("degraded", False)))
        probe(G, "existing-session", "200, 2 events", lambda: status_is(
            t.call("POST", ev("r1"), {"item": item}), 200, jfield("created", False),
            jfield("session_events", 2)))
        probe(G, "record-in-redis", "a hash under gru4rec:session:r1", lambda: (
            lambda kind: (str(kind), kind == "hash"))(db.cmd("TYPE", "gru4rec:session:r1")))
        hostile_records = [
            ("garbage-record", lambda k: db.cmd("HSET", k, "r", b"\x00garbage\xff" * 10, "a", "x")),
            ("empty-record", lambda k: db.cmd("HSET", k, "r", "", "a", "")),
            ("huge-garbage-record", lambda k: db.cmd("HSET", k, "r", os.urandom(1 << 20))),
            ("answer-without-record", lambda k: db.cmd("HSET", k, "a", "whatever")),
            ("string-key", lambda k: db.cmd("SET", k, "hello")),
            ("list-key", lambda k: db.cmd("RPUSH", k, "a", "b")),
            ("set-key", lambda k: db.cmd("SADD", k, "a")),
            ("zset-key", lambda k: db.cmd("ZADD", k, "1", "a")),
        ]
        for name, plant in hostile_records:
            key = f"gru4rec:session:{name}"

            def run(name=name, key=key, plant=plant):
                plant(key)
                g = t.call("GET", f"/v1/sessions/{name}/recommendations")
                r = t.call("POST", ev(name), {"item": item})
                r2 = t.call("POST", ev(name), {"item": item})
                ok = g.status == 200 and (g.json() or {}).get("session_found") is False and \
                    r.status == 200 and (r.json() or {}).get("created") is True and \
                    r2.status == 200 and (r2.json() or {}).get("session_events") == 2
                return f"GET {g.describe()} found {(g.json() or {}).get('session_found')}; POST " \
                       f"{r.describe()} created {(r.json() or {}).get('created')}; next " \
                       f"{(r2.json() or {}).get('session_events')} events", ok, r.dump()
            probe(G, name, "read as a new session (created), then kept", run)
        probe(G, "delete-session", "200", lambda: status_is(
            t.call("DELETE", "/v1/sessions/r1"), 200, jfield("deleted", True)))

        # Experiment counters with values gru4rec never wrote.
        key = "gru4rec:experiment:default:default"
        probe(G, "experiments-before", "200", lambda: status_is(
            t.call("GET", "/v1/experiments"), 200, jfield("counted_by", "every replica")))
        hostile = [
            ("hit1-above-measured", ["hit_1", "1000000"]),
            ("negative-count", ["degraded", "-5"]),
            ("count-overflow", ["degraded", "99999999999999999999"]),
            ("count-with-letters", ["degraded", "12abc"]),
            ("count-float", ["degraded", "1.5"]),
            ("count-empty", ["degraded", ""]),
            ("count-beyond-any-real", ["events", "18446744073709551615"]),
            ("sessions-above-events", ["sessions", "1000000000"]),
        ]
        for name, fields in hostile:
            def run(fields=fields):
                time.sleep(0.05)
                db.cmd("HSET", key, *fields)
                r = t.call("GET", "/v1/experiments", timeout=3)
                db.cmd("DEL", key)
                r2 = t.call("GET", "/v1/experiments")
                nums_ok = r2.status == 200 and all(
                    isinstance(v.get("events"), int) and v["events"] >= 0 and
                    0 <= v["hit_rate"]["value"] <= 1 for v in r2.json()["variants"])
                ok = r.status == 503 and not error_shape(r) and nums_ok
                return f"{r.describe()} ({r.message()[:70]}); after DEL {r2.describe()}", ok, \
                    r.dump()
            probe(G, f"experiment-{name}", "503, then 200 after DEL", run)

        def wrong_type():
            db.cmd("DEL", key)
            db.cmd("SET", key, "not a hash")
            r = t.call("GET", "/v1/experiments")
            db.cmd("DEL", key)
            r2 = t.call("GET", "/v1/experiments")
            return f"{r.describe()}, after DEL {r2.describe()}", r.status == 503 and \
                r2.status == 200
        probe(G, "experiment-key-wrong-type", "503, then 200 after DEL", wrong_type)

        # Redis frozen: answers from the request alone, quickly; cheap endpoints unaffected.
        t.call("POST", ev("frozen"), {"item": item})
        t.call("POST", ev("kept"), {"item": item})
        os.kill(redis.pid, signal.SIGSTOP)
        try:
            limit = store_timeout * 3 + 0.3
            probe(G, "frozen-events-degraded", f"200 degraded within {limit:.1f}s",
                  lambda: status_is(t.call("POST", ev("frozen"), {"item": item}), 200,
                                    jfield("degraded", True), n_recs(20), faster_than(limit)))
            probe(G, "frozen-events-new-session", f"200 degraded within {limit:.1f}s",
                  lambda: status_is(t.call("POST", ev("frozen-new"), {"items": ctx.items[:2]}),
                                    200, jfield("degraded", True), faster_than(limit)))
            probe(G, "frozen-recommendations", "200 degraded",
                  lambda: status_is(t.call("GET", "/v1/sessions/frozen/recommendations"), 200,
                                    jfield("degraded", True), faster_than(limit)))
            probe(G, "frozen-health-fast", "200 in < 0.25 s", lambda: status_is(
                t.call("GET", "/health"), 200, faster_than(0.25)))
            probe(G, "frozen-metrics-fast", "200 in < 0.25 s", lambda: status_is(
                t.call("GET", "/metrics"), 200, faster_than(0.25)))
            probe(G, "frozen-ready-fast", "200 in < 0.25 s", lambda: status_is(
                t.call("GET", "/ready"), 200, faster_than(0.25)))
            probe(G, "frozen-delete", f"503 within {limit:.1f}s", lambda: status_is(
                t.call("DELETE", "/v1/sessions/frozen"), 503, faster_than(limit)))
            probe(G, "frozen-kept-session-degraded", "200 degraded", lambda: status_is(
                t.call("POST", ev("kept"), {"item": item}), 200, jfield("degraded", True)))
            probe(G, "frozen-experiments", "503 within 1.5 s", lambda: status_is(
                t.call("GET", "/v1/experiments"), 503, faster_than(1.5)))

            def burst():
                res = []
                ths = [threading.Thread(target=lambda i=i: res.append(t.call(
                    "POST", ev(f"burst{i}"), {"item": item}))) for i in range(20)]
                start = time.monotonic()
                for th in ths:
                    th.start()
                for th in ths:
                    th.join(5)
                took = time.monotonic() - start
                deg = sum(1 for r in res if r.status == 200 and (r.json() or {}).get("degraded"))
                return f"{deg}/20 degraded 200 in {took:.2f}s", deg == 20 and took < 2.0
            probe(G, "frozen-burst-of-20", "20 degraded 200s within 2 s", burst)
            probe(G, "frozen-metrics-count-degraded", "gru4rec_degraded_total > 0", lambda: (
                lambda b: (re.search(r"gru4rec_degraded_total (\d+)", b).group(0),
                           int(re.search(r"gru4rec_degraded_total (\d+)", b).group(1)) > 0))(
                t.call("GET", "/metrics").body.decode()))
        finally:
            os.kill(redis.pid, signal.SIGCONT)

        thawed_at = time.monotonic()

        def thawed():
            # Each model thread's connection backs off after its failures (from 50 ms,
            # doubling): within a few seconds every one must be back.
            tries = 0
            while True:
                tries += 1
                res = []
                ths = [threading.Thread(target=lambda i=i: res.append(t.call(
                    "POST", ev(f"back{tries}-{i}"), {"item": item}))) for i in range(48)]
                for th in ths:
                    th.start()
                for th in ths:
                    th.join(5)
                normal = sum(1 for r in res if r.status == 200 and
                             (r.json() or {}).get("degraded") is False)
                took = time.monotonic() - thawed_at
                if normal == 48 or took > 3:
                    return f"48 concurrent requests all normal after {took:.2f}s" if normal == 48 \
                        else f"{normal}/48 normal after {took:.2f}s", normal == 48
                time.sleep(0.1)
        probe(G, "thawed-normal-answers", "48 concurrent requests all degraded false within 3 s",
              thawed)
        def kept():
            # A degraded answer leaves the store alone: asked again until one is not.
            deadline = time.monotonic() + 3
            while True:
                r = t.call("POST", ev("kept"), {"item": item})
                if (r.json() or {}).get("degraded") is not True or time.monotonic() > deadline:
                    return status_is(r, 200, jfield("degraded", False), jfield("created", False),
                                     jfield("session_events", 2))
                time.sleep(0.1)
        probe(G, "thawed-session-kept", "the session from before the freeze, 2 events", kept)

        def thawed_burst():
            # The connections of the model threads that timed out must not answer later
            # commands with the replies that Redis sent after SIGCONT.
            res = {}

            def one(i):
                res[i] = [t.call("POST", ev(f"thaw{i}"), {"items": ctx.items[:k]})
                          for k in (1, 2, 3)]
            ths = [threading.Thread(target=one, args=(i,)) for i in range(24)]
            for th in ths:
                th.start()
            for th in ths:
                th.join(10)
            bad, degraded = [], 0
            for i, rs in res.items():
                stored, want = 0, []
                for k, r in zip((1, 2, 3), rs):
                    if (r.json() or {}).get("degraded") is False:
                        stored += k
                        want.append(stored)
                    else:
                        degraded += 1
                        want.append(k)  # answered from the request alone
                counts = [(r.json() or {}).get("session_events") for r in rs]
                if [r.status for r in rs] != [200] * 3 or counts != want:
                    bad.append((i, [r.status for r in rs], counts, want))
            return f"{len(res) - len(bad)}/24 sessions consistent ({degraded} degraded answers)" \
                + (f"; wrong (got, expected): {bad[:3]}" if bad else ""), \
                not bad and len(res) == 24
        probe(G, "thawed-burst-consistent", "24 sessions, event counts as stored",
              thawed_burst)
        probe(G, "thawed-experiments", "200", lambda: status_is(
            t.call("GET", "/v1/experiments"), 200))
    finally:
        rc, took = s.stop()
    probe(G, "server-stops", "exit 0", lambda: (f"exit {rc} in {took:.2f}s", rc == 0))


# ---------------------------------------------------------------------------------------------
# Lifecycle


def g_lifecycle(ctx):
    G = "lifecycle"
    s = Server(ctx, ctx.model, args=["--idle-timeout", "30"], name="lifecycle", drain=0.8)
    t = s.public
    idle = Conn(s.port)
    idle.send(t.get("/health"))
    idle.read_response()
    start = time.monotonic()
    s.signal(signal.SIGTERM)
    time.sleep(0.15)
    # Not an error: /ready's documented answer while draining.
    probe(G, "draining-ready-503", "503 {ready: false}", lambda: status_is(
        t.call("GET", "/ready"), 503, jfield("ready", False), shape=False))
    probe(G, "draining-health-200", "200", lambda: status_is(t.call("GET", "/health"), 200))
    probe(G, "draining-events-200", "200", lambda: status_is(
        t.call("POST", "/v1/sessions/d/events", {"item": ctx.items[0]}), 200,
        header_is("Connection", "close")))

    def stopped():
        try:
            rc = s.proc.wait(5)
        except subprocess.TimeoutExpired:
            s.kill()
            rc = None
        took = time.monotonic() - start
        return f"exit {rc} in {took:.2f}s", rc == 0 and took < 2.5
    probe(G, "sigterm-stops", "exit 0 within 2.5 s", stopped)
    probe(G, "idle-connection-closed", "closed", lambda: (
        "closed" if idle.closed_within(0.5) else "open", True if idle.eof else False))
    idle.close()
    probe(G, "port-released", "connection refused", lambda: (
        lambda e: (e, e == "refused"))(_connect_result(s.port)))


def _connect_result(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return "accepted"
    except ConnectionRefusedError:
        return "refused"
    except OSError as e:
        return str(e)


# ---------------------------------------------------------------------------------------------

GROUPS = [
    ("basics", g_basics, ()),
    ("limits", g_limits, ()),
    ("framing", g_framing, ()),
    ("headers", g_headers, ()),
    ("cross-site", g_cross_site, ()),
    ("session-ids", g_session_ids, ()),
    ("query", g_query, ()),
    ("json", g_json, ()),
    ("pipelining", g_pipelining, ()),
    ("timeouts", g_timeouts, ()),
    ("connections", g_connections, ()),
    ("admin-auth", g_admin_auth, ()),
    ("admin", g_admin, ()),
    ("redis", g_redis, ("redis-server",)),
    ("training", g_training, ()),
    ("lifecycle", g_lifecycle, ()),
]


def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gru4rec", default="build/cli/gru4rec", help="the gru4rec binary")
    ap.add_argument("--group", action="append", help="run only this group (repeatable)")
    ap.add_argument("--verbose", action="store_true", help="print each request and answer")
    ap.add_argument("--list", action="store_true", help="list the groups and exit")
    args = ap.parse_args()
    VERBOSE = args.verbose
    if args.list:
        for name, _, needs in GROUPS:
            say(name + (f" (needs {', '.join(needs)})" if needs else ""))
        return 0
    names = [g[0] for g in GROUPS]
    for g in args.group or []:
        if g not in names:
            print(f"hostile_probes: no group {g!r}; groups: {', '.join(names)}", file=sys.stderr)
            return 2
    gru4rec = os.path.abspath(args.gru4rec)
    if not (os.path.isfile(gru4rec) and os.access(gru4rec, os.X_OK)):
        print(f"hostile_probes: {args.gru4rec} is not an executable (build gru4rec first)",
              file=sys.stderr)
        return 1 if os.environ.get("CI") else 77

    def on_alarm(signum, frame):
        say(f"hostile_probes: the run took over {RUN_LIMIT} s; stopping")
        kill_all()
        os._exit(1)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(RUN_LIMIT)
    signal.signal(signal.SIGTERM, lambda *a: (kill_all(), os._exit(1)))

    start = time.monotonic()
    group_times = {}
    counts_before = {}
    with tempfile.TemporaryDirectory(prefix="hostile-probes-") as tmp:
        ctx = None
        try:
            ctx = Context(gru4rec, tmp)
            for name, fn, needs in GROUPS:
                if args.group and name not in args.group:
                    continue
                missing = [n for n in needs if shutil.which(n) is None]
                if missing:
                    why = f"{', '.join(missing)} not found"
                    if os.environ.get("CI"):
                        RESULTS.add(name, "required-programs", "installed", why, False)
                    else:
                        say(f"SKIP  group {name}: {why} (set CI to make this a failure)")
                        RESULTS.skipped.append((name, why))
                    continue
                counts_before[name] = len(RESULTS.rows)
                t0 = time.monotonic()
                try:
                    fn(ctx)
                except Exception as e:  # noqa: BLE001 - a group that breaks is a FAIL
                    import traceback
                    RESULTS.add(name, "group-ran-to-the-end", "no exception", repr(e), False,
                                traceback.format_exc())
                group_times[name] = time.monotonic() - t0
        finally:
            if ctx is not None:
                for key, srv in ctx.servers.items():
                    rc, took = srv.stop()
                    if rc != 0 or took > 3.5:
                        RESULTS.add("lifecycle", f"stop-{key}", "exit 0 within 3.5 s",
                                    f"exit {rc} in {took:.2f}s", False)
            kill_all()
    total = time.monotonic() - start
    signal.alarm(0)

    say("\nSummary")
    by_group = {}
    for g, _, _, _, ok in RESULTS.rows:
        p, f = by_group.get(g, (0, 0))
        by_group[g] = (p + ok, f + (not ok))
    for g, (p, f) in by_group.items():
        took = group_times.get(g)
        say(f"  {g:<14} {p + f:>4} probes  {p:>4} passed  {f:>3} failed" +
              (f"  ({took:.1f} s)" if took is not None else ""))
    for g, why in RESULTS.skipped:
        say(f"  {g:<14} skipped: {why}")
    passed = sum(p for p, _ in by_group.values())
    failed = sum(f for _, f in by_group.values())
    say(f"  {'total':<14} {passed + failed:>4} probes  {passed:>4} passed  {failed:>3} failed"
          f"  ({total:.1f} s)")
    if failed:
        say("\nFailed:")
        for g, n, e, got, ok in RESULTS.failed():
            say(f"  {g}/{n}: expected {e}; got {got}")
        return 1
    if RESULTS.skipped:
        return 77
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        kill_all()

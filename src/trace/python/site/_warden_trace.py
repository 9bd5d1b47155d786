"""Warden's Python agent (docs/trace.md, "The Python agent"). Standard library only.

Started by Warden's `sitecustomize` before user code: it asks `warden run` for its settings
(`POST /configure`, blocking, as the seed's agent), installs an audit hook (`sys.addaudithook`:
the traced code cannot remove it) and reports it (`/ready`). Each hooked event is judged
before the operation goes on: the agent asks `warden run` (`POST /judge`, synchronous, on a
kept-alive loopback connection with the run's token), which judges with Warden's own policy
layer, the same code the Node agent runs, and remembers the answer in this process (paths per
read/write, forgotten when this process renames or removes a name and not used while a child
of it runs; hosts, URLs and function names). A block raises what the runtime would (EACCES,
ECONNREFUSED, ENOENT), naming Warden and the rule; a review holds the call on `POST /review`.
Events are batched (64 events or 50 ms) by a flusher thread that posts `/events`, `/child`
and, at exit after the last batch, `/shutdown` with the number of events sent.
"""

import atexit
import errno
import http.client
import json
import os
import sys
import threading
import time

ENV_URL = "WARDEN_TRACE_URL"
ENV_TOKEN = "WARDEN_TRACE_TOKEN"
ENV_AGENT = "WARDEN_TRACE_AGENT"

SITE = os.path.dirname(os.path.abspath(__file__))
REFUSED = 126
CONFIGURE_S = 60.0
SHUTDOWN_S = 10.0
MAX_UNACKED = 65536
MAX_BATCH = 8192
CACHE_MAX = 16384
# A folder's modules judged in one ask when it is listed (imports list a folder, then open its
# modules and their cached bytecode; importlib.metadata reads each *.dist-info/METADATA): at
# most this many paths per folder.
PREFETCH_MAX = 1024
MODULE_SUFFIXES = (".py", ".pyc", ".so", ".pth")
RANK = {"allow": 0, "suppress": 1, "display": 2, "warn": 3, "review": 4, "block": 5}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# The policy section that judges each kind of operation (src/trace/actions.ts, SECTION_OF):
# a kind whose section the policy lacks is not asked about.
SECTION_OF = {
    "read": "storage",
    "write": "storage",
    "connect": "network",
    "http": "network",
    "dns": "network",
    "exec": "commands",
    "dlopen": None,
}
ALLOW = {"verdict": "allow"}
DISPLAY = {"verdict": "display"}

_getpid = os.getpid
_monotonic_ns = time.monotonic_ns
# Threads inside the agent's own work (its HTTP, its path lookups) and the flusher thread:
# events they raise are the agent's, not the program's. Kept per thread (a depth), not as a set
# of thread idents: an ident is reused, and a program's thread that got the ident of a thread
# that was the agent's (the parent's flusher in a forked child, whose stack the child's first
# new thread takes; a flusher that ended) was taken for the agent and went unjudged.
_state = threading.local()


def _enter():
    _state.busy = getattr(_state, "busy", 0) + 1


def _leave():
    _state.busy -= 1


class AgentError(Exception):
    pass


def _because(j):
    rule, rule_id, reason = j.get("rule"), j.get("rule_id"), j.get("reason")
    if rule is not None:
        return f"blocked by Warden ({rule_id or 'rule'} at {rule})"
    if reason:
        return f"blocked by Warden: {reason}"
    return "blocked by Warden"


class _Conn:
    """One kept-alive HTTP/1.1 connection to warden run (one per thread)."""

    def __init__(self, host, port, token):
        self.host, self.port = host, port
        self.headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        self.c = None

    def post(self, path, body, timeout):
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        for attempt in (0, 1):
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
                elif self.c.sock is not None:
                    self.c.sock.settimeout(timeout)
                self.c.request("POST", path, data, self.headers)
                r = self.c.getresponse()
                text = r.read()
                if r.status != 200:
                    raise AgentError(f"warden run answered {r.status} to {path}: {text[:200]!r}")
                return json.loads(text) if text else {}
            except (OSError, http.client.HTTPException) as e:
                if self.c is not None:
                    self.c.close()
                self.c = None
                if attempt == 1:
                    raise AgentError(f"cannot reach warden run ({type(e).__name__}: {e})") from None
        return {}


class Agent:
    """The agent of one process (a forked child gets its own)."""

    def __init__(self, url, token, node_agent):
        self.url, self.token, self.node_agent = url, token, node_agent
        rest = url.split("://", 1)[-1].split("/", 1)[0]
        host, _, port = rest.rpartition(":")
        self.host, self.port = host, int(port)
        self.pid = _getpid()
        self.local = threading.local()
        self.cond = threading.Condition()
        self.queue = []
        self.sent = 0
        self.posted = 0
        self.urgent = False
        self.stopping = False
        self.closed = False
        self.exec_closed = False
        self.flusher = None
        self.fns = {}
        self.paths = ({}, {})  # read, write
        self.others = {}
        self.prefetched = set()
        self.spawned = False
        self.sections = frozenset()
        self.t0 = 0
        self.batch_s = 0.05
        self.batch_events = 64
        self.review_s = 60.0

    # --- the channel -------------------------------------------------------------------
    def conn(self):
        c = getattr(self.local, "c", None)
        if c is None:
            c = _Conn(self.host, self.port, self.token)
            self.local.c = c
        return c

    def configure(self):
        _enter()
        try:
            cfg = self.conn().post(
                "/configure",
                {
                    "pid": self.pid,
                    "ppid": os.getppid(),
                    "thread_id": 0,
                    "python_version": sys.version.split()[0],
                    "argv": [str(a) for a in getattr(sys, "orig_argv", sys.argv)],
                },
                CONFIGURE_S,
            )
            self.sections = frozenset(cfg.get("sections", []))
            self.t0 = int(cfg["t0"])
            self.batch_s = cfg.get("batch_ms", 50) / 1000
            self.batch_events = cfg.get("batch_events", 64)
            self.review_s = cfg.get("review_timeout_ms", 60000) / 1000
            # The verdicts on the functions the hooks report, asked once.
            names = sorted({n for ns in FUNCTION_NAMES.values() for n in ns})
            got = self.judge(names, None)
            for n, j in zip(names, got.get("fns", [])):
                self.fns[n] = j
        finally:
            _leave()
        self.flusher = threading.Thread(target=self.flush_loop, name="warden-trace-flusher", daemon=True)
        self.flusher.start()
        self.put(("ready", {"pid": self.pid, "thread_id": 0, "hooks_installed": sorted(HANDLERS)}))

    def judge(self, fns, op):
        body = {"pid": self.pid}
        if fns:
            body["fns"] = fns
        if op is not None:
            body["op"] = op
        return self.conn().post("/judge", body, CONFIGURE_S)

    def put(self, item):
        if self.closed:
            return
        with self.cond:
            self.queue.append(item)
            n = len(self.queue)
            if n == 1 or n >= self.batch_events:
                self.cond.notify()
            while len(self.queue) > MAX_UNACKED and not self.closed:
                self.cond.wait(1.0)

    def event(self, ev):
        if self.closed:
            return
        self.sent += 1
        self.put(("e", ev))
        # A block is posted before the call fails (the process may leave by os._exit next, as
        # a forked worker does, and its last batch would be lost).
        if ev[3]["verdict"] == "block":
            self.wait_posted(self.sent)

    def wait_posted(self, n):
        deadline = time.monotonic() + SHUTDOWN_S
        with self.cond:
            self.urgent = True
            self.cond.notify_all()
            while self.posted < n and not self.closed and self.flusher is not None and self.flusher.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self.cond.wait(min(left, 0.05))

    def flush_loop(self):
        _enter()  # for the thread's life
        c = _Conn(self.host, self.port, self.token)
        while True:
            with self.cond:
                while not self.queue and not self.stopping:
                    self.cond.wait()
                if self.queue and not self.stopping and len(self.queue) < self.batch_events and not self.urgent:
                    self.cond.wait(self.batch_s)
                self.urgent = False
                items = self.queue[: MAX_BATCH * 2]
                del self.queue[: len(items)]
                last = self.stopping and not self.queue
                self.cond.notify_all()
            self.post_items(c, items)
            with self.cond:
                self.posted += sum(1 for k, _ in items if k == "e")
                self.cond.notify_all()
            if last:
                try:
                    c.post("/shutdown", {"pid": self.pid, "thread_id": 0, "events_sent": self.sent}, SHUTDOWN_S)
                except AgentError:
                    pass
                return

    def post_items(self, c, items):
        batch = []
        for kind, body in items:
            if kind == "e":
                batch.append(event_json(self, body))
                if len(batch) >= MAX_BATCH:
                    self.post_events(c, batch)
                    batch = []
                continue
            if batch:
                self.post_events(c, batch)
                batch = []
            try:
                c.post("/" + kind, body, SHUTDOWN_S)
            except AgentError:
                pass
        if batch:
            self.post_events(c, batch)

    def post_events(self, c, batch):
        try:
            c.post("/events", ("[" + ",".join(batch) + "]").encode(), 600.0)
        except AgentError:
            pass  # counted by the CLI as lost (events_sent is more than it received)

    def close(self):
        """The last batch, then /shutdown after it: the CLI counts this agent out."""
        if self.closed or self.flusher is None:
            return
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        self.flusher.join(SHUTDOWN_S)
        self.closed = True

    # --- judging -----------------------------------------------------------------------
    def children_may_run(self):
        if not self.spawned:
            return False
        try:
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            return True
        except ChildProcessError:
            self.spawned = False
            return False
        except OSError:
            return True

    def op_judgement(self, op):
        kind = op["kind"]
        section = SECTION_OF.get(kind)
        if section is None or section not in self.sections:
            return DISPLAY if kind in ("exec", "dlopen") else ALLOW
        ident = None
        if kind == "read" or kind == "write":
            cache = self.paths[kind == "write"]
            key = op["target"]
            if not self.children_may_run():
                known = cache.get(key)
                if known is not None:
                    if _identity(key) == known[1]:
                        return known[0]
                    del cache[key]
            # What the path leads to before it is judged: a swap in between is judged again.
            ident = _identity(key)
            if ident is None:
                cache = None
        elif kind != "exec":
            cache = self.others
            key = (kind, op["target"], op.get("port"), op.get("method"))
            j = cache.get(key)
            if j is not None:
                return j
        else:
            cache = None
        try:
            j = self.judge(None, op).get("op") or ALLOW
        except AgentError as e:
            return {"verdict": "block", "reason": str(e)}
        if cache is not None:
            if len(cache) >= CACHE_MAX:
                cache.clear()
            cache[key] = j if ident is None else (j, ident)
        return j

    def prefetch(self, d):
        """Judge the modules of a folder being listed (an import looks there next) in one ask."""
        if "storage" not in self.sections or self.children_may_run():
            return
        cache = self.paths[0]
        want = [] if d in cache else [d]
        if d in self.prefetched or len(self.prefetched) > CACHE_MAX:
            subs = ()
        else:
            self.prefetched.add(d)
            subs = (d, d.rstrip("/") + "/__pycache__")
        for sub in subs:
            try:
                names = os.listdir(sub)
            except OSError:
                continue
            for n in names:
                if n.endswith(MODULE_SUFFIXES):
                    p = sub.rstrip("/") + "/" + n
                elif n.endswith(".dist-info"):  # what importlib.metadata reads of each
                    p = sub.rstrip("/") + "/" + n + "/METADATA"
                else:
                    continue
                if p not in cache:
                    want.append(p)
        want = want[:PREFETCH_MAX]
        if not want:
            return
        idents = [_identity(p) for p in want]
        try:
            got = self.conn().post("/judge", {"pid": self.pid, "ops": [{"kind": "read", "target": p} for p in want]}, CONFIGURE_S).get("ops", [])
        except AgentError:
            return
        if len(cache) + len(want) >= CACHE_MAX:
            cache.clear()
        for p, ident, j in zip(want, idents, got):
            if ident is not None:
                cache[p] = (j, ident)

    def forget(self):
        self.paths[0].clear()
        self.paths[1].clear()
        self.prefetched.clear()

    def review(self, ev):
        try:
            a = self.conn().post("/review", ("{\"event\":" + event_json(self, ev) + "}").encode(), self.review_s + 5)
        except AgentError:
            return "deny", "timeout"
        return a.get("decision", "deny"), a.get("why", "timeout")


def event_json(agent, ev):
    fn, module, target, j, t, extra, port, review = ev
    d = {
        "hook_type": "python",
        "event_type": "enter",
        "function": "py:" + fn,
        "module": module,
        "arguments": [{"index": 0, "display": target}]
        + [{"index": i + 1, "display": x} for i, x in enumerate(extra or ())],
        "timestamp_ns": t,
        "thread_id": 0,
        "pid": agent.pid,
        "target": target,
        "verdict": j["verdict"],
    }
    if port is not None:
        d["network_info"] = {"host": target, "port": port}
    if "rule" in j:
        d["rule"] = j["rule"]
    if "rule_id" in j:
        d["rule_id"] = j["rule_id"]
    if j["verdict"] != "allow" and "reason" in j:
        d["reason"] = j["reason"]
    if review is not None:
        d["review"] = review
    return json.dumps(d, ensure_ascii=False)


# --- the hooks -----------------------------------------------------------------------------

_agent = None


def _current():
    """This process's agent (a forked child configures its own on its first event)."""
    a = _agent
    if a is not None and a.pid != _getpid():
        a = _refork(a)
    return a


def _refork(parent):
    global _agent
    a = Agent(parent.url, parent.token, parent.node_agent)
    try:
        a.configure()
    except AgentError as e:
        _refuse(str(e))
    _agent = a
    return a


def _refuse(why):
    try:
        sys.stderr.write(f"warden: trace_agent_failed: {why}\n")
        sys.stderr.flush()
    finally:
        os._exit(REFUSED)


def _identity(p):
    """What a path leads to now, to check a remembered answer against: the file (links followed)
    as (device, inode, change time), or for a name not there its directory's; None: not to be
    remembered (a dangling link, which could be pointed elsewhere; an error). A symbolic link
    swapped anywhere on the path, by anyone, changes it."""
    try:
        st = os.stat(p)
        return (st.st_dev, st.st_ino, st.st_ctime_ns, False)
    except FileNotFoundError:
        pass
    except (OSError, ValueError):
        return None
    try:
        os.lstat(p)
        return None
    except FileNotFoundError:
        pass
    except (OSError, ValueError):
        return None
    try:
        d = os.stat(os.path.dirname(p) or "/")
    except (OSError, ValueError):
        return None
    return (d.st_dev, d.st_ino, d.st_ctime_ns, True)


class _Unknown(Exception):
    """A path, host or port the hook cannot tell as the call reads it: the call is refused."""


_FSENC, _FSERR = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
_str_data = str.__str__
_bytes_decode = bytes.decode
_bytearray_decode = bytearray.decode
_int_data = int.__index__
_DirEntry = os.DirEntry
_PATHLIB = ("PurePath", "PurePosixPath", "PureWindowsPath", "Path", "PosixPath", "WindowsPath")


def _exact(x):
    """A str, bytes or bytearray (or a subclass of one) as the exact str its data spells, read
    the way the C call reads it: a subclass's own methods (`decode`, `__str__`, `startswith`,
    `__hash__`, `__radd__`) are never called, so they cannot show the hook another path or host
    than the one the call uses. None for anything else."""
    t = type(x)
    if issubclass(t, str):
        return _str_data(x)
    if issubclass(t, bytes):
        return _bytes_decode(x, _FSENC, _FSERR)
    if issubclass(t, bytearray):
        return _bytearray_decode(x, _FSENC, _FSERR)
    return None


def _stable_pathlike(t):
    """os.DirEntry and pathlib's own classes (not subclasses): their __fspath__ answers the same
    each time. Compared by identity (a metaclass's __eq__ cannot pass another class off)."""
    if t is _DirEntry:
        return True
    m = sys.modules.get("pathlib")
    return m is not None and any(t is getattr(m, n, None) for n in _PATHLIB)


def _fspath(p):
    """The path a call was given, as an exact str. A path-like object of another type is refused
    (_Unknown): the call asked its __fspath__ already and a second ask may answer differently."""
    s = _exact(p)
    if s is not None:
        return s
    t = type(p)
    if _stable_pathlike(t):
        s = _exact(os.fspath(p))
        if s is not None:
            return s
    raise _Unknown(
        f"a path given as a {t.__name__} object: Warden cannot tell which file the call opens "
        "(its __fspath__ may answer the call and the check differently); pass a str, bytes or pathlib path"
    )


def _fd_path(fd):
    try:
        return os.readlink(f"/proc/self/fd/{_int_data(fd)}")
    except OSError:
        raise _Unknown(f"descriptor {_int_data(fd)}: Warden cannot tell which file it names (/proc/self/fd)") from None


def _path(p, dir_fd=None):
    """The absolute path a call names (relative to the working directory or to dir_fd)."""
    if p is None:
        p = "."
    if issubclass(type(p), int):
        return _fd_path(p)
    p = _fspath(p)
    if p.startswith("/"):
        return p
    base = None
    if dir_fd is not None and dir_fd != -1:
        base = _fd_path(dir_fd)
    else:
        try:
            base = os.getcwd()
        except OSError:
            return p
    return base.rstrip("/") + "/" + p if p else base


def _text(x):
    s = _exact(x)
    if s is not None:
        return s
    if isinstance(x, os.PathLike):
        return _fspath(x)
    return str(x)


def _which(name, env):
    """The program execvp would run for `name` (as given when not found)."""
    if "/" in name:
        return name if name.startswith("/") else _path(name)
    path = None
    if env is not None:
        try:
            path = env.get("PATH", env.get(b"PATH"))
        except Exception:
            path = None
    if path is None:
        path = os.environ.get("PATH", os.defpath)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    for d in path.split(os.pathsep):
        p = os.path.join(d or ".", name)
        if os.access(p, os.X_OK) and not os.path.isdir(p):
            return p if p.startswith("/") else _path(p)
    return name


def _stricter(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return b if RANK[b["verdict"]] > RANK[a["verdict"]] else a


def _judge_call(agent, event, op, target, extra=None, port=None):
    """Judge one hooked call and record it; returns the judgement (verdict `block`: fail it)."""
    fj = None
    for n in FUNCTION_NAMES[event]:
        j = agent.fns.get(n)
        if j is not None and ("rule" in j or j["verdict"] != "allow"):
            fj = _stricter(fj, j)
    oj = agent.op_judgement(op) if op is not None else None
    j = _stricter(oj, fj)
    if j is None:
        return ALLOW
    ev = [event, MODULE_OF.get(event) or event.split(".", 1)[0], target, j, _monotonic_ns() - agent.t0, extra, port, None]
    if j["verdict"] == "review":
        decision, why = agent.review(tuple(ev))
        ev[7] = why
        agent.event(tuple(ev))
        return ALLOW if decision == "allow" else dict(j, verdict="block")
    agent.event(tuple(ev))
    return j


def _file(agent, event, write, raw, dir_fd=None):
    p = _path(raw, dir_fd)
    if p is None:
        return
    j = _judge_call(agent, event, {"kind": "write" if write else "read", "target": p}, p)
    if j["verdict"] == "block":
        raise PermissionError(errno.EACCES, f"Permission denied ({_because(j)})", p)


def on_open(agent, a):
    path, mode, flags = a[0], a[1], a[2]
    if isinstance(path, int) or path is None:
        return
    write = bool(flags & WRITE_FLAGS) if isinstance(flags, int) else False
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        write = True
    _file(agent, "open", write, path)


# Where each event carries its dir_fd (a relative path is relative to that folder).
DIR_FD_AT = {"os.remove": 1, "os.rmdir": 1, "os.mkdir": 2, "os.chmod": 2, "os.chown": 3, "os.utime": 3, "shutil.rmtree": 1}


def _write1(event):
    at = DIR_FD_AT.get(event)

    def h(agent, a):
        fd = a[at] if at is not None and len(a) > at and isinstance(a[at], int) else None
        _file(agent, event, True, a[0], fd)
        if event in FORGETS:
            agent.forget()

    return h


def _read1(event):
    def h(agent, a):
        p = _path(a[0] if a else None)
        if p is not None:
            agent.prefetch(p)  # the folder itself and its modules, in one ask
        _file(agent, event, False, p)

    return h


def on_rename(agent, a):
    src, dst, sfd, dfd = (list(a) + [None] * 4)[:4]
    _file(agent, "os.rename", True, src, sfd)
    _file(agent, "os.rename", True, dst, dfd)
    agent.forget()


def on_link(agent, a):
    src, dst = a[0], a[1]
    sfd = a[2] if len(a) > 2 and isinstance(a[2], int) else None
    dfd = a[3] if len(a) > 3 and isinstance(a[3], int) else None
    _file(agent, "os.link", False, src, sfd)
    _file(agent, "os.link", True, dst, dfd)
    agent.forget()


def on_symlink(agent, a):
    dfd = a[2] if len(a) > 2 and isinstance(a[2], int) else None
    _file(agent, "os.symlink", True, a[1], dfd)
    agent.forget()


def on_two_paths(event):
    def h(agent, a):
        _file(agent, event, False, a[0])
        _file(agent, event, True, a[1])
        if event == "shutil.move":
            agent.forget()

    return h


def _connect_target(address):
    if isinstance(address, tuple) and len(address) >= 2:
        port = address[1]
        if issubclass(type(port), int):
            return _text(address[0]), _int_data(port)
        if hasattr(type(port), "__index__"):
            # The call takes the port from __index__, which may answer the hook differently.
            raise _Unknown(f"a port given as a {type(port).__name__} object; pass an int")
        return _text(address[0]), None
    return None, None


def on_connect(event):
    def h(agent, a):
        address = a[1]
        exact = _exact(address)
        if exact is not None:
            address = exact
        if isinstance(address, (str, bytes)) and not (isinstance(address, str) and address.startswith("\0")):
            # A Unix socket: the file it names (docker.sock), judged as a write.
            _file(agent, event, True, address)
            return
        host, port = _connect_target(address)
        if host is None:
            return
        j = _judge_call(agent, event, {"kind": "connect", "target": host, **({"port": port} if port is not None else {})}, host, port=port)
        if j["verdict"] == "block":
            where = host if port is None else f"{host}:{port}"
            raise ConnectionRefusedError(errno.ECONNREFUSED, f"Connection refused: {where} ({_because(j)})")

    return h


def on_lookup(event):
    def h(agent, a):
        host = a[0]
        if host is None:
            return
        host = _text(host)
        j = _judge_call(agent, event, {"kind": "dns", "target": host}, host)
        if j["verdict"] == "block":
            import socket

            raise socket.gaierror(socket.EAI_NONAME, f"Name or service not known: {host} ({_because(j)})")

    return h


def on_urllib(agent, a):
    url, method = _text(a[0]), _text(a[3]) if len(a) > 3 and a[3] else "GET"
    j = _judge_call(agent, "urllib.Request", {"kind": "http", "target": url, "method": method.upper()}, url, [method])
    if j["verdict"] == "block":
        import urllib.error

        raise urllib.error.URLError(ConnectionRefusedError(errno.ECONNREFUSED, f"Connection refused: {url} ({_because(j)})"))


def _restore_env(agent, env):
    """Put the trace back into a child's environment (a dict: in place); True when changed."""
    if env is None:
        env = os.environ
    changed = False
    try:
        b = isinstance(next(iter(env), ""), bytes)
    except Exception:
        return False

    def get(k):
        return env.get(k.encode() if b else k)

    def put(k, v):
        env[k.encode() if b else k] = v.encode() if b else v

    for k, v in ((ENV_URL, agent.url), (ENV_TOKEN, agent.token)):
        if _text(get(k) or "") != v:
            put(k, v)
            changed = True
    pp = _text(get("PYTHONPATH") or "")
    parts = pp.split(os.pathsep) if pp else []
    if not parts or parts[0] != SITE:
        put("PYTHONPATH", os.pathsep.join([SITE] + [x for x in parts if x != SITE]))
        changed = True
    if agent.node_agent:
        if _text(get(ENV_AGENT) or "") != agent.node_agent:
            put(ENV_AGENT, agent.node_agent)
            changed = True
        flag = "--require " + json.dumps(agent.node_agent, ensure_ascii=False)
        no = _text(get("NODE_OPTIONS") or "")
        if flag not in no:
            put("NODE_OPTIONS", flag if not no.strip() else f"{flag} {no}")
            changed = True
    return changed


def _spawn(agent, event, exe, argv, env, restore=True):
    path = _which(exe, env if hasattr(env, "get") else None)
    j = _judge_call(agent, event, {"kind": "exec", "target": path, "argv": argv}, path, argv)
    if j["verdict"] == "block":
        raise FileNotFoundError(errno.ENOENT, f"No such file or directory ({_because(j)})", exe)
    restored = _restore_env(agent, env) if restore and (env is None or isinstance(env, dict) or env is os.environ) else False
    agent.spawned = True
    agent.put(("child", {"parent_pid": agent.pid, "child_pid": 0, "path": path, "argv": argv, "env_restored": restored}))
    return restored


def _argv(args):
    if isinstance(args, (str, bytes, os.PathLike)):
        return [_text(args)]
    try:
        return [_text(x) for x in args]
    except TypeError:
        return [_text(args)]


def on_popen(agent, a):
    exe, args, cwd, env = a[0], a[1], a[2], a[3]
    argv = _argv(args)
    exe = _text(exe) if exe is not None else (argv[0] if argv else "")
    if "/" in exe and not exe.startswith("/") and cwd is not None:
        exe = _text(cwd).rstrip("/") + "/" + exe
    _spawn(agent, "subprocess.Popen", exe, argv, env)
    # subprocess then calls _posixsubprocess.fork_exec (wrapped, _wrap_fork_exec): that one
    # exec, of this program with this argv, was judged here.
    _state.popen = (_which(exe, env if hasattr(env, "get") else None), argv)


def on_system(agent, a):
    cmd = _text(a[0])
    _spawn(agent, "os.system", "/bin/sh", ["sh", "-c", cmd], None)


def on_exec(agent, a):
    path, args, env = a[0], a[1], a[2] if len(a) > 2 else None
    # os.execve reads its env before this event: a copy with the trace put back, exec'd here.
    mine = None if env is None else dict(env)
    restored = _spawn(agent, "os.exec", _text(path), _argv(args), mine)
    # The image is replaced: the last batch and /shutdown go now (a failed exec configures anew).
    agent.close()
    agent.exec_closed = True
    if restored and mine is not None:
        os.execve(path, args, mine)  # does not return; its error is the caller's


def on_posix_spawn(agent, a):
    # Its env was read before this event: os.posix_spawn and os.posix_spawnp are wrapped
    # (_wrap_posix_spawn) to put the trace back into a copy before they read it.
    path, args, env = a[0], a[1], a[2] if len(a) > 2 else None
    _spawn(agent, "os.posix_spawn", _text(path), _argv(args), env, restore=False)


def _wrap_posix_spawn():
    """os.posix_spawn(p) read their `env` before the audit event: wrap them (in `os` and `posix`)
    so that a child whose env dropped the trace gets it back in a copy, as subprocess.Popen's
    and os.execve's children do. The audit hook still judges and reports each spawn."""
    try:
        import posix
    except ImportError:
        return
    for name in ("posix_spawn", "posix_spawnp"):
        orig = getattr(posix, name, None)
        if orig is None:
            continue

        def wrapped(path, argv, env, *args, _orig=orig, **kw):
            a = _current()
            if a is not None and "file_actions" in kw and not getattr(_state, "busy", 0):
                _spawn_opens(a, kw["file_actions"])
            if a is not None and env is not None and hasattr(env, "keys"):
                try:
                    mine = dict(env)
                    _restore_env(a, mine)
                    env = mine
                except Exception:
                    pass
            return _orig(path, argv, env, *args, **kw)

        wrapped.__name__ = wrapped.__qualname__ = name
        wrapped.__doc__ = orig.__doc__
        wrapped.__module__ = orig.__module__
        setattr(posix, name, wrapped)
        if getattr(os, name, None) is orig:
            setattr(os, name, wrapped)


def _spawn_opens(agent, actions):
    """os.posix_spawn's file_actions: each POSIX_SPAWN_OPEN opens a path in the child before it
    runs the program (`cat` with its stdin opened on a denied file read it). Judged as the opens
    they are, before the spawn; a list Warden cannot read is refused (fail closed)."""
    if actions is None:
        return
    _enter()
    try:
        for act in list(actions):
            if not isinstance(act, tuple) or not act or act[0] != os.POSIX_SPAWN_OPEN:
                continue
            if len(act) != 5 or not isinstance(act[3], int):
                raise _Unknown("os.posix_spawn file_actions: an open action Warden cannot read")
            _file(agent, "open", bool(act[3] & WRITE_FLAGS), act[2])
    except _Unknown as e:
        j = {"verdict": "block", "reason": str(e)}
        agent.event(("open", "builtins", "<unknown>", j, _monotonic_ns() - agent.t0, None, None, None))
        raise PermissionError(errno.EACCES, f"Permission denied ({_because(j)})") from None
    finally:
        _leave()


def _first_executable(paths, cwd):
    """The entry of fork_exec's executable_list it will exec: the first that is an executable
    file (it tries each in turn, as execvp does)."""
    first = None
    for x in paths:
        p = _text(x)
        if not p.startswith("/"):
            p = (_text(cwd).rstrip("/") + "/" + p) if cwd is not None else _path(p)
        if first is None:
            first = p
        if os.access(p, os.X_OK) and not os.path.isdir(p):
            return p
    return first if first is not None else ""


def _wrap_fork_exec():
    """_posixsubprocess.fork_exec raises no audit event of its own (subprocess.Popen raises one
    before it calls it): a program calling it directly ran any command unjudged and unreported,
    its child given whatever environment it chose. Wrapped in the module: judged as an exec (the
    first entry of its executable_list that can run) with its argv, and the trace put back into
    its env list. The one call subprocess.Popen makes right after its own judged event (the same
    program and argv, in the same thread) is not judged twice."""
    try:
        import _posixsubprocess as ps
    except ImportError:
        return
    orig = getattr(ps, "fork_exec", None)
    if orig is None:
        return

    def fork_exec(*args, _orig=orig):
        a = _current()
        if a is None or getattr(_state, "busy", 0) or len(args) < 6:
            return _orig(*args)
        if a.closed:
            a = _reopen(a)
        judged, _state.popen = getattr(_state, "popen", None), None
        _enter()
        try:
            argv = _argv(args[0]) if args[0] is not None else []
            exe = _first_executable(args[1] or (), args[4])
            if judged != (exe, argv):
                j = _judge_call(a, "subprocess.Popen", {"kind": "exec", "target": exe, "argv": argv}, exe, argv)
                if j["verdict"] == "block":
                    raise FileNotFoundError(errno.ENOENT, f"No such file or directory ({_because(j)})", exe)
                a.spawned = True
                a.put(("child", {"parent_pid": a.pid, "child_pid": 0, "path": exe, "argv": argv, "env_restored": False}))
            env = args[5]
            if env is not None:
                d = {}
                for kv in env:
                    k, _, v = bytes(kv).partition(b"=")
                    d[k] = v
                if _restore_env(a, d):
                    args = args[:5] + ([k + b"=" + v for k, v in d.items()],) + args[6:]
        finally:
            _leave()
        return _orig(*args)

    fork_exec.__name__ = fork_exec.__qualname__ = "fork_exec"
    fork_exec.__doc__ = orig.__doc__
    fork_exec.__module__ = getattr(orig, "__module__", "_posixsubprocess")
    ps.fork_exec = fork_exec


def _sqlite_paths(db):
    """The files sqlite3.connect opens for `database` (its audit event carries only that, not
    `uri=`): the name as a path, and, for a `file:` name, the path of the URI too (the stricter
    answer holds). None for a database in memory. Read-only (`mode=ro`) opens are reads."""
    if db is None:
        return []
    name = _text(db)
    if name in ("", ":memory:"):
        return []
    out = [(name, True)]
    if name.startswith("file:"):
        from urllib.parse import parse_qs, unquote, urlsplit

        u = urlsplit(name)
        q = parse_qs(u.query)
        mode = (q.get("mode") or ["rwc"])[-1]
        if mode == "memory" or (u.path in ("", ":memory:") and not u.netloc):
            return out
        out.append((unquote(u.path), mode != "ro"))
    return out


def on_sqlite(agent, a):
    """sqlite3.connect opens the database file itself (C, no `open` audit event): a denied file
    was read and written through SQL. Judged as a read, and a write unless read-only."""
    for p, write in _sqlite_paths(a[0] if a else None):
        _file(agent, "sqlite3.connect", False, p)
        if write:
            _file(agent, "sqlite3.connect", True, p)


def on_dlopen(agent, a):
    name = _text(a[0]) if a and a[0] is not None else "<main program>"
    # The library is a file the loader reads (and runs): a read of it, where the name is a path
    # (dlopen searches the system's library folders for a bare name).
    if a and a[0] is not None and "/" in name:
        _file(agent, "ctypes.dlopen", False, name)
    j = _judge_call(agent, "ctypes.dlopen", {"kind": "dlopen", "target": name}, name)
    if j["verdict"] == "block":
        raise PermissionError(errno.EACCES, f"Permission denied ({_because(j)})", name)


def on_named(event):
    def h(agent, a):
        target = _text(a[0])[:200] if a else event
        j = _judge_call(agent, event, None, target)
        if j["verdict"] == "block":
            raise PermissionError(errno.EACCES, f"{event}: permission denied ({_because(j)})")

    return h


def on_subinterpreter(agent, a):
    """A new interpreter (`_xxsubinterpreters`, `_interpreters`, `concurrent.interpreters`) has
    its own audit hooks: this agent's do not run there, and its own cannot start (no threads in
    an isolated subinterpreter), so its code would run unjudged. Refused (the creating
    interpreter raises this event)."""
    j = {
        "verdict": "block",
        "reason": "a subinterpreter runs without Warden's audit hook (each interpreter has its own); refused",
    }
    agent.event(("cpython.PyInterpreterState_New", "cpython", "subinterpreter", j, _monotonic_ns() - agent.t0, None, None, None))
    raise PermissionError(errno.EACCES, f"Permission denied ({_because(j)})")


FORGETS = {"os.remove", "os.rmdir", "shutil.rmtree"}
HANDLERS = {
    "open": on_open,
    "os.remove": _write1("os.remove"),
    "os.rmdir": _write1("os.rmdir"),
    "os.mkdir": _write1("os.mkdir"),
    "os.chmod": _write1("os.chmod"),
    "os.chown": _write1("os.chown"),
    "os.truncate": _write1("os.truncate"),
    "os.utime": _write1("os.utime"),
    "shutil.rmtree": _write1("shutil.rmtree"),
    "os.listdir": _read1("os.listdir"),
    "os.scandir": _read1("os.scandir"),
    "os.rename": on_rename,
    "os.link": on_link,
    "os.symlink": on_symlink,
    "shutil.copyfile": on_two_paths("shutil.copyfile"),
    "shutil.copytree": on_two_paths("shutil.copytree"),
    "shutil.move": on_two_paths("shutil.move"),
    "socket.connect": on_connect("socket.connect"),
    "socket.sendto": on_connect("socket.sendto"),
    "socket.getaddrinfo": on_lookup("socket.getaddrinfo"),
    "socket.gethostbyname": on_lookup("socket.gethostbyname"),
    "socket.gethostbyname_ex": on_lookup("socket.gethostbyname_ex"),
    "urllib.Request": on_urllib,
    "subprocess.Popen": on_popen,
    "os.system": on_system,
    "os.exec": on_exec,
    "os.posix_spawn": on_posix_spawn,
    "ctypes.dlopen": on_dlopen,
    "sqlite3.connect": on_sqlite,
    "compile": on_named("compile"),
    "exec": on_named("exec"),
    "os.fork": on_named("os.fork"),
    "os.forkpty": on_named("os.forkpty"),
    "os.kill": on_named("os.kill"),
    "webbrowser.open": on_named("webbrowser.open"),
    "cpython.PyInterpreterState_New": on_subinterpreter,
}
MODULE_OF = {"open": "builtins", "compile": "builtins", "exec": "builtins"}
# The names a `python` policy section may use for each event (the strictest rule wins).
FUNCTION_NAMES = {e: (e,) for e in HANDLERS}
FUNCTION_NAMES.update(
    {
        "open": ("open", "builtins.open", "io.open"),
        "compile": ("compile", "builtins.compile"),
        "exec": ("exec", "builtins.exec"),
        "ctypes.dlopen": ("ctypes.dlopen", "ctypes.CDLL", "ctypes.cdll.LoadLibrary"),
        "os.remove": ("os.remove", "os.unlink"),
        "os.rename": ("os.rename", "os.replace"),
    }
)


def _hook(event, args):
    h = HANDLERS.get(event)
    if h is None:
        return
    if getattr(_state, "busy", 0):
        return
    a = _current()
    if a is None:
        return
    if a.closed:
        a = _reopen(a)
    _enter()
    try:
        h(a, args)
    except _Unknown as e:
        # Fail closed: what the call would touch cannot be told; refused and recorded.
        j = {"verdict": "block", "reason": str(e)}
        a.event((event, MODULE_OF.get(event) or event.split(".", 1)[0], "<unknown>", j, _monotonic_ns() - a.t0, None, None, None))
        raise PermissionError(errno.EACCES, f"Permission denied ({_because(j)})") from None
    finally:
        _leave()


def _reopen(closed):
    """After an exec that failed (or any event after exit): a new agent for this process."""
    global _agent
    if closed.exec_closed and not sys.is_finalizing():
        _agent = None
        n = Agent(closed.url, closed.token, closed.node_agent)
        try:
            n.configure()
        except AgentError:
            return closed
        _agent = n
        return n
    return closed


def _exit():
    a = _agent
    if a is not None and a.pid == _getpid():
        a.stopping = True
        a.close()


def start():
    global _agent
    url, token = os.environ.get(ENV_URL), os.environ.get(ENV_TOKEN)
    if not url or not token or _agent is not None:
        return
    a = Agent(url, token, os.environ.get(ENV_AGENT, ""))
    try:
        a.configure()
    except (AgentError, KeyError, ValueError) as e:
        _refuse(f"cannot reach warden run at {url} ({e})")
    _agent = a
    atexit.register(_exit)
    _wrap_posix_spawn()
    _wrap_fork_exec()
    sys.addaudithook(_hook)

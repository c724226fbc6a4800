"""End-to-end test harness: runs the real ivrd on loopback with a generated configuration,
drives it with real SIP peers (SIPp, baresip), and reads its real SQLite journal.

Every test gets its own directory, ports chosen by the OS, and prompts generated as short
tones so menus move quickly. Waits are on log lines and journal rows, never bare sleeps.
"""
import math
import os
import random
import re
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "data")
SIPP_DIR = os.path.join(DATA, "sipp")
DTMF_PCAP = "/usr/share/sip-tester/dtmf_2833_{}.pcap"


def dtmf_pcap(key):
    name = {"*": "star", "#": "pound"}.get(key, key)
    return DTMF_PCAP.format(name)


def free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def free_port_all():
    """A port free for UDP and TCP on 127.0.0.1 and ::1."""
    for _ in range(200):
        p = free_port(socket.SOCK_STREAM)
        socks = []
        try:
            for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(fam, kind)
                    socks.append(s)
                    s.bind((host, p))
            return p
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port")


def _bindable(ports):
    socks = []
    try:
        for q in ports:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(s)
            s.bind(("127.0.0.1", q))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


# Media ports are chosen below the kernel's ephemeral range (32768 up), where no socket of a
# test running alongside can be handed them meanwhile: peers' media in 10000-19999, ivrd's
# RTP ranges (RTP and RTCP, 100 ports each) in 20000-32699.
_rnd = random.Random()


def free_even_pair():
    """An even port whose +1, +2 and +3 are also free (SIPp's media port uses neighbours)."""
    for _ in range(500):
        p = _rnd.randrange(10000, 19996, 2)
        if _bindable(range(p, p + 4)):
            return p
    raise RuntimeError("no free port pair")


def free_rtp_block():
    """The first port of 100 for an ivrd's rtp.ports."""
    for _ in range(500):
        p = _rnd.randrange(20000, 32700, 100)
        if _bindable(range(p, p + 100, 7)):
            return p
    raise RuntimeError("no free RTP port block")


def write_tone(path, ms, freq=440, rate=8000):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    n = rate * ms // 1000
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate)))
            for i in range(n)))


PROMPTS = ["main/greeting", "main/short", "sales/greeting", "sales/short", "common/invalid",
           "common/no-input", "common/transferring", "common/closed", "common/unavailable",
           "common/goodbye", "account/enter", "account/short", "dir/greeting", "dir/choice",
           "dir/billing", "dir/sales", "dir/support"]


def menus_conf(timeout=1.0, max_failures=3, max_timeouts=3):
    return f"""
menus = {{
  main = {{
    greeting = "main/greeting"; short = "main/short";
    timeout = {timeout}; max_failures = {max_failures}; max_timeouts = {max_timeouts};
    options = (
      {{ key = "1"; action = "menu:sales"; }},
      {{ key = "2"; action = "dept:billing"; }},
      {{ key = "3"; action = "dept:closed"; }},
      {{ key = "#"; action = "repeat"; }}
    );
  }};
  sales = {{
    greeting = "sales/greeting"; short = "sales/short"; timeout = {timeout};
    options = ( {{ key = "1"; action = "dept:sales"; }}, {{ key = "*"; action = "back"; }} );
  }};
}};
"""


class Ivrd:
    """The daemon under test."""

    def __init__(self, name, menus=None, depts=None, extra_ivrd="", prompt_ms=300,
                 answer_delay=0, operator_port=None, target_port=None, numbers=None,
                 listen=None, extra_sip="", rtp_address="127.0.0.1", extra_rtp=""):
        """listen: transports as "tcp:127.0.0.1", "udp:[::1]" ..., all on sip_port
        (default: UDP on 127.0.0.1 only)."""
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=f"ivrd-{name}-")
        self.sip_port = free_port() if listen is None else free_port_all()
        self.http_port = free_port(socket.SOCK_STREAM)
        self.rtp_base = free_rtp_block()
        self.target_port = target_port or free_port()
        self.operator_port = operator_port or self.target_port
        self.prompts = os.path.join(self.dir, "prompts")
        for p in PROMPTS:
            write_tone(os.path.join(self.prompts, "en", p + ".wav"), prompt_ms)
        self.state = os.path.join(self.dir, "state")
        self.conf = os.path.join(self.dir, "ivrd.conf")
        if depts is None:
            depts = f"""
departments = {{
  billing = {{ targets = ["sip:billing@127.0.0.1:{self.target_port}"]; hours = ["always"];
              transfer_timeout = 5; }};
  sales = {{ targets = ["sip:sales@127.0.0.1:{self.target_port}"]; hours = ["always"]; }};
  closed = {{ targets = ["sip:closed@127.0.0.1:{self.target_port}"]; hours = ["never"]; }};
  operator = {{ targets = ["sip:operator@127.0.0.1:{self.operator_port}"]; hours = ["always"]; }};
}};
"""
        if numbers is None:
            numbers = 'numbers = ( { dnis = "18005550100"; menu = "main"; } );'
        listen_list = ", ".join(f'"{a}:{self.sip_port}"'
                                for a in (listen or ["udp:127.0.0.1"]))
        with open(self.conf, "w") as f:
            f.write(f"""
ivrd: {{
  state_dir = "{self.state}";
  control_socket = "{self.dir}/ivrd.sock";
  prompts_dir = "{self.prompts}";
  http_listen = "127.0.0.1:{self.http_port}";
  {extra_ivrd}
  sip: {{ listen = [{listen_list}]; answer_delay = {answer_delay}; {extra_sip} }};
  rtp: {{ address = "{rtp_address}"; ports = [{self.rtp_base}, {self.rtp_base + 99}];
          {extra_rtp} }};
}};
{numbers}
{depts}
{menus if menus is not None else menus_conf()}
""")
        self.proc = None
        self.lines = []
        self.ended = None
        self.cond = threading.Condition()

    @property
    def journal(self):
        return os.path.join(self.state, "journal.db")

    def start(self, *args, env=None):
        """env: variables added to the test's own environment (NOTIFY_SOCKET ...)."""
        binary = os.environ["IVRD"]
        with self.cond:
            mark = len(self.lines)  # a restart waits for its own "ready:"
        self.proc = subprocess.Popen([binary, "-c", self.conf, *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     env=dict(os.environ, **env) if env else None)
        threading.Thread(target=self._reader, args=(self.proc,), daemon=True).start()
        self.wait_log(r"ready:", 15, start=mark)
        return self

    def _reader(self, proc):
        for line in proc.stderr:
            sys.stderr.write(f"[ivrd] {line}")
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.ended = proc  # a killed daemon's reader may finish after a restart
            self.cond.notify_all()

    def wait_log(self, pattern, timeout=10, start=0):
        """Waits for a log line matching pattern; returns it."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines[start:]:
                    if rx.search(line):
                        return line
                left = end - time.monotonic()
                # the daemon has exited and every line it wrote has been read
                if left <= 0 or (self.ended is not None and self.ended is self.proc):
                    raise AssertionError(f"no log line /{pattern}/ within {timeout} s")
                self.cond.wait(min(left, 0.2))

    def rows(self, sql="SELECT * FROM events ORDER BY id", args=()):
        if not os.path.exists(self.journal):
            return []
        con = sqlite3.connect(f"file:{self.journal}?mode=ro", uri=True, timeout=5)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(sql, args)]
        finally:
            con.close()

    def events(self, call_id=None):
        if call_id is None:
            return self.rows()
        return self.rows("SELECT * FROM events WHERE call_id = ? ORDER BY id", (call_id,))

    def wait_event(self, event, timeout=10, **match):
        """Waits for a journal row with this event type and column values."""
        end = time.monotonic() + timeout
        while True:
            for r in self.rows("SELECT * FROM events WHERE event = ? ORDER BY id", (event,)):
                if all(r.get(k) == v for k, v in match.items()):
                    return r
            if time.monotonic() > end:
                raise AssertionError(f"no journal row {event} {match} within {timeout} s; "
                                     f"journal: {[(r['event'], r['menu'], r['dept'], r['result']) for r in self.rows()]}")
            time.sleep(0.05)

    def stop(self):
        """SIGTERM; the daemon must exit 0 and sanitizers must have nothing to say."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("ivrd did not stop within 15 s of SIGTERM")
        time.sleep(0.05)
        with self.cond:
            text = "\n".join(self.lines)
        assert "ERROR: AddressSanitizer" not in text, "AddressSanitizer report"
        assert "runtime error:" not in text, "UndefinedBehaviorSanitizer report"
        assert "LeakSanitizer" not in text, "LeakSanitizer report"
        assert rc == 0, f"ivrd exited with {rc}"
        self.proc = None

    def kill9(self):
        self.proc.kill()
        self.proc.wait(10)
        self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            if exc[0] is None:
                self.stop()
            else:
                self.proc.kill()
                self.proc.wait(5)


def sipp(ivrd, scenario, service="18005550100", keys=None, timeout=30, calls=1, extra=(),
         media_port=None, local_port=None, transport="u1", host="127.0.0.1"):
    """Runs SIPp as a caller; returns (exit code, its output, its local port).
    transport: SIPp's -t (u1, t1, tn); host: 127.0.0.1 or ::1."""
    local_port = local_port or free_port(socket.SOCK_STREAM if transport[0] == "t"
                                         else socket.SOCK_DGRAM)
    media_port = media_port or free_even_pair()
    remote = f"[{host}]" if ":" in host else host
    cmd = ["sipp", "-t", transport, f"{remote}:{ivrd.sip_port}", "-sf",
           os.path.join(SIPP_DIR, scenario), "-s", service, "-i", host,
           "-p", str(local_port), "-mi", host, "-mp", str(media_port),
           "-m", str(calls), "-nostdin", "-timeout", f"{timeout}s", "-timeout_error",
           "-trace_err", "-error_file", os.path.join(ivrd.dir, f"sipp-{local_port}.err")]
    for k, v in (keys or {}).items():
        cmd += ["-key", k, v]
    cmd += list(extra)
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout + 30, cwd=ivrd.dir)
    out = p.stdout + p.stderr
    errf = os.path.join(ivrd.dir, f"sipp-{local_port}.err")
    if p.returncode != 0 and os.path.exists(errf):
        out += open(errf).read()[-3000:]
    return p.returncode, out, local_port


def sipp_uas(ivrd, scenario, port, calls=1, timeout=30):
    """Starts SIPp as a department's phone (a REFER target) in the background."""
    cmd = ["sipp", "-sf", os.path.join(SIPP_DIR, scenario), "-i", "127.0.0.1", "-p", str(port),
           "-m", str(calls), "-nostdin", "-timeout", f"{timeout}s", "-mp", str(free_even_pair())]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=ivrd.dir)


class Capture:
    """tshark writing the packets on lo that match a capture filter to a pcap file, from
    when it says it is capturing until stop() (or `seconds`, a bound)."""

    def __init__(self, path, bpf, seconds=60):
        self.path = path
        self.err = []
        self.ready = threading.Event()
        self.proc = subprocess.Popen(
            ["tshark", "-i", "lo", "-f", bpf, "-a", f"duration:{seconds}", "-w", path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)
        threading.Thread(target=self._reader, daemon=True).start()
        if not self.ready.wait(30) or self.proc.poll() is not None:
            self.stop()
            raise AssertionError(f"tshark did not start capturing: {''.join(self.err)}")

    def _reader(self):
        for line in self.proc.stderr:
            self.err.append(line)
            if "Capturing on" in line:
                self.ready.set()
        self.ready.set()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # tshark flushes and closes the file
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def read(self, *args):
        """tshark -r on the capture with these arguments; returns its output."""
        p = subprocess.run(["tshark", "-r", self.path, *args], capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        return p.stdout

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def call_ids(ivrd):
    return [r["call_id"] for r in ivrd.rows("SELECT call_id FROM events WHERE event = 'call.start' ORDER BY id")]


def run(tests):
    """Runs test functions; prints one line each and a summary; exits non-zero on failure."""
    if sys.argv[1:] == ["--list"]:
        print("\n".join(t.__name__ for t in tests))
        return
    failed = 0
    only = sys.argv[1:]
    for t in tests:
        if only and t.__name__ not in only:
            continue
        t0 = time.monotonic()
        try:
            t()
            print(f"ok   {t.__name__} ({time.monotonic() - t0:.1f} s)", flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure the same way
            failed += 1
            print(f"FAIL {t.__name__}: {type(e).__name__}: {e}", flush=True)
            import traceback
            traceback.print_exc()
    sys.exit(1 if failed else 0)

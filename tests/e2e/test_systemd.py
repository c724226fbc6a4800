#!/usr/bin/env python3
"""ivrd under systemd: sd_notify messages captured from a test socket (readiness, reload,
status, watchdog, stop), the graceful stop that lets calls in progress finish, the unit
file verified by systemd-analyze, and the generated ivrd.conf(5)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, call_ids, menus_conf, run, sipp  # noqa: E402
from scenario import expect_bye, invite, offer, keys, notify, refer, write  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class NotifySocket:
    """A datagram socket standing in for systemd's $NOTIFY_SOCKET; keeps every message as
    (monotonic time, {KEY: VALUE})."""

    def __init__(self, d, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = f"ivrd-test-{os.getpid()}-{id(self)}"
            self.sock.bind("\0" + name)
            self.env = "@" + name
        else:
            self.env = os.path.join(d.dir, "notify.sock")
            self.sock.bind(self.env)
        self.msgs = []
        self.cond = threading.Condition()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().split("\n") if line)
            with self.cond:
                self.msgs.append((time.monotonic(), fields))
                self.cond.notify_all()

    def wait(self, key, value=None, start=0, timeout=10):
        """Index of the first message from start on that sets key (to value)."""
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.msgs)):
                    f = self.msgs[i][1]
                    if key in f and (value is None or re.fullmatch(value, f[key])):
                        return i
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {key}={value} within {timeout} s: {self.msgs}")
                self.cond.wait(left)

    def close(self):
        self.sock.close()


def test_notify_ready_reload_status_stop():
    d = Ivrd("notify")
    n = NotifySocket(d)
    try:
        with d.start(env={"NOTIFY_SOCKET": n.env}):
            i = n.wait("READY", "1")
            assert n.msgs[i][1].get("STATUS") == "0 calls active, generation 1", n.msgs

            d.proc.send_signal(signal.SIGHUP)
            i = n.wait("RELOADING", "1", start=i + 1)
            t, f = n.msgs[i]
            # CLOCK_MONOTONIC, as systemd compares it with its own
            assert abs(int(f["MONOTONIC_USEC"]) / 1e6 - t) < 2, (f, t)
            i = n.wait("READY", "1", start=i + 1)
            n.wait("STATUS", "0 calls active, generation 2", start=i)
            d.wait_log(r"generation 1 -> 2")

            # a refused file ends its reload with READY=1 too
            with open(d.conf, "a") as c:
                c.write("broken = ;\n")
            d.proc.send_signal(signal.SIGHUP)
            i = n.wait("RELOADING", "1", start=i + 1)
            i = n.wait("READY", "1", start=i + 1)
            d.wait_log(r"generation 2 keeps serving")

            d.proc.send_signal(signal.SIGTERM)
            i = n.wait("STOPPING", "1", start=i + 1)
            # the default drain_time (30 s) and a margin, beyond TimeoutStopSec=
            assert n.msgs[i][1].get("EXTEND_TIMEOUT_USEC") == "35000000", n.msgs[i]
            assert d.proc.wait(10) == 0
        assert not any("WATCHDOG" in f for _, f in n.msgs), n.msgs
    finally:
        n.close()


def test_watchdog_pings_from_the_loop():
    d = Ivrd("watchdog")
    n = NotifySocket(d, abstract=True)
    try:
        with d.start(env={"NOTIFY_SOCKET": n.env, "WATCHDOG_USEC": "400000"}):
            i = n.wait("READY", "1")
            first = n.wait("WATCHDOG", "1", start=i)
            n.wait("WATCHDOG", "1", start=first + 4, timeout=5)
            pings = [t for t, f in n.msgs[first:] if f.get("WATCHDOG") == "1"]
            # every 200 ms: half of WATCHDOG_USEC
            assert len(pings) >= 5 and pings[4] - pings[0] < 1.2, pings
            # a stopped loop sends none
            d.proc.send_signal(signal.SIGSTOP)
            time.sleep(0.6)
            stopped = len(n.msgs)
            time.sleep(0.6)
            assert len(n.msgs) == stopped, n.msgs[stopped:]
            d.proc.send_signal(signal.SIGCONT)
            n.wait("WATCHDOG", "1", start=stopped)
    finally:
        n.close()

    # WATCHDOG_PID naming another process: the pings are not ours to send
    d = Ivrd("watchdog-pid")
    n = NotifySocket(d)
    try:
        with d.start(env={"NOTIFY_SOCKET": n.env, "WATCHDOG_USEC": "200000",
                          "WATCHDOG_PID": str(os.getpid())}):
            n.wait("READY", "1")
            with n.cond:
                n.cond.wait_for(lambda: any("WATCHDOG" in f for _, f in n.msgs), 1.0)
            assert not any("WATCHDOG" in f for _, f in n.msgs), n.msgs
    finally:
        n.close()


def refused_invite():
    """A caller whose INVITE must be refused with 503 and a Retry-After header."""
    return offer(ani="5559999") + """  <recv response="100" optional="true"/>
  <recv response="503">
    <action>
      <ereg regexp="[0-9]+" search_in="hdr" header="Retry-After:" check_it="true" assign_to="ra"/>
      <log message="Retry-After [$ra]"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      [last_From:]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
"""


def background(d, path):
    """Runs a SIPp caller in a thread; returns (thread, result list)."""
    result = []
    t = threading.Thread(target=lambda: result.append(sipp(d, path)))
    t.start()
    return t, result


def test_graceful_stop_lets_call_finish():
    # a long menu timeout: the caller waits in the menu without falling back
    with Ivrd("drain", menus=menus_conf(timeout=10)).start() as d:
        # the key comes ~2 s after the answer, so ~1.5 s after SIGTERM
        caller, result = background(d, write(
            d, "s.xml", invite(), keys("2", first=2000), refer("billing"),
            notify("100 Trying", 2, terminated=False), notify("200 OK", 3), expect_bye()))
        d.wait_event("menu.enter")
        d.proc.send_signal(signal.SIGTERM)
        d.wait_log(r"draining: 1 call in progress, up to 30 s")

        rc, out, _ = sipp(d, write(d, "late.xml", refused_invite()))
        assert rc == 0, out
        caller.join(40)
        assert result and result[0][0] == 0, result
        t_done = time.monotonic()
        assert d.proc.wait(10) == 0
        # left once the call was done, not at the end of drain_time
        assert time.monotonic() - t_done < 3
        d.wait_log(r"drained: every call finished")
        (cid,) = call_ids(d)  # the refused INVITE never became a call
        end = d.wait_event("call.end", call_id=cid)
        assert end["result"] == "transferred", end
        ok = d.wait_event("transfer.result", call_id=cid)
        assert ok["result"] == "ok" and ok["dept"] == "billing", ok


def caller_left_waiting(d):
    """A caller who stays in the menu until ivrd hangs up."""
    return background(d, write(d, "s.xml", invite(), expect_bye(timeout=30000)))


def test_drain_time_over_ends_calls():
    with Ivrd("drain-timeout", extra_ivrd="drain_time = 1;",
              menus=menus_conf(timeout=10)).start() as d:
        caller, result = caller_left_waiting(d)
        d.wait_event("menu.enter")
        t0 = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        d.wait_log(r"draining: 1 call in progress, up to 1 s")
        assert d.proc.wait(10) == 0
        took = time.monotonic() - t0
        assert 0.9 < took < 3, took  # drain_time, a 200 ms poll, the exit
        d.wait_log(r"drain time over: ending 1 call")
        caller.join(30)
        assert result and result[0][0] == 0, result  # the BYE reached the caller
        end = d.wait_event("call.end")
        assert end["result"] == "ended" and end["reason"] == "daemon stopping", end


def test_second_signal_ends_calls_at_once():
    with Ivrd("drain-twice", menus=menus_conf(timeout=10)).start() as d:
        caller, result = caller_left_waiting(d)
        d.wait_event("menu.enter")
        d.proc.send_signal(signal.SIGTERM)
        start = len(d.lines)
        d.wait_log(r"draining: 1 call in progress, up to 30 s")
        t0 = time.monotonic()
        d.proc.send_signal(signal.SIGINT)
        assert d.proc.wait(10) == 0
        assert time.monotonic() - t0 < 1.5
        d.wait_log(r"signal 2 while draining: ending 1 call now", start=start)
        caller.join(30)
        assert result and result[0][0] == 0, result
        end = d.wait_event("call.end")
        assert end["reason"] == "daemon stopping", end


def build_man_dir():
    man = os.environ.get("IVRD_MAN_DIR") or os.path.join(ROOT, "build", "doc")
    assert os.path.exists(os.path.join(man, "ivrd.conf.5")), f"no ivrd.conf.5 in {man}"
    return man


def test_unit_verifies():
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze missing: tests/deps.sh --test installs systemd"
    ivrd = os.environ["IVRD"]
    d = tempfile.mkdtemp(prefix="ivrd-unit-")
    with open(os.path.join(ROOT, "systemd", "ivrd.service")) as f:
        unit = f.read()
    assert "/usr/sbin/ivrd " in unit, unit
    unit_path = os.path.join(d, "ivrd.service")
    with open(unit_path, "w") as f:
        f.write(unit.replace("/usr/sbin/ivrd ", ivrd + " "))
    env = dict(os.environ)
    args = [analyze, "verify", unit_path]
    if shutil.which("man"):
        # Documentation= names our pages: let man find the built ones
        for page, sec in (("ivrd.8", "8"), ("ivrctl.8", "8"), ("ivrd.conf.5", "5")):
            os.makedirs(os.path.join(d, "man", "man" + sec), exist_ok=True)
            shutil.copy(os.path.join(build_man_dir(), page), os.path.join(d, "man", "man" + sec))
        env["MANPATH"] = os.path.join(d, "man")
    else:
        args.insert(2, "--man=no")
    p = subprocess.run(args, capture_output=True, text=True, env=env, cwd=d, timeout=60)
    # an unknown key only warns: any output at all is a failure
    assert p.returncode == 0 and p.stdout == "" and p.stderr == "", (p.returncode, p.stdout,
                                                                      p.stderr)

    sysusers = shutil.which("systemd-sysusers")
    assert sysusers, "systemd-sysusers missing"
    root = os.path.join(d, "root")
    os.makedirs(os.path.join(root, "etc"))
    p = subprocess.run([sysusers, f"--root={root}", os.path.join(ROOT, "systemd", "ivrd.sysusers")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    with open(os.path.join(root, "etc", "passwd")) as f:
        assert re.search(r"^ivrd:x:\d+:\d+:", f.read(), re.M)
    with open(os.path.join(root, "etc", "group")) as f:
        assert re.search(r"^ivrd:x:\d+:", f.read(), re.M)


def table_settings():
    """(block paths, setting names) as written in the settings table's source."""
    with open(os.path.join(ROOT, "src", "conf", "table.c")) as f:
        src = f.read()
    names = re.findall(r'^\s*\{"(\w+)", OPT_', src, re.M)
    blocks = re.findall(r'^\s*\{"([\w.\[\]]+)", \w+_opts\}', src, re.M)
    return blocks, names


def test_conf_man_page_lists_every_setting():
    with open(os.path.join(build_man_dir(), "ivrd.conf.5")) as f:
        page = f.read()
    blocks, names = table_settings()
    assert len(names) > 30 and len(blocks) >= 7, (blocks, names)
    for want in ("drain_time", "answer_delay", "max_failures", "transfer_timeout"):
        assert want in names
    for b in blocks:
        assert f"\n.SS {b}\n" in page, b
    for name in names:
        assert f"\\fB{name}\\fR (" in page, name
    assert "Range: 0 to 3600." in page  # drain_time, from the table
    assert "Default: \\fB[20000, 20999]\\fR." in page  # rtp.ports
    assert "\n.\\\" settings table\n" not in page
    if shutil.which("man"):
        p = subprocess.run(["man", "--warnings", "-l", "-"], input=page, capture_output=True,
                           text=True, env=dict(os.environ, MANWIDTH="80"), timeout=60)
        assert p.returncode == 0 and p.stderr == "", p.stderr
        assert "drain_time (seconds)" in p.stdout, p.stdout[:2000]


if __name__ == "__main__":
    run([test_notify_ready_reload_status_stop, test_watchdog_pings_from_the_loop,
         test_graceful_stop_lets_call_finish, test_drain_time_over_ends_calls,
         test_second_signal_ends_calls_at_once, test_unit_verifies,
         test_conf_man_page_lists_every_setting])

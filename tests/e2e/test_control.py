#!/usr/bin/env python3
"""The control socket and ivrctl's operator commands against the real ivrd: status while a
caller sits in a menu, reload (good and bad), department overrides that route the next
caller, the effective configuration, run-time tracing, who may connect, many clients at
once, and requests that are garbage or too long."""
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, call_ids, menus_conf, run, sipp  # noqa: E402
from scenario import expect_bye, hangup, invite, keys, notify, pause, refer, write  # noqa: E402

NOBODY = 65534  # nobody / nogroup on Debian


def ivrctl(d, *args, sock=None, **kw):
    """Runs ivrctl against d (through its configuration, or -s sock); (rc, stdout, stderr)."""
    where = ["-s", sock] if sock else ["-c", d.conf]
    p = subprocess.run([os.environ["IVRCTL"], *where, *args], capture_output=True, text=True,
                       timeout=90, **kw)
    return p.returncode, p.stdout, p.stderr


def status(d):
    rc, out, err = ivrctl(d, "status", "--json")
    assert rc == 0, err
    return json.loads(out)


def dept(st, name):
    (found,) = [x for x in st["departments"] if x["name"] == name]
    return found


def sock_path(d):
    return os.path.join(d.dir, "ivrd.sock")


def connect(d):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(sock_path(d))
    return s


def read_line(s, buf=b""):
    """One answer line from s; (line as JSON, what followed it)."""
    while b"\n" not in buf:
        data = s.recv(65536)
        assert data, f"connection closed after {buf!r}"
        buf += data
    line, rest = buf.split(b"\n", 1)
    return json.loads(line), rest


def ask(d, *requests):
    """Sends raw request lines on one connection; returns the answers, in order."""
    with connect(d) as s:
        s.sendall(b"".join(r + b"\n" for r in requests))
        answers, rest = [], b""
        for _ in requests:
            a, rest = read_line(s, rest)
            answers.append(a)
        return answers


def in_background(d, sc):
    """Runs a SIPp caller in a thread; join it, then read result[0]."""
    result = []
    t = threading.Thread(target=lambda: result.append(sipp(d, sc)))
    t.start()
    return t, result


def public_ivrctl():
    """A copy of ivrctl that another user may run, wherever the build tree is."""
    d = tempfile.mkdtemp(prefix="ivrctl-bin-")
    os.chmod(d, 0o755)
    path = os.path.join(d, "ivrctl")
    shutil.copy(os.environ["IVRCTL"], path)
    os.chmod(path, 0o755)
    return path


def test_status_while_a_call_sits_in_a_menu():
    with Ivrd("ctl-status", menus=menus_conf(timeout=20)).start() as d:
        t0 = time.time()
        sc = write(d, "s.xml", invite(), pause(4000), hangup())
        t, result = in_background(d, sc)
        try:
            d.wait_event("menu.enter", menu="main")
            st = status(d)
        finally:
            t.join(60)
        assert result and result[0][0] == 0, result
        assert st["ok"] is True
        assert st["version"] == "0.1.0" and st["pid"] == d.proc.pid, st
        assert st["generation"] == 1 and 0 <= st["uptime_s"] < 60, st
        assert t0 * 1000 - 60000 < st["started"] <= time.time() * 1000, st
        assert st["calls"]["active"] == 1 and st["calls"]["total"] == 1, st["calls"]
        assert st["calls"]["nodes"] == [{"where": "menu main", "generation": 1, "calls": 1}], st
        assert dept(st, "billing") == {"name": "billing", "open": True, "override": "auto",
                                       "hours": ["always"], "timezone": "UTC"}, st
        assert dept(st, "closed")["open"] is False and dept(st, "closed")["hours"] == ["never"]
        # the same dotted names as the metrics page, with their labels
        assert st["counters"]["call.active"] == 1, st["counters"]
        assert st["counters"]["menu.enter{node=main}"] == 1, st["counters"]
        assert st["counters"]["config.generation"] == 1, st["counters"]
        assert st["sip"]["rx_requests"] >= 1 and st["rtp"]["sessions"] == 1, st
        assert st["journal"]["appended"] >= 2, st["journal"]
        # for people: the same figures as a table
        d.wait_event("call.end")
        rc, out, err = ivrctl(d, "status")
        assert rc == 0, err
        assert out.startswith(f"ivrd 0.1.0, pid {d.proc.pid}, up "), out
        assert "configuration generation 1" in out and "calls: 0 active, 1 since start" in out
        assert [l.split() for l in out.splitlines() if l.startswith("billing ")] == \
            [["billing", "open", "auto", "UTC", "always"]], out
        assert any(l.split() == ["menu.enter{node=main}", "1"] for l in out.splitlines()), out
        assert any(l.split()[0] == "sip.rx_requests" for l in out.splitlines() if l), out


def test_reload_bad_then_good():
    with Ivrd("ctl-reload").start() as d:
        good = open(d.conf).read()
        to_sales = good.replace('{ key = "2"; action = "dept:billing"; }',
                                '{ key = "2"; action = "dept:sales"; }')
        assert to_sales != good
        # two errors, and a change that must not take effect with them
        bad = to_sales.replace("timeout = 1.0; max_failures", "timeout = 100; max_failures") \
                      .replace('greeting = "main/greeting"', 'greeting = "main/nope"')
        with open(d.conf, "w") as f:
            f.write(bad)
        line = next(i + 1 for i, l in enumerate(bad.splitlines()) if "timeout = 100" in l)
        rc, out, err = ivrctl(d, "reload")
        assert rc == 1, (rc, out, err)
        assert f"ivrctl: {d.conf}: 2 errors; generation 1 keeps serving" in err, err
        assert f"error: {d.conf}:{line}: menus.main.timeout: 100 is out of range (1 to 60)" \
            in err, err
        assert 'menus.main.greeting: no file for prompt "main/nope"' in err, err
        rc, out, _ = ivrctl(d, "reload", "--json")
        assert rc == 1
        answer = json.loads(out)
        assert answer["ok"] is False and len(answer["errors"]) == 2, answer
        assert status(d)["generation"] == 1
        refused = d.wait_event("config.reload", result="refused")
        assert refused["reason"] == "ivrctl (uid 0)" and "menus.main.timeout" in refused["detail"]
        # the old menu still routes a new caller: 2 is billing
        sc = write(d, "a.xml", invite(), keys("2"), refer("billing"), notify("200 OK", 2),
                   expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out

        with open(d.conf, "w") as f:
            f.write(to_sales)
        rc, out, err = ivrctl(d, "reload")
        assert rc == 0, err
        assert out == "configuration generation 2 in effect (was 1)\n", out
        st = status(d)
        assert st["generation"] == 2 and st["counters"]["config.reload.ok"] == 1, st
        assert st["counters"]["config.reload.fail"] == 2, st
        ok = d.wait_event("config.reload", result="ok")
        assert ok["generation"] == 2 and ok["reason"] == "ivrctl (uid 0)", ok
        sc = write(d, "b.xml", invite(), keys("2"), refer("sales"), notify("200 OK", 2),
                   expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        gens = [r["generation"] for r in d.rows(
            "SELECT generation FROM events WHERE event='call.start' ORDER BY id")]
        assert gens == [1, 2], gens


def test_dept_override_routes_the_next_caller():
    with Ivrd("ctl-dept").start() as d:
        rc, out, err = ivrctl(d, "dept", "billing", "close")
        assert rc == 0, err
        assert out == "billing: closed now (override closed)\n", out
        row = d.wait_event("dept.override", dept="billing")
        assert row["result"] == "closed" and row["detail"] == "auto -> closed", row
        assert row["reason"] == "ivrctl (uid 0)", row
        b = dept(status(d), "billing")
        assert b["open"] is False and b["override"] == "closed", b

        sc = write(d, "closed.xml", invite(), keys("2"), refer("operator"),
                   notify("200 OK", 2), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end", result="transferred")
        ev = d.events(call_ids(d)[-1])
        routes = [e for e in ev if e["event"] == "route"]
        # the menu's choice, billing closed by the override, billing's fallback
        assert [(r["dept"], r["result"]) for r in routes] == [
            ("billing", None), ("billing", "closed"), ("operator", None)], routes
        assert "hours=closed (closed by an operator)" in routes[1]["detail"], routes
        assert routes[2]["reason"] == "fallback of billing (closed)", routes

        rc, out, err = ivrctl(d, "dept", "billing", "auto", "--json")
        assert rc == 0, err
        assert json.loads(out) == {"ok": True, "name": "billing", "override": "auto",
                                   "open": True}, out
        assert dept(status(d), "billing")["override"] == "auto"
        sc = write(d, "open.xml", invite(), keys("2"), refer("billing"), notify("200 OK", 2),
                   expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out

        rc, _, err = ivrctl(d, "dept", "nosuch", "close")
        assert rc == 1 and err == 'ivrctl: no department named "nosuch"\n', err
        # a department that is closed by its hours can be opened
        rc, out, err = ivrctl(d, "dept", "closed", "open")
        assert rc == 0 and out == "closed: open now (override open)\n", (out, err)


def test_show_config():
    with Ivrd("ctl-show").start() as d:
        rc, out, err = ivrctl(d, "show", "config")
        assert rc == 0, err
        lines = out.splitlines()
        assert lines[0] == f"# {d.conf}, generation 1", lines[0]
        assert f'ivrd.sip.listen = ["udp:127.0.0.1:{d.sip_port}"];' in lines, out
        assert 'ivrd.sip.user_agent = "ivrd"; # default' in lines, out
        assert "menus.main.barge_in = true; # default" in lines, out
        assert 'departments.billing.hours = ["always"];' in lines, out
        rc, out, _ = ivrctl(d, "show", "config", "--json")
        answer = json.loads(out)
        assert answer["path"] == d.conf and answer["generation"] == 1, answer
        assert lines[1:] == answer["lines"]


def test_trace_switches_sip_logging():
    from test_sip import Client
    with Ivrd("ctl-trace").start() as d:
        cl = Client(d)
        try:
            assert cl.ask("OPTIONS").code == 200
            assert not any(l.startswith("<7>sip:") for l in d.lines), d.lines
            rc, out, err = ivrctl(d, "trace", "on", "sip")
            assert rc == 0, err
            assert out == "tracing: sip on, rtp off, menu off\n", out
            mark = len(d.lines)
            assert cl.ask("OPTIONS").code == 200
            d.wait_log(r"^<7>sip: recv \d+ bytes from 127\.0\.0\.1:\d+: OPTIONS ", start=mark)
            d.wait_log(r"^<7>sip: send \d+ bytes to 127\.0\.0\.1:\d+: SIP/2\.0 200", start=mark)
            rc, out, err = ivrctl(d, "trace", "off", "sip", "--json")
            assert rc == 0, err
            assert json.loads(out)["trace"] == {"sip": False, "rtp": False, "menu": False}
            mark = len(d.lines)
            assert cl.ask("OPTIONS").code == 200
            assert not any(l.startswith("<7>sip:") for l in d.lines[mark:]), d.lines[mark:]
        finally:
            cl.close()
        # "trace CALL-ID" still reads the journal
        rc, _, err = ivrctl(d, "trace", "no-such-call")
        assert rc == 1 and "no call no-such-call in the journal" in err, err


def as_user(uid, gid):
    return {"user": uid, "group": gid, "extra_groups": []}


def test_socket_mode_and_who_may_connect():
    with Ivrd("ctl-perm").start() as d:
        path = sock_path(d)
        st = os.stat(path)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
        assert st.st_gid == os.getegid(), st
        # the directory lets anyone through: the socket's own mode keeps nobody out
        os.chmod(d.dir, 0o711)
        exe = public_ivrctl()
        p = subprocess.run([exe, "-s", path, "status"], capture_output=True, text=True,
                           timeout=30, **as_user(NOBODY, NOBODY))
        assert p.returncode == 1, p
        assert p.stderr == f"ivrctl: permission denied on {path}: ivrctl must run as root, " \
                           "as ivrd's user or in its control group\n", p.stderr
        # with the mode opened up, the peer's credentials still keep it out
        os.chmod(path, 0o666)
        p = subprocess.run([exe, "-s", path, "status"], capture_output=True, text=True,
                           timeout=30, **as_user(NOBODY, NOBODY))
        assert p.returncode == 1, p
        assert p.stderr == f"ivrctl: permission denied: uid {NOBODY} is not root, ivrd's " \
                           "user or a member of group root\n", p.stderr
        d.wait_log(rf"<4>control: refused uid {NOBODY} gid {NOBODY} \(pid \d+\)")
        # a member of the socket's group is let in
        p = subprocess.run([exe, "-s", path, "status", "--json"], capture_output=True,
                           text=True, timeout=30, **as_user(NOBODY, 0))
        assert p.returncode == 0, p
        assert json.loads(p.stdout)["ok"] is True


def test_control_group_and_socket_directory():
    with Ivrd("ctl-group", extra_ivrd='control_group = "nogroup";') as d:
        # a directory that is missing is made, for the socket's group only
        text = open(d.conf).read().replace(f'"{d.dir}/ivrd.sock"', f'"{d.dir}/run/ivrd.sock"')
        with open(d.conf, "w") as f:
            f.write(text)
        d.start()
        path = os.path.join(d.dir, "run", "ivrd.sock")
        st = os.stat(os.path.dirname(path))
        assert stat.S_IMODE(st.st_mode) == 0o750 and st.st_gid == NOBODY, oct(st.st_mode)
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == NOBODY, st
        os.chmod(d.dir, 0o711)
        exe = public_ivrctl()
        # a member of the group through a supplementary group (the peer's gid is 0): found
        # in the group database
        p = subprocess.run([exe, "-s", path, "trace", "off", "menu"], capture_output=True,
                           text=True, timeout=30, user=NOBODY, group=0, extra_groups=[NOBODY])
        assert p.returncode == 0, p
        d.stop()
        assert not os.path.exists(path), "socket left behind"

    d = Ivrd("ctl-nogroup", extra_ivrd='control_group = "no-such-group-x";')
    p = subprocess.run([os.environ["IVRD"], "-c", d.conf], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 1, p
    # refused at load, so "ivrd -t" and a reload catch it too
    assert f'{d.conf}:' in p.stderr and \
        'ivrd.control_group: no group named "no-such-group-x" on this machine' in p.stderr, p.stderr
    p = subprocess.run([os.environ["IVRD"], "-t", "-c", d.conf], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 1 and "no group named" in p.stderr, p.stderr


def test_one_daemon_per_socket():
    with Ivrd("ctl-first").start() as first:
        other = Ivrd("ctl-second")
        text = open(other.conf).read().replace(sock_path(other), sock_path(first))
        with open(other.conf, "w") as f:
            f.write(text)
        p = subprocess.run([os.environ["IVRD"], "-c", other.conf], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 1, p
        assert f"another ivrd answers on {sock_path(first)}; refusing to start" in p.stderr
        assert status(first)["ok"] is True  # the first one's socket is untouched

        # a socket left by a daemon that died is taken over
        first.kill9()
        assert os.path.exists(sock_path(first))
        rc, _, err = ivrctl(first, "status")
        assert rc == 1 and err == "ivrctl: ivrd is not running (nothing answers on " \
                                  f"{sock_path(first)})\n", err
        first.start()
        first.wait_log("removed the stale socket")
        assert status(first)["ok"] is True
        first.stop()
        assert not os.path.exists(sock_path(first))
        rc, _, err = ivrctl(first, "status")
        assert rc == 1 and err == "ivrctl: ivrd is not running (no control socket at " \
                                  f"{sock_path(first)})\n", err

    d = Ivrd("ctl-notsock")
    with open(sock_path(d), "w") as f:
        f.write("not a socket")
    p = subprocess.run([os.environ["IVRD"], "-c", d.conf], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 1 and "exists and is not a socket" in p.stderr, p.stderr


def test_fifty_clients_at_once():
    with Ivrd("ctl-many").start() as d:
        socks = [connect(d) for _ in range(50)]  # all open before any asks
        try:
            answers = [None] * len(socks)

            def client(i):
                socks[i].sendall(b"status\nshow config\n")
                a, rest = read_line(socks[i])
                b, _ = read_line(socks[i], rest)
                answers[i] = (a, b)

            threads = [threading.Thread(target=client, args=(i,)) for i in range(len(socks))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert all(a is not None for a in answers), answers
            assert all(a["ok"] and a["generation"] == 1 and b["ok"] and b["lines"]
                       for a, b in answers)
        finally:
            for s in socks:
                s.close()
        # and 50 ivrctl processes at once
        procs = [subprocess.Popen([os.environ["IVRCTL"], "-c", d.conf, "status", "--json"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(50)]
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0 and json.loads(out)["ok"], err


def test_garbage_and_oversized_requests():
    with Ivrd("ctl-garbage").start() as d:
        answers = ask(d, b"\xff\xfe\x00garbage", b"frobnicate now", b"", b"status extra",
                      b"dept billing", b"dept billing sideways", b"show everything",
                      b"trace on disk", b"a b c d e f g h i", b"status\r")
        errors = [a.get("error") for a in answers]
        assert errors == [
            "a request is one line of UTF-8 text",
            'unknown command "frobnicate" (commands: status, reload, dept, show, trace, dial, '
            'callback)',
            "empty request (commands: status, reload, dept, show, trace, dial, callback)",
            "usage: status",
            "usage: dept NAME open|close|auto",
            '"sideways" is not open, close or auto',
            'nothing to show called "everything" (show config)',
            'unknown subsystem "disk" (sip, rtp, menu)',
            "more than 8 words",
            None,
        ], errors
        assert all(a["ok"] is False and a["errors"] == [] for a in answers[:-1]), answers
        assert answers[-1]["ok"] is True  # CRLF line ends are fine

        # too long: an error, then the daemon hangs up (where would the next request start?)
        with connect(d) as s:
            s.sendall(b"status " + b"x" * 5000 + b"\n")
            a, rest = read_line(s)
            assert a == {"ok": False, "error": "request longer than 4096 bytes",
                         "errors": []}, a
            assert rest == b""
            try:
                assert s.recv(100) == b""
            except ConnectionResetError:
                pass  # closed with the rest of the request unread

        # a client that sends half a request and waits holds up nobody
        with connect(d) as slow:
            slow.sendall(b"sta")
            assert ask(d, b"status")[0]["ok"] is True
            slow.sendall(b"tus\n")
            assert read_line(slow)[0]["ok"] is True

        # a client that asks and never reads its answers holds up nobody either
        flood = connect(d)
        flood.setblocking(False)
        sent = 0
        try:
            end = time.monotonic() + 10
            while time.monotonic() < end:
                try:
                    sent += flood.send(b"status\n" * 1000)
                except BlockingIOError:
                    break  # the daemon stopped reading it
            assert sent > 0
            t0 = time.monotonic()
            assert ask(d, b"status")[0]["ok"] is True
            assert time.monotonic() - t0 < 5
        finally:
            flood.close()
        assert status(d)["ok"] is True


def test_bad_arguments_exit_2():
    d = Ivrd("ctl-usage")  # not started: none of these may get as far as the socket
    for args in (["status", "extra"], ["status", "--bogus"], ["reload", "now"], ["dept"],
                 ["dept", "billing"], ["dept", "billing", "sideways"],
                 ["dept", "billing", "close", "extra"], ["show"], ["show", "everything"],
                 ["show", "config", "extra"], ["trace", "on"], ["trace", "on", "disk"],
                 ["trace", "off", "sip", "extra"], ["trace", "--csv", "on", "sip"]):
        rc, out, err = ivrctl(d, *args)
        assert rc == 2, (args, rc, err)
        assert f"usage: ivrctl [-c CONFIG] [-j JOURNAL] {args[0]} " in err, (args, err)
    rc, _, err = ivrctl(d, "status", sock="/nonexistent/ivrd.sock")
    assert rc == 1 and err == "ivrctl: ivrd is not running (no control socket at " \
                              "/nonexistent/ivrd.sock)\n", err
    # the socket's path comes from the configuration
    rc, _, err = ivrctl(d, "status")
    assert rc == 1 and f"no control socket at {sock_path(d)})" in err, err
    rc, out, _ = ivrctl(d, "status", "--help")
    assert rc == 0 and out.startswith("usage: ivrctl"), out


if __name__ == "__main__":
    run([test_status_while_a_call_sits_in_a_menu, test_reload_bad_then_good,
         test_dept_override_routes_the_next_caller, test_show_config,
         test_trace_switches_sip_logging, test_socket_mode_and_who_may_connect,
         test_control_group_and_socket_directory, test_one_daemon_per_socket,
         test_fifty_clients_at_once, test_garbage_and_oversized_requests,
         test_bad_arguments_exit_2])

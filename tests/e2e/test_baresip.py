#!/usr/bin/env python3
"""A real softphone: baresip dials the real ivrd, presses 2, and ivrd transfers it with a
REFER (RFC 3515) to billing's phone, a SIPp UAS that answers. baresip is driven over its
ctrl_tcp interface (netstring-framed JSON)."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import SIPP_DIR, Capture, Ivrd, free_even_pair, free_port, menus_conf, run  # noqa: E402

# The headless setup of ../shared/baresip/cfg (no sound card: a 440 Hz sine as the
# microphone, a null player), written per test so the test needs nothing outside the tree.
BARESIP_CONFIG = """\
poll_method\t\tepoll
sip_listen\t\t127.0.0.1:{sip}
sip_trans_def\t\tudp
call_local_timeout\t120
call_max_calls\t\t4
audio_player\t\taubridge,nil
audio_source\t\tausine,440
audio_alert\t\taubridge,nil
ausrc_srate\t\t48000
auplay_srate\t\t8000
ausrc_channels\t\t2
auplay_channels\t\t1
rtp_ports\t\t{rtp}-{rtp_end}
net_interface\t\t127.0.0.1
dns_server\t\t127.0.0.1:53
module_path\t\t/usr/lib/baresip/modules
module\t\t\tg711.so
module\t\t\tausine.so
module\t\t\taubridge.so
module\t\t\tctrl_tcp.so
module\t\t\tcons.so
module_app\t\taccount.so
module_app\t\tmenu.so
ctrl_tcp_listen\t\t127.0.0.1:{ctrl}
cons_listen\t\t127.0.0.1:{cons}
"""
BARESIP_ACCOUNTS = "<sip:tester@127.0.0.1>;regint=0;audio_codecs=PCMU\n"


def free_port_both():
    """A port free for both UDP and TCP (baresip listens for SIP on both)."""
    for _ in range(100):
        p = free_port(socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", p))
            return p
        except OSError:
            continue
        finally:
            u.close()
    raise RuntimeError("no port free for UDP and TCP")


class Ctrl:
    """baresip's ctrl_tcp: commands with tokens, responses and events as netstrings."""

    def __init__(self, port, timeout=15):
        end = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                if time.monotonic() > end:
                    raise AssertionError(f"baresip's ctrl_tcp on {port} never answered")
                time.sleep(0.1)
        self.sock.settimeout(0.2)
        self.buf = b""
        self.msgs = []  # everything received, in order
        self.token = 0

    def _read(self):
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return
        if not data:
            raise AssertionError("baresip closed its ctrl_tcp connection")
        self.buf += data
        while True:
            n, colon, rest = self.buf.partition(b":")
            if not colon or len(rest) < int(n) + 1:
                return
            msg = json.loads(rest[:int(n)])
            self.buf = rest[int(n) + 1:]
            print(f"[baresip ctrl] << {json.dumps(msg)}", file=sys.stderr)
            self.msgs.append(msg)

    def command(self, cmd, params="", timeout=10):
        """Sends a command; returns its response (raises if baresip says it failed)."""
        self.token += 1
        tok = str(self.token)
        body = json.dumps({"command": cmd, "params": params, "token": tok}).encode()
        print(f"[baresip ctrl] >> {body.decode()}", file=sys.stderr)
        self.sock.sendall(str(len(body)).encode() + b":" + body + b",")
        r = self.wait(lambda m: m.get("response") and m.get("token") == tok, timeout,
                      f"response to {cmd}")
        assert r.get("ok"), f"baresip refused {cmd} {params}: {r}"
        return r

    def wait(self, pred, timeout, what):
        end = time.monotonic() + timeout
        seen = 0
        while True:
            for m in self.msgs[seen:]:
                if pred(m):
                    return m
            seen = len(self.msgs)
            if time.monotonic() > end:
                raise AssertionError(f"baresip: no {what} within {timeout} s; got "
                                     f"{[m.get('type') or m.get('data') for m in self.msgs]}")
            self._read()

    def event(self, type_, timeout=10, **match):
        return self.wait(lambda m: m.get("event") and m.get("type") == type_ and
                         all(re.search(v, str(m.get(k, ""))) for k, v in match.items()),
                         timeout, f"event {type_} {match}")

    def close(self):
        self.sock.close()


class Baresip:
    """baresip with the shared headless config, written per test with free ports."""

    def __init__(self, workdir, seconds=40):
        self.dir = os.path.join(workdir, "baresip")
        os.makedirs(self.dir)
        self.sip_port = free_port_both()
        self.ctrl_port = free_port(socket.SOCK_STREAM)
        rtp = free_even_pair()
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write(BARESIP_CONFIG.format(sip=self.sip_port, ctrl=self.ctrl_port,
                                          cons=free_port_both(), rtp=rtp, rtp_end=rtp + 3))
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(BARESIP_ACCOUNTS)
        open(os.path.join(self.dir, "contacts"), "w").close()
        self.log = open(os.path.join(self.dir, "baresip.log"), "w")
        self.proc = subprocess.Popen(["baresip", "-f", self.dir, "-t", str(seconds)],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        self.ctrl = Ctrl(self.ctrl_port)

    def stop(self):
        try:
            self.ctrl.command("quit", timeout=3)
        except (AssertionError, OSError):
            pass
        self.ctrl.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def department(d, port):
    """SIPp as billing's phone: answers one call, hangs up after a second. Its screen goes
    to department.out, its errors to department.err."""
    cmd = ["sipp", "-sf", os.path.join(SIPP_DIR, "uas_department.xml"), "-i", "127.0.0.1",
           "-p", str(port), "-mi", "127.0.0.1", "-mp", str(free_even_pair()), "-m", "1",
           "-nostdin", "-timeout", "40s", "-timeout_error", "-trace_err", "-trace_logs",
           "-error_file", os.path.join(d.dir, "department.err"),
           "-log_file", os.path.join(d.dir, "department.log")]
    with open(os.path.join(d.dir, "department.out"), "w") as out:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, cwd=d.dir)


def sip_messages(cap, port):
    """Every SIP message to or from ivrd's port in the capture, whole and in order:
    (sent by ivrd?, start line, {lower-case header: [values]}, body)."""
    out = cap.read("-Y", f"udp.port=={port}", "-T", "fields", "-E", "separator=|",
                   "-e", "udp.srcport", "-e", "udp.payload")
    msgs = []
    for line in out.splitlines():
        src, payload = line.split("|")
        text = bytes.fromhex(payload.replace(":", "")).decode("utf-8", "replace")
        head, _, body = text.partition("\r\n\r\n")
        start, *lines = head.split("\r\n")
        hdrs = {}
        for h in lines:
            k, _, v = h.partition(":")
            hdrs.setdefault(k.strip().lower(), []).append(v.strip())
        msgs.append((int(src) == port, start, hdrs, body))
    return msgs


def hdr(msg, name, compact=None):
    vals = msg[2].get(name.lower()) or msg[2].get(compact or "", [])
    return vals[0] if vals else None


def test_baresip_key_2_transferred_to_billing():
    dept_port = free_port()
    with Ivrd("baresip", target_port=dept_port).start() as d:
        cap = Capture(os.path.join(d.dir, "sip.pcap"), f"udp port {d.sip_port}", 60)
        dept = department(d, dept_port)
        phone = None
        try:
            phone = Baresip(d.dir)
            ua = phone.ctrl
            ua.command("dial", f"sip:18005550100@127.0.0.1:{d.sip_port}")
            ua.event("CALL_ESTABLISHED", timeout=15, peeruri="18005550100")
            d.wait_event("menu.enter", menu="main")
            ua.command("sndcode", "2")
            # baresip follows the REFER: a new call to billing's phone, which answers
            xfer = ua.event("TRANSFER", timeout=15)
            assert xfer["param"] == f"<sip:billing@127.0.0.1:{dept_port}>", xfer
            ua.event("CALL_ESTABLISHED", timeout=15, peeruri=f"billing@127.0.0.1:{dept_port}")
            end = d.wait_event("call.end", timeout=15)
            rc = dept.wait(30)
            if rc != 0:
                out = open(os.path.join(d.dir, "department.out"), errors="replace").read()
                err = os.path.join(d.dir, "department.err")
                err = open(err, errors="replace").read() if os.path.exists(err) else ""
                raise AssertionError(f"department UAS exited {rc}: {out[-2000:]}{err[-2000:]}")
        finally:
            cap.stop()
            if phone is not None:
                phone.stop()
            if dept.poll() is None:
                dept.kill()
                dept.wait(5)

        ev = d.events(end["call_id"])
        names = [e["event"] for e in ev]
        assert names[0] == "call.start" and names[-1] == "call.end", names
        assert [e["key"] for e in ev if e["event"] == "key"] == ["2"], ev
        route = [e for e in ev if e["event"] == "route"]
        assert len(route) == 1 and route[0]["dept"] == "billing", route
        assert route[0]["reason"] == "key 2 in menu main", route
        ts = [e for e in ev if e["event"] == "transfer.start"]
        assert [t["target"] for t in ts] == [f"sip:billing@127.0.0.1:{dept_port}"], ts
        res = [e for e in ev if e["event"] == "transfer.result"]
        assert [(r["dept"], r["result"]) for r in res] == [("billing", "ok")], res
        assert end["result"] == "transferred", end

        # on the wire (RFC 3515): our REFER, baresip's 202, NOTIFYs in the refer event
        # package carrying sipfrag status lines, the last one 200 OK and terminated
        msgs = sip_messages(cap, d.sip_port)
        print("on ivrd's SIP port:", [("ivrd" if m[0] else "baresip", m[1]) for m in msgs])
        refers = [m for m in msgs if m[0] and m[1].startswith("REFER ")]
        assert len(refers) == 1, refers
        assert hdr(refers[0], "Refer-To", "r") == f"<sip:billing@127.0.0.1:{dept_port}>"
        refer_cseq = hdr(refers[0], "CSeq").split()[0]
        resp = [m for m in msgs if not m[0] and m[1].startswith("SIP/2.0") and
                hdr(m, "CSeq") == f"{refer_cseq} REFER"]
        assert [m[1] for m in resp] == ["SIP/2.0 202 Accepted"], resp
        notifies = [m for m in msgs if not m[0] and m[1].startswith("NOTIFY ")]
        assert notifies, msgs
        for m in notifies:
            # an id, when given, names the REFER by its CSeq (RFC 3515 2.4.6)
            event = hdr(m, "Event", "o")
            ev = re.match(r"refer\s*(;\s*id=(\d+))?\s*$", event)
            assert ev and ev.group(2) in (None, refer_cseq), (event, refer_cseq)
            assert hdr(m, "Content-Type", "c").startswith("message/sipfrag"), m
        frags = [m[3].splitlines()[0].strip() for m in notifies]
        assert frags[-1] == "SIP/2.0 200 OK", frags
        assert hdr(notifies[-1], "Subscription-State").startswith("terminated"), notifies[-1]
        # every NOTIFY got our 200, then our BYE ended ivrd's leg
        for m in notifies:
            ok = [r for r in msgs if r[0] and r[1] == "SIP/2.0 200 OK" and
                  hdr(r, "CSeq") == hdr(m, "CSeq")]
            assert ok, f"no 200 OK for NOTIFY {hdr(m, 'CSeq')}"
        assert [m[1].split()[0] for m in msgs if m[0] and not m[1].startswith("SIP/")] == \
            ["REFER", "BYE"], msgs
        assert [r["reason"] for r in res] == ["target answered 200"], res
        print("NOTIFYs:", [(f, hdr(m, "Event", "o"), hdr(m, "Subscription-State"))
                           for f, m in zip(frags, notifies)])


def metric(d, name):
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/metrics", timeout=5) as r:
        m = re.search(r"^%s (\d+)" % name, r.read().decode(), re.M)
    return int(m.group(1)) if m else 0


def transferred_to_billing(d, ua, dept, dept_port):
    """Presses 2 on baresip and follows ivrd's REFER to billing's phone."""
    ua.command("sndcode", "2")
    xfer = ua.event("TRANSFER", timeout=15)
    assert xfer["param"] == f"<sip:billing@127.0.0.1:{dept_port}>", xfer
    ua.event("CALL_ESTABLISHED", timeout=15, peeruri=f"billing@127.0.0.1:{dept_port}")
    end = d.wait_event("call.end", timeout=15)
    assert dept.wait(30) == 0, open(os.path.join(d.dir, "department.out"),
                                    errors="replace").read()[-2000:]
    assert end["result"] == "transferred", end
    return end


def test_baresip_over_tcp():
    """baresip calls over TCP; ivrd's REFER and BYE go back on baresip's connection."""
    dept_port = free_port()
    with Ivrd("baresip-tcp", target_port=dept_port,
              listen=["udp:127.0.0.1", "tcp:127.0.0.1"]).start() as d:
        dept = department(d, dept_port)
        phone = None
        try:
            phone = Baresip(d.dir)
            ua = phone.ctrl
            ua.command("dial", f"sip:18005550100@127.0.0.1:{d.sip_port};transport=tcp")
            ua.event("CALL_ESTABLISHED", timeout=15, peeruri="18005550100")
            d.wait_event("menu.enter", menu="main")
            end = transferred_to_billing(d, ua, dept, dept_port)
        finally:
            if phone is not None:
                phone.stop()
            if dept.poll() is None:
                dept.kill()
                dept.wait(5)
        assert metric(d, "ivrd_sip_tcp_accepted_total") >= 1
        names = [e["event"] for e in d.events(end["call_id"])]
        assert names.count("key") == 1 and "transfer.result" in names, names


def test_baresip_hold_keeps_menu_place():
    """baresip puts ivrd on hold mid-menu: no timeouts while held (the caller hears
    nothing), and after resume a key routes from the same menu."""
    dept_port = free_port()
    with Ivrd("baresip-hold", target_port=dept_port,
              menus=menus_conf(timeout=2.0)).start() as d:
        dept = department(d, dept_port)
        phone = None
        try:
            phone = Baresip(d.dir)
            ua = phone.ctrl
            ua.command("dial", f"sip:18005550100@127.0.0.1:{d.sip_port}")
            ua.event("CALL_ESTABLISHED", timeout=15, peeruri="18005550100")
            start = d.wait_event("menu.enter", menu="main")
            ua.command("hold")
            held = d.wait_event("hold", call_id=start["call_id"])
            # longer than the menu's timeout, on hold
            time.sleep(4.5)
            ua.command("resume")
            d.wait_event("resume", call_id=start["call_id"])
            end = transferred_to_billing(d, ua, dept, dept_port)
        finally:
            if phone is not None:
                phone.stop()
            if dept.poll() is None:
                dept.kill()
                dept.wait(5)
        ev = d.events(end["call_id"])
        names = [e["event"] for e in ev]
        held_at = names.index("hold")
        resumed_at = names.index("resume")
        assert "input.timeout" not in names[held_at:resumed_at], names
        assert held["menu"] == "main", held
        route = [e for e in ev if e["event"] == "route"]
        assert route and route[0]["reason"] == "key 2 in menu main", route


if __name__ == "__main__":
    run([test_baresip_key_2_transferred_to_billing, test_baresip_over_tcp,
         test_baresip_hold_keeps_menu_place])

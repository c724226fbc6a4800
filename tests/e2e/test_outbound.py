#!/usr/bin/env python3
"""Calls ivrd places: `ivrctl dial NUMBER` through ivrd.sip.outbound, with SIPp playing the
outbound proxy (a trunk) on loopback. Digest authentication on a 407, the ACK for a 2xx and
again for its retransmission, the prompt's RTP, ivrd's BYE; busy (486 ACKed by the
transaction with the INVITE's branch); no answer (CANCEL after ring_timeout, 487 ACKed);
wrong credentials (auth refused after one retry); the INVITE retransmitted while nothing
answers (Timer A). Outcomes come from ivrctl and the journal's dial.* rows.

usage: test_outbound.py [--list | TEST...]
"""
import glob
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import SIPP_DIR, Ivrd, free_port, run  # noqa: E402

USER, PASSWORD = "ivrd", "s3cret-Pass"


def outbound_ivrd(name, proxy_port, password=PASSWORD, ring_timeout=2):
    return Ivrd(name, extra_sip=f"""outbound: {{ proxy = "udp:127.0.0.1:{proxy_port}";
        from = "sip:ivrd@callcenter.example"; username = "{USER}"; password = "{password}";
        realm = "callcenter.example"; ring_timeout = {ring_timeout}; max_outbound = 4; }};""")


def ivrctl(d, *args):
    p = subprocess.run([os.environ["IVRCTL"], "-c", d.conf, *args], capture_output=True,
                       text=True, timeout=90)
    return p.returncode, p.stdout, p.stderr


class Proxy:
    """SIPp as the outbound proxy, running a scenario of tests/data/sipp in the background."""

    def __init__(self, d, scenario, port, keys=None, timeout=30):
        self.dir = os.path.join(d.dir, f"sipp-{port}")
        os.makedirs(self.dir)
        cmd = ["sipp", "-sf", os.path.join(SIPP_DIR, scenario), "-i", "127.0.0.1",
               "-p", str(port), "-m", "1", "-nostdin", "-timeout", f"{timeout}s",
               "-timeout_error", "-trace_logs", "-trace_err"]
        for k, v in (keys or {}).items():
            cmd += ["-key", k, v]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, cwd=self.dir)

    def wait(self, timeout=40):
        out, _ = self.proc.communicate(timeout=timeout)
        errs = "".join(open(f).read()[-2000:] for f in glob.glob(self.dir + "/*_errors.log"))
        return self.proc.returncode, out[-2000:] + errs

    def log(self):
        return "".join(open(f).read() for f in glob.glob(self.dir + "/*_logs.log"))


def dial(d, number="5551234", *extra):
    rc, out, err = ivrctl(d, "dial", number, "--json", *extra)
    rows = json.loads(out) if out.strip() else []
    return rc, (rows[0] if rows else {}), err


class RtpSink:
    """A UDP port counting the RTP packets that reach it (the callee's media)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.packets = 0
        self.pcmu = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                pkt = self.sock.recv(2048)
            except socket.timeout:
                continue
            if len(pkt) >= 12 and pkt[0] >> 6 == 2:
                self.packets += 1
                if pkt[1] & 0x7F == 0:
                    self.pcmu += 1

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


def test_answered_after_auth():
    """401 -> INVITE again with Authorization (SIPp verifies it), 180, 200 -> ACK; the
    prompt's RTP reaches the callee; ivrd's BYE after it; journaled."""
    port = free_port()
    sink = RtpSink()
    with outbound_ivrd("out-answer", port) as d:
        d.start()
        px = Proxy(d, "outbound_auth_answer.xml", port,
                   keys={"user": USER, "pass": PASSWORD, "rtp_port": str(sink.port)})
        rc, r, err = dial(d, "5551234")
        prc, pout = px.wait()
        sink.close()
        assert prc == 0, f"SIPp (the proxy) failed: {pout}"
        assert rc == 0, f"ivrctl dial: {rc} {r} {err}"
        assert r["result"] == "answered" and r["sip_code"] == 200, r
        log = px.log()
        m = re.search(r"INVITE1 (branch=\S+) ACK401 (branch=\S+)", log)
        assert m and m.group(1) == m.group(2), f"ACK for the 401 not on the INVITE's branch: {log}"
        # the prompt (300 ms of tone, 20 ms frames) reached the callee's media port
        assert sink.pcmu >= 10, f"{sink.pcmu} PCMU packets reached the callee"
        start = d.wait_event("dial.start", call_id=r["call_id"])
        assert start["dnis"] == "5551234" and start["prompt"] == "common/goodbye", start
        res = d.wait_event("dial.result", call_id=r["call_id"])
        assert res["result"] == "answered" and res["detail"] == "sip 200", res
        end = d.wait_event("dial.end", call_id=r["call_id"])
        assert end["reason"] == "prompt played", end
        d.wait_log(r"INVITE again with credentials for realm callcenter\.example")
        # the password is never printed
        rc, out, err = ivrctl(d, "show", "config")
        assert rc == 0 and PASSWORD not in out and "password" in out, out


def test_busy():
    """180 then 486: the transaction ACKs it on the INVITE's branch; ivrctl says busy."""
    port = free_port()
    with outbound_ivrd("out-busy", port) as d:
        d.start()
        px = Proxy(d, "outbound_busy.xml", port)
        rc, r, err = dial(d, "5550000")
        prc, pout = px.wait()
        assert prc == 0, f"SIPp (the proxy) failed: {pout}"
        assert rc == 1 and r["result"] == "busy" and r["sip_code"] == 486, (rc, r, err)
        log = px.log()
        m = re.search(r"INVITE (branch=\S+) ACK (branch=\S+) CSEQ (\d+) ACK", log)
        assert m and m.group(1) == m.group(2), f"ACK for the 486 not on the INVITE's branch: {log}"
        res = d.wait_event("dial.result", call_id=r["call_id"])
        assert res["result"] == "busy" and res["detail"] == "sip 486", res
        assert not d.rows("SELECT * FROM events WHERE event = 'dial.end'")


def test_no_answer_cancel():
    """Ringing past ring_timeout: CANCEL with the INVITE's branch and CSeq number, 487 ACKed;
    ivrctl says no answer."""
    port = free_port()
    with outbound_ivrd("out-cancel", port, ring_timeout=1) as d:
        d.start()
        px = Proxy(d, "outbound_no_answer.xml", port)
        rc, r, err = dial(d, "5550001")
        prc, pout = px.wait()
        assert prc == 0, f"SIPp (the proxy) failed: {pout}"
        assert rc == 1 and r["result"] == "no answer" and r["sip_code"] == 487, (rc, r, err)
        assert r["reason"] == "no answer within 1 s", r
        log = px.log()
        m = re.search(r"INVITE (branch=\S+) CSEQ (\d+) CANCEL (branch=\S+) CSEQ (\d+) CANCEL", log)
        assert m and m.group(1) == m.group(3) and m.group(2) == m.group(4), log
        m2 = re.search(r"ACK487 (branch=\S+)", log)
        assert m2 and m2.group(1) == m.group(1), log
        res = d.wait_event("dial.result", call_id=r["call_id"])
        assert res["result"] == "no answer" and res["detail"] == "sip 487", res


def test_auth_refused():
    """407, the INVITE again with Proxy-Authorization, a second 407 (not stale): auth refused,
    no third INVITE."""
    port = free_port()
    with outbound_ivrd("out-authfail", port) as d:
        d.start()
        px = Proxy(d, "outbound_auth_refused.xml", port)
        rc, r, err = dial(d, "5550002")
        prc, pout = px.wait()
        assert prc == 0, f"SIPp (the proxy) failed: {pout}"
        assert rc == 1 and r["result"] == "auth refused" and r["sip_code"] == 407, (rc, r, err)
        assert r["reason"] == "authentication refused", r
        res = d.wait_event("dial.result", call_id=r["call_id"])
        assert res["result"] == "auth refused", res
        assert "PROXY-AUTHORIZATION" in px.log(), px.log()
        again = [ln for ln in d.lines if "INVITE again with credentials" in ln]
        assert len(again) == 1, again


def headers(msg):
    return {k.lower(): v for k, v in re.findall(r"^([A-Za-z-]+): (.*?)\r$", msg, re.M)}


def response(hdr, status, tag, extra="", body=""):
    return (f"SIP/2.0 {status}\r\nVia: {hdr['via']}\r\nFrom: {hdr['from']}\r\n"
            f"To: {hdr['to']};tag={tag}\r\nCall-ID: {hdr['call-id']}\r\nCSeq: {hdr['cseq']}\r\n"
            f"{extra}Content-Length: {len(body)}\r\n\r\n{body}").encode()


def recv_request(sock, method):
    while True:
        data, src = sock.recvfrom(65535)
        if data.startswith(method.encode() + b" "):
            return data.decode(), src


def dial_in_thread(d, number):
    result = {}

    def go():
        result.update(zip(("rc", "r", "err"), dial(d, number)))
    t = threading.Thread(target=go)
    t.start()
    return t, result


def test_2xx_retransmitted():
    """A 200 sent again (its ACK lost) is ACKed again, with the ACK of the first; then the
    prompt and ivrd's BYE through the proxy. A plain socket plays the proxy: SIPp would take
    the second ACK for a retransmission of its own."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)
    port = sock.getsockname()[1]
    sink = RtpSink()
    with outbound_ivrd("out-reack", port) as d:
        d.start()
        t, result = dial_in_thread(d, "5550004")
        inv, src = recv_request(sock, "INVITE")
        hdr = headers(inv)
        sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
               f"m=audio {sink.port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
        ok = response(hdr, "200 OK", "callee1",
                      f"Contact: <sip:callee@127.0.0.1:{port}>\r\nContent-Type: application/sdp\r\n",
                      sdp)
        sock.sendto(ok, src)
        ack1, _ = recv_request(sock, "ACK")
        sock.sendto(ok, src)
        ack2, _ = recv_request(sock, "ACK")
        assert ack1 == ack2, (ack1, ack2)
        inv_branch = re.search(r"branch=([^;\s]+)", inv).group(1)
        ack_branch = re.search(r"branch=([^;\s]+)", ack1).group(1)
        assert ack_branch != inv_branch, "the ACK for a 2xx is a new transaction"
        ah = headers(ack1)
        assert ah["cseq"] == hdr["cseq"].split()[0] + " ACK" and "tag=callee1" in ah["to"], ah
        assert ack1.startswith(f"ACK sip:callee@127.0.0.1:{port} SIP/2.0"), ack1
        bye, src = recv_request(sock, "BYE")
        bh = headers(bye)
        assert bh["call-id"] == hdr["call-id"] and "tag=callee1" in bh["to"], bh
        assert int(bh["cseq"].split()[0]) == int(hdr["cseq"].split()[0]) + 1, bh
        sock.sendto(response(bh, "200 OK", "callee1").replace(b";tag=callee1;tag=callee1",
                                                               b";tag=callee1"), src)
        t.join(30)
        sock.close()
        sink.close()
        assert result["rc"] == 0 and result["r"]["result"] == "answered", result
        assert sink.pcmu >= 10, sink.pcmu
        d.wait_event("dial.end", call_id=result["r"]["call_id"], reason="prompt played")


def test_invite_retransmitted():
    """Nothing answers at first: the INVITE comes again on the same branch at growing
    intervals (Timer A); a 503 then ends it, ACKed on that branch: unreachable."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)
    port = sock.getsockname()[1]
    with outbound_ivrd("out-timera", port) as d:
        d.start()
        result = {}
        t = threading.Thread(target=lambda: result.update(zip(("rc", "r", "err"),
                                                              dial(d, "5550003"))))
        t.start()
        invites, when = [], []
        while len(invites) < 3:
            data, src = sock.recvfrom(65535)
            invites.append(data.decode())
            when.append(time.monotonic())
        branches = {re.search(r"branch=([^;\s]+)", m).group(1) for m in invites}
        assert len(branches) == 1, branches
        assert all(m.startswith("INVITE sip:5550003@127.0.0.1:") for m in invites), invites[0]
        # doubling: the second gap is longer than the first (T1, then 2*T1)
        assert when[2] - when[1] > when[1] - when[0], when
        inv = invites[0]
        hdr = {k.lower(): v for k, v in re.findall(r"^([A-Za-z-]+): (.*?)\r$", inv, re.M)}
        assert hdr["route"] == f"<sip:127.0.0.1:{port};lr>", hdr
        assert hdr["max-forwards"] == "70" and "application/sdp" in hdr["content-type"], hdr
        resp = (f"SIP/2.0 503 Service Unavailable\r\nVia: {hdr['via']}\r\nFrom: {hdr['from']}\r\n"
                f"To: {hdr['to']};tag=px1\r\nCall-ID: {hdr['call-id']}\r\nCSeq: {hdr['cseq']}\r\n"
                "Content-Length: 0\r\n\r\n")
        sock.sendto(resp.encode(), src)
        ack, _ = recv_request(sock, "ACK")
        # the 503 again: the transaction (Timer D) ACKs it again
        sock.sendto(resp.encode(), src)
        ack2, _ = recv_request(sock, "ACK")
        assert ack2 == ack, (ack, ack2)
        assert re.search(r"branch=([^;\s]+)", ack).group(1) in branches, ack
        assert f"CSeq: {hdr['cseq'].split()[0]} ACK" in ack and "tag=px1" in ack, ack
        t.join(30)
        sock.close()
        assert result["rc"] == 1 and result["r"]["result"] == "unreachable", result
        assert result["r"]["sip_code"] == 503, result


def test_refused_without_proxy():
    """No outbound proxy configured: ivrctl dial is refused with why; a bad number too."""
    with Ivrd("out-off") as d:
        d.start()
        rc, out, err = ivrctl(d, "dial", "5551234")
        assert rc == 1 and "ivrd.sip.outbound.proxy" in err, (rc, out, err)
    port = free_port()
    with outbound_ivrd("out-badnum", port) as d:
        d.start()
        rc, out, err = ivrctl(d, "dial", "55x12")
        assert rc == 1 and "is not a number" in err, (rc, out, err)
        rc, out, err = ivrctl(d, "dial", "5551234", "--prompt", "no/such")
        assert rc == 1 and "no prompt named" in err, (rc, out, err)


if __name__ == "__main__":
    run([test_answered_after_auth, test_busy, test_no_answer_cancel, test_auth_refused,
         test_2xx_retransmitted, test_invite_retransmitted, test_refused_without_proxy])

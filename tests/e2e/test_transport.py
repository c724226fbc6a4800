#!/usr/bin/env python3
"""SIP over TCP and IPv6, stream framing (RFC 3261 18.3, RFC 5626 keep-alives), TCP limits,
loose and strict routing (RFC 3261 12.2.1.1) and compact header forms (7.3.3), with SIPp
and raw sockets against the real ivrd."""
import os
import re
import select
import socket
import struct
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, call_ids, run, sipp  # noqa: E402
from scenario import expect_bye, hangup, invite, keys, notify, pause, refer, write  # noqa: E402

BOTH = ["udp:127.0.0.1", "tcp:127.0.0.1"]
SIX = ["udp:[::1]", "tcp:[::1]"]


def metric(d, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/metrics", timeout=10) as r:
        body = r.read().decode()
    m = re.search(rf"^{re.escape(name)} (\d+)", body, re.M)
    assert m, f"no {name} in /metrics"
    return int(m.group(1))


def over_tcp(steps):
    """A caller scenario that checks ivrd's 200 OK and REFER say TCP (Contact, Via)."""
    return steps.replace(
        '<log message="answer [$mline]"/>',
        '<log message="answer [$mline]"/>\n'
        '      <ereg regexp="transport=tcp" search_in="hdr" header="Contact:" check_it="true"'
        ' assign_to="ctcp"/>\n      <log message="contact [$ctcp]"/>').replace(
        '<log message="REFER to [$referto]"/>',
        '<log message="REFER to [$referto]"/>\n'
        '      <ereg regexp="SIP/2.0/TCP" search_in="hdr" header="Via:" check_it="true"'
        ' assign_to="vtcp"/>\n      <log message="via [$vtcp]"/>')


def transfer_call(d, transport="t1", host="127.0.0.1", check_tcp=True):
    steps = [invite(), keys("2"), refer("billing"), notify("100 Trying", 2, terminated=False),
             notify("200 OK", 3), expect_bye()]
    if check_tcp:
        steps = [over_tcp(s) for s in steps]
    sc = write(d, f"x-{transport}-{host.replace(':', '')}.xml", *steps, timewait=2000)
    rc, out, _ = sipp(d, sc, transport=transport, host=host)
    assert rc == 0, out
    d.wait_event("call.end", result="transferred")
    (cid,) = call_ids(d)
    keys_ = [e["key"] for e in d.events(cid) if e["event"] == "key"]
    assert keys_ == ["2"], d.events(cid)


def test_tcp_call_transfer():
    with Ivrd("tcp-call", listen=BOTH).start() as d:
        transfer_call(d)
        assert metric(d, "ivrd_sip_tcp_accepted_total") == 1


def test_tcp_several_calls_one_connection():
    with Ivrd("tcp-multi", listen=BOTH).start() as d:
        sc = write(d, "s.xml", invite(), pause(300), hangup(), timewait=2000)
        rc, out, _ = sipp(d, sc, transport="t1", calls=3, extra=["-l", "3"])
        assert rc == 0, out
        ends = d.rows("SELECT * FROM events WHERE event = 'call.end'")
        assert len(ends) == 3 and all(e["result"] == "dropped" for e in ends), ends
        assert metric(d, "ivrd_sip_tcp_accepted_total") == 1


def test_tcp_connection_per_call():
    with Ivrd("tcp-tn", listen=BOTH).start() as d:
        sc = write(d, "s.xml", invite(), pause(300), hangup(), timewait=2000)
        rc, out, _ = sipp(d, sc, transport="tn", calls=2, extra=["-l", "2", "-max_socket", "100"])
        assert rc == 0, out
        assert len(d.rows("SELECT * FROM events WHERE event = 'call.end'")) == 2
        assert metric(d, "ivrd_sip_tcp_accepted_total") == 2


def test_ipv6_udp_call():
    with Ivrd("v6-udp", listen=SIX, rtp_address="::1").start() as d:
        transfer_call(d, transport="u1", host="::1", check_tcp=False)


def test_ipv6_tcp_call():
    with Ivrd("v6-tcp", listen=SIX, rtp_address="::1").start() as d:
        transfer_call(d, transport="t1", host="::1")


# --- raw sockets ------------------------------------------------------------------------

def options(port, n=1, cid="opt", host="127.0.0.1", length=True):
    hp = f"[{host}]" if ":" in host else host
    return (f"OPTIONS sip:ivr@{hp}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/TCP {hp}:9;branch=z9hG4bK{cid}{n}\r\n"
            f"From: <sip:t@{hp}>;tag=f{n}\r\nTo: <sip:ivr@{hp}>\r\n"
            f"Call-ID: {cid}{n}@test\r\nCSeq: {n} OPTIONS\r\nMax-Forwards: 70\r\n"
            + ("Content-Length: 0\r\n" if length else "") + "\r\n").encode()


class Conn:
    """A TCP connection to ivrd that reads whole responses (framed by Content-Length)."""

    def __init__(self, d, host="127.0.0.1"):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.settimeout(10)
        self.s.connect((host, d.sip_port))
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise EOFError("closed by ivrd")
        self.buf += chunk

    def message(self):
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, rest = self.buf.split(b"\r\n\r\n", 1)
        m = re.search(rb"^(?:Content-Length|l)\s*:\s*(\d+)", head, re.M | re.I)
        n = int(m.group(1)) if m else 0
        while len(rest) < n:
            self.fill()
            head, rest = self.buf.split(b"\r\n\r\n", 1)
        self.buf = rest[n:]
        return head.decode() + "\r\n\r\n" + rest[:n].decode()

    def closed(self, timeout=10):
        """True once ivrd has closed the connection (EOF or reset) within timeout."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r, _, _ = select.select([self.s], [], [], end - time.monotonic())
            if not r:
                break
            try:
                if not self.s.recv(65536):
                    return True
            except ConnectionResetError:
                return True
        return False

    def close(self):
        self.s.close()


def status(msg):
    return int(msg.split(" ", 2)[1])


def test_framing_two_messages_in_one_send():
    with Ivrd("frame-two", listen=BOTH).start() as d:
        c = Conn(d)
        c.send(options(d.sip_port, 1) + options(d.sip_port, 2))
        a, b = c.message(), c.message()
        assert status(a) == 200 and status(b) == 200, (a, b)
        assert "CSeq: 1 OPTIONS" in a and "CSeq: 2 OPTIONS" in b, (a, b)
        c.close()


def test_framing_one_message_in_many_sends():
    with Ivrd("frame-split", listen=BOTH).start() as d:
        c = Conn(d)
        msg = options(d.sip_port, 1)
        for i in range(len(msg)):
            c.send(msg[i:i + 1])
            time.sleep(0.002)  # separate segments, not a wait for a condition
        r = c.message()
        assert status(r) == 200 and "Via: SIP/2.0/TCP" in r, r
        # and the connection still works after it
        c.send(options(d.sip_port, 2))
        assert status(c.message()) == 200
        c.close()


def test_keepalive_ping_gets_pong():
    with Ivrd("frame-ping", listen=BOTH).start() as d:
        c = Conn(d)
        c.send(b"\r\n\r\n")
        while len(c.buf) < 2:
            c.fill()
        assert c.buf == b"\r\n", c.buf
        c.buf = b""
        # leading CRLFs before a message are ignored
        c.send(b"\r\n" + options(d.sip_port, 1))
        assert status(c.message()) == 200
        c.close()


def test_missing_content_length_gets_400_and_close():
    with Ivrd("frame-nolen", listen=BOTH).start() as d:
        c = Conn(d)
        c.send(options(d.sip_port, 1, length=False))
        r = c.message()
        assert status(r) == 400 and "Content-Length" in r.split("\r\n")[0], r
        assert c.closed(), "ivrd kept the connection open"
        d.wait_log(r"malformed message from 127\.0\.0\.1:\d+: no Content-Length")


def test_no_retransmission_of_final_over_tcp():
    """RFC 3261 17.2.1: Timer G is not armed over TCP: a 488 is sent once."""
    with Ivrd("tcp-488", listen=BOTH).start() as d:
        c = Conn(d)
        body = SDP.format(port=4000).replace("0 101", "18 101")
        p = d.sip_port
        c.send((f"INVITE sip:18005550100@127.0.0.1:{p} SIP/2.0\r\n"
                f"Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK488\r\n"
                f"From: <sip:5551234@127.0.0.1>;tag=f\r\nTo: <sip:18005550100@127.0.0.1>\r\n"
                f"Call-ID: tcp488@test\r\nCSeq: 1 INVITE\r\n"
                f"Contact: <sip:5551234@127.0.0.1:9;transport=tcp>\r\nMax-Forwards: 70\r\n"
                f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n"
                + body).encode())
        codes = [status(c.message()), status(c.message())]
        assert codes == [100, 488], codes
        # over UDP it would come again at 0.5 s and 1.5 s
        r, _, _ = select.select([c.s], [], [], 1.7)
        assert not r and not c.buf, "488 retransmitted over TCP"
        c.close()


def test_header_block_too_large_gets_413_and_close():
    with Ivrd("frame-big", listen=BOTH, extra_sip="max_message_size = 2048;").start() as d:
        c = Conn(d)
        head = options(d.sip_port, 1, length=False)[:-2]  # without the empty line
        c.send(head + b"X-Pad: " + b"a" * 3000 + b"\r\n")
        r = c.message()
        assert status(r) == 413, r
        assert c.closed(), "ivrd kept the connection open"


def test_garbage_closes_only_its_connection():
    with Ivrd("frame-garbage", listen=BOTH).start() as d:
        good = Conn(d)
        result = {}

        def call():
            sc = write(d, "s.xml", invite(), pause(1500), hangup(), timewait=2000)
            result["sipp"] = sipp(d, sc, transport="t1")

        t = threading.Thread(target=call)
        t.start()
        d.wait_event("call.start")
        bad = Conn(d)
        bad.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert bad.closed(), "garbage did not close its connection"
        d.wait_log(r"not SIP on a stream")
        t.join(60)
        rc, out, _ = result["sipp"]
        assert rc == 0, out
        assert d.wait_event("call.end")["result"] == "dropped"
        # an idle connection of another peer is untouched
        good.send(options(d.sip_port, 1))
        assert status(good.message()) == 200
        good.close()


def test_max_connections_refused():
    with Ivrd("tcp-max", listen=BOTH, extra_sip="max_connections = 2;").start() as d:
        a, b = Conn(d), Conn(d)
        for n, c in enumerate((a, b)):
            c.send(options(d.sip_port, n + 1))
            assert status(c.message()) == 200
        third = Conn(d)
        assert third.closed(), "a third connection was kept"
        d.wait_log(r"tcp connection refused: max_connections 2 reached")
        assert metric(d, "ivrd_sip_tcp_refused_total") == 1
        a.send(options(d.sip_port, 3))
        assert status(a.message()) == 200
        for c in (a, b, third):
            c.close()


def test_idle_connection_closed():
    with Ivrd("tcp-idle", listen=BOTH, extra_sip="tcp_idle_timeout = 1;").start() as d:
        c = Conn(d)
        c.send(options(d.sip_port, 1))
        assert status(c.message()) == 200
        assert c.closed(timeout=15), "idle connection was not closed"
        assert metric(d, "ivrd_sip_tcp_closed_total") == 1
        assert metric(d, "ivrd_sip_tcp_connections") == 0


def test_connection_of_live_call_kept_past_idle_timeout():
    with Ivrd("tcp-idle-call", listen=BOTH, extra_sip="tcp_idle_timeout = 1;",
              prompt_ms=3000).start() as d:
        sc = write(d, "s.xml", invite(), pause(3500), hangup(), timewait=2000)
        rc, out, _ = sipp(d, sc, transport="t1")
        assert rc == 0, out  # the BYE after 3.5 s went over the same connection
        assert d.wait_event("call.end")["result"] == "dropped"
        assert metric(d, "ivrd_sip_tcp_accepted_total") == 1


def test_response_after_connection_closed_goes_to_via():
    """The caller closes its connection while ringing: the 200 OK goes over a new
    connection to its Via sent-by (RFC 3261 18.2.2); the call goes on, and ivrd's REFER
    and BYE use that connection too (its Contact's address)."""
    with Ivrd("tcp-via", listen=BOTH, answer_delay=1).start() as d:
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(4)
        lsock.settimeout(20)
        pl = lsock.getsockname()[1]
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind(("127.0.0.1", 0))
        body = SDP.format(port=rtp.getsockname()[1])
        p = d.sip_port

        def req(method, cseq, to_tag="", extra="", ctype=None, body=""):
            lines = [f"{method} sip:18005550100@127.0.0.1:{p} SIP/2.0",
                     f"Via: SIP/2.0/TCP 127.0.0.1:{pl};branch=z9hG4bK{method}{cseq};rport",
                     f"From: <sip:5551234@127.0.0.1:{pl}>;tag=caller",
                     f"To: <sip:18005550100@127.0.0.1:{p}>{to_tag}",
                     f"Call-ID: via-{pl}@test", f"CSeq: {cseq} {method}",
                     f"Contact: <sip:5551234@127.0.0.1:{pl};transport=tcp>", "Max-Forwards: 70"]
            if extra:
                lines.append(extra)
            if ctype:
                lines.append(f"Content-Type: {ctype}")
            lines.append(f"Content-Length: {len(body)}")
            return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

        c = Conn(d)
        c.send(req("INVITE", 1, ctype="application/sdp", body=body))
        assert c.message().startswith("SIP/2.0 100"), "no 100 Trying"
        c.close()
        conn, _ = lsock.accept()
        conn.settimeout(20)
        back = Conn.__new__(Conn)
        back.s, back.buf = conn, b""
        while True:
            msg = back.message()
            if msg.startswith("SIP/2.0 200"):
                break
            assert msg.startswith("SIP/2.0 18"), msg
        _, hdrs = parse(msg)
        tag = ";tag=" + hdrs["to"][0].split(";tag=")[1]
        assert "transport=tcp" in hdrs["contact"][0], hdrs
        ivr_rtp = ("127.0.0.1", int(re.search(r"m=audio (\d+)", msg).group(1)))
        conn.sendall(req("ACK", 1, to_tag=tag))
        d.wait_log(r"state ringing -> menu")
        send_dtmf(rtp, ivr_rtp, "2")
        refer_msg = back.message()
        assert refer_msg.startswith("REFER sip:5551234@127.0.0.1:"), refer_msg
        respond(conn, refer_msg, None, "202 Accepted", stream=True)
        conn.sendall(req("NOTIFY", 2, to_tag=tag, extra="Event: refer\r\n"
                         "Subscription-State: terminated;reason=noresource",
                         ctype="message/sipfrag;version=2.0", body="SIP/2.0 200 OK\r\n"))
        while True:
            msg = back.message()
            if msg.startswith("BYE "):
                break
            assert msg.startswith("SIP/2.0 200"), msg
        respond(conn, msg, None, stream=True)
        d.wait_event("call.end", result="transferred")
        assert metric(d, "ivrd_sip_tcp_connected_total") == 1
        conn.close()
        lsock.close()


# --- routing and compact forms, with a hand-made caller ---------------------------------

SDP = ("v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
       "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n")


def parse(msg):
    head = msg.split("\r\n\r\n", 1)[0].split("\r\n")
    hdrs = {}
    for line in head[1:]:
        k, v = line.split(":", 1)
        hdrs.setdefault(k.strip().lower(), []).append(v.strip())
    return head[0], hdrs


def send_dtmf(rtp, dst, key):
    """RFC 4733 key press: three packets, the last three with the end bit."""
    ev = "0123456789*#".index(key)
    for i in range(6):
        end = 0x80 if i >= 3 else 0
        pkt = struct.pack("!BBHII", 0x80, (0x80 if i == 0 else 0) | 101, 1000 + i, 8000,
                          0x1234) + struct.pack("!BBH", ev, end | 10, 160 * (i + 1 if i < 3 else 3))
        rtp.sendto(pkt, dst)


class Caller:
    """A UDP caller that puts a Record-Route in its INVITE, as a proxy would."""

    def __init__(self, d, record_route, compact=False):
        self.d = d
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind(("127.0.0.1", 0))
        self.sip.settimeout(10)
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))
        self.port = self.sip.getsockname()[1]
        self.rr = record_route
        self.compact = compact
        self.cid = f"route-{self.port}@test"

    def h(self, name):
        short = {"Via": "v", "From": "f", "To": "t", "Call-ID": "i", "Contact": "m",
                 "Content-Type": "c", "Content-Length": "l", "Event": "o", "Supported": "k",
                 "Subject": "s"}
        return short[name] if self.compact else name

    def request(self, method, cseq, to_tag="", extra="", ctype=None, body=""):
        p = self.d.sip_port
        lines = [f"{method} sip:18005550100@127.0.0.1:{p} SIP/2.0",
                 f"{self.h('Via')}: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{method}{cseq};rport",
                 f"{self.h('From')}: <sip:5551234@127.0.0.1:{self.port}>;tag=caller",
                 f"{self.h('To')}: <sip:18005550100@127.0.0.1:{p}>{to_tag}",
                 f"{self.h('Call-ID')}: {self.cid}", f"CSeq: {cseq} {method}",
                 f"{self.h('Contact')}: <sip:5551234@127.0.0.1:{self.port}>", "Max-Forwards: 70"]
        if extra:
            lines.append(extra)
        if ctype:
            lines.append(f"{self.h('Content-Type')}: {ctype}")
        lines.append(f"{self.h('Content-Length')}: {len(body)}")
        self.sip.sendto(("\r\n".join(lines) + "\r\n\r\n" + body).encode(),
                        ("127.0.0.1", self.d.sip_port))

    def recv(self, sock=None):
        data, src = (sock or self.sip).recvfrom(65536)
        return data.decode(), src

    def call(self):
        """INVITE, 200, ACK; returns the To tag and ivrd's RTP address."""
        rr = f"Record-Route: {self.rr}\r\n" if self.rr else ""
        self.request("INVITE", 1, extra=rr + f"{self.h('Subject')}: test\r\n"
                     f"{self.h('Supported')}: timer", ctype="application/sdp",
                     body=SDP.format(port=self.rtp.getsockname()[1]))
        while True:
            msg, _ = self.recv()
            start, hdrs = parse(msg)
            if start.startswith("SIP/2.0 200"):
                break
            assert start.startswith("SIP/2.0 1"), msg
        to = hdrs["to"][0]
        tag = ";tag=" + to.split(";tag=")[1]
        body = msg.split("\r\n\r\n", 1)[1]
        rport = int(re.search(r"m=audio (\d+)", body).group(1))
        self.request("ACK", 1, to_tag=tag)
        return tag, ("127.0.0.1", rport)


def respond(sock, msg, dst, code="200 OK", stream=False):
    _, hdrs = parse(msg)
    lines = [f"SIP/2.0 {code}"] + [f"Via: {v}" for v in hdrs["via"]] + [
        f"From: {hdrs['from'][0]}", f"To: {hdrs['to'][0]}", f"Call-ID: {hdrs['call-id'][0]}",
        f"CSeq: {hdrs['cseq'][0]}", "Content-Length: 0"]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode()
    if stream:
        sock.sendall(data)
    else:
        sock.sendto(data, dst)


def finish_transfer(caller, tag, proxy_recv, proxy_send):
    """REFER came (answered 202 by proxy_send); NOTIFY 200; the BYE arrives at the proxy."""
    caller.request("NOTIFY", 2, to_tag=tag, extra=f"{caller.h('Event')}: refer\r\n"
                   "Subscription-State: terminated;reason=noresource",
                   ctype="message/sipfrag;version=2.0", body="SIP/2.0 200 OK\r\n")
    while True:
        msg, _ = caller.recv()
        if msg.startswith("SIP/2.0 200") and "NOTIFY" in msg:
            break
    bye = proxy_recv()
    assert bye.startswith("BYE "), bye
    proxy_send(bye)
    return bye


def test_loose_route_over_tcp():
    """Record-Route <...;transport=tcp;lr>: REFER and BYE go to that proxy over a new TCP
    connection ivrd opens, Request-URI the caller's Contact, Route the route set."""
    with Ivrd("route-loose", listen=BOTH).start() as d:
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(4)
        lsock.settimeout(20)
        pport = lsock.getsockname()[1]
        route = f"<sip:127.0.0.1:{pport};transport=tcp;lr>"
        caller = Caller(d, route)
        tag, rtp = caller.call()
        send_dtmf(caller.rtp, rtp, "2")
        conn, _ = lsock.accept()
        conn.settimeout(20)
        reader = Conn.__new__(Conn)
        reader.s, reader.buf = conn, b""
        refer_msg = reader.message()
        start, hdrs = parse(refer_msg)
        assert start == f"REFER sip:5551234@127.0.0.1:{caller.port} SIP/2.0", start
        assert hdrs["route"] == [route], hdrs
        assert hdrs["via"][0].startswith("SIP/2.0/TCP 127.0.0.1:"), hdrs["via"]
        # RFC 3261 17.1.2.2: no Timer E over TCP (over UDP: again at 0.5 s and 1.5 s)
        r, _, _ = select.select([conn], [], [], 1.2)
        assert not r and not reader.buf, "REFER retransmitted over TCP"
        respond(conn, refer_msg, None, "202 Accepted", stream=True)
        bye = finish_transfer(caller, tag, reader.message,
                              lambda m: respond(conn, m, None, stream=True))
        start, hdrs = parse(bye)
        assert hdrs["route"] == [route], hdrs
        d.wait_event("call.end", result="transferred")
        conn.close()
        lsock.close()


def test_strict_route():
    """Record-Route without ;lr: the router's URI is the Request-URI and the caller's
    Contact the last Route (RFC 3261 12.2.1.1)."""
    with Ivrd("route-strict").start() as d:
        proxy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        proxy.bind(("127.0.0.1", 0))
        proxy.settimeout(20)
        pport = proxy.getsockname()[1]
        caller = Caller(d, f"<sip:127.0.0.1:{pport}>")
        tag, rtp = caller.call()
        send_dtmf(caller.rtp, rtp, "2")
        refer_msg, src = caller.recv(proxy)
        start, hdrs = parse(refer_msg)
        assert start == f"REFER sip:127.0.0.1:{pport} SIP/2.0", start
        assert hdrs["route"] == [f"<sip:5551234@127.0.0.1:{caller.port}>"], hdrs
        respond(proxy, refer_msg, src, "202 Accepted")
        finish_transfer(caller, tag, lambda: caller.recv(proxy)[0],
                        lambda m: respond(proxy, m, src))
        d.wait_event("call.end", result="transferred")


def test_compact_form_call():
    """INVITE, ACK and NOTIFY in compact forms (v: f: t: i: m: c: l: o: k: s:)."""
    with Ivrd("compact").start() as d:
        caller = Caller(d, None, compact=True)
        tag, rtp = caller.call()
        send_dtmf(caller.rtp, rtp, "2")
        refer_msg, src = caller.recv()
        assert refer_msg.startswith("REFER "), refer_msg
        respond(caller.sip, refer_msg, src, "202 Accepted")
        finish_transfer(caller, tag, lambda: caller.recv()[0],
                        lambda m: respond(caller.sip, m, src))
        d.wait_event("call.end", result="transferred")


def compact_steps(text):
    """A SIPp scenario's requests with compact header names."""
    names = {"Via": "v", "From": "f", "To": "t", "Call-ID": "i", "Contact": "m",
             "Content-Type": "c", "Content-Length": "l", "Event": "o"}
    return re.sub(r"^(\s+)(Via|From|To|Call-ID|Contact|Content-Type|Content-Length|Event):",
                  lambda m: f"{m.group(1)}{names[m.group(2)]}:", text, flags=re.M)


def test_compact_form_call_over_tcp():
    with Ivrd("compact-tcp", listen=BOTH).start() as d:
        steps = [compact_steps(invite()), keys("2"), refer("billing"),
                 compact_steps(notify("200 OK", 2)), expect_bye()]
        sc = write(d, "s.xml", *steps, timewait=2000)
        rc, out, _ = sipp(d, sc, transport="t1")
        assert rc == 0, out
        d.wait_event("call.end", result="transferred")


if __name__ == "__main__":
    run([test_tcp_call_transfer, test_tcp_several_calls_one_connection,
         test_tcp_connection_per_call, test_ipv6_udp_call, test_ipv6_tcp_call,
         test_framing_two_messages_in_one_send, test_framing_one_message_in_many_sends,
         test_keepalive_ping_gets_pong, test_missing_content_length_gets_400_and_close,
         test_no_retransmission_of_final_over_tcp,
         test_header_block_too_large_gets_413_and_close, test_garbage_closes_only_its_connection,
         test_max_connections_refused, test_idle_connection_closed,
         test_connection_of_live_call_kept_past_idle_timeout,
         test_response_after_connection_closed_goes_to_via, test_loose_route_over_tcp,
         test_strict_route, test_compact_form_call, test_compact_form_call_over_tcp])

#!/usr/bin/env python3
"""SIP edge cases against the real ivrd, from a small raw-UDP SIP client written here: every
request is text we build, every response is read back off the socket and parsed. What each
test expects is RFC 3261 (and RFC 3264 for the SDP answer), section named where it matters.

usage: test_sip.py [--list | TEST...]
"""
import os
import random
import re
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, call_ids, free_even_pair, menus_conf, run, sipp  # noqa: E402
from scenario import expect_bye, invite, keys, notify, refer, write  # noqa: E402

SERVICE = "18005550100"
ALLOW = ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "NOTIFY", "UPDATE", "INFO"]
# RFC 3261 17.1.1.2: T1; ivrd's 2xx retransmissions go T1, 2*T1, 4*T1...
T1 = 0.5
# The full names of the compact header forms (RFC 3261 7.3.3) we may read back.
COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
           "l": "content-length", "c": "content-type", "k": "supported", "s": "subject"}


class Msg:
    """A parsed SIP message: start line, headers in order (names lower-cased), body."""

    def __init__(self, data):
        self.raw = data
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        self.first = lines[0]
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:  # RFC 3261 7.3.1 folding
                name, value = self.headers[-1]
                self.headers[-1] = (name, value + " " + line.strip())
                continue
            name, _, value = line.partition(":")
            name = name.strip().lower()
            self.headers.append((COMPACT.get(name, name), value.strip()))
        self.body = body.decode("utf-8", "replace")
        m = re.match(r"SIP/2\.0 (\d{3}) (.*)$", self.first)
        self.code = int(m.group(1)) if m else None
        self.reason = m.group(2) if m else None
        self.method = None if m else self.first.split(" ", 1)[0]

    def hdr(self, name):
        for n, v in self.headers:
            if n == name.lower():
                return v
        return None

    def hdrs(self, name):
        return [v for n, v in self.headers if n == name.lower()]

    def tag(self, name):
        m = re.search(r";\s*tag=([^;>\s]+)", self.hdr(name) or "")
        return m.group(1) if m else None

    def cseq(self):
        num, method = (self.hdr("cseq") or "0 ?").split()
        return int(num), method

    def __repr__(self):
        return f"<{self.first}>"


def sdp_offer(port, codecs="0 101", ip="127.0.0.1", extra_media=""):
    names = {"0": "PCMU/8000", "8": "PCMA/8000", "18": "G729/8000",
             "101": "telephone-event/8000"}
    rtpmap = "".join(f"a=rtpmap:{pt} {names[pt]}\r\n" for pt in codecs.split() if pt in names)
    return (f"v=0\r\no=raw 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP {codecs}\r\n{rtpmap}a=ptime:20\r\na=sendrecv\r\n"
            f"{extra_media}")


def token():
    return "%016x" % random.getrandbits(64)


class Client:
    """A UDP SIP user agent on 127.0.0.1 that talks to one ivrd."""

    def __init__(self, ivrd):
        self.ivrd = ivrd
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.dst = ("127.0.0.1", ivrd.sip_port)
        self.queue = []  # received, not yet taken by expect()

    def close(self):
        self.sock.close()

    def send(self, text):
        data = text.encode() if isinstance(text, str) else text
        self.sock.sendto(data, self.dst)

    def request(self, method, ruri=None, call_id=None, from_tag=None, to_tag=None, cseq=1,
                cseq_method=None, branch=None, headers=(), body=None,
                ctype="application/sdp", omit=(), max_forwards=70, contact=True):
        """Builds a request as text. omit names headers to leave out (lower case)."""
        ruri = ruri or f"sip:{SERVICE}@127.0.0.1:{self.ivrd.sip_port}"
        branch = branch or "z9hG4bK" + token()
        hdrs = [
            ("via", f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={branch};rport"),
            ("max-forwards", f"Max-Forwards: {max_forwards}"),
            ("from", f"From: \"raw\" <sip:5551234@127.0.0.1:{self.port}>;tag="
                     f"{from_tag or token()}"),
            ("to", f"To: <sip:{SERVICE}@127.0.0.1:{self.ivrd.sip_port}>"
                   + (f";tag={to_tag}" if to_tag else "")),
            ("call-id", f"Call-ID: {call_id or token() + '@raw'}"),
            ("cseq", f"CSeq: {cseq} {cseq_method or method}"),
        ]
        if contact:
            hdrs.append(("contact", f"Contact: <sip:5551234@127.0.0.1:{self.port}>"))
        hdrs += [(h.split(":", 1)[0].lower(), h) for h in headers]
        if body is not None and ctype is not None:
            hdrs.append(("content-type", f"Content-Type: {ctype}"))
        body = body or ""
        hdrs.append(("content-length", f"Content-Length: {len(body.encode())}"))
        lines = [f"{method} {ruri} SIP/2.0"] + [h for n, h in hdrs if n not in omit]
        return "\r\n".join(lines) + "\r\n\r\n" + body

    def _recv(self, timeout):
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data, _ = self.sock.recvfrom(70000)
        except socket.timeout:
            return None
        return Msg(data)

    def expect(self, pred, timeout=5.0, what="a message"):
        """The first received message pred accepts (earlier ones stay queued)."""
        for i, m in enumerate(self.queue):
            if pred(m):
                return self.queue.pop(i)
        end = time.monotonic() + timeout
        while True:
            m = self._recv(end - time.monotonic())
            if m is None:
                raise AssertionError(f"no {what} within {timeout} s; got {self.queue}")
            if pred(m):
                return m
            self.queue.append(m)

    def collect(self, pred, seconds):
        """Every message pred accepts within seconds, with its arrival time."""
        got = []
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return got
            m = self._recv(left)
            if m is None:
                return got
            if pred(m):
                got.append((time.monotonic(), m))
            else:
                self.queue.append(m)

    def response(self, call_id, method, code=None, timeout=5.0):
        """The next response for this Call-ID and CSeq method (a final one unless code)."""
        def ok(m):
            return (m.code is not None and m.hdr("call-id") == call_id
                    and m.cseq()[1] == method
                    and (m.code == code if code else m.code >= 200))
        return self.expect(ok, timeout, f"{code or 'final'} response to {method}")

    def ask(self, method, code=None, timeout=5.0, **kw):
        """Sends a request, returns its final response (or the one with code)."""
        call_id = kw.pop("call_id", None) or token() + "@raw"
        self.send(self.request(method, call_id=call_id, **kw))
        return self.response(call_id, kw.get("cseq_method") or method, code, timeout)

    def reply(self, req, code, reason, to_tag=None, body=None, ctype=None):
        """Answers a request ivrd sent us, echoing its Via, From, To, Call-ID, CSeq."""
        lines = [f"SIP/2.0 {code} {reason}"]
        lines += [f"Via: {v}" for v in req.hdrs("via")]
        to = req.hdr("to") + (f";tag={to_tag}" if to_tag and not req.tag("to") else "")
        lines += [f"From: {req.hdr('from')}", f"To: {to}", f"Call-ID: {req.hdr('call-id')}",
                  f"CSeq: {req.hdr('cseq')}",
                  f"Contact: <sip:5551234@127.0.0.1:{self.port}>"]
        if body is not None:
            lines.append(f"Content-Type: {ctype}")
        body = body or ""
        lines.append(f"Content-Length: {len(body)}")
        self.send("\r\n".join(lines) + "\r\n\r\n" + body)

    def ack_error(self, inv, resp):
        """RFC 3261 17.1.1.3: the ACK for a non-2xx final response, on the INVITE's branch."""
        via = inv.split("\r\n")[1]
        lines = [f"ACK {inv.split()[1]} SIP/2.0", via, "Max-Forwards: 70",
                 f"From: {resp.hdr('from')}", f"To: {resp.hdr('to')}",
                 f"Call-ID: {resp.hdr('call-id')}", f"CSeq: {resp.cseq()[0]} ACK",
                 "Content-Length: 0"]
        self.send("\r\n".join(lines) + "\r\n\r\n")


class Call:
    """One dialog from the raw client: INVITE, ACK, in-dialog requests, our media socket."""

    def __init__(self, client, codecs="0 101"):
        self.c = client
        self.call_id = token() + "@raw"
        self.from_tag = token()
        self.to_tag = None
        self.cseq = 1
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", free_even_pair()))
        self.rtp_port = self.rtp.getsockname()[1]
        self.codecs = codecs
        self.answer = None       # our view of ivrd's SDP: (ip, port)
        self.dtmf_seq = 1000
        self.dtmf_ts = 160000

    def close(self):
        self.rtp.close()

    def invite_text(self, branch, sdp=None, cseq=None):
        return self.c.request("INVITE", call_id=self.call_id, from_tag=self.from_tag,
                              to_tag=self.to_tag, cseq=cseq or self.cseq, branch=branch,
                              body=sdp or sdp_offer(self.rtp_port, self.codecs))

    def ack(self, cseq=None):
        self.c.send(self.c.request("ACK", call_id=self.call_id, from_tag=self.from_tag,
                                   to_tag=self.to_tag, cseq=cseq or self.cseq))

    def ok(self, timeout=5.0):
        """Waits for the 2xx to the INVITE; learns the To tag and ivrd's media address."""
        r = self.c.response(self.call_id, "INVITE", timeout=timeout)
        assert r.code == 200, r
        self.to_tag = r.tag("to")
        assert self.to_tag, f"200 to INVITE without a To tag: {r.hdr('to')}"
        c = re.search(r"^c=IN IP4 (\S+)", r.body, re.M)
        m = re.search(r"^m=audio ([1-9]\d*) ", r.body, re.M)
        assert c and m, r.body
        self.answer = (c.group(1), int(m.group(1)))
        return r

    def start(self):
        """INVITE, 200, ACK."""
        self.c.send(self.invite_text("z9hG4bK" + token()))
        r = self.ok()
        self.ack()
        return r

    def in_dialog(self, method, headers=(), body=None, ctype=None):
        self.cseq += 1
        text = self.c.request(method, call_id=self.call_id, from_tag=self.from_tag,
                              to_tag=self.to_tag, cseq=self.cseq, headers=headers,
                              body=body, ctype=ctype)
        self.c.send(text)
        return text

    def key(self, digit):
        """One RFC 4733 event: start with the marker bit, one update, three end packets."""
        event = "0123456789*#".index(digit)
        self.dtmf_ts += 8000
        pkts = [(True, False, 160), (False, False, 320)] + [(False, True, 800)] * 3
        for marker, end, dur in pkts:
            self.dtmf_seq += 1
            hdr = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | 101,
                              self.dtmf_seq & 0xffff, self.dtmf_ts, 0x1234abcd)
            payload = struct.pack("!BBH", event, (0x80 if end else 0) | 10, dur)
            self.rtp.sendto(hdr + payload, self.answer)
            time.sleep(0.02)


def assert_echoed(resp, req_text):
    """RFC 3261 8.2.6.2: Via (all, in order), From, Call-ID and CSeq copied; To's URI too."""
    req = Msg(req_text.encode())
    rvias, qvias = resp.hdrs("via"), req.hdrs("via")
    assert len(rvias) == len(qvias), (rvias, qvias)
    for rv, qv in zip(rvias, qvias):
        # ivrd may add received= and fills rport= (RFC 3581): the rest stays
        assert rv.startswith(qv.split(";")[0]), (rv, qv)
        assert re.search(r"branch=([^;]+)", rv).group(1) == \
            re.search(r"branch=([^;]+)", qv).group(1), (rv, qv)
    assert resp.tag("from") == req.tag("from"), (resp.hdr("from"), req.hdr("from"))
    assert re.search(r"<([^>]+)>", resp.hdr("from")).group(1) == \
        re.search(r"<([^>]+)>", req.hdr("from")).group(1)
    assert re.search(r"<([^>]+)>", resp.hdr("to")).group(1) == \
        re.search(r"<([^>]+)>", req.hdr("to")).group(1)
    assert resp.hdr("call-id") == req.hdr("call-id"), (resp.hdr("call-id"), req.hdr("call-id"))
    assert resp.cseq() == req.cseq(), (resp.hdr("cseq"), req.hdr("cseq"))


def allow_list(resp):
    return [m.strip() for m in (resp.hdr("allow") or "").split(",") if m.strip()]


# --- out-of-dialog requests ---

def test_options_out_of_dialog():
    with Ivrd("sip-options").start() as d:
        cl = Client(d)
        call_id = token() + "@raw"
        text = cl.request("OPTIONS", call_id=call_id, body=None)
        cl.send(text)
        r = cl.response(call_id, "OPTIONS")
        assert r.code == 200, r
        assert allow_list(r) == ALLOW, r.hdr("allow")
        assert_echoed(r, text)
        # RFC 3261 8.2.6.2: every response but 100 to a request without a To tag gets one
        assert r.tag("to"), f"no To tag in {r.hdr('to')}"
        assert r.hdr("accept") == "application/sdp", r.headers
        assert int(r.hdr("content-length")) == 0
        # the same request retransmitted gets the same response, tag and all (17.2.2)
        cl.send(text)
        again = cl.response(call_id, "OPTIONS")
        assert again.tag("to") == r.tag("to"), (again.hdr("to"), r.hdr("to"))
        # tel: and sips: Request-URIs are fine (only the scheme is checked)
        for ruri in ("tel:+18005550100", "sips:ivr@127.0.0.1"):
            r = cl.ask("OPTIONS", ruri=ruri)
            assert r.code == 200, (ruri, r)
        # OPTIONS is answered even with Max-Forwards 0 (RFC 3261 11, 16.3 item 2)
        assert cl.ask("OPTIONS", max_forwards=0).code == 200
        cl.close()


def test_methods_ivrd_does_not_serve():
    with Ivrd("sip-methods").start() as d:
        cl = Client(d)
        for method in ("REGISTER", "SUBSCRIBE", "MESSAGE", "PUBLISH", "INFO", "UPDATE"):
            text_call = token() + "@raw"
            text = cl.request(method, call_id=text_call)
            cl.send(text)
            r = cl.response(text_call, method)
            assert r.code == 405, (method, r)
            assert allow_list(r) == ALLOW, (method, r.hdr("allow"))
            assert r.tag("to"), (method, r.hdr("to"))
            assert_echoed(r, text)
        # RFC 3261 8.2.1: a method we do not know at all
        r = cl.ask("FOO")
        assert r.code == 501, r
        assert allow_list(r) == ALLOW, r.hdr("allow")
        # RFC 3261 12.2.2: in-dialog requests for a dialog that does not exist
        for method in ("BYE", "NOTIFY", "INVITE"):
            call_id = token() + "@raw"
            text = cl.request(method, call_id=call_id, to_tag=token(),
                              headers=["Event: refer"] if method == "NOTIFY" else (),
                              body=sdp_offer(4000) if method == "INVITE" else None)
            cl.send(text)
            r = cl.response(call_id, method)
            assert r.code == 481, (method, r)
            assert_echoed(r, text)
            if method == "INVITE":
                cl.ack_error(text, r)
        # out of dialog (no To tag), BYE and NOTIFY cannot belong to anything either
        for method in ("BYE", "NOTIFY"):
            assert cl.ask(method).code == 481, method
        # a CANCEL for an INVITE transaction ivrd never saw (RFC 3261 9.2)
        assert cl.ask("CANCEL").code == 481
        assert d.rows() == [], "no call may start from any of these"
        cl.close()


def test_malformed_requests_are_refused():
    with Ivrd("sip-malformed").start() as d:
        cl = Client(d)
        # RFC 3261 8.1.1: Call-ID is mandatory; the reason says which header is missing
        text = cl.request("OPTIONS", omit=("call-id",))
        cl.send(text)
        r = cl.expect(lambda m: m.code is not None, what="a response without Call-ID")
        assert r.code == 400 and "Call-ID" in r.reason, r
        assert r.hdr("call-id") is None, r.headers
        for missing in ("from", "to", "cseq"):
            call_id = token() + "@raw"
            cl.send(cl.request("OPTIONS", call_id=call_id, omit=(missing,)))
            r = cl.expect(lambda m, c=call_id: m.hdr("call-id") == c, what=missing)
            assert r.code == 400, (missing, r)
            name = {"from": "From", "to": "To", "cseq": "CSeq"}[missing]
            assert f"Missing {name}" in r.reason, (missing, r)
        # RFC 3261 8.2.3 (via 8.1.1.5): CSeq method and request method must agree
        r = cl.ask("OPTIONS", cseq_method="INVITE", code=400)
        assert "CSeq" in r.reason, r
        # Max-Forwards 0: ivrd refuses to take the INVITE (RFC 3261 16.3 item 2)
        r = cl.ask("INVITE", max_forwards=0, body=sdp_offer(4000))
        assert r.code == 483, r
        # RFC 3261 8.2.2.1: a scheme we do not understand
        r = cl.ask("OPTIONS", ruri="http://127.0.0.1/ivr")
        assert r.code == 416, r
        r = cl.ask("INVITE", ruri="http://127.0.0.1/ivr", body=sdp_offer(4000))
        assert r.code == 416, r
        # RFC 3261 8.2.2.3: an extension we do not support is required
        inv_call = token() + "@raw"
        inv = cl.request("INVITE", call_id=inv_call, headers=["Require: 100rel"],
                         body=sdp_offer(4000))
        cl.send(inv)
        r = cl.response(inv_call, "INVITE")
        assert r.code == 420, r
        assert r.hdr("unsupported") == "100rel", r.headers
        assert r.tag("to"), r.hdr("to")
        cl.ack_error(inv, r)
        assert d.rows() == [], d.rows()
        cl.close()


def test_invite_offers_ivrd_cannot_take():
    with Ivrd("sip-offers").start() as d:
        cl = Client(d)

        def invite(body, ctype="application/sdp"):
            call_id = token() + "@raw"
            text = cl.request("INVITE", call_id=call_id, body=body, ctype=ctype)
            cl.send(text)
            trying = cl.response(call_id, "INVITE", code=100)
            assert trying.hdr("call-id") == call_id
            r = cl.response(call_id, "INVITE")
            assert r.tag("to"), (r, r.hdr("to"))
            assert_echoed(r, text)
            return text, r

        # RFC 3261 13.3.1: an offer we cannot take is 488, with a Warning saying why
        text, r = invite(sdp_offer(4000, codecs="18 101"))
        assert r.code == 488, r
        assert re.match(r'3\d\d ivrd ".+"', r.hdr("warning") or ""), r.hdr("warning")
        # RFC 3261 17.2.1: the 488 is retransmitted until the ACK (Timer G), then no more
        again = cl.response(r.hdr("call-id"), "INVITE", timeout=2 * T1 + 0.5)
        assert again.code == 488 and again.tag("to") == r.tag("to"), again
        cl.ack_error(text, r)
        late = cl.collect(lambda m: m.hdr("call-id") == r.hdr("call-id"), 2.5)
        assert late == [], late
        # no offer at all is a late offer, taken: test_dialog.py
        # an offer that is not SDP
        text, r = invite("v=0\r\nhello: world\r\n", ctype="text/plain")
        assert r.code == 415, r
        assert r.hdr("accept") == "application/sdp", r.headers
        cl.ack_error(text, r)
        # an SDP body that does not parse (RFC 4566: no t= line, o= missing fields)
        text, r = invite("v=0\r\no=x\r\ns=-\r\nm=audio 4000 RTP/AVP 0\r\n")
        assert r.code == 400, r
        cl.ack_error(text, r)
        assert d.rows() == [], "refused offers start no call"
        cl.close()


def test_content_length_and_long_headers():
    """RFC 3261 18.3 (Content-Length over UDP) and 8.2.6.2 (every Via echoed)."""
    d = Ivrd("sip-length")
    # 300 Vias are more than the default ivrd.sip.max_headers (100) and max_message_size
    with open(d.conf) as f:
        text = f.read().replace("answer_delay = 0;", "answer_delay = 0; max_headers = 400; "
                                "max_message_size = 65535;", 1)
    with open(d.conf, "w") as f:
        f.write(text)
    with d.start():
        cl = Client(d)

        def ask_raw(edit, body=""):
            call_id = token() + "@raw"
            text = edit(cl.request("OPTIONS", call_id=call_id)) + body
            cl.send(text)
            return text, cl.response(call_id, "OPTIONS")

        def length(v):
            return lambda t: t.replace("Content-Length: 0", f"Content-Length: {v}")

        # a body shorter than Content-Length: 400, whatever the form of the header
        for v, body in (("10", "abc"), ("99999999999999999999", "abc"), ("1", "")):
            _, r = ask_raw(length(v), body)
            assert r.code == 400 and "Content-Length" in r.reason, (v, r)
        _, r = ask_raw(lambda t: t.replace("Content-Length: 0", "l: 4"), "abc")
        assert r.code == 400, r
        for v in ("-5", "x", "3 4"):
            _, r = ask_raw(length(v), "abc")
            assert r.code == 400 and "not a number" in r.reason, (v, r)
        # bytes after the body are ignored; without the header the body is the rest
        assert ask_raw(length("2"), "abcde")[1].code == 200
        assert ask_raw(lambda t: t.replace("Content-Length: 0\r\n", ""), "abc")[1].code == 200
        assert ask_raw(length("3 "), "abc")[1].code == 200
        # 300 proxies' Vias come back, all of them, in order
        vias = "".join(f"Via: SIP/2.0/UDP 10.0.{i // 250}.{i % 250 + 1}:5060;"
                       f"branch=z9hG4bKproxy{i:04d}\r\n" for i in range(300))
        text, r = ask_raw(lambda t: t.replace("Via:", vias + "Via:", 1))
        assert r.code == 200, r
        assert len(r.hdrs("via")) == 301, len(r.hdrs("via"))
        assert_echoed(r, text)
        # an 8 KB display name is echoed too
        text, r = ask_raw(lambda t: t.replace('From: "raw"', 'From: "' + "x" * 8000 + '"'))
        assert r.code == 200 and "x" * 8000 in r.hdr("from"), r
        assert_echoed(r, text)
        cl.close()


# --- a call from the raw client ---

def test_invite_retransmits_and_2xx_until_ack():
    with Ivrd("sip-retrans", menus=menus_conf(timeout=30)).start() as d:
        cl = Client(d)
        call = Call(cl)
        branch = "z9hG4bK" + token()
        text = call.invite_text(branch)
        cl.send(text)
        trying = cl.response(call.call_id, "INVITE", code=100)
        assert_echoed(trying, text)
        first = call.ok()
        t_first = time.monotonic()
        assert_echoed(first, text)
        assert first.hdr("content-type") == "application/sdp", first.headers
        assert first.hdr("contact"), first.headers
        assert allow_list(first) == ALLOW, first.hdr("allow")
        # the answer: our c=, an audio port from the configured range, PCMU and 101
        body = first.body
        assert re.search(r"^c=IN IP4 127\.0\.0\.1\r$", body, re.M), body
        port = call.answer[1]
        assert d.rtp_base <= port <= d.rtp_base + 99, (port, d.rtp_base)
        assert re.search(rf"^m=audio {port} RTP/AVP 0 101\r$", body, re.M), body
        assert "a=rtpmap:0 PCMU/8000\r\n" in body and \
            "a=rtpmap:101 telephone-event/8000\r\n" in body, body
        assert int(first.hdr("content-length")) == len(first.body.encode()), first.headers
        # the INVITE retransmitted three times on the same branch: absorbed, no new call
        for _ in range(3):
            cl.send(text)
        # RFC 3261 13.3.1.4: the 200 comes again at T1, then 2*T1, until the ACK
        copies = cl.collect(lambda m: m.code == 200 and m.hdr("call-id") == call.call_id,
                            1.5 + 0.4)
        times = [t - t_first for t, _ in copies]
        assert len(copies) >= 2, times
        assert 0.3 <= times[0] <= 1.0, times
        assert 0.7 <= times[1] - times[0] <= 1.6, times
        for _, m in copies:
            assert m.tag("to") == call.to_tag and m.body == first.body, m
        assert [r["event"] for r in d.rows()].count("call.start") == 1, d.rows()
        assert len(call_ids(d)) == 1
        call.ack()
        # the next copy would have come 2 s after the last: none may
        late = cl.collect(lambda m: m.code == 200 and m.hdr("call-id") == call.call_id,
                          2.5)
        assert late == [], [t - t_first for t, _ in late]
        d.wait_event("menu.enter", menu="main")
        # RTP flows to the address in our offer
        call.rtp.settimeout(2)
        data, src = call.rtp.recvfrom(2000)
        assert src == call.answer and data[1] & 0x7f == 0, (src, data[:2])
        # the caller hangs up in the menu
        bye = call.in_dialog("BYE")
        r = cl.response(call.call_id, "BYE")
        assert r.code == 200, r
        assert_echoed(r, bye)
        assert r.tag("to") == call.to_tag, r.hdr("to")
        end = d.wait_event("call.end", call_id=call.call_id)
        assert end["result"] == "dropped", end
        drop = d.wait_event("drop", call_id=call.call_id)
        assert drop["menu"] == "main", drop
        names = [r["event"] for r in d.events(call.call_id)]
        assert names[0] == "call.start" and names[-2:] == ["drop", "call.end"], names
        # the dialog is gone: another BYE in it gets 481
        call.in_dialog("BYE")
        assert cl.response(call.call_id, "BYE").code == 481
        call.close()
        cl.close()


def test_no_ack_ends_call_after_64_t1():
    """Takes 32 s: RFC 3261 13.3.1.4, no ACK within 64*T1 ends the session with a BYE."""
    with Ivrd("sip-noack", menus=menus_conf(timeout=60)).start() as d:
        cl = Client(d)
        call = Call(cl)
        cl.send(call.invite_text("z9hG4bK" + token()))
        call.ok()
        t0 = time.monotonic()
        bye = cl.expect(lambda m: m.method == "BYE", 40, "BYE after no ACK")
        waited = time.monotonic() - t0
        # at 64*T1, not at the retransmission that would follow it (35.5 s)
        assert 31.5 <= waited <= 33, waited
        assert bye.hdr("call-id") == call.call_id, bye
        assert bye.tag("from") == call.to_tag and bye.tag("to") == call.from_tag, bye.headers
        # the 200 went out 10 times more: at 0.5, 1.5, 3.5, 7.5, then every T2 (4 s) to 31.5
        copies = [m for m in cl.queue if m.code == 200 and m.hdr("call-id") == call.call_id]
        assert 9 <= len(copies) <= 10, len(copies)
        cl.reply(bye, 200, "OK")
        end = d.wait_event("call.end", call_id=call.call_id)
        assert "no ACK" in (end["reason"] or ""), end
        drop = d.wait_event("drop", call_id=call.call_id)
        assert drop["reason"] == "no ACK", drop
        call.close()
        cl.close()


def test_reinvite_keeps_menu_place():
    with Ivrd("sip-reinvite", menus=menus_conf(timeout=30)).start() as d:
        cl = Client(d)
        call = Call(cl)
        call.start()
        d.wait_event("menu.enter", menu="main", call_id=call.call_id)
        call.key("1")
        d.wait_event("menu.enter", menu="sales", call_id=call.call_id)
        # move the media to a new socket, with a c= of its own at media level
        moved = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        moved.bind(("127.0.0.1", free_even_pair()))
        new_port = moved.getsockname()[1]
        offer = (f"v=0\r\no=raw 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"
                 f"m=audio {new_port} RTP/AVP 0 101\r\nc=IN IP4 127.0.0.1\r\n"
                 "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n")
        call.cseq += 1
        text = call.invite_text("z9hG4bK" + token(), sdp=offer, cseq=call.cseq)
        cl.send(text)
        r = cl.response(call.call_id, "INVITE")
        assert r.code == 200, r
        assert_echoed(r, text)
        assert r.tag("to") == call.to_tag, r.hdr("to")
        assert r.hdr("content-type") == "application/sdp", r.headers
        assert re.search(rf"^m=audio {call.answer[1]} RTP/AVP 0 101\r$", r.body, re.M), r.body
        call.ack(cseq=call.cseq)
        # prompt audio now reaches the new address
        moved.settimeout(3)
        data, src = moved.recvfrom(2000)
        assert src == call.answer, src
        moved.close()
        # the caller is still in sales: 1 there is the sales department, not the sales menu
        call.key("1")
        ref = cl.expect(lambda m: m.method == "REFER", 10, "REFER to sales")
        assert re.search(r"sip:sales@", ref.hdr("refer-to") or ""), ref.hdr("refer-to")
        cl.reply(ref, 202, "Accepted")
        call.cseq += 1
        n = cl.request("NOTIFY", call_id=call.call_id, from_tag=call.from_tag,
                       to_tag=call.to_tag, cseq=call.cseq,
                       headers=[f"Event: refer;id={ref.cseq()[0]}",
                                "Subscription-State: terminated;reason=noresource"],
                       body="SIP/2.0 200 OK\r\n", ctype="message/sipfrag;version=2.0")
        cl.send(n)
        assert cl.response(call.call_id, "NOTIFY").code == 200
        bye = cl.expect(lambda m: m.method == "BYE", 10, "BYE after the transfer")
        cl.reply(bye, 200, "OK")
        end = d.wait_event("call.end", call_id=call.call_id)
        assert end["result"] == "transferred", end
        ev = d.events(call.call_id)
        entered = [(e["menu"], e["prompt"]) for e in ev if e["event"] == "menu.enter"]
        assert entered == [("main", "main/greeting"), ("sales", "sales/greeting")], entered
        assert [e["key"] for e in ev if e["event"] == "key"] == ["1", "1"], ev
        route = [e for e in ev if e["event"] == "route"]
        assert [x["dept"] for x in route] == ["sales"], route
        assert [e["event"] for e in ev].count("call.start") == 1
        call.close()
        cl.close()


def test_video_offer_gets_one_line_per_stream():
    """RFC 3264 6: the answer to audio + video has two m= lines, the video one port 0."""
    with Ivrd("sip-video").start() as d:
        cl = Client(d)
        call = Call(cl)
        video = "m=video 9078 RTP/AVP 96 97\r\na=rtpmap:96 VP8/90000\r\n"
        offer = ("v=0\r\no=raw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                 "m=audio 0 RTP/AVP 0\r\n" + video +
                 sdp_offer(call.rtp_port).split("t=0 0\r\n", 1)[1])
        cl.send(call.invite_text("z9hG4bK" + token(), sdp=offer))
        r = call.ok()
        mlines = re.findall(r"^m=.*$", r.body, re.M)
        assert [m.rstrip("\r") for m in mlines] == [
            "m=audio 0 RTP/AVP 0", "m=video 0 RTP/AVP 96",
            f"m=audio {call.answer[1]} RTP/AVP 0 101"], mlines
        call.ack()
        d.wait_event("menu.enter", call_id=call.call_id)
        call.in_dialog("BYE")
        assert cl.response(call.call_id, "BYE").code == 200
        d.wait_event("call.end", call_id=call.call_id)
        call.close()
        cl.close()


# --- garbage while a real call goes on ---

def storm_datagrams(ivrd_port, n):
    """n datagrams of what a broken or hostile peer sends, in a fixed pseudo-random order."""
    rnd = random.Random(4733)
    base = (f"OPTIONS sip:ivr@127.0.0.1:{ivrd_port} SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKstorm{i}\r\n"
            "From: <sip:storm@127.0.0.1>;tag=s{i}\r\nTo: <sip:ivr@127.0.0.1>\r\n"
            "Call-ID: storm-{i}@raw\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n")
    kinds = [
        lambda i: bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 1400))),
        lambda i: (base.format(i=i) + "Content-Length: 0\r\n\r\n")[:rnd.randint(1, 200)].encode(),
        # headers only, no blank line after them
        lambda i: base.format(i=i).encode(),
        lambda i: base.format(i=i).replace("Call-ID", "Call\0ID").encode() + b"\r\n",
        lambda i: b"\0" * rnd.randint(1, 2000),
        lambda i: (base.format(i=i) + "Content-Length: 99999999999999999999\r\n\r\nabc").encode(),
        lambda i: (base.format(i=i) + "Content-Length: -5\r\n\r\n").encode(),
        lambda i: b"\r\n\r\n",
        lambda i: b"\r\n",
        lambda i: ("INVITE sip:x SIP/2.0\r\n" + base.format(i=i).split("\r\n", 1)[1]
                   + "Content-Type: application/sdp\r\nContent-Length: 30\r\n\r\nv=0\r\n"
                   "m=audio 1 RTP/AVP 0\r\n\0\0\0").encode(),
        lambda i: ("SIP/2.0 200 OK\r\n" + base.format(i=i).split("\r\n", 1)[1]
                   + "\r\n").encode(),
        lambda i: b"SIP/2.0 \r\n\r\n",
        lambda i: ("\x7fINVITE \xff\xfe SIP/9.9\r\n" * 50).encode("latin-1"),
    ]
    big_header = (base.format(i="big") + "Subject: " + "A" * 60000 +
                  "\r\nContent-Length: 0\r\n\r\n").encode()
    # 10,000 Via headers: as many as a datagram holds means the short, invalid kind
    many_vias = (base.format(i="vias") + "v:x\r\n" * 10000 + "Content-Length: 0\r\n\r\n").encode()
    # and as many valid ones as fit in 60 KB (a response cannot hold them all)
    valid_vias = (base.format(i="vvias").replace(
        "Via: ", "Via: " + "SIP/2.0/UDP h,\r\n " * 3500) + "Content-Length: 0\r\n\r\n").encode()
    out = []
    for i in range(n):
        if i % 1000 == 10:
            out.append(big_header)
        elif i % 1000 == 20:
            out.append(many_vias)
        elif i % 1000 == 30:
            out.append(valid_vias)
        else:
            out.append(kinds[i % len(kinds)](i))
    return out


def test_garbage_storm_during_call():
    storm_n = 5000
    with Ivrd("sip-storm", menus=menus_conf(timeout=10)).start() as d:
        datagrams = storm_datagrams(d.sip_port, storm_n)
        assert max(len(x) for x in datagrams) <= 65000
        sc = write(d, "s.xml", invite(), keys("2", first=3000), refer("billing"),
                   notify("200 OK", 2), expect_bye())
        result = {}
        t = threading.Thread(target=lambda: result.update(out=sipp(d, sc, timeout=40)))
        t.start()
        d.wait_event("menu.enter", menu="main")
        log_start = len(d.lines)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        t0 = time.monotonic()
        # spread over ~2.5 s so the call is in its menu the whole time
        for k in range(0, storm_n, 100):
            for x in datagrams[k:k + 100]:
                try:
                    s.sendto(x, ("127.0.0.1", d.sip_port))
                except (BlockingIOError, OSError):
                    pass
            try:
                while s.recv(70000):
                    pass
            except (BlockingIOError, OSError):
                pass
            time.sleep(0.05)
        storm_secs = time.monotonic() - t0
        s.close()
        t.join(60)
        rc, out, _ = result["out"]
        assert rc == 0, out
        end = d.wait_event("call.end")
        assert end["result"] == "transferred", end
        # ivrd still answers
        cl = Client(d)
        r = cl.ask("OPTIONS")
        assert r.code == 200, r
        cl.close()
        # malformed input is logged, but at most 10 lines a second
        with d.cond:
            lines = d.lines[log_start:]
        bad = [x for x in lines if "malformed message" in x]
        assert bad, "no malformed message was logged"
        assert len(bad) <= 10 * (int(storm_secs) + 3), (len(bad), storm_secs)
        assert any(re.search(r"\d+ more malformed messages not logged", x) for x in lines), \
            lines[-20:]
        assert len(lines) < 500, len(lines)
        assert d.proc.poll() is None, "ivrd died"


if __name__ == "__main__":
    run([test_options_out_of_dialog, test_methods_ivrd_does_not_serve,
         test_malformed_requests_are_refused, test_content_length_and_long_headers,
         test_invite_offers_ivrd_cannot_take,
         test_invite_retransmits_and_2xx_until_ack, test_reinvite_keeps_menu_place,
         test_video_offer_gets_one_line_per_stream, test_garbage_storm_during_call,
         test_no_ack_ends_call_after_64_t1])

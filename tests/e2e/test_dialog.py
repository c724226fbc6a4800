#!/usr/bin/env python3
"""The dialog after the answer: hold and unhold by re-INVITE (RFC 3264 8.4), codec changes,
re-INVITE without SDP, UPDATE (RFC 3311), session timers (RFC 4028) and the late offer
(RFC 3261 13.2.1), against the real ivrd. The caller is test_sip.py's raw SIP client, so
that every response can be read and ivrd's RTP counted on our own media socket; the late
offer call is also placed with SIPp.

usage: test_dialog.py [--list | TEST...]
"""
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, free_even_pair, menus_conf, run, sipp  # noqa: E402
from scenario import expect_bye, keys, notify, refer, write  # noqa: E402
from test_sip import Call, Client  # noqa: E402

NAMES = {"0": "PCMU/8000", "8": "PCMA/8000", "18": "G729/8000", "101": "telephone-event/8000"}


def sdp(port, codecs="0 101", direction="sendrecv", ip="127.0.0.1", version=1):
    rtpmap = "".join(f"a=rtpmap:{pt} {NAMES[pt]}\r\n" for pt in codecs.split())
    return (f"v=0\r\no=raw 1 {version} IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP {codecs}\r\n{rtpmap}a=ptime:20\r\na={direction}\r\n")


def rtp_types(sock, seconds):
    """Payload types of the RTP packets received on sock within seconds."""
    got = []
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return got
        sock.settimeout(left)
        try:
            data, _ = sock.recvfrom(2000)
        except socket.timeout:
            return got
        if len(data) >= 12:
            got.append(data[1] & 0x7f)


def origin(body):
    """(session id, version) of an SDP's o= line."""
    m = re.search(r"^o=\S+ (\d+) (\d+) ", body, re.M)
    assert m, body
    return int(m.group(1)), int(m.group(2))


def direction(body):
    m = re.search(r"^a=(sendrecv|sendonly|recvonly|inactive)\r?$", body, re.M)
    assert m, body
    return m.group(1)


def reinvite(call, body, headers=(), expect=200):
    """A re-INVITE on call's dialog; returns its final response (ACKed when 2xx unless the
    caller wants to ACK it itself: expect=None)."""
    call.cseq += 1
    text = call.c.request("INVITE", call_id=call.call_id, from_tag=call.from_tag,
                          to_tag=call.to_tag, cseq=call.cseq, headers=headers, body=body)
    call.c.send(text)
    r = call.c.response(call.call_id, "INVITE")
    if expect is not None:
        assert r.code == expect, (r, r.headers)
        if r.code >= 300:
            call.c.ack_error(text, r)
        else:
            call.ack(cseq=call.cseq)
    return r


def ack_with(call, body, cseq=None):
    call.c.send(call.c.request("ACK", call_id=call.call_id, from_tag=call.from_tag,
                               to_tag=call.to_tag, cseq=cseq or call.cseq, body=body))


def update(call, body=None, headers=()):
    call.in_dialog("UPDATE", headers=headers, body=body,
                   ctype="application/sdp" if body else None)
    return call.c.response(call.call_id, "UPDATE")


def bye(call):
    call.in_dialog("BYE")
    r = call.c.response(call.call_id, "BYE")
    assert r.code == 200, r


def transfer_by_key(d, call, key, dept):
    """Presses key, accepts the REFER to dept and reports success; ivrd then hangs up."""
    call.key(key)
    ref = call.c.expect(lambda m: m.method == "REFER", 10, f"REFER to {dept}")
    assert re.search(rf"sip:{dept}@", ref.hdr("refer-to") or ""), ref.hdr("refer-to")
    call.c.reply(ref, 202, "Accepted")
    call.cseq += 1
    n = call.c.request("NOTIFY", call_id=call.call_id, from_tag=call.from_tag,
                       to_tag=call.to_tag, cseq=call.cseq,
                       headers=[f"Event: refer;id={ref.cseq()[0]}",
                                "Subscription-State: terminated;reason=noresource"],
                       body="SIP/2.0 200 OK\r\n", ctype="message/sipfrag;version=2.0")
    call.c.send(n)
    assert call.c.response(call.call_id, "NOTIFY").code == 200
    b = call.c.expect(lambda m: m.method == "BYE", 10, "BYE after the transfer")
    call.c.reply(b, 200, "OK")
    return d.wait_event("call.end", call_id=call.call_id)


def test_hold_mid_menu_keeps_place():
    """Held during the greeting, past the menu's timeout: no RTP, no timeout; back, the
    greeting goes on and a key routes from the same menu."""
    with Ivrd("dlg-hold", prompt_ms=2000, menus=menus_conf(timeout=1.0)).start() as d:
        cl = Client(d)
        call = Call(cl)
        first = call.start()
        d.wait_event("menu.enter", menu="main", call_id=call.call_id)
        assert rtp_types(call.rtp, 0.3).count(0) >= 5, "no greeting before the hold"
        r = reinvite(call, sdp(call.rtp_port, direction="sendonly", version=2))
        assert direction(r.body) == "recvonly", r.body
        # RFC 3264 8: our SDP changed, so its version went up; the session id did not
        assert origin(r.body) == (origin(first.body)[0], origin(first.body)[1] + 1), r.body
        assert "UPDATE" in (r.hdr("allow") or ""), r.hdr("allow")
        hold = d.wait_event("hold", call_id=call.call_id)
        assert hold["menu"] == "main" and hold["detail"] == "sendonly", hold
        rtp_types(call.rtp, 0.1)  # packets already on their way
        # the greeting had 1.5 s left and the menu waits 1 s: hold for longer than both
        held = rtp_types(call.rtp, 3.0)
        assert held == [], f"{len(held)} RTP packets while held: {held[:10]}"
        r = reinvite(call, sdp(call.rtp_port, version=3))
        assert direction(r.body) == "sendrecv", r.body
        assert origin(r.body)[1] == origin(first.body)[1] + 2, r.body
        resume = d.wait_event("resume", call_id=call.call_id)
        assert resume["menu"] == "main", resume
        assert rtp_types(call.rtp, 0.4).count(0) >= 10, "no greeting after the hold"
        end = transfer_by_key(d, call, "2", "billing")
        assert end["result"] == "transferred", end
        ev = d.events(call.call_id)
        names = [e["event"] for e in ev]
        assert "input.timeout" not in names, names
        assert names.index("hold") < names.index("resume") < names.index("route"), names
        route = [e for e in ev if e["event"] == "route"]
        assert [x["dept"] for x in route] == ["billing"], route
        assert route[0]["reason"] == "key 2 in menu main", route
        assert [e["menu"] for e in ev if e["event"] == "menu.enter"] == ["main"], ev
        call.close()
        cl.close()


def test_hold_by_zero_address():
    """c=0.0.0.0 (RFC 2543 hold) is inactive; RTP stops, then resumes to the old port."""
    with Ivrd("dlg-zero", prompt_ms=3000, menus=menus_conf(timeout=30)).start() as d:
        cl = Client(d)
        call = Call(cl)
        call.start()
        d.wait_event("menu.enter", menu="main", call_id=call.call_id)
        r = reinvite(call, sdp(call.rtp_port, ip="0.0.0.0", version=2))
        assert direction(r.body) == "inactive", r.body
        hold = d.wait_event("hold", call_id=call.call_id)
        assert hold["detail"] == "inactive", hold
        rtp_types(call.rtp, 0.1)
        assert rtp_types(call.rtp, 1.0) == [], "RTP while on hold"
        r = reinvite(call, sdp(call.rtp_port, version=3))
        assert direction(r.body) == "sendrecv", r.body
        assert rtp_types(call.rtp, 0.4).count(0) >= 10, "no RTP after the hold"
        d.wait_event("resume", call_id=call.call_id)
        bye(call)
        end = d.wait_event("call.end", call_id=call.call_id)
        assert end["result"] == "dropped", end
        call.close()
        cl.close()


def test_reinvite_switches_codec():
    """An offer with the other G.711 only is taken; one with neither gets 488 and the call
    goes on as it was (RFC 3261 14.2)."""
    with Ivrd("dlg-codec", prompt_ms=3000, menus=menus_conf(timeout=30)).start() as d:
        cl = Client(d)
        call = Call(cl)
        call.start()
        d.wait_event("menu.enter", menu="main", call_id=call.call_id)
        assert 0 in rtp_types(call.rtp, 0.2)
        r = reinvite(call, sdp(call.rtp_port, codecs="8 101", version=2))
        assert re.search(r"^m=audio \d+ RTP/AVP 8 101\r$", r.body, re.M), r.body
        assert "a=rtpmap:8 PCMA/8000" in r.body, r.body
        v = origin(r.body)[1]
        rtp_types(call.rtp, 0.1)
        got = rtp_types(call.rtp, 0.3)
        assert got and set(got) == {8}, got
        r = reinvite(call, sdp(call.rtp_port, codecs="18", version=3), expect=488)
        got = rtp_types(call.rtp, 0.3)
        assert got and set(got) == {8}, got
        # the same offer again: our SDP is unchanged, and so is its version (RFC 3264 8)
        r = reinvite(call, sdp(call.rtp_port, codecs="8 101", version=4))
        assert origin(r.body)[1] == v, r.body
        bye(call)
        d.wait_event("call.end", call_id=call.call_id)
        call.close()
        cl.close()


def test_reinvite_without_sdp():
    """ivrd offers in the 200, the ACK answers; a second re-INVITE before that ACK gets 500
    with Retry-After (RFC 3261 14.2)."""
    with Ivrd("dlg-nosdp", prompt_ms=3000, menus=menus_conf(timeout=30)).start() as d:
        cl = Client(d)
        call = Call(cl)
        first = call.start()
        d.wait_event("menu.enter", menu="main", call_id=call.call_id)
        r = reinvite(call, None, expect=None)
        assert r.code == 200, r
        assert re.search(r"^m=audio \d+ RTP/AVP 0 8 101\r$", r.body, re.M), r.body
        assert direction(r.body) == "sendrecv", r.body
        assert origin(r.body)[1] == origin(first.body)[1] + 1, r.body
        offer_cseq = call.cseq
        r2 = reinvite(call, sdp(call.rtp_port, version=2), expect=500)
        assert re.fullmatch(r"\d+", r2.hdr("retry-after") or ""), r2.headers
        # the answer moves the media to a new socket, in PCMA
        moved = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        moved.bind(("127.0.0.1", free_even_pair()))
        ack_with(call, sdp(moved.getsockname()[1], codecs="8 101", version=3), cseq=offer_cseq)
        got = rtp_types(moved, 0.5)
        assert len(got) >= 10 and set(got) == {8}, got
        moved.close()
        bye(call)
        end = d.wait_event("call.end", call_id=call.call_id)
        assert end["result"] == "dropped", end
        call.close()
        cl.close()


def test_update_with_and_without_sdp():
    with Ivrd("dlg-update", prompt_ms=3000, menus=menus_conf(timeout=30)).start() as d:
        cl = Client(d)
        call = Call(cl)
        call.start()
        d.wait_event("menu.enter", menu="main", call_id=call.call_id)
        r = update(call, sdp(call.rtp_port, direction="sendonly", version=2))
        assert r.code == 200, r
        assert direction(r.body) == "recvonly", r.body
        d.wait_event("hold", call_id=call.call_id)
        rtp_types(call.rtp, 0.1)
        assert rtp_types(call.rtp, 0.6) == [], "RTP while held by UPDATE"
        r = update(call, sdp(call.rtp_port, version=3))
        assert r.code == 200 and direction(r.body) == "sendrecv", r
        d.wait_event("resume", call_id=call.call_id)
        assert rtp_types(call.rtp, 0.4).count(0) >= 10
        # without a body: a refresh, answered without one
        r = update(call)
        assert r.code == 200 and r.body == "", (r, r.body)
        assert "UPDATE" in (r.hdr("allow") or ""), r.headers
        # an offer with nothing we can take: 488, the media stays
        r = update(call, sdp(call.rtp_port, codecs="18", version=4))
        assert r.code == 488, r
        assert rtp_types(call.rtp, 0.3).count(0) >= 5
        bye(call)
        d.wait_event("call.end", call_id=call.call_id)
        call.close()
        cl.close()


def invite_with(cl, call, headers):
    text = cl.request("INVITE", call_id=call.call_id, from_tag=call.from_tag, cseq=1,
                      headers=headers, body=sdp(call.rtp_port))
    cl.send(text)
    return text


def test_session_timer_too_small_and_required():
    with Ivrd("dlg-422").start() as d:
        cl = Client(d)
        call = Call(cl)
        text = invite_with(cl, call, ["Supported: timer", "Session-Expires: 30",
                                      "Min-SE: 30"])
        r = cl.response(call.call_id, "INVITE")
        assert r.code == 422, r
        assert r.hdr("min-se") == "90", r.headers
        cl.ack_error(text, r)
        # RFC 3261 8.2.2.3: we never require 100rel of a caller, nor support it
        call2 = Call(cl)
        text = invite_with(cl, call2, ["Require: 100rel, timer", "Session-Expires: 1800"])
        r = cl.response(call2.call_id, "INVITE")
        assert r.code == 420 and r.hdr("unsupported") == "100rel", (r, r.headers)
        cl.ack_error(text, r)
        assert d.rows() == [], d.rows()
        call.close()
        call2.close()
        cl.close()


def test_session_timer_caller_refreshes():
    """refresher=uac honoured; re-INVITE and UPDATE refreshes are answered with the timer."""
    with Ivrd("dlg-uac", menus=menus_conf(timeout=30)).start() as d:
        cl = Client(d)
        call = Call(cl)
        se = ["Supported: timer", "Session-Expires: 600;refresher=uac"]
        invite_with(cl, call, se)
        r = call.ok()
        call.ack()
        assert r.hdr("session-expires") == "600;refresher=uac", r.headers
        assert r.hdr("require") == "timer", r.headers
        # more than we grant is cut to sip.session_expires
        r = reinvite(call, sdp(call.rtp_port, version=2),
                     headers=["Supported: timer", "Session-Expires: 7200;refresher=uac"])
        assert r.hdr("session-expires") == "1800;refresher=uac", r.headers
        r = update(call, headers=se)
        assert r.code == 200 and r.hdr("session-expires") == "600;refresher=uac", r.headers
        # a refresh below our Min-SE is refused; the session goes on
        r = update(call, headers=["Supported: timer", "Session-Expires: 60"])
        assert r.code == 422 and r.hdr("min-se") == "90", r.headers
        bye(call)
        end = d.wait_event("call.end", call_id=call.call_id)
        assert end["result"] == "dropped", end
        call.close()
        cl.close()


def test_session_timer_expires_without_refresh():
    """Session-Expires 90, refresher=uac, no refresh: BYE at 90 - 30 s, journaled."""
    # this peer sends no RTP: rtp.timeout (60 s) would race the session's expiry
    with Ivrd("dlg-expire", menus=menus_conf(timeout=60, max_timeouts=10),
              extra_rtp="timeout = 120;").start() as d:
        cl = Client(d)
        call = Call(cl)
        invite_with(cl, call, ["Supported: timer", "Session-Expires: 90;refresher=uac"])
        call.ok()
        call.ack()
        t0 = time.monotonic()
        b = cl.expect(lambda m: m.method == "BYE", 75, "BYE at the session's expiry")
        waited = time.monotonic() - t0
        cl.reply(b, 200, "OK")
        assert waited > 50, f"BYE after {waited:.1f} s, before the session expired"
        drop = d.wait_event("drop", call_id=call.call_id)
        assert drop["reason"] == "session timer expired", drop
        end = d.wait_event("call.end", call_id=call.call_id)
        assert end["reason"] == "session timer expired", end
        call.close()
        cl.close()


def reply_to(cl, req, code, reason, headers=(), body=None):
    """A response to a request ivrd sent, with extra header lines."""
    lines = [f"SIP/2.0 {code} {reason}"] + [f"Via: {v}" for v in req.hdrs("via")]
    lines += [f"From: {req.hdr('from')}", f"To: {req.hdr('to')}",
              f"Call-ID: {req.hdr('call-id')}", f"CSeq: {req.hdr('cseq')}",
              f"Contact: <sip:5551234@127.0.0.1:{cl.port}>", *headers]
    if body:
        lines.append("Content-Type: application/sdp")
    body = body or ""
    lines.append(f"Content-Length: {len(body)}")
    cl.send("\r\n".join(lines) + "\r\n\r\n" + body)


def test_session_timer_ivrd_refreshes():
    """refresher=uas: ivrd sends UPDATE (the caller allows it) at half the interval; refused
    with 405, it refreshes by re-INVITE with its SDP unchanged, which a caller's re-INVITE
    meets with 491 (RFC 3261 14.2), and ACKs the 2xx."""
    with Ivrd("dlg-uas", menus=menus_conf(timeout=60, max_timeouts=10)).start() as d:
        cl = Client(d)
        call = Call(cl)
        invite_with(cl, call, ["Supported: timer", "Session-Expires: 90;refresher=uas",
                               "Allow: INVITE, ACK, BYE, CANCEL, UPDATE"])
        r = call.ok()
        call.ack()
        t0 = time.monotonic()
        assert r.hdr("session-expires") == "90;refresher=uas", r.headers
        u = cl.expect(lambda m: m.method == "UPDATE", 60, "UPDATE refreshing the session")
        waited = time.monotonic() - t0
        assert waited > 35, f"refresh after {waited:.1f} s"
        assert u.hdr("session-expires") == "90;refresher=uas", u.headers
        assert u.tag("from") == call.to_tag and u.tag("to") == call.from_tag, u.headers
        assert u.body == "", u.body
        reply_to(cl, u, 405, "Method Not Allowed", ["Allow: INVITE, ACK, BYE, CANCEL"])
        inv = cl.expect(lambda m: m.method == "INVITE", 10, "re-INVITE refreshing the session")
        assert inv.hdr("session-expires") == "90;refresher=uas", inv.headers
        assert origin(inv.body) == origin(r.body), (inv.body, r.body)
        # glare: ours meets theirs
        g = reinvite(call, sdp(call.rtp_port, version=2), expect=491)
        assert g.code == 491
        reply_to(cl, inv, 200, "OK", ["Session-Expires: 90;refresher=uas", "Require: timer"],
                 body=sdp(call.rtp_port))
        ack = cl.expect(lambda m: m.method == "ACK", 5, "ACK for the refresh's 200")
        assert ack.cseq() == (inv.cseq()[0], "ACK"), ack.headers
        d.wait_log(r"session refreshed \(90 s\)")
        bye(call)
        end = d.wait_event("call.end", call_id=call.call_id)
        assert end["result"] == "dropped", end
        call.close()
        cl.close()


LATE_INVITE = """  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "caller" <sip:5551234@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:5551234@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200" rtd="true">
    <action>
      <ereg regexp="m=audio [0-9]+ RTP/AVP 0 8 101" search_in="body" check_it="true" assign_to="mline"/>
      <log message="offer [$mline]"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "caller" <sip:5551234@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:5551234@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15

    ]]>
  </send>
"""


def test_late_offer_call_routes_by_key():
    """SIPp calls without SDP, answers ivrd's offer in the ACK, and presses 2."""
    with Ivrd("dlg-late").start() as d:
        sc = write(d, "s.xml", LATE_INVITE, keys("2", first=600), refer("billing"),
                   notify("200 OK", 2), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        end = d.wait_event("call.end", result="transferred")
        ev = d.events(end["call_id"])
        route = [e for e in ev if e["event"] == "route"]
        assert [x["dept"] for x in route] == ["billing"], ev
        assert route[0]["reason"] == "key 2 in menu main", route


def test_late_offer_without_answer_ends_call():
    """An ACK without the answer to ivrd's offer: no media, BYE, the reason journaled."""
    with Ivrd("dlg-noanswer").start() as d:
        cl = Client(d)
        call = Call(cl)
        cl.send(cl.request("INVITE", call_id=call.call_id, from_tag=call.from_tag, cseq=1))
        r = call.ok()
        assert re.search(r"^m=audio \d+ RTP/AVP 0 8 101\r$", r.body, re.M), r.body
        call.ack()
        b = cl.expect(lambda m: m.method == "BYE", 10, "BYE after an ACK without answer")
        cl.reply(b, 200, "OK")
        end = d.wait_event("call.end", call_id=call.call_id)
        assert end["reason"].startswith("no usable SDP answer in the ACK"), end
        assert "menu.enter" not in [e["event"] for e in d.events(call.call_id)]
        assert rtp_types(call.rtp, 0.3) == [], "RTP without an answer"
        call.close()
        cl.close()


if __name__ == "__main__":
    run([test_hold_mid_menu_keeps_place, test_hold_by_zero_address, test_reinvite_switches_codec,
         test_reinvite_without_sdp, test_update_with_and_without_sdp,
         test_session_timer_too_small_and_required, test_session_timer_caller_refreshes,
         test_session_timer_expires_without_refresh, test_session_timer_ivrd_refreshes,
         test_late_offer_call_routes_by_key, test_late_offer_without_answer_ends_call])

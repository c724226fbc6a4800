#!/usr/bin/env python3
"""Hostile input while many calls are live: garbage SIP to the listener, garbage RTP and
RTCP to every media port, and in-dialog requests that name live calls with the wrong tags.
Every call must still reach its department, and ivrd must still answer afterwards.

usage: test_storm.py [--list | TEST...]
"""
import os
import random
import re
import socket
import struct
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, menus_conf, run, sipp  # noqa: E402
from scenario import expect_bye, invite, keys, notify, refer, write  # noqa: E402
from test_sip import Client, storm_datagrams  # noqa: E402

CALLS = 20


def rtp_garbage(rnd):
    """Media a broken peer might send, never a well-formed key or audio frame, so the
    calls' own keys decide where they go."""
    kind = rnd.randrange(8)
    if kind == 0:  # not RTP at all
        return bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 300)))
    if kind == 1:  # shorter than a header
        return bytes([0x80]) + bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 10)))
    if kind == 2:  # version 1
        return bytes([0x40, 0]) + os.urandom(170)
    if kind == 3:  # 15 CSRCs announced, none there
        return bytes([0x8f, 0]) + os.urandom(14)
    if kind == 4:  # padding longer than the packet
        return bytes([0xa0, 0]) + os.urandom(10) + b"\0" * 20 + bytes([200])
    if kind == 5:  # extension header whose length runs past the end
        return bytes([0x90, 0]) + os.urandom(10) + b"\xbe\xde\xff\xff"
    if kind == 6:  # telephone-event payload too short, and an event past the keys
        pt = 101
        if rnd.random() < 0.5:
            return struct.pack("!BBHII", 0x80, pt, 1, 2, 3) + b"\x05"
        return struct.pack("!BBHIIBBH", 0x80, pt, 1, 2, 3, rnd.randint(16, 255), 0x80, 800)
    # RTCP-looking junk: length fields that lie
    return struct.pack("!BBH", 0x80, 200, 0xffff) + os.urandom(rnd.randint(0, 40))


def in_dialog_garbage(d, call_id, i):
    """Requests naming a live call with tags that are not its own: each must get 481 and
    leave the call alone."""
    base = (f"{{m}} sip:ivr@127.0.0.1:{d.sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKdlg{i}\r\n"
            f"From: <sip:caller@127.0.0.1>;tag=not-the-caller-{i}\r\n"
            f"To: <sip:ivr@127.0.0.1>;tag=not-ours-{i}\r\n"
            f"Call-ID: {call_id}\r\nCSeq: {{cseq}} {{m}}\r\nMax-Forwards: 70\r\n")
    yield (base.format(m="BYE", cseq=99) + "Content-Length: 0\r\n\r\n").encode()
    sdp = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\nm=audio -5 RTP/AVP 999999\r\nc=IN\r\n"
    yield (base.format(m="INVITE", cseq=98) + "Content-Type: application/sdp\r\n"
           f"Content-Length: {len(sdp)}\r\n\r\n{sdp}").encode()
    yield (base.format(m="NOTIFY", cseq=97) + "Event: refer\r\nSubscription-State: active\r\n"
           "Content-Type: message/sipfrag\r\nContent-Length: 9\r\n\r\nSIP/2.0 2").encode()
    yield (base.format(m="INFO", cseq=96) + "Content-Type: application/dtmf-relay\r\n"
           "Content-Length: 19\r\n\r\nSignal=5\r\nDuration").encode()


def metric(d, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(r"^ivrd_%s(?:_total)? (\d+)" % name, text, re.M)
    return int(m.group(1)) if m else 0


def test_storm_during_many_calls():
    with Ivrd("storm", menus=menus_conf(timeout=10)).start() as d:
        sc = write(d, "s.xml", invite(), keys("2", first=2500), refer("billing"),
                   notify("200 OK", 2), expect_bye())
        result = {}
        t = threading.Thread(target=lambda: result.update(
            out=sipp(d, sc, timeout=60, calls=CALLS, extra=["-r", "10", "-l", str(CALLS)])))
        t.start()
        d.wait_event("menu.enter", menu="main")
        rnd = random.Random(3550)
        datagrams = storm_datagrams(d.sip_port, 3000)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        sent_rtp = 0
        deadline = time.monotonic() + 20
        k = 0
        dlg = 0
        # until every call has ended, or a bound: garbage in bursts, then read what comes back
        while t.is_alive() and time.monotonic() < deadline:
            burst = datagrams[k:k + 60]
            k = (k + 60) % len(datagrams)
            live = [r["call_id"] for r in d.rows(
                "SELECT call_id FROM events WHERE event = 'call.start' AND call_id NOT IN "
                "(SELECT call_id FROM events WHERE event = 'call.end')")]
            for cid in live[:5]:
                burst += list(in_dialog_garbage(d, cid, dlg))
                dlg += 1
            for x in burst:
                try:
                    s.sendto(x, ("127.0.0.1", d.sip_port))
                except OSError:
                    pass
            for port in range(d.rtp_base, d.rtp_base + 100):
                try:
                    s.sendto(rtp_garbage(rnd), ("127.0.0.1", port))
                    sent_rtp += 1
                except OSError:
                    pass
            try:
                while s.recv(70000):
                    pass
            except OSError:
                pass
            time.sleep(0.1)
        s.close()
        t.join(90)
        rc, out, _ = result["out"]
        assert rc == 0, out[-3000:]
        ends = d.rows("SELECT * FROM events WHERE event = 'call.end'")
        assert len(ends) == CALLS, len(ends)
        assert all(e["result"] == "transferred" for e in ends), \
            [(e["call_id"], e["result"], e["reason"]) for e in ends if e["result"] != "transferred"]
        # nobody's key was taken from the garbage: each call pressed 2 once
        keys_seen = d.rows("SELECT call_id, key FROM events WHERE event = 'key'")
        assert len(keys_seen) == CALLS and all(r["key"] == "2" for r in keys_seen), keys_seen
        assert dlg > 0 and sent_rtp > 0
        assert metric(d, "sip_rx_malformed") > 0
        assert metric(d, "rtp_malformed") > 0
        cl = Client(d)
        assert cl.ask("OPTIONS").code == 200
        cl.close()
        assert d.proc.poll() is None, "ivrd died"


if __name__ == "__main__":
    run([test_storm_during_many_calls])

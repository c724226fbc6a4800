#!/usr/bin/env python3
"""Media that holds up: packets at the offer's ptime, symmetric RTP for callers behind NAT,
RTCP sender reports from the port after RTP's, and calls ended when the caller has gone
silent (rtp.timeout). SIPp places the calls; a Python UDP socket plays the caller's RTP
where a test needs it to come from somewhere else; tshark captures what ivrd sends."""
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import (SIPP_DIR, Capture, Ivrd, free_even_pair, free_port,  # noqa: E402
                     menus_conf, run)
from scenario import expect_bye, hangup, invite, pause, write  # noqa: E402


def sipp_bg(d, sc, media):
    """SIPp as the caller, in the background: (process, its SIP port)."""
    local = free_port()
    cmd = ["sipp", "-t", "u1", f"127.0.0.1:{d.sip_port}", "-sf", os.path.join(SIPP_DIR, sc),
           "-s", "18005550100", "-i", "127.0.0.1", "-p", str(local), "-mi", "127.0.0.1",
           "-mp", str(media), "-m", "1", "-nostdin", "-timeout", "40s", "-timeout_error"]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=d.dir), local


def finish(proc):
    out, _ = proc.communicate(timeout=60)
    return proc.returncode, out


def ivrd_rtp_port(d):
    return int(re.search(r"rtp port (\d+)", d.wait_log(r"rtp port \d+")).group(1))


def rtp(pt, seq, ts, ssrc=0x5eed, payload=b"\xff" * 160):
    return struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


class Sender:
    """Sends the caller's RTP (or RTCP) from its own socket until stopped."""

    def __init__(self, dest, make, interval=0.02):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(dest, make, interval),
                                       daemon=True)
        self.thread.start()

    def _run(self, dest, make, interval):
        n = 0
        while not self.stop_ev.wait(interval):
            self.sock.sendto(make(n), dest)
            n += 1

    def stop(self):
        self.stop_ev.set()
        self.thread.join(5)


def rtp_packets(cap, port):
    out = cap.read("-d", f"udp.port=={port},rtp", "-Y", f"rtp && udp.dstport=={port}",
                   "-T", "fields", "-E", "separator=|", "-e", "frame.time_epoch",
                   "-e", "rtp.seq", "-e", "rtp.timestamp", "-e", "rtp.ssrc", "-e", "udp.length")
    pkts = []
    for line in out.splitlines():
        t, seq, ts, ssrc, ulen = line.split("|")
        pkts.append({"t": float(t), "seq": int(seq), "ts": int(ts), "ssrc": int(ssrc, 16),
                     "payload": int(ulen) - 8 - 12})
    return pkts


def answer_ptime(cap, sip_port):
    out = cap.read("-d", f"udp.port=={sip_port},sip", "-Y",
                   f"udp.srcport=={sip_port} && sip.Status-Code==200 && "
                   f"sip.CSeq.method==\"INVITE\"",
                   "-T", "fields", "-e", "sdp.media_attr")
    m = re.search(r"ptime:(\d+)", out)
    assert m, f"no a=ptime in the answer: {out!r}"
    return int(m.group(1))


def paced_at(ptime):
    menus = menus_conf(timeout=10.0)
    with Ivrd(f"ptime{ptime}", prompt_ms=1000, menus=menus).start() as d:
        media = free_even_pair()
        cap = Capture(os.path.join(d.dir, "c.pcap"),
                      f"udp port {d.sip_port} or udp dst port {media}", 30)
        try:
            offer = invite().replace("a=ptime:20", f"a=ptime:{ptime}")
            sc = write(d, "s.xml", offer, pause(2000), hangup())
            proc, _ = sipp_bg(d, sc, media)
            rc, out = finish(proc)
            assert rc == 0, out
            d.wait_event("call.end")
        finally:
            cap.stop()
        assert answer_ptime(cap, d.sip_port) == ptime
        pkts = rtp_packets(cap, media)
        assert len(pkts) > 1500 // ptime, f"{len(pkts)} packets in 2 s at ptime {ptime}"
        assert {p["payload"] for p in pkts} == {8 * ptime}, {p["payload"] for p in pkts}
        for a, b in zip(pkts, pkts[1:]):
            assert b["seq"] == (a["seq"] + 1) & 0xFFFF
            assert b["ts"] == (a["ts"] + 8 * ptime) & 0xFFFFFFFF, (a["ts"], b["ts"])
        deltas = sorted((b["t"] - a["t"]) * 1000 for a, b in zip(pkts, pkts[1:]))
        mean = sum(deltas) / len(deltas)
        print(f"ptime {ptime}: {len(pkts)} packets, delta mean {mean:.2f} ms, "
              f"p99 {deltas[int(len(deltas) * 0.99)]:.2f}, max {deltas[-1]:.2f}")
        assert abs(mean - ptime) <= 1.5, f"mean delta {mean:.2f} ms at ptime {ptime}"


def test_ptime_30():
    """a=ptime:30: the answer says 30, and 240-byte packets go out 30 ms apart, +240."""
    paced_at(30)


def test_ptime_10():
    paced_at(10)


def symmetric(on):
    extra = "symmetric = true;" if on else ""
    with Ivrd(f"sym-{on}", prompt_ms=1000, menus=menus_conf(timeout=10.0),
              extra_rtp=extra).start() as d:
        media = free_even_pair()
        cap = Capture(os.path.join(d.dir, "c.pcap"), f"udp dst port {media}", 30)
        sender = None
        try:
            sc = write(d, "s.xml", invite(), pause(3000), hangup())
            proc, _ = sipp_bg(d, sc, media)
            port = ivrd_rtp_port(d)
            # the caller's RTP comes from another port than its SDP names (a NAT)
            sender = Sender(("127.0.0.1", port), lambda n: rtp(0, n, 160 * n))
            sender.sock.settimeout(1.5)
            got = 0
            try:
                for _ in range(20):
                    data = sender.sock.recv(2048)
                    assert data[1] & 0x7F == 0 and len(data) == 12 + 160
                    got += 1
            except socket.timeout:
                pass
            rc, out = finish(proc)
            assert rc == 0, out
            d.wait_event("call.end")
        finally:
            if sender:
                sender.stop()
            cap.stop()
        to_sdp = rtp_packets(cap, media)
        if on:
            assert got == 20, f"{got} RTP packets reached the caller's real source"
            d.wait_log(rf"symmetric RTP: sending to 127\.0\.0\.1:{sender.port} "
                       rf"\(was 127\.0\.0\.1:{media}\)")
            # before the caller's first packet, the SDP address
            assert len(to_sdp) < 40, f"{len(to_sdp)} packets still went to the SDP port"
            assert "ivrd_rtp_latched_total 1" in metrics(d)
        else:
            assert got == 0, f"{got} RTP packets went to the caller's source, not its SDP"
            assert len(to_sdp) > 100, f"only {len(to_sdp)} packets to the SDP port"
            assert not [ln for ln in d.lines if "symmetric RTP" in ln]


def test_symmetric_rtp_follows_the_source():
    symmetric(True)


def test_symmetric_off_sends_to_sdp():
    symmetric(False)


def metrics(d):
    with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/metrics", timeout=10) as r:
        return r.read().decode()


def test_rtcp_sender_reports():
    """SRs from ivrd's RTP port + 1, to the caller's + 1, with a CNAME and the packet count of
    the RTP sent by then; an RTCP BYE when the call ends."""
    with Ivrd("rtcp", prompt_ms=1000, menus=menus_conf(timeout=10.0)).start() as d:
        media = free_even_pair()
        cap = Capture(os.path.join(d.dir, "c.pcap"), f"udp dst port {media} or "
                      f"udp dst port {media + 1}", 30)
        try:
            sc = write(d, "s.xml", invite(), pause(8500), hangup())
            proc, _ = sipp_bg(d, sc, media)
            port = ivrd_rtp_port(d)
            rc, out = finish(proc)
            assert rc == 0, out
            # the RTCP BYE left before call.end was journaled
            d.wait_event("call.end")
        finally:
            cap.stop()
        pkts = rtp_packets(cap, media)
        out = cap.read("-d", f"udp.port=={media + 1},rtcp", "-Y",
                       f"rtcp && udp.dstport=={media + 1}", "-T", "fields", "-E",
                       "separator=|", "-e", "frame.time_epoch", "-e", "udp.srcport",
                       "-e", "rtcp.pt", "-e", "rtcp.senderssrc", "-e",
                       "rtcp.sender.packetcount", "-e", "rtcp.sender.octetcount",
                       "-e", "rtcp.sdes.text")
        rows = [ln.split("|") for ln in out.splitlines()]
        print("\n".join(out.splitlines()))
        assert rows, "no RTCP captured"
        srs = [r for r in rows if r[2].split(",")[0] == "200"]
        assert len(srs) >= 1, rows
        ssrc = pkts[0]["ssrc"]
        for t, src, pt, sender, count, octets, cname in srs:
            assert int(src) == port + 1, f"RTCP from {src}, RTP from {port}"
            assert int(sender.split(",")[0], 16) == ssrc
            assert cname.startswith("ivrd-"), cname
            sent = len([p for p in pkts if p["t"] <= float(t)])
            # the report follows its tick's packet; capture order may differ by one
            assert abs(int(count) - sent) <= 1, f"SR says {count} packets, {sent} captured"
            assert int(octets) == 160 * int(count)
        assert "203" in rows[-1][2].split(","), f"the last RTCP is no BYE: {rows[-1]}"


def test_no_media_ends_the_call():
    """A caller that sends neither RTP nor requests: BYE after rtp.timeout, a drop row."""
    with Ivrd("timeout", prompt_ms=500, menus=menus_conf(timeout=30.0),
              extra_rtp="timeout = 2;").start() as d:
        t0 = time.monotonic()
        sc = write(d, "s.xml", invite(), expect_bye(timeout=10000))
        proc, _ = sipp_bg(d, sc, free_even_pair())
        rc, out = finish(proc)
        assert rc == 0, out
        took = time.monotonic() - t0
        row = d.wait_event("drop", reason="no media for 2 s")
        assert row["menu"] == "main", row
        d.wait_event("call.end", reason="no media for 2 s")
        d.wait_log(r"no RTP or RTCP from the caller for 2 s")
        assert took >= 2.0, f"BYE after {took:.1f} s"
        assert "ivrd_rtp_inactive_total 1" in metrics(d)


def keeps_alive(kind):
    with Ivrd(f"alive-{kind}", prompt_ms=500, menus=menus_conf(timeout=30.0),
              extra_rtp="timeout = 2;").start() as d:
        sc = write(d, "s.xml", invite(), pause(5000), hangup())
        proc, _ = sipp_bg(d, sc, free_even_pair())
        port = ivrd_rtp_port(d)
        if kind == "rtp":
            sender = Sender(("127.0.0.1", port), lambda n: rtp(0, n, 160 * n), 0.1)
        else:
            # an RR with an empty SDES, every 0.5 s
            rr = struct.pack("!BBHI", 0x80, 201, 1, 0x5eed) + \
                struct.pack("!BBHI", 0x81, 202, 1, 0x5eed)
            sender = Sender(("127.0.0.1", port + 1), lambda n: rr, 0.5)
        try:
            rc, out = finish(proc)
        finally:
            sender.stop()
        assert rc == 0, out  # the caller's own BYE got its 200: the call was still up
        d.wait_event("call.end")
        assert not d.rows("SELECT * FROM events WHERE reason LIKE 'no media%'")
        m = metrics(d)
        assert "ivrd_rtp_inactive_total 0" in m
        if kind == "rtcp":
            assert re.search(r"ivrd_rtp_rtcp_received_total ([1-9]\d*)", m), m


def test_rtp_keeps_the_call_alive():
    keeps_alive("rtp")


def test_rtcp_keeps_the_call_alive():
    keeps_alive("rtcp")


def test_garbage_is_counted_and_the_call_goes_on():
    with Ivrd("garbage", prompt_ms=500, menus=menus_conf(timeout=30.0)).start() as d:
        sc = write(d, "s.xml", invite(), pause(2000), hangup())
        proc, _ = sipp_bg(d, sc, free_even_pair())
        port = ivrd_rtp_port(d)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        junk = [b"", b"x", b"\x00" * 11, b"\xff" * 200, rtp(0, 1, 1)[:5],
                struct.pack("!BBHI", 0x81, 202, 1, 1),              # RTCP that starts with SDES
                struct.pack("!BBHI", 0x80, 200, 40, 1)]             # SR longer than sent
        for j in junk:
            s.sendto(j, ("127.0.0.1", port))
            s.sendto(j, ("127.0.0.1", port + 1))
        s.close()
        rc, out = finish(proc)
        assert rc == 0, out
        d.wait_event("call.end")
        m = re.search(r"ivrd_rtp_malformed_total (\d+)", metrics(d))
        assert m and int(m.group(1)) == 2 * len(junk), m and m.group(0)


if __name__ == "__main__":
    run([test_ptime_30, test_ptime_10, test_symmetric_rtp_follows_the_source,
         test_symmetric_off_sends_to_sdp, test_rtcp_sender_reports, test_no_media_ends_the_call,
         test_rtp_keeps_the_call_alive, test_rtcp_keeps_the_call_alive,
         test_garbage_is_counted_and_the_call_goes_on])

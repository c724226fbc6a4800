#!/usr/bin/env python3
"""Keys by every path a phone may send them, against the real ivrd: SIP INFO
(application/dtmf-relay and application/dtmf, RFC 6086 legacy usage), DTMF tones in the
G.711 audio (streamed by SIPp from a WAV that sox synthesizes), and a press sent both as
RFC 4733 events and as an INFO, which must count once.

usage: test_dtmf.py [--list | TEST...]
"""
import os
import re
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, call_ids, run, sipp  # noqa: E402
from scenario import expect_bye, hangup, invite, keys, notify, pause, refer, write  # noqa: E402

KEYS = {"1": (697, 1209), "2": (697, 1336)}


def info(ctype, body, cseq, code=200, check=""):
    """An INFO in the dialog; expects code. body lines are sent with CRLF (SIPp)."""
    ct = f"Content-Type: {ctype}\n      " if ctype else ""
    lines = "\n".join("      " + line for line in body.split("\n")) if body else ""
    return f"""  <send retrans="500">
    <![CDATA[
      INFO sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "caller" <sip:5551234@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {cseq} INFO
      Contact: <sip:5551234@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      {ct}Content-Length: [len]

{lines}
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="{code}">{check}</recv>
"""


def metrics(d):
    with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^ivrd_(dtmf_\w+?)(?:_total)? (\d+)$", text, re.M)}


def key_rows(d, cid):
    return [e for e in d.events(cid) if e["event"] == "key"]


def menus_entered(d, cid):
    return [e["menu"] for e in d.events(cid) if e["event"] == "menu.enter"]


def test_info_dtmf_relay_routes():
    with Ivrd("info-relay").start() as d:
        sc = write(d, "s.xml", invite(), pause(300),
                   info("application/dtmf-relay", "Signal=2\nDuration=160", 2),
                   refer("billing"), notify("200 OK", 3), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end", result="transferred")
        (cid,) = call_ids(d)
        k = key_rows(d, cid)
        assert [(e["key"], e["detail"]) for e in k] == [("2", "via info")], k
        route = [e for e in d.events(cid) if e["event"] == "route"]
        assert [(r["dept"], r["reason"]) for r in route] == [("billing", "key 2 in menu main")]
        assert metrics(d)["dtmf_info"] == 1
        d.wait_log(r"key 2 by info in menu main")


def test_info_application_dtmf_routes():
    """application/dtmf, the same key twice by the same path: two presses."""
    with Ivrd("info-dtmf").start() as d:
        sc = write(d, "s.xml", invite(), pause(300), info("application/dtmf", "1", 2),
                   pause(300), info("application/dtmf", "1", 3),
                   refer("sales"), notify("200 OK", 4), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end", result="transferred")
        (cid,) = call_ids(d)
        assert [e["key"] for e in key_rows(d, cid)] == ["1", "1"]
        assert menus_entered(d, cid) == ["main", "sales"]
        route = [e for e in d.events(cid) if e["event"] == "route"]
        assert [r["dept"] for r in route] == ["sales"], route
        m = metrics(d)
        assert m["dtmf_info"] == 2 and m["dtmf_duplicate"] == 0, m


def test_info_refused_bodies_and_call_goes_on():
    """Another content type gets 415 with Accept; a malformed DTMF body 400; an empty INFO
    200; none of them is a key, and the caller's next key works."""
    accept = ('<action><ereg regexp="application/dtmf-relay, *application/dtmf" '
              'search_in="hdr" header="Accept:" check_it="true" assign_to="acc"/>'
              '<log message="415 Accept: [$acc]"/></action>')
    reason = ('<action><ereg regexp="SIP/2.0 400 Bad Request [(]Signal is not" '
              'search_in="msg" check_it="true" assign_to="why"/>'
              '<log message="[$why]"/></action>')
    with Ivrd("info-bad").start() as d:
        sc = write(d, "s.xml", invite(), pause(200),
                   info("text/plain", "Signal=1", 2, code=415, check=accept),
                   info("application/dtmf-relay", "Signal=55\nDuration=100", 3, code=400,
                        check=reason),
                   info(None, "", 4, code=200),
                   info("application/dtmf", "", 5, code=200),
                   keys("2", first=100), refer("billing"), notify("200 OK", 6), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end", result="transferred")
        (cid,) = call_ids(d)
        k = key_rows(d, cid)
        assert [(e["key"], e["detail"]) for e in k] == [("2", "via rfc4733")], k
        d.wait_log(r"INFO refused: Signal is not one of")
        # the refused body's digits are never logged; the Call-ID may hold any digits
        with d.cond:
            said = [re.sub(r"\[[^]]*\]", "", line) for line in d.lines if "INFO" in line]
        assert not any("55" in line for line in said), said


def tones_wav(d, key, path):
    """sox synthesizes key's two tones (200 ms, -10 dBFS peak) after 300 ms of silence, as
    an 8 kHz mu-law WAV."""
    low, high = KEYS[key]
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-e", "u-law", path,
                    "synth", "0.2", "sine", str(low), "sine", str(high), "remix", "1,2",
                    "gain", "-n", "-10", "pad", "0.3", "0.8"], check=True, timeout=30)
    return path


def test_inband_tones_route():
    """An offer without telephone-event: ivrd listens to the audio (inband_dtmf = auto)."""
    with Ivrd("inband").start() as d:
        wav = tones_wav(d, "2", os.path.join(d.dir, "key2.wav"))
        sc = write(d, "s.xml", invite(codecs="0"), pause(200),
                   f'  <nop><action><exec rtp_stream="{wav},1,0"/></action></nop>\n',
                   refer("billing"), notify("200 OK", 2), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end", result="transferred")
        (cid,) = call_ids(d)
        k = key_rows(d, cid)
        assert [(e["key"], e["detail"]) for e in k] == [("2", "via inband")], k
        assert metrics(d)["dtmf_inband"] == 1


def test_inband_off_hears_nothing():
    """inband_dtmf = "off": the same tones are only audio, and the menu times out."""
    with Ivrd("inband-off", extra_rtp='inband_dtmf = "off";').start() as d:
        wav = tones_wav(d, "2", os.path.join(d.dir, "key2.wav"))
        sc = write(d, "s.xml", invite(codecs="0"), pause(200),
                   f'  <nop><action><exec rtp_stream="{wav},1,0"/></action></nop>\n',
                   pause(3000), hangup())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end")
        (cid,) = call_ids(d)
        assert key_rows(d, cid) == []
        assert any(e["event"] == "input.timeout" for e in d.events(cid))


def test_inband_setting_is_checked():
    """ivrd -t names a bad ivrd.rtp.inband_dtmf with its file and line."""
    d = Ivrd("inband-conf", extra_rtp='inband_dtmf = "sometimes";')
    p = subprocess.run([os.environ["IVRD"], "-t", "-c", d.conf], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 1, p
    assert re.search(r"ivrd\.conf:\d+: ivrd\.rtp\.inband_dtmf: \"sometimes\" is not auto, "
                     r"always or off", p.stdout + p.stderr), p


def test_rfc4733_and_info_for_one_press_count_once():
    """A phone that sends each key both ways: RFC 4733 events and an INFO for key 1 count
    once (one key row, the menu moved once); then * by INFO and 2 by RFC 4733 both count."""
    with Ivrd("both").start() as d:
        sc = write(d, "s.xml", invite(), keys("1"),
                   info("application/dtmf-relay", "Signal=1\nDuration=160", 2),
                   pause(400), info("application/dtmf-relay", "Signal=*\nDuration=160", 3),
                   keys("2", first=400), refer("billing"), notify("200 OK", 4), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end", result="transferred")
        (cid,) = call_ids(d)
        k = key_rows(d, cid)
        assert [e["key"] for e in k] == ["1", "*", "2"], k
        assert k[1]["detail"] == "via info" and k[2]["detail"] == "via rfc4733", k
        assert menus_entered(d, cid) == ["main", "sales", "main"]
        m = metrics(d)
        assert m["dtmf_duplicate"] == 1, m
        assert m["dtmf_rfc4733"] + m["dtmf_info"] == 3, m
        d.wait_log(r"key by (info|rfc4733) dropped: the same key came by")


if __name__ == "__main__":
    run([test_info_dtmf_relay_routes, test_info_application_dtmf_routes,
         test_info_refused_bodies_and_call_goes_on, test_inband_tones_route,
         test_inband_off_hears_nothing, test_inband_setting_is_checked,
         test_rfc4733_and_info_for_one_press_count_once])

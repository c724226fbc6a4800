"""Builds SIPp caller scenarios from steps, so each test states its call in a few lines:

    scenario(invite(), keys("1", "*", "2"), refer("billing"), notify("200 OK"), expect_bye())
"""

from ivrtest import dtmf_pcap

HEAD = '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="ivrd-test">\n'
TAIL = '</scenario>\n'

def offer(codecs="0 101", rtpmap=None, ani="5551234"):
    """The INVITE with its SDP offer, alone: for calls that expect to be refused."""
    if rtpmap is None:
        rtpmap = {"0": "PCMU/8000", "8": "PCMA/8000", "18": "G729/8000", "101": "telephone-event/8000"}
    lines = "\n".join(f"      a=rtpmap:{pt} {rtpmap[pt]}" for pt in codecs.split() if pt in rtpmap)
    return f"""  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "caller" <sip:{ani}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{ani}@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP {codecs}
{lines}
      a=fmtp:101 0-15
      a=ptime:20

    ]]>
  </send>
"""


def invite(codecs="0 101", rtpmap=None, ani="5551234", ringing=False):
    return offer(codecs, rtpmap, ani) + f"""  <recv response="100" optional="true"/>
  <recv response="180" {'' if ringing else 'optional="true"'}/>
  <recv response="200" rtd="true">
    <action>
      <ereg regexp="m=audio [0-9]+ RTP/AVP [0-9]+" search_in="body" check_it="true" assign_to="mline"/>
      <log message="answer [$mline]"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "caller" <sip:{ani}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:{ani}@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
"""


def pause(ms):
    return f'  <pause milliseconds="{ms}"/>\n'


def keys(*ks, gap=400, first=300):
    """Presses keys (RFC 4733 from SIPp's captures). No pause after the last: ivrd may
    answer it at once, and SIPp cannot receive while pausing."""
    out = pause(first)
    for i, k in enumerate(ks):
        if i:
            out += pause(gap)
        out += f'  <nop><action><exec play_pcap_audio="{dtmf_pcap(k)}"/></action></nop>\n'
    return out


def refer(user, code="202 Accepted", timeout=20000):
    """Waits for a REFER whose Refer-To names sip:USER@; answers it with code."""
    return f"""  <recv request="REFER" timeout="{timeout}">
    <action>
      <ereg regexp="sip:{user}@" search_in="hdr" header="Refer-To:" check_it="true" assign_to="referto"/>
      <ereg regexp="[0-9]+" search_in="hdr" header="CSeq:" assign_to="refercseq"/>
      <log message="REFER to [$referto]"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 {code}
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:caller@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
"""


def notify(status, cseq, terminated=True, with_id=True):
    state = "terminated;reason=noresource" if terminated else "active;expires=60"
    event = "refer;id=[$refercseq]" if with_id else "refer"
    return f"""  <send retrans="500">
    <![CDATA[
      NOTIFY sip:ivr@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "caller" <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {cseq} NOTIFY
      Contact: <sip:caller@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Event: {event}
      Subscription-State: {state}
      Content-Type: message/sipfrag;version=2.0
      Content-Length: [len]

      SIP/2.0 {status}
    ]]>
  </send>
  <recv response="200"/>
"""


def expect_bye(timeout=15000):
    return f"""  <recv request="BYE" timeout="{timeout}"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
"""


def hangup(cseq=2):
    return f"""  <send retrans="500">
    <![CDATA[
      BYE sip:ivr@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "caller" <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {cseq} BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
"""


def scenario(*steps, timewait=1000):
    body = "".join(steps)
    return HEAD + body + f'  <timewait milliseconds="{timewait}"/>\n' + TAIL


def write(ivrd, name, *steps, **kw):
    import os
    path = os.path.join(ivrd.dir, name)
    with open(path, "w") as f:
        f.write(scenario(*steps, **kw))
    return path

#!/usr/bin/env python3
"""ivrd under load, on loopback, with SIPp as the callers. Not a test: it prints figures
and asserts nothing. Run by hand, ideally on a release build:

    meson setup build-rel --buildtype=release && ninja -C build-rel
    python3 tests/bench/bench_calls.py --ivrd build-rel/src/ivrd

Phases (each with a fresh ivrd, its own generated configuration and OS-chosen ports):
  a. call setup: menu calls that press 2 and are transferred (INVITE, ACK, key, REFER, 202,
     NOTIFY 100, NOTIFY 200, BYE) at increasing rates; the highest rate with zero failed
     calls, ivrd's CPU%; on the first step, a capture gives first-packet and key latencies;
  b. concurrency: calls sitting in the menu hearing a long prompt, ramped up to each level;
     calls held, ivrd CPU%, RSS per call, RTP inter-packet delta mean/p99/max over a sample
     of streams (tshark), reload time under load;
  c. memory: idle RSS against loaded RSS (from b).
Bounded: every SIPp run has -m and a timeout, every capture a duration, and the whole run a
time limit (--time-limit). Targets are in ../shared/TESTING.md.

Reading the figures: on loopback the receiver's kernel work runs on the sender's CPU, so
ivrd's CPU includes delivering its RTP to SIPp; SIPp's play_pcap_audio opens a raw UDP
socket per key press, and every raw socket gets a copy of every UDP packet on the machine,
which makes each RTP packet dearer while keys are being pressed (phase a). "machine" is all
CPUs; anything else running on the machine (a test suite) shows there and skews the rest."""
import argparse
import os
import re
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
from ivrtest import PROMPTS, free_even_pair, free_port, write_tone  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
NOFILE = 65536
RTP_MIN, RTP_MAX = 20000, 60000  # ivrd takes even ports from here; busy ones are skipped
DEADLINE = None


def left():
    return DEADLINE - time.monotonic()


def raise_nofile():
    """Open files: NOFILE if allowed (root with CAP_SYS_RESOURCE), else the hard limit."""
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    except (ValueError, OSError):
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- /proc ---

def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def machine_busy():
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]  # idle + iowait
    return sum(v) - idle, sum(v)


def nfds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def calls_up(d, base_fds):
    """Calls holding their media sockets (--fds-per-call: 1 before RTCP, 2 since)."""
    return (nfds(d.proc.pid) - base_fds) // ARGS.fds_per_call


class CpuMeter:
    """CPU% of some processes between start() and stop(), by /proc utime+stime. sample()
    while they run: a process that has exited and been reaped counts until its last sample."""

    def __init__(self, **pids):
        self.pids = pids

    def start(self):
        self.t0 = time.monotonic()
        self.m0 = machine_busy()
        self.c0 = {k: self._cpu(p) or 0.0 for k, p in self.pids.items()}
        self.last = dict(self.c0)
        self.tlast = dict.fromkeys(self.pids, self.t0)
        return self

    def sample(self):
        for k, p in self.pids.items():
            c = self._cpu(p)
            if c is not None:
                self.last[k] = c
                self.tlast[k] = time.monotonic()

    def stop(self):
        """CPU% of each process (100 = one CPU) and "machine": all CPUs busy (100 = all)."""
        self.sample()
        r = {k: (self.last[k] - self.c0[k]) / max(self.tlast[k] - self.t0, 1e-3) * 100
             for k in self.pids}
        busy, total = machine_busy()
        r["machine"] = (busy - self.m0[0]) / max(total - self.m0[1], 1) * 100
        return r

    @staticmethod
    def _cpu(pid):
        try:
            return cpu_seconds(pid)
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return None


# --- the daemon ---

class BenchIvrd:
    def __init__(self, work, name, greeting_ms, timeout_s=60):
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        self.sip_port = free_port()
        prompts = os.path.join(work, "prompts")
        if not os.path.exists(os.path.join(prompts, "en", "main", "greeting.wav")):
            for p in PROMPTS:
                write_tone(os.path.join(prompts, "en", p + ".wav"), 300)
        greeting = f"bench/greeting-{greeting_ms}"
        wav = os.path.join(prompts, "en", greeting + ".wav")
        if not os.path.exists(wav):
            write_tone(wav, greeting_ms)
        self.conf = os.path.join(self.dir, "ivrd.conf")
        self.log = os.path.join(self.dir, "ivrd.log")
        self.state = os.path.join(self.dir, "state")
        target = free_port()
        with open(self.conf, "w") as f:
            f.write(f"""
ivrd: {{
  state_dir = "{self.state}";
  control_socket = "{self.dir}/ivrd.sock";
  prompts_dir = "{prompts}";
  http_listen = "off";
  sip: {{ listen = ["udp:127.0.0.1:{self.sip_port}"]; }};
  rtp: {{ address = "127.0.0.1"; ports = [{RTP_MIN}, {RTP_MAX}]; }};
}};
numbers = ( {{ dnis = "18005550100"; menu = "main"; }} );
departments = {{
  billing = {{ targets = ["sip:billing@127.0.0.1:{target}"]; hours = ["always"]; }};
  operator = {{ targets = ["sip:operator@127.0.0.1:{target}"]; hours = ["always"]; }};
}};
menus = {{
  main = {{
    greeting = "{greeting}"; short = "main/short"; timeout = {timeout_s};
    options = ( {{ key = "2"; action = "dept:billing"; }} );
  }};
}};
""")
        self.proc = None

    def start(self):
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen([ARGS.ivrd, "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.logf,
                                     preexec_fn=raise_nofile, cwd=self.dir)
        self.wait_log(r"ready:", 20)
        return self

    def wait_log(self, pattern, timeout, after=0):
        end = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < end:
            with open(self.log, errors="replace") as f:
                f.seek(after)
                for line in f:
                    if rx.search(line):
                        return line
            if self.proc.poll() is not None:
                raise RuntimeError(f"ivrd exited with {self.proc.returncode}:\n"
                                   f"{self.tail()}")
            time.sleep(0.05)
        raise RuntimeError(f"no /{pattern}/ in ivrd's log within {timeout} s")

    def tail(self, n=20):
        with open(self.log, errors="replace") as f:
            return "".join(f.readlines()[-n:])

    def log_size(self):
        return os.path.getsize(self.log)

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(10)
        self.logf.close()
        self.proc = None
        return rc

    def journal(self, sql, args=()):
        con = sqlite3.connect(f"file:{self.state}/journal.db?mode=ro", uri=True, timeout=30)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()


# --- SIPp ---

def sipp(d, scenario, rate, calls, limit, extra=(), timeout=120):
    """Starts SIPp as the callers; returns (Popen, its media port, its error file)."""
    media = free_even_pair()
    errf = os.path.join(d.dir, f"sipp-{scenario}-{rate}-{calls}.err")
    cmd = ["sipp", "-t", "u1", f"127.0.0.1:{d.sip_port}", "-sf", os.path.join(HERE, scenario),
           "-s", "18005550100", "-i", "127.0.0.1", "-p", str(free_port()),
           "-mi", "127.0.0.1", "-mp", str(media), "-r", str(rate), "-rp", "1000",
           "-m", str(calls), "-l", str(limit), "-nostdin", "-timeout", f"{timeout}s",
           "-buff_size", str(8 << 20), "-trace_err", "-error_file", errf, *extra]
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, preexec_fn=raise_nofile,
                         cwd=d.dir)
    out = []
    threading.Thread(target=lambda: out.extend(p.stdout), daemon=True).start()
    p.output = out
    return p, media, errf


def sipp_result(p):
    """Successful and failed calls from SIPp's last statistics screen."""
    text = "".join(p.output)
    ok = re.findall(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", text)
    bad = re.findall(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", text)
    return (int(ok[-1]) if ok else 0), (int(bad[-1]) if bad else -1)


def sipp_errors(errf, n=4):
    """SIPp's error file, summarised: each kind of error (numbers and Call-IDs blanked)
    with its count, most frequent first."""
    if not os.path.exists(errf):
        return ""
    with open(errf, errors="replace") as f:
        text = f.read()
    kinds = {}
    # entries start with "YYYY-MM-DD\tHH:MM:SS.us\tEPOCH: "
    for entry in re.split(r"\d{4}-\d\d-\d\d\s+[\d:.]+\s+[\d.]+: ", text)[1:]:
        key = entry.strip().splitlines()[0]
        key = re.sub(r"\S*\d+-\d+@\S+|Call-Id: \S+|sip:\S+", "*", key)[:140]
        kinds[key] = kinds.get(key, 0) + 1
    top = sorted(kinds.items(), key=lambda kv: -kv[1])[:n]
    return "; ".join(f"{c}x {k}" for k, c in top)


# --- tshark ---

class Capture:
    """A bounded tshark capture on lo."""

    def __init__(self, path, bpf, seconds, packets=2_000_000):
        self.path = path
        self.proc = subprocess.Popen(
            ["tshark", "-i", "lo", "-f", bpf, "-a", f"duration:{seconds}",
             "-c", str(packets), "-B", "64", "-w", path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)
        self.ready = threading.Event()
        self.err = []

        def reader():
            for line in self.proc.stderr:
                self.err.append(line)
                if "Capturing on" in line:
                    self.ready.set()
            self.ready.set()
        threading.Thread(target=reader, daemon=True).start()
        if not self.ready.wait(30):
            raise RuntimeError("tshark did not start: " + "".join(self.err))

    def wait(self, timeout):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(30)
        dropped = re.findall(r"(\d+) packets? dropped", "".join(self.err))
        return int(dropped[-1]) if dropped else 0

    def fields(self, *args):
        p = subprocess.run(["tshark", "-r", self.path, "-T", "fields", "-E", "separator=|",
                            *args], capture_output=True, text=True, timeout=300)
        return [ln.split("|") for ln in p.stdout.splitlines()]


def pct(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


def rtp_deltas(cap, media_port):
    """Inter-packet deltas (ms) per stream (ivrd's source port) of the RTP in cap; also
    sequence gaps. The first packet of a stream has no delta."""
    rows = cap.fields("-d", f"udp.port=={media_port},rtp", "-Y", "rtp",
                      "-e", "frame.time_epoch", "-e", "udp.srcport", "-e", "rtp.seq")
    last, deltas, gaps, streams = {}, [], 0, set()
    for t, port, seq in rows:
        t, seq = float(t), int(seq)
        streams.add(port)
        if port in last:
            lt, ls = last[port]
            deltas.append((t - lt) * 1000)
            if seq != (ls + 1) & 0xFFFF:
                gaps += 1
        last[port] = (t, seq)
    return deltas, len(streams), gaps


# --- phases ---

def phase_setup(work, rates):
    print("\n== a. call setup: menu calls pressing 2, transferred (REFER, NOTIFY 200, BYE)")
    d = BenchIvrd(work, "setup", greeting_ms=3000).start()
    results = []
    best = None
    try:
        idle = rss_kb(d.proc.pid)
        for i, rate in enumerate(rates):
            calls = ARGS.calls or rate * ARGS.step_seconds
            if left() < calls / rate + 30:
                print(f"   {rate} cps: skipped (time limit)")
                break
            last_id = d.journal("SELECT coalesce(max(id), 0) FROM events")[0][0]
            # a sample of each step: who answers how fast; on the first step (ivrd's first
            # RTP ports) also first prompt packet and key latency
            bpf = f"udp port {d.sip_port}"
            if i == 0:
                bpf += f" or udp portrange {RTP_MIN}-{RTP_MIN + 400}"
            cap = Capture(os.path.join(d.dir, f"setup-{rate}.pcap"), bpf, seconds=4)
            p, media, errf = sipp(d, "uac_menu_transfer.xml", rate, calls, limit=rate * 10,
                                  timeout=int(calls / rate) + 60)
            meter = CpuMeter(ivrd=d.proc.pid, sipp=p.pid).start()
            peak_rss = idle
            while p.poll() is None:
                meter.sample()
                peak_rss = max(peak_rss, rss_kb(d.proc.pid))
                time.sleep(0.2)
            cpu = meter.stop()
            elapsed = time.monotonic() - meter.t0
            ok, failed = sipp_result(p)
            rows = d.journal("SELECT min(ts_ms), max(ts_ms), count(*) FROM events "
                             "WHERE event = 'call.start' AND id > ?", (last_id,))[0]
            achieved = (rows[2] - 1) / ((rows[1] - rows[0]) / 1000) if rows[2] > 1 and \
                rows[1] > rows[0] else float("nan")
            ends = dict(d.journal("SELECT result, count(*) FROM events WHERE "
                                  "event = 'call.end' AND id > ? GROUP BY result", (last_id,)))
            cap.wait(10)
            lat = latencies(cap, d.sip_port)
            print(f"   {rate:5d} cps asked, {achieved:6.0f} cps achieved: {ok} ok, {failed} "
                  f"failed (sipp exit {p.returncode}); ivrd CPU {cpu['ivrd']:5.1f}%, "
                  f"sipp CPU {cpu['sipp']:5.1f}%, machine {cpu['machine']:5.1f}% busy; "
                  f"{elapsed:.1f} s; peak RSS {peak_rss} KB; ivrd call.end {ends}")
            if lat:
                print(f"         {lat}")
            if failed:
                print(f"         sipp errors: {sipp_errors(errf)}")
            results.append((rate, achieved, ok, failed, cpu["ivrd"], cpu["sipp"]))
            if failed == 0 and p.returncode == 0:
                best = (rate, achieved, cpu["ivrd"])
            else:
                break
            if d.proc.poll() is not None:
                print(f"   ivrd died: {d.tail()}")
                break
            time.sleep(1)
        if left() > 120:
            # transactions stay 32 s after their final response (RFC 3261 Timer J, RFC 6026
            # Timer L): memory held after the calls is theirs until then, a leak if after
            before = rss_kb(d.proc.pid)
            time.sleep(35)
            print(f"   RSS: idle {idle} KB, at the end of the last step {before} KB, 35 s later "
                  f"{rss_kb(d.proc.pid)} KB (transactions ended; malloc keeps what they "
                  f"freed for the next calls)")
    finally:
        rc = d.stop()
    if best:
        print(f"   => highest rate with zero failed calls: {best[0]} cps asked "
              f"({best[1]:.0f} achieved), ivrd CPU {best[2]:.1f}%")
    print(f"   ivrd exit {rc}")
    return results, best


def latencies(cap, sip_port):
    """Per call in the capture: 200 OK -> first RTP packet from the port its SDP names;
    first RFC 4733 packet to that port -> the REFER; and per transaction, how long each
    side took to answer a request (ivrd: INVITE, NOTIFY; SIPp: REFER, BYE) - a side that
    answers in more than T1 (500 ms) gets retransmissions."""
    rows = cap.fields("-d", f"udp.port=={sip_port},sip", "--enable-heuristic", "rtp_udp",
                      "-e", "frame.time_epoch", "-e", "udp.srcport", "-e", "udp.dstport",
                      "-e", "sip.Call-ID", "-e", "sip.Status-Code", "-e", "sip.CSeq.method",
                      "-e", "sip.CSeq.seq", "-e", "sip.Method", "-e", "sdp.media.port",
                      "-e", "rtp.p_type")
    ok_at, port_call, first_rtp, first_key, refer_at = {}, {}, {}, {}, {}
    asked, answer = {}, {"ivrd": [], "sipp": []}
    for t, src, dst, cid, status, cseq, seq, method, mport, pt in rows:
        t = float(t)
        if cid and cseq:
            key = (cid, cseq, seq)
            if method and key not in asked:
                asked[key] = (t, "ivrd" if int(dst) == sip_port else "sipp")
            elif status and not status.startswith("1") and key in asked and \
                    len(asked[key]) == 2:
                who = asked[key][1]
                answer[who].append((t - asked[key][0]) * 1000)
                asked[key] += (True,)
        if cid:
            if status == "200" and cseq == "INVITE" and mport and cid not in ok_at:
                ok_at[cid] = t
                port_call[mport.split(",")[0]] = cid
            elif method == "REFER" and cid not in refer_at:
                refer_at[cid] = t
        elif pt:
            if pt == "0" or pt == "8":
                first_rtp.setdefault(src, t)
            elif pt == "101":
                first_key.setdefault(dst, t)
    first, key = [], []
    for port, cid in port_call.items():
        if port in first_rtp:
            first.append((first_rtp[port] - ok_at[cid]) * 1000)
        if port in first_key and cid in refer_at:
            key.append((refer_at[cid] - first_key[port]) * 1000)
    first.sort()
    key.sort()
    out = []
    for who, xs in answer.items():
        xs.sort()
        if xs:
            out.append(f"{who} answers requests ({len(xs)}) in mean {statistics.mean(xs):.1f} "
                       f"ms, p99 {pct(xs, .99):.1f}, max {xs[-1]:.1f}")
    if not first:
        return "; ".join(out)
    return "; ".join(out) + (
        f"\n         first prompt packet after 200 OK ({len(first)} calls): mean "
        f"{statistics.mean(first):.1f} ms, p99 {pct(first, .99):.1f}, max {first[-1]:.1f}; "
        f"key -> REFER ({len(key)} calls): mean "
        f"{statistics.mean(key) if key else float('nan'):.1f} ms, "
        f"max {key[-1] if key else float('nan'):.1f}")


def phase_concurrency(work, levels):
    print("\n== b. concurrency: calls in the menu hearing a long prompt, no keys")
    results = []
    for level in levels:
        ramp = level / ARGS.ramp
        hold = ramp + ARGS.hold + 5  # every call is up for the whole measuring window
        if left() < hold + ramp + 60:
            print(f"   {level} calls: skipped (time limit)")
            break
        d = BenchIvrd(work, f"hold-{level}", greeting_ms=int((hold + 30) * 1000),
                      timeout_s=60).start()
        p = None
        try:
            base_fds = nfds(d.proc.pid)
            idle = rss_kb(d.proc.pid)
            p, media, errf = sipp(d, "uac_hold.xml", ARGS.ramp, level, limit=level,
                                  extra=["-d", str(int(hold * 1000))],
                                  timeout=int(hold + ramp + 60))
            # wait until every call is up (ivrd holds an RTP and an RTCP socket per call)
            t0 = time.monotonic()
            while calls_up(d, base_fds) < level and p.poll() is None and \
                    time.monotonic() - t0 < ramp * 3 + 20:
                time.sleep(0.2)
            up = time.monotonic() - t0
            held = calls_up(d, base_fds)
            meter = CpuMeter(ivrd=d.proc.pid, sipp=p.pid).start()
            # a sample of streams: ivrd's first ports, for a few seconds
            cap = Capture(os.path.join(d.dir, "rtp.pcap"),
                          f"udp dst port {media} and udp src portrange {RTP_MIN}-"
                          f"{RTP_MIN + 2 * ARGS.sample_streams - 1}",
                          seconds=ARGS.capture_seconds)
            dropped = cap.wait(ARGS.capture_seconds + 30)
            rest = ARGS.hold - ARGS.capture_seconds - 2
            if rest > 0:
                time.sleep(rest)
            cpu = meter.stop()
            still = calls_up(d, base_fds)
            loaded = rss_kb(d.proc.pid)
            # reload under load
            size = d.log_size()
            t = time.monotonic()
            d.proc.send_signal(signal.SIGHUP)
            line = d.wait_log(r"generation \d+ -> \d+ in", 30, after=size)
            reload_ms = float(re.search(r"in ([\d.]+) ms", line).group(1))
            reload_wall = (time.monotonic() - t) * 1000
            held_after = calls_up(d, base_fds)
            p.wait(hold + ramp + 120)
            ok, failed = sipp_result(p)
            deltas, nstreams, gaps = rtp_deltas(cap, media)
            deltas.sort()
            after = rss_kb(d.proc.pid)
            per_call = (loaded - idle) / max(held, 1)
            r = {"level": level, "held": held, "up_s": up, "cpu": cpu["ivrd"],
                 "sipp_cpu": cpu["sipp"], "idle": idle, "loaded": loaded, "per_call": per_call,
                 "after": after, "ok": ok, "failed": failed, "streams": nstreams,
                 "packets": len(deltas) + nstreams, "gaps": gaps, "dropped": dropped,
                 "mean": statistics.mean(deltas) if deltas else float("nan"),
                 "p99": pct(deltas, .99), "max": deltas[-1] if deltas else float("nan"),
                 "min": deltas[0] if deltas else float("nan"),
                 "reload_ms": reload_ms, "reload_wall": reload_wall, "held_after": held_after}
            results.append(r)
            print(f"   {level:6d} asked: {held} held after {up:.1f} s, {still} at the end "
                  f"of the window; ivrd CPU {cpu['ivrd']:5.1f}% "
                  f"(sipp {cpu['sipp']:5.1f}%, machine {cpu['machine']:5.1f}% busy); RSS idle "
                  f"{idle} KB, loaded {loaded} KB = {per_call:.1f} KB/call; after the calls "
                  f"{after} KB")
            print(f"          RTP, {nstreams} streams, {r['packets']} packets: delta mean "
                  f"{r['mean']:.2f} ms, p99 {r['p99']:.2f}, max {r['max']:.2f}, min "
                  f"{r['min']:.2f}; seq gaps {gaps}; capture dropped {dropped}")
            print(f"          reload under load: {reload_ms:.1f} ms (ivrd), calls held across "
                  f"it {held_after}; sipp: {ok} ok, {failed} failed (exit {p.returncode})")
            if failed:
                print(f"          sipp errors: {sipp_errors(errf)}")
            stats = stats_line(d)
            if stats:
                print(f"          {stats}")
        finally:
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(10)
            rc = d.stop()
            if rc != 0:
                print(f"   ivrd exit {rc}: {d.tail()}")
        if failed or held < level * 0.99:
            break
    return results


def stats_line(d):
    """Warnings ivrd logged (late ticks, send errors, ...), counted."""
    counts = {}
    with open(d.log, errors="replace") as f:
        for line in f:
            if line.startswith(("<4>", "<3>", "<2>")):
                key = re.sub(r"\[[^\]]*\]|\d+", "N", line.strip())[:100]
                counts[key] = counts.get(key, 0) + 1
    return "; ".join(f"{n}x {k}" for k, n in sorted(counts.items(), key=lambda x: -x[1])[:5])


def main():
    global ARGS, DEADLINE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ivrd", required=True)
    ap.add_argument("--rate", default="100,200,400,800",
                    help="call setup rates to try, in order (calls/s, comma-separated)")
    ap.add_argument("--calls", type=int, default=0,
                    help="calls per rate step (default: --step-seconds worth)")
    ap.add_argument("--step-seconds", type=int, default=5)
    ap.add_argument("--concurrent", default="1000,3000,5000,10000",
                    help="concurrency levels (comma-separated)")
    ap.add_argument("--ramp", type=int, default=500, help="calls/s while ramping up")
    ap.add_argument("--hold", type=float, default=12,
                    help="seconds every call of a level is up together (measuring window)")
    ap.add_argument("--capture-seconds", type=int, default=5)
    ap.add_argument("--sample-streams", type=int, default=50)
    ap.add_argument("--phases", default="ab")
    ap.add_argument("--time-limit", type=int, default=600, help="seconds for the whole run")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--fds-per-call", type=int, default=2,
                    help="sockets ivrd holds per call (2: RTP and RTCP; 1 for builds before "
                         "RTCP), to count the calls up")
    ARGS = ap.parse_args()
    ARGS.ivrd = os.path.abspath(ARGS.ivrd)
    DEADLINE = time.monotonic() + ARGS.time_limit
    raise_nofile()
    work = tempfile.mkdtemp(prefix="ivrd-bench-")
    print(f"ivrd {ARGS.ivrd}; work directory {work}; {os.cpu_count()} CPUs; open files "
          f"{resource.getrlimit(resource.RLIMIT_NOFILE)[0]}")
    setup = conc = None
    if "a" in ARGS.phases:
        setup = phase_setup(work, [int(r) for r in ARGS.rate.split(",")])
    if "b" in ARGS.phases:
        conc = phase_concurrency(work, [int(c) for c in ARGS.concurrent.split(",")])
    print("\n== summary")
    if setup and setup[1]:
        rate, achieved, cpu = setup[1]
        print(f"   call setup: {rate} cps ({achieved:.0f} achieved) with zero failed calls, "
              f"ivrd CPU {cpu:.1f}%  (target >= 800 cps)")
    elif setup:
        print("   call setup: no rate without failed calls")
    if conc:
        print("   calls asked  held  ivrd CPU%  KB/call  RTP mean/p99/max ms   sipp ok/failed")
        for r in conc:
            print(f"   {r['level']:10d} {r['held']:5d} {r['cpu']:9.1f} {r['per_call']:8.1f}  "
                  f"{r['mean']:6.2f}/{r['p99']:6.2f}/{r['max']:6.2f}   {r['ok']}/{r['failed']}")
        good = [r for r in conc if r["failed"] == 0 and r["held"] >= r["level"] * 0.99]
        best = good[-1] if good else max(conc, key=lambda r: r["held"])
        print(f"   concurrency: {best['held']} calls with prompts streaming, ivrd CPU "
              f"{best['cpu']:.1f}%, {best['per_call']:.1f} KB/call, RTP delta mean "
              f"{best['mean']:.2f} / p99 {best['p99']:.2f} / max {best['max']:.2f} ms "
              f"(targets >= 10000 calls on <= 100% CPU, <= 16 KB/call, p99 <= 22, max <= 30)")
        print(f"   memory: idle {best['idle']} KB, loaded {best['loaded']} KB, after the calls "
              f"{best['after']} KB; reload under load {best['reload_ms']:.1f} ms")
    if not ARGS.keep:
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()

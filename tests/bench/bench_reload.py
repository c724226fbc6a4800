#!/usr/bin/env python3
"""Reloading a large configuration, idle and under call load. Not a test: it prints figures
and asserts nothing. Run by hand, ideally on a release build:

    meson setup build-rel --buildtype=release && ninja -C build-rel
    python3 tests/bench/bench_reload.py --ivrd build-rel/src/ivrd

It generates a configuration of --menus menu nodes (a tree from "main": each menu has 3 to 9
options, to new submenus while there are nodes left to place, else to departments; the
prompts are a handful of WAVs every menu shares, so the cache decodes each once), then:
  1. `ivrd -t` on it, --checks times;
  2. --reloads SIGHUPs to an idle daemon: the time ivrd logs ("generation N -> N+1 in X ms")
     and the time from the signal to that line;
  3. --reloads SIGHUPs, each after one prompt file changed (rewritten: a new size and mtime);
  4. --reloads SIGHUPs while SIPp keeps up --rate calls/s of menu calls that press 2 and are
     transferred (tests/bench/uac_menu_transfer.xml), --calls of them at most: SIPp's failed
     calls, what the journal says of every call and which generation it started on.
Loopback only, OS-chosen ports, every wait bounded, the whole run within --time-limit."""
import argparse
import math
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
from ivrtest import PROMPTS, free_even_pair, free_port, write_tone  # noqa: E402

SHARED = 6  # distinct menu greetings, shared by all menus
DEPTS = 20
DEADLINE = None


def left():
    return DEADLINE - time.monotonic()


def menus_tree(n, rng):
    """n menus in a tree from "main"; each 3-9 options; returns {name: [(key, action)]}.
    main's key 2 goes to billing (the load calls press it)."""
    names = ["main"] + [f"m{i:04d}" for i in range(1, n)]
    menus = {name: [] for name in names}
    nxt = 1
    for name in names:
        nopts = rng.randint(3, 9)
        for k in range(1, nopts + 1):
            if name == "main" and k == 2:
                action = "dept:billing"
            elif nxt < n and k != nopts:  # the last option always leaves the menus
                action = f"menu:{names[nxt]}"
                nxt += 1
            else:
                action = f"dept:d{rng.randrange(DEPTS):02d}"
            menus[name].append((str(k), action))
    assert nxt == n, f"only {nxt} of {n} menus placed"
    return menus


def write_conf(path, work, sip_port, http_port, menus):
    target = free_port()
    depts = "".join(f'  d{i:02d} = {{ targets = ["sip:d{i:02d}@127.0.0.1:{target}"]; '
                    f'hours = ["always"]; }};\n' for i in range(DEPTS))
    body = []
    for i, (name, opts) in enumerate(menus.items()):
        o = ", ".join(f'{{ key = "{k}"; action = "{a}"; }}' for k, a in opts)
        body.append(f'  {name} = {{ greeting = "bench/g{i % SHARED}"; short = "main/short"; '
                    f'timeout = 10; options = ( {o} ); }};')
    with open(path, "w") as f:
        f.write(f"""
ivrd: {{
  state_dir = "{work}/state";
  control_socket = "{work}/ivrd.sock";
  prompts_dir = "{work}/prompts";
  http_listen = "127.0.0.1:{http_port}";
  sip: {{ listen = ["udp:127.0.0.1:{sip_port}"]; }};
  rtp: {{ address = "127.0.0.1"; ports = [20000, 60000]; }};
}};
numbers = ( {{ dnis = "18005550100"; menu = "main"; }} );
departments = {{
{depts}  billing = {{ targets = ["sip:billing@127.0.0.1:{target}"]; hours = ["always"]; }};
  operator = {{ targets = ["sip:operator@127.0.0.1:{target}"]; hours = ["always"]; }};
}};
menus = {{
{chr(10).join(body)}
}};
""")


class Daemon:
    def __init__(self, work, conf):
        self.work, self.conf = work, conf
        self.log = os.path.join(work, "ivrd.log")
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen([ARGS.ivrd, "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.logf, cwd=work)
        self.wait_log(r"ready:", 60)

    def wait_log(self, pattern, timeout, after=0):
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with open(self.log, errors="replace") as f:
                f.seek(after)
                for line in f:
                    if rx.search(line):
                        return line
            if self.proc.poll() is not None:
                raise RuntimeError(f"ivrd exited with {self.proc.returncode}")
            time.sleep(0.002)
        raise RuntimeError(f"no /{pattern}/ in ivrd's log within {timeout} s")

    def reload(self):
        """SIGHUP; (ms ivrd logged, ms from the signal to the log line)."""
        size = os.path.getsize(self.log)
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGHUP)
        line = self.wait_log(r"generation \d+ -> \d+ in |keeps serving", 60, after=size)
        wall = (time.monotonic() - t0) * 1000
        m = re.search(r"in ([\d.]+) ms", line)
        if m is None:
            raise RuntimeError(f"reload refused: {line.strip()}")
        return float(m.group(1)), wall

    def journal(self, sql, args=()):
        con = sqlite3.connect(f"file:{self.work}/state/journal.db?mode=ro", uri=True, timeout=30)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(10)
        self.logf.close()
        return rc


def stats(values):
    v = sorted(values)
    p95 = v[min(len(v) - 1, math.ceil(len(v) * 0.95) - 1)]
    return f"{v[0]:8.1f} {statistics.median(v):8.1f} {p95:8.1f} {v[-1]:8.1f}"


def scrape(port, names):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        parts = line.split(" ")
        if parts[0] in names:
            out[parts[0]] = float(parts[1])
    return out


def main():
    global ARGS, DEADLINE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ivrd", required=True)
    ap.add_argument("--menus", type=int, default=1000)
    ap.add_argument("--checks", type=int, default=5, help="ivrd -t runs")
    ap.add_argument("--reloads", type=int, default=20, help="reloads per phase")
    ap.add_argument("--rate", type=int, default=50, help="calls/s during the loaded reloads")
    ap.add_argument("--calls", type=int, default=1500, help="calls at most during that phase")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-limit", type=int, default=300, help="seconds for the whole run")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ARGS = ap.parse_args()
    ARGS.ivrd = os.path.abspath(ARGS.ivrd)
    DEADLINE = time.monotonic() + ARGS.time_limit
    work = tempfile.mkdtemp(prefix="ivrd-bench-reload-")
    rng = random.Random(ARGS.seed)
    prompts = os.path.join(work, "prompts", "en")
    for p in PROMPTS:
        write_tone(os.path.join(prompts, p + ".wav"), 300)
    for i in range(SHARED):
        write_tone(os.path.join(prompts, "bench", f"g{i}.wav"), 2000, freq=300 + 100 * i)
    menus = menus_tree(ARGS.menus, rng)
    sip_port, http_port = free_port(), free_port(socket.SOCK_STREAM)
    conf = os.path.join(work, "ivrd.conf")
    write_conf(conf, work, sip_port, http_port, menus)
    nopts = sum(len(o) for o in menus.values())
    print(f"ivrd {ARGS.ivrd}; work directory {work}; {os.cpu_count()} CPUs")
    print(f"configuration: {len(menus)} menus, {nopts} options "
          f"({sum(1 for o in menus.values() for _, a in o if a.startswith('menu:'))} to "
          f"submenus), {DEPTS + 2} departments, {SHARED} shared greetings + {len(PROMPTS)} "
          f"common prompts; {os.path.getsize(conf) // 1024} KB")
    rows = []

    # 1. ivrd -t
    checks = []
    for _ in range(ARGS.checks):
        t0 = time.monotonic()
        p = subprocess.run([ARGS.ivrd, "-t", "-c", conf], capture_output=True, text=True,
                           timeout=120)
        checks.append((time.monotonic() - t0) * 1000)
        if p.returncode != 0:
            print(f"ivrd -t failed ({p.returncode}):\n{p.stderr[-3000:]}")
            return
    print(f"ivrd -t: {p.stdout.strip()}")
    rows.append(("ivrd -t (process, wall)", checks))

    d = Daemon(work, conf)
    try:
        # 2. idle reloads
        logged, wall = zip(*[d.reload() for _ in range(ARGS.reloads)])
        rows.append(("reload, idle (ivrd's figure)", logged))
        rows.append(("reload, idle (signal -> log line)", wall))

        # 3. one prompt changed before each reload
        logged = []
        for i in range(ARGS.reloads):
            write_tone(os.path.join(prompts, "bench", f"g{i % SHARED}.wav"),
                       2000 + 20 * (i + 1), freq=300 + 100 * (i % SHARED))
            logged.append(d.reload()[0])
        rows.append(("reload, one prompt changed", logged))

        # 4. reloads under load
        load = loaded_reloads(d, work, sip_port, http_port)
        if load is not None:
            rows.append(("reload under load (ivrd's figure)", load["logged"]))
            rows.append(("reload under load (signal -> log)", load["wall"]))
        m = scrape(http_port, {"ivrd_config_generation", "ivrd_config_reload_ok_total",
                               "ivrd_config_reload_fail_total", "ivrd_call_total",
                               "ivrd_call_active", "ivrd_journal_failed_total",
                               "ivrd_rtp_tick_late_total"})
        rss = int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{d.proc.pid}/status").read())[1])
    finally:
        rc = d.stop()

    print(f"\n{'':36} {'n':>3} {'min':>8} {'median':>8} {'p95':>8} {'max':>8}   (ms)")
    for name, values in rows:
        print(f"{name:36} {len(values):3d} {stats(values)}")
    if load is not None:
        print(f"\nunder load: SIPp {load['ok']} successful, {load['failed']} failed calls "
              f"(exit {load['rc']}) at {ARGS.rate} calls/s asked, {load['achieved']:.0f} "
              f"achieved; {load['during']} reloads during the calls")
        print(f"journal: {load['started']} calls started, ended {load['ends']}; calls per "
              f"generation they started on: {load['gens']}")
        print(f"media during that phase: {load['media']}")
        if load["failed"]:
            print(f"SIPp errors: {load['errors']}")
    print(f"metrics page at the end: {m}; ivrd RSS {rss} KB; ivrd exit {rc}")
    if not ARGS.keep:
        shutil.rmtree(work)


def loaded_reloads(d, work, sip_port, http_port):
    duration = ARGS.calls / ARGS.rate
    if left() < duration + 60:
        print("reloads under load: skipped (time limit)")
        return None
    last = d.journal("SELECT coalesce(max(id), 0) FROM events")[0][0]
    media = ("ivrd_rtp_tick_late_total", "ivrd_rtp_frames_skipped_total", "ivrd_rtp_sent_total")
    before = scrape(http_port, media)
    errf = os.path.join(work, "sipp.err")
    cmd = ["sipp", "-t", "u1", f"127.0.0.1:{sip_port}", "-sf",
           os.path.join(HERE, "uac_menu_transfer.xml"), "-s", "18005550100",
           "-i", "127.0.0.1", "-p", str(free_port()), "-mi", "127.0.0.1",
           "-mp", str(free_even_pair()), "-r", str(ARGS.rate), "-m", str(ARGS.calls),
           "-l", str(ARGS.rate * 10), "-nostdin", "-timeout", f"{int(duration) + 60}s",
           "-trace_err", "-error_file", errf]
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, cwd=work)
    out = []
    threading.Thread(target=lambda: out.extend(p.stdout), daemon=True).start()
    # spread the reloads over the middle of the run, calls in every state around each
    time.sleep(min(2.0, duration / 4))
    gap = duration / 2 / ARGS.reloads
    logged, wall, during = [], [], 0
    for _ in range(ARGS.reloads):
        ms, w = d.reload()
        logged.append(ms)
        wall.append(w)
        during += p.poll() is None
        time.sleep(gap)
    try:
        p.wait(duration + 90)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(10)
    time.sleep(1)  # the last calls' ends reach the journal
    after = scrape(http_port, media)
    text = "".join(out)
    ok = re.findall(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", text)
    bad = re.findall(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", text)
    rows = d.journal("SELECT min(ts_ms), max(ts_ms), count(*) FROM events "
                     "WHERE event = 'call.start' AND id > ?", (last,))[0]
    errors = ""
    if os.path.exists(errf):
        errors = open(errf, errors="replace").read()[-2000:]
    return {
        "logged": logged, "wall": wall, "during": during, "rc": p.returncode,
        "ok": int(ok[-1]) if ok else 0, "failed": int(bad[-1]) if bad else -1,
        "achieved": (rows[2] - 1) / ((rows[1] - rows[0]) / 1000) if rows[2] > 1 else 0,
        "started": rows[2],
        "ends": dict(d.journal("SELECT result, count(*) FROM events WHERE event = 'call.end' "
                               "AND id > ? GROUP BY result", (last,))),
        "gens": dict(d.journal("SELECT generation, count(*) FROM events WHERE "
                               "event = 'call.start' AND id > ? GROUP BY generation",
                               (last,))),
        "errors": errors,
        "media": {k[5:]: int(after[k] - before[k]) for k in media},
    }


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Keeping 1,000 callback promises at once. Not a test: it prints figures and asserts
nothing. Run by hand, ideally on a release build:

    meson setup build-rel --buildtype=release && ninja -C build-rel
    python3 tests/bench/bench_callbacks.py --ivrd build-rel/src/ivrd --rate 20

1,000 promises, all due, are seeded in the journal's callbacks table (as a previous run
would leave them); ivrd starts with the department open and room for every dial-back
(max_active 1000, no max_transfers), ivrd.callbacks.rate as given, and SIPp behind the
outbound proxy address answers every dial-back, takes the REFER and reports the transfer
(tests/data/sipp/callback_callee.xml). Printed: when the last dial-back started against the
ideal (first start + 999 / rate), the total time until every promise was kept, failures
(attempts that did not end kept, promises not kept), and ivrd's CPU time.

Bounded: SIPp has -m 1000 and a timeout; the whole run a time limit (1000 / rate + 120 s)."""
import argparse
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
import test_callbacks  # noqa: E402
from ivrtest import SIPP_DIR, free_port  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def drain(sock, stop):
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            sock.recv(2048)
        except socket.timeout:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ivrd", default="build-cbrel/src/ivrd")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=20.0)
    args = ap.parse_args()
    os.environ["IVRD"] = os.path.abspath(args.ivrd)
    n, rate = args.count, args.rate
    limit = n / rate + 120

    port = free_port()
    d = test_callbacks.daemon("bench-cb", port, rate=rate, ring_timeout=10)
    # room for every dial-back at once: the rate alone paces them
    with open(d.conf) as f:
        text = f.read()
    text = text.replace('order = "caller-first";',
                        'order = "caller-first"; max_active = 1000;')
    text = text.replace("max_outbound = 8;", "max_outbound = 1000;")
    with open(d.conf, "w") as f:
        f.write(text)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    stop = threading.Event()
    threading.Thread(target=drain, args=(sink, stop), daemon=True).start()
    sipp = None
    try:
        d.start()
        d.stop()
        now = int(time.time() * 1000)
        con = sqlite3.connect(d.journal, timeout=5)
        with con:
            con.executemany(
                "INSERT INTO callbacks (id, number, ani, dept, lang, call_id, state, "
                "created_ms, updated_ms, due_ms, expires_ms, next_ms, attempts, max_attempts) "
                "VALUES (?, ?, ?, 'billing', 'en', 'seed@x', 'open', ?, ?, ?, ?, ?, 0, 3)",
                [(i + 1, f"1512555{i:04d}", f"1512555{i:04d}", now, now, now + 3600000,
                  now + 86400000, now) for i in range(n)])
        con.close()
        sipp_dir = tempfile.mkdtemp(prefix="bench-cb-sipp-", dir=d.dir)
        sipp = subprocess.Popen(
            ["sipp", "-sf", os.path.join(SIPP_DIR, "callback_callee.xml"), "-i", "127.0.0.1",
             "-p", str(port), "-m", str(n), "-nostdin", "-timeout", f"{int(limit)}s",
             "-key", "rtp_port", str(sink.getsockname()[1]), "-trace_err"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=sipp_dir)
        t0 = time.time()
        d.start()
        pid = d.proc.pid
        cpu0 = cpu_s(pid)
        deadline = time.monotonic() + limit
        kept = 0
        while time.monotonic() < deadline:
            kept = d.rows("SELECT count(*) AS n FROM callbacks WHERE state = 'kept'")[0]["n"]
            if kept >= n:
                break
            time.sleep(0.5)
        t_end = time.time()
        cpu = cpu_s(pid) - cpu0
        starts = [r["ts_ms"] for r in d.rows(
            "SELECT ts_ms FROM events WHERE event = 'callback.attempt' ORDER BY ts_ms")]
        results = d.rows("SELECT result, count(*) AS n FROM events WHERE "
                         "event = 'callback.result' GROUP BY result")
        d.stop()
    finally:
        stop.set()
        if sipp is not None and sipp.poll() is None:
            sipp.kill()
            sipp.wait(5)
        if d.proc is not None:
            d.proc.kill()
            d.proc.wait(5)
    if not starts:
        print("no dial-back started")
        return 1
    first, last = starts[0] / 1000, starts[-1] / 1000
    ideal = (n - 1) / rate
    print(f"promises {n}, rate {rate:g}/s (ideal spread {ideal:.2f} s)")
    print(f"first dial-back {first - t0:.2f} s after ivrd was started")
    print(f"last dial-back started {last - first:.2f} s after the first: "
          f"{(last - first) - ideal:+.3f} s against the schedule")
    print(f"attempts {len(starts)}; kept {kept}; not kept {n - kept}; outcomes "
          + ", ".join(f"{r['result']} {r['n']}" for r in results))
    print(f"total time to keep them all {t_end - t0:.2f} s; ivrd CPU {cpu:.2f} s "
          f"({cpu / max(t_end - t0, 0.001) * 100:.1f}% of one core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

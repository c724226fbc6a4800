#!/usr/bin/env python3
"""Report query times on a journal of a million calls. Not a test: it prints figures and
asserts nothing. Run by hand on a release build:

    meson setup build-rel --buildtype=release && ninja -C build-rel src/ivrd src/ivrctl \\
        tests/gen_journal
    python3 tests/bench/bench_reports.py --build build-rel

1. The journal: tests/gen_journal writes N calls over D days (default 1,000,000 over 30)
   through SQLite with the daemon's schema. It is built once and kept in --cache (default
   /tmp/ivrd-bench), named by its arguments, the day it ends on and a hash of the schema,
   so a schema change builds a new one.
2. Every `ivrctl KIND` (calls, trace, transfers, drops, callbacks, caller, report, export)
   over the journal's last day, last week and whole month, each without a filter, with
   --dept billing and with --number (the busiest repeat caller): the first run ("cold",
   after the journal was built or copied: the OS cache may hold some of it) and the median
   of --repeat more ("warm"; one more when the first took 5 s or longer; --query-timeout
   bounds each run). Output is counted, not kept; kinds whose code has not landed
   (ENOSYS) print "not built".
3. Retention: a copy of the journal under a real ivrd with retention_days set to remove the
   oldest ~10 %, the time its pass takes (its own log line) and a call's events committing
   meanwhile.
ivrctl runs with TZ=UTC; the ranges are whole UTC days before the journal's end."""
import argparse
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))

DAY = 86400 * 1000
KINDS = ("calls", "trace", "transfers", "drops", "callbacks", "caller", "report", "export")


def journal_path(a, end_ms):
    with open(os.path.join(ROOT, "src", "journal", "schema.h"), "rb") as f:
        schema = hashlib.sha1(f.read()).hexdigest()[:8]
    return os.path.join(a.cache, f"journal-n{a.calls}-d{a.days}-s{a.seed}-e{end_ms}-"
                        f"{schema}.db")


def build_journal(a):
    end_ms = int(time.time()) // 86400 * DAY  # today 00:00 UTC: the last day is whole
    path = journal_path(a, end_ms)
    if os.path.exists(path):
        print(f"journal: {path} (cached)")
        return path, end_ms
    os.makedirs(a.cache, exist_ok=True)
    tmp = path + ".tmp"
    gen = os.path.join(a.build, "tests", "gen_journal")
    p = subprocess.run([gen, "-n", str(a.calls), "-d", str(a.days), "-s", str(a.seed), "-e",
                        str(end_ms), tmp], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"gen_journal failed: {p.stderr}")
    os.rename(tmp, path)
    print(f"journal: {p.stdout.strip()}")
    return path, end_ms


def busiest(path, end_ms):
    """(a Call-ID from the last day, the number that called most)."""
    import sqlite3
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (cid,) = db.execute("SELECT call_id FROM events WHERE event = 'call.start' AND "
                            "ts_ms >= ? ORDER BY ts_ms LIMIT 1", (end_ms - DAY,)).fetchone()
        (ani,) = db.execute("SELECT ani FROM events INDEXED BY events_ani WHERE ani IS NOT "
                            "NULL GROUP BY ani ORDER BY count(*) DESC LIMIT 1").fetchone()
    finally:
        db.close()
    return cid, ani


def utc(ms):
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ms / 1000))


def ivrctl(a, journal, args):
    """(seconds, exit code, stderr's first line, bytes printed); None past --query-timeout."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run([os.path.join(a.build, "src", "ivrctl"), "-j", journal, *args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, TZ="UTC"), timeout=a.query_timeout)
    except subprocess.TimeoutExpired:
        return None
    dt = time.perf_counter() - t0
    err = p.stderr.decode(errors="replace").strip().splitlines()
    return dt, p.returncode, err[0] if err else "", len(p.stdout)


def cases(kind, ranges, dept, number, cid):
    """(scope, filter, arguments) for one kind."""
    if kind == "trace":
        yield "one call", "-", [cid]
        for scope, since, until in ranges:
            yield scope, "number", ["--number", number, "--since", since, "--until", until]
        return
    for scope, since, until in ranges:
        rng = ["--since", since, "--until", until]
        if kind == "caller":
            yield scope, "number", [number, *rng]
            yield scope, "number+dept", [number, *rng, "--dept", dept]
            continue
        yield scope, "-", rng
        yield scope, "dept", [*rng, "--dept", dept]
        yield scope, "number", [*rng, "--number", number]


def bench_queries(a, journal, end_ms):
    cid, number = busiest(journal, end_ms)
    ranges = [("day", utc(end_ms - DAY), utc(end_ms)),
              ("week", utc(end_ms - 7 * DAY), utc(end_ms)),
              ("month", utc(end_ms - a.days * DAY), utc(end_ms))]
    print(f"\nqueries: ivrctl -j JOURNAL KIND ... --json (export: CSV); trace {cid}; "
          f"--dept billing; --number {number}; warm = median of {a.repeat}")
    print(f"{'kind':<10} {'range':<9} {'filter':<12} {'cold ms':>9} {'warm ms':>9} "
          f"{'bytes':>11}  note")
    for kind in a.kinds:
        for scope, filt, args in cases(kind, ranges, "billing", number, cid):
            fmt = [] if kind == "export" else ["--json"]
            full = [kind, *args, *fmt]
            first = ivrctl(a, journal, full)
            if first is None:
                print(f"{kind:<10} {scope:<9} {filt:<12} {'>' + str(a.query_timeout * 1000):>9} "
                      f"{'':>9} {'':>11}  stopped after --query-timeout", flush=True)
                continue
            cold, rc, err, size = first
            if rc != 0:
                note = "not built" if "not implemented" in err.lower() or \
                    "enosys" in err.lower() else f"exit {rc}: {err[:60]}"
                print(f"{kind:<10} {scope:<9} {filt:<12} {'':>9} {'':>9} {'':>11}  {note}",
                      flush=True)
                if note == "not built":
                    break
                continue
            # a slow query is timed warm once, not a.repeat times
            runs = [ivrctl(a, journal, full) for _ in range(a.repeat if cold < 5 else 1)]
            if None in runs:
                print(f"{kind:<10} {scope:<9} {filt:<12} {cold * 1000:9.0f} {'>limit':>9} "
                      f"{size:11d}", flush=True)
                continue
            warm = statistics.median(r[0] for r in runs)
            print(f"{kind:<10} {scope:<9} {filt:<12} {cold * 1000:9.0f} {warm * 1000:9.0f} "
                  f"{size:11d}", flush=True)


def bench_retention(a, journal, end_ms):
    from ivrtest import Ivrd, sipp
    from scenario import hangup, invite, keys, pause, write
    os.environ["IVRD"] = os.path.join(a.build, "src", "ivrd")
    # the oldest ~10 %: everything before the journal's 4th day, counted from now
    days = a.days - max(1, a.days // 10) + (int(time.time() * 1000) - end_ms) // DAY
    d = Ivrd("bench-retention", extra_ivrd=f"retention_days = {days};")
    os.makedirs(d.state, exist_ok=True)
    t0 = time.perf_counter()
    shutil.copyfile(journal, d.journal)
    print(f"\nretention: journal copied in {time.perf_counter() - t0:.1f} s "
          f"({os.path.getsize(d.journal) / 1e9:.2f} GB); retention_days = {days}")
    stderr, sys.stderr = sys.stderr, open(os.devnull, "w")  # the daemon's log: d.lines
    try:
        d.start()
        t_start = time.perf_counter()
        placed = int(time.time() * 1000)
        sc = write(d, "drop.xml", invite(), keys("1"), pause(300), hangup())
        rc, out, _ = sipp(d, sc)
        t_call = time.perf_counter() - t_start
        line = d.wait_log(r"journal: retention removed", a.timeout)
        wall = time.perf_counter() - t_start
        ended = d.rows("SELECT call_id FROM events WHERE event = 'call.end' AND ts_ms >= ?",
                       (placed,))
        n_call = len(d.events(ended[0]["call_id"])) if ended else 0
        d.stop()
    finally:
        sys.stderr.close()
        sys.stderr = stderr
        if d.proc is not None:
            d.proc.kill()
            d.proc.wait(10)
    m = re.search(r"retention (removed (\d+) .*) in (\d+) ms", line)
    print(f"retention: {m.group(1) if m else line}")
    ms, batches = (int(m.group(3)), -(-int(m.group(2)) // 5000)) if m else (-1, 1)
    print(f"retention: pass {ms} ms by its log line ({batches} batches of up to 5,000 events,"
          f" {ms / batches:.0f} ms each: about how long an event queued meanwhile may wait "
          f"to commit), "
          f"{wall:.1f} s from ready to the line; a call placed at start (sipp exit {rc}) took "
          f"{t_call:.1f} s and journaled {n_call} events")
    size = os.path.getsize(d.journal)
    print(f"retention: file {size / 1e9:.2f} GB after (free pages are reused, not returned)")
    shutil.rmtree(d.dir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build-rel"))
    ap.add_argument("--calls", type=int, default=1000000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cache", default="/tmp/ivrd-bench")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--timeout", type=int, default=600, help="retention pass, seconds")
    ap.add_argument("--query-timeout", type=int, default=120, help="one ivrctl run, seconds")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--no-retention", action="store_true")
    a = ap.parse_args()
    a.kinds = [k for k in a.kinds.split(",") if k]
    journal, end_ms = build_journal(a)
    bench_queries(a, journal, end_ms)
    if not a.no_retention:
        bench_retention(a, journal, end_ms)


if __name__ == "__main__":
    main()

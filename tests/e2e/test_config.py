#!/usr/bin/env python3
"""ivrd -t: the shipped demo configuration passes, and a broken one is refused with every
problem listed as file:line: setting.path: what is wrong."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, run  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def check(path, cwd=None):
    p = subprocess.run([os.environ["IVRD"], "-t", "-c", path], capture_output=True, text=True,
                       cwd=cwd, timeout=60)
    return p.returncode, p.stdout, p.stderr


def test_demo_config_is_valid():
    rc, out, err = check("etc/ivrd.conf", cwd=ROOT)
    assert rc == 0, err
    assert "configuration OK: 3 menus, 6 departments, 2 numbers, 95 prompts in 2 languages" in out, out
    assert "warning" not in err, err  # both languages ship every prompt


def test_every_error_is_listed():
    d = tempfile.mkdtemp(prefix="ivrd-conf-")
    inc = os.path.join(d, "depts.conf")
    with open(inc, "w") as f:
        f.write('departments = {\n  billing = { targets = ["http://x"]; timezone = "Mars/Base";\n'
                '    hours = ["mon-fry 08:00-18:00"]; };\n'
                '  operator = { targets = ["sip:op@127.0.0.1:5999"]; }; };\n')
    conf = os.path.join(d, "ivrd.conf")
    with open(conf, "w") as f:
        f.write(f'''ivrd: {{
  prompts_dir = "{ROOT}/prompts";
  state_dir = "{d}/state";
  sip: {{ listen = ["udp:1.2.3:99999"]; lisen = 1; }};
}};
@include "depts.conf"
menus = {{
  main = {{ greeting = "main/greeting"; timeout = 100;
    options = ( {{ key = "11"; action = "dept:billing"; }},
                {{ key = "2"; action = "dept:nowhere"; }},
                {{ key = "3"; action = "menu:missing"; }} ); }};
  orphan = {{ greeting = "nope/missing"; options = ( {{ key = "1"; action = "back"; }} ); }};
}};
''')
    rc, out, err = check(conf)
    assert rc == 1, (rc, out, err)
    want = [
        f"{conf}:4: ivrd.sip.lisen: unknown setting",
        f'{conf}:4: ivrd.sip.listen: "udp:1.2.3:99999" is not udp:ADDRESS:PORT',
        f'{inc}:2: departments.billing.targets: "http://x" is not a sip: URI',
        f'{inc}:2: departments.billing.timezone: zone "Mars/Base"',
        f'{inc}:3: departments.billing.hours: rule 1 "mon-fry 08:00-18:00": unknown day "fry"',
        f"{conf}:8: menus.main.timeout: 100 is out of range (1 to 60)",
        f'{conf}:9: menus.main.options.[1]: key "11" is not one of 0-9 * # A-D',
        f'{conf}:10: menus.main.options.[2].action: no department named "nowhere"',
        f'{conf}:11: menus.main.options.[3].action: no menu named "missing"',
        f'menus.orphan.greeting: no file for prompt "nope/missing"',
        f"{conf}:12: menus.orphan: unreachable",
    ]
    for w in want:
        assert w in err, f"missing: {w}\n--- got:\n{err}"
    assert "errors; configuration refused" in err, err


def test_callback_errors_are_listed():
    d = tempfile.mkdtemp(prefix="ivrd-conf-")
    conf = os.path.join(d, "ivrd.conf")
    with open(conf, "w") as f:
        f.write(f'''ivrd: {{
  prompts_dir = "{ROOT}/prompts";
  state_dir = "{d}/state";
  callbacks: {{ rate = 0; lease = 5; speed = 1; }};
}};
departments = {{
  billing = {{ targets = ["sip:b@127.0.0.1:5999"];
    callback: {{ offer = ["closed", "later"]; order = "whenever";
      returning = "maybe"; window = 600; service_level = 900; colour = "red"; }}; }};
  sales = {{ targets = ["sip:s@127.0.0.1:5999"]; }};
  operator = {{ targets = ["sip:op@127.0.0.1:5999"]; }};
}};
menus = {{
  main = {{ greeting = "main/greeting";
    options = ( {{ key = "1"; action = "callback:nowhere"; }},
                {{ key = "2"; action = "callback:sales"; }},
                {{ key = "3"; action = "callback:billing"; }},
                {{ key = "4"; action = "callback-cancel"; }} ); }};
}};
''')
    rc, out, err = check(conf)
    assert rc == 1, (rc, out, err)
    want = [
        f"{conf}:4: ivrd.callbacks.rate: 0 is out of range (0.01 to 1000)",
        f"{conf}:4: ivrd.callbacks.lease: 5 is out of range (10 to 3600)",
        f"{conf}:4: ivrd.callbacks.speed: unknown setting",
        f'{conf}:8: departments.billing.callback.offer: "later" is not closed, unavailable '
        f'or overflow',
        f'{conf}:8: departments.billing.callback.order: "whenever" is not "caller-first" or '
        f'"department-first"',
        f'{conf}:9: departments.billing.callback.returning: "maybe" is not "offer" or "route"',
        f"{conf}:9: departments.billing.callback.colour: unknown setting",
        f"departments.billing.callback: service_level 900 s is not less than window 600 s",
        f'{conf}:15: menus.main.options.[1].action: no department named "nowhere"',
        f"{conf}:16: menus.main.options.[2].action: department sales offers no call backs",
    ]
    for w in want:
        assert w in err, f"missing: {w}\n--- got:\n{err}"
    assert "options.[3]" not in err and "options.[4]" not in err, err


def test_syntax_error_names_the_line():
    d = tempfile.mkdtemp(prefix="ivrd-conf-")
    conf = os.path.join(d, "ivrd.conf")
    with open(conf, "w") as f:
        f.write('ivrd: {\n  state_dir = "x";\n  prompts_dir = ;\n};\n')
    rc, _, err = check(conf)
    assert rc == 1, err
    assert f"{conf}:3: syntax error" in err, err


def test_missing_file_and_bad_arguments():
    rc, _, err = check("/nonexistent/ivrd.conf")
    assert rc == 1 and "/nonexistent/ivrd.conf: cannot read" in err, err
    p = subprocess.run([os.environ["IVRD"], "-x"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and "usage: ivrd" in p.stderr, p.stderr
    p = subprocess.run([os.environ["IVRD"], "-T", "sap"], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 2 and 'unknown subsystem "sap"' in p.stderr, p.stderr


def test_reload_keeps_calls_on_their_generation():
    """SIGHUP: a bad file changes nothing; a good one serves new calls only."""
    from scenario import expect_bye, invite, keys, notify, refer, write, pause, hangup
    from ivrtest import sipp, call_ids
    with Ivrd("reload").start() as d:
        good = open(d.conf).read()
        with open(d.conf, "w") as f:
            f.write(good.replace('greeting = "main/greeting"', 'greeting = "main/nope"'))
        d.proc.send_signal(1)
        d.wait_log(r"generation 1 keeps serving")
        assert any('prompt "main/nope"' in l for l in d.lines), d.lines
        sc = write(d, "a.xml", invite(), keys("2"), refer("billing"), notify("200 OK", 2),
                   expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        with open(d.conf, "w") as f:
            f.write(good.replace('{ key = "2"; action = "dept:billing"; }',
                                 '{ key = "2"; action = "dept:sales"; }'))
        d.proc.send_signal(1)
        d.wait_log(r"generation 1 -> 2")
        sc = write(d, "b.xml", invite(), keys("2"), refer("sales"), notify("200 OK", 2),
                   expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        gens = [r["generation"] for r in d.rows("SELECT generation FROM events WHERE event='call.start' ORDER BY id")]
        assert gens == [1, 2], gens


def test_call_in_menu_finishes_on_old_generation():
    """A caller listening to the menu while it is reloaded keeps the menu they heard."""
    import threading
    from scenario import expect_bye, invite, keys, notify, refer, write
    from ivrtest import sipp
    with Ivrd("reload-mid-call").start() as d:
        good = open(d.conf).read()
        # the caller waits 2 s in the menu, then presses 2: billing on generation 1
        sc_a = write(d, "a.xml", invite(), keys("2", first=2000), refer("billing"),
                     notify("200 OK", 2), expect_bye())
        result = {}
        t = threading.Thread(target=lambda: result.update(a=sipp(d, sc_a)))
        t.start()
        d.wait_event("menu.enter", timeout=10)
        with open(d.conf, "w") as f:
            f.write(good.replace('{ key = "2"; action = "dept:billing"; }',
                                 '{ key = "2"; action = "dept:sales"; }'))
        d.proc.send_signal(1)
        d.wait_log(r"generation 1 -> 2")
        # a new caller meanwhile gets the new menu
        sc_b = write(d, "b.xml", invite(), keys("2"), refer("sales"), notify("200 OK", 2),
                     expect_bye())
        rc, out, _ = sipp(d, sc_b)
        assert rc == 0, out
        t.join(60)
        rc, out, _ = result["a"]
        assert rc == 0, out
        rows = d.rows("SELECT call_id, generation FROM events WHERE event='call.start' ORDER BY id")
        assert [r["generation"] for r in rows] == [1, 2], rows
        route_a = d.rows("SELECT dept FROM events WHERE event='route' AND call_id=?",
                         (rows[0]["call_id"],))
        assert [r["dept"] for r in route_a] == ["billing"], route_a


def test_reloads_under_load_fail_no_call():
    """SIPp keeps placing menu calls while the configuration is reloaded five times."""
    import threading
    from ivrtest import SIPP_DIR
    with Ivrd("reload-load").start() as d:
        sc = os.path.join(SIPP_DIR, "uac_menu_call.xml")
        result = {}
        t = threading.Thread(target=lambda: result.update(
            r=__import__("ivrtest").sipp(d, sc, calls=60, timeout=60,
                                         extra=["-r", "20", "-l", "40"])))
        t.start()
        d.wait_event("menu.enter", timeout=10)
        for gen in range(2, 7):
            d.proc.send_signal(1)
            d.wait_log(rf"generation {gen - 1} -> {gen}")
        t.join(120)
        rc, out, _ = result["r"]
        assert rc == 0, out
        ends = d.rows("SELECT result FROM events WHERE event='call.end'")
        assert len(ends) == 60 and all(e["result"] == "transferred" for e in ends), ends
        gens = {r["generation"] for r in d.rows("SELECT generation FROM events WHERE event='call.start'")}
        assert len(gens) >= 2, gens


if __name__ == "__main__":
    run([test_demo_config_is_valid, test_every_error_is_listed, test_callback_errors_are_listed,
         test_syntax_error_names_the_line,
         test_missing_file_and_bad_arguments, test_reload_keeps_calls_on_their_generation,
         test_call_in_menu_finishes_on_old_generation, test_reloads_under_load_fail_no_call])

// Drives ivrd's dashboard in the system's headless Chromium (playwright-core, no browser
// download): the overview loads with no script or CSP error, every chart drew real SVG
// marks for the calls the test made, a call opens its trace in words; screenshots of both.
//
// node dashboard.mjs BASE_URL EXPECT.json OUT_DIR
//   EXPECT: {calls, call_id, trace_texts: [...], trace_events, transfers: {dept: {ok, ...}},
//            drops: {menu: {entered, hung_up}}, available: {kind: bool}}
// Prints one "ok ..." line per check and the screenshots' paths; exits 1 on the first failure.
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const [base, expectPath, outDir] = process.argv.slice(2);
const want = JSON.parse(fs.readFileSync(expectPath, "utf8"));
const problems = [];

function check(cond, what, detail) {
  if (!cond) throw new Error(`${what}: ${JSON.stringify(detail)}`);
  console.log(`ok ${what}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // root in CI has no user namespace for Chromium's sandbox
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
let rc = 0;
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
  page.on("request", (r) => {
    if (!r.url().startsWith(base)) problems.push(`request off the daemon: ${r.url()}`);
  });

  await page.goto(base + "/");
  await page.waitForSelector("body[data-loaded]");

  // figures
  const calls = await page.textContent('[data-figure="calls"] .value');
  check(Number(calls) === want.calls, "figure: calls", { calls, want: want.calls });

  // hourly volume: 24 bars, each hour's marks add up to its calls, labelled with the count
  const hours = await page.$$eval("#chart-hours svg g.bar", (gs) => gs.map((g) => ({
    hour: g.querySelector("text.label")?.textContent,
    calls: Number(g.getAttribute("data-calls")),
    marks: [...g.querySelectorAll("rect.mark")].map((r) => ({
      value: Number(r.getAttribute("data-value")), height: Number(r.getAttribute("height")) })),
    label: g.querySelector("text.value")?.textContent ?? null,
  })));
  check(hours.length === 24 && hours[0].hour === "00" && hours[23].hour === "23",
    "hours: 24 labelled bars", hours.map((h) => h.hour));
  const total = hours.reduce((a, h) => a + h.calls, 0);
  check(total === want.calls, "hours: bars add up to the calls made", { total });
  for (const h of hours.filter((h) => h.calls > 0)) {
    const sum = h.marks.reduce((a, m) => a + m.value, 0);
    check(sum === h.calls && h.marks.every((m) => m.height > 0) && h.label === String(h.calls),
      `hours: ${h.hour}:00 drawn (${h.calls} calls)`, h);
  }
  check(await page.$$eval("#chart-hours .legend-item", (l) => l.length) === 3,
    "hours: legend", null);

  // transfers per department, stacked by outcome
  if (want.available.transfers) {
    for (const [dept, outcomes] of Object.entries(want.transfers)) {
      const marks = await page.$$eval(`#chart-transfers g.bar[data-dept="${dept}"] rect.mark`,
        (rs) => Object.fromEntries(rs.map((r) => [r.getAttribute("data-key"),
          Number(r.getAttribute("data-value"))])));
      for (const [k, n] of Object.entries(outcomes))
        check((marks[k] ?? 0) === n, `transfers: ${dept} ${k} = ${n}`, marks);
    }
  } else {
    check(await page.isVisible("#chart-transfers .error"), "transfers: not built, said so", null);
  }

  // the drop funnel per menu
  if (want.available.drops) {
    for (const [menu, fig] of Object.entries(want.drops)) {
      const bars = await page.$$eval(`#chart-drops figure[data-menu="${menu}"] g.bar`,
        (gs) => Object.fromEntries(gs.map((g) => [g.getAttribute("data-key"),
          { n: Number(g.getAttribute("data-value")),
            w: Number(g.querySelector("rect").getAttribute("width")),
            label: g.querySelector("text.value").textContent }])));
      for (const [k, n] of Object.entries(fig)) {
        const b = bars[k];
        check(b && b.n === n && b.label === String(n) && (n === 0 || b.w > 0),
          `drops: menu ${menu} ${k} = ${n}`, bars);
      }
    }
  } else {
    check(await page.isVisible("#chart-drops .error"), "drops: not built, said so", null);
  }

  // recent calls, each linking to its trace
  const rows = await page.$$eval("#calls tr.call", (trs) => trs.length);
  check(rows === want.calls, "calls: one row per call", { rows });
  const shot = path.join(outDir, "dashboard.png");
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot ${shot}`);

  await Promise.all([
    page.waitForURL(/\/trace\?call_id=/),
    page.click(`#calls a.trace-link[href="/trace?call_id=${encodeURIComponent(want.call_id)}"]`),
  ]);
  await page.waitForSelector("body[data-loaded]");
  check(await page.textContent("#call-id") === want.call_id, "trace: the call clicked", null);
  if (!want.available.trace) {
    check(await page.isVisible("#summary.error"), "trace: not built, said so", null);
    want.trace_events = 0;
    want.trace_texts = [];
  }
  const events = await page.$$eval("#timeline li", (lis) => lis.map((li) => li.textContent));
  check(events.length === want.trace_events, "trace: every event in words",
    { got: events.length, want: want.trace_events });
  const text = events.join("\n");
  for (const t of want.trace_texts)
    check(text.includes(t), `trace: says "${t}"`, text);
  const shot2 = path.join(outDir, "trace.png");
  await page.screenshot({ path: shot2, fullPage: true });
  console.log(`screenshot ${shot2}`);

  check(problems.length === 0, "no script, CSP or request errors", problems);
} catch (e) {
  console.log(`FAIL ${e.message}`);
  if (problems.length) console.log(problems.join("\n"));
  rc = 1;
} finally {
  await browser.close();
}
process.exit(rc);

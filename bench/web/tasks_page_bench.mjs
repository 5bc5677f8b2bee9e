// The dashboard's Tasks page at scale: a database of N tasks (default 1M, made with one SQL
// statement through the sqlite3 CLI), a real daemon on it, and Debian's chromium opening the
// Tasks page R times (unfiltered, and filtered by agent, status, class and text). Reports, per view,
// p50 and p95 of the time from navigation start to the first rows drawn, as the page measures it
// (performance.now() when the rows are in the DOM), and of its /api/tasks request alone
// (Resource Timing, request start to response end). A benchmark, not a test: figures in
// bench/README.md. Uses tests/web's playwright-core (scripts/setup installs it).
//   node bench/web/tasks_page_bench.mjs [--tasks 1000000] [--runs 20]
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = path.dirname(fileURLToPath(import.meta.url));
const source = path.resolve(here, "../..");
const { chromium } = createRequire(path.join(source, "tests/web/package.json"))("playwright-core");
const arg = (name, d) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const N = arg("tasks", 1_000_000), RUNS = arg("runs", 20);
const binary = process.env.AGENTD_BINARY || path.join(source, "build/runtime/agentd");
const model = process.env.AGENTD_TEST_MODEL || path.join(source, "../shared/models/stories260K.gguf");

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agentd-webbench-"));
const db = path.join(dir, "agentd.db");
fs.mkdirSync(path.join(dir, "agents.d"));
for (const a of ["news", "mail", "digest", "chat"]) {
  fs.writeFileSync(path.join(dir, "agents.d", `${a}.json`), `{"plugin": "prompt", "prompt": "{{input}}", "enabled": false}`);
}
// Creates and migrates the schema (one queued task of an agent that is not defined: never run).
execFileSync(binary, ["--db", db, "submit", "nobody", "--force", "--agents", path.join(dir, "agents.d")], { stdio: "ignore" });
const t0 = Date.now();
execFileSync("sqlite3", [db, `
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${N})
  INSERT INTO tasks (agent, plugin, priority, status, trigger, input, output, created_at, started_at, finished_at)
  SELECT CASE i % 4 WHEN 0 THEN 'news' WHEN 1 THEN 'mail' WHEN 2 THEN 'digest' ELSE 'chat' END, 'prompt',
         CASE WHEN i % 50 = 0 THEN 'interactive' WHEN i % 5 = 0 THEN 'tool' ELSE 'background' END,
         CASE WHEN i % 97 = 0 THEN 'failed' WHEN i % 89 = 0 THEN 'cancelled' ELSE 'finished' END,
         'bench', 'input ' || i, 'output of task ' || i,
         ${Date.now()} - (${N} - i) * 1000, ${Date.now()} - (${N} - i) * 1000, ${Date.now()} - (${N} - i) * 1000 + 500
  FROM n;`]);
console.log(`${N} tasks written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

const daemon = spawn(binary, ["--db", db, "run", "--model", model, "--threads", "1", "--agents", path.join(dir, "agents.d"),
  "--listen", "127.0.0.1:0", "--log-file-level", "off"], { stdio: ["ignore", "pipe", "pipe"] });
const port = await new Promise((resolve, reject) => {
  let p = 0;
  const on = (line) => { const m = line.match(/http: listening on 127\.0\.0\.1:(\d+)/); if (m) p = Number(m[1]); if (line.includes("serving:") && p) resolve(p); };
  readline.createInterface({ input: daemon.stdout }).on("line", on);
  readline.createInterface({ input: daemon.stderr }).on("line", on);
  daemon.on("exit", (c) => reject(new Error(`agentd exited ${c}`)));
});

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
const page = await browser.newPage();
const pct = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };
for (const [label, query] of [["all tasks", ""], ["agent=news", "?agent=news"], ["status=failed", "?status=failed"],
  ["class=interactive", "?class=interactive"], ["agent=mail&status=cancelled", "?agent=mail&status=cancelled"],
  ["text=task 123456 (one task)", "?text=task%20123456"]]) {
  const times = [], apis = [];
  for (let r = 0; r < RUNS + 1; r++) {
    await page.goto("about:blank");  // a new document each time: performance.now() counts from its navigation
    await page.goto(`http://127.0.0.1:${port}/#/tasks${query}`);
    await page.waitForSelector("#task-rows tr[data-id]");
    const [ms, api] = await page.evaluate(() => {
      const e = performance.getEntriesByType("resource").find((x) => x.name.includes("/api/tasks?"));
      return [Number(document.getElementById("main").dataset.loadedAt), e ? e.responseEnd - e.requestStart : NaN];
    });
    if (r > 0) { times.push(ms); apis.push(api); }  // the first load warms the daemon's page cache
  }
  console.log(`${label.padEnd(28)} first rows: p50 ${pct(times, 0.5).toFixed(0)} ms, p95 ${pct(times, 0.95).toFixed(0)} ms; ` +
    `its /api/tasks request: p50 ${pct(apis, 0.5).toFixed(0)} ms, p95 ${pct(apis, 0.95).toFixed(0)} ms (${RUNS} loads)`);
}
await browser.close();
daemon.kill("SIGTERM");
await new Promise((r) => daemon.on("exit", r));
fs.rmSync(dir, { recursive: true, force: true });

// The dashboard in a real browser: Debian's chromium, headless, driven by playwright-core (no
// browser download), against a real daemon (build/runtime/agentd) on the test model with the
// shipped agents and their samples, plus a hostile mail and feed item. Run by ctest (web_tests):
//   AGENTD_BINARY=build/runtime/agentd AGENTD_TEST_MODEL=.../stories260K.gguf \
//   ARTIFACT_DIR=build/tests/web node --test tests/web/dashboard.test.mjs
// Synchronisation is by waiting for what the page shows (Playwright's waits), never by sleeping.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const source = path.resolve(here, "../..");
const binary = process.env.AGENTD_BINARY || path.join(source, "build/runtime/agentd");
const model = process.env.AGENTD_TEST_MODEL;
const artifacts = process.env.ARTIFACT_DIR || path.join(source, "build/tests/web");
const browserPath = process.env.CHROMIUM || "/usr/bin/chromium";
const HOSTILE = `<img src=x onerror="window.__pwned='img'"> <script>window.__pwned='script'</script>`;

let dir, agentsDir, daemon, port, base, browser, context;
const consoleErrors = [];
const daemonLog = [];  // the daemon's last lines (stdout and stderr), shown when a wait fails

// A copy of the checkout's agents.d and samples, so the agents' relative folders resolve as
// shipped; plus a mail and a feed item whose subject/title is markup.
function layout() {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "agentd-web-"));
  const checkout = path.join(dir, "checkout");
  fs.mkdirSync(path.join(checkout, "agents.d"), { recursive: true });
  for (const f of fs.readdirSync(path.join(source, "agents.d"))) {
    if (f.endsWith(".json")) fs.copyFileSync(path.join(source, "agents.d", f), path.join(checkout, "agents.d", f));
  }
  for (const a of fs.readdirSync(path.join(source, "agents"))) {
    const samples = path.join(source, "agents", a, "samples");
    if (fs.existsSync(samples)) fs.cpSync(samples, path.join(checkout, "agents", a, "samples"), { recursive: true });
  }
  fs.writeFileSync(path.join(checkout, "agents/mail/samples/Maildir/new/1709700000.M999P1.hostile"),
    `From: Mallory <m@example.net>\nTo: Sam Rivera <sam@example.org>\nSubject: ${HOSTILE}\n` +
    `Date: Wed, 06 Mar 2024 08:00:00 +0000\nMessage-ID: <hostile-1@example.net>\nContent-Type: text/plain\n\nHello ${HOSTILE}\n`);
  fs.writeFileSync(path.join(checkout, "agents/news/samples/hostile.rss"),
    `<?xml version="1.0"?><rss version="2.0"><channel><title>Hostile</title><item><title><![CDATA[${HOSTILE}]]></title>` +
    `<link>https://example.net/h</link><guid>hostile-1</guid><description><![CDATA[${HOSTILE}]]></description></item></channel></rss>\n`);
  return path.join(checkout, "agents.d");
}

function startDaemon(agentsDir) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ["--db", path.join(dir, "agentd.db"), "run", "--model", model, "--threads", "1",
      "--agents", agentsDir, "--listen", "127.0.0.1:0", "--log-file-level", "off"], { stdio: ["ignore", "pipe", "pipe"] });
    const onLine = (line) => {
      daemonLog.push(line);
      if (daemonLog.length > 200) daemonLog.shift();
      const m = line.match(/http: listening on 127\.0\.0\.1:(\d+)/);
      if (m) port = Number(m[1]);
      if (line.includes("serving:") && port) resolve(child);
    };
    readline.createInterface({ input: child.stdout }).on("line", onLine);
    readline.createInterface({ input: child.stderr }).on("line", onLine);
    child.on("exit", (code) => reject(new Error(`agentd exited (${code}) before serving:\n${daemonLog.join("\n")}`)));
  });
}

// A raw request, with whatever Host and Origin the test says (fetch may not set Host).
function raw(method, p, headers, body = "") {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path: p, agent: false, headers: { "Content-Length": Buffer.byteLength(body), ...headers } }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const api = async (p) => JSON.parse((await raw("GET", p, {})).body);
const run = async (agent, input) => {
  const r = await raw("POST", `/api/agents/${agent}/run`, { "Content-Type": "application/json", "X-Agentd-Request": "1" }, JSON.stringify({ input }));
  assert.equal(r.status, 202, r.body);
  return JSON.parse(r.body).id;
};

async function page(hash) {
  const p = await context.newPage();
  p.on("console", (m) => { if (m.type() === "error") consoleErrors.push(`${hash}: ${m.text()}`); });
  p.on("pageerror", (e) => consoleErrors.push(`${hash}: ${e.message}`));
  p.on("dialog", (d) => { consoleErrors.push(`${hash}: a dialog opened: ${d.message()}`); d.dismiss(); });
  await p.goto(`${base}/${hash}`);
  return p;
}

// Waits for `wanted` on page `p`, or for an error the page shows instead; a failure says what the
// page showed and what the daemon logged last, so a failure on a CI machine can be read.
async function waitOrExplain(p, wanted, what) {
  const shownError = p.locator(".error");
  try {
    await wanted.or(shownError).first().waitFor();
  } catch (e) {
    throw new Error(`${what}: ${e.message}\n${await explain(p)}`);
  }
  if (await shownError.count()) throw new Error(`${what}: the page shows an error\n${await explain(p)}`);
}

async function explain(p) {
  const errors = await p.locator(".error").allTextContents();
  return `page errors: ${JSON.stringify(errors)}\nconsole errors: ${JSON.stringify(consoleErrors)}\n` +
    `daemon's last lines:\n${daemonLog.slice(-60).join("\n")}`;
}

async function shot(p, name) {
  fs.mkdirSync(artifacts, { recursive: true });
  await p.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

before(async () => {
  assert.ok(model, "AGENTD_TEST_MODEL is not set");
  agentsDir = layout();
  daemon = await startDaemon(agentsDir);
  base = `http://127.0.0.1:${port}`;
  browser = await chromium.launch({ executablePath: browserPath, args: ["--no-sandbox"] });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(90000);  // a hang guard for a loaded CI machine (ASan daemon), never a measure
});

after(async () => {
  await browser?.close();
  if (daemon && daemon.exitCode === null) {
    const exited = new Promise((r) => daemon.on("exit", r));
    daemon.kill("SIGTERM");
    await exited;
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("the page is served with a strict CSP and nosniff, and no inline script", async () => {
  const r = await raw("GET", "/", {});
  assert.equal(r.status, 200);
  assert.match(r.headers["content-security-policy"], /default-src 'self'/);
  assert.match(r.headers["content-security-policy"], /frame-ancestors 'none'/);
  assert.doesNotMatch(r.headers["content-security-policy"], /unsafe-inline|unsafe-eval/);
  assert.equal(r.headers["x-content-type-options"], "nosniff");
  assert.doesNotMatch(r.body, /<script>[^<]/, "no inline script in the page");
  assert.equal((await raw("GET", "/web/app.js", {})).headers["content-type"], "text/javascript; charset=utf-8");
  assert.equal((await raw("GET", "/web/nothing.js", {})).status, 404);
});

test("overview shows the engine and the agents, live", async () => {
  const p = await page("#/");
  await p.locator("#engine dd", { hasText: "stories260K" }).first().waitFor();
  await p.locator("#agents a", { hasText: "digest" }).waitFor();
  await p.locator("#live.on").waitFor();
  await shot(p, "overview");
  await p.close();
});

test("a task that finishes appears in the list without a reload", async () => {
  const p = await page("#/tasks");
  await p.locator("#task-rows tr").first().waitFor();
  const id = await run("chat", "Hello there");
  await p.locator(`#task-rows tr[data-id="${id}"][data-status="finished"]`).waitFor();
  await shot(p, "tasks");
  await p.close();
});

test("filters are kept in the URL and survive a reload", async () => {
  const p = await page("#/tasks");
  await p.locator("#task-rows tr").first().waitFor();
  await p.selectOption("select[name=status]", "finished");
  await p.selectOption("select[name=class]", "interactive");
  await p.waitForFunction(() => location.hash.includes("status=finished") && location.hash.includes("class=interactive"));
  await p.reload();
  await p.locator("#task-rows tr[data-status]").first().waitFor();
  assert.equal(await p.inputValue("select[name=status]"), "finished");
  assert.equal(await p.inputValue("select[name=class]"), "interactive");
  const statuses = await p.locator("#task-rows tr[data-status]").evaluateAll((rows) => rows.map((r) => r.dataset.status));
  assert.ok(statuses.length > 0 && statuses.every((s) => s === "finished"), statuses.join());
  await p.close();
});

test("the text box finds a task by any part of its input, in any case, and keeps it in the URL", async () => {
  const id = await run("chat", "Otters hold hands while they sleep");
  const other = await run("chat", "Herons stand on one leg");
  const p = await page("#/tasks");
  await p.locator(`#task-rows tr[data-id="${other}"]`).waitFor();
  await p.fill("input[name=text]", "HOLD HANDS");
  await p.press("input[name=text]", "Enter");
  await p.waitForFunction(() => location.hash.includes("text=HOLD"));
  await p.locator(`#task-rows tr[data-id="${id}"]`).waitFor();
  await p.reload();
  await p.locator(`#task-rows tr[data-id="${id}"]`).waitFor();
  assert.equal(await p.inputValue("input[name=text]"), "HOLD HANDS");
  const ids = await p.locator("#task-rows tr[data-id]").evaluateAll((rows) => rows.map((r) => r.dataset.id));
  assert.deepEqual(ids, [String(id)], "only the task holding the text");
  await p.close();
});

// The first rows are asked for before the page's own modules are in: with page_tasks.js held
// back by the test, the /api/tasks request still goes out (it could not, if the page module asked
// for it), and once the module comes, it draws those rows without asking again.
test("the Tasks page asks for its rows before its modules are in, and only once", async () => {
  const p = await context.newPage();
  p.on("pageerror", (e) => consoleErrors.push(`tasks (held): ${e.message}`));
  let releaseModule;
  const held = new Promise((r) => { releaseModule = r; });
  await p.route("**/web/page_tasks.js", async (route) => { await held; await route.continue(); });
  const asked = [];
  p.on("request", (r) => { if (r.url().includes("/api/tasks?")) asked.push(r.url()); });
  const first = p.waitForRequest((r) => r.url().includes("/api/tasks?"));
  await p.goto(`${base}/#/tasks?status=finished`, { waitUntil: "commit" });
  const request = await first;  // while page_tasks.js is held
  assert.match(request.url(), /status=finished/);
  releaseModule();
  await p.locator("#task-rows tr[data-status=finished]").first().waitFor();
  assert.equal(asked.length, 1, asked.join("\n"));
  await p.close();
});

test("cancel works on a queued task", async () => {
  // A task for an agent that is not defined waits in the queue until cancelled: nothing races it.
  const out = execFileSync(binary, ["--db", path.join(dir, "agentd.db"), "submit", "ghost", "--force", "--agents", agentsDir, "--input", "x"]);
  const id = Number(String(out).trim());
  const p = await page(`#/tasks/${id}`);
  await p.locator("#task-status .badge", { hasText: "queued" }).waitFor();
  await p.locator("#cancel").click();
  await p.locator("#task-status .badge", { hasText: "cancelled" }).waitFor();
  assert.equal((await api(`/api/tasks/${id}`)).status, "cancelled");
  await p.close();
});

test("run-now starts a task and its page shows the timeline and output", async () => {
  const p = await page("#/agents/chat");
  await p.locator("#definition", { hasText: "\"plugin\": \"chat\"" }).waitFor();
  await shot(p, "agent");
  await p.fill("#run-input", `Hi ${HOSTILE}`);
  await p.click("#run-now");
  const taskLink = p.locator("#run-message a");
  await taskLink.waitFor();
  await taskLink.click();
  await p.locator("#task-status .badge", { hasText: "finished" }).waitFor();
  await p.locator("#timeline li.k-finished").waitFor();
  assert.ok((await p.locator("pre.input").textContent()).includes(HOSTILE), "the hostile input is shown as text");
  assert.equal(await p.evaluate(() => window.__pwned), undefined);
  await shot(p, "task");
  const agents = await page("#/agents");
  await agents.locator("#strip .tick").first().waitFor();
  await shot(agents, "agents");
  await agents.close();
  await p.close();
});

test("a dry run from the run-now form shows what it would write and writes nothing", async () => {
  const p = await page("#/agents/chat");
  await p.locator("#definition", { hasText: "\"plugin\": \"chat\"" }).waitFor();
  await p.fill("#run-input", "remember that the dentist is on Tuesday at 9");
  await p.check("#run-dry");
  await p.click("#run-now");
  const taskLink = p.locator("#run-message a");
  await taskLink.waitFor();
  await taskLink.click();
  await p.locator("#task-status .badge", { hasText: "finished" }).waitFor();
  await p.locator("#timeline li.k-would_write").first().waitFor();
  const id = Number(p.url().match(/tasks\/(\d+)/)[1]);
  const task = await api(`/api/tasks/${id}`);
  assert.equal(task.dry_run, true);
  assert.ok(task.events.some((e) => e.kind === "would_write" && e.data.what === "note"), JSON.stringify(task.events));
  assert.ok(!task.events.some((e) => e.kind === "memory_write"), "nothing written");
  assert.equal((await api("/api/agents/chat/notes?q=dentist")).length, 0, "no note was saved");
  await p.close();
});

test("chat streams the chat agent's answer and keeps the conversation in its session", async () => {
  const p = await page("#/chat?session=webtest");
  await p.locator("#chat-session", { hasText: "webtest" }).waitFor();
  await p.fill("#chat-input", "Once upon a time");
  await p.press("#chat-input", "Enter");
  const done = p.locator(".msg.assistant[data-task]");
  await waitOrExplain(p, done, "the chat's answer");
  // The text came as the task's "delta" events before its output replaced it.
  assert.equal(await done.getAttribute("data-streamed"), "true", "the answer was streamed");
  const answer = (await done.locator(".md").textContent()).trim();
  assert.ok(answer.length > 0);
  // The turn is a chat-agent task at the interactive class, listed by `agentd tasks`.
  const id = Number(await done.getAttribute("data-task"));
  const task = await api(`/api/tasks/${id}`);
  assert.equal(task.agent, "chat");
  assert.equal(task.priority, "interactive");
  assert.equal(task.status, "finished");
  assert.deepEqual(JSON.parse(task.input), { session: "webtest", message: "Once upon a time" });
  const listed = JSON.parse(execFileSync(binary, ["--db", path.join(dir, "agentd.db"), "tasks", "--agent", "chat", "--json"]));
  assert.ok(listed.some((t) => t.id === id), "agentd tasks lists the turn");
  await shot(p, "chat");
  // A reload reads the conversation back from the chat agent's session.
  await p.reload();
  await p.locator('.msg.user[data-turn="stored"]', { hasText: "Once upon a time" }).waitFor();
  const stored = await p.locator('.msg.assistant[data-turn="stored"] .md').allTextContents();
  assert.deepEqual(stored.map((t) => t.trim()), [answer]);
  const memory = await api("/api/agents/chat/memory/session:webtest");
  assert.equal(memory.value.turns.length, 1);
  assert.equal(memory.value.turns[0].user, "Once upon a time");
  await p.close();
});

test("overview shows the decode tokens/s of the last hour's model calls", async () => {
  // The chat turn above (and the agents' runs at start-up) are model calls of the last hour.
  const status = await api("/api/status");
  assert.equal(typeof status.decode_last_hour.tokens_per_s, "number", JSON.stringify(status.decode_last_hour));
  assert.ok(status.decode_last_hour.buckets.length >= 1);
  const p = await page("#/");
  const shown = p.locator("#decode-hour[data-tokens-per-s]");
  await shown.waitFor();
  const figure = Number(await shown.getAttribute("data-tokens-per-s"));
  assert.ok(Number.isFinite(figure) && figure > 0, `decode figure ${figure}`);
  assert.match(await shown.textContent(), /^\d+(\.\d)? tok\/s/);
  assert.ok((await shown.locator("svg.spark rect").count()) >= 1, "a bar per 5 minutes with calls");
  await shot(p, "overview");
  await p.close();
});

test("a mail subject and a feed item holding markup are shown as text and run nothing", async () => {
  const shownAsText = [];
  for (const agent of ["mail", "news"]) {
    let done = [];
    // The run the daemon started at start-up read the hostile mail and feed item (a later run
    // finds nothing new): the oldest task of the agent.
    const listed = await api(`/api/tasks?agent=${agent}&limit=1000`);
    const id = listed.length ? listed.at(-1).id : await run(agent, "");
    const p = await page(`#/tasks/${id}`);
    await p.locator("#task-status .badge", { hasText: /finished|failed/ }).waitFor({ timeout: 60000 });
    done = await api(`/api/tasks/${id}`);
    assert.equal(done.status, "finished", JSON.stringify(done).slice(0, 400));
    const shown = await p.locator("#main").textContent();
    const holds = [done.output || "", ...done.events.map((e) => JSON.stringify(e.data))].some((t) => t.includes("onerror"));
    if (holds) {
      assert.ok(shown.includes("onerror"), `${agent}: the markup is shown as text`);
      shownAsText.push(agent);
    }
    assert.equal(await p.locator("#main img, #main script").count(), 0, `${agent}: no element made from the text`);
    assert.equal(await p.evaluate(() => window.__pwned), undefined, `${agent}: nothing ran`);
    await p.close();
  }
  assert.ok(shownAsText.length > 0, "the hostile subject or title reached a task's page (else this test proves nothing)");
});

test("a cross-origin POST and a foreign Host are refused", async () => {
  const before = (await api("/api/tasks?agent=chat&limit=1000")).length;
  // A page of another origin (localhost is not 127.0.0.1 to the browser) posting as a form would.
  const p = await context.newPage();
  await p.goto(`http://localhost:${port}/`);
  const outcome = await p.evaluate(async (target) => {
    const results = [];
    for (const init of [
      { method: "POST", mode: "no-cors", headers: { "Content-Type": "text/plain" }, body: '{"input":"x"}' },
      { method: "POST", headers: { "Content-Type": "application/json", "X-Agentd-Request": "1" }, body: '{"input":"x"}' },
    ]) {
      try { const r = await fetch(`${target}/api/agents/chat/run`, init); results.push(r.type === "opaque" ? "opaque" : r.status); }
      catch (e) { results.push("blocked"); }
    }
    return results;
  }, `http://127.0.0.1:${port}`);
  assert.equal(outcome[1], "blocked", "the preflight of a cross-origin JSON POST fails");
  await p.close();
  const json = { "Content-Type": "application/json", "X-Agentd-Request": "1" };
  assert.equal((await raw("POST", "/api/agents/chat/run", { ...json, Origin: "https://evil.example" }, "{}")).status, 403);
  assert.equal((await raw("POST", "/api/agents/chat/run", { ...json, "Sec-Fetch-Site": "cross-site" }, "{}")).status, 403);
  assert.equal((await raw("POST", "/api/agents/chat/run", { "Content-Type": "application/json" }, "{}")).status, 403, "no control header");
  assert.equal((await raw("GET", "/", { Host: `evil.example:${port}` })).status, 403);
  assert.equal((await raw("GET", "/api/tasks", { Host: "evil.example" })).status, 403);
  assert.equal((await api("/api/tasks?agent=chat&limit=1000")).length, before, "no task was started");
});

test("a long-form task's sections appear on its page as they finish, without a reload", async () => {
  // A task of an agent not loaded yet waits in the queue, so its page is open before it starts;
  // then the agent (the drafter plugin: an outline, one model call per section) is loaded (SIGHUP).
  const out = execFileSync(binary, ["--db", path.join(dir, "agentd.db"), "submit", "longform", "--force", "--agents", agentsDir,
    "--input", "A short guide to the Eiffel Tower for a first visit"]);
  const id = Number(String(out).trim());
  const p = await page(`#/tasks/${id}`);
  await p.locator("#task-status .badge", { hasText: "queued" }).waitFor();
  await p.evaluate(() => { window.__samePage = true; });
  fs.writeFileSync(path.join(agentsDir, "longform.json"), JSON.stringify({
    plugin: "drafter", priority: "background", folders: { write: ["../var/longform"] },
    generation: { section_tokens: 48, temperature: 0.7 },
    settings: { title: "The Eiffel Tower", brief: "A short guide to the Eiffel Tower.", outline: ["Why", "How", "Today"] },
  }));
  daemon.kill("SIGHUP");
  // Each finished section reaches the open page through the task's event stream.
  await p.locator("#timeline li.k-section").first().waitFor();
  await p.locator("#task-status .badge", { hasText: "finished" }).waitFor();
  await p.locator("#sections details.s-done").nth(2).waitFor();
  assert.equal(await p.evaluate(() => window.__samePage), true, "the page was never reloaded");
  const task = await api(`/api/tasks/${id}`);
  assert.deepEqual(task.sections.map((x) => x.status), ["done", "done", "done"]);
  // The outline and each finished section are "section" events, each shown once.
  const sectionEvents = task.events.filter((e) => e.kind === "section").length;
  assert.equal(await p.locator("#timeline li.k-section").count(), sectionEvents, JSON.stringify(task.events.map((e) => e.kind)));
  await shot(p, "long-form");
  await p.close();
});

test("no page logged a console error", () => {
  assert.deepEqual(consoleErrors, []);
});

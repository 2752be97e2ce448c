// The demo app (www/, React 19 in <StrictMode>, built by Vite with oncefetch
// as an npm dependency) in headless Chromium against the reference server:
// each scenario the page shows, checked on what the server really received.
// Also the oncefetch/react hook checks (www/hooks.html), and the screenshots
// demo.png and demo-faults.png (docs/ with UPDATE_SCREENSHOTS=1).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { ROOT, UUID4, launchBrowser, startServer, log, requests, reset, until, waitReady, openPage } from "./harness.mjs";

const WWW = path.join(ROOT, "www");
const DIST = path.join(WWW, "dist");
const PLAIN = "/api/plain/tasks";
const IDEM = "/api/idem/tasks";

let server;
let browser;

before(async () => {
  if (!fs.existsSync(path.join(DIST, "index.html")) || !fs.existsSync(path.join(DIST, "hooks.html"))) {
    const vite = path.join(WWW, "node_modules/.bin/vite");
    assert.ok(fs.existsSync(vite), "www/dist is not built and www/node_modules is missing: run `bash scripts/setup.sh` first");
    const r = spawnSync(vite, ["build", "--logLevel", "warn"], { cwd: WWW, stdio: "inherit" });
    assert.equal(r.status, 0, "vite build of www/ failed");
  }
  server = await startServer({ staticRoots: [{ prefix: "/", dir: DIST }] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** The demo against a clean server, with fresh storage (see harness.openPage). */
async function demo(t, page = "index.html") {
  await reset(server.url);
  return openPage(t, browser, server.url, page, { viewport: { width: 1280, height: 1000 } });
}

const text = (p, testid) => p.textContent(`[data-testid="${testid}"]`);
const count = async (p, testid) => Number(await text(p, testid));
const kindOf = (r) => JSON.parse(r.body).kind;
const distinctKeys = (rs) => new Set(rs.map((r) => r.key));

/** Waits until the server's task lists satisfy `check(plain, idem)`, then a little more to catch late duplicates. */
async function settle(check, what, timeout = 8000) {
  await until(async () => {
    const { tasks } = await log(server.url);
    return check(tasks.plain, tasks.idem);
  }, { timeout, what });
  await new Promise((r) => setTimeout(r, 400));
  return (await log(server.url)).tasks;
}

/** Waits until the page's counters show what the server has. */
async function countersShow(p, plain, once) {
  await p.waitForFunction(
    ([a, b]) => document.querySelector('[data-testid="plain-count"]')?.textContent === String(a)
      && document.querySelector('[data-testid="once-count"]')?.textContent === String(b),
    [plain, once],
    { timeout: 5000 },
  );
}

/**
 * Saves <name>: the viewport, or from the control bar down to the event stream.
 * Into test-results/ (git-ignored) on every run; into docs/, the README's
 * pictures, with UPDATE_SCREENSHOTS=1, so a test run leaves the tree clean.
 */
async function screenshot(p, name, { controls = false } = {}) {
  const dir = path.join(ROOT, process.env.UPDATE_SCREENSHOTS === "1" ? "docs" : "test-results");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  if (!controls) return p.screenshot({ path: file });
  const top = await p.locator(".bar").boundingBox();
  const bottom = await p.locator(".events").boundingBox();
  const clip = { x: 0, y: Math.max(0, top.y - 20), width: 1280, height: bottom.y + bottom.height - top.y + 40 };
  return p.screenshot({ path: file, fullPage: true, clip });
}

test("demo B3: one click sends the POST 3x on each side: plain fetch creates 3 tasks, oncefetch 1 with one key", async (t) => {
  const p = await demo(t);
  await p.click('[data-testid="create"]');
  const tasks = await settle((plain, idem) => plain.length >= 3 && idem.length >= 1, "the tasks of one click");
  assert.equal(tasks.plain.length, 3, "plain fetch: every POST created a task");
  assert.equal(tasks.idem.length, 1, "oncefetch: one task");
  const sent = await requests(server.url, IDEM);
  assert.equal(sent.length, 1, "oncefetch coalesced the three calls into one request");
  assert.match(sent[0].key, UUID4);
  assert.ok((await requests(server.url, PLAIN)).every((r) => r.key === null), "plain fetch sends no key");
  await countersShow(p, 3, 1);
  assert.match(await text(p, "once-last"), /one action.*1 attempt.*2 coalesced/s);
  await p.waitForSelector('[data-testid="event-log"] tr[data-type="settled"]');
  await screenshot(p, "demo.png");
});

test("demo B3/B6: a double click, and a late second click, still make one task", async (t) => {
  const p = await demo(t);
  await p.dblclick('[data-testid="create"]');
  let tasks = await settle((plain, idem) => plain.length >= 6 && idem.length >= 1, "the tasks of a double click");
  assert.equal(tasks.plain.length, 6);
  assert.equal(tasks.idem.length, 1);
  // A second click after the first has settled: the same draft is the same action, so the same key; the server replays.
  await p.click('[data-testid="create"]');
  tasks = await settle((plain) => plain.length >= 9, "the tasks of a late click");
  assert.equal(tasks.idem.length, 1, "still one task");
  const sent = await requests(server.url, IDEM);
  assert.equal(distinctKeys(sent).size, 1, "every oncefetch request carried the same key");
  await countersShow(p, 9, 1);
  assert.match(await text(p, "once-last"), /replayed/);
  // "New task" is a new logical action: a new key, a second task.
  await p.click('[data-testid="new-task"]');
  await p.click('[data-testid="create"]');
  tasks = await settle((plain, idem) => idem.length >= 2, "the new draft's task");
  assert.equal(tasks.idem.length, 2);
  assert.equal(distinctKeys(await requests(server.url, IDEM)).size, 2);
});

test("demo Strict Mode: a component that POSTs on mount makes 2 tasks with plain fetch, 1 with useOnceFetch", async (t) => {
  const p = await demo(t);
  assert.equal(
    await p.getAttribute('[data-testid="react-build"]', "data-dev"), "true",
    "www/dist holds a production React build, where Strict Mode never double-runs effects: rebuild it without NODE_ENV set (www/.env asks Vite for a development build)",
  );
  await p.click('[data-testid="mount-tracker"]');
  const tasks = await settle(
    (plain, idem) => plain.filter((x) => x.body.includes('"tracker"')).length >= 2 && idem.length >= 1,
    "the trackers' tasks",
  );
  const plain = tasks.plain.filter((x) => x.body.includes('"tracker"')).length;
  assert.ok(plain > 1, `Strict Mode ran the plain effect twice: ${plain} tasks`);
  assert.equal(tasks.idem.length, 1, "oncefetch: one task");
  assert.equal((await requests(server.url, IDEM)).length, 1, "the second effect run joined the first request");
  await p.waitForFunction(() => document.querySelector('[data-testid="tracker-tally-once"]')?.textContent === "1");
  assert.equal(await count(p, "tracker-tally-plain"), plain);
});

test("demo B5: reload mid-flight: after the reload the same key is sent again and one task is made", async (t) => {
  const p = await demo(t);
  const reloaded = p.waitForEvent("load", { timeout: 10_000 });
  await p.click('[data-testid="reload-midflight"]');
  await reloaded;
  await waitReady(p);
  await p.waitForSelector('[data-testid="resume-status"][data-state="done"]', { timeout: 15_000 });
  const tasks = await settle((plain, idem) => plain.length >= 2 && idem.length >= 1, "the resumed tasks", 15_000);
  assert.equal(tasks.idem.length, 1, "oncefetch: one task across the reload");
  assert.equal(tasks.plain.length, 2, "plain fetch: the first POST and the resubmission both made a task");
  const sent = await requests(server.url, IDEM);
  assert.ok(sent.length >= 2, `the first request and at least one after the reload: ${sent.length}`);
  assert.equal(distinctKeys(sent).size, 1, "the same key before and after the reload");
  assert.match(sent[0].key, UUID4);
  assert.equal(sent[0].query, "delay=3000", "the first request started the 3-second job");
  assert.equal(sent[0].status, 201, "the server finished the job though the page that asked had gone");
  const later = sent.slice(1);
  assert.ok(later.some((r) => r.at < sent[0].doneAt && r.status === 409), "the reloaded page resent the key while the job ran: 409 in progress");
  assert.equal(later.at(-1).status, 201, "then got the stored answer");
  const banner = await text(p, "resume-status");
  assert.match(banner, new RegExp(`${sent[0].key.slice(0, 8)}`), "the page shows the key it resumed with");
  assert.match(banner, /from localStorage/);
  await countersShow(p, 2, 1);
});

test("demo B6: 503 twice, then success: 3 attempts with one key, one task", async (t) => {
  const p = await demo(t);
  await p.click('[data-testid="fault-503"]');
  assert.equal(await p.getAttribute('[data-testid="fault-503"]', "aria-pressed"), "true");
  await p.click('[data-testid="create"]');
  const tasks = await settle((plain, idem) => idem.length >= 1, "the task after two 503s");
  assert.equal(tasks.idem.length, 1);
  assert.equal(tasks.plain.length, 1, "plain fetch: two of its three POSTs got 503 and nobody retried them");
  const sent = await requests(server.url, IDEM);
  assert.deepEqual(sent.map((r) => r.status), [503, 503, 201], "3 attempts");
  assert.equal(distinctKeys(sent).size, 1, "one key on every attempt");
  await p.waitForFunction(() => /3 attempts/.test(document.querySelector('[data-testid="once-last"]')?.textContent ?? ""));
  assert.equal(await p.locator('[data-testid="event-log"] tr[data-type="retry"]').count(), 2, "two retry events");
  await countersShow(p, 1, 1);
  await screenshot(p, "demo-faults.png", { controls: true });
});

test("demo B6: a dropped connection is retried with the same key", async (t) => {
  const p = await demo(t);
  await p.click('[data-testid="fault-drop"]');
  await p.click('[data-testid="create"]');
  const tasks = await settle((plain, idem) => plain.length >= 2 && idem.length >= 1, "the task after a drop");
  assert.equal(tasks.idem.length, 1);
  assert.equal(tasks.plain.length, 2, "plain fetch lost one POST to the drop");
  const sent = await requests(server.url, IDEM);
  assert.deepEqual(sent.map((r) => r.status), [0, 201], "dropped, then answered");
  assert.ok(sent[0].fault?.drop);
  assert.equal(distinctKeys(sent).size, 1, "the retry carried the same key");
  await p.waitForFunction(() => /2 attempts/.test(document.querySelector('[data-testid="once-last"]')?.textContent ?? ""));
});

test("demo slow job: clicks while the 3-second job runs join it", async (t) => {
  const p = await demo(t);
  await p.click('[data-testid="fault-slow"]');
  await p.click('[data-testid="create"]');
  await new Promise((r) => setTimeout(r, 800));
  await p.click('[data-testid="create"]'); // the job is still running on the server
  const tasks = await settle((plain, idem) => plain.length >= 6 && idem.length >= 1, "the slow tasks", 12_000);
  assert.equal(tasks.idem.length, 1);
  const sent = await requests(server.url, IDEM);
  assert.equal(distinctKeys(sent).size, 1);
  assert.equal(sent[0].fault?.delayMs, 3000);
});

test("demo useIdempotentAction: run() after success sends nothing; run({ fresh: true }) makes a new task", async (t) => {
  const p = await demo(t);
  await p.dblclick('[data-testid="pay"]');
  await p.waitForFunction(() => document.querySelector('[data-testid="pay-status"]')?.textContent === "success");
  const invoice = async () => (await requests(server.url, IDEM)).filter((r) => kindOf(r) === "invoice");
  assert.equal((await invoice()).length, 1, "a double click ran the action once");
  await p.click('[data-testid="pay"]');
  await p.click('[data-testid="pay"]');
  await new Promise((r) => setTimeout(r, 400));
  assert.equal((await invoice()).length, 1, "run() after success sent nothing");
  const firstKey = (await invoice())[0].key;
  assert.match(await text(p, "pay-key"), new RegExp(firstKey.slice(0, 8)));
  await p.click('[data-testid="pay-again"]');
  await until(async () => (await log(server.url)).tasks.idem.length === 2, { what: "the fresh payment" });
  const sent = await invoice();
  assert.equal(sent.length, 2);
  assert.notEqual(sent[1].key, firstKey, "fresh: a new key");
  await p.waitForFunction(() => document.querySelector('[data-testid="invoice-tally-once"]')?.textContent === "2");
});

test("demo TanStack Query: three mutate() calls whose mutationFn uses oncefetch make one request", async (t) => {
  const p = await demo(t);
  await p.click('[data-testid="rq-submit"]');
  await p.waitForFunction(() => document.querySelector('[data-testid="rq-status"]')?.textContent === "success");
  const tasks = await settle((plain, idem) => idem.length >= 1, "the import task");
  assert.equal(tasks.idem.length, 1);
  assert.equal((await requests(server.url, IDEM)).length, 1);
  assert.equal(await text(p, "rq-calls"), "3");
});

test("oncefetch/react hooks in Strict Mode (www/hooks.html)", async (t) => {
  const p = await demo(t, "hooks.html");
  const r = await p.evaluate(() => window.hookResults);
  // useOnceFetch / useIdempotentAction outside a provider throw an Error naming it.
  assert.equal(r.outsideFetch?.name, "Error");
  assert.match(r.outsideFetch.message, /OnceFetchProvider/);
  assert.match(r.outsideAction?.message ?? "", /OnceFetchProvider/);
  // useOnceFetch returns the provider's client.fetch, the same function on every render.
  assert.deepEqual(r.fetchIdentity, { distinct: 1, isClientFetch: true });
  assert.equal(r.runStable, true);
  // run() from a mount effect, which Strict Mode runs twice: one request.
  assert.equal(r.effectRequests, 1);
  // Never runs on its own; run() while pending joins; state shared by components of the same action.
  assert.equal(r.idleBeforeRun, "idle");
  assert.equal(r.sentBeforeRun, 0);
  assert.equal(r.samePromise, true);
  assert.equal(r.pendingStatus, "pending");
  assert.equal(r.twinStatusWhilePending, "pending");
  assert.equal(r.afterFirst.requests, 1);
  assert.equal(r.afterFirst.status, "success");
  assert.match(r.afterFirst.key, UUID4, "info is client.info of the response");
  assert.equal(r.twinStatus, "success");
  // run() after success returns the settled result without sending anything.
  assert.deepEqual(r.afterRepeat, { requests: 1, sameData: true, samePromise: true });
  // run({ fresh: true }) sends again, with a new key.
  assert.equal(r.afterFresh.requests, 2);
  assert.equal(r.afterFresh.newTask, true);
  assert.notEqual(r.afterFresh.key, r.afterFirst.key);
  // After an error, run() tries again, with the same key (B6 keeps it after a 503).
  assert.equal(r.flaky.failed, "HTTP 503");
  assert.equal(r.flaky.status, "error");
  assert.equal(r.flaky.infoStatus, "present");
  assert.deepEqual(r.flaky.retried, { status: "success", requests: 2, sameKey: true });
});

// Cross-tab single flight (SPEC B14) and offline-aware retries (SPEC B15), in
// headless Chromium: two pages of one browser context share localStorage, Web
// Locks and BroadcastChannel, like two tabs of one origin.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as harness from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await harness.startPageServer();
  browser = await harness.launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const serverLog = () => harness.log(server.url);

/** `n` tabs of one context, each with a client (and its event log) made at load. */
async function tabs(t, n, options = {}) {
  await harness.reset(server.url);
  const context = await browser.newContext();
  t.after(() => context.close());
  const pages = [];
  for (let i = 0; i < n; i++) {
    const p = await context.newPage();
    await p.goto(`${server.url}contract.html`);
    await harness.waitReady(p);
    await p.evaluate((o) => {
      // Watches the library's channel: once a peer has spoken, the tabs know of each other.
      window.peerSeen = false;
      new BroadcastChannel("oncefetch:1").onmessage = () => { window.peerSeen = true; };
      window.client = createClient(o);
      window.events = [];
      client.on((e) => events.push(e.type));
    }, options);
    pages.push(p);
  }
  // Let the tabs introduce themselves on the channel.
  if (n > 1 && options.crossTab !== false) for (const p of pages) await p.waitForFunction(() => window.peerSeen);
  await pages[0].waitForTimeout(50);
  return { context, pages };
}

const create = (delay) => `(async () => {
  const r = await within(client.fetch("/api/idem/tasks?delay=${delay}", { method: "POST", body: JSON.stringify({ video: "test.mp4" }), action: "track:test.mp4" }), 15000);
  if (!r.ok) return r;
  return { status: r.value.status, body: await r.value.json(), info: client.info(r.value), events };
})()`;

test("B14 the same action clicked in two tabs at once: one request at the server, both tabs get the result", async (t) => {
  const { pages } = await tabs(t, 2);
  const [a, b] = await Promise.all(pages.map((p) => p.evaluate(create(400))));
  const log = await serverLog();
  assert.equal(log.requests.filter((r) => r.path === "/api/idem/tasks").length, 1, `one network request in total: ${JSON.stringify([a.events, b.events, log.requests.map((r) => [r.key, r.status, r.at])])}`);
  assert.equal(log.tasks.idem.length, 1);
  assert.equal(a.status, 201);
  assert.equal(b.status, 201);
  assert.deepEqual(a.body, b.body, "both tabs show the same task");
  assert.equal(a.info.key, b.info.key);
  const follower = a.events.includes("cross-tab-wait") ? a : b;
  assert.ok(follower.events.includes("cross-tab-result"), follower.events.join(","));
  assert.equal(follower.info.coalesced, true);
});

test("B14 the first tab closed mid-flight: the second completes with the same key and the server creates one record", async (t) => {
  const { pages } = await tabs(t, 2, { retry: { baseMs: 50, maxRetryAfterMs: 200, attempts: 10 } });
  const [first, second] = pages;
  void first.evaluate(create(1200)).catch(() => {}); // its tab goes away before the answer
  await first.waitForFunction(() => window.events.includes("store"));
  const waiting = second.evaluate(create(1200));
  await second.waitForFunction(() => window.events.includes("cross-tab-wait"));
  await first.close();
  const b = await waiting;
  assert.equal(b.status, 201, JSON.stringify(b));
  assert.equal(b.info.fromStorage, true, "the second tab found the first tab's key");
  const log = await serverLog();
  const reqs = log.requests.filter((r) => r.path === "/api/idem/tasks");
  assert.ok(reqs.length >= 2, "the second tab sent the request itself");
  assert.equal(new Set(reqs.map((r) => r.key)).size, 1, "with the same key");
  assert.equal(reqs[0].key, b.info.key);
  assert.equal(log.tasks.idem.length, 1, "one record");
});

test("B14 a lone tab takes no lock", async (t) => {
  const { pages } = await tabs(t, 1);
  const out = await pages[0].evaluate(async () => {
    const held = [];
    const orig = navigator.locks.request.bind(navigator.locks);
    navigator.locks.request = (...args) => { held.push(args[0]); return orig(...args); };
    await client.fetch("/api/echo", { method: "POST", body: "alone" });
    return held;
  });
  assert.deepEqual(out, []);
});

test("B14 crossTab: false: no coordination between tabs, each sends its own request", async (t) => {
  const { pages } = await tabs(t, 2, { crossTab: false, retry: { baseMs: 50, maxRetryAfterMs: 200, attempts: 10 } });
  const [a, b] = await Promise.all(pages.map((p) => p.evaluate(create(400))));
  const log = await serverLog();
  const reqs = log.requests.filter((r) => r.path === "/api/idem/tasks");
  assert.ok(reqs.length >= 2, "each tab sent its own request");
  assert.ok(!a.events.includes("cross-tab-wait") && !b.events.includes("cross-tab-wait"));
  // Without the lock, two tabs starting at once may mint two keys (the race B14
  // exists for); the server then does the work once per distinct key.
  assert.equal(log.tasks.idem.length, new Set(reqs.map((r) => r.key)).size);
});

test("B15 offline during a retry: no attempt is spent; back online the request completes with the same key", async (t) => {
  const { context, pages } = await tabs(t, 1);
  const p = pages[0];
  // Retry-After makes the wait before the retry a known second: time to go offline.
  await harness.faults(server.url, [{ path: "/api/idem/tasks", status: 503, retryAfter: "1", times: 1 }]);
  const result = p.evaluate(create(0));
  await p.waitForFunction(() => window.events.includes("retry"));
  await context.setOffline(true);
  await p.waitForFunction(() => window.events.includes("offline-wait"), null, { timeout: 5000 });
  await p.waitForTimeout(1000);
  const whileOffline = (await serverLog()).requests.length;
  await context.setOffline(false);
  const r = await result;
  assert.equal(whileOffline, 1, "nothing was sent while offline");
  assert.equal(r.status, 201);
  assert.equal(r.info.attempts, 2, "the offline period spent no attempt");
  const reqs = (await serverLog()).requests;
  assert.equal(reqs.length, 2);
  assert.equal(reqs[0].key, reqs[1].key);
});

test("B15 a call made while offline waits for the connection instead of failing", async (t) => {
  const { context, pages } = await tabs(t, 1);
  const p = pages[0];
  await context.setOffline(true);
  const result = p.evaluate(create(0));
  await p.waitForFunction(() => window.events.includes("offline-wait"));
  await p.waitForTimeout(300);
  await context.setOffline(false);
  const r = await result;
  assert.equal(r.status, 201);
  assert.equal(r.info.attempts, 1);
  const off = await p.evaluate(async () => {
    const c = createClient({ waitOnline: false, retry: false });
    return within(c.fetch("/api/echo", { method: "POST", body: "x" }), 3000);
  }).catch((e) => e);
  assert.equal(off.ok, true, "online again: waitOnline: false sends at once");
});

test("B15 offline, an unkeyed POST is not sent again: the caller gets the network error", async (t) => {
  const { context, pages } = await tabs(t, 1);
  await pages[0].evaluate(() => { window.c = createClient({ keyedMethods: ["PATCH"] }); return c.keyFor("load the wasm while online"); });
  await context.setOffline(true);
  const out = await pages[0].evaluate(() => within(c.fetch("/api/echo", { method: "POST", body: "unkeyed" }), 3000));
  await context.setOffline(false);
  assert.equal(out.ok, false);
  assert.equal(out.name, "TypeError", JSON.stringify(out));
  assert.match(out.message, /1 attempt/);
});

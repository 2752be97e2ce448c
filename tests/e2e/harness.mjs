// Shared helpers of the browser tests: headless Chromium through
// playwright-core (the system Chromium: no browser is ever downloaded) and the
// loopback reference server serving test pages and the built package.
import path from "node:path";
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startServer } from "../../server/reference.mjs";

export { startServer };

/** The repository root: what `/node_modules/oncefetch/` maps to, as if npm had installed it. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** SPEC B1: a UUID v4 in its canonical lowercase form. */
export const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export const CHROME_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Launches the system Chromium (`CHROME_BIN`, default /usr/bin/chromium). */
export async function launchBrowser() {
  const executablePath = process.env.CHROME_BIN || "/usr/bin/chromium";
  if (!fs.existsSync(executablePath)) {
    throw new Error(`no Chromium at ${executablePath}: apt-get install -y --no-install-recommends chromium (or set CHROME_BIN)`);
  }
  return chromium.launch({ executablePath, args: CHROME_ARGS });
}

/**
 * Starts the reference server with the test pages at `/` and the repository at
 * `/node_modules/oncefetch/`, so a page imports `/node_modules/oncefetch/dist/index.js`
 * with no bundler.
 */
export function startPageServer(options = {}) {
  return startServer({
    staticRoots: [
      { prefix: "/", dir: path.join(ROOT, "tests/pages") },
      { prefix: "/node_modules/oncefetch/", dir: ROOT },
    ],
    ...options,
  });
}

/** `base` is a server url ending in `/`. */
async function control(base, route, init) {
  const res = await fetch(new URL(`__control/${route}`, base), init);
  if (!res.ok) throw new Error(`__control/${route}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** The server's record: `{ requests, tasks: { plain, idem }, keys }`. */
export function log(base) {
  return control(base, "log");
}

/** The /api requests the server received, optionally only those whose path starts with `prefix`. */
export async function requests(base, prefix = "/api/") {
  return (await log(base)).requests.filter((r) => r.path.startsWith(prefix));
}

/** Queues faults (see server/reference.mjs). */
export function faults(base, list) {
  return control(base, "faults", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(list) });
}

/** Clears the server's requests, tasks, keys and fault queue. */
export function reset(base) {
  return control(base, "reset", { method: "POST" });
}

/** Polls `check` (sync or async) until it returns a truthy value; that value is returned. */
export async function until(check, { timeout = 5000, every = 20, what = "condition" } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/**
 * Opens `page` (e.g. "nobundler.html") for one test, waits for `window.ready`.
 * Console lines and page errors are collected in `page.logs`.
 *
 * Tests of one file share one browser context and tab (a new context costs a
 * renderer process, ~0.2 s of CPU per test): when the test ends its document
 * is unloaded (pending timers, requests, BroadcastChannels and Web Locks die
 * with it) and, before the next test's page loads, the origin's storage
 * (localStorage, IndexedDB, caches; sessionStorage when the test ends) is
 * wiped and the network set back online — what a fresh context would give. A test that changes the
 * tab or context in other ways (init scripts, routes) must use its own
 * context; one that adds a listener to the page removes it when it ends.
 */
const shared = new WeakMap();
export async function openPage(t, browser, base, page, contextOptions = {}) {
  const tabs = shared.get(browser) ?? new Map();
  shared.set(browser, tabs);
  const id = JSON.stringify(contextOptions);
  let s = tabs.get(id);
  if (!s || s.page.isClosed() || s.crashed) {
    await s?.context.close().catch(() => {});
    const context = await browser.newContext(contextOptions);
    const p = await context.newPage();
    p.logs = [];
    p.on("console", (m) => p.logs.push(m.text()));
    p.on("pageerror", (e) => p.logs.push(`pageerror: ${e.message}`));
    s = { context, page: p, cdp: await context.newCDPSession(p), crashed: false };
    const tab = s;
    p.on("crash", () => { tab.crashed = true; });
    tabs.set(id, s);
  }
  const p = s.page;
  // sessionStorage belongs to the tab (Storage.clearDataForOrigin leaves it): cleared while still on the origin.
  t.after(() => p.evaluate(() => sessionStorage.clear()).catch(() => {}).then(() => p.goto("about:blank")).catch(() => {}));
  await s.context.setOffline(false);
  await s.cdp.send("Storage.clearDataForOrigin", { origin: new URL(base).origin, storageTypes: "all" });
  p.logs.length = 0;
  await p.goto(new URL(page, base).href);
  await waitReady(p);
  return p;
}

/** Waits for the test page's module script to have run; a failed import shows its error. */
export async function waitReady(p, timeout = 10_000) {
  try {
    await p.waitForFunction("window.ready === true || window.loadError !== undefined", null, { timeout });
  } catch (err) {
    throw new Error(`page never became ready: ${err.message}\n${(p.logs ?? []).join("\n")}`);
  }
  const loadError = await p.evaluate(() => window.loadError);
  if (loadError !== undefined) throw new Error(`page failed to load oncefetch: ${loadError}`);
}

// oncefetch under a strict Content-Security-Policy, in headless Chromium.
//
// The page (tests/pages/csp.html) is served with the policy as a response
// header and runs only a same-origin module file (tests/pages/csp.js): no
// inline script, no eval. The package must load and work with exactly
//   script-src 'self' 'wasm-unsafe-eval'
// and nothing looser. The negative control serves `script-src 'self'` alone:
// the browser then refuses to compile the wasm engine, and every call must
// reject with an Error (never hang) without sending anything, which shows the
// test can tell the two apart and that 'wasm-unsafe-eval' is the one source
// the package needs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, startPageServer, requests, faults, UUID4 } from "./harness.mjs";

/** The policy the README documents: the least a page needs to run oncefetch. */
const NEEDED = "script-src 'self' 'wasm-unsafe-eval'";
/** A locked-down page: nothing by default, Trusted Types enforced, no plugins, no <base>. */
const LOCKED_DOWN = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "connect-src 'self'", // the .wasm file and the API calls are fetched
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");
/** The negative control: same-origin scripts, but no WebAssembly compilation. */
const NO_WASM = "script-src 'self'";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/**
 * Serves tests/pages with `policy` as its Content-Security-Policy header,
 * queues one 503 for the page's retry step, opens csp.html in a fresh context
 * and returns what the page recorded, with the console errors, page errors and
 * the server's record of /api requests.
 */
async function runPage(t, policy) {
  const server = await startPageServer({ headers: { "Content-Security-Policy": policy } });
  t.after(() => server.close());
  await faults(server.url, [{ path: "/api/idem/tasks?csp=retry", status: 503, retryAfter: "0" }]);
  const context = await browser.newContext();
  t.after(() => context.close());
  const p = await context.newPage();
  const consoleErrors = [];
  const pageErrors = [];
  p.on("console", (m) => {
    if (m.type() !== "error") return;
    // The browser logs every HTTP error status it receives; these two are expected:
    // no favicon on the test server, and the 503 the test injects.
    const url = m.location().url ?? "";
    if (/^Failed to load resource/.test(m.text()) && (url.endsWith("/favicon.ico") || url.endsWith("?csp=retry"))) return;
    consoleErrors.push(`${m.text()} (${url})`);
  });
  p.on("pageerror", (e) => pageErrors.push(e.message));
  const doc = await p.goto(new URL("csp.html", server.url).href);
  assert.equal(doc.headers()["content-security-policy"], policy, "the page is served with the policy under test");
  // Polled with evaluate(function), not waitForFunction(string): the latter
  // evals its string in the page, which this very policy forbids.
  const end = Date.now() + 30_000;
  while (!(await p.evaluate(() => window.ready === true))) {
    if (Date.now() > end) throw new Error(`csp.html never finished:\n${[...consoleErrors, ...pageErrors].join("\n")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const page = await p.evaluate(() => ({
    result: window.cspResult,
    loadError: window.loadError,
    violations: window.cspViolations,
    // Did the page's module run at all (a blocked module script would leave these unset)?
    ran: typeof window.within === "function",
  }));
  return { ...page, consoleErrors, pageErrors, api: await requests(server.url), server };
}

function assertWorks(out, what) {
  assert.equal(out.loadError, undefined, `${what}: the package imports`);
  assert.equal(out.ran, true);
  assert.deepEqual(out.violations, [], `${what}: no securitypolicyviolation event`);
  assert.deepEqual(out.consoleErrors, [], `${what}: no console error`);
  assert.deepEqual(out.pageErrors, [], `${what}: no page error`);
  const r = out.result;

  // B1: the POST got a UUID v4 key from the CSPRNG, and the server saw it.
  assert.equal(r.post.ok, true, `${what}: POST settled: ${JSON.stringify(r.post)}`);
  assert.equal(r.post.value.status, 201);
  assert.match(r.post.value.info.key, UUID4);
  const posts = out.api.filter((x) => x.path === "/api/idem/tasks" && !x.query);
  assert.equal(posts.length, 1);
  assert.equal(posts[0].key, r.post.value.info.key);

  // B3: two identical calls, one request; each caller read its own body.
  assert.equal(r.coalesced.ok, true, JSON.stringify(r.coalesced));
  const [a, b] = r.coalesced.value;
  assert.equal(out.api.filter((x) => x.query === "csp=1").length, 1, `${what}: coalesced into one request`);
  assert.equal(a.info.coalesced, false);
  assert.equal(b.info.coalesced, true);
  assert.equal(a.info.key, b.info.key);
  assert.deepEqual(a.body, b.body);

  // B6: a 503 retried with the same key.
  assert.equal(r.retried.ok, true, JSON.stringify(r.retried));
  assert.equal(r.retried.value.status, 201);
  assert.equal(r.retried.value.info.attempts, 2);
  const retries = out.api.filter((x) => x.query === "csp=retry");
  assert.deepEqual(retries.map((x) => x.status), [503, 201]);
  assert.equal(new Set(retries.map((x) => x.key)).size, 1, "the retry resent the same key");

  // B9 and B5: keyFor works, keys are written to localStorage.
  assert.equal(r.keyFor.ok, true);
  assert.match(r.keyFor.value, UUID4);
  assert.equal(r.again.ok, true);
  assert.equal(r.inflight, 0);
  assert.ok(r.stored >= 3, `${what}: keys persisted (${r.stored})`);
}

test("CSP: with script-src 'self' 'wasm-unsafe-eval' the package loads and client.fetch works (keys, coalescing, retries), with no violation", async (t) => {
  assertWorks(await runPage(t, NEEDED), NEEDED);
});

test("CSP: a locked-down policy (default-src 'none', connect-src 'self', Trusted Types enforced) needs nothing more", async (t) => {
  assertWorks(await runPage(t, LOCKED_DOWN), "locked-down policy");
});

test("CSP negative control: without 'wasm-unsafe-eval' the wasm is refused, and every call rejects with an Error instead of hanging; nothing is sent", async (t) => {
  const out = await runPage(t, NO_WASM);
  assert.equal(out.loadError, undefined, "the JS module itself is same-origin and loads");
  assert.equal(out.ran, true);
  const r = out.result;
  for (const step of ["post", "coalesced", "retried", "keyFor", "again"]) {
    assert.notEqual(r[step].pending, true, `${step}: settled (SPEC B12), not pending`);
    assert.equal(r[step].ok, false, `${step}: rejected`);
    assert.equal(r[step].isError, true, `${step}: with an Error: ${JSON.stringify(r[step])}`);
    assert.match(r[step].message, /WebAssembly/, `${step}: the message says why: ${r[step].message}`);
    assert.match(r[step].message, /Content Security Policy/, `${step}: the message says why: ${r[step].message}`);
  }
  assert.equal(r.inflight, 0, "nothing left in flight");
  assert.equal(out.api.length, 0, "no request was sent without the engine (so none without its key)");
  // The browser names the blocked source: wasm compilation under script-src.
  assert.ok(out.violations.length >= 1, "a securitypolicyviolation was reported");
  for (const v of out.violations) {
    assert.equal(v.effectiveDirective, "script-src");
    assert.equal(v.blockedURI, "wasm-eval");
  }
  // One refused compilation per call: a failed load is not cached, the next call tries again.
  assert.equal(out.violations.length, 5);
  assert.match(r.post.message, /script-src 'self'/, "the error quotes the directive that refused it");
  assert.deepEqual(out.pageErrors, [], "no uncaught error: every failure went to its caller");
});

// The script of tests/pages/csp.html, loaded as a same-origin module file
// because the page's Content-Security-Policy forbids inline script. It records
// every CSP violation, then uses the package the way an app would and leaves
// the outcome in `window.cspResult` for tests/e2e/csp.test.mjs to read.
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.cspViolations.push({
    directive: e.violatedDirective,
    effectiveDirective: e.effectiveDirective,
    blockedURI: e.blockedURI,
    sourceFile: e.sourceFile,
    sample: e.sample,
  });
});

/** Settles within `ms`, or says the promise is still pending (SPEC B12: it never is). */
function within(p, ms = 5000) {
  return Promise.race([
    p.then(
      (value) => ({ ok: true, value }),
      (e) => ({ ok: false, name: e?.name, message: String(e?.message ?? e), isError: e instanceof Error || e instanceof DOMException }),
    ),
    new Promise((r) => setTimeout(() => r({ pending: true }), ms)),
  ]);
}

async function info(client, res) {
  return { status: res.status, info: client.info(res), body: await res.json() };
}

async function scenario(createClient) {
  const client = createClient({ scope: "csp" });
  const out = {};
  // A keyed POST (the first call loads the wasm engine).
  out.post = await within(
    client.fetch("/api/idem/tasks", { method: "POST", body: JSON.stringify({ video: "csp.mp4" }), action: "csp:create" })
      .then((res) => info(client, res)),
  );
  // Two identical calls at once: one request, the second joins it (SPEC B3).
  out.coalesced = await within(Promise.all([
    client.fetch("/api/echo?csp=1", { method: "POST", body: "same body" }),
    client.fetch("/api/echo?csp=1", { method: "POST", body: "same body" }),
  ]).then(async ([a, b]) => [await info(client, a), await info(client, b)]));
  // A retried answer under the same key (SPEC B6): the test queues one 503 for this URL.
  out.retried = await within(
    client.fetch("/api/idem/tasks?csp=retry", { method: "POST", body: "retry me", action: "csp:retry", retry: { attempts: 2, baseMs: 10 } })
      .then((res) => info(client, res)),
  );
  out.keyFor = await within(client.keyFor("csp:wf-1"));
  // A second try after a failed load must fail again, not hang on a stale promise.
  out.again = await within(client.fetch("/api/echo?csp=2", { method: "POST", body: "again" }).then((res) => res.status));
  out.inflight = client.inflight;
  out.stored = Object.keys(localStorage).filter((k) => k.startsWith("oncefetch:")).length;
  return out;
}

try {
  const { createClient } = await import("/node_modules/oncefetch/dist/index.js");
  window.createClient = createClient;
  window.within = within;
  window.cspResult = await scenario(createClient);
} catch (e) {
  window.loadError = String(e?.stack ?? e);
}
window.ready = true;

// Checks of oncefetch/react in a real browser, React 19 and Strict Mode (a
// development build): tests/e2e/demo.test.mjs opens hooks.html and asserts on
// `window.hookResults`. Not part of the demo page.
import { Component, StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { flushSync } from "react-dom";
import { createClient } from "oncefetch";
import { OnceFetchProvider, useIdempotentAction, useOnceFetch } from "oncefetch/react";

const results = {};
window.hookResults = results;

/** Every request the client really sent: the underlying fetch, counted. */
const sent = [];
const client = createClient({
  scope: `hooks-${Date.now()}`,
  storage: "memory",
  fetch: (input, init) => {
    sent.push({ url: String(input), key: new Headers(init?.headers).get("Idempotency-Key") });
    return fetch(input, init);
  },
});

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

class Boundary extends Component {
  state = { error: null };
  static getDerivedStateFromError(error) {
    return { error };
  }
  componentDidCatch() {}
  render() {
    return this.state.error ? <span data-error={this.state.error.message} /> : this.props.children;
  }
}

/** Renders `element` in its own root and reports the error it threw, if any. */
async function errorOf(element) {
  let caught = null;
  const host = document.createElement("div");
  document.body.append(host);
  const root = createRoot(host, { onCaughtError: (e) => (caught = e) });
  flushSync(() => root.render(<Boundary>{element}</Boundary>));
  await tick();
  root.unmount();
  host.remove();
  return caught ? { name: caught.name, message: caught.message } : null;
}

function UsesFetch() {
  useOnceFetch();
  return null;
}

function UsesAction() {
  useIdempotentAction("outside", async () => 1);
  return null;
}

// Hooks under test, each exposing its latest return value.
const latest = {};
const fetchesSeen = new Set();
let failNext = false;

const json = { "content-type": "application/json" };

function Probe({ name, action, failable = false }) {
  fetchesSeen.add(useOnceFetch());
  const state = useIdempotentAction(action, async (fetchOnce) => {
    const headers = failable && failNext ? { ...json, "x-fault": "status=503" } : json;
    const res = await fetchOnce("/api/idem/tasks", { method: "POST", headers, body: JSON.stringify({ kind: "hooks", action }), retry: { attempts: 1 } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.json();
  });
  latest[name] = state;
  return <span data-probe={name}>{state.status}</span>;
}

/** The effect everyone writes: run on mount. Strict Mode runs it twice. */
function RunsOnMount() {
  const { run, status } = useIdempotentAction("check:effect", async (fetchOnce) => {
    const res = await fetchOnce("/api/idem/tasks", { method: "POST", headers: json, body: JSON.stringify({ kind: "hooks", effect: true }) });
    return res.json();
  });
  useEffect(() => {
    void run();
  }, [run]);
  latest.effect = status;
  return null;
}

let rerender;
function Harness() {
  const [n, setN] = useState(0);
  rerender = () => setN((x) => x + 1);
  return (
    <>
      <Probe name="main" action="check:create" />
      <Probe name="twin" action="check:create" />
      <Probe name="flaky" action="check:flaky" failable />
      <RunsOnMount />
      <span data-renders={n} />
    </>
  );
}

async function until(check, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(10);
  }
}

async function main() {
  results.outsideFetch = await errorOf(<UsesFetch />);
  results.outsideAction = await errorOf(<UsesAction />);

  const root = createRoot(document.getElementById("root"));
  root.render(
    <StrictMode>
      <OnceFetchProvider client={client}>
        <Harness />
      </OnceFetchProvider>
    </StrictMode>,
  );
  await until(() => latest.main && latest.effect === "success", "the mount effect's run");
  results.effectRequests = sent.filter((s) => s.url.includes("/api/idem/tasks")).length;

  const main = () => latest.main;
  results.idleBeforeRun = main().status;
  const before = sent.length;
  results.sentBeforeRun = before - results.effectRequests;
  const p1 = main().run();
  const p2 = main().run();
  results.samePromise = p1 === p2;
  await tick(0);
  results.pendingStatus = main().status;
  results.twinStatusWhilePending = latest.twin.status;
  const data = await p1;
  await until(() => main().status === "success", "success");
  results.afterFirst = { requests: sent.length - before, status: main().status, data, key: main().info?.key ?? null };
  results.twinStatus = latest.twin.status;

  const p3 = main().run(); // after success: the settled result, nothing sent
  const again = await p3;
  await tick(50);
  results.afterRepeat = { requests: sent.length - before, sameData: again === data, samePromise: p3 === p1 };

  const fresh = await main().run({ fresh: true });
  await until(() => main().status === "success" && main().data === fresh, "the fresh run");
  results.afterFresh = { requests: sent.length - before, key: main().info?.key ?? null, newTask: fresh.id !== data.id };

  // After an error, run() tries again with the same key (the entry stays pending after a 503).
  failNext = true;
  const flakyBefore = sent.length;
  const failed = await latest.flaky.run().then(() => null, (e) => e.message);
  await until(() => latest.flaky.status === "error", "the error status");
  results.flaky = { failed, status: latest.flaky.status, infoStatus: latest.flaky.info ? "present" : "absent" };
  failNext = false;
  await latest.flaky.run();
  await until(() => latest.flaky.status === "success", "the retry");
  const flakyKeys = sent.slice(flakyBefore).map((s) => s.key);
  results.flaky.retried = { status: latest.flaky.status, requests: flakyKeys.length, sameKey: flakyKeys.length === 2 && flakyKeys[0] === flakyKeys[1] };

  for (let i = 0; i < 3; i++) {
    flushSync(() => rerender());
  }
  results.fetchIdentity = { distinct: fetchesSeen.size, isClientFetch: fetchesSeen.has(client.fetch) };
  results.runStable = latest.main.run === main().run;
}

main().then(
  () => {
    window.ready = true;
  },
  (err) => {
    window.loadError = `${err?.name}: ${err?.message}\n${err?.stack ?? ""}`;
  },
);

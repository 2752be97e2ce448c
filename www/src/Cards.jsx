// Three ways React apps meet oncefetch: an effect on mount, the
// useIdempotentAction hook, and a TanStack Query mutation.
import { useEffect, useState, useSyncExternalStore } from "react";
import { useMutation } from "@tanstack/react-query";
import { useIdempotentAction, useOnceFetch } from "oncefetch/react";
import { client } from "./client.js";
import { IDEM_TASKS, PLAIN_TASKS, serverLog } from "./server.js";
import { JSON_HEADERS } from "./demo.js";
import { Card, KeyChip, StatusBadge, TaskTally } from "./ui.jsx";

function useServerLog() {
  return useSyncExternalStore(serverLog.subscribe, serverLog.get);
}

// ------------------------------------------------------------ Strict Mode mount

/** Each page load's tracker sessions are new actions (settled ones are remembered for minutes). */
const PAGE = Date.now().toString(36);

/** The classic bug: a component that starts a job when it mounts. */
function PlainTracker({ session }) {
  const [result, setResult] = useState(null);
  useEffect(() => {
    let live = true;
    fetch(PLAIN_TASKS, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify({ kind: "tracker", session, title: "Track test.mp4" }) })
      .then((res) => live && setResult({ status: res.status }))
      .catch((err) => live && setResult({ error: err.message }));
    return () => {
      live = false;
    };
  }, [session]);
  return (
    <div className="tracker">
      <span className="tracker-name">plain fetch</span>
      <StatusBadge status={result?.status} error={result?.error} />
    </div>
  );
}

/** The same component with `useOnceFetch()`: the effect's second run joins the first request. */
function OnceTracker({ session }) {
  const fetchOnce = useOnceFetch();
  const [result, setResult] = useState(null);
  useEffect(() => {
    let live = true;
    fetchOnce(IDEM_TASKS, {
      method: "POST",
      headers: JSON_HEADERS,
      body: JSON.stringify({ kind: "tracker", session, title: "Track test.mp4" }),
      action: `track-video:${PAGE}:${session}`,
    })
      .then((res) => live && setResult({ status: res.status, info: client.info(res) }))
      .catch((err) => live && setResult({ error: err.message }));
    return () => {
      live = false;
    };
  }, [fetchOnce, session]);
  return (
    <div className="tracker">
      <span className="tracker-name">oncefetch</span>
      <StatusBadge status={result?.status} error={result?.error} />
      {result?.info && <KeyChip value={result.info.key} />}
    </div>
  );
}

export function StrictMountCard() {
  const log = useServerLog();
  const [session, setSession] = useState(0);
  return (
    <Card kicker="Strict Mode" title="Start a job when a component mounts" data-testid="card-mount">
      <p className="card-text">
        This page runs in <code>&lt;StrictMode&gt;</code> (a development build), so React mounts each new component twice and
        runs its effect twice — the <code>useEffect(() =&gt; {"{ fetch(…) }"}, [])</code> that started three tasks for one
        video.
      </p>
      <button className="btn btn-secondary" data-testid="mount-tracker" onClick={() => setSession((s) => s + 1)}>
        {session === 0 ? "Open the video tracker" : "Open it again"}
      </button>
      {session > 0 && (
        <div className="trackers" key={session}>
          <PlainTracker session={session} />
          <OnceTracker session={session} />
        </div>
      )}
      <TaskTally log={log} kind="tracker" testid="tracker-tally" />
    </Card>
  );
}

// ------------------------------------------------------------ useIdempotentAction

export function InvoiceCard() {
  const log = useServerLog();
  const pay = useIdempotentAction("pay-invoice:1042", async (fetchOnce) => {
    const res = await fetchOnce(IDEM_TASKS, {
      method: "POST",
      headers: JSON_HEADERS,
      body: JSON.stringify({ kind: "invoice", title: "Pay invoice #1042", amount: 129 }),
    });
    if (!res.ok) throw new Error(`payment failed: HTTP ${res.status}`);
    return res.json();
  });
  const busy = pay.status === "pending";
  return (
    <Card kicker="oncefetch/react" title="useIdempotentAction" data-testid="card-invoice">
      <p className="card-text">
        <code>run()</code> while pending joins the request; after success it returns the result and sends nothing.{" "}
        <code>run({"{ fresh: true }"})</code> is the explicit “do it again”.
      </p>
      <div className="row">
        <button className="btn btn-secondary" data-testid="pay" onClick={() => void pay.run()}>
          {busy ? "Paying…" : pay.status === "success" ? "Paid ✓ — click again" : "Pay invoice #1042 · $129"}
        </button>
        <button className="btn btn-ghost" data-testid="pay-again" onClick={() => void pay.run({ fresh: true })} disabled={pay.status !== "success"}>
          Pay again
        </button>
      </div>
      <dl className="facts" data-testid="pay-facts">
        <dt>status</dt>
        <dd data-testid="pay-status" className={`st st-${pay.status}`}>
          {pay.status}
        </dd>
        <dt>key</dt>
        <dd data-testid="pay-key">{pay.info ? <KeyChip value={pay.info.key} /> : "—"}</dd>
        <dt>task</dt>
        <dd>{pay.data ? pay.data.id : pay.error ? String(pay.error.message ?? pay.error) : "—"}</dd>
      </dl>
      <TaskTally log={log} kind="invoice" testid="invoice-tally" />
    </Card>
  );
}

// ------------------------------------------------------------ TanStack Query

export function ImportCard() {
  const log = useServerLog();
  const [calls, setCalls] = useState(0);
  const mutation = useMutation({
    mutationFn: async (file) => {
      const res = await client.fetch(IDEM_TASKS, {
        method: "POST",
        headers: JSON_HEADERS,
        body: JSON.stringify({ kind: "import", title: `Import ${file}` }),
        action: `import:${file}`,
      });
      if (!res.ok) throw new Error(`import failed: HTTP ${res.status}`);
      return { task: await res.json(), info: client.info(res) };
    },
  });
  const submit = () => {
    // A double submit plus a retry-on-focus: three mutate() calls for one import.
    for (let i = 0; i < 3; i++) mutation.mutate("contacts.csv");
    setCalls((c) => c + 3);
  };
  const info = mutation.data?.info;
  return (
    <Card kicker="TanStack Query" title="useMutation with oncefetch" data-testid="card-import">
      <p className="card-text">
        <code>mutationFn</code> calls <code>client.fetch</code>. Each click calls <code>mutate()</code> three times; TanStack runs three
        mutations, the server sees one request.
      </p>
      <button className="btn btn-secondary" data-testid="rq-submit" onClick={submit}>
        Import contacts.csv
      </button>
      <dl className="facts">
        <dt>mutate() calls</dt>
        <dd data-testid="rq-calls">{calls}</dd>
        <dt>status</dt>
        <dd data-testid="rq-status" className={`st st-${mutation.status}`}>
          {mutation.status}
        </dd>
        <dt>key</dt>
        <dd>
          {info ? <KeyChip value={info.key} /> : "—"}
          {info?.replayed && <span className="muted"> replayed</span>}
          {info?.coalesced && <span className="muted"> coalesced</span>}
        </dd>
      </dl>
      <TaskTally log={log} kind="import" testid="import-tally" />
    </Card>
  );
}

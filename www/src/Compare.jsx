// Side by side: what plain fetch and oncefetch made the server do.
import { useSyncExternalStore } from "react";
import { serverLog, PLAIN_TASKS, IDEM_TASKS } from "./server.js";
import { outcomeStore } from "./demo.js";
import { KeyChip, StatusBadge } from "./ui.jsx";

const KIND_LABEL = { create: "create", tracker: "tracker", invoice: "invoice", import: "import" };

/** What a request's fault was, in words. */
function faultNote(fault) {
  if (!fault) return null;
  if (fault.drop) return "connection dropped";
  if (fault.status) return `injected ${fault.status}`;
  if (fault.delayMs) return `slow job ${fault.delayMs / 1000} s`;
  return null;
}

function kindOf(body) {
  try {
    return KIND_LABEL[JSON.parse(body).kind] ?? null;
  } catch {
    return null;
  }
}

/**
 * The server's requests on one route, newest first, with what each did. On the
 * idempotent route the task is made when the first successful request of a key
 * is answered (which may not be the first to arrive: a slow job claims the key
 * at once and answers last); the key's other successes are replays.
 */
function rowsFor(log, route) {
  const ok = (r) => r.status >= 200 && r.status < 300 && !r.fault?.status;
  const creator = new Map(); // key -> the request that made its task
  for (const r of log.requests) {
    if (r.path !== route || !r.key || !ok(r)) continue;
    const c = creator.get(r.key);
    if (!c || r.doneAt < c.doneAt) creator.set(r.key, r);
  }
  const rows = [];
  for (const r of log.requests) {
    if (r.path !== route || r.method !== "POST") continue;
    let effect = null;
    if (ok(r)) effect = route === PLAIN_TASKS || !r.key || creator.get(r.key) === r ? "created" : "replayed";
    else if (r.status === 409) effect = "in progress";
    const note = faultNote(r.fault) ?? (r.query === "delay=3000" ? "slow job 3 s" : null);
    rows.push({ ...r, effect, note, kind: kindOf(r.body) });
  }
  return rows.reverse();
}

function RequestList({ rows, testid }) {
  if (rows.length === 0) return <p className="empty">No requests yet. Press <b>Create task</b>.</p>;
  return (
    <ol className="requests" data-testid={testid}>
      {rows.map((r) => (
        <li key={r.seq} className={`req effect-${r.effect?.replace(" ", "-") ?? "none"}`}>
          <span className="req-seq">#{r.seq}</span>
          <span className="req-method">{r.method}</span>
          <KeyChip value={r.key} />
          <StatusBadge status={r.status} />
          <span className="req-effect">{r.effect ?? r.note ?? (r.status === null ? "working…" : "")}</span>
          {r.effect && r.note && <span className="req-note">{r.note}</span>}
          {r.kind && <span className="req-kind">{r.kind}</span>}
        </li>
      ))}
    </ol>
  );
}

function LastClick({ side, outcome }) {
  if (!outcome) return <p className="last muted">Each click sends 3 identical POSTs at once.</p>;
  if (outcome.pending) return <p className="last muted">Sending 3 identical POSTs…</p>;
  const results = outcome[side];
  const info = side === "once" ? results.find((o) => o.info)?.info : null;
  const joined = side === "once" ? results.filter((o) => o.info?.coalesced).length : 0;
  return (
    <div className="last" data-testid={`${side}-last`}>
      <span className="muted">Last click:</span>
      {results.map((o, i) => (
        <StatusBadge key={i} status={o.status} error={o.error} />
      ))}
      {info && (
        <span className="last-info">
          one action · key <KeyChip value={info.key} /> · {info.attempts} attempt{info.attempts === 1 ? "" : "s"}
          {joined > 0 && ` · ${joined} coalesced`}
          {info.replayed && " · replayed"}
        </span>
      )}
    </div>
  );
}

export function Compare() {
  const log = useSyncExternalStore(serverLog.subscribe, serverLog.get);
  const outcomes = useSyncExternalStore(outcomeStore.subscribe, outcomeStore.get);
  const plainRows = rowsFor(log, PLAIN_TASKS);
  const onceRows = rowsFor(log, IDEM_TASKS);
  const keys = new Set(onceRows.map((r) => r.key).filter(Boolean));
  return (
    <div className="compare">
      <section className="side side-plain" aria-label="plain fetch">
        <SideHead label="plain fetch" route={PLAIN_TASKS} testid="plain-count" count={log.tasks.plain.length} />
        <LastClick side="plain" outcome={outcomes.create} />
        <div className="side-sub">
          {plainRows.length} request{plainRows.length === 1 ? "" : "s"} reached the server, none with a key
        </div>
        <RequestList rows={plainRows} testid="plain-requests" />
      </section>
      <section className="side side-once" aria-label="oncefetch">
        <SideHead label="oncefetch" route={IDEM_TASKS} testid="once-count" count={log.tasks.idem.length} />
        <LastClick side="once" outcome={outcomes.create} />
        <div className="side-sub">
          {onceRows.length} request{onceRows.length === 1 ? "" : "s"} reached the server, {keys.size} distinct key
          {keys.size === 1 ? "" : "s"}
        </div>
        <RequestList rows={onceRows} testid="once-requests" />
      </section>
    </div>
  );
}

/** One side's title, route and task counter. */
function SideHead({ label, route, testid, count }) {
  return (
    <header className="side-head">
      <div>
        <span className="side-label">{label}</span>
        <code className="side-route">POST {route}</code>
      </div>
      <div className="counter">
        <b data-testid={testid}>{count}</b>
        <span>tasks created</span>
      </div>
    </header>
  );
}

// The live oncefetch event stream: client.on(e => …).
import { useSyncExternalStore } from "react";
import { eventStore } from "./client.js";
import { KeyChip } from "./ui.jsx";

const DESCRIBE = {
  check: "looked the action up",
  miss: "no key yet: minted one",
  hit: "found the action's key",
  store: "wrote the key ahead of sending",
  coalesced: "joined the request in flight",
  retry: "retrying with the same key",
  settled: "final answer",
  released: "key released",
  conflict: "same action, new payload: new key",
  "storage-fallback": "storage failed: using memory",
};

export function EventStream() {
  const events = useSyncExternalStore(eventStore.subscribe, eventStore.get);
  const shown = events.slice(-80).reverse();
  return (
    <section className="card events" aria-label="oncefetch events">
      <header className="card-head events-head">
        <span className="kicker">client.on(event =&gt; …)</span>
        <h3>What oncefetch did</h3>
        <span className="muted events-count">{events.length} events</span>
      </header>
      {shown.length === 0 ? (
        <p className="empty">Events appear here as oncefetch checks, stores, coalesces, retries and settles.</p>
      ) : (
        <div className="events-scroll">
          <table className="events-table" data-testid="event-log">
            <thead>
              <tr>
                <th>+ms</th>
                <th>event</th>
                <th>action</th>
                <th>key</th>
                <th>attempt</th>
                <th>status</th>
                <th>delay</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {shown.map((e) => (
                <tr key={e.id} data-type={e.type}>
                  <td className="num">{e.t}</td>
                  <td>
                    <span className={`ev ev-${e.type}`}>{e.type}</span>
                  </td>
                  <td className="ev-action" title={e.action}>
                    {e.action || e.reason || ""}
                  </td>
                  <td>{e.key ? <KeyChip value={e.key} /> : null}</td>
                  <td className="num">{e.attempt || ""}</td>
                  <td className="num">{e.status || ""}</td>
                  <td className="num">{e.delayMs ? `${e.delayMs} ms` : ""}</td>
                  <td className="muted">{DESCRIBE[e.type] ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

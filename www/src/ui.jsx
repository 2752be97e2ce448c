// Small presentational pieces shared by the panels.

/** A stable colour per key, so the same key is visibly the same wherever it appears. */
function hue(text) {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) % 360;
  return h;
}

/** An idempotency key, cut to 8 characters like oncefetch's own events and logs. */
export function KeyChip({ value }) {
  if (!value) return <span className="key key-none">no key</span>;
  const short = value.slice(0, 8);
  return (
    <span className="key" style={{ "--key-hue": hue(short) }} title={value} data-key={short}>
      {short}
    </span>
  );
}

/** An HTTP status (0 = the connection dropped), coloured by class. */
export function StatusBadge({ status, error }) {
  if (error) return <span className="status status-err" title={error}>network error</span>;
  if (status === null || status === undefined) return <span className="status status-wait">…</span>;
  if (status === 0) return <span className="status status-err">dropped</span>;
  const cls = status < 300 ? "status-ok" : status < 500 ? "status-warn" : "status-err";
  return <span className={`status ${cls}`}>{status}</span>;
}

export function Card({ title, kicker, children, className = "", ...rest }) {
  return (
    <section className={`card ${className}`} {...rest}>
      {(title || kicker) && (
        <header className="card-head">
          {kicker && <span className="kicker">{kicker}</span>}
          {title && <h3>{title}</h3>}
        </header>
      )}
      {children}
    </section>
  );
}

/** Per-card server truth: tasks this card created on each route. */
export function TaskTally({ log, kind, testid }) {
  const count = (list) => list.filter((t) => t.body.includes(`"kind":"${kind}"`)).length;
  return (
    <div className="tally" data-testid={testid}>
      <span className="tally-side plain">
        plain fetch <b data-testid={`${testid}-plain`}>{count(log.tasks.plain)}</b>
      </span>
      <span className="tally-side once">
        oncefetch <b data-testid={`${testid}-once`}>{count(log.tasks.idem)}</b>
      </span>
      <span className="tally-note">tasks on the server</span>
    </div>
  );
}

import { useEffect, useState } from "react";
import { Scenarios } from "./Scenarios.jsx";
import { Compare } from "./Compare.jsx";
import { StrictMountCard, InvoiceCard, ImportCard } from "./Cards.jsx";
import { EventStream } from "./EventStream.jsx";

const SNIPPET = `import { createClient } from "oncefetch";

const client = createClient({ scope: "user-42" });

const res = await client.fetch("/api/idem/tasks", {
  method: "POST",
  body: JSON.stringify({ title }),
  action: \`create-task:\${draftId}\`,
});
client.info(res); // { key, attempts, coalesced, replayed, … }`;

export function App() {
  // Reset remounts the cards, so their hooks start again from "idle".
  const [round, setRound] = useState(0);
  useEffect(() => {
    window.ready = true; // tests/e2e/demo.test.mjs waits for this
  }, []);
  return (
    <div className="page">
      <nav className="topbar">
        <span className="logo">
          <span className="logo-mark">1</span> oncefetch
        </span>
        <span className="topbar-badges">
          <span className="badge" data-testid="react-build" data-dev={String(import.meta.env.DEV)}>
            React 19 · StrictMode{import.meta.env.DEV ? " · dev build" : ""}
          </span>
          <span className="badge">Rust → WebAssembly</span>
          <span className="badge badge-live">reference server · live</span>
        </span>
      </nav>

      <header className="hero">
        <div className="hero-text">
          <h1>
            One click. <span className="accent">One task.</span>
          </h1>
          <p className="lead">
            Strict Mode runs your effects twice, users double-click, networks drop and pages reload. <b>oncefetch</b> is a drop-in{" "}
            <code>fetch</code> that gives every logical action one <code>Idempotency-Key</code>, joins identical calls in flight,
            writes the key to localStorage before sending, and retries with the same key — so the server does the work once.
          </p>
          <code className="install">npm install oncefetch</code>
        </div>
        <pre className="snippet" aria-label="usage">
          <code>{SNIPPET}</code>
        </pre>
      </header>

      <Scenarios onReset={() => setRound((r) => r + 1)} />
      <Compare />
      <EventStream />

      <h2 className="section-title">In a React app</h2>
      <div className="cards" key={round}>
        <StrictMountCard />
        <InvoiceCard />
        <ImportCard />
      </div>

      <section className="how">
        <h2>How it stays at one</h2>
        <ol className="how-list">
          <li>
            <b>One key per action.</b> A UUID v4 from the browser's CSPRNG, sent as <code>Idempotency-Key</code> on every try of
            that action, never with another payload.
          </li>
          <li>
            <b>Identical calls share one request.</b> A double click or a double effect joins the request in flight; each caller
            gets its own <code>Response</code>.
          </li>
          <li>
            <b>Write-ahead.</b> The key is in localStorage before the request leaves, so a reload or a crash resends the same key and
            the server answers with the task it already made.
          </li>
          <li>
            <b>Retries that servers understand.</b> Dropped connections, 503, 409 “in progress” and <code>Retry-After</code> are
            retried with the same key; 422 and other 4xx release it.
          </li>
        </ol>
      </section>
      <footer className="foot">
        oncefetch demo · the server is <code>server/reference.mjs</code>, an IETF-draft idempotent backend with fault injection
      </footer>
    </div>
  );
}

import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { OnceFetchProvider } from "oncefetch/react";
import { client } from "./client.js";
import { resumeAfterReload } from "./demo.js";
import { App } from "./App.jsx";
import "./styles.css";

// oncefetch retries with the same key; a second retry layer on top would only add requests.
const queryClient = new QueryClient({ defaultOptions: { mutations: { retry: false } } });

// Once per page load, outside React: an effect would run twice under Strict Mode.
resumeAfterReload();

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <OnceFetchProvider client={client}>
        <App />
      </OnceFetchProvider>
    </QueryClientProvider>
  </StrictMode>,
);

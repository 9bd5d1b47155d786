// The Warden admin page: one ES module, no framework, no inline script or style (the page is
// served with a strict Content-Security-Policy and Trusted Types). Every value from the server is
// put into the page as text (textContent), never as HTML.
//
// The token: pasted by the user, kept in this tab's sessionStorage (gone when the tab closes) and
// sent only as an Authorization header by fetch. It is never a cookie, so the browser never sends
// it on its own (no cross-site request forgery), and no other site's page can read it.

const TOKEN_KEY = "warden.admin.token";
const MAX_ROWS = 200;

/** @type {{ token: string, stream: AbortController | null, testing: string | null }} */
const state = { token: sessionStorage.getItem(TOKEN_KEY) ?? "", stream: null, testing: null };

const $ = (id) => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el;
};

/** An element with text children or elements. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const c of children) el.append(c instanceof Node ? c : String(c ?? ""));
  return el;
}

function showError(id, message) {
  const el = $(id);
  el.textContent = message ?? "";
  el.hidden = !message;
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Call the admin API with the token; JSON in and out (FormData sent as multipart). */
async function api(method, path, body) {
  const headers = {};
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers, body: payload, cache: "no-store" });
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { error: text };
    }
  }
  if (!res.ok) {
    const why = data?.message ?? data?.error ?? res.statusText;
    if (res.status === 401) throw new ApiError(401, `401: ${why} (paste the admin token above)`);
    throw new ApiError(
      res.status,
      `${res.status}: ${typeof why === "string" ? why : JSON.stringify(why)}`,
    );
  }
  return data;
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} is not valid JSON: ${e.message}`);
  }
}

const bytes = (n) => {
  if (typeof n !== "number") return "default";
  if (n >= 1048576 && n % 1048576 === 0) return `${n / 1048576} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
};

function ago(iso) {
  if (!iso) return "never";
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return String(iso);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

const fill = (tbody, rows) => tbody.replaceChildren(...rows);
const empty = (cols, text) => h("tr", {}, h("td", { colspan: String(cols), class: "muted" }, text));

// ---- token ------------------------------------------------------------------------------------

function showToken() {
  $("token-state").textContent = state.token ? "token set (this tab only)" : "no token";
}

function setToken(token) {
  state.token = token;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  showToken();
  refreshAll();
}

// ---- plugins ----------------------------------------------------------------------------------

async function loadPlugins() {
  const tbody = $("plugins-table").tBodies[0];
  try {
    const data = await api("GET", "/v1/wasm/plugins");
    showError("plugins-error", "");
    const plugins = data?.plugins ?? [];
    if (plugins.length === 0) return fill(tbody, [empty(8, "no plugins registered")]);
    fill(tbody, plugins.map(pluginRow));
  } catch (e) {
    fill(tbody, []);
    showError("plugins-error", e.message);
  }
}

function pluginRow(p) {
  const status = p.enabled
    ? h("span", { class: "badge ok" }, "Enabled")
    : h("span", { class: "badge off" }, "Disabled");
  const toggle = async () => {
    try {
      await api("PATCH", `/v1/wasm/plugins/${encodeURIComponent(p.name)}`, { enabled: !p.enabled });
      await loadPlugins();
    } catch (e) {
      showError("plugins-error", e.message);
    }
  };
  const remove = async () => {
    if (!confirm(`Delete the plugin ${p.name}? Rules naming it will fail by their on_error.`))
      return;
    try {
      await api("DELETE", `/v1/wasm/plugins/${encodeURIComponent(p.name)}`);
      await loadPlugins();
    } catch (e) {
      showError("plugins-error", e.message);
    }
  };
  return h(
    "tr",
    { "data-plugin": p.name },
    h("td", {}, p.name),
    h("td", {}, p.description ?? ""),
    h("td", {}, status),
    h("td", { class: "num" }, p.invocation_count ?? 0),
    h("td", { title: p.last_invoked_at ?? "" }, ago(p.last_invoked_at)),
    h("td", { class: "num" }, bytes(p.memory_limit_bytes)),
    h("td", { class: "num" }, p.timeout_ms === undefined ? "default" : `${p.timeout_ms} ms`),
    h(
      "td",
      { class: "actions" },
      h("button", { type: "button", onclick: () => openTest(p.name) }, "Test"),
      h("button", { type: "button", onclick: toggle }, p.enabled ? "Disable" : "Enable"),
      h("button", { type: "button", class: "danger", onclick: remove }, "Delete"),
    ),
  );
}

async function register(ev) {
  ev.preventDefault();
  const form = ev.target;
  const fd = new FormData();
  const v = (n) => form.elements[n].value.trim();
  fd.append("name", v("name"));
  if (v("description")) fd.append("description", v("description"));
  if (v("memory_limit_bytes")) fd.append("memory_limit_bytes", v("memory_limit_bytes"));
  if (v("timeout_ms")) fd.append("timeout_ms", v("timeout_ms"));
  fd.append("enabled", form.elements.enabled.checked ? "true" : "false");
  const file = form.elements.wasm_file.files[0];
  if (file) fd.append("wasm_file", file, file.name);
  try {
    await api("POST", "/v1/wasm/plugins", fd);
    showError("plugins-error", "");
    form.reset();
    $("register").open = false;
    await loadPlugins();
  } catch (e) {
    showError("plugins-error", e.message);
  }
}

const SAMPLE_INPUT = {
  namespace: "test",
  tenant: "test",
  provider: "test",
  action_type: "test",
  payload: { key: "value" },
  metadata: {},
};

function openTest(name) {
  state.testing = name;
  const form = $("test-form");
  $("test-name").textContent = name;
  if (!form.elements.input.value) form.elements.input.value = JSON.stringify(SAMPLE_INPUT, null, 2);
  form.hidden = false;
  $("test-result").hidden = true;
  form.elements.input.focus();
}

async function runTest(ev) {
  ev.preventDefault();
  const form = ev.target;
  try {
    const input = parseJson(form.elements.input.value, "The test input");
    const fn = form.elements.function.value.trim() || "evaluate";
    const r = await api("POST", `/v1/wasm/plugins/${encodeURIComponent(state.testing)}/test`, {
      function: fn,
      input,
    });
    showError("plugins-error", "");
    $("test-verdict").textContent = String(r.verdict);
    $("test-verdict").className = r.verdict ? "ok" : "bad";
    $("test-message").textContent = r.message ?? "";
    $("test-duration").textContent = `${r.duration_us} µs`;
    $("test-metadata").textContent = JSON.stringify(r.metadata ?? {}, null, 2);
    $("test-result").hidden = false;
    await loadPlugins();
  } catch (e) {
    showError("plugins-error", e.message);
  }
}

// ---- rules playground -------------------------------------------------------------------------

async function playground(ev) {
  ev.preventDefault();
  const box = $("playground-result");
  try {
    const action = parseJson(ev.target.elements.action.value, "The action");
    const rules = ev.target.elements.rules.value;
    const r = await api(
      "POST",
      "/v1/rules/playground",
      rules.trim() ? { rules, action } : { action },
    );
    showError("playground-error", "");
    $("playground-verdict").textContent = r?.action
      ? `Decided: ${r.action} by ${r.rule} (${r.where}): ${r.reason ?? ""}`
      : `No rule decided: ${r?.reason ?? "the policy's allow stands"}`;
    const trace = Array.isArray(r?.trace) ? r.trace : [];
    fill(
      $("playground-trace").tBodies[0],
      trace.length === 0
        ? [empty(4, "no rules evaluated")]
        : trace.map((t) => {
            const details = {};
            for (const k of ["conditions", "cel", "wasm_details", "error"])
              if (t[k] !== undefined) details[k] = t[k];
            return h(
              "tr",
              { "data-rule": t.rule_name ?? "" },
              h(
                "td",
                { title: t.where ?? "" },
                t.rule_name ?? "",
                h("br"),
                h("small", {}, t.where ?? ""),
              ),
              h("td", { class: t.result === "matched" ? "bad" : "" }, t.result ?? ""),
              h("td", {}, t.action ?? ""),
              h("td", {}, h("pre", {}, JSON.stringify(details, null, 2))),
            );
          }),
    );
    box.hidden = false;
  } catch (e) {
    box.hidden = true;
    showError("playground-error", e.message);
  }
}

// ---- policy -----------------------------------------------------------------------------------

async function loadPolicy() {
  try {
    const p = await api("GET", "/v1/policy");
    showError("policy-error", "");
    $("policy-source").textContent = p?.file ? `From ${p.file}` : "";
    const text = p?.text ?? p?.source ?? p?.policy;
    $("policy-text").textContent =
      typeof text === "string" ? text : JSON.stringify(text ?? p, null, 2);
  } catch (e) {
    $("policy-text").textContent = "";
    showError("policy-error", e.message);
  }
}

async function explain(ev) {
  ev.preventDefault();
  try {
    const action = parseJson(ev.target.elements.action.value, "The action");
    const r = await api("POST", "/v1/policy/explain", { action });
    showError("policy-error", "");
    const d = r?.effect ?? r?.verdict ?? r?.decision ?? "";
    $("explain-verdict").textContent =
      `Decision: ${typeof d === "string" ? d : JSON.stringify(d)}` +
      `${r?.rule ? ` by ${r.rule}` : ""}${r?.reason ? `: ${r.reason}` : ""}`;
    $("explain-text").textContent = JSON.stringify(r, null, 2);
    $("explain-result").hidden = false;
  } catch (e) {
    showError("policy-error", e.message);
  }
}

// ---- guards and pins --------------------------------------------------------------------------

async function loadPins() {
  const tbody = $("pins-table").tBodies[0];
  try {
    const { pins, problems = [], store, key, truncated } = await api("GET", "/v1/gateway/pins");
    // values in the store that are not pins (planted, corrupted): each names its key and field
    showError("pins-error", problems.map((p) => p.message).join("\n"));
    const where = $("pins-store");
    where.textContent =
      store === "redis"
        ? `Kept in Redis (key ${key}), shared by every gateway on it${truncated ? "; only the first pins are listed" : ""}.`
        : "";
    where.hidden = store !== "redis";
    if (pins.length === 0) return fill(tbody, [empty(7, "nothing pinned yet")]);
    // changes waiting for a person first
    const sorted = [...pins].sort(
      (a, b) => Number(b.pending !== null) - Number(a.pending !== null),
    );
    fill(tbody, sorted.map(pinRow));
  } catch (e) {
    fill(tbody, []);
    showError("pins-error", e.message);
  }
}

function pinRow(p) {
  const approve = async (ev) => {
    ev.target.disabled = true;
    try {
      await api("POST", "/v1/gateway/pins/approve", {
        upstream: p.upstream,
        tool: p.tool,
        hash: p.pending.hash,
      });
    } catch (e) {
      showError("pins-error", e.message);
    }
    await loadPins();
  };
  const short = (hash) => h("code", { title: hash }, hash.slice(0, 19));
  return h(
    "tr",
    { "data-pin": `${p.upstream}/${p.tool}` },
    h("td", {}, p.upstream),
    h("td", {}, p.tool),
    h(
      "td",
      {},
      p.pending
        ? h("span", { class: "badge warn" }, "changed: calls denied")
        : h("span", { class: "badge ok" }, "pinned"),
    ),
    h("td", { title: p.pinnedAt }, short(p.hash), " ", ago(p.pinnedAt)),
    h("td", {}, p.approvedBy ?? ""),
    h(
      "td",
      {},
      p.pending ? h("span", {}, short(p.pending.hash), " seen ", ago(p.pending.seenAt)) : "",
    ),
    h(
      "td",
      {},
      p.pending ? h("button", { type: "button", onclick: approve }, "Approve change") : "",
    ),
  );
}

// ---- upstreams --------------------------------------------------------------------------------

async function loadUpstreams() {
  const tbody = $("upstreams-table").tBodies[0];
  try {
    const { upstreams, readiness } = await api("GET", "/v1/gateway/upstreams");
    showError("upstreams-error", "");
    $("readiness").textContent = readiness.ready
      ? "Ready: every upstream can serve."
      : `Not ready: ${readiness.notReady.map((n) => `${n.upstream} (${n.state}: ${n.reason})`).join(", ")}`;
    $("readiness").className = readiness.ready ? "ok" : "bad";
    fill(
      tbody,
      upstreams.map((u) =>
        h(
          "tr",
          { "data-upstream": u.name },
          h("td", {}, u.name),
          h("td", {}, u.transport),
          h("td", {}, u.sessions),
          h("td", {}, h("span", { class: `badge state-${u.state}` }, u.state)),
          h("td", {}, (u.pids ?? []).join(", ")),
          h("td", { class: "num" }, u.restarts),
          h("td", { class: "num" }, u.sessionsUsing),
          h("td", { title: u.lastError?.at ?? "" }, u.lastError?.message ?? ""),
        ),
      ),
    );
  } catch (e) {
    fill(tbody, []);
    $("readiness").textContent = "";
    showError("upstreams-error", e.message);
  }
}

// ---- live decisions ---------------------------------------------------------------------------

function decisionRow(r) {
  return h(
    "tr",
    { class: r.decision === "deny" ? "deny" : "", "data-call": r.call_id ?? "" },
    h("td", { title: r.time }, (r.time ?? "").slice(11, 23)),
    h("td", {}, r.phase ?? ""),
    h("td", {}, h("span", { class: `badge ${r.decision === "deny" ? "bad" : "ok"}` }, r.decision)),
    h("td", {}, r.caller ?? ""),
    h("td", {}, r.upstream ?? ""),
    h("td", {}, r.method ?? ""),
    h("td", {}, r.name ?? ""),
    h("td", {}, r.rule ?? ""),
    h("td", {}, r.reason ?? r.outcome ?? ""),
  );
}

function addDecision(r) {
  const tbody = $("decisions-table").tBodies[0];
  tbody.prepend(decisionRow(r));
  while (tbody.rows.length > MAX_ROWS) tbody.deleteRow(-1);
}

function stopStream() {
  state.stream?.abort();
  state.stream = null;
  $("stream-state").textContent = "stopped";
}

/** Follow /v1/gateway/decisions/stream (server-sent events, read by fetch to send the token). */
async function follow(ev) {
  ev?.preventDefault();
  stopStream();
  const form = $("decisions-form");
  const q = new URLSearchParams();
  for (const n of ["decision", "tool", "caller"]) {
    const v = form.elements[n].value.trim();
    if (v) q.set(n, v);
  }
  const ctl = new AbortController();
  state.stream = ctl;
  $("decisions-table").tBodies[0].replaceChildren();
  showError("decisions-error", "");
  try {
    const headers = { accept: "text/event-stream" };
    if (state.token) headers.authorization = `Bearer ${state.token}`;
    const res = await fetch(`/v1/gateway/decisions/stream?${q}`, {
      headers,
      signal: ctl.signal,
      cache: "no-store",
    });
    if (!res.ok) {
      let why = res.statusText;
      try {
        const d = await res.json();
        why = d.message ?? d.error ?? why;
      } catch {}
      throw new ApiError(res.status, `${res.status}: ${why}`);
    }
    $("stream-state").textContent = "following";
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let end = buf.indexOf("\n\n");
      while (end >= 0) {
        const event = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const data = event
          .split("\n")
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trimStart())
          .join("\n");
        if (data) addDecision(JSON.parse(data));
        end = buf.indexOf("\n\n");
      }
    }
    if (state.stream === ctl) {
      state.stream = null;
      $("stream-state").textContent = "ended";
    }
  } catch (e) {
    if (e.name === "AbortError") return;
    if (state.stream === ctl) state.stream = null;
    $("stream-state").textContent = "stopped";
    showError("decisions-error", e.message);
  }
}

// ---- start ------------------------------------------------------------------------------------

function refreshAll() {
  loadPlugins();
  loadPolicy();
  loadPins();
  loadUpstreams();
  follow();
}

function start() {
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("token");
    setToken(input.value.trim());
    input.value = "";
  });
  $("token-forget").addEventListener("click", () => setToken(""));
  $("plugins-refresh").addEventListener("click", loadPlugins);
  $("register-form").addEventListener("submit", register);
  $("test-form").addEventListener("submit", runTest);
  $("test-close").addEventListener("click", () => {
    $("test-form").hidden = true;
    $("test-result").hidden = true;
  });
  $("playground-form").addEventListener("submit", playground);
  $("playground-form").elements.action.value = JSON.stringify(
    { ...SAMPLE_INPUT, action_type: "tools/call" },
    null,
    2,
  );
  $("explain-form").elements.action.value = JSON.stringify(
    { kind: "tool.call", name: "calculator/add", arguments: { a: 1, b: 2 } },
    null,
    2,
  );
  $("policy-refresh").addEventListener("click", loadPolicy);
  $("explain-form").addEventListener("submit", explain);
  $("pins-refresh").addEventListener("click", loadPins);
  $("upstreams-refresh").addEventListener("click", loadUpstreams);
  $("decisions-form").addEventListener("submit", follow);
  $("decisions-stop").addEventListener("click", stopStream);
  showToken();
  refreshAll();
}

start();

// The admin page in a real Chromium (Debian's, through playwright-core) against a real admin
// listener (createAdminServer with the page's routes) and a real gateway with real fixture
// upstreams: the page without the token shows nothing; with it, a plugin built from source is
// registered by upload, tested (result panel), disabled, enabled and deleted; a call made by a
// real SDK client appears live among the decisions, and a denied one under the deny filter; a
// rug_pull change is approved and the tool is served again; the CSP header is there and Chromium
// reports no CSP violation.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pageRoutes } from "../../src/admin/page/routes.js";
import { Gateway, loadGatewayConfig } from "../../src/index.js";
import { httpClient, stdioUpstream, writeGatewayFiles } from "../mcp/helpers.js";
import { type Running, spamPlugin, startAdmin, tempDir } from "./helpers.js";
import {
  consoleOf,
  cspViolations,
  launchChromium,
  SKIP_BROWSER,
  screenshot,
} from "./page-browser.js";

const TOKEN = "page-test-token-0123456789";
const XSS = `<img src=x onerror="document.title='pwned'">`;
const STALE = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

describe.skipIf(SKIP_BROWSER)("the admin page in Chromium", () => {
  let dir: string;
  let gw: Gateway;
  let admin: Running;
  let client: Client;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let seen: string[];
  let wasmFile: string;
  const dialogs: string[] = [];

  beforeAll(async () => {
    dir = tempDir("warden-page-");
    // rug_pull pinned b's echo at another version: what b serves now is a change to approve
    mkdirSync(join(dir, "state"));
    writeFileSync(
      join(dir, "state", "pins.json"),
      JSON.stringify({
        version: 1,
        servers: {
          b: { echo: { hash: STALE, description: "old", seen_at: "2026-01-01T00:00:00.000Z" } },
        },
      }),
    );
    const cfg = writeGatewayFiles(
      dir,
      `listen: { http: { port: 0 } }\nstate: { dir: ./state }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n${stdioUpstream("a")}${stdioUpstream("b")}    sessions: shared\nsecurity_guards:\n  - id: rp\n    type: rug_pull\n`,
    );
    // the plugin: built from its WebAssembly text source (test/admin/helpers.ts) by wabt
    wasmFile = join(dir, "spam-check.wasm");
    writeFileSync(wasmFile, await spamPlugin());
    const [started, chromium] = await Promise.all([
      Gateway.start({ config: loadGatewayConfig(cfg), watch: false, log: () => {} }),
      launchChromium(),
    ]);
    gw = started;
    browser = chromium;
    admin = await startAdmin({
      views: gw.views(),
      tokens: [{ name: "ops", secret: TOKEN }],
      extraRoutes: pageRoutes,
    });
    client = await httpClient(`http://127.0.0.1:${gw.address!.port}/mcp`);
    // rug_pull judges b's tools as the client lists them: b's echo becomes a pending change
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain("b__echo");
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    seen = consoleOf(page);
    page.on("dialog", (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.accept();
    });
  });

  afterAll(async () => {
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await client?.close().catch(() => {});
    await admin?.close();
    await gw?.stop();
  });

  const row = (attr: string, value: string) => page.locator(`tr[${attr}="${value}"]`);

  it("serves the page with a strict CSP; without the token it shows nothing and the API answers 401", async () => {
    const res = await page.goto(`${admin.url}/`);
    expect(res!.status()).toBe(200);
    const h = res!.headers();
    expect(h["content-security-policy"]).toContain("default-src 'self'");
    expect(h["content-security-policy"]).toContain("script-src 'self'");
    expect(h["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(h["content-security-policy"]).not.toContain("unsafe-inline");
    expect(h["x-frame-options"]).toBe("DENY");
    expect(h["referrer-policy"]).toBe("no-referrer");
    expect(h["x-content-type-options"]).toBe("nosniff");
    expect(h["set-cookie"]).toBeUndefined();

    await expect.poll(() => page.locator("#plugins-error").textContent()).toMatch(/401/);
    await expect.poll(() => page.locator("#pins-error").textContent()).toMatch(/401/);
    await expect.poll(() => page.locator("#decisions-error").textContent()).toMatch(/401/);
    expect(await page.locator("#pins-table tbody tr").count()).toBe(0);
    expect(await page.locator("#upstreams-table tbody tr").count()).toBe(0);
    expect(await page.locator("#decisions-table tbody tr").count()).toBe(0);

    // the API itself: no pins, no upstreams, no decisions, no plugins without the token
    for (const path of [
      "/v1/gateway/pins",
      "/v1/gateway/upstreams",
      "/v1/gateway/decisions",
      "/v1/gateway/decisions/stream",
      "/v1/wasm/plugins",
      "/v1/policy",
    ]) {
      const r = await fetch(`${admin.url}${path}`);
      const text = await r.text();
      expect(r.status, path).toBe(401);
      expect(text).not.toMatch(/echo|sha256|a__|upstream/);
    }
    const approve = await fetch(`${admin.url}/v1/gateway/pins/approve`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ upstream: "b", tool: "echo", hash: STALE }),
    });
    expect(approve.status).toBe(401);
    expect(cspViolations(seen)).toEqual([]);
  });

  it("with the token pasted: upstream health, the pins, the policy in force", async () => {
    await page.fill("#token", TOKEN);
    await page.click("#token-form button[type=submit]");
    await expect.poll(() => page.locator("#token-state").textContent()).toMatch(/token set/);
    // the token is not a cookie
    expect(await context.cookies()).toEqual([]);
    await expect.poll(() => row("data-upstream", "b").textContent()).toMatch(/stdio.*shared.*up/);
    expect(await row("data-upstream", "a").textContent()).toMatch(/per_session/);
    expect(await page.locator("#readiness").textContent()).toMatch(/Ready/);
    await expect.poll(() => row("data-pin", "b/echo").textContent()).toMatch(/changed/);
    expect(await page.locator("#plugins-table tbody").textContent()).toMatch(/no plugins/);
    await expect.poll(() => page.locator("#policy-source").textContent()).toMatch(/\.yaml/);
  });

  it("registers a plugin by upload, tests it and shows the result panel", async () => {
    await page.click("#register summary");
    await page.fill("#register-form [name=name]", "spam-check");
    // markup in a description is shown as text, never run (the page builds no HTML from data)
    await page.fill("#register-form [name=description]", `Blocks spam actions ${XSS}`);
    await page.setInputFiles("#register-form [name=wasm_file]", wasmFile);
    await page.click("#register-form button[type=submit]");
    const r = row("data-plugin", "spam-check");
    await expect.poll(() => r.textContent()).toMatch(/Blocks spam actions/);
    const cells = await r.locator("td").allTextContents();
    expect(cells.slice(0, 7)).toEqual([
      "spam-check",
      `Blocks spam actions ${XSS}`,
      "Enabled",
      "0",
      "never",
      "16 MiB",
      "100 ms",
    ]);
    // registered for real: the registry has it
    expect(admin.registry.size).toBe(1);

    await r.getByRole("button", { name: "Test" }).click();
    await page.fill(
      "#test-form [name=input]",
      JSON.stringify({
        namespace: "n",
        tenant: "t",
        provider: "p",
        action_type: "spam",
        payload: {},
        metadata: {},
      }),
    );
    await page.click("#test-form button[type=submit]");
    await expect.poll(() => page.locator("#test-verdict").textContent()).toBe("false");
    expect(await page.locator("#test-message").textContent()).toBe("spam actions are blocked");
    expect(await page.locator("#test-duration").textContent()).toMatch(/^\d+(\.\d+)? µs$/);

    await page.fill(
      "#test-form [name=input]",
      JSON.stringify({ namespace: "n", tenant: "t", provider: "p", action_type: "ok" }),
    );
    await page.click("#test-form button[type=submit]");
    await expect.poll(() => page.locator("#test-verdict").textContent()).toBe("true");
    expect(await page.locator("#test-message").textContent()).toBe("ok");
    expect(JSON.parse((await page.locator("#test-metadata").textContent())!)).toEqual({
      score: 1,
    });
    await expect.poll(() => r.locator("td").nth(3).textContent()).toBe("2");
    await screenshot(page, "admin-plugins", "#plugins");
  });

  it("runs the rules playground with a rule calling the plugin, and explains an action", async () => {
    await page.fill(
      "#playground-form [name=rules]",
      [
        "rules:",
        "  - name: no-spam",
        "    priority: 10",
        "    source: wasm_plugin",
        "    wasm_plugin: spam-check",
        "    action: deny",
        "",
      ].join("\n"),
    );
    await page.fill(
      "#playground-form [name=action]",
      JSON.stringify({ tenant: "t", provider: "p", action_type: "ok", payload: {} }),
    );
    await page.click("#playground-form button[type=submit]");
    const rule = row("data-rule", "no-spam");
    await expect.poll(() => rule.textContent()).toMatch(/no-spam/);
    const cells = await rule.locator("td").allTextContents();
    expect(cells[1]).toMatch(/^(matched|not_matched)$/);
    expect(cells[2]).toBe("deny");
    expect(JSON.parse(cells[3]!).wasm_details[0]).toMatchObject({
      plugin: "spam-check",
      function: "evaluate",
      verdict: true,
    });
    expect(await page.locator("#playground-verdict").textContent()).toMatch(/deny|No rule/);
    await screenshot(page, "admin-playground", "#playground", 700);

    await page.click("#explain-form button[type=submit]");
    await expect
      .poll(() => page.locator("#explain-verdict").textContent())
      .toMatch(/^Decision: allow by .*mcp-gateway\.yaml:\d+/);
    expect(await page.locator("#explain-text").textContent()).toMatch(/"revision"/);
  });

  it("disables and enables the plugin", async () => {
    const r = row("data-plugin", "spam-check");
    await r.getByRole("button", { name: "Disable" }).click();
    await expect.poll(() => r.locator("td").nth(2).textContent()).toBe("Disabled");
    await r.getByRole("button", { name: "Enable" }).click();
    await expect.poll(() => r.locator("td").nth(2).textContent()).toBe("Enabled");
  });

  it("shows a call made through the gateway live, and a denied one under the deny filter", async () => {
    await expect.poll(() => page.locator("#stream-state").textContent()).toBe("following");
    await client.callTool({ name: "a__echo", arguments: { text: "hello" } });
    await expect
      .poll(() => page.locator("#decisions-table tbody").textContent())
      .toMatch(/a__echo/);
    const first = page.locator("#decisions-table tbody tr", { hasText: "a__echo" }).first();
    expect(await first.textContent()).toMatch(/allow.*anonymous.*a.*tools\/call.*a__echo/);

    await page.selectOption("#decisions-form [name=decision]", "deny");
    await page.click("#decisions-form button[type=submit]");
    await expect.poll(() => page.locator("#stream-state").textContent()).toBe("following");
    await client.callTool({ name: "a__stats", arguments: {} }).catch(() => {});
    await client.callTool({ name: XSS, arguments: {} }).catch(() => {});
    await expect
      .poll(() => page.locator("#decisions-table tbody").textContent())
      .toMatch(/a__stats/);
    // a tool name with markup is denied, and shown as text
    await expect.poll(() => page.locator("#decisions-table tbody").textContent()).toContain(XSS);
    expect(await page.locator("#decisions-table img, #plugins-table img").count()).toBe(0);
    expect(await page.title()).toBe("Warden admin");
    const rows = await page.locator("#decisions-table tbody tr").allTextContents();
    expect(rows.length).toBeGreaterThan(0);
    for (const t of rows) expect(t).toMatch(/deny/);
    expect(rows.join("\n")).not.toMatch(/a__echo/);
    expect(
      await page
        .locator("#decisions-table tbody tr", { hasText: "a__stats" })
        .first()
        .textContent(),
    ).toMatch(/policy\.yaml:\d+/);
    await page.selectOption("#decisions-form [name=decision]", "");
    await page.click("#decisions-form button[type=submit]");
    await screenshot(page, "admin-decisions", "#decisions", 600);
  });

  it("approves a rug_pull change: the tool is served and answers again", async () => {
    const listed = async () => (await client.listTools()).tools.map((t) => t.name);
    expect(await listed()).not.toContain("b__echo");
    await page.click("#pins-refresh");
    const pin = row("data-pin", "b/echo");
    await expect.poll(() => pin.textContent()).toMatch(/changed: calls denied/);
    await screenshot(page, "admin-pins", "#guards", 420);
    await pin.getByRole("button", { name: "Approve change" }).click();
    await expect.poll(() => pin.textContent()).toMatch(/pinned/);
    expect(await pin.textContent()).toMatch(/ops \(admin page\)/);
    expect(await pin.getByRole("button").count()).toBe(0);
    await expect.poll(listed, { timeout: 10_000 }).toContain("b__echo");
    const r = await client.callTool({ name: "b__echo", arguments: { text: "back" } });
    expect(r.content).toEqual([{ type: "text", text: "back" }]);
  });

  it("deletes the plugin; Chromium reported no CSP violation on the whole visit", async () => {
    await screenshot(page, "admin-page");
    const r = row("data-plugin", "spam-check");
    await r.getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => r.count()).toBe(0);
    expect(admin.registry.size).toBe(0);
    // the only dialog was Delete's confirmation (no script of anyone else's ran: no alert)
    expect(dialogs).toEqual([expect.stringMatching(/^confirm: Delete the plugin spam-check\?/)]);
    expect(cspViolations(seen)).toEqual([]);
    // the only errors are the 401s of the visit before the token was pasted
    expect(seen.filter((s) => !/401/.test(s))).toEqual([]);
    // and the check sees a violation when there is one: an inline style planted in another tab
    const other = await context.newPage();
    const planted = consoleOf(other);
    await other.goto(`${admin.url}/`);
    // (run in the page: a string, since the test's TypeScript has no DOM types)
    const applied = await other.evaluate(`(() => {
      const s = document.createElement("style");
      s.textContent = "body { color: rgb(1, 2, 3) }";
      document.head.append(s);
      return getComputedStyle(document.body).color;
    })()`);
    expect(applied).not.toBe("rgb(1, 2, 3)");
    await expect.poll(() => cspViolations(planted).length).toBeGreaterThan(0);
    await other.close();
  });
});

/**
 * The admin page's browser harness: Debian's Chromium (/usr/bin/chromium, installed by
 * .ci/apt-deps) driven by playwright-core, never a browser download. Without Chromium the tests
 * FAIL, in CI always; locally they may be skipped, loudly, with WARDEN_SKIP_BROWSER_TESTS=1.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.WARDEN_CHROMIUM ?? "/usr/bin/chromium";
const missing = !existsSync(CHROMIUM);

/** Skip only when asked, never in CI, and say so loudly. */
export const SKIP_BROWSER =
  missing && process.env.WARDEN_SKIP_BROWSER_TESTS === "1" && process.env.CI === undefined;
if (SKIP_BROWSER)
  process.stderr.write(
    `\n!!! SKIPPING the admin page's browser tests: no Chromium at ${CHROMIUM} and WARDEN_SKIP_BROWSER_TESTS=1.\n!!! Install it (apt-get install chromium, as .ci/apt-deps does) to run them; CI always runs them.\n\n`,
  );

/** Start headless Chromium as the machine allows (root: no sandbox; no background traffic). */
export async function launchChromium(): Promise<Browser> {
  if (missing)
    throw new Error(
      `The admin page's browser tests need Chromium at ${CHROMIUM} (Debian's chromium package: apt-get install chromium, as .ci/apt-deps does in CI; or set WARDEN_CHROMIUM to its path). To skip them locally, set WARDEN_SKIP_BROWSER_TESTS=1.`,
    );
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

/** Console messages and page errors of a page, to assert none is a CSP violation. */
export function consoleOf(page: Page): string[] {
  const seen: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") seen.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => seen.push(`pageerror: ${e.message}`));
  return seen;
}

/** CSP violations among console messages (Chromium reports each as "Refused to ..."). */
export const cspViolations = (seen: readonly string[]) =>
  seen.filter((s) => /Content Security Policy|Refused to|Trusted Type/i.test(s));

/** When WARDEN_PAGE_SCREENSHOTS names a folder (scripts/admin-screenshots.mjs), save one there. */
export async function screenshot(
  page: Page,
  name: string,
  selector?: string,
  maxHeight = 900,
): Promise<void> {
  const dir = process.env.WARDEN_PAGE_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  if (!selector) {
    await page.evaluate("window.scrollTo(0, 0)");
    await page.screenshot({ path });
    return;
  }
  // the element's box in page coordinates (a fullPage clip is in page coordinates)
  const box = (await page.evaluate(
    `(() => { const r = document.querySelector(${JSON.stringify(selector)}).getBoundingClientRect();
      return { x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height }; })()`,
  )) as { x: number; y: number; width: number; height: number };
  await page.screenshot({
    path,
    fullPage: true,
    clip: { ...box, height: Math.min(box.height, maxHeight) },
  });
}

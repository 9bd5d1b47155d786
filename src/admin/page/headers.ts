/**
 * The headers every answer of the admin listener's page carries: a strict Content-Security-Policy
 * (only this origin's own script and style files, no inline code, Trusted Types so no string can
 * become HTML), no framing, no referrer, no sniffing. Set on the page and on its API answers.
 */

/** `default-src 'self'`, nothing inline, nothing from elsewhere, not framable. */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

export const PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy": PAGE_CSP,
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
});

/**
 * The paging shared by merged lists (session-lists.ts) and tasks/list (session-tasks.ts): a list
 * asked of several upstreams answers with one page from each, and a merged cursor (made by the
 * gateway) says where each one is for the next page.
 */
import { errorResponse, INVALID_PARAMS, type Request } from "./jsonrpc.js";
import { decodeCursor, encodeCursor, type MergedCursor } from "./naming.js";
import { type Answer, CANCELLED, type SessionParts } from "./session-core.js";
import type { UpstreamLink } from "./upstream-link.js";

type Obj = Record<string, unknown>;

/** One upstream's page of a merged list. */
export interface Page {
  link: UpstreamLink;
  answer: Answer;
}

/**
 * Ask each upstream for its next page of `req` (a paginated list) in parallel: `first` on the
 * first page; on later ones, the upstreams the client's cursor names (`byName`; one it no
 * longer has is skipped); `asking` is told before they are asked. Returns the pages and the merged cursor of the next page (when an
 * upstream has more); undefined after refusing a cursor the gateway did not make; CANCELLED
 * when a call was cancelled.
 */
export async function mergedPages(
  s: SessionParts,
  req: Request,
  p: Obj,
  first: () => readonly UpstreamLink[],
  byName: (name: string) => UpstreamLink | undefined,
  /** Called once the cursor is read, before the upstreams are asked. */
  asking: () => void = () => {},
): Promise<{ pages: Page[]; nextCursor?: string } | undefined | typeof CANCELLED> {
  let cur: MergedCursor;
  if (p.cursor !== undefined) {
    const c = decodeCursor(p.cursor);
    if (c === undefined) {
      s.audit.refuse(
        errorResponse(
          req.id,
          INVALID_PARAMS,
          `Invalid cursor for ${req.method}: pass the nextCursor of the previous page unchanged.`,
          { warden: "message_invalid" },
        ),
        req.method,
      );
      return undefined;
    }
    cur = c;
  } else {
    cur = {};
    for (const l of first()) cur[l.name] = null;
  }
  const links = Object.keys(cur)
    .map(byName)
    .filter((l): l is UpstreamLink => l !== undefined);
  asking();
  const answers = await Promise.all(
    links.map((l) => {
      const params: Obj = { ...p };
      delete params.cursor;
      const at = cur[l.name];
      if (at !== null && at !== undefined) params.cursor = at;
      return s.calls.call(l, req.method, params, req.id);
    }),
  );
  const pages: Page[] = [];
  const next: MergedCursor = {};
  for (const [i, a] of answers.entries()) {
    if (a === CANCELLED) return CANCELLED;
    const link = links[i]!;
    pages.push({ link, answer: a });
    if ("result" in a && typeof a.result.nextCursor === "string")
      next[link.name] = a.result.nextCursor;
  }
  return Object.keys(next).length > 0 ? { pages, nextCursor: encodeCursor(next) } : { pages };
}

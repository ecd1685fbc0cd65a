// How much of its arena each route's requests use, and the --arena-bytes that suggests.
// The server reports every request the app is done with (ServerOptions.onRequestDone,
// host/abi/request_done.ts); ArenaPeaks keeps the peak per route. A check build's server
// logs these figures when it closes, and `arena profile` (testing/report.ts) prints them
// as a table, so both show the same numbers by the same rule.
//
// The rule (suggestArenaBytes): one and a half times the peak, plus the response head
// reserve (RESPONSE_HEAD_BYTES_MAX) the host keeps after every arena; at least enough for
// the largest body seen to stay under the body limit the arena derives (so req.text()
// decodes it); at least ARENA_BYTES_MIN; rounded up to the next of 64, 96, 128, 192, 256,
// 384 KiB, … (the powers of two and one and a half times them, which read well as a flag).

import { ARENA_BYTES_MIN, BODY_DECODE_FACTOR, BODY_DECODE_RESERVE_BYTES, RESPONSE_HEAD_BYTES_MAX } from "../limits.ts";
import { formatBytes } from "./plan.ts";

/** One request's use of its arena, as the server reports it when the app is done with it. */
export interface RequestMemory {
  /** The request method, as sent ("GET"). */
  method: string;
  /** The route pattern that handled it ("/notes/:id"), or null when no route matched (a
   *  404 or 405 of the router, or its notFound handler). */
  route: string | null;
  /** The status the app answered; 500 when it trapped (no response), 504 when it passed
   *  its deadline. The host may still refuse to send a response (ARENA_E_RESPONSE). */
  status: number;
  /** Bytes of the slot's arena in use when the app was done: the request as the host wrote
   *  it (descriptor, header table, head, body) and everything the handler allocated. The
   *  arena never frees, so this is the request's peak; compare it with --arena-bytes. */
  arenaBytes: number;
  /** Length of the request body. */
  bodyBytes: number;
  /** When the request allocated past its arena (500 ARENA_E_MEMORY): the bytes it asked
   *  for on top of arenaBytes; 0 otherwise. */
  overflowBytes: number;
}

/** A route's figures: its requests and the most of the arena any of them used. */
export interface RoutePeak {
  /** "METHOD /pattern", or "METHOD (no route)" for requests no route matched. */
  route: string;
  requests: number;
  /** The largest arenaBytes (+ overflowBytes) of its requests. */
  peakBytes: number;
  largestBody: number;
  /** Requests that allocated past their arena: peakBytes is then a lower bound. */
  overflows: number;
  /** Statuses answered, ascending. */
  statuses: number[];
  /** The --arena-bytes this route's peak suggests (suggestArenaBytes). */
  suggestedBytes: number;
}

/** The margin on a peak: a request with a longer path, title or page than those seen. */
export const ARENA_PEAK_MARGIN = 1.5;

/** The rule stated in one line, for the report and the log. */
export const SUGGESTION_RULE = `${ARENA_PEAK_MARGIN} × peak + ${formatBytes(RESPONSE_HEAD_BYTES_MAX)} response head reserve, ` +
  `room for the largest body, at least ${formatBytes(ARENA_BYTES_MIN)}, rounded up to 64, 96, 128, 192, 256 KiB…`;

/**
 * The --arena-bytes a request peak suggests: `ARENA_PEAK_MARGIN × peakBytes` plus the
 * response head reserve; enough that a body of `largestBody` bytes is under the body limit
 * the arena derives (BODY_DECODE_FACTOR bytes per body byte + BODY_DECODE_RESERVE_BYTES);
 * at least ARENA_BYTES_MIN; rounded up to a power of two or one and a half times one.
 * `suggestArenaBytes(3000, 0)` is 65536 (64 KiB); `suggestArenaBytes(100_000, 0)` is 196608.
 */
export function suggestArenaBytes(peakBytes: number, largestBody = 0): number {
  const need = Math.max(ARENA_BYTES_MIN, Math.ceil(peakBytes * ARENA_PEAK_MARGIN) + RESPONSE_HEAD_BYTES_MAX,
    largestBody * BODY_DECODE_FACTOR + BODY_DECODE_RESERVE_BYTES + RESPONSE_HEAD_BYTES_MAX);
  for (let size = ARENA_BYTES_MIN; ; size *= 2) {
    if (size >= need) return size;
    if (size * 1.5 >= need) return size * 1.5;
  }
}

/** A size as an --arena-bytes value: `96KiB`, `1.5MiB`. */
export function sizeFlag(bytes: number): string {
  return formatBytes(bytes).replace(" ", "");
}

/** Per-route peaks of the requests reported to `add`. */
export class ArenaPeaks {
  private readonly byRoute = new Map<string, RoutePeak>();

  /** Counts one request. */
  add(r: RequestMemory): void {
    const key = `${r.method} ${r.route ?? "(no route)"}`;
    let p = this.byRoute.get(key);
    if (p === undefined) {
      p = { route: key, requests: 0, peakBytes: 0, largestBody: 0, overflows: 0, statuses: [], suggestedBytes: 0 };
      this.byRoute.set(key, p);
    }
    p.requests++;
    p.peakBytes = Math.max(p.peakBytes, r.arenaBytes + r.overflowBytes);
    p.largestBody = Math.max(p.largestBody, r.bodyBytes);
    if (r.overflowBytes > 0) p.overflows++;
    if (!p.statuses.includes(r.status)) p.statuses = [...p.statuses, r.status].sort((a, b) => a - b);
    p.suggestedBytes = suggestArenaBytes(p.peakBytes, p.largestBody);
  }

  /** Requests counted so far. */
  get requests(): number {
    let n = 0;
    for (const p of this.byRoute.values()) n += p.requests;
    return n;
  }

  /** Every route seen, in the order first seen (copies). */
  routes(): RoutePeak[] {
    return [...this.byRoute.values()].map((p) => ({ ...p, statuses: [...p.statuses] }));
  }

  /** The --arena-bytes that serves every route seen: the largest route's suggestion. */
  suggestion(): number {
    let most = suggestArenaBytes(0);
    for (const p of this.byRoute.values()) most = Math.max(most, p.suggestedBytes);
    return most;
  }

  /** The figures as a table: a header row, one row per route, and a line with the
   *  suggestion for the app (`arena profile` prints it; a check build's server logs it). */
  table(): string[] {
    const head = ["route", "requests", "statuses", "peak arena", "largest body", "suggests"];
    const rows = [...this.byRoute.values()].map((p) => [p.route, String(p.requests), p.statuses.join(","),
      `${p.overflows > 0 ? "≥ " : ""}${formatBytes(p.peakBytes)}`, formatBytes(p.largestBody), sizeFlag(p.suggestedBytes)]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    // Route and statuses read from the left, the figures line up on the right.
    const line = (r: string[]) => r.map((c, i) => (i === 0 || i === 2 || i === 5 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
    const out = [line(head), ...rows.map(line)];
    const overflowed = [...this.byRoute.values()].some((p) => p.overflows > 0);
    out.push(`--arena-bytes ${sizeFlag(this.suggestion())} serves every route above (${SUGGESTION_RULE})` +
      (overflowed ? "; ≥: a request ran past its arena, so its peak is at least that: profile again with a larger --arena-bytes" : ""));
    return out;
  }

  /** The table as log lines, "memory: …", with the arena the server runs with now
   *  (`slotBytes`); none when no request was counted. */
  lines(slotBytes: number): string[] {
    if (this.byRoute.size === 0) return [];
    return [`memory: arena peaks per route (this server runs with --arena-bytes ${sizeFlag(slotBytes)}):`,
      ...this.table().map((l) => `memory: ${l}`)];
  }
}

// The benchmark's report: what bench/run.ts measured, as the tables of bench.md, the
// targets of the benchmark issue evaluated on them, and the bar chart of bench.svg.

export interface Workload {
  id: "W1" | "W2" | "W2t" | "W2b" | "W3" | "W3b";
  path: string;
  what: string;
  contentType: string;
  body: Buffer;
  /** Only these servers serve it (W2t is Arena's own transport row). */
  servers?: string[];
  /** Shown as rows of that workload's table and bars of its panel, not a table of its own. */
  rowOf?: Workload["id"];
}

export interface Run {
  requests: number;
  seconds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: string | null;
  /** CPU time other processes used on CPUs 0 and 1 during the run, % of the two CPUs. */
  otherCpuPct: number;
  stealPct: number;
  /** otherCpuPct over the disturbed threshold: the run is repeated and left out of the medians. */
  disturbed: boolean;
}

export interface Result {
  server: string;
  workload: Workload["id"];
  /** "n/a": the server does not do this workload (nginx `return 200` does W1 only). */
  status: "measured" | "refused" | "failed" | "n/a";
  reason?: string;
  runs?: Run[];
  requests?: number;
  rps?: number;
  p50ms?: number;
  p99ms?: number;
  heapBytesPerRequest?: number | null;
  gcPer100k?: number | null;
  gcByType?: Record<string, number>;
  heapNote?: string;
  rssBeforeBytes?: number;
  rssAfterBytes?: number;
  wasmMemoryBeforeBytes?: number;
  wasmMemoryAfterBytes?: number;
  errors?: string[];
  /** The largest otherCpuPct among the runs in the medians. */
  otherCpuPct?: number;
}

export interface Target {
  what: string;
  goal: string;
  actual: string;
  met: boolean | null;
}

/** How the run was made, for the report's first line. */
export interface Settings {
  quick: boolean;
  runs: number;
  seconds: number;
  warmupSeconds: number;
  connections: number;
  /** Server names in the order of the tables and the chart. */
  servers: string[];
}

const MiB = 1024 * 1024;

export const fmtMiB = (b: number | undefined) => (b === undefined || Number.isNaN(b) ? "?" : (b / MiB).toFixed(1));
export const fmtHeap = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : v < 10 ? v.toFixed(1) : String(Math.round(v)));
export const fmtGc = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : v < 10 ? v.toFixed(2) : v.toFixed(0));
export const fmtMs = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? "?" : v < 10 ? v.toFixed(2) : v.toFixed(1));
const fmtRatio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !b ? "–" : `${(a / b).toFixed(2)}×`);

/** A server's name in the tables; Arena's W2 transport row says what it is. */
function label(r: Result, markdown: boolean): string {
  if (r.workload === "W2t") return markdown ? "Arena: W2 transport only (fetch, precomputed page)" : "transport";
  const names: Record<string, string> = {
    arena: markdown ? "**Arena**" : "Arena", bun: "Bun.serve", deno: "Deno.serve", hono: "Hono (node-server)",
    fastify: "Fastify", nginx: markdown ? "nginx `return 200`" : "nginx",
  };
  return names[r.server] ?? r.server;
}

/** The results shown in workload `w`'s table (its own and its rowOf rows), in server order,
 *  a rowOf row right after its server's; "n/a" left out. */
function tableRows(results: Result[], workloads: Workload[], w: Workload, servers: string[]): Result[] {
  const ids = [w.id, ...workloads.filter((x) => x.rowOf === w.id).map((x) => x.id)];
  const rows: Result[] = [];
  for (const s of servers) for (const id of ids) rows.push(...results.filter((r) => r.server === s && r.workload === id && r.status !== "n/a"));
  return rows;
}

export function targets(results: Result[], connections: number, w1Window: number): Target[] {
  const get = (server: string, w: string) => results.find((r) => r.server === server && r.workload === w && r.status === "measured");
  const out: Target[] = [];
  const ratio = (what: string, a: Result | undefined, b: Result | undefined, goal: number, goalText: string) => {
    out.push({
      what, goal: goalText,
      actual: a && b ? `${(a.rps! / b.rps!).toFixed(2)}×` : "not measured",
      met: a && b ? a.rps! >= goal * b.rps! : null,
    });
  };
  ratio("W1 req/s vs nginx `return 200`", get("arena", "W1"), get("nginx", "W1"), 0.95, "≥ 0.95×");
  ratio("W2 req/s vs node:http", get("arena", "W2"), get("node:http", "W2"), 2, "≥ 2×");
  ratio("W2 req/s vs Arena's W2 transport row", get("arena", "W2"), get("arena", "W2t"), 0.8, "≥ 0.80×");
  ratio("W2b req/s vs node:http", get("arena", "W2b"), get("node:http", "W2b"), 3, "≥ 3×");
  ratio("W2b req/s vs Bun.serve", get("arena", "W2b"), get("bun", "W2b"), 1, "≥ 1×");
  // The second shape: Arena at least as far ahead of node:http as on the first.
  for (const [second, first] of [["W3", "W2"], ["W3b", "W2b"]]) {
    const lead = (w: string) => (get("arena", w) && get("node:http", w) ? get("arena", w)!.rps! / get("node:http", w)!.rps! : undefined);
    const a = lead(second), b = lead(first);
    out.push({
      what: `${second} req/s vs node:http, against ${first}'s`, goal: `≥ ${first}'s ratio`,
      actual: a !== undefined && b !== undefined ? `${a.toFixed(2)}× vs ${b.toFixed(2)}×` : "not measured",
      met: a !== undefined && b !== undefined ? a >= b : null,
    });
  }
  const w1 = get("arena", "W1");
  out.push({
    what: "W1 JS heap allocated per request (Arena host)", goal: "≤ 32 B",
    actual: w1?.heapBytesPerRequest != null ? `${fmtHeap(w1.heapBytesPerRequest)} B` : "not measured",
    met: w1?.heapBytesPerRequest != null ? w1.heapBytesPerRequest <= 32 : null,
  });
  out.push({
    what: "W1 GC events per 100k requests (Arena host)", goal: "≤ 2",
    actual: w1?.gcPer100k != null ? fmtGc(w1.gcPer100k) : "not measured",
    met: w1?.gcPer100k != null ? w1.gcPer100k <= 2 : null,
  });
  // The target is over 1M requests: a shorter window (--quick) can only fail it.
  const growth = w1 ? w1.rssAfterBytes! - w1.rssBeforeBytes! : NaN;
  out.push({
    what: "W1 RSS growth over 1M requests (Arena)", goal: "≤ 1 MiB",
    actual: w1 ? `${(growth / MiB).toFixed(2)} MiB over ${w1.requests} requests` : "not measured",
    met: !w1 ? null : growth > MiB ? false : w1.requests! >= w1Window ? true : null,
  });
  for (const w of ["W1", "W2", "W2b"]) {
    const a = get("arena", w);
    const b = get("node:http", w);
    out.push({
      what: `${w} p99 latency at ${connections} connections vs node:http`, goal: "≤ node:http's",
      actual: a && b ? `${fmtMs(a.p99ms)} ms vs ${fmtMs(b.p99ms)} ms` : "not measured",
      met: a && b ? a.p99ms! <= b.p99ms! : null,
    });
  }
  return out;
}

function tableLines(results: Result[], workloads: Workload[], w: Workload, servers: string[]): string[] {
  const node = results.find((r) => r.server === "node:http" && r.workload === w.id && r.status === "measured");
  const bun = results.find((r) => r.server === "bun" && r.workload === w.id && r.status === "measured");
  const lines = ["", `### ${w.id}: ${w.what}`, ""];
  for (const x of workloads.filter((x) => x.rowOf === w.id)) lines.push(`With ${x.id} (\`${x.path}\`): ${x.what}.`, "");
  lines.push("| server | req/s (median) | vs node:http | vs Bun.serve | p50 ms | p99 ms | JS heap B/req | GC /100k req | RSS before → after (MiB) | requests | other CPU |");
  lines.push("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
  for (const r of tableRows(results, workloads, w, servers)) {
    if (r.status !== "measured") {
      lines.push(`| ${label(r, true)} | ${r.status === "refused" ? "refused: body differs" : "failed"} | | | | | | | | | |`);
      continue;
    }
    const wasm = r.wasmMemoryBeforeBytes !== undefined ? `; wasm ${fmtMiB(r.wasmMemoryBeforeBytes)} → ${fmtMiB(r.wasmMemoryAfterBytes)}` : "";
    lines.push(`| ${label(r, true)} | ${Math.round(r.rps!)} | ${fmtRatio(r.rps, node?.rps)} | ${fmtRatio(r.rps, bun?.rps)} | ${fmtMs(r.p50ms)} | ${fmtMs(r.p99ms)} | ` +
      `${fmtHeap(r.heapBytesPerRequest)} | ${fmtGc(r.gcPer100k)} | ${fmtMiB(r.rssBeforeBytes)} → ${fmtMiB(r.rssAfterBytes)}${wasm} | ${r.requests} | ${r.otherCpuPct!.toFixed(1)}% |`);
  }
  return lines;
}

export function markdown(results: Result[], machine: Record<string, string>, tgt: Target[], workloads: Workload[], method: string, s: Settings): string {
  const lines: string[] = [];
  lines.push(`Run ${machine.date}${s.quick ? " (**--quick** smoke run: not for quoting)" : ""}: ${s.runs} × ${s.seconds} s per workload after a ${s.warmupSeconds} s warm-up, ` +
    `\`wrk -t1 -c${s.connections}\` on CPU 1, each server and the upstream on CPU 0.`);
  lines.push("");
  lines.push(`Machine: ${machine.cpu}, ${machine.cores} cores, Linux ${machine.kernel}, ${machine.memory}. ` +
    `Node ${machine.node}, Bun ${machine.bun}, Deno ${machine.deno}, ${machine.nginx}, ${machine.wrk}; ` +
    `fastify ${machine.fastify}, hono ${machine.hono}, @hono/node-server ${machine.honoNodeServer}, assemblyscript ${machine.assemblyscript}; ` +
    `Arena at ${machine.arenaCommit}. Load average (1/5/15 min) before ${machine.loadBefore}, after ${machine.loadAfter} ` +
    "(the benchmark itself keeps about 2 CPUs busy; a high load before means something else was running).");
  for (const w of workloads.filter((x) => x.rowOf === undefined)) lines.push(...tableLines(results, workloads, w, s.servers));
  const problems = results.filter((r) => (r.status !== "measured" && r.status !== "n/a") || (r.errors && r.errors.length > 0));
  if (problems.length > 0) {
    lines.push("", "Problems:", "");
    for (const r of problems) lines.push(`- ${r.server} ${r.workload}: ${r.status !== "measured" ? `${r.status}: ${r.reason}` : r.errors!.join("; ")}`);
  }
  const notes = [...new Set(results.filter((r) => r.heapNote).map((r) => `${r.server}: ${r.heapNote}`))];
  for (const server of new Set(results.filter((r) => r.status === "n/a").map((r) => r.server))) {
    const skipped = results.filter((r) => r.server === server && r.status === "n/a");
    notes.push(`${server} on ${skipped.map((r) => r.workload).join(", ")}: ${skipped[0].reason}`);
  }
  if (notes.length > 0) lines.push("", `n/a: ${notes.join("; ")}.`);
  lines.push("", "### Targets (Arena, from the benchmark issue)", "");
  lines.push("| target | goal | this run | |", "|---|---|---|---|");
  for (const t of tgt) lines.push(`| ${t.what} | ${t.goal} | ${t.actual} | ${t.met === null ? "not decided" : t.met ? "met" : "**not met**"} |`);
  lines.push("", method);
  return lines.join("\n") + "\n";
}

const COLORS: Record<string, string> = {
  arena: "#2f5bd3", "node:http": "#5fa04e", fastify: "#8a8a8a", hono: "#e36002", bun: "#c9a227", deno: "#222222", nginx: "#7b3fa0",
};

/** One panel per workload table (each with its own scale) of req/s bars per row. */
export function svgChart(results: Result[], workloads: Workload[], title: string, servers: string[]): string {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const panels = workloads.filter((w) => w.rowOf === undefined);
  const panelW = 340, panelH = 260, top = 60, left = 20, barGap = 8;
  const width = left * 2 + panelW * panels.length, height = top + panelH + 70;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="11">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${esc(title)}</text>`);
  parts.push(`<text x="${width / 2}" y="40" text-anchor="middle" fill="#555">requests per second (median), higher is better; each panel has its own scale</text>`);
  panels.forEach((w, i) => {
    const x0 = left + i * panelW + 20;
    const innerW = panelW - 40;
    const rows = tableRows(results, workloads, w, servers);
    const max = Math.max(1, ...rows.map((r) => (r.status === "measured" ? r.rps! : 0)));
    const barW = (innerW - barGap * Math.max(0, rows.length - 1)) / Math.max(1, rows.length);
    const baseY = top + panelH - 30;
    const scale = (panelH - 60) / max;
    parts.push(`<text x="${x0 + innerW / 2}" y="${top + 4}" text-anchor="middle" font-size="13" font-weight="600">${esc(w.id)}</text>`);
    parts.push(`<line x1="${x0}" y1="${baseY}" x2="${x0 + innerW}" y2="${baseY}" stroke="#999"/>`);
    rows.forEach((r, j) => {
      const x = x0 + j * (barW + barGap);
      if (r.status === "measured") {
        const h = r.rps! * scale;
        const fill = COLORS[r.server] ?? "#777";
        // The transport row is a limit, not a server: drawn as an outline in Arena's colour.
        const style = r.workload === w.id ? `fill="${fill}"` : `fill="#fff" stroke="${fill}" stroke-width="2" stroke-dasharray="4 2"`;
        parts.push(`<rect x="${x.toFixed(1)}" y="${(baseY - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" ${style}/>`);
        const text = r.rps! >= 10_000 ? `${(r.rps! / 1000).toFixed(0)}k` : r.rps! >= 1000 ? `${(r.rps! / 1000).toFixed(1)}k` : String(Math.round(r.rps!));
        parts.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(baseY - h - 4).toFixed(1)}" text-anchor="middle">${text}</text>`);
      } else {
        parts.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${baseY - 4}" text-anchor="middle" fill="#b42318">${r.status}</text>`);
      }
      const name = label(r, false).replace(/\.serve$/, "").replace(/ \(node-server\)$/, "");
      parts.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${baseY + 14}" text-anchor="middle" fill="#333" font-size="10">${esc(name)}</text>`);
    });
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

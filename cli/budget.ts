// `arena budget [app.wasm] [serve options] [--format text|k8s|json]`: the
// memory a configuration of `arena serve` needs, before anything runs, and the Kubernetes
// memory request and limit that follow from it. The wasm memories are fixed at start
// (host/memory/plan.ts), so the only figures not computed from the options are Node's own,
// which are measured (NODE_PROCESS_BYTES, NODE_WORKER_BYTES in host/limits.ts).
//
//   request = Node + workers × (slots × arena + startup + heap) + shared region + device region
//   limit   = request + one worker's wasm memory (a reload) + every connection's buffers
//
// computeBudget is pure (argv, env and the core count in, figures out): the tests and the
// manifest's check (tests/deploy.test.ts) call it; budgetCommand prints it.

import os from "node:os";
import {
  ArenaError, CONNECTION_BYTES_MAX, ENV_NAMES, formatBytes, NODE_PROCESS_BYTES, NODE_WORKER_BYTES, planMemory, resolveServeConfig, type MemoryPlan,
} from "../host/index.ts";
import { parseArgs } from "./args.ts";

const FORMATS = ["text", "k8s", "json"] as const;
type Format = typeof FORMATS[number];

const MiB = 1024 * 1024;

export interface Budget {
  workers: number;
  /** One worker's wasm memory plan: slots × arena + startup + heap, fixed. */
  plan: MemoryPlan;
  /** Open connections at most, per worker (each worker's server has its own limit). */
  connections: number;
  workersBytes: number;
  sharedBytes: number;
  /** The device region's bound (--device-bytes): static files and app buffers outside the
   *  wasm memories, one for all workers. Allocated as used, counted at its bound. */
  deviceBytes: number;
  /** Node itself: the process, and each worker thread when there are workers. */
  runtimeBytes: number;
  /** A reload holds one worker's old and new app at once: one more wasm memory. */
  reloadBytes: number;
  /** What open connections can add at most: every one with both its buffers lent. */
  connectionsBytes: number;
  /** Steady state: Node, the workers' wasm memories, the shared and device regions. */
  requestBytes: number;
  /** Worst case: the steady state, a reload in progress and every connection busy. */
  limitBytes: number;
}

/** The figures for `argv` (every option of `arena serve`, and --format) and `env`, with
 *  `cores` as the default worker count; an app file among them is allowed and not read.
 *  Options that change no figure (--port, --admin-port…) are checked all the same, so the
 *  command line of `arena serve` can be given as it is. Throws one ArenaError for a bad input. */
export function computeBudget(argv: string[], env: NodeJS.ProcessEnv, cores = os.availableParallelism()): Budget & { format: Format } {
  const { format = "text", ...flags } = parseFlags(argv);
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new ArenaError("ARENA_E_USAGE", `--format: '${format}' is not a format`, `use one of ${FORMATS.join(", ")}`);
  }
  // The default worker count is the cores of the machine that serves, given here so a test
  // or a manifest check does not depend on the machine it runs on.
  const workersUnset = flags.workers === undefined && !env[ENV_NAMES.workers];
  const config = resolveServeConfig(workersUnset ? { ...flags, workers: String(cores) } : flags, env);
  const plan = planMemory(config.slots, config.slotBytes, config.startupBytes, config.heapBytes);
  const { workers, sharedBytes, deviceBytes } = config;
  const workersBytes = workers * plan.totalBytes;
  // One worker runs in the main thread; more are threads beside a primary that runs no app,
  // counted as a whole serve process (an upper bound: it has no app memory or requests).
  const runtimeBytes = NODE_PROCESS_BYTES + (workers > 1 ? workers * NODE_WORKER_BYTES : 0);
  const connectionsBytes = workers * config.connections * CONNECTION_BYTES_MAX;
  const requestBytes = runtimeBytes + workersBytes + sharedBytes + deviceBytes;
  const reloadBytes = plan.totalBytes;
  const limitBytes = requestBytes + reloadBytes + connectionsBytes;
  return {
    workers, plan, connections: config.connections, workersBytes, sharedBytes, deviceBytes, runtimeBytes, reloadBytes, connectionsBytes,
    requestBytes, limitBytes, format: format as Format,
  };
}

/** A Kubernetes memory quantity: whole MiB, rounded up (`512Mi`). */
export function kubernetesQuantity(bytes: number): string {
  return `${Math.ceil(bytes / MiB)}Mi`;
}

/** The `resources:` block of a container spec, indented by `indent` spaces. */
export function resourcesSnippet(b: Budget, indent = 0): string {
  const pad = " ".repeat(indent);
  return [
    "resources:", "  requests:", `    memory: ${kubernetesQuantity(b.requestBytes)}`, "  limits:", `    memory: ${kubernetesQuantity(b.limitBytes)}`,
  ].map((line) => pad + line).join("\n");
}

/** The figures as a table a person reads, then the resources block. */
export function budgetText(b: Budget): string {
  const p = b.plan;
  const n = (x: number) => x.toLocaleString("en-US");
  const each = `${n(p.slots)} slots × ${formatBytes(p.slotBytes)} + ${formatBytes(p.startupBytes)} startup + ${formatBytes(p.heapBytes)} heap`;
  const node = b.workers > 1 ? `process ${formatBytes(NODE_PROCESS_BYTES)} + ${b.workers} worker threads × ${formatBytes(NODE_WORKER_BYTES)} (measured)`
    : "one process, the app in its main thread (measured)";
  const rows: [string, number, string][] = [
    ["per worker, fixed wasm memory", p.totalBytes, each],
    [`× ${b.workers} worker${b.workers === 1 ? "" : "s"}`, b.workersBytes, ""],
    ["shared region", b.sharedBytes, "one for all workers"],
    ["device region, at most", b.deviceBytes, "static files and Device buffers, one for all workers (--device-bytes)"],
    ["Node runtime", b.runtimeBytes, node],
    ["steady state", b.requestBytes, "→ memory request"],
    ["reload headroom", b.reloadBytes, "one worker holds its old and new app while the old drains"],
    ["connections, at most", b.connectionsBytes, `${b.workers} × ${n(b.connections)} × ${formatBytes(CONNECTION_BYTES_MAX)} (both buffers of every connection lent)`],
    ["worst case", b.limitBytes, "→ memory limit"],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  const sizes = rows.map((r) => formatBytes(r[1]));
  const sizeWidth = Math.max(...sizes.map((s) => s.length));
  const lines = rows.map((r, i) => `  ${r[0].padEnd(width)}  ${sizes[i].padStart(sizeWidth)}${r[2] ? `  ${r[2]}` : ""}`.trimEnd());
  return `arena budget: ${b.workers} worker${b.workers === 1 ? "" : "s"}, ${n(b.connections)} connections each\n${lines.join("\n")}\n\n${resourcesSnippet(b)}`;
}

/** The figures as JSON, bytes and the two quantities, for scripts. */
function budgetJson(b: Budget): string {
  const { plan, ...rest } = b;
  return JSON.stringify({
    ...rest, perWorkerBytes: plan.totalBytes, slots: plan.slots, slotBytes: plan.slotBytes, startupBytes: plan.startupBytes,
    heapBytes: plan.heapBytes, request: kubernetesQuantity(b.requestBytes), limit: kubernetesQuantity(b.limitBytes),
  }, null, 2);
}

/** The serve options and --format (name → value); one positional argument (the app file)
 *  is allowed and ignored. */
function parseFlags(argv: string[]): Record<string, string> {
  const parsed = parseArgs(argv, new Set([...Object.keys(ENV_NAMES), "format"]), new Set());
  if (parsed.positional.length > 1) {
    throw new ArenaError("ARENA_E_USAGE", `unexpected argument '${parsed.positional[1]}'`, "budget takes at most the app file and serve options");
  }
  return parsed.flags;
}

interface Output {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/** `arena budget …`: prints the figures (or the resources block, or JSON); 0, or 1 with
 *  one `arena: CODE: …` line for a bad input. */
export async function budgetCommand(argv: string[], out: Output = process, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    const b = computeBudget(argv, env);
    const text = b.format === "k8s" ? resourcesSnippet(b) : b.format === "json" ? budgetJson(b) : budgetText(b);
    out.stdout.write(`${text}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof ArenaError)) throw err;
    out.stderr.write(`${err.line()}\n`);
    return 1;
  }
}

if (import.meta.main) process.exitCode = await budgetCommand(process.argv.slice(2));

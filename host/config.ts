// Server configuration from flags and environment: flags win over env, env over the
// defaults in limits.ts. Every bad value is refused with one line that says what to use.

import fs from "node:fs";
import os from "node:os";
import { checkCaPem } from "./effects/fetch/tls.ts";
import { LOG_LEVELS } from "./log.ts";
import type { ServerOptions } from "./options.ts";
import { ArenaError } from "./errors.ts";
import {
  ARENA_BYTES_DEFAULT, COMPRESS_MIN_BYTES_DEFAULT, CONNECTIONS_MAX_DEFAULT, CPU_BUDGET_MS_DEFAULT, HOST_DEFAULT, PORT_DEFAULT, QUEUE_DEPTH_DEFAULT,
  REQUEST_DEADLINE_MS_DEFAULT, SLOTS_DEFAULT, STARTUP_BYTES_DEFAULT, HEAP_BYTES_DEFAULT, SHARED_BYTES_DEFAULT, WORKERS_MAX,
  DEVICE_BYTES_DEFAULT, DEVICE_BYTES_MAX,
} from "./limits.ts";

export interface ServeConfig {
  port: number;
  host: string;
  slots: number;
  /** Memory per request (--arena-bytes): the whole slot, its arena and the response head
   *  reserve (MemoryPlan.arenaBytes is the arena alone). */
  slotBytes: number;
  startupBytes: number;
  heapBytes: number;
  /** The region every worker shares (counters, key-value store), 0 for none. */
  sharedBytes: number;
  /** The device region's bound: static files and app buffers, outside the wasm memory. */
  deviceBytes: number;
  /** The folder of --static, loaded into the device region at start, or null. */
  staticDir: string | null;
  queueDepth: number;
  bodyBytes: number | undefined;
  /** Lowest level of the app's log lines that is printed (LOG_DEBUG … LOG_ERROR). */
  logLevel: number;
  /** CPU ms one request may use. */
  cpuMs: number;
  /** Open connections at most. */
  connections: number;
  /** Wall-clock ms one request may take. */
  deadlineMs: number;
  /** Worker threads, each with its own memory (1: the server in the main thread). */
  workers: number;
  /** The admin listener (metrics, health, reload), or null for none. */
  adminPort: number | null;
  adminHost: string;
  /** Where access log lines go ("-": stdout), or null for none. */
  accessLog: string | null;
  /** gzip / brotli for text-like responses the client accepts compressed (--compress). */
  compress: boolean;
  /** Smallest response body compressed (--compress-min-bytes). */
  compressMinBytes: number;
  /** PEM text of the authorities https upstreams may be signed by besides Node's and the
   *  system's (--fetch-ca: the file, read once at start-up), "" for none. */
  fetchCaPem: string;
}

/** Flag name → environment variable, for the settings both can set. */
export const ENV_NAMES: Record<string, string> = {
  port: "PORT",
  host: "HOST",
  slots: "ARENA_SLOTS",
  "arena-bytes": "ARENA_BYTES",
  "startup-bytes": "ARENA_STARTUP_BYTES",
  "heap-bytes": "ARENA_HEAP_BYTES",
  "shared-bytes": "ARENA_SHARED_BYTES",
  "device-bytes": "ARENA_DEVICE_BYTES",
  static: "ARENA_STATIC",
  queue: "ARENA_QUEUE",
  "body-bytes": "ARENA_BODY_BYTES",
  "log-level": "ARENA_LOG_LEVEL",
  "cpu-ms": "ARENA_CPU_MS",
  connections: "ARENA_CONNECTIONS",
  "deadline-ms": "ARENA_DEADLINE_MS",
  workers: "ARENA_WORKERS",
  "admin-port": "ARENA_ADMIN_PORT",
  "admin-host": "ARENA_ADMIN_HOST",
  "access-log": "ARENA_ACCESS_LOG",
  compress: "ARENA_COMPRESS",
  "compress-min-bytes": "ARENA_COMPRESS_MIN_BYTES",
  "fetch-ca": "ARENA_FETCH_CA",
};

const UNITS: Record<string, number> = {
  "": 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
};

/** Parses "1MiB", "512k", "4 MiB", "1048576" (binary units: 1 MiB = 1048576 bytes). */
export function parseSize(what: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new ArenaError("ARENA_E_CONFIG", `${what}: '${text}' is not a size`, "use e.g. 1MiB, 512KiB or 1048576");
  }
  const n = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n)) throw new ArenaError("ARENA_E_CONFIG", `${what}: '${text}' is too large`);
  return n;
}

/** Parses a whole number within [min, max]. */
export function parseWhole(what: string, text: string, min: number, max: number): number {
  if (!/^\s*\d+\s*$/.test(text)) {
    throw new ArenaError("ARENA_E_CONFIG", `${what}: '${text}' is not a whole number`, `use a number from ${min} to ${max}`);
  }
  const n = Number(text);
  if (n < min || n > max) throw new ArenaError("ARENA_E_CONFIG", `${what}: ${n} is out of range`, `use a number from ${min} to ${max}`);
  return n;
}

/** An on/off setting (`on`, `off`), `def` when unset. */
function onOff(v: [string, string] | null, def: boolean): boolean {
  if (v === null) return def;
  const t = v[1].trim().toLowerCase();
  if (t === "on") return true;
  if (t === "off") return false;
  throw new ArenaError("ARENA_E_CONFIG", `${v[0]}: '${v[1]}' is neither on nor off`, "use on or off");
}

/** The server options a serve configuration stands for (`arena serve` and the benchmark's
 *  Arena peer both start servers this way). */
export function serverOptions(config: ServeConfig): ServerOptions {
  return {
    slots: config.slots,
    slotBytes: config.slotBytes,
    startupBytes: config.startupBytes,
    heapBytes: config.heapBytes,
    queueDepth: config.queueDepth,
    bodyBytesMax: config.bodyBytes,
    logLevel: config.logLevel,
    cpuBudgetMs: config.cpuMs,
    connectionsMax: config.connections,
    deadlineMs: config.deadlineMs,
    compress: config.compress,
    compressMinBytes: config.compressMinBytes,
    fetch: config.fetchCaPem === "" ? undefined : { caPem: config.fetchCaPem },
  };
}

/** The PEM file of --fetch-ca, read and checked once at start-up. */
function readFetchCa(v: [string, string] | null): string {
  if (v === null) return "";
  let text: string;
  try {
    text = fs.readFileSync(v[1], "utf8");
  } catch (err) {
    throw new ArenaError("ARENA_E_CONFIG", `${v[0]}: cannot read ${v[1]} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, "give the path of a PEM file of CA certificates");
  }
  const bad = checkCaPem(text);
  if (bad !== null) throw new ArenaError("ARENA_E_CONFIG", `${v[0]}: ${v[1]} ${bad}`, "give the path of a PEM file of CA certificates");
  return text;
}

/** The folder of --static / ARENA_STATIC, or null; an empty one is a mistake, not "none". */
function staticDir(v: [string, string] | null): string | null {
  if (v === null) return null;
  if (v[1] === "") throw new ArenaError("ARENA_E_CONFIG", `${v[0]} is empty`, "give the folder of static files, e.g. --static public, or leave it out");
  return v[1];
}

/** The device region's bound: --device-bytes, at most DEVICE_BYTES_MAX. */
function deviceBytes(v: [string, string] | null): number {
  if (v === null) return DEVICE_BYTES_DEFAULT;
  const n = parseSize(v[0], v[1]);
  if (n > DEVICE_BYTES_MAX) throw new ArenaError("ARENA_E_CONFIG", `${v[0]}: ${v[1]} is over DEVICE_BYTES_MAX (64 GiB)`, "use a smaller size");
  return n;
}

/** Resolves the serve configuration from parsed `flags` (name → value) and `env`. */
export function resolveServeConfig(flags: Record<string, string>, env: NodeJS.ProcessEnv): ServeConfig {
  const get = (name: string): [string, string] | null => {
    if (flags[name] !== undefined) return [`--${name}`, flags[name]];
    const envName = ENV_NAMES[name];
    const v = env[envName];
    if (v !== undefined && v !== "") return [envName, v];
    return null;
  };
  const whole = (name: string, def: number, min: number, max: number) => {
    const v = get(name);
    return v === null ? def : parseWhole(v[0], v[1], min, max);
  };
  const size = (name: string, def: number | undefined) => {
    const v = get(name);
    return v === null ? def : parseSize(v[0], v[1]);
  };
  const host = get("host");
  const level = get("log-level");
  const logLevel = level === null ? LOG_LEVELS.indexOf("info") : LOG_LEVELS.indexOf(level[1].toLowerCase() as typeof LOG_LEVELS[number]);
  if (logLevel < 0) {
    throw new ArenaError("ARENA_E_CONFIG", `${level![0]}: '${level![1]}' is not a log level`, `use one of ${LOG_LEVELS.join(", ")}`);
  }
  return {
    port: whole("port", PORT_DEFAULT, 0, 65535),
    host: host === null ? HOST_DEFAULT : host[1],
    slots: whole("slots", SLOTS_DEFAULT, 0, 1_000_000),
    slotBytes: size("arena-bytes", ARENA_BYTES_DEFAULT)!,
    startupBytes: size("startup-bytes", STARTUP_BYTES_DEFAULT)!,
    heapBytes: size("heap-bytes", HEAP_BYTES_DEFAULT)!,
    sharedBytes: size("shared-bytes", SHARED_BYTES_DEFAULT)!,
    deviceBytes: deviceBytes(get("device-bytes")),
    staticDir: staticDir(get("static")),
    queueDepth: whole("queue", QUEUE_DEPTH_DEFAULT, 0, 1_000_000),
    bodyBytes: size("body-bytes", undefined),
    logLevel,
    cpuMs: whole("cpu-ms", CPU_BUDGET_MS_DEFAULT, 1, 3_600_000),
    connections: whole("connections", CONNECTIONS_MAX_DEFAULT, 1, 1_000_000),
    deadlineMs: whole("deadline-ms", REQUEST_DEADLINE_MS_DEFAULT, 1, 3_600_000),
    workers: whole("workers", Math.min(os.availableParallelism(), WORKERS_MAX), 1, WORKERS_MAX),
    adminPort: get("admin-port") === null ? null : whole("admin-port", 0, 0, 65535),
    adminHost: get("admin-host")?.[1] ?? HOST_DEFAULT,
    accessLog: get("access-log")?.[1] ?? null,
    compress: onOff(get("compress"), true),
    compressMinBytes: size("compress-min-bytes", COMPRESS_MIN_BYTES_DEFAULT)!,
    fetchCaPem: readFetchCa(get("fetch-ca")),
  };
}

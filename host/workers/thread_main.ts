// A worker thread's entry: runs one WorkerHost (worker_host.ts) from the primary's
// workerData and relays messages. Log lines name the worker; an exception that escapes
// ends the thread, and the primary logs ARENA_E_WORKER and starts another.

import { parentPort, workerData } from "node:worker_threads";
import { consoleLogger, type Logger } from "../log.ts";
import type { FromWorker, ToWorker, WorkerStart } from "./protocol.ts";
import { WorkerHost } from "./worker_host.ts";

const start = workerData as WorkerStart;
const port = parentPort!;
const tag = `worker ${start.index}: `;

/** consoleLogger with the worker named on lifecycle and error lines. */
const log: Logger = {
  info: (message) => consoleLogger.info(tag + message),
  error: (code, message) => consoleLogger.error(code, tag + message),
  app: (level, t, message) => consoleLogger.app(level, t, message),
  record: (level, req, message, fields) => consoleLogger.record(level, req, message, fields),
};

const host = new WorkerHost(start, log, (m: FromWorker) => port.postMessage(m));
port.on("message", (m: ToWorker) => {
  host.handle(m).catch((err: unknown) => {
    throw err;
  });
});
await host.run();

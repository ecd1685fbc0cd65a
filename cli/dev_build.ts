// The build worker of `arena dev` (cli/dev.ts): compiles the app on a worker thread, so the
// dev server keeps answering while the compiler runs, and the compiler stays loaded between
// rebuilds (the first build pays for loading it, the next ones do not). One message in,
// { source, out, check }; one message out, { ok, ms, messages }: the compiler's messages
// as it writes them, and on failure the one-line reason.

import { Writable } from "node:stream";
import { parentPort } from "node:worker_threads";
import { build } from "./build.ts";

export interface DevBuildRequest {
  source: string;
  out: string;
  check: boolean;
}

export interface DevBuildResult {
  ok: boolean;
  ms: number;
  /** What the compiler wrote (its diagnostics), then, when the build failed, the reason. */
  messages: string;
}

async function run(req: DevBuildRequest): Promise<DevBuildResult> {
  let messages = "";
  const stderr = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      messages += chunk.toString();
      done();
    },
  });
  const t0 = performance.now();
  try {
    await build(req.source, { out: req.out, check: req.check, stderr });
    return { ok: true, ms: performance.now() - t0, messages };
  } catch (err) {
    const e = err as Error & { line?: () => string };
    // A message the compiler already wrote is not repeated: only the ArenaError's line.
    const reason = typeof e.line === "function" ? e.line() : `arena: internal error: ${e.message}`;
    return { ok: false, ms: performance.now() - t0, messages: messages + reason + "\n" };
  }
}

parentPort?.on("message", (req: DevBuildRequest) => {
  run(req).then((result) => parentPort!.postMessage(result));
});

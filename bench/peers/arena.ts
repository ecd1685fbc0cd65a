// Arena peer: the bench app (bench/apps/bench.wasm) served by ArenaServer from host/server.ts,
// configured as `arena serve` configures it (resolveServeConfig and serverOptions: no flags,
// the environment, the defaults), plus a hook through which
// bench/probe.ts reports the wasm memory size. PORT and BENCH_UPSTREAM_URL (read by the app at start) come from the harness.
//
//   node --import ./bench/probe.ts bench/peers/arena.ts bench/apps/bench.wasm

import fs from "node:fs";
import { ArenaServer, consoleLogger, resolveServeConfig, serverOptions } from "../../host/index.ts";

const file = process.argv[2];
const port = Number(process.env.PORT ?? 3100);
const config = resolveServeConfig({}, process.env);
const server = await ArenaServer.create(fs.readFileSync(file), file, { ...serverOptions(config), log: consoleLogger });
(globalThis as { benchProbeExtra?: () => Record<string, number> }).benchProbeExtra = () => {
  const s = server.stats();
  return { wasmMemoryBytes: s.memoryBytes, arenaRequests: s.requests };
};
await server.listen(port, "127.0.0.1");
process.stdout.write(`listening ${port} (${server.budget()})\n`);

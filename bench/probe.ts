// Heap and GC probe, preloaded into the Node-based servers (Arena's host included) with
// `node --import ./bench/probe.ts server.ts`. The harness talks to it over the IPC channel:
//
//   {probe: "start"}  → v8.GCProfiler starts; used heap noted      → {probe: "started", …}
//   {probe: "stop"}   → profiler stops; used heap noted            → {probe: "report", …}
//
// Bytes allocated on the JS heap between the two messages ≈ Σ over GCs of (used before this
// GC − used after the previous GC, or at start for the first) + (used at stop − used after
// the last GC). It counts what was allocated in the young and old generations (large objects
// included); it does not count off-heap memory (Buffers' backing stores, wasm memory).

import v8 from "node:v8";

type Extra = () => Record<string, number>;

function extra(): Record<string, number> {
  const f = (globalThis as { benchProbeExtra?: Extra }).benchProbeExtra;
  return f ? f() : {};
}

if (typeof process.send === "function") {
  let profiler: v8.GCProfiler | null = null;
  let startUsed = 0;
  process.on("message", (m: { probe?: string }) => {
    if (m?.probe === "start") {
      profiler = new v8.GCProfiler();
      startUsed = v8.getHeapStatistics().used_heap_size;
      profiler.start();
      process.send!({ probe: "started", rssBytes: process.memoryUsage.rss(), extra: extra() });
    } else if (m?.probe === "stop" && profiler !== null) {
      const result = profiler.stop();
      const endUsed = v8.getHeapStatistics().used_heap_size;
      profiler = null;
      let allocated = 0;
      let previousAfter = startUsed;
      const byType: Record<string, number> = {};
      for (const gc of result.statistics) {
        allocated += Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - previousAfter);
        previousAfter = gc.afterGC.heapStatistics.usedHeapSize;
        byType[gc.gcType] = (byType[gc.gcType] ?? 0) + 1;
      }
      allocated += Math.max(0, endUsed - previousAfter);
      process.send!({
        probe: "report", allocatedBytes: allocated, gcCount: result.statistics.length, gcByType: byType,
        heapUsedBytes: endUsed, rssBytes: process.memoryUsage.rss(), extra: extra(),
      });
    }
  });
  process.channel?.unref();
}

// `arena/testing`: test an Arena app from node:test. startApp builds the app (a check build,
// cached by content) or loads its .wasm, serves it on 127.0.0.1 at a free port and sends it
// requests; each response says how much of its arena the request used, and
// memoryReport() gives each route's peak with the --arena-bytes it suggests, the figures
// `arena profile` prints (profileCommand).
//
//   import { it, after } from "node:test";
//   import assert from "node:assert/strict";
//   import { startApp } from "arena/testing";
//
//   const app = await startApp("app.ts");
//   after(() => app.close());
//   it("creates a note", async () => {
//     const res = await app.request("POST", "/api/notes", { headers: { "content-type": "application/json" }, body: '{"title":"a"}' });
//     assert.equal(res.status, 201);
//     assert.equal(res.headers.get("location"), `/api/notes/${res.json().id}`);
//   });

export { startApp, TestResponse, TEST_REQUEST_HEADER, type MemoryReport, type RequestOptions, type StartOptions, type TestApp } from "./app.ts";
export { profileCommand, readRequests, type ProfileOutput, type ProfileRequest } from "./report.ts";
export { suggestArenaBytes, type RoutePeak } from "../host/index.ts";

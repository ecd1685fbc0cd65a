// The app's single registration point. Top-level code runs once at start (in the startup
// region), builds a Router and hands it to `serve`; the host then calls `arena_handle`
// (sdk/exports.ts) for every request. An app whose start-up code never calls `serve` is
// refused at start (`arena_served` in sdk/exports.ts), not served with a 500 per request.

import { Router } from "./router";

let registered: Router | null = null;

/**
 * Makes `router` the app's request handler. Call it once, at the top level of the app:
 *
 * ```ts
 * const app = new Router();
 * app.get("/", (req: Request): Response => Response.text("Hello\n"));
 * serve(app);
 * ```
 */
export function serve(router: Router): void {
  registered = router;
}

/** The registered router, or null before `serve` ran. */
export function registeredRouter(): Router | null {
  return registered;
}

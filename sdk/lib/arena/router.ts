// Routes requests to handlers by method and path pattern. Routes are registered at start,
// so the route table lives in the startup region; matching a request allocates only the
// path segments and captured parameters, in the request's arena.

import { Request } from "./request";
import { Response } from "./response";
import { hostRoute, hostMayWait } from "./abi";
import { percentDecode } from "./bytes";

/** A request handler: a top-level function or a non-capturing arrow function.
 *  `function home(req: Request): Response { return Response.text("home\n"); }` */
export type Handler = (req: Request) => Response;

class Route {
  /** The handler may wait on an effect (fetch, sleep): its requests run through JSPI from
   *  the start. The build found this out (cli/instrument.ts); asking the host once, here
   *  at start, means a plain call can turn such a request away before any of the app's
   *  code runs, so no handler code ever runs twice. */
  waits: bool;
  method: string;
  pattern: string;
  segments: string[];
  handler: Handler;
  patternUtf8: ArrayBuffer;

  constructor(method: string, pattern: string, handler: Handler) {
    this.method = method;
    this.pattern = pattern;
    this.segments = pattern.split("/");
    this.handler = handler;
    this.patternUtf8 = String.UTF8.encode(pattern, false);
    this.waits = hostMayWait(handler.index) != 0;
  }

  /** Whether `parts` (the request path split on "/") matches; a segment ":name" matches
   *  any non-empty segment and a last segment "*" matches the rest of the path. */
  matches(parts: string[]): bool {
    let segs = this.segments;
    let n = segs.length;
    if (n > 0 && segs[n - 1] == "*") {
      if (parts.length < n - 1) return false;
      n -= 1;
    } else if (parts.length != n) {
      return false;
    }
    for (let i = 0; i < n; i++) {
      let s = segs[i];
      if (s.length > 0 && s.charCodeAt(0) == 0x3a) { // ':'
        if (parts[i].length == 0) return false;
      } else if (s != parts[i]) {
        return false;
      }
    }
    return true;
  }

  capture(req: Request, parts: string[]): void {
    let segs = this.segments;
    for (let i = 0; i < segs.length; i++) {
      let s = segs[i];
      if (s.length > 0 && s.charCodeAt(0) == 0x3a) {
        let raw = parts[i];
        let bytes = String.UTF8.encode(raw, false);
        req.setParam(s.substring(1), percentDecode(changetype<usize>(bytes), <usize>bytes.byteLength, false));
      } else if (s == "*" && i == segs.length - 1) {
        req.setParam("*", parts.slice(i).join("/"));
      }
    }
  }
}

/**
 * Maps method + path pattern to handlers. Unknown paths get 404; a known path with
 * another method gets 405 with an `Allow` header; HEAD is served by GET routes.
 *
 * ```ts
 * const app = new Router();
 * app.get("/", home);
 * app.get("/hello/:name", (req: Request): Response => Response.text("Hello, " + req.param("name")! + "\n"));
 * app.post("/echo", (req: Request): Response => Response.bytes(req.body));
 * serve(app);
 * ```
 */
export class Router {
  private routes: Route[] = [];
  private fallback: Route | null = null;

  /** Handles requests no route matches (instead of the plain-text 404).
   *  `app.notFound((req: Request): Response => Response.html("<h1>Not here</h1>", 404))` */
  notFound(handler: Handler): Router {
    this.fallback = new Route("*", "/*", handler);
    return this;
  }

  /** Registers `handler` for `method` and `pattern`. `app.on("OPTIONS", "/", opts)` */
  on(method: string, pattern: string, handler: Handler): Router {
    if (pattern.length == 0 || pattern.charCodeAt(0) != 0x2f) abort("Router: pattern must start with '/': '" + pattern + "'");
    this.routes.push(new Route(method, pattern, handler));
    return this;
  }

  /** `app.get("/users/:id", showUser)` */
  get(pattern: string, handler: Handler): Router { return this.on("GET", pattern, handler); }
  /** `app.post("/users", createUser)` */
  post(pattern: string, handler: Handler): Router { return this.on("POST", pattern, handler); }
  /** `app.put("/users/:id", replaceUser)` */
  put(pattern: string, handler: Handler): Router { return this.on("PUT", pattern, handler); }
  /** `app.patch("/users/:id", updateUser)` */
  patch(pattern: string, handler: Handler): Router { return this.on("PATCH", pattern, handler); }
  /** `app.delete("/users/:id", deleteUser)` */
  delete(pattern: string, handler: Handler): Router { return this.on("DELETE", pattern, handler); }

  /** Finds the route for `req` and calls its handler; 404 / 405 otherwise. Returns null,
   *  without calling the handler, when the route waits on effects and `mayWait` is false. */
  handle(req: Request, mayWait: bool = true): Response | null {
    let method = req.method;
    let parts = req.path.split("/");
    let allow: string | null = null;
    let routes = this.routes;
    for (let i = 0; i < routes.length; i++) {
      let r = routes[i];
      if (!r.matches(parts)) continue;
      if (r.method == method || (method == "HEAD" && r.method == "GET")) {
        if (r.waits && !mayWait) return null;
        hostRoute(changetype<usize>(r.patternUtf8), <usize>r.patternUtf8.byteLength);
        r.capture(req, parts);
        return r.handler(req);
      }
      let m = r.method == "GET" ? "GET, HEAD" : r.method;
      if (allow === null) allow = m;
      else if (!allow.includes(r.method)) allow = allow + ", " + m;
    }
    if (allow !== null) {
      return Response.text("Method Not Allowed\n", 405).header("Allow", allow);
    }
    let fallback = this.fallback;
    if (fallback !== null) {
      if (fallback.waits && !mayWait) return null;
      return fallback.handler(req);
    }
    return Response.text("Not Found\n", 404);
  }
}

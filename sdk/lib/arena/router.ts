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

/** A hook that runs before the handler (`router.before`): a response answers the request
 *  at once, null lets it through.
 *  `function auth(req: Request): Response | null { return req.cookie("sid") ? null : Response.redirect("/login"); }` */
export type BeforeHook = (req: Request) => Response | null;

/** A hook that sees every response the router makes (`router.after`, `router.onError`) and
 *  returns it, changed or replaced.
 *  `function poweredBy(req: Request, res: Response): Response { return res.header("X-Powered-By", "Arena"); }` */
export type AfterHook = (req: Request, res: Response) => Response;

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
 * another method gets 405 with an `Allow` header; HEAD is served by GET routes. Hooks
 * (`before`, `after`, `onError`) are top-level functions too: AssemblyScript has no
 * closures and no try/catch.
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
  private notAllowed: Route | null = null;
  private befores: BeforeHook[] = [];
  private afters: AfterHook[] = [];
  private errorHook: AfterHook | null = null;
  /** Some hook may wait on an effect: every request then runs through JSPI. */
  private hooksWait: bool = false;

  /** Handles requests no route matches (instead of the plain-text 404).
   *  `app.notFound((req: Request): Response => Response.html("<h1>Not here</h1>", 404))` */
  notFound(handler: Handler): Router {
    this.fallback = new Route("*", "/*", handler);
    return this;
  }

  /** Handles requests whose path has routes but none for their method (instead of the
   *  plain-text 405); the router adds the `Allow` header to what it returns.
   *  `app.methodNotAllowed((req: Request): Response => Response.json('{"error":"method"}', 405))` */
  methodNotAllowed(handler: Handler): Router {
    this.notAllowed = new Route("*", "/*", handler);
    return this;
  }

  /** Runs `hook` before every request's handler, in the order added; the first hook that
   *  returns a response answers the request (the handler does not run; `after` hooks do).
   *  `app.before((req: Request): Response | null => req.header("x-key") == "s3cret" ? null : Response.text("no\n", 401))` */
  before(hook: BeforeHook): Router {
    this.befores.push(hook);
    if (hostMayWait(hook.index) != 0) this.hooksWait = true;
    return this;
  }

  /** Runs `hook` on every response the router makes (handlers, before hooks, 404, 405), in
   *  the order added, after `onError`; it returns the response to send.
   *  `app.after((req: Request, res: Response): Response => res.header("X-Frame-Options", "DENY"))` */
  after(hook: AfterHook): Router {
    this.afters.push(hook);
    if (hostMayWait(hook.index) != 0) this.hooksWait = true;
    return this;
  }

  /**
   * Runs `hook` on responses with a status of 500 or more that the app returned, to render
   * or log them in one place. It cannot see a trap: AssemblyScript has no exceptions, and
   * an abort, an arena overflow or the CPU budget ends the request where it is, with the
   * host's 500 (ARENA_E_TRAP, ARENA_E_MEMORY, ARENA_E_CPU; docs/errors.md). Return error
   * values (a Response with status 5xx) from handlers to have them pass through here.
   * `app.onError((req: Request, res: Response): Response => Response.html("<h1>Sorry</h1>", res.status))`
   */
  onError(hook: AfterHook): Router {
    this.errorHook = hook;
    if (hostMayWait(hook.index) != 0) this.hooksWait = true;
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

  /** The route for `method` and the path's `parts`, or null. */
  private find(method: string, parts: string[]): Route | null {
    let routes = this.routes;
    for (let i = 0; i < routes.length; i++) {
      let r = routes[i];
      if (r.matches(parts) && (r.method == method || (method == "HEAD" && r.method == "GET"))) return r;
    }
    return null;
  }

  /** The Allow value for a path some routes match ("GET, HEAD, POST"), or null. */
  private allowFor(parts: string[]): string | null {
    let allow: string | null = null;
    let routes = this.routes;
    for (let i = 0; i < routes.length; i++) {
      let r = routes[i];
      if (!r.matches(parts)) continue;
      let m = r.method == "GET" ? "GET, HEAD" : r.method;
      if (allow === null) allow = m;
      else if (!allow.includes(r.method)) allow = allow + ", " + m;
    }
    return allow;
  }

  /** Finds the route for `req` and calls the hooks and its handler; 404 / 405 otherwise.
   *  Returns null, before any of the app's code runs, when the route or a hook waits on
   *  effects and `mayWait` is false. */
  // @ts-ignore: decorator
  @unsafe handle(req: Request, mayWait: bool = true): Response | null {
    let parts = req.path.split("/");
    let route = this.find(req.method, parts);
    let allow: string | null = null;
    let matched = route !== null;
    if (!matched) {
      allow = this.allowFor(parts);
      route = allow !== null ? this.notAllowed : this.fallback;
    }
    if (!mayWait && (this.hooksWait || (route !== null && route.waits))) return null;
    let befores = this.befores;
    for (let i = 0; i < befores.length; i++) {
      let early = befores[i](req);
      if (early !== null) return this.finish(req, early);
    }
    let res: Response;
    if (route === null) {
      res = allow !== null ? Response.text("Method Not Allowed\n", 405) : Response.text("Not Found\n", 404);
    } else {
      if (matched) {
        hostRoute(changetype<usize>(route.patternUtf8), <usize>route.patternUtf8.byteLength);
        route.capture(req, parts);
      }
      res = route.handler(req);
    }
    if (allow !== null) res.header("Allow", allow);
    return this.finish(req, res);
  }

  /** The error hook (for a status of 500 or more), then the after hooks. */
  private finish(req: Request, res: Response): Response {
    let onError = this.errorHook;
    if (onError !== null && res.status >= 500) res = onError(req, res);
    let afters = this.afters;
    for (let i = 0; i < afters.length; i++) res = afters[i](req, res);
    return res;
  }
}

// Cross-origin resource sharing (the Fetch standard's CORS protocol) as two router hooks:
// a before hook that answers preflight requests (OPTIONS with Origin and
// Access-Control-Request-Method) with 204 and the Access-Control-* fields, and an after
// hook that adds Access-Control-Allow-Origin and its companions to every other response
// to an allowed origin. Hooks cannot capture (no closures), so the policy is one
// module-level value, set once at start-up by `cors`.

import { Request } from "./request";
import { Response } from "./response";
import { Router } from "./router";

/**
 * A CORS policy for `cors(router, options)`. Each setter returns the options, so they chain.
 *
 * ```ts
 * cors(app, new CorsOptions().origin("https://a.example").methods("GET, POST")
 *   .headers("Content-Type").maxAge(600).credentials());
 * ```
 */
export class CorsOptions {
  private _origins: string[] = [];
  private _methods: string = "GET, HEAD, POST";
  private _headers: string | null = null;
  private _expose: string | null = null;
  private _maxAge: i32 = -1;
  private _credentials: bool = false;

  /** Allows the origin `o` ("https://a.example", exactly as browsers send it); call once per
   *  origin, or `.origin("*")` for any. `.origin("https://a.example")` */
  origin(o: string): CorsOptions { this._origins.push(o); return this; }
  /** Methods a preflight allows (Access-Control-Allow-Methods; default "GET, HEAD, POST").
   *  `.methods("GET, POST, DELETE")` */
  methods(m: string): CorsOptions { this._methods = m; return this; }
  /** Request headers a preflight allows (Access-Control-Allow-Headers; by default the ones
   *  the preflight asks for). `.headers("Content-Type, Authorization")` */
  headers(h: string): CorsOptions { this._headers = h; return this; }
  /** Response headers scripts may read (Access-Control-Expose-Headers). `.expose("X-Total")` */
  expose(h: string): CorsOptions { this._expose = h; return this; }
  /** Seconds a browser may cache a preflight's answer (Access-Control-Max-Age). `.maxAge(600)` */
  maxAge(seconds: i32): CorsOptions { this._maxAge = seconds; return this; }
  /** Lets requests carry cookies (Access-Control-Allow-Credentials: true); with `origin("*")`
   *  the request's own origin is echoed, as the standard requires. `.credentials()` */
  credentials(): CorsOptions { this._credentials = true; return this; }

  /** The Access-Control-Allow-Origin value for a request from `origin`, or null when that
   *  origin is not allowed. `opts.allowOrigin("https://a.example")` */
  allowOrigin(origin: string | null): string | null {
    if (origin === null) return null;
    let origins = this._origins;
    for (let i = 0; i < origins.length; i++) {
      let o = origins[i];
      if (o == "*") return this._credentials ? origin : "*";
      if (o == origin) return origin;
    }
    return null;
  }

  /** Adds the fields every response to an allowed cross-origin request carries.
   *  `opts.addHeaders(req, res)` */
  addHeaders(req: Request, res: Response): Response {
    let allowed = this.allowOrigin(req.header("origin"));
    if (allowed === null) return res;
    res.header("Access-Control-Allow-Origin", allowed);
    if (allowed != "*") res.header("Vary", "Origin");
    if (this._credentials) res.header("Access-Control-Allow-Credentials", "true");
    let expose = this._expose;
    if (expose !== null) res.header("Access-Control-Expose-Headers", expose);
    return res;
  }

  /** The answer to a preflight request: 204 with the Access-Control-* fields when its
   *  origin is allowed, 204 without them (the browser then refuses) when not.
   *  `opts.preflight(req)` */
  preflight(req: Request): Response {
    let res = new Response(204);
    let origin = req.header("origin");
    let allowed = this.allowOrigin(origin);
    if (allowed === null) return res.header("Vary", "Origin");
    res.header("Access-Control-Allow-Origin", allowed);
    if (allowed != "*") res.header("Vary", "Origin");
    if (this._credentials) res.header("Access-Control-Allow-Credentials", "true");
    res.header("Access-Control-Allow-Methods", this._methods);
    let headers = this._headers;
    if (headers === null) headers = req.header("access-control-request-headers");
    if (headers !== null && headers.length > 0) res.header("Access-Control-Allow-Headers", headers);
    if (this._maxAge >= 0) res.header("Access-Control-Max-Age", this._maxAge.toString());
    return res;
  }
}

let policy: CorsOptions | null = null;

function corsBefore(req: Request): Response | null {
  if (req.method != "OPTIONS") return null;
  if (req.header("origin") === null || req.header("access-control-request-method") === null) return null;
  return policy!.preflight(req);
}

function corsAfter(req: Request, res: Response): Response {
  // A preflight's answer has its fields already.
  if (req.method == "OPTIONS" && req.header("access-control-request-method") !== null) return res;
  return policy!.addHeaders(req, res);
}

/**
 * Makes `router` answer CORS: preflight requests (OPTIONS with Origin and
 * Access-Control-Request-Method) get 204 with the Access-Control-* fields before any route
 * runs, and responses to allowed origins get Access-Control-Allow-Origin. One policy per
 * app, set at start-up: a second call aborts. Call it before adding other `before` hooks,
 * so that a preflight (which carries no cookies) is answered before an auth hook sees it.
 *
 * ```ts
 * const app = new Router();
 * cors(app, new CorsOptions().origin("https://a.example").methods("GET, POST").maxAge(600));
 * ```
 */
export function cors(router: Router, options: CorsOptions): Router {
  if (policy !== null) abort("cors: called twice (one CORS policy per app)");
  policy = options;
  return router.before(corsBefore).after(corsAfter);
}

// What the server's operations side (metrics, the access log: host/ops/) learns of each
// finished request, and nothing is built for it unless one is attached. The connection
// fills one record per server, reused for every request (no object per request), and
// hands it to the observer synchronously when the response is handed to the socket: the
// record, and the slot it names, are valid only during that call.

import type { ErrorCode } from "../errors.ts";
import type { RequestBridge } from "../abi/request_bridge.ts";

/** One finished request. Fields are overwritten by the next request. */
export class FinishedRequest {
  /** The request id, as in log lines; 0 when the app never had the request (refused by
   *  the host: malformed, too large, overloaded, timed out). */
  id = 0;
  /** The HTTP status sent. */
  status = 0;
  /** The error code when the host wrote the response (a refusal, a trap, a limit), else null. */
  code: ErrorCode | null = null;
  /** Response bytes handed to the socket: head and body. */
  bytes = 0;
  /** Milliseconds from the complete request head to the response handed to the socket
   *  (0 when no head was complete). */
  durationMs = 0;
  /** The slot the request still holds, or -1: while it is held, its route, method, path
   *  and arena use can be read from it through `bridge` (see host/abi/request_done.ts). */
  slot = -1;
  /** The bridge of the build that ran the request (a reload can leave two). */
  bridge: RequestBridge | null = null;
}

/** Gets every finished request of a server (ServerOptions.observer). */
export interface RequestObserver {
  /** The record the connection fills and passes to finished(); one per observer. */
  readonly record: FinishedRequest;
  /** Called once per response, before it is written. Must not throw. */
  finished(r: FinishedRequest): void;
}

// How an upstream socket's failure reaches the app: Node's error codes (errno names and
// getaddrinfo's) become EFFECT_* statuses, which the SDK shows as FetchError, with a
// one-line message that says what failed where.

import { EFFECT_DNS, EFFECT_NETWORK, EFFECT_REFUSED, EFFECT_RESET, EFFECT_TIMEOUT, EFFECT_TLS } from "../../abi/constants.ts";
import { isTlsError, tlsMessage } from "./tls.ts";

/** Node's socket error codes, as the app sees them. */
export function statusForError(err: NodeJS.ErrnoException | null): number {
  if (isTlsError(err?.code)) return EFFECT_TLS;
  switch (err?.code) {
    case "ENOTFOUND": case "EAI_AGAIN": case "EAI_FAIL": case "EAI_NONAME": case "EAI_NODATA": return EFFECT_DNS;
    case "ECONNREFUSED": return EFFECT_REFUSED;
    case "ETIMEDOUT": return EFFECT_TIMEOUT;
    case "ECONNRESET": case "EPIPE": case undefined: return EFFECT_RESET;
    default: return EFFECT_NETWORK;
  }
}

/** Whether a reused keep-alive socket closed the way an upstream closes an idle one (a
 *  reset, a broken pipe, or a plain close): the request may not have reached it. */
export function closedWhileIdle(err: NodeJS.ErrnoException | null): boolean {
  return err === null || err.code === "ECONNRESET" || err.code === "EPIPE";
}

/** The status for a socket that closed before its fetch's response was complete. */
export function closedStatus(connected: boolean, err: NodeJS.ErrnoException | null): number {
  return !connected && err === null ? EFFECT_NETWORK : statusForError(err);
}

/** How far a fetch got when its socket closed, for closedMessage(). */
export interface ClosedAt {
  /** The upstream: host:port, or https://host:port. */
  origin: string;
  host: string;
  connected: boolean;
  connectTimeoutMs: number;
  /** Body bytes received, or -1 when the response head was not complete. */
  bodyBytes: number;
}

/** What the app is told when its fetch's socket closed early (`status` from closedStatus). */
export function closedMessage(status: number, at: ClosedAt, err: NodeJS.ErrnoException | null): string {
  const where = at.origin;
  const cause = err ? ` (${err.code ?? err.message})` : "";
  if (status === EFFECT_TLS) return tlsMessage(where, at.host, err!);
  if (!at.connected) {
    return status === EFFECT_DNS ? `cannot resolve ${at.host} (${err?.code})`
      : status === EFFECT_REFUSED ? `connection refused by ${where}`
      : status === EFFECT_TIMEOUT ? `could not connect to ${where} within ${at.connectTimeoutMs} ms`
      : `cannot connect to ${where}${cause}`;
  }
  return at.bodyBytes >= 0
    ? `${where} closed the connection after ${at.bodyBytes} bytes of the body${cause}`
    : `${where} closed the connection before a complete response head${cause}`;
}

// Server-Sent Events over a streaming response (the WHATWG HTML "server-sent events"
// format): `text/event-stream`, each event a block of `id:`, `event:` and `data:` lines
// ended by a blank line, comments (`: ping`) that keep idle connections open through
// proxies, and the `Last-Event-ID` a reconnecting browser sends so the app can resume.

import { ByteWriter } from "./bytes";
import { Request } from "./request";
import { Response } from "./response";
import { Stream, StreamStatus } from "./stream";
import { Events, EventsWait } from "./events";

/**
 * Milliseconds an event stream waits for news before it writes a keep-alive comment
 * (`: ping`): below the idle timeouts of common proxies (nginx's proxy_read_timeout is
 * 60 s) and often enough that a client that left is noticed (its write fails) within it.
 *
 * ```ts
 * Events.waitAfter("notes", seen, SSE_KEEPALIVE_MS);
 * ```
 */
export const SSE_KEEPALIVE_MS: i32 = 15_000;

/** Whether `s` holds CR, LF or NUL, which would end or break a field line. */
function breaksLine(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c == 0x0d || c == 0x0a || c == 0) return true;
  }
  return false;
}

/**
 * A Server-Sent Events stream: `text/event-stream` with `Cache-Control: no-store` (and
 * `X-Accel-Buffering: no`, so nginx passes events on at once). `send` writes one event;
 * `waitAfter` waits for news on a topic and writes `: ping` comments while it waits. The
 * handler ends with `return es.end()`; a browser's EventSource then reconnects by itself,
 * sending the id of the last event it got (`lastEventId`).
 *
 * ```ts
 * function events(req: Request): Response {
 *   const es = EventStream.start(req);
 *   let seen = es.lastEventId.length > 0 ? I64.parseInt(es.lastEventId) : Events.latest("ticks");
 *   while (es.waitAfter("ticks", seen) == EventsWait.Published) {
 *     seen = Events.latest("ticks");
 *     if (es.send('{"tick":' + seen.toString() + "}", "tick", seen.toString()) != StreamStatus.Ok) break;
 *   }
 *   return es.end();
 * }
 * ```
 */
export class EventStream {
  /** The stream the events go out on. `if (!es.stream.ok) return es.end();` */
  readonly stream: Stream;
  /** The request's Last-Event-ID (the id of the last event a reconnecting browser got), or
   *  "" when it sent none. `if (es.lastEventId.length > 0) resumeAfter(es.lastEventId)` */
  readonly lastEventId: string;
  /** How long `waitAfter` waits before each `: ping`, SSE_KEEPALIVE_MS unless set.
   *  `es.keepAliveMs = 30000;` */
  keepAliveMs: i32 = SSE_KEEPALIVE_MS;
  private readonly w: ByteWriter = new ByteWriter(256);

  private constructor(stream: Stream, lastEventId: string) {
    this.stream = stream;
    this.lastEventId = lastEventId;
  }

  /** Sends the event stream's head. `const es = EventStream.start(req);` */
  static start(req: Request): EventStream {
    let res = new Response(200)
      .header("Content-Type", "text/event-stream")
      .header("Cache-Control", "no-store")
      .header("X-Accel-Buffering", "no");
    let last = req.header("last-event-id");
    return new EventStream(Stream.startWith(req, res), last !== null ? last : "");
  }

  /** True while events may be sent. `while (es.ok) { … }` */
  get ok(): bool {
    return this.stream.ok;
  }

  /**
   * Sends one event: `data` (each of its lines a `data:` line, so it may hold newlines),
   * named `event` ("" for the default, "message") with `id` ("" for none). An event name
   * or id holding CR, LF or NUL is refused (`StreamStatus.BadArgument`, nothing is sent).
   * `es.send('{"id":3}', "created", "17")`
   */
  send(data: string, event: string = "", id: string = ""): StreamStatus {
    if (breaksLine(event) || breaksLine(id)) return StreamStatus.BadArgument;
    let w = this.w.clear();
    if (id.length > 0) w.str("id: ").str(id).byte(0x0a);
    if (event.length > 0) w.str("event: ").str(event).byte(0x0a);
    // Lines end at CRLF, LF or CR (the format's own rule): each becomes a data: line.
    let start = 0;
    let n = data.length;
    for (let i = 0; i <= n; i++) {
      let c = i < n ? data.charCodeAt(i) : 0x0a;
      if (c != 0x0a && c != 0x0d) continue;
      w.str("data: ").str(data.substring(start, i)).byte(0x0a);
      if (c == 0x0d && i + 1 < n && data.charCodeAt(i + 1) == 0x0a) i++;
      start = i + 1;
    }
    w.byte(0x0a);
    return this.stream.writeFrom(w);
  }

  /** Tells the browser to wait `ms` before reconnecting after the stream ends.
   *  `es.retry(2000)` */
  retry(ms: i32): StreamStatus {
    if (ms < 0) return StreamStatus.BadArgument;
    return this.stream.writeFrom(this.w.clear().str("retry: ").int(ms).str("\n\n"));
  }

  /** Sends a comment line, which clients ignore (CR, LF or NUL in it: BadArgument).
   *  `es.comment("hello")` writes `: hello`. */
  comment(text: string): StreamStatus {
    if (breaksLine(text)) return StreamStatus.BadArgument;
    return this.stream.writeFrom(this.w.clear().str(": ").str(text).str("\n\n"));
  }

  /** Waits for `topic`'s latest id to pass `lastId` (Events.waitAfter), writing a `: ping`
   *  comment every `keepAliveMs` meanwhile. Published, or Cancelled when the client left
   *  (a ping failed) or the wait could not be made.
   *  `while (es.waitAfter("notes", seen) == EventsWait.Published) { … }` */
  waitAfter(topic: string, lastId: i64): EventsWait {
    let r = Events.waitAfter(topic, lastId, this.keepAliveMs);
    while (r == EventsWait.Timeout && this.comment("ping") == StreamStatus.Ok) {
      r = Events.waitAfter(topic, lastId, this.keepAliveMs);
    }
    return r == EventsWait.Published ? r : EventsWait.Cancelled;
  }

  /** Ends the stream; the handler returns this. `return es.end();` */
  end(): Response {
    return this.stream.end();
  }
}

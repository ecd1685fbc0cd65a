// Wait and notify within one worker: a handler that changes something announces it with
// `Events.publish(topic, id)`, and a stream waiting with `Events.waitAfter(topic, lastId,
// ms)` wakes up at once instead of polling. The host keeps each topic's name and latest id
// only (at most 64 topics per worker); what happened is the app's to keep and read.

import { mayWait } from "./wait";

// @ts-ignore: decorator
@external("arena", "events_publish")
declare function hostPublish(topicPtr: usize, topicLen: usize, id: f64): i32;

// @ts-ignore: decorator
@external("arena", "events_latest")
declare function hostLatest(topicPtr: usize, topicLen: usize): f64;

// @ts-ignore: decorator
@external("arena", "events_wait")
declare function hostWait(topicPtr: usize, topicLen: usize, afterId: f64, timeoutMs: f64): i32;

/** What `Events.waitAfter` answers.
 *  `if (Events.waitAfter("notes", seen, 15000) == EventsWait.Published) sendNews();` */
export enum EventsWait {
  /** The topic's latest id is past the one given: read what happened since. */
  Published = 0,
  /** Nothing newer within the time given. */
  Timeout = 4,
  /** The topic table is full (64 topics per worker), or the topic is empty or over 64 bytes. */
  Refused = 6,
  /** The client left, or the request passed its deadline: return. */
  Cancelled = 8,
  /** Called outside a request (start-up code cannot wait). */
  Unavailable = 9,
  /** A negative timeout. */
  BadArgument = 11,
}

/** Room for the longest topic name (EVENT_TOPIC_BYTES_MAX on the host): the name is read
 *  by the host during the call, so one buffer serves every call. */
const topicBuf = new ArrayBuffer(64);

/** The topic's UTF-8 bytes in `topicBuf`; their length, or -1 when they do not fit. */
function topicBytes(topic: string): i32 {
  if (String.UTF8.byteLength(topic) > topicBuf.byteLength) return -1;
  return <i32>String.UTF8.encodeUnsafe(changetype<usize>(topic), topic.length, changetype<usize>(topicBuf));
}

/**
 * Named topics a request can wait on, per worker (with `--workers 2` a publish in one
 * worker does not wake a request in the other). Ids only grow: each publish gives the next
 * one, which also makes a good Server-Sent Events id.
 *
 * ```ts
 * Events.publish("notes", seq);              // in the handler that made note `seq`
 * const r = Events.waitAfter("notes", lastSeen, 15000); // in a stream's loop
 * ```
 */
export class Events {
  /** Announces `id` on `topic`, waking every request that waits for an id below it. False
   *  when `id` is not above the topic's latest, the name is empty or over 64 bytes, or 64
   *  topics exist already. `Events.publish("notes", seq)` */
  static publish(topic: string, id: i64): bool {
    let n = topicBytes(topic);
    if (n < 0) return false;
    return hostPublish(changetype<usize>(topicBuf), <usize>n, <f64>id) == 0;
  }

  /** The topic's latest id, or -1 when nothing was published on it.
   *  `if (Events.latest("notes") > seen) refresh()` */
  static latest(topic: string): i64 {
    let n = topicBytes(topic);
    if (n < 0) return -1;
    return <i64>hostLatest(changetype<usize>(topicBuf), <usize>n);
  }

  /** Suspends the request until `topic`'s latest id is above `lastId` (at once when it
   *  already is), for at most `timeoutMs` (60 s at most). The handler that waits must be
   *  reached through a route, like any waiting effect.
   *  `if (Events.waitAfter("notes", seen, 15000) == EventsWait.Cancelled) return s.end();` */
  static waitAfter(topic: string, lastId: i64, timeoutMs: i32): EventsWait {
    if (!mayWait()) return EventsWait.Unavailable;
    let n = topicBytes(topic);
    if (n < 0) return EventsWait.Refused;
    let region = __arena_current();
    let st = hostWait(changetype<usize>(topicBuf), <usize>n, <f64>lastId, <f64>timeoutMs);
    __arena_switch(region);
    return <EventsWait>st;
  }
}

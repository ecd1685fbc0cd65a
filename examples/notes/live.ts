// Live updates: GET /events is a Server-Sent Events stream announcing each note created
// (`created`, data {"id","title"}) and deleted (`deleted`, data {"id"}), each with a
// sequence number as its id; the list page's small script listens with an EventSource and
// reloads its list. The stream waits with Events.waitAfter instead of polling: creating
// or deleting a note publishes on the "notes" topic, which wakes every open stream.
//
// The last LOG_MAX announcements are kept in a ring of fixed slots made at start-up (not in
// the heap: the notes' room stays theirs), so a browser that reconnects with Last-Event-ID
// gets what it missed; one that missed more gets `reset` (reload the list). Per worker,
// like the heap notes: `npm run notes` serves one.
import { Request, Response, JsonWriter, EventStream, Events, EventsWait, StreamStatus } from "arena";

const TOPIC = "notes";
/** Announcements kept for streams that reconnect. */
const LOG_MAX = 64;
/** Bytes of one announcement's data; a longer one (a long title, escaped) is sent as its
 *  id alone, which is all the list page needs. */
const DATA_BYTES_MAX = 256;
/** A stream ends itself when its arena has less than this left (each event it sends
 *  allocates a little); the browser reconnects with Last-Event-ID and misses nothing. */
const STREAM_ROOM_MIN: usize = 64 * 1024;

const KIND_CREATED: u8 = 0;
const KIND_DELETED: u8 = 1;

// The ring: announcement `seq` lives at seq % LOG_MAX. Plain bytes and numbers written by
// requests into start-up storage: no request object is kept.
const ringData = new ArrayBuffer(LOG_MAX * DATA_BYTES_MAX);
const ringSeq = new StaticArray<i64>(LOG_MAX);
const ringKind = new StaticArray<u8>(LOG_MAX);
const ringLen = new StaticArray<i32>(LOG_MAX);
let lastSeq: i64 = 0;

function announce(kind: u8, id: u32, data: string): void {
  if (String.UTF8.byteLength(data) > DATA_BYTES_MAX) data = '{"id":' + id.toString() + "}";
  lastSeq++;
  let slot = <i32>(lastSeq % LOG_MAX);
  let at = changetype<usize>(ringData) + <usize>(slot * DATA_BYTES_MAX);
  ringLen[slot] = <i32>String.UTF8.encodeUnsafe(changetype<usize>(data), data.length, at);
  ringKind[slot] = kind;
  ringSeq[slot] = lastSeq;
  Events.publish(TOPIC, lastSeq);
}

/** Tells the open streams note `id` titled `title` was created. */
export function announceCreated(id: u32, title: string): void {
  let j = new JsonWriter(null, 64 + title.length * 2);
  j.beginObject().key("id").int(id).key("title").str(title).endObject();
  announce(KIND_CREATED, id, j.writer().toString());
}

/** Tells the open streams note `id` was deleted. */
export function announceDeleted(id: u32): void {
  announce(KIND_DELETED, id, '{"id":' + id.toString() + "}");
}

/** Sends the announcements after `seen` up to `latest`; false when the client left. */
function sendSince(es: EventStream, seen: i64, latest: i64): bool {
  if (latest - seen > LOG_MAX) return es.send("{}", "reset", latest.toString()) == StreamStatus.Ok;
  for (let seq = seen + 1; seq <= latest; seq++) {
    let slot = <i32>(seq % LOG_MAX);
    if (ringSeq[slot] != seq) continue;
    let data = String.UTF8.decodeUnsafe(changetype<usize>(ringData) + <usize>(slot * DATA_BYTES_MAX), <usize>ringLen[slot]);
    let kind = ringKind[slot] == KIND_CREATED ? "created" : "deleted";
    if (es.send(data, kind, seq.toString()) != StreamStatus.Ok) return false;
  }
  return true;
}

/** GET /events: the announcements, from the browser's Last-Event-ID or from now on. */
export function events(req: Request): Response {
  const es = EventStream.start(req);
  let seen: i64 = lastSeq;
  let last = es.lastEventId;
  if (last.length > 0 && last.length < 16) {
    let v = I64.parseInt(last);
    // A stream from before a restart names ids this worker never gave: start from now.
    if (v >= 0 && v <= lastSeq) seen = v;
  }
  if (!sendSince(es, seen, lastSeq)) return es.end();
  seen = lastSeq;
  while (es.ok && es.stream.arenaRoom > STREAM_ROOM_MIN) {
    if (es.waitAfter(TOPIC, seen) != EventsWait.Published) break;
    let latest = lastSeq;
    if (!sendSince(es, seen, latest)) break;
    seen = latest;
  }
  return es.end();
}

/** The list page's script (GET /live.js): listens to /events and, on each announcement,
 *  fetches the same page again and swaps in its list (#notes), so filters and pages stay
 *  right; an announcement that comes while a fetch runs is folded into one more fetch. */
const LIVE_SCRIPT = `if (window.EventSource) {
  let busy = false, again = false;
  const refresh = () => {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { cache: "no-store" }).then((r) => r.text()).then((html) => {
      const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("notes");
      const list = document.getElementById("notes");
      if (fresh && list) list.replaceWith(fresh);
    }).catch(() => {}).finally(() => { busy = false; if (again) { again = false; refresh(); } });
  };
  const es = new EventSource("/events");
  for (const kind of ["created", "deleted", "reset"]) es.addEventListener(kind, refresh);
}
`;

/** GET /live.js */
export function liveScript(req: Request): Response {
  return Response.string(LIVE_SCRIPT, "text/javascript; charset=utf-8").header("Cache-Control", "max-age=300");
}

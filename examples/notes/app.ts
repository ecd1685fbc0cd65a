// The second flagship example: a small notes service whose notes outlive the request that
// made them. The catalogue keeps nothing between requests; this app keeps everything, and
// it shows the heap region used the obvious way: a Map made at start-up holds the notes, a
// handler builds a Note in its own arena and copies it into the heap with Heap.keep (null
// when the heap is full: the answer is then 507), and deleting a note gives its memory
// back with Heap.free. The heap is a fixed zone (--heap-bytes), so the process never grows,
// and a full heap is a value: every other route keeps working. docs/regions.md has the
// rules of the three lifetimes (start-up, heap, request).
//
//   GET  /                       HTML list, newest first: ?tag= filters, ?page= pages (20 per page)
//   GET  /notes/:id              HTML page of one note
//   POST /notes                  form (title, body, tags comma-separated) → 303 to /
//   POST /notes/:id/delete       the list's delete button → 303 to /
//   GET  /api/notes              JSON list, without bodies (?tag=, ?page=)
//   POST /api/notes              JSON {"title","body","tags"} → 201 + Location, or 400 / 507
//   GET  /api/notes/:id          the note as JSON, or 404
//   DELETE /api/notes/:id        204, or 404
//   GET  /events                 Server-Sent Events: `created` and `deleted` (live.ts)
//   GET  /live.js                the list page's script that listens to /events
//
// Every error of the API is JSON with a code (NOTES_E_…). note.ts defines a note and its
// limits, draft.ts reads and checks what a request asks to create, page.ts writes the
// HTML, escaping everything a visitor wrote.
import { Router, Request, Response, serve, Heap, JsonWriter, wallMs } from "arena";
import { Note, Problem, Listing, PAGE_SIZE } from "./note";
import { Draft, draftFromJson, draftFromForm } from "./draft";
import { listPage, notePage, errorPage } from "./page";
import { announceCreated, announceDeleted, events, liveScript } from "./live";
import { notesDb } from "./sqlite_store"; // NOTES_DB=path: the notes in SQLite instead

// The app's state, made at start-up. The map's storage grows in the heap by itself; what
// it holds must be heap objects, which is what Heap.keep returns.
const notes = new Map<u32, Note>();
let nextId: u32 = 1;

/** Keeps a valid draft as a new note: the note, or null when the heap is full. */
function create(d: Draft): Note | null {
  let db = notesDb;
  if (db !== null) return db.create(d);
  let note = Heap.keep(new Note(nextId, d.title, d.body, d.tags, <i64>wallMs()));
  // Null when the heap is full. Heap.keep also leaves room for the map's next growth, so
  // the set below cannot run out of heap.
  if (note === null) return null;
  nextId++;
  notes.set(note.id, note);
  return note;
}

function remove(id: u32): bool {
  let db = notesDb;
  if (db !== null) return db.delete(id);
  if (!notes.has(id)) return false;
  let note = notes.get(id);
  notes.delete(id);
  Heap.free(note);
  return true;
}

/** The `:id` parameter as a note id: decimal digits only, else 0 (no note has id 0). */
function idParam(req: Request): u32 {
  let s = req.param("id")!;
  if (s.length == 0 || s.length > 10) return 0;
  let v: u64 = 0;
  for (let i = 0; i < s.length; i++) {
    let c = <u32>s.charCodeAt(i) - 0x30;
    if (c > 9) return 0;
    v = v * 10 + c;
  }
  return v > <u64>u32.MAX_VALUE ? 0 : <u32>v;
}

function find(req: Request): Note | null {
  let db = notesDb;
  if (db !== null) return db.find(idParam(req));
  let id = idParam(req);
  return notes.has(id) ? notes.get(id) : null;
}

function hasTag(n: Note, tag: string): bool {
  if (tag.length == 0) return true;
  for (let i = 0; i < n.tags.length; i++) if (n.tags[i] == tag) return true;
  return false;
}

function listing(req: Request): Listing {
  let out = new Listing();
  let t = req.query("tag");
  out.tag = t !== null ? t : "";
  let p = req.query("page");
  out.page = p !== null ? I32.parseInt(p) : 1;
  if (!(out.page >= 1 && out.page <= 1000000)) out.page = 1;
  let db = notesDb;
  if (db !== null) {
    db.list(out);
    return out;
  }
  let skip = (out.page - 1) * PAGE_SIZE;
  // In insertion order, which is id order: walking it backwards is newest first.
  let all = notes.values();
  for (let i = all.length - 1; i >= 0; i--) {
    let n = unchecked(all[i]);
    if (!hasTag(n, out.tag)) continue;
    if (out.total >= skip && out.total < skip + PAGE_SIZE) out.items.push(n);
    out.total++;
  }
  out.pages = max(1, (out.total + PAGE_SIZE - 1) / PAGE_SIZE);
  return out;
}

// --- JSON API --------------------------------------------------------------------------

function apiError(p: Problem): Response {
  let j = new JsonWriter(null, 256);
  j.beginObject().key("code").str(p.code).key("message").str(p.message).endObject();
  return Response.from(j.writer(), "application/json", p.status);
}

function notFoundProblem(req: Request): Problem {
  return new Problem(404, "NOTES_E_NOT_FOUND", "there is no note " + req.param("id")!);
}

function fullProblem(): Problem {
  return new Problem(507, "NOTES_E_FULL", "the notes heap is full; delete notes to make room");
}

/** A note as JSON; the list leaves the body out (up to 10,000 bytes each, and 6 times
 *  that escaped: twenty of them could outgrow a request's arena). */
function writeNote(j: JsonWriter, n: Note, withBody: bool): void {
  j.beginObject().key("id").int(n.id).key("title").str(n.title);
  if (withBody) j.key("body").str(n.body);
  j.key("tags").beginArray();
  for (let i = 0; i < n.tags.length; i++) j.str(n.tags[i]);
  j.endArray().key("created").int(n.created).endObject();
}

function noteJson(n: Note, status: i32): Response {
  let j = new JsonWriter(null, 256 + n.body.length * 2);
  writeNote(j, n, true);
  return Response.from(j.writer(), "application/json", status);
}

// POST /api/notes
function apiCreate(req: Request): Response {
  let d = draftFromJson(req);
  let problem = d.problem;
  if (problem !== null) return apiError(problem);
  let note = create(d);
  if (note === null) return apiError(fullProblem());
  announceCreated(note.id, note.title);
  return noteJson(note, 201).header("Location", "/api/notes/" + note.id.toString());
}

// GET /api/notes/:id
function apiShow(req: Request): Response {
  let note = find(req);
  return note !== null ? noteJson(note, 200) : apiError(notFoundProblem(req));
}

// DELETE /api/notes/:id
function apiDelete(req: Request): Response {
  if (!remove(idParam(req))) return apiError(notFoundProblem(req));
  announceDeleted(idParam(req));
  return new Response(204);
}

// GET /api/notes?tag=&page=
function apiList(req: Request): Response {
  let l = listing(req);
  let j = new JsonWriter(null, 4096);
  j.beginObject().key("total").int(l.total).key("page").int(l.page).key("pages").int(l.pages).key("notes").beginArray();
  for (let i = 0; i < l.items.length; i++) writeNote(j, l.items[i], false);
  j.endArray().endObject();
  return Response.from(j.writer(), "application/json");
}

// --- HTML ------------------------------------------------------------------------------

// GET /?tag=&page=
function home(req: Request): Response {
  return listPage(listing(req));
}

// GET /notes/:id
function show(req: Request): Response {
  let note = find(req);
  if (note === null) return errorPage(notFoundProblem(req));
  return notePage(note);
}

// POST /notes (the form)
function formCreate(req: Request): Response {
  let d = draftFromForm(req);
  let problem = d.problem;
  if (problem !== null) return errorPage(problem);
  let note = create(d);
  if (note === null) return errorPage(fullProblem());
  announceCreated(note.id, note.title);
  return Response.redirect("/", 303);
}

// POST /notes/:id/delete (the list's delete button)
function formDelete(req: Request): Response {
  if (!remove(idParam(req))) return errorPage(notFoundProblem(req));
  announceDeleted(idParam(req));
  return Response.redirect("/", 303);
}

function notFound(req: Request): Response {
  let p = new Problem(404, "NOTES_E_NOT_FOUND", "nothing lives at " + req.path);
  return req.path.startsWith("/api/") ? apiError(p) : errorPage(p);
}

const app = new Router();
app.get("/", home);
app.get("/notes/:id", show);
app.post("/notes", formCreate);
app.post("/notes/:id/delete", formDelete);
app.get("/api/notes", apiList);
app.post("/api/notes", apiCreate);
app.get("/api/notes/:id", apiShow);
app.delete("/api/notes/:id", apiDelete);
app.get("/events", events);
app.get("/live.js", liveScript);
app.notFound(notFound);
serve(app);

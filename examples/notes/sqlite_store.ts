// The notes in SQLite instead of the heap, when NOTES_DB names a database file: the notes
// then survive a restart, and every worker sees the same notes (each worker opens its own
// connection to the file). app.ts asks `notesDb` first and keeps the heap store otherwise.
// A note's tags are a JSON array in one column, matched with json_each for the tag filter.
import { Sqlite, Statement, Rows, envOr, Json, JsonWriter, wallMs } from "arena";
import { Note, Listing, PAGE_SIZE } from "./note";
import { Draft } from "./draft";

const SCHEMA: string[] = [
  "CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, body TEXT NOT NULL," +
    " tags TEXT NOT NULL DEFAULT '[]', created INTEGER NOT NULL)",
];

const COLUMNS = "id, title, body, tags, created";
/** Notes that have tag ?1, or all of them when ?1 is ''. */
const MATCHES = "(?1 = '' OR EXISTS (SELECT 1 FROM json_each(notes.tags) WHERE value = ?1))";

/** The notes' database and its statements, made by start-up code. */
export class NotesDb {
  db: Sqlite;
  insert: Statement;
  byId: Statement;
  remove: Statement;
  page: Statement;
  count: Statement;

  constructor(path: string) {
    let db = Sqlite.open(path);
    if (!db.ok) abort("NOTES_DB=" + path + ": " + db.error);
    db.migrate(SCHEMA);
    this.db = db;
    this.insert = ready(db.prepare("INSERT INTO notes (title, body, tags, created) VALUES (?, ?, ?, ?) RETURNING " + COLUMNS));
    this.byId = ready(db.prepare("SELECT " + COLUMNS + " FROM notes WHERE id = ?"));
    this.remove = ready(db.prepare("DELETE FROM notes WHERE id = ?"));
    this.page = ready(db.prepare("SELECT " + COLUMNS + " FROM notes WHERE " + MATCHES + " ORDER BY id DESC LIMIT ?2 OFFSET ?3"));
    this.count = ready(db.prepare("SELECT count(*) FROM notes WHERE " + MATCHES));
  }

  /** Stores a valid draft: the note, or null when the database refused it (its error is logged). */
  create(d: Draft): Note | null {
    let tags = new JsonWriter(null, 64);
    tags.beginArray();
    for (let i = 0; i < d.tags.length; i++) tags.str(d.tags[i]);
    tags.endArray();
    let rows = this.insert.bind().text(d.title).text(d.body).text(tags.toString()).int(<i64>wallMs()).query();
    return rows.next() ? noteOf(rows) : null;
  }

  find(id: u32): Note | null {
    let rows = this.byId.bind().int(id).query();
    return rows.next() ? noteOf(rows) : null;
  }

  delete(id: u32): bool {
    return this.remove.bind().int(id).query().changes > 0;
  }

  /** Fills `out` (its tag and page set) with its page of notes, newest first. */
  list(out: Listing): void {
    let n = this.count.bind().text(out.tag).query();
    out.total = n.next() ? <i32>n.int(0) : 0;
    out.pages = max(1, (out.total + PAGE_SIZE - 1) / PAGE_SIZE);
    let skip = <i64>(out.page - 1) * PAGE_SIZE;
    let rows = this.page.bind().text(out.tag).int(PAGE_SIZE).int(skip).query();
    while (rows.next()) out.items.push(noteOf(rows));
  }
}

/** A statement the app's own SQL made: one that does not prepare is a bug, said at start. */
function ready(s: Statement): Statement {
  if (!s.ok) abort("notes: " + s.error);
  return s;
}

/** The note in the cursor's current row (the COLUMNS order), in the request's arena. */
function noteOf(r: Rows): Note {
  let tags: string[] = [];
  let doc = Json.parseString(r.text(3));
  for (let t = doc.root.first(); t.exists; t.next()) tags.push(t.str());
  return new Note(<u32>r.int(0), r.text(1), r.text(2), tags, r.int(4));
}

/** The SQLite store when NOTES_DB is set and not empty; null keeps the notes in the heap. */
export const notesDb: NotesDb | null = openNotes();

function openNotes(): NotesDb | null {
  let path = envOr("NOTES_DB", "");
  if (path.length == 0) return null;
  return new NotesDb(path);
}

// The notes example's input (examples/notes/app.ts keeps what passes): a note to create,
// read from the JSON API's body or from the HTML form, with the fields checked against the
// limits in note.ts. Everything here lives in the request's arena; only a valid draft is
// copied into the heap, as a Note.
import { Request, Json, JsonValue } from "arena";
import { Problem, TITLE_BYTES_MAX, BODY_BYTES_MAX, TAGS_MAX, TAG_BYTES_MAX } from "./note";

/** The form's tags field: ten tags, their commas and some spaces. */
const TAGS_FIELD_BYTES_MAX = 1024;

/** What a request asks to create, still in the request's arena; `problem` when invalid. */
export class Draft {
  title: string = "";
  body: string = "";
  tags: string[] = [];
  problem: Problem | null = null;
}

// What each field must be, as the 400 answers say it.
const TITLE_RULE = "title must be a string of 1 to 200 bytes of UTF-8";
const BODY_RULE = "body must be a string of at most 10000 bytes of UTF-8";
const TAGS_RULE = "tags must be an array of at most 10 strings of 1 to 32 bytes of UTF-8 each";

function invalid(d: Draft, code: string, message: string): Draft {
  d.problem = new Problem(400, code, message);
  return d;
}

function fits(s: string, minBytes: i32, maxBytes: i32): bool {
  let n = String.UTF8.byteLength(s, false);
  return n >= minBytes && n <= maxBytes;
}

/** Checks the fields' lengths (shared by the JSON API and the form). */
function checkDraft(d: Draft): Draft {
  if (!fits(d.title, 1, TITLE_BYTES_MAX)) return invalid(d, "NOTES_E_TITLE", TITLE_RULE);
  if (!fits(d.body, 0, BODY_BYTES_MAX)) return invalid(d, "NOTES_E_BODY", BODY_RULE);
  if (d.tags.length > TAGS_MAX) return invalid(d, "NOTES_E_TAGS", TAGS_RULE);
  for (let i = 0; i < d.tags.length; i++) {
    if (!fits(d.tags[i], 1, TAG_BYTES_MAX)) return invalid(d, "NOTES_E_TAGS", TAGS_RULE);
  }
  return d;
}

// A JSON string's UTF-8 is at least a sixth of its text (`\u0041` is one byte), so a text
// over six times the limit is too long without decoding it: a 500 KB title is refused
// before it becomes 1 MB of UTF-16 in the request's arena.
function isString(v: JsonValue, maxBytes: i32): bool {
  return v.isString && v.rawLength <= maxBytes * 6;
}

/** A draft from a JSON body: title and body strings are required, tags an optional array
 *  of strings. */
export function draftFromJson(req: Request): Draft {
  let d = new Draft();
  let doc = Json.parse(req.body);
  if (!doc.ok) return invalid(d, "NOTES_E_JSON", "invalid JSON: " + doc.error + " at byte " + doc.errorPos.toString());
  let root = doc.root;
  if (!root.isObject) return invalid(d, "NOTES_E_JSON", "the body must be a JSON object");
  let title = root.get("title");
  if (!isString(title, TITLE_BYTES_MAX)) return invalid(d, "NOTES_E_TITLE", TITLE_RULE);
  let body = root.get("body");
  if (!isString(body, BODY_BYTES_MAX)) return invalid(d, "NOTES_E_BODY", BODY_RULE);
  d.title = title.str();
  d.body = body.str();
  let tags = root.get("tags");
  if ((tags.exists && !tags.isArray) || tags.length > TAGS_MAX) return invalid(d, "NOTES_E_TAGS", TAGS_RULE);
  for (let t = tags.first(); t.exists; t.next()) {
    if (!isString(t, TAG_BYTES_MAX)) return invalid(d, "NOTES_E_TAGS", TAGS_RULE);
    d.tags.push(t.str());
  }
  return checkDraft(d);
}

/** A draft from the HTML form: tags are comma-separated, blanks dropped. */
export function draftFromForm(req: Request): Draft {
  // The body limit is set so that any accepted body decodes in the arena; the lengths are
  // checked after decoding, by checkDraft. A field that is absent is empty.
  let d = new Draft();
  let title = req.form("title");
  let body = req.form("body");
  let tags = req.form("tags");
  if (tags !== null && tags.length > TAGS_FIELD_BYTES_MAX) return invalid(d, "NOTES_E_TAGS", TAGS_RULE);
  d.title = title !== null ? title.trim() : "";
  if (body === null) body = "";
  if (tags === null) tags = "";
  d.body = body;
  let parts = tags.split(",");
  for (let i = 0; i < parts.length; i++) {
    let t = parts[i].trim();
    if (t.length > 0) d.tags.push(t);
  }
  return checkDraft(d);
}

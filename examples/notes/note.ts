// The notes example's model (examples/notes/app.ts has the state and the routes,
// examples/notes/page.ts the HTML): what a note is, the limits on its fields, a page of
// the list, and a problem a request can have.

/** Limits on what a note may hold, in UTF-8 bytes. */
export const TITLE_BYTES_MAX = 200;
export const BODY_BYTES_MAX = 10000;
export const TAGS_MAX = 10;
export const TAG_BYTES_MAX = 32;
/** Notes per page, in the HTML list and the JSON list. */
export const PAGE_SIZE = 20;

/** A note. Made in a request's arena, then copied into the heap with Heap.keep: the
 *  copy's strings and tags array live in the heap too, and Heap.free releases them all. */
export class Note {
  constructor(
    public id: u32,
    public title: string,
    public body: string,
    public tags: string[],
    public created: i64, // ms since the Unix epoch (wallMs())
  ) {}
}

/** Why a request failed: the HTTP status, an error code (NOTES_E_…) and a sentence. */
export class Problem {
  constructor(public status: i32, public code: string, public message: string) {}
}

/** One page of the notes, newest first, only those with `tag` when it is not "". */
export class Listing {
  items: Note[] = [];
  total: i32 = 0;
  page: i32 = 1;
  pages: i32 = 1;
  tag: string = "";
}

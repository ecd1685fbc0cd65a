// The notes example's HTML (examples/notes/app.ts has the routes): the list with its form
// and delete buttons, one note's page, and error pages. Everything a visitor wrote goes
// through Html's escaping; only the markup written here is raw(). The form and the delete
// buttons are plain HTML forms; the list page's one small script (/live.js) only keeps the
// list current, and the page works the same without it.
import { Response, Html, urlEncode } from "arena";
import { Note, Problem, Listing, TITLE_BYTES_MAX } from "./note";

/** Characters of a body shown in the list; the note's page shows all of it. */
const EXCERPT_CHARS = 280;

const STYLE = `
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #e3e6ec; --accent: #2f5bd3; --bg: #f6f7f9; --danger: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { background: #fff; border-bottom: 1px solid var(--line); }
header .bar { max-width: 820px; margin: 0 auto; padding: 14px 20px; }
header a.brand { font-weight: 700; font-size: 18px; color: var(--ink); text-decoration: none; }
main { max-width: 820px; margin: 0 auto; padding: 20px; }
a { color: var(--accent); }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; margin-bottom: 14px; }
.card h2 { margin: 0 0 4px; font-size: 18px; }
.card h2 a { color: var(--ink); text-decoration: none; }
.card h1 { margin: 0 0 4px; font-size: 24px; }
.meta { color: var(--muted); font-size: 13px; display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 10px 0 0; }
.tag { display: inline-block; font-size: 12px; padding: 1px 8px; border-radius: 999px; background: #eef1f7; color: var(--muted); text-decoration: none; }
form.new { display: grid; gap: 8px; }
form.new input, form.new textarea { width: 100%; padding: 8px 12px; border: 1px solid var(--line); border-radius: 8px; font: inherit; }
form.new textarea { min-height: 80px; resize: vertical; }
button { padding: 7px 16px; border: 0; border-radius: 8px; background: var(--accent); color: #fff; font: inherit; cursor: pointer; }
form.delete { float: right; margin: 0 0 0 12px; }
form.delete button { background: #fff; color: var(--danger); border: 1px solid var(--line); padding: 3px 10px; font-size: 13px; }
.summary { color: var(--muted); margin: 18px 0 10px; }
nav.pages { display: flex; justify-content: space-between; margin: 16px 0; color: var(--muted); }
.error h1 { color: var(--danger); }
.error code { background: #fdf0ef; padding: 2px 6px; border-radius: 4px; }
footer { max-width: 820px; margin: 0 auto; padding: 0 20px 30px; color: var(--muted); font-size: 13px; }
`;

/** Starts a page: doctype, head, the header bar. */
function pageStart(title: string): Html {
  const h = new Html(null, 16 * 1024);
  h.raw("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
    .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    .raw("<link rel=\"icon\" href=\"data:,\">")
    .open("title").text(title).text(" · Arena Notes").close("title")
    .open("style").raw(STYLE).close("style")
    .raw("</head><body><header><div class=\"bar\"><a class=\"brand\" href=\"/\">Arena Notes</a></div></header><main>");
  return h;
}

function pageEnd(h: Html, status: i32): Response {
  h.raw("</main><footer>Notes kept in an Arena app's heap region: copied out of the request's arena with Heap.keep, released with Heap.free.</footer></body></html>\n");
  return Response.from(h.writer(), "text/html; charset=utf-8", status);
}

/** `2024-05-01T12:00:00.000Z` in a <time> element. */
function created(h: Html, n: Note): void {
  const iso = new Date(n.created).toISOString();
  h.open("time").attr("datetime", iso).text(iso).close("time");
}

function tagLinks(h: Html, n: Note): void {
  for (let i = 0; i < n.tags.length; i++) {
    h.open("a").attr("class", "tag").attr("href", "/?tag=" + urlEncode(n.tags[i])).text(n.tags[i]).close("a");
  }
}

/** The first EXCERPT_CHARS characters of `s` (never half a surrogate pair), "…" when cut. */
function excerpt(s: string): string {
  if (s.length <= EXCERPT_CHARS) return s;
  let end = EXCERPT_CHARS;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c < 0xdc00) end--;
  return s.substring(0, end) + "…";
}

function newNoteForm(h: Html): void {
  h.raw("<form class=\"card new\" method=\"post\" action=\"/notes\">")
    .open("input").attr("name", "title").attr("placeholder", "Title").attr("aria-label", "Title")
    .attr("maxlength", TITLE_BYTES_MAX.toString()).flag("required")
    .open("input").attr("name", "tags").attr("placeholder", "Tags, comma-separated").attr("aria-label", "Tags")
    .open("textarea").attr("name", "body").attr("placeholder", "Write a note").attr("aria-label", "Body").close("textarea")
    .raw("<div><button type=\"submit\">Add note</button></div></form>");
}

function noteCard(h: Html, n: Note): void {
  const id = n.id.toString();
  h.raw("<article class=\"card\">")
    .open("form").attr("class", "delete").attr("method", "post").attr("action", "/notes/" + id + "/delete")
    .raw("<button type=\"submit\">Delete</button></form>")
    .open("h2").open("a").attr("href", "/notes/" + id).text(n.title).close("a").close("h2")
    .raw("<div class=\"meta\">");
  created(h, n);
  tagLinks(h, n);
  h.raw("</div>");
  if (n.body.length > 0) h.open("p").attr("class", "text").text(excerpt(n.body)).close("p");
  h.raw("</article>");
}

function pageLink(l: Listing, page: i32): string {
  let href = "/?page=" + page.toString();
  if (l.tag.length > 0) href += "&tag=" + urlEncode(l.tag);
  return href;
}

function summary(h: Html, l: Listing): void {
  h.open("p").attr("class", "summary").int(l.total).text(l.total == 1 ? " note" : " notes");
  if (l.tag.length > 0) h.text(" tagged “").text(l.tag).text("” · ").open("a").attr("href", "/").text("show all").close("a");
  h.close("p");
}

function pager(h: Html, l: Listing): void {
  if (l.pages <= 1 && l.page == 1) return;
  h.raw("<nav class=\"pages\"><span>");
  if (l.page > 1) h.open("a").attr("href", pageLink(l, l.page - 1)).attr("rel", "prev").text("← Newer").close("a");
  h.raw("</span><span>Page ").int(l.page).text(" of ").int(l.pages).raw("</span><span>");
  if (l.page < l.pages) h.open("a").attr("href", pageLink(l, l.page + 1)).attr("rel", "next").text("Older →").close("a");
  h.raw("</span></nav>");
}

/** GET /: the form, then a page of notes, newest first. */
export function listPage(l: Listing): Response {
  const h = pageStart(l.tag.length > 0 ? "Tagged " + l.tag : "All notes");
  newNoteForm(h);
  h.raw("<div id=\"notes\">");
  summary(h, l);
  if (l.total == 0) h.open("p").attr("class", "card").text(l.tag.length > 0 ? "No note has this tag." : "No notes yet: write the first one above.").close("p");
  for (let i = 0; i < l.items.length; i++) noteCard(h, l.items[i]);
  pager(h, l);
  // Keeps the list current (GET /live.js, examples/notes/live.ts); nothing needs it.
  h.raw("</div><script src=\"/live.js\" defer></script>");
  return pageEnd(h, 200);
}

/** GET /notes/:id: the whole note. */
export function notePage(n: Note): Response {
  const h = pageStart(n.title);
  h.raw("<article class=\"card\">").open("h1").text(n.title).close("h1").raw("<div class=\"meta\">");
  created(h, n);
  tagLinks(h, n);
  h.raw("</div>").open("p").attr("class", "text").text(n.body).close("p").raw("</article>")
    .open("form").attr("method", "post").attr("action", "/notes/" + n.id.toString() + "/delete")
    .raw("<p><a href=\"/\">← All notes</a> <button type=\"submit\">Delete this note</button></p></form>");
  return pageEnd(h, 200);
}

/** A page that says what went wrong, with the error's code. */
export function errorPage(p: Problem): Response {
  const h = pageStart(p.status == 404 ? "Not found" : "Cannot save the note");
  h.raw("<div class=\"card error\">").el("h1", p.status == 404 ? "Not found" : "Cannot save the note")
    .open("p").text(p.message).close("p")
    .raw("<p>Code: <code>").text(p.code).raw("</code></p><p><a href=\"/\">← All notes</a></p></div>");
  return pageEnd(h, p.status);
}

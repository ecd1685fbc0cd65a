// The flagship example: a small shop catalogue rendered as HTML from an upstream JSON API.
//
//   GET /                 list page: ?q= searches, ?page= pages (20 per page)
//   GET /products/:id     detail page: the product and its reviews (a second endpoint),
//                         fetched in parallel with fetchAll
//   anything upstream-wrong → 502 page saying what went wrong (down, slow, bad JSON, 5xx)
//
// Every request fetches from the upstream (UPSTREAM_URL; `npm start` runs a local one),
// suspends while it waits (other requests run), parses the JSON in its own arena and
// writes the HTML straight from the JSON bytes, escaped. Nothing outlives the request.
import {
  Router, Request, Response, serve, fetch, fetchAll, FetchRequest, FetchOptions, FetchError, FetchResponse, Json, JsonDoc, JsonValue,
  Html, envOr, urlEncode, log, LogFields, monotonicMs, Device,
} from "arena";

const PAGE_SIZE = 20;

// Configuration, read once at start-up (it lives in the startup region).
const UPSTREAM = envOr("UPSTREAM_URL", "http://127.0.0.1:4000");
const UPSTREAM_TIMEOUT_MS = I32.parseInt(envOr("UPSTREAM_TIMEOUT_MS", "3000"));

// The stylesheet and the icon are files of examples/catalog/public/, which `npm start` serves
// with `arena serve --static`: the host answers them from its device region (ETag, 304,
// brotli) before the app. The app links them and keeps /favicon.ico for browsers that ask
// for it anyway, answered from the same bytes: a static file opened by path at start-up.
const ICON = Device.open("/favicon.svg");

/** Starts a page: doctype, head, the header bar with the search box. */
function pageStart(title: string, q: string): Html {
  const h = new Html(null, 16 * 1024);
  h.raw("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
    .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    .raw("<link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">")
    .open("title").text(title).text(" · Arena Shop").close("title")
    .raw("<link rel=\"stylesheet\" href=\"/style.css\">")
    .raw("</head><body><header><div class=\"bar\"><a class=\"brand\" href=\"/\">Arena Shop</a>")
    .raw("<form class=\"search\" method=\"get\" action=\"/\" role=\"search\">")
    .open("input").attr("type", "search").attr("name", "q").attr("placeholder", "Search products, brands, tags")
    .attr("aria-label", "Search").attr("value", q)
    .raw("<button type=\"submit\">Search</button></form></div></header><main>");
  return h;
}

function pageEnd(h: Html, status: i32): Response {
  h.raw("</main><footer>Rendered by an Arena app: fetched JSON, parsed and written as HTML in this request's own arena.</footer></body></html>\n");
  return Response.from(h.writer(), "text/html; charset=utf-8", status);
}

/** The 502 page: the upstream is down, slow or answered something unusable. */
function upstreamFailed(q: string, what: string, detail: string): Response {
  log.warn("upstream failed", new LogFields().str("what", what).str("detail", detail));
  const h = pageStart("Catalogue unavailable", q);
  h.raw("<div class=\"card error\">").el("h1", "The catalogue is unavailable right now")
    .open("p").text(what).close("p")
    .raw("<p>Details: <code>").text(detail).raw("</code></p>")
    .raw("<p>Try again in a moment. <a href=\"/\">Back to the catalogue</a></p></div>");
  return pageEnd(h, 502);
}

/** A fetch whose outcome was a usable JSON document, or the 502 page that explains why not. */
class Loaded {
  doc: JsonDoc | null = null;
  failure: Response | null = null;
  status: i32 = 0;
}

/** Fetches `path` from the upstream and parses its JSON. Statuses in `passThrough` (404)
 *  are returned to the caller to handle; any other non-2xx is a 502. */
function load(path: string, q: string, passThrough: i32 = 0): Loaded {
  const t0 = monotonicMs();
  return loaded(fetch(UPSTREAM + path, upstreamOptions()), path, q, passThrough, t0);
}

function upstreamOptions(): FetchOptions {
  return new FetchOptions().timeout(UPSTREAM_TIMEOUT_MS).header("Accept", "application/json");
}

/** What `load` makes of the upstream's answer `res` to `path` (fetched since `t0`). */
function loaded(res: FetchResponse, path: string, q: string, passThrough: i32, t0: f64): Loaded {
  const out = new Loaded();
  if (res.error == FetchError.Cancelled) {
    // The visitor left: nobody reads this page, and it is not the upstream's fault.
    out.failure = Response.text("client went away\n", 499);
    return out;
  }
  if (res.error != FetchError.None) {
    let what = "The catalogue service could not be reached.";
    if (res.error == FetchError.Timeout) what = "The catalogue service is too slow to answer.";
    else if (res.error == FetchError.Protocol) what = "The catalogue service sent a broken response.";
    else if (res.error == FetchError.Reset) what = "The catalogue service broke off its response.";
    else if (res.error == FetchError.TooLarge) what = "The catalogue service sent more data than this page can hold.";
    out.failure = upstreamFailed(q, what, res.errorMessage);
    return out;
  }
  out.status = res.status;
  if (res.status == passThrough) return out;
  if (res.status < 200 || res.status > 299) {
    out.failure = upstreamFailed(q, "The catalogue service answered with an error.", "HTTP " + res.status.toString() + " from " + path);
    return out;
  }
  const doc = Json.parse(res.body);
  if (!doc.ok) {
    out.failure = upstreamFailed(q, "The catalogue service sent invalid JSON.", doc.error + " at byte " + doc.errorPos.toString());
    return out;
  }
  log.debug("upstream ok", new LogFields().str("path", path).int("bytes", res.body.length).num("ms", monotonicMs() - t0));
  out.doc = doc;
  return out;
}

/** Writes a price as dollars and cents ("$7.50"), whatever the JSON number looks like. */
function price(h: Html, v: JsonValue): void {
  const cents = <i64>Math.round(v.numOr(0) * 100);
  h.text("$").int(cents / 100).text(".");
  const c = cents % 100;
  if (c < 10) h.text("0");
  h.int(c);
}

/** "★ 4.4" from a 0–5 rating, one decimal. */
function rating(h: Html, v: JsonValue): void {
  const tenths = <i64>Math.round(v.numOr(0) * 10);
  h.raw("<span class=\"stars\">★</span> ").int(tenths / 10).text(".").int(tenths % 10);
}

function tags(h: Html, list: JsonValue): void {
  for (let t = list.first(); t.exists; t.next()) h.raw("<span class=\"tag\">").textJson(t).raw("</span>");
}

function pageLink(q: string, page: i32): string {
  let href = "/?page=" + page.toString();
  if (q.length > 0) href += "&q=" + urlEncode(q);
  return href;
}

// GET /?q=&page=
function list(req: Request): Response {
  const qp = req.query("q");
  const q = qp !== null ? qp.trim() : "";
  const pp = req.query("page");
  let page: i32 = pp !== null ? I32.parseInt(pp) : 1;
  if (page < 1 || page > 100000) page = 1;
  const skip = (page - 1) * PAGE_SIZE;
  const loaded = load("/products?q=" + urlEncode(q) + "&skip=" + skip.toString() + "&limit=" + PAGE_SIZE.toString(), q);
  const failure = loaded.failure;
  if (failure !== null) return failure;
  const root = loaded.doc!.root;
  const products = root.get("products");
  const total = <i32>root.get("total").intOr(0);
  if (!products.isArray) return upstreamFailed(q, "The catalogue service sent an unexpected document.", "no \"products\" array");

  const h = pageStart(q.length > 0 ? "Search: " + q : "All products", q);
  h.open("p").attr("class", "summary");
  if (total == 0) {
    h.text("No products match “").text(q).text("”. ").raw("<a href=\"/\">Show all products</a>");
  } else {
    h.int(total).text(total == 1 ? " product" : " products");
    if (q.length > 0) h.text(" matching “").text(q).text("”");
  }
  h.close("p");
  if (products.length > 0) {
    h.raw("<table><thead><tr><th>Product</th><th>Brand</th><th>Category</th><th class=\"num\">Rating</th><th class=\"num\">Price</th></tr></thead><tbody>");
    for (let p = products.first(); p.exists; p.next()) {
      h.raw("<tr><td><a href=\"/products/").int(p.get("id").intOr(0)).raw("\">").textJson(p.get("title")).raw("</a><br>");
      tags(h, p.get("tags"));
      if (p.get("stock").intOr(0) == 0) h.raw(" <span class=\"out\">Out of stock</span>");
      h.raw("</td><td>").textJson(p.get("brand")).raw("</td><td>").textJson(p.get("category"))
        .raw("</td><td class=\"num\">");
      rating(h, p.get("rating"));
      h.raw("</td><td class=\"num\">");
      price(h, p.get("price"));
      h.raw("</td></tr>");
    }
    h.raw("</tbody></table>");
  }
  const pages = (total + PAGE_SIZE - 1) / PAGE_SIZE;
  if (pages > 1) {
    h.raw("<nav class=\"pages\"><span>");
    if (page > 1) h.open("a").attr("href", pageLink(q, page - 1)).attr("rel", "prev").text("← Previous").close("a");
    h.raw("</span><span>Page ").int(page).text(" of ").int(pages).raw("</span><span>");
    if (page < pages) h.open("a").attr("href", pageLink(q, page + 1)).attr("rel", "next").text("Next →").close("a");
    h.raw("</span></nav>");
  }
  return pageEnd(h, 200);
}

// GET /products/:id: the product and its reviews are fetched at once (fetchAll), so the
// page waits for the slower of the two instead of their sum.
function detail(req: Request): Response {
  const id = req.param("id")!;
  const path = "/products/" + urlEncode(id);
  const t0 = monotonicMs();
  const both = fetchAll([
    new FetchRequest(UPSTREAM + path, upstreamOptions()),
    new FetchRequest(UPSTREAM + path + "/reviews", upstreamOptions()),
  ], UPSTREAM_TIMEOUT_MS);
  const product = loaded(both[0], path, "", 404, t0);
  const failure = product.failure;
  if (failure !== null) return failure;
  if (product.status == 404) return notFoundPage("There is no product " + id + ".");
  const p = product.doc!.root;
  const title = p.get("title").strOr("Product");
  const h = pageStart(title, "");
  h.raw("<div class=\"card\">").open("h1").textJson(p.get("title")).close("h1")
    .raw("<div class=\"meta\">").textJson(p.get("brand")).text(" · ").textJson(p.get("category")).text(" · ");
  rating(h, p.get("rating"));
  h.raw("</div><div class=\"price\">");
  price(h, p.get("price"));
  h.raw("</div>").open("p").textJson(p.get("description")).close("p").open("p");
  const stock = p.get("stock").intOr(0);
  if (stock == 0) h.raw("<span class=\"out\">Out of stock</span>");
  else h.int(stock).text(" in stock");
  h.close("p").open("div");
  tags(h, p.get("tags"));
  h.raw("</div></div>");

  // The second endpoint. If it failed the product is still worth showing.
  h.raw("<div class=\"card\">").el("h2", "Reviews");
  const reviews = both[1];
  const doc = reviews.ok ? Json.parse(reviews.body) : null;
  if (doc === null || !doc.ok) {
    h.open("p").attr("class", "meta").text("Reviews could not be loaded: ")
      .text(reviews.error != FetchError.None ? reviews.errorMessage : doc === null ? "HTTP " + reviews.status.toString() : doc.error).close("p");
  } else {
    const list = doc.root.get("reviews");
    if (list.length == 0) h.open("p").attr("class", "meta").text("No reviews yet.").close("p");
    for (let r = list.first(); r.exists; r.next()) {
      h.raw("<div class=\"review\"><strong>").textJson(r.get("reviewer")).raw("</strong> <span class=\"stars\">");
      const stars = <i32>r.get("rating").intOr(0);
      for (let i = 0; i < 5; i++) h.raw(i < stars ? "★" : "☆");
      h.raw("</span> <span class=\"meta\">").textJson(r.get("date")).raw("</span>").open("p").textJson(r.get("comment")).close("p").raw("</div>");
    }
  }
  h.raw("</div><p><a href=\"/\">← All products</a></p>");
  return pageEnd(h, 200);
}

function notFoundPage(message: string): Response {
  const h = pageStart("Not found", "");
  h.raw("<div class=\"card error\">").el("h1", "Not found").el("p", message)
    .raw("<p><a href=\"/\">Back to the catalogue</a></p></div>");
  return pageEnd(h, 404);
}

function notFound(req: Request): Response {
  return notFoundPage("Nothing lives at " + req.path + ".");
}

function icon(req: Request): Response {
  if (ICON < 0) return notFound(req); // served without --static
  return Response.device(ICON, "image/svg+xml").header("Cache-Control", "public, max-age=86400");
}

const app = new Router();
app.get("/", list);
app.get("/products/:id", detail);
app.get("/favicon.ico", icon);
app.notFound(notFound);
serve(app);

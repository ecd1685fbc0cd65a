// The benchmark's two renders (docs/performance.md specifies them), apart from the app that
// serves them (bench/apps/bench.ts) so the JSON micro-benchmark
// (tests/fixtures/json_bench/bench_app.ts) times exactly the same code.
import { ByteWriter, Html, JsonDoc, JsonFields, JsonKeys, JsonValue } from "arena";

const PAGE_BYTES = 96 * 1024;

// The keys each render reads, encoded to UTF-8 once at start-up, and the page's markup,
// encoded once too: a request copies them.
const PRODUCT = new JsonKeys(["id", "title", "brand", "category", "price", "tags"]);
const ORDER = new JsonKeys(["id", "customer", "items", "shipping", "adjustment", "tags"]);
const CUSTOMER = new JsonKeys(["name", "address"]);
const ADDRESS = new JsonKeys(["city", "country"]);
const ITEM = new JsonKeys(["sku", "qty", "price"]);
const PAGE_START = Html.literal("<!doctype html><table>");
const PAGE_END = Html.literal("</table>");
const ROW_START = Html.literal("<tr><td>");
const CELL = Html.literal("</td><td>");
const ROW_END = Html.literal("</td></tr>");
const PRICE_CELL = Html.literal("</td><td>$");
const TAG_START = Html.literal("<span>");
const TAG_END = Html.literal("</span>");

export function renderProducts(doc: JsonDoc): ByteWriter {
  const h = new Html(null, PAGE_BYTES);
  const f = new JsonFields(PRODUCT);
  h.rawBytes(PAGE_START);
  for (let p = doc.root.first(); p.exists; p.next()) {
    f.pick(p);
    h.rawBytes(ROW_START).int(f.at(0).intOr(0))
      .rawBytes(CELL).textJson(f.at(1))
      .rawBytes(CELL).textJson(f.at(2))
      .rawBytes(CELL).textJson(f.at(3))
      .rawBytes(PRICE_CELL);
    const cents = <i64>Math.round(f.at(4).numOr(0) * 100);
    const c = cents % 100;
    h.int(cents / 100).raw(c < 10 ? ".0" : ".").int(c).rawBytes(CELL);
    let first = true;
    for (let t = f.at(5).first(); t.exists; t.next()) {
      if (!first) h.raw(", ");
      h.textJson(t);
      first = false;
    }
    h.rawBytes(ROW_END);
  }
  h.rawBytes(PAGE_END);
  return h.writer();
}


/** Whole cents of an amount: the document's amounts are whole cents, so rounding the
 *  product (the same double arithmetic as JavaScript's) only corrects the binary fraction. */
function cents(v: JsonValue): i64 {
  return <i64>Math.round(v.numOr(0) * 100);
}

/** `-$12.05` / `$0.00` from whole cents. */
function money(h: Html, c: i64): void {
  const abs = c < 0 ? -c : c;
  const r = abs % 100;
  h.raw(c < 0 ? "-$" : "$").int(abs / 100).raw(r < 10 ? ".0" : ".").int(r);
}

export function renderOrders(doc: JsonDoc): ByteWriter {
  const h = new Html(null, PAGE_BYTES);
  const o = new JsonFields(ORDER);
  const customer = new JsonFields(CUSTOMER);
  const address = new JsonFields(ADDRESS);
  const item = new JsonFields(ITEM);
  h.rawBytes(PAGE_START);
  for (let v = doc.root.get("orders").first(); v.exists; v.next()) {
    o.pick(v);
    customer.pick(o.at(1));
    address.pick(customer.at(1));
    h.rawBytes(ROW_START).int(o.at(0).intOr(0))
      .rawBytes(CELL).textJson(customer.at(0))
      .rawBytes(CELL).textJson(address.at(0))
      .raw(", ").textJson(address.at(1))
      .rawBytes(CELL);
    let total: i64 = 0;
    let first = true;
    for (let it = o.at(2).first(); it.exists; it.next()) {
      item.pick(it);
      const qty = item.at(1).intOr(0);
      const price = cents(item.at(2));
      total += qty * price;
      if (!first) h.raw("; ");
      h.int(qty).raw(" × ").textJson(item.at(0)).raw(" @ ");
      money(h, price);
      first = false;
    }
    const shipping = cents(o.at(3));
    const adjustment = cents(o.at(4));
    h.rawBytes(CELL);
    money(h, shipping);
    h.rawBytes(CELL);
    money(h, adjustment);
    h.rawBytes(CELL);
    money(h, total + shipping + adjustment);
    h.rawBytes(CELL);
    for (let t = o.at(5).first(); t.exists; t.next()) h.rawBytes(TAG_START).textJson(t).rawBytes(TAG_END);
    h.rawBytes(ROW_END);
  }
  h.rawBytes(PAGE_END);
  return h.writer();
}

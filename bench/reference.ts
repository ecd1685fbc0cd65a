// The benchmark's data and its reference renderer. The harness renders the expected bodies
// here, independently of the peers' code (character by character, into UTF-8 bytes), and
// refuses to measure a server whose body or Content-Type differs.

import fs from "node:fs";
import path from "node:path";

export const HELLO_BODY = Buffer.from("Hello from Arena!\n", "utf8");
export const HELLO_TYPE = "text/plain; charset=utf-8";
export const HTML_TYPE = "text/html; charset=utf-8";

interface SourceProduct {
  id: number;
  title: string;
  brand: string;
  category: string;
  price: number;
  tags: string[];
  reviews?: unknown;
  [key: string]: unknown;
}

/** The W2/W2b document: the catalogue's 200 products without their reviews, compact
 *  JSON (JSON.stringify, so non-ASCII stays as UTF-8 and only " \ and controls are escaped). */
export function benchDocument(root: string): Buffer {
  const source = JSON.parse(fs.readFileSync(path.join(root, "examples/catalog/data/products.json"), "utf8")) as SourceProduct[];
  const products = source.map((p) => {
    const copy: Record<string, unknown> = { ...p };
    delete copy.reviews;
    return copy;
  });
  return Buffer.from(JSON.stringify(products), "utf8");
}

function escapeInto(out: string[], s: string): void {
  for (const ch of s) {
    if (ch === "&") out.push("&amp;");
    else if (ch === "<") out.push("&lt;");
    else if (ch === ">") out.push("&gt;");
    else if (ch === "\"") out.push("&quot;");
    else if (ch === "'") out.push("&#39;");
    else out.push(ch);
  }
}

/** The expected W2/W2b body for `doc`, as UTF-8 bytes. */
export function referenceTable(doc: Buffer): Buffer {
  const products = JSON.parse(doc.toString("utf8")) as SourceProduct[];
  const out: string[] = ["<!doctype html><table>"];
  for (const p of products) {
    out.push("<tr><td>", String(p.id), "</td><td>");
    escapeInto(out, p.title);
    out.push("</td><td>");
    escapeInto(out, p.brand);
    out.push("</td><td>");
    escapeInto(out, p.category);
    const cents = Math.round(p.price * 100);
    out.push("</td><td>$", String(Math.floor(cents / 100)), ".", String(cents % 100).padStart(2, "0"), "</td><td>");
    p.tags.forEach((t, i) => {
      if (i > 0) out.push(", ");
      escapeInto(out, t);
    });
    out.push("</td></tr>");
  }
  out.push("</table>");
  return Buffer.from(out.join(""), "utf8");
}

// ---------------------------------------------------------------------------------------
// W3/W3b: the orders document (bench/orders.ts). Every number is read from its source
// text with exact decimal arithmetic (BigInt), never through a double, so the reference
// does not share the float path the servers take (and refuses a document whose amounts
// are not whole cents, which would make that path ambiguous).

/** A number of the document: its JSON source text. */
interface SourceNumber {
  source: string;
}

type Source = SourceNumber | string | Source[] | { [key: string]: Source };

const NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** The exact value × 100 of a JSON number's text; throws unless it is a whole number. */
export function exactCents(text: string): bigint {
  const m = NUMBER.exec(text);
  if (!m) throw new Error(`not a JSON number: ${text}`);
  const frac = m[3] ?? "";
  const shift = Number(m[4] ?? 0) - frac.length + 2;
  let v = BigInt(m[2] + frac);
  if (shift >= 0) v *= 10n ** BigInt(shift);
  else {
    const d = 10n ** BigInt(-shift);
    if (v % d !== 0n) throw new Error(`${text} is not a whole number of cents`);
    v /= d;
  }
  return m[1] === "-" ? -v : v;
}

/** `-$12.05` / `$0.00` from exact cents. */
function money(cents: bigint): string {
  const abs = cents < 0n ? -cents : cents;
  return (cents < 0n ? "-$" : "$") + String(abs / 100n) + "." + String(abs % 100n).padStart(2, "0");
}

/** An integer's decimal text from its source (exact, "-0" as "0"). */
function integer(n: Source): string {
  const text = (n as SourceNumber).source;
  if (!/^-?\d+$/.test(text)) throw new Error(`not an integer: ${text}`);
  return String(BigInt(text));
}

function field(o: Source, key: string): Source {
  const v = (o as Record<string, Source>)[key];
  if (v === undefined) throw new Error(`missing member ${key}`);
  return v;
}

/** The expected W3/W3b body for the orders document `doc`, as UTF-8 bytes. */
export function referenceOrders(doc: Buffer): Buffer {
  const root = JSON.parse(doc.toString("utf8"), (_key, value, context?: { source?: string }) =>
    typeof value === "number" ? { source: context!.source! } : value) as Source;
  const out: string[] = ["<!doctype html><table>"];
  for (const o of field(root, "orders") as Source[]) {
    const customer = field(o, "customer");
    const address = field(customer, "address");
    out.push("<tr><td>", integer(field(o, "id")), "</td><td>");
    escapeInto(out, field(customer, "name") as string);
    out.push("</td><td>");
    escapeInto(out, field(address, "city") as string);
    out.push(", ");
    escapeInto(out, field(address, "country") as string);
    out.push("</td><td>");
    let total = 0n;
    (field(o, "items") as Source[]).forEach((item, i) => {
      const qty = integer(field(item, "qty"));
      const price = exactCents((field(item, "price") as SourceNumber).source);
      total += BigInt(qty) * price;
      if (i > 0) out.push("; ");
      out.push(qty, " × ");
      escapeInto(out, field(item, "sku") as string);
      out.push(" @ ", money(price));
    });
    const shipping = exactCents((field(o, "shipping") as SourceNumber).source);
    const adjustment = exactCents((field(o, "adjustment") as SourceNumber).source);
    total += shipping + adjustment;
    out.push("</td><td>", money(shipping), "</td><td>", money(adjustment), "</td><td>", money(total), "</td><td>");
    for (const t of field(o, "tags") as Source[]) {
      out.push("<span>");
      escapeInto(out, t as string);
      out.push("</span>");
    }
    out.push("</td></tr>");
  }
  out.push("</table>");
  return Buffer.from(out.join(""), "utf8");
}

/** The first byte offset where `a` and `b` differ, or -1. */
export function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

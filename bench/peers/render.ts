// The W1/W2/W2b responses, shared by the JavaScript peers (node:http, Fastify, Hono,
// Bun.serve, Deno.serve). Plain TypeScript with erasable syntax only, no runtime-specific
// API, so Node, Bun and Deno all load this same file. The render is specified in
// docs/performance.md; bench/reference.ts is the independent reference it is checked against.

export const HELLO = "Hello from Arena!\n";
export const TEXT_TYPE = "text/plain; charset=utf-8";
export const HTML_TYPE = "text/html; charset=utf-8";

export interface Product {
  id: number;
  title: string;
  brand: string;
  category: string;
  price: number;
  tags: string[];
}

const SPECIAL = /[&<>"']/;
const SPECIAL_ALL = /[&<>"']/g;

function entity(c: string): string {
  switch (c) {
    case "&": return "&amp;";
    case "<": return "&lt;";
    case ">": return "&gt;";
    case "\"": return "&quot;";
    default: return "&#39;";
  }
}

/** Escapes & < > " ' (strings without any are returned as they are). */
export function escapeHtml(s: string): string {
  return SPECIAL.test(s) ? s.replace(SPECIAL_ALL, entity) : s;
}

/** "$X.YY" from Math.round(price × 100) cents. */
export function formatPrice(price: number): string {
  const cents = Math.round(price * 100);
  const c = cents % 100;
  return "$" + Math.trunc(cents / 100) + (c < 10 ? ".0" : ".") + c;
}

/** The W2/W2b page: `<!doctype html><table>`, one row per product, `</table>`. */
export function renderTable(products: Product[]): string {
  let out = "<!doctype html><table>";
  for (const p of products) {
    let tags = "";
    for (let i = 0; i < p.tags.length; i++) tags += (i === 0 ? "" : ", ") + escapeHtml(p.tags[i]);
    out += "<tr><td>" + p.id + "</td><td>" + escapeHtml(p.title) + "</td><td>" + escapeHtml(p.brand) + "</td><td>" +
      escapeHtml(p.category) + "</td><td>" + formatPrice(p.price) + "</td><td>" + tags + "</td></tr>";
  }
  return out + "</table>";
}

// W3/W3b: the orders document (bench/orders.ts), rendered as docs/performance.md specifies.

export interface Order {
  id: number;
  customer: { name: string; address: { city: string; country: string } };
  items: { sku: string; qty: number; price: number }[];
  shipping: number;
  adjustment: number;
  tags: string[];
}

/** Whole cents of an amount (the document's amounts are whole cents, so rounding the
 *  product corrects only the binary fraction's error: 4.35 × 100 = 434.99999999999994). */
export function cents(amount: number): number {
  return Math.round(amount * 100);
}

/** `-$12.05` / `$0.00` from whole cents (-0 is not negative). */
export function formatMoney(c: number): string {
  const abs = Math.abs(c);
  const r = abs % 100;
  return (c < 0 ? "-$" : "$") + Math.trunc(abs / 100) + (r < 10 ? ".0" : ".") + r;
}

/** The W3/W3b page: `<!doctype html><table>`, one row per order, `</table>`. */
export function renderOrders(doc: { orders: Order[] }): string {
  let out = "<!doctype html><table>";
  for (const o of doc.orders) {
    const address = o.customer.address;
    let items = "";
    let total = 0;
    for (let i = 0; i < o.items.length; i++) {
      const it = o.items[i];
      const price = cents(it.price);
      total += it.qty * price;
      items += (i === 0 ? "" : "; ") + it.qty + " × " + escapeHtml(it.sku) + " @ " + formatMoney(price);
    }
    const shipping = cents(o.shipping);
    const adjustment = cents(o.adjustment);
    total += shipping + adjustment;
    let tags = "";
    for (let i = 0; i < o.tags.length; i++) tags += "<span>" + escapeHtml(o.tags[i]) + "</span>";
    out += "<tr><td>" + o.id + "</td><td>" + escapeHtml(o.customer.name) + "</td><td>" + escapeHtml(address.city) + ", " +
      escapeHtml(address.country) + "</td><td>" + items + "</td><td>" + formatMoney(shipping) + "</td><td>" +
      formatMoney(adjustment) + "</td><td>" + formatMoney(total) + "</td><td>" + tags + "</td></tr>";
  }
  return out + "</table>";
}

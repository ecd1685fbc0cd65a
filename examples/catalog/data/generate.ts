// Generates examples/catalog/data/products.json: 200 plausible shop products, the same
// bytes on every run (seeded PRNG, fixed dates; no Math.random, no clock).
//
//   node examples/catalog/data/generate.ts          # writes products.json, prints sizes
//   node examples/catalog/data/generate.ts --check  # exits 1 if products.json is stale
//
// The strings are chosen to exercise the catalogue app's HTML escaping and UTF-8 handling:
// ampersands ("Tom & Sons"), both quote characters, angle brackets ("Fits <A4> paper",
// "size < 10 cm"), Latin accents (é, ü, ß, ñ), CJK (日本) and non-BMP emoji (☕ is BMP,
// 🚀 is not: escaped in JSON it becomes the surrogate pair \ud83d\ude80).

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface Review {
  reviewer: string;
  rating: number;
  comment: string;
  date: string;
}

export interface Product {
  id: number;
  title: string;
  brand: string;
  category: string;
  description: string;
  price: number;
  rating: number;
  stock: number;
  tags: string[];
  reviews: Review[];
}

export const PRODUCT_COUNT = 200;
const SEED = 0x5eed_a12e;

/** mulberry32: a small, well-distributed 32-bit PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface CategorySpec {
  name: string;
  brands: string[];
  /** [noun, base price in dollars, what it is] */
  items: [string, number, string][];
  adjectives: string[];
  /** Sentences that fit any item of the category; {b} is the brand, {n} a small number. */
  blurbs: string[];
  tags: string[];
}

const CATEGORIES: CategorySpec[] = [
  {
    name: "Kitchen",
    brands: ["Tom & Sons", "Küchenwerk", "Maison Fontaine", "Brewster's", "Nakamura 日本", "Casa Peña"],
    items: [
      ["Chef's Knife", 49, "A 20 cm blade of German steel, honed by hand to 15°."],
      ["Cast-Iron Skillet", 39, "Pre-seasoned & oven-safe to 260 °C; gets better with every fry-up."],
      ["Pour-Over Coffee Kit ☕", 34, "Brews {n} cups of bright, clean coffee in under 4 minutes ☕."],
      ["Espresso Tamper", 19, "A 58 mm flat base that fits most \"prosumer\" portafilters."],
      ["Bamboo Cutting Board", 24, "Knife-friendly bamboo with a juice groove & rubber feet."],
      ["Stand Mixer", 249, "A 1000 W motor & {n} speeds knead bread dough without a wobble."],
      ["Santoku Knife", 59, "The Japanese all-rounder: 18 cm, hollow-ground, 日本製."],
      ["Tea Kettle", 44, "Boils 1.7 L in < 4 minutes and whistles (politely) when it's done."],
      ["Spice Grinder", 29, "Ceramic burrs for pepper, salt, cumin & coriander seeds."],
      ["Crème Brûlée Torch", 27, "Caramelises sugar in seconds; refillable with any butane can."],
    ],
    adjectives: ["Classic", "Pro", "Compact", "Heritage", "Everyday", "Artisan"],
    blurbs: [
      "Built by {b} for daily use & easy cleaning.",
      "Dishwasher-safe (but we'd hand-wash it).",
      "Rated \"best in class\" by home cooks & pros alike.",
      "Fits drawers < 45 cm deep; a storage pouch is included.",
      "Crème de la crème of our kitchen range.",
    ],
    tags: ["kitchen", "cooking", "coffee", "gift", "steel", "dishwasher-safe", "café"],
  },
  {
    name: "Outdoor",
    brands: ["Trail & Summit", "Fjällvind", "Nordwand", "O'Malley Outfitters", "Montaña Roja", "Cascade Co."],
    items: [
      ["Ultralight Tent", 289, "A two-person tent that weighs just 1.{n} kg & pitches in 3 minutes."],
      ["Down Sleeping Bag", 219, "Good to -{n} °C with 800-fill responsibly sourced down."],
      ["Trekking Poles", 79, "Carbon shafts & cork grips; fold to < 40 cm for travel."],
      ["Headlamp 400 lm", 34, "400 lumens, red night mode & USB-C charging; IPX{n} rated."],
      ["Water Filter", 44, "Removes 99.9999 % of bacteria; filters up to 4000 L."],
      ["Camp Stove", 59, "Boils a litre in {n} minutes, even in a stiff breeze."],
      ["Rain Shell", 149, "Waterproof to 20,000 mm with pit zips & a helmet-ready hood."],
      ["Daypack 22 L", 89, "A 22 L pack with a rain cover, hip belt & hydration sleeve."],
      ["Hammock", 49, "Parachute nylon holds 200 kg; the straps won't hurt the trees."],
      ["Insulated Bottle", 29, "Keeps drinks cold for 24 h & hot for {n} h ☕."],
    ],
    adjectives: ["Alpine", "Trail", "Expedition", "Backcountry", "Weekend", "Summit"],
    blurbs: [
      "Tested on the Haute Route between Chamonix and Zermatt — in snow, sleet & sun.",
      "Made with recycled materials by {b}; repairs are free for life.",
      "Our guides' pick for the Camino de Santiago 🥾.",
      "Packs down smaller than you'd think; \"bomb-proof\" say our testers.",
    ],
    tags: ["outdoor", "camping", "hiking", "ultralight", "waterproof", "travel", "winter"],
  },
  {
    name: "Books",
    brands: ["Penguin & Co.", "Éditions Lumière", "O'Rourke Press", "Tor & Tide", "Kōdansha Bunko", "Sonnenkamp Verlag"],
    items: [
      ["Field Guide to Mushrooms", 24, "Identifies {n}00 species of Europe's fungi — edible, inedible & deadly."],
      ["Bread Baking Handbook", 29, "From sourdough starter to pain de campagne, with step-by-step photos."],
      ["Sci-Fi Anthology", 18, "Twenty stories of first contact, from Lem to Liu Cixin 🚀."],
      ["History of Tea", 22, "How a leaf from Yunnan conquered the world, one cup at a time ☕."],
      ["Learn Rust in 30 Days", 39, "Covers Vec<T>, Option<T>, traits & lifetimes with {n}0 worked examples."],
      ["Cuentos de la Alhambra", 14, "Washington Irving's tales of Granada, in a new Spanish translation (español)."],
      ["Haiku Collection", 12, "Bashō, Buson & Issa, in 日本語 with facing English translations."],
      ["Atlas of Remote Islands", 27, "Fifty islands you will never visit, mapped & described."],
      ["Systems Design Notes", 44, "Queues, caches & back-pressure, explained with < 1 equation per page."],
      ["Kinderbuch: Der Bär", 11, "A bedtime story about a bear who can't sleep; for ages {n}+ (auf Deutsch)."],
    ],
    adjectives: ["Illustrated", "Revised", "Pocket", "Hardcover", "Annotated", "Collector's"],
    blurbs: [
      "A {n}th-anniversary edition with a new foreword & index.",
      "\"Un chef-d'œuvre\" — Le Monde.",
      "Printed on FSC paper by {b}; 312 pages.",
      "Includes the author's notes from Müller's 1911 archive.",
    ],
    tags: ["books", "reading", "paperback", "hardcover", "gift", "bestseller", "translated"],
  },
  {
    name: "Electronics",
    brands: ["Voltwerk", "Sonic & Signal", "Kōsoku", "Bright<Byte>", "Eléctrica Núñez", "Pixel Pioneer"],
    items: [
      ["Noise-Cancelling Headphones", 199, "Up to {n}0 hours of battery; aptX & AAC; folds flat."],
      ["USB-C Hub", 49, "HDMI 4K@60, 2× USB-A, SD & 100 W pass-through charging."],
      ["Mechanical Keyboard", 129, "Hot-swappable switches, PBT keycaps & an ISO/ANSI layout toggle."],
      ["4K Webcam", 89, "4K at 30 fps with auto-framing & a privacy shutter."],
      ["Portable SSD 1 TB", 99, "Blazing fast 🚀: up to 1050 MB/s read, {n}00 MB/s write."],
      ["Smart Plug", 19, "Schedules & energy reports in the app; works with Matter."],
      ["E-Reader", 139, "A 7\" glare-free screen & weeks of battery; reads EPUB & PDF."],
      ["Bluetooth Speaker", 69, "360° sound, IP67 & {n}0 hours of play — pool-party-proof."],
      ["Wireless Mouse", 39, "Silent clicks, 4000 DPI & a battery that lasts {n} months."],
      ["Power Bank 20 000 mAh", 45, "Charges a phone {n} times or a laptop once, at up to 65 W."],
    ],
    adjectives: ["Pro", "Mini", "Max", "Air", "Ultra", "Studio"],
    blurbs: [
      "Works with macOS, Windows & Linux — no drivers needed.",
      "Latency < 20 ms and \"plug and play\" setup.",
      "Ships with a 1 m braided cable & a 2-year warranty from {b}.",
      "Firmware updates over the air; the app's UI is in 12 languages.",
    ],
    tags: ["electronics", "usb-c", "wireless", "audio", "gadget", "bluetooth", "work-from-home"],
  },
  {
    name: "Toys",
    brands: ["Jolly & Jumbo", "Spielzeug Fuchs", "Little Ñandú", "Kazoo Kids", "Tanaka Toys 日本", "Bricks'n'Bots"],
    items: [
      ["Wooden Train Set", 59, "{n}0 pieces of beech track, a bridge & a magnetic engine."],
      ["Robot Building Kit", 79, "Build 5 robots & teach them if/else, loops & sensors."],
      ["Plush Fox", 24, "A 30 cm fox with floppy ears; machine-washable at 30 °C."],
      ["Marble Run", 49, "{n}0 parts & 20 marbles; endless tracks, endless clatter."],
      ["Kite", 19, "A rip-stop delta kite that flies in the lightest breeze."],
      ["Puzzle 1000 pcs", 22, "1000 pieces showing Neuschwanstein in autumn; 68 × 48 cm."],
      ["Rocket Launcher 🚀", 29, "Stomp to launch foam rockets up to {n}0 m — no batteries required 🚀."],
      ["Magnetic Tiles", 64, "{n}0 translucent tiles that click into castles, cubes & spaceships."],
      ["Dollhouse", 119, "Three floors, a working lift & {n} rooms of furniture."],
      ["Card Game", 14, "Fast, loud & silly; 2–6 players, 15 minutes a round."],
    ],
    adjectives: ["Deluxe", "Starter", "Mega", "Classic", "Rainbow", "Junior"],
    blurbs: [
      "Ages {n}+. Small parts: not for children < 3 years.",
      "Non-toxic paints, tested to EN 71; made in the Erzgebirge.",
      "\"Hours of fun\" — our testers' verdict.",
      "Compatible with the other {b} sets; stores in its own box.",
    ],
    tags: ["toys", "kids", "stem", "wooden", "gift", "family", "puzzle"],
  },
  {
    name: "Home",
    brands: ["Maison & Meadow", "Hygge Haus", "Ōkami Living", "Dunn's Linen", "Casa Niño", "Lumen<Lab>"],
    items: [
      ["Linen Duvet Cover", 129, "Stonewashed Lithuanian linen that gets softer with every wash."],
      ["Scented Candle", 18, "Burns for {n}0 hours; notes of cedar, amber & fig."],
      ["Wool Throw", 79, "Merino & cashmere, 130 × 170 cm, with hand-knotted fringes."],
      ["Table Lamp", 69, "Warm 2700 K light, dimmable, with a \"reading mode\" at a tap."],
      ["Ceramic Vase", 34, "Hand-thrown; the glaze varies slightly — that's the charm."],
      ["Blackout Curtains", 54, "Blocks 99 % of light; 140 × 2{n}0 cm, two panels."],
      ["Wall Clock", 39, "A silent sweep movement & an oak frame, Ø 30 cm."],
      ["Storage Baskets (set of 3)", 44, "Seagrass baskets in three sizes, the smallest < 20 cm wide."],
      ["Doormat", 24, "Coir & rubber; says \"Hallo\" in 5 languages."],
      ["Picture Frame", 16, "Fits <A4> prints or 21 × 30 cm photos; wall-mount & stand included."],
    ],
    adjectives: ["Nordic", "Rustic", "Modern", "Cosy", "Minimal", "Vintage"],
    blurbs: [
      "Designed in Malmö, made in Portugal by {b}.",
      "Comes gift-wrapped with a card that says \"Welcome home\".",
      "Looks right in any room, from a Berlin Altbau to a flat in Málaga.",
      "Natural materials & no plastic packaging.",
    ],
    tags: ["home", "decor", "linen", "cosy", "bedroom", "living-room", "gift"],
  },
  {
    name: "Garden",
    brands: ["Green & Gable", "Gärtnerei Groß", "Jardín Ñuñoa", "Kewley Tools", "Bonsai Zen 盆栽", "Hedgehog & Hare"],
    items: [
      ["Pruning Shears", 34, "Bypass blades cut branches up to {n} cm; spring & lock are replaceable."],
      ["Raised Bed Kit", 149, "FSC larch & galvanised corners; assembles in < 20 minutes."],
      ["Watering Can 5 L", 29, "A long brass rose for a gentle shower on seedlings."],
      ["Seed Starter Tray", 19, "{n}0 cells, a humidity dome & a drip tray."],
      ["Compost Bin", 89, "Holds {n}00 L of kitchen scraps; rodent-proof lid."],
      ["Garden Kneeler", 39, "Flips from kneeler to seat; handles help you up again."],
      ["Solar Lights (10 pcs)", 44, "Charge in full sun & glow for up to {n} hours."],
      ["Bird Feeder", 27, "Squirrel-resistant; holds 1 kg of seed for tits, finches & robins."],
      ["Herb Planter", 32, "Grows basil, thyme & shiso on any sunny windowsill."],
      ["Hose Reel", 64, "Holds 30 m of hose & rolls on two big wheels."],
    ],
    adjectives: ["Heavy-Duty", "Cottage", "Urban", "Eco", "Terrace", "Heritage"],
    blurbs: [
      "\"The last one you'll ever buy\" — Gärtner's Weekly.",
      "Weather-proof & UV-stable for {n} seasons and more.",
      "Made by {b}; the packaging is 100 % recycled.",
      "A favourite of balcony gardeners & allotment veterans.",
    ],
    tags: ["garden", "outdoor", "plants", "tools", "eco", "balcony", "herbs"],
  },
  {
    name: "Sports",
    brands: ["Peak & Pulse", "Fußball Fabrik", "Ola Deportes", "Kōbe Athletics", "Iron & Oak", "Velo d'Or"],
    items: [
      ["Yoga Mat", 39, "Non-slip on both sides; {n} mm thick & easy on the knees."],
      ["Adjustable Dumbbells", 199, "Dial from 2 to {n}0 kg in seconds; replaces 15 pairs."],
      ["Running Vest", 59, "Breathable mesh, reflective trim & two soft flasks."],
      ["Jump Rope", 14, "Ball-bearing handles & a steel cable for double-unders."],
      ["Foam Roller", 24, "A 33 cm roller with ridges for calves, quads & IT bands."],
      ["Cycling Jersey", 69, "A full-length zip, three back pockets & UPF 50."],
      ["Tennis Racket", 129, "\"Feels like a pro racket\" — and it's < 300 g."],
      ["Football Size 5", 29, "Thermo-bonded panels; FIFA Quality Pro certified."],
      ["Resistance Bands", 22, "Five latex-free bands from 5 to {n}0 kg, with a door anchor."],
      ["Swim Goggles", 19, "Anti-fog, UV-protected & a seal that doesn't leave marks."],
    ],
    adjectives: ["Performance", "Training", "Race", "Club", "Elite", "Studio"],
    blurbs: [
      "Used by the club's U-{n} team all season.",
      "Designed in Barcelona by {b}; sizes XS–XXL where it applies.",
      "Built for {n} sessions a week, every week.",
      "\"Worth every cent\" — Läufer Magazin.",
    ],
    tags: ["sports", "fitness", "running", "yoga", "training", "team", "cycling"],
  },
  {
    name: "Beauty",
    brands: ["Rose & Rye", "Seifenhaus Weiß", "Belleza Núñez", "Sakura Skin 桜", "L'Atelier Doux", "Bare & Bold"],
    items: [
      ["Face Serum", 34, "Niacinamide & hyaluronic acid for a dewy, even complexion."],
      ["Shampoo Bar", 12, "Lasts {n}0 washes; no plastic bottle, no \"mystery\" ingredients."],
      ["Hand Cream", 14, "Shea & calendula; absorbs in {n} seconds without a greasy film."],
      ["Lip Balm (3-pack)", 9, "Beeswax, vanilla & mint in a tin that fits any pocket."],
      ["Clay Mask", 24, "French green clay & Hokkaidō rice water; 10 minutes, twice a week."],
      ["Beard Oil", 19, "Argan & jojoba with a hint of cedar; 30 ml with a dropper."],
      ["Sunscreen SPF 50", 22, "Reef-friendly mineral filters; no white cast on any skin tone."],
      ["Bath Salts", 16, "Dead Sea salt with eucalyptus & lavender; 500 g."],
      ["Hair Brush", 27, "Beech wood & natural bristles; detangles without the tears."],
      ["Perfume 50 ml", 79, "Rose, vétiver & a whisper of oud; eau de parfum, 50 ml."],
    ],
    adjectives: ["Gentle", "Daily", "Botanical", "Intense", "Pure", "Overnight"],
    blurbs: [
      "Vegan & cruelty-free.",
      "pH < 5.5, suitable for sensitive skin; dermatologist-tested.",
      "A bestseller at {b}'s Paris atelier since 2014.",
      "Formulated without parabens, silicones & \"fillers\".",
    ],
    tags: ["beauty", "skincare", "vegan", "natural", "gift", "haircare", "plastic-free"],
  },
  {
    name: "Office",
    brands: ["Paper & Pine", "Schreibwaren Müller", "Oficina Española", "Kobayashi 日本", "Ink'd", "Desk<Works>"],
    items: [
      ["A5 Dotted Notebook", 16, "120 g/m² paper that won't bleed — fountain-pen friendly ✒️."],
      ["Fountain Pen", 49, "Steel nib, \"medium\" grade, with a converter & {n} cartridges."],
      ["Desk Organizer", 29, "Slots for pens, phone & a 13\" laptop keep the desk tidy."],
      ["Monitor Stand", 59, "Raises your screen by {n} cm; oak veneer & powder-coated steel."],
      ["Ergonomic Chair", 349, "Adjustable lumbar support & 4D arms; tested for 8-hour days."],
      ["Document Folder", 12, "Fits <A4> paper & letter-size; holds up to {n}0 sheets."],
      ["Sticky Notes (12 pads)", 9, "Twelve pads of 100 notes that stick, peel & stick again."],
      ["Label Maker", 39, "Prints labels 6–24 mm wide over Bluetooth; emoji included 🚀."],
      ["Desk Lamp", 54, "A flicker-free LED with 5 colour temperatures & a USB port."],
      ["Wireless Charger Pad", 25, "15 W Qi charging through cases < 5 mm thick."],
    ],
    adjectives: ["Executive", "Compact", "Classic", "Studio", "Ergo", "Premium"],
    blurbs: [
      "Made by {b}; ships in plastic-free packaging.",
      "Part of our \"Work from anywhere\" range.",
      "A favourite of architects, authors & accountants.",
      "Backed by a {n}-year guarantee.",
    ],
    tags: ["office", "stationery", "desk", "paper", "ergonomic", "writing", "work-from-home"],
  },
];

const REVIEWERS = [
  "Alice M.", "José Núñez", "Jürgen Weiß", "田中 花子", "Zoë O'Brien", "Chloé Dubois", "Sam \"Sammy\" Lee",
  "Mariana Peña", "Björn Åkesson", "Priya R.", "Dmitri K.", "Aoife Ní Bhriain", "Kenji 🚀", "Fatima Z.",
  "Léa & Tom", "Grace H.", "Mateo García", "Søren L.", "Ana-María", "Oliver <Ollie> Grant",
];

const COMMENTS: [number, string][] = [
  [5, "Absolutely love it — exactly as described!"],
  [5, "Best purchase this year 🚀"],
  [5, "My partner said \"finally, one that works\" & I agree."],
  [5, "Sehr gut! Qualität überzeugt, Lieferung schnell."],
  [4, "Great value, though the box was a bit dented."],
  [4, "Works well; instructions could be clearer (step 3 < step 4?)."],
  [4, "Très bien, un peu cher mais ça vaut le coup."],
  [4, "Solid. I'd buy it again — it's my go-to now ☕."],
  [3, "It's OK. Does the job, nothing special."],
  [3, "Muy bonito pero más pequeño de lo que esperaba."],
  [3, "Decent, but the colour isn't quite like the photo."],
  [2, "Stopped working after 3 weeks; support was helpful & replaced it."],
  [2, "Smaller than expected: < 10 cm, not 15 as listed."],
  [1, "Arrived broken. \"Fragile\" sticker didn't help 😞."],
  [1, "期待していたものと違いました。"],
];

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)];
}

function pickDistinct<T>(rnd: () => number, list: readonly T[], n: number): T[] {
  const pool = [...list];
  const out: T[] = [];
  while (out.length < n && pool.length > 0) out.push(pool.splice(Math.floor(rnd() * pool.length), 1)[0]);
  return out;
}

// Mostly .99/.95/.49; some whole and half dollars, which JSON serializes as 38 and 74.5.
const ENDINGS = [0.99, 0.99, 0.99, 0.95, 0.95, 0.49, 0.5, 0.0];
const DATE_FROM = Date.UTC(2023, 0, 1);
const DATE_SPAN_MS = 700 * 24 * 3600 * 1000;

export function generate(): Product[] {
  const rnd = prng(SEED);
  const products: Product[] = [];
  const seenTitles = new Set<string>();
  for (let id = 1; id <= PRODUCT_COUNT; id++) {
    const cat = CATEGORIES[(id - 1) % CATEGORIES.length];
    let title = "";
    let brand = "";
    let base = 0;
    let about = "";
    // Adjective + item from a brand; retry until brand + title is unique in the catalogue.
    for (let attempt = 0; attempt < 50; attempt++) {
      const [noun, price, sentence] = pick(rnd, cat.items);
      brand = pick(rnd, cat.brands);
      title = `${pick(rnd, cat.adjectives)} ${noun}`;
      base = price;
      about = sentence;
      if (!seenTitles.has(`${brand}|${title}`)) break;
    }
    seenTitles.add(`${brand}|${title}`);

    // The item's own sentence, sometimes followed by one about the brand or range.
    const n = 2 + Math.floor(rnd() * 8);
    const sentences = rnd() < 0.5 ? [about, pick(rnd, cat.blurbs)] : [about];
    const description = sentences.map((s) => s.replaceAll("{b}", brand).replaceAll("{n}", String(n))).join(" ");

    // Price: the item's base price ±30 %, ending in a shop-like cents value.
    const dollars = Math.max(4, Math.round(base * (0.7 + rnd() * 0.6)) - 1);
    const cents = Math.round(ENDINGS[Math.floor(rnd() * ENDINGS.length)] * 100);
    const price = (dollars * 100 + cents) / 100;

    const reviewCount = Math.floor(rnd() * 5); // 0..4
    const reviews: Review[] = [];
    for (let r = 0; r < reviewCount; r++) {
      const [stars, comment] = pick(rnd, COMMENTS);
      const date = new Date(DATE_FROM + Math.floor(rnd() * DATE_SPAN_MS / 60000) * 60000).toISOString();
      reviews.push({ reviewer: pick(rnd, REVIEWERS), rating: stars, comment, date });
    }
    reviews.sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0)); // newest first

    // Rating: the average over all of the shop's ratings, of which the reviews shown are a
    // few; so it leans towards their mean without being equal to it.
    const overall = 3.2 + rnd() * 1.75;
    const mean = reviews.length > 0 ? reviews.reduce((s, r) => s + r.rating, 0) / reviews.length : overall;
    const rating = Math.round(Math.min(5, (overall * 3 + mean) / 4) * 100) / 100;

    const stock = rnd() < 0.08 ? 0 : Math.floor(rnd() * (base > 150 ? 40 : 250));
    const tags = [cat.tags[0], ...pickDistinct(rnd, cat.tags.slice(1), 1 + Math.floor(rnd() * 3))];

    products.push({ id, title, brand, category: cat.name, description, price, rating, stock, tags, reviews });
  }
  return products;
}

/** A product as the list and detail endpoints serve it: everything but the reviews. */
export function withoutReviews(p: Product): Omit<Product, "reviews"> {
  const { reviews: _reviews, ...rest } = p;
  return rest;
}

/** The file's text: one product per line, so diffs stay readable. */
export function serialize(products: Product[]): string {
  return "[\n" + products.map((p) => "  " + JSON.stringify(p)).join(",\n") + "\n]\n";
}

export const DATA_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), "products.json");

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const products = generate();
  const text = serialize(products);
  if (process.argv.includes("--check")) {
    const current = fs.existsSync(DATA_FILE) ? fs.readFileSync(DATA_FILE, "utf8") : "";
    if (current !== text) {
      console.error(`${path.relative(process.cwd(), DATA_FILE)} is stale: run node examples/catalog/data/generate.ts`);
      process.exit(1);
    }
    console.log(`${path.relative(process.cwd(), DATA_FILE)} is up to date`);
  } else {
    fs.writeFileSync(DATA_FILE, text);
  }
  const list = Buffer.byteLength(JSON.stringify(products.map(withoutReviews)));
  const reviews = products.reduce((s, p) => s + p.reviews.length, 0);
  console.log(`${products.length} products, ${reviews} reviews; file ${Buffer.byteLength(text)} B; ` +
    `list without reviews, compact: ${list} B (${(list / 1024).toFixed(1)} KiB)`);
}

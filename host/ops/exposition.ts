// The text a scraper reads: OpenMetrics 1.0 (what Prometheus asks for first), or the older
// Prometheus text format 0.0.4 for a scraper that asks for text/plain. The two differ in
// the metadata only: OpenMetrics names a counter's family without `_total` and has `# UNIT`
// lines and a final `# EOF`; the samples are the same lines.

export type MetricsFormat = "openmetrics" | "prometheus";

export const METRICS_CONTENT_TYPES: Record<MetricsFormat, string> = {
  openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
  prometheus: "text/plain; version=0.0.4; charset=utf-8",
};

/** The format for a request's Accept header: OpenMetrics unless only text/plain is asked
 *  for (no header, or any other, gets OpenMetrics). */
export function metricsFormat(accept: string | undefined): MetricsFormat {
  // OpenMetrics only when asked for (Prometheus asks for it first); curl, a browser and
  // `promtool check metrics` get the Prometheus text format, which every tool reads.
  return accept !== undefined && accept.includes("application/openmetrics-text") ? "openmetrics" : "prometheus";
}

export type MetricType = "counter" | "gauge" | "histogram";

/** A label value as the formats quote it: backslash, double quote and line feed escaped. */
export function labelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

/** A number as both formats write it: a histogram bound as a float ("1.0", as OpenMetrics
 *  writes canonical bounds), anything else as JavaScript prints it. */
export function bound(v: number): string {
  if (v === Infinity) return "+Inf";
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}

/** Builds an exposition, family by family. */
export class Exposition {
  private readonly lines: string[] = [];
  private readonly om: boolean;

  constructor(format: MetricsFormat) {
    this.om = format === "openmetrics";
  }

  /** Starts family `name` (a counter's without `_total`); `unit` ("seconds", "bytes") must
   *  end the name when given. */
  family(name: string, type: MetricType, help: string, unit = ""): void {
    if (this.om) {
      this.lines.push(`# TYPE ${name} ${type}`);
      if (unit !== "") this.lines.push(`# UNIT ${name} ${unit}`);
      this.lines.push(`# HELP ${name} ${help}`);
    } else {
      const full = type === "counter" ? `${name}_total` : name;
      this.lines.push(`# HELP ${full} ${help}`, `# TYPE ${full} ${type}`);
    }
  }

  /** One sample: `name` in full (with `_total`, `_bucket`…), `labels` already formatted
   *  (`worker="0",route="/a"`), or "". */
  sample(name: string, labels: string, value: number): void {
    this.lines.push(labels === "" ? `${name} ${value}` : `${name}{${labels}} ${value}`);
  }

  text(): string {
    return `${this.lines.join("\n")}\n${this.om ? "# EOF\n" : ""}`;
  }
}

/**
 * In-process Prometheus metrics: counters, gauges and histograms rendered in the text
 * exposition format for `GET /metrics`.
 *
 * @module
 */

type Labels = Record<string, string>;

const DEFAULT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  labels: Labels;
  value: number;
  buckets?: number[];
  sum?: number;
}

interface Family {
  help: string;
  type: "counter" | "gauge" | "histogram";
  buckets?: number[];
  series: Map<string, Series>;
  /** Gauges computed at scrape time. */
  collect?: () => Promise<Array<{ labels: Labels; value: number }>>;
}

/** A registry of metric families. */
export interface Metrics {
  /** Adds `by` (default 1) to a counter. */
  inc(name: string, labels?: Labels, by?: number): void;
  /** Sets a gauge. */
  set(name: string, labels: Labels, value: number): void;
  /** Records one observation in a histogram (seconds). */
  observe(name: string, labels: Labels, value: number): void;
  /** Declares a family; must come before use. */
  define(
    name: string,
    help: string,
    type: Family["type"],
    options?: { buckets?: number[]; collect?: Family["collect"] },
  ): void;
  /** The Prometheus text exposition. */
  render(): Promise<string>;
}

/** Creates an empty metrics registry with the HTTP families predeclared. */
export function createMetrics(): Metrics {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    const f = families.get(name);
    if (!f) throw new Error(`metric ${name} is not defined`);
    return f;
  };
  // Callers on hot paths pass the same (frozen) label object each time: its key is built once.
  const keys = new WeakMap<Labels, string>();
  const keyOf = (labels: Labels): string => {
    let key = keys.get(labels);
    if (key === undefined) {
      key = JSON.stringify(Object.entries(labels).sort());
      if (Object.isFrozen(labels)) keys.set(labels, key);
    }
    return key;
  };
  const seriesOf = (f: Family, labels: Labels): Series => {
    const key = keyOf(labels);
    let s = f.series.get(key);
    if (!s) {
      s = { labels, value: 0 };
      if (f.type === "histogram") {
        s.buckets = new Array(f.buckets!.length).fill(0);
        s.sum = 0;
      }
      f.series.set(key, s);
    }
    return s;
  };
  const metrics: Metrics = {
    define(name, help, type, options = {}) {
      if (families.has(name)) return;
      families.set(name, {
        help,
        type,
        buckets: type === "histogram" ? options.buckets ?? DEFAULT_BUCKETS : undefined,
        series: new Map(),
        collect: options.collect,
      });
    },
    inc(name, labels = {}, by = 1) {
      seriesOf(family(name), labels).value += by;
    },
    set(name, labels, value) {
      seriesOf(family(name), labels).value = value;
    },
    observe(name, labels, value) {
      const f = family(name);
      const s = seriesOf(f, labels);
      s.value += 1;
      s.sum! += value;
      f.buckets!.forEach((le, i) => {
        if (value <= le) s.buckets![i] += 1;
      });
    },
    async render() {
      const out: string[] = [];
      for (const [name, f] of families) {
        out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
        if (f.collect) {
          for (const { labels, value } of await f.collect()) {
            out.push(`${name}${fmt(labels)} ${value}`);
          }
        }
        for (const s of f.series.values()) {
          if (f.type !== "histogram") {
            out.push(`${name}${fmt(s.labels)} ${s.value}`);
            continue;
          }
          f.buckets!.forEach((le, i) => {
            out.push(`${name}_bucket${fmt({ ...s.labels, le: String(le) })} ${s.buckets![i]}`);
          });
          out.push(`${name}_bucket${fmt({ ...s.labels, le: "+Inf" })} ${s.value}`);
          out.push(`${name}_sum${fmt(s.labels)} ${s.sum}`);
          out.push(`${name}_count${fmt(s.labels)} ${s.value}`);
        }
      }
      return out.join("\n") + "\n";
    },
  };
  metrics.define("http_requests_total", "HTTP requests by route, method and status", "counter");
  metrics.define(
    "http_request_duration_seconds",
    "HTTP request latency by route, method and status",
    "histogram",
  );
  return metrics;
}

function fmt(labels: Labels): string {
  const entries = Object.entries(labels);
  if (!entries.length) return "";
  const body = entries.map(([k, v]) =>
    `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`
  );
  return `{${body.join(",")}}`;
}

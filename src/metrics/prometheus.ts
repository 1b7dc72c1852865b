/**
 * Prometheus text exposition format (version 0.0.4): `# HELP`, `# TYPE`, then
 * one sample per line. Names are checked so a typo fails a test rather than a
 * scrape; label values are escaped as the format requires.
 */

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Record<string, string>;

export interface Sample {
  labels?: Labels;
  value: number;
}

export interface HistogramSeries {
  labels?: Labels;
  /** Upper bounds, ascending, without +Inf. */
  bounds: readonly number[];
  /** Non-cumulative count per bound, then one more for above the last bound. */
  counts: readonly number[];
  sum: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class PrometheusText {
  private readonly lines: string[] = [];

  gauge(name: string, help: string, samples: Sample[] | number): this {
    return this.family(name, help, 'gauge', samples);
  }

  counter(name: string, help: string, samples: Sample[] | number): this {
    if (!name.endsWith('_total')) throw new Error(`counter ${name} must end in _total`);
    return this.family(name, help, 'counter', samples);
  }

  histogram(name: string, help: string, series: HistogramSeries[]): this {
    this.header(name, help, 'histogram');
    for (const { labels = {}, bounds, counts, sum } of series) {
      let cumulative = 0;
      bounds.forEach((bound, i) => {
        cumulative += counts[i] ?? 0;
        this.sample(`${name}_bucket`, { ...labels, le: formatValue(bound) }, cumulative);
      });
      cumulative += counts[bounds.length] ?? 0;
      this.sample(`${name}_bucket`, { ...labels, le: '+Inf' }, cumulative);
      this.sample(`${name}_sum`, labels, sum);
      this.sample(`${name}_count`, labels, cumulative);
    }
    return this;
  }

  toString(): string {
    return this.lines.join('\n') + '\n';
  }

  private family(name: string, help: string, type: string, samples: Sample[] | number): this {
    this.header(name, help, type);
    for (const sample of typeof samples === 'number' ? [{ value: samples }] : samples) this.sample(name, sample.labels ?? {}, sample.value);
    return this;
  }

  private header(name: string, help: string, type: string): void {
    if (!NAME.test(name)) throw new Error(`invalid metric name ${name}`);
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
  }

  private sample(name: string, labels: Labels, value: number): void {
    const pairs = Object.entries(labels).map(([key, raw]) => {
      if (!LABEL.test(key)) throw new Error(`invalid label name ${key}`);
      return `${key}="${escapeLabel(raw)}"`;
    });
    this.lines.push(`${name}${pairs.length ? `{${pairs.join(',')}}` : ''} ${formatValue(value)}`);
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { NONE } from '../format.ts';
import { html } from '../html.ts';

export interface ChartSeries {
  label: string;
  /** One value per x; null where there is no sample (drawn as a gap). */
  values: (number | null)[];
  /** Which palette colour (0-based), so a provider keeps its colour whatever else is shown. */
  color?: number;
}

export interface ChartProps {
  /** The chart's title, also its accessible name. */
  label: string;
  /** Unix seconds, ascending. */
  x: number[];
  series: ChartSeries[];
  /** How a y value reads (axis, legend and summary). */
  format: (value: number) => string;
  /** Fixes the top of the y axis (1 for rates); otherwise it follows the data. */
  yMax?: number;
  /**
   * Start the y axis at zero (volumes, latencies); false zooms in on the data's range, for
   * values that move within a few percent.
   */
  fromZero?: boolean;
  /** Pixels; the box is reserved before data arrives so nothing below it moves. */
  height?: number;
  /** Said inside the plot when there is nothing to draw. */
  empty?: string;
}

const PALETTE_SIZE = 6;
const DARK = '(prefers-color-scheme: dark)';

/** Follows the operator's light/dark setting, so charts are redrawn in the new colours. */
function useDarkMode(): boolean {
  const [dark, setDark] = useState(() => window.matchMedia(DARK).matches);
  useEffect(() => {
    const query = window.matchMedia(DARK);
    const update = () => setDark(query.matches);
    query.addEventListener('change', update);
    return () => query.removeEventListener('change', update);
  }, []);
  return dark;
}

/** The series' colour, 1 to PALETTE_SIZE, as the CSS names them. */
function paletteIndex(series: ChartSeries, index: number): number {
  return ((series.color ?? index) % PALETTE_SIZE) + 1;
}

function lastValue(values: (number | null)[]): number | null {
  for (let index = values.length - 1; index >= 0; index--) {
    const value = values[index];
    if (value !== null && value !== undefined) return value;
  }
  return null;
}

/** The y axis: from zero, or around the data (never below zero), up to `yMax` when fixed. */
function yRange(
  min: number | null,
  max: number | null,
  yMax: number | undefined,
  fromZero: boolean,
): uPlot.Range.MinMax {
  const high = max !== null && Number.isFinite(max) ? max : 0;
  if (fromZero || min === null || !Number.isFinite(min)) {
    return [0, yMax ?? (high > 0 ? high * 1.1 : 1)];
  }
  const margin = ((yMax ?? high) - min || Math.abs(min) || 1) * 0.25;
  return [Math.max(0, min - margin), yMax ?? high + margin];
}

/**
 * A time-series chart drawn by uPlot on a canvas, with a legend that reads the values under the
 * cursor (the latest ones otherwise). Data updates redraw in place; the chart is rebuilt only
 * when its series or the colour scheme change.
 */
export function Chart({
  label,
  x,
  series,
  format,
  yMax,
  fromZero = true,
  height = 160,
  empty,
}: ChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const [cursor, setCursor] = useState<number | null>(null);
  const dark = useDarkMode();
  const data = useMemo(
    () => [x, ...series.map((entry) => entry.values)] as uPlot.AlignedData,
    [x, series],
  );
  const latestData = useRef(data);
  latestData.current = data;
  const shape = `${series.map((entry, index) => `${entry.label}:${paletteIndex(entry, index)}`).join('\n')}|${dark}|${height}|${yMax}|${fromZero}`;
  const formatRef = useRef(format);
  formatRef.current = format;

  // Rebuilt only when `shape` changes; data changes are applied by setData below.
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const style = getComputedStyle(element);
    const css = (name: string) => style.getPropertyValue(name).trim();
    const axis = {
      stroke: css('--chart-text'),
      grid: { stroke: css('--chart-grid'), width: 1 },
      ticks: { stroke: css('--chart-grid'), width: 1 },
      font: `12px ${css('--font')}`,
    };
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 100),
      height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: {
        x: { time: true },
        y: { range: (_self, min, max) => yRange(min, max, yMax, fromZero) },
      },
      axes: [
        axis,
        {
          ...axis,
          size: 64,
          values: (_self, ticks) => ticks.map((tick) => formatRef.current(tick)),
        },
      ],
      series: [
        {},
        ...series.map((entry, index) => ({
          label: entry.label,
          stroke: css(`--series-${paletteIndex(entry, index)}`),
          width: 2,
          points: { show: false },
        })),
      ],
      hooks: {
        setCursor: [(self) => setCursor(self.cursor.idx ?? null)],
      },
    };
    const chart = new uPlot(options, latestData.current, element);
    plot.current = chart;
    const observer = new ResizeObserver(() => {
      const width = Math.max(element.clientWidth, 100);
      if (width !== chart.width) chart.setSize({ width, height });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.destroy();
      plot.current = undefined;
    };
  }, [shape]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  const valueAt = (values: (number | null)[]) => {
    const value = cursor === null ? lastValue(values) : (values[cursor] ?? null);
    return value === null ? NONE : format(value);
  };
  const hasData = series.some((entry) => entry.values.some((value) => value !== null));
  const summary = `${label}: ${
    !hasData
      ? 'no data'
      : series.map((entry) => `${entry.label} latest ${valueAt(entry.values)}`).join(', ')
  }`;
  const at = cursor === null ? undefined : x[cursor];

  return html`
    <figure class="chart">
      <figcaption>
        <span class="chart-title">${label}</span>
        <span class="chart-at">${at === undefined ? 'latest' : new Date(at * 1000).toLocaleString()}</span>
      </figcaption>
      <div class="chart-box" style=${{ height: `${height}px` }}>
        <div class="chart-plot" ref=${container} role="img" aria-label=${summary}></div>
        ${hasData ? null : html`<p class="chart-empty">${empty ?? 'No data in this window.'}</p>`}
      </div>
      <ul class="legend" aria-hidden="true">
        ${series.map(
          (entry, index) => html`
            <li key=${entry.label}>
              <span class=${`swatch swatch-${paletteIndex(entry, index)}`}></span>
              ${entry.label} <strong>${valueAt(entry.values)}</strong>
            </li>
          `,
        )}
      </ul>
    </figure>
  `;
}

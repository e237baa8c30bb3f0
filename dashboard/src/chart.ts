// Private to the dashboard: cost per minute as an SVG bar chart, drawn by hand (no chart library:
// thirty bars, three grid lines and a few labels do not need one).
import { formatInt, formatShortClock } from './format';
import type { UsageMinute } from './types';

const SVG = 'http://www.w3.org/2000/svg';
/** Drawn at the element's own size (one SVG unit = one CSS pixel), so labels keep their size at any width. */
const FALLBACK_WIDTH = 1000;
const HEIGHT = 200;
const MARGIN = { top: 12, right: 8, bottom: 24, left: 48 };
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;

function el<K extends keyof SVGElementTagNameMap>(name: K, attributes: Record<string, string | number>, parent?: Element): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  parent?.appendChild(node);
  return node;
}

/** 1, 2, 5, 10, 20, 50 ...: the smallest such step times 4 that covers max, so grid labels stay round. */
export function niceMax(max: number): number {
  if (max <= 0) return 4;
  const step = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(step));
  const nice = [1, 2, 5, 10].find((m) => m * magnitude >= step)! * magnitude;
  return nice * 4;
}

export function createUsageChart(svg: SVGSVGElement) {
  svg.setAttribute('role', 'img');
  const grid = el('g', { class: 'grid' }, svg);
  const bars = el('g', { class: 'bars' }, svg);
  const axis = el('g', { class: 'axis' }, svg);
  const empty = el('text', { class: 'empty', 'text-anchor': 'middle' }, svg);
  // Bars are kept and moved rather than redrawn, so CSS transitions show the chart shift as data arrives.
  const pool: Array<{ rect: SVGRectElement; title: SVGTitleElement }> = [];
  let last: readonly UsageMinute[] = [];
  let drawnWidth = 0;

  function update(minutes: readonly UsageMinute[]) {
    last = minutes;
    const width = Math.max(320, Math.round(svg.clientWidth) || FALLBACK_WIDTH);
    const plotW = width - MARGIN.left - MARGIN.right;
    drawnWidth = width;
    svg.setAttribute('viewBox', `0 0 ${width} ${HEIGHT}`);
    empty.setAttribute('x', String(MARGIN.left + plotW / 2));
    empty.setAttribute('y', String(MARGIN.top + PLOT_H / 2));
    const n = minutes.length;
    const total = minutes.reduce((sum, m) => sum + m.cost, 0);
    const top = niceMax(Math.max(0, ...minutes.map((m) => m.cost)));
    const y = (cost: number) => MARGIN.top + PLOT_H - (cost / top) * PLOT_H;
    svg.dataset.totalCost = String(total);
    svg.dataset.minutes = String(n);
    svg.setAttribute('aria-label', `Cost per minute over the last ${n} minutes: ${formatInt(total)} in total`);

    grid.replaceChildren();
    for (const fraction of [0, 0.5, 1]) {
      const value = top * fraction;
      el('line', { x1: MARGIN.left, x2: width - MARGIN.right, y1: y(value), y2: y(value) }, grid);
      el('text', { x: MARGIN.left - 6, y: y(value) + 4, 'text-anchor': 'end' }, grid).textContent = formatInt(value);
    }

    const slot = n > 0 ? plotW / n : plotW;
    const barWidth = Math.max(1, slot * 0.72);
    while (pool.length < n) {
      const rect = el('rect', { class: 'bar', y: y(0), height: 0 }, bars);
      pool.push({ rect, title: el('title', {}, rect) });
    }
    pool.forEach(({ rect, title }, i) => {
      const minute = minutes[i];
      rect.classList.toggle('hidden', !minute);
      if (!minute) return;
      rect.classList.toggle('current', i === n - 1);
      rect.setAttribute('x', String(MARGIN.left + i * slot + (slot - barWidth) / 2));
      rect.setAttribute('width', String(barWidth));
      rect.setAttribute('y', String(y(minute.cost)));
      rect.setAttribute('height', String(Math.max(0, y(0) - y(minute.cost))));
      title.textContent = `${formatShortClock(minute.minute)}: cost ${formatInt(minute.cost)}, ${formatInt(minute.operations)} operation${minute.operations === 1 ? '' : 's'}`;
    });

    axis.replaceChildren();
    const first = minutes[0];
    if (first && n > 1) {
      el('text', { x: MARGIN.left, y: HEIGHT - 6, 'text-anchor': 'start' }, axis).textContent = formatShortClock(first.minute);
      el('text', { x: width - MARGIN.right, y: HEIGHT - 6, 'text-anchor': 'end' }, axis).textContent = 'now';
    }
    empty.textContent = n === 0 ? 'waiting for data' : total === 0 ? `no spend in the last ${n} minutes` : '';
  }

  // Redraw at the new size when the layout changes (window resize, sidebar, print).
  new ResizeObserver(() => {
    if (Math.round(svg.clientWidth) !== drawnWidth) update(last);
  }).observe(svg);
  update([]);

  return { update };
}

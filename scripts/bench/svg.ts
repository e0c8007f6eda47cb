/** A hand-written SVG line chart: throughput against workers per stage (log2 x axis). */

export interface Series {
  readonly label: string;
  readonly color: string;
  readonly dashed?: boolean;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

const W = 720;
const H = 440;
const M = { left: 80, right: 200, top: 50, bottom: 60 };

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A "nice" upper bound for the y axis and its tick step. */
function niceScale(max: number): { top: number; step: number } {
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? magnitude;
  return { top: Math.ceil(max / step) * step || step, step };
}

export function lineChart(title: string, subtitle: string, series: readonly Series[]): string {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const xMin = Math.log2(Math.min(...xs, 1));
  const xMax = Math.log2(Math.max(...xs, 2));
  const { top, step } = niceScale(Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.y))));
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const px = (x: number) => M.left + ((Math.log2(x) - xMin) / (xMax - xMin || 1)) * plotW;
  const py = (y: number) => M.top + plotH - (y / top) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="22" font-size="16" font-weight="bold">${escape(title)}</text>`,
    `<text x="${M.left}" y="40" fill="#555">${escape(subtitle)}</text>`,
  ];
  for (let y = 0; y <= top + step / 2; y += step) {
    out.push(
      `<line x1="${M.left}" x2="${M.left + plotW}" y1="${py(y)}" y2="${py(y)}" stroke="#e3e3e3"/>`,
      `<text x="${M.left - 8}" y="${py(y) + 4}" text-anchor="end">${y.toLocaleString('en-US')}</text>`,
    );
  }
  for (const x of xs) {
    out.push(
      `<line x1="${px(x)}" x2="${px(x)}" y1="${M.top}" y2="${M.top + plotH}" stroke="#f0f0f0"/>`,
      `<text x="${px(x)}" y="${M.top + plotH + 18}" text-anchor="middle">${x}</text>`,
    );
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
    `<text x="${M.left + plotW / 2}" y="${H - 14}" text-anchor="middle">workers (concurrent loops) per stage process</text>`,
    `<text transform="translate(20 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">messages / s, end to end</text>`,
  );
  series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    // A lone point is a baseline: drawn across the whole range.
    const line =
      pts.length === 1 && pts[0] !== undefined
        ? [
            { x: 2 ** xMin, y: pts[0].y },
            { x: 2 ** xMax, y: pts[0].y },
          ]
        : pts;
    const d = line.map((p, j) => `${j === 0 ? 'M' : 'L'}${px(p.x)},${py(p.y)}`).join(' ');
    const dash = s.dashed === true ? ' stroke-dasharray="6 4"' : '';
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2.5"${dash}/>`);
    for (const p of pts) {
      out.push(
        `<circle cx="${px(p.x)}" cy="${py(p.y)}" r="4" fill="${s.color}"><title>${escape(`${s.label}: ${p.x} → ${Math.round(p.y)} msg/s`)}</title></circle>`,
      );
    }
    const ly = M.top + 10 + i * 22;
    const lx = M.left + plotW + 16;
    out.push(
      `<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2.5"${dash}/>`,
      `<text x="${lx + 30}" y="${ly + 4}">${escape(s.label)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

// The chart of docs/PERFORMANCE.md, drawn from a run's JSON: delivery latency (p99, and p50
// dashed) against the offered send rate, one line per target. Plain SVG: no library, no fonts.

interface Step {
  offered_per_s: number;
  delivery_ms: { p50: number | null; p99: number | null };
  clean: boolean;
}

const COLOURS: Record<string, string> = {
  postgres: '#1f5fbf',
  embedded: '#b3541e',
  relay: '#2e7d32',
};
const NAMES: Record<string, string> = {
  postgres: 'Parley on PostgreSQL',
  embedded: 'Parley embedded (PGlite)',
  relay: 'Socket.IO alone (relay)',
};

export function renderChart(result: Record<string, unknown>): string {
  const steady = result.steady as Record<string, { steps: Step[] }>;
  const width = 720;
  const height = 420;
  const m = { left: 64, right: 200, top: 24, bottom: 48 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const all = Object.values(steady).flatMap((t) => t.steps);
  const maxRate = Math.max(...all.map((s) => s.offered_per_s), 1);
  // Latency on a log scale: 1 ms to the worst p99 seen (at least 1 s).
  const maxMs = Math.max(1000, ...all.map((s) => s.delivery_ms.p99 ?? 1));
  const x = (rate: number) => m.left + (rate / maxRate) * plotW;
  const y = (ms: number) =>
    m.top + plotH - (Math.log10(Math.max(1, ms)) / Math.log10(maxMs)) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${m.left}" y="16" font-weight="bold">Delivery latency against offered sends per second (p99 solid, p50 dashed)</text>`,
  );
  for (let ms = 1; ms <= maxMs; ms *= 10) {
    parts.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${y(ms)}" y2="${y(ms)}" stroke="#ddd"/>`,
      `<text x="${m.left - 6}" y="${y(ms) + 4}" text-anchor="end">${ms} ms</text>`,
    );
  }
  parts.push(
    `<line x1="${m.left}" x2="${m.left + plotW}" y1="${y(100)}" y2="${y(100)}" stroke="#c62828" stroke-dasharray="2 3"/>`,
    `<text x="${m.left + plotW - 4}" y="${y(100) - 4}" text-anchor="end" fill="#c62828">clean: p99 &lt; 100 ms</text>`,
  );
  const ticks = [...new Set(all.map((s) => s.offered_per_s))].sort((a, b) => a - b);
  for (const rate of ticks) {
    parts.push(
      `<line x1="${x(rate)}" x2="${x(rate)}" y1="${m.top + plotH}" y2="${m.top + plotH + 4}" stroke="#333"/>`,
      `<text x="${x(rate)}" y="${m.top + plotH + 18}" text-anchor="middle">${rate}</text>`,
    );
  }
  parts.push(
    `<line x1="${m.left}" x2="${m.left + plotW}" y1="${m.top + plotH}" y2="${m.top + plotH}" stroke="#333"/>`,
    `<text x="${m.left + plotW / 2}" y="${height - 8}" text-anchor="middle">offered sends per second (each delivered to every member)</text>`,
  );
  let legend = m.top + 10;
  for (const [target, { steps }] of Object.entries(steady)) {
    const colour = COLOURS[target] ?? '#555';
    const line = (pick: (s: Step) => number | null, dash: string) => {
      const pts = steps
        .filter((s) => pick(s) !== null)
        .map((s) => `${x(s.offered_per_s).toFixed(1)},${y(pick(s)!).toFixed(1)}`);
      return `<polyline fill="none" stroke="${colour}" stroke-width="2" ${dash} points="${pts.join(' ')}"/>`;
    };
    parts.push(
      line((s) => s.delivery_ms.p99, ''),
      line((s) => s.delivery_ms.p50, 'stroke-dasharray="5 4"'),
    );
    for (const s of steps) {
      if (s.delivery_ms.p99 === null) continue;
      parts.push(
        `<circle cx="${x(s.offered_per_s)}" cy="${y(s.delivery_ms.p99)}" r="3.5" fill="${s.clean ? colour : '#fff'}" stroke="${colour}"/>`,
      );
    }
    parts.push(
      `<line x1="${width - m.right + 16}" x2="${width - m.right + 40}" y1="${legend}" y2="${legend}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${width - m.right + 46}" y="${legend + 4}">${NAMES[target] ?? target}</text>`,
    );
    legend += 20;
  }
  parts.push(
    `<text x="${width - m.right + 16}" y="${legend + 8}" fill="#555">hollow: not clean</text>`,
    '</svg>',
  );
  return parts.join('\n');
}

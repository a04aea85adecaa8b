/** A horizontal bar chart (SVG, no dependencies) of each scenario's throughput as a ratio of bare node http. */
export function renderChart(
  rows: { scenario: string; baseline: string | null; ratioToBare: number; ratioToBaseline: number | null }[],
): string {
  const barHeight = 22;
  const gap = 8;
  const labelWidth = 330;
  const chartWidth = 420;
  const height = rows.length * (barHeight + gap) + 60;
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const bars = rows
    .map((row, index) => {
      const y = 40 + index * (barHeight + gap);
      const width = Math.max(1, Math.min(1, row.ratioToBare) * chartWidth);
      // Rows measured against bare node http already show it; the others name their floor's ratio.
      const ownFloor = row.ratioToBaseline !== null && row.baseline !== 'bare node http';
      const baseline = ownFloor ? ` (${row.ratioToBaseline?.toFixed(2)}× its floor)` : '';
      return [
        `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escape(row.scenario)}</text>`,
        `<rect x="${labelWidth}" y="${y}" width="${width.toFixed(1)}" height="${barHeight}" fill="#3b7dd8"/>`,
        `<text x="${labelWidth + width + 6}" y="${y + 15}">${row.ratioToBare.toFixed(3)}×${escape(baseline)}</text>`,
      ].join('');
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + chartWidth + 200}" height="${height}" font-family="sans-serif" font-size="12">
<text x="10" y="20" font-size="14" font-weight="bold">Throughput as a ratio of bare node http (same run, same machine)</text>
${bars}
</svg>
`;
}

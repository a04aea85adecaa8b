/** A number as the report shows it: grouped thousands, `n/a` when the file did not have it. */
export function show(value: number | undefined, unit = ''): string {
  if (value === undefined) return 'n/a';
  return `${value.toLocaleString('en-US', { maximumFractionDigits: 2 })}${unit}`;
}

export function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const rendered =
    typeof value === 'number'
      ? show(value)
      : typeof value === 'string' || typeof value === 'boolean'
        ? String(value)
        : JSON.stringify(value);
  return rendered.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

export function table(header: string[], rows: unknown[][]): string {
  if (rows.length === 0) return '';
  return [
    `| ${header.map(cell).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}

/** `{ "200": 3, "503 X": 1 }` as `200: 3, 503 X: 1`. */
export function tally(entries: [string, number][]): string {
  return entries.length === 0 ? 'none' : entries.map(([label, count]) => `${label}: ${show(count)}`).join(', ');
}

export function held(ok: boolean | undefined, detail: string): string {
  if (ok === undefined) return `unknown (${detail})`;
  return ok ? `held (${detail})` : `**did not hold** (${detail})`;
}

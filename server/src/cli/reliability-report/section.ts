import type { Input } from './inputs.ts';

/** One part of RELIABILITY.md: its own heading and text, and its row of the summary table. */
export interface Section {
  title: string;
  summary: { area: string; tried: string; held: string };
  body: string;
}

export const NOT_MEASURED = 'not measured in this run';

/** The section of a figures file this run did not write (or wrote in a way that cannot be read). */
export function notMeasured(
  input: Input,
  { title, area, reason }: { title: string; area: string; reason?: string | undefined },
): Section {
  const why = reason ?? (input.problem ? `\`${input.file}\` is ${input.problem}` : `there is no \`${input.file}\``);
  return {
    title,
    summary: { area, tried: NOT_MEASURED, held: '—' },
    body: `_Not measured in this run_: ${why}.`,
  };
}

export function source(input: Input): string {
  return `Source: \`${input.file}\`${input.writtenAt ? `, written ${input.writtenAt}` : ''}.`;
}

export function paragraphs(...parts: (string | false | undefined)[]): string {
  return parts.filter((part): part is string => typeof part === 'string' && part !== '').join('\n\n');
}

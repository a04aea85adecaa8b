import type { Input } from './inputs.ts';
import { counts, num } from './json.ts';
import { held, show, table } from './markdown.ts';
import { notMeasured, paragraphs, source, type Section } from './section.ts';

const TITLE = 'Log audit';
const AREA = 'Log audit';

export function logAuditSection(input: Input): Section {
  if (input.data === undefined) return notMeasured(input, { title: TITLE, area: AREA });
  const figures = input.data;
  const lines = num(figures, 'lines_audited');
  const found = num(figures, 'secrets_found');
  const missingFields = num(figures, 'lines_missing_contract_fields');
  const notJson = num(figures, 'lines_not_json');
  const tracked = counts(figures, 'secrets_tracked').filter(([kind]) => kind !== 'total');
  const trackedTotal = num(figures, 'secrets_tracked.total') ?? tracked.reduce((sum, [, count]) => sum + count, 0);
  const ok = found === undefined ? undefined : found === 0 && (missingFields ?? 0) === 0 && (notJson ?? 0) === 0;
  return {
    title: TITLE,
    summary: {
      area: AREA,
      tried: `${show(lines)} log lines of the test run, against ${show(trackedTotal)} secrets used in it`,
      held: held(ok, `${show(found)} secrets found, ${show(missingFields)} http_request lines missing contract fields`),
    },
    body: paragraphs(
      'The test suite runs with every log line captured; at its end each line is checked for every password, ' +
        'token, refresh token, password hash and JWT the suite used, and every `http_request` line for the ' +
        "logging contract's fields.",
      table(
        ['figure', 'value'],
        [
          ['files', show(num(figures, 'files'))],
          ['lines audited', show(lines)],
          ['`http_request` lines', show(num(figures, 'http_request_lines'))],
          ['lines that are not JSON', show(notJson)],
          ['lines missing contract fields', show(missingFields)],
          ['secrets tracked', show(trackedTotal)],
          ['**secrets found**', show(found)],
        ],
      ),
      tracked.length > 0 &&
        `Secrets tracked by kind: ${tracked.map(([kind, count]) => `${kind.replaceAll('_', ' ')} ${show(count)}`).join(', ')}.`,
      source(input),
    ),
  };
}

import type { Input } from './inputs.ts';
import { list, num } from './json.ts';
import { held, show, table } from './markdown.ts';
import { notMeasured, paragraphs, source, type Section } from './section.ts';

const TITLE = 'Graceful shutdown under load';
const AREA = 'SIGTERM under load';

export function shutdownSection(input: Input): Section {
  if (input.data === undefined) return notMeasured(input, { title: TITLE, area: AREA });
  const figures = input.data;
  const sent = num(figures, 'requests_sent');
  const failed = num(figures, 'failed_in_flight');
  const non2xx = num(figures, 'non_2xx');
  const exitCode = num(figures, 'exit_code');
  const inFlight = num(figures, 'in_flight_at_sigterm');
  const ok = failed === undefined ? undefined : failed === 0 && (non2xx ?? 0) === 0 && exitCode === 0;
  const lastEvents = list(figures, 'last_log_events').filter((event) => typeof event === 'string');
  return {
    title: TITLE,
    summary: {
      area: AREA,
      tried: `${show(sent)} requests, ${show(inFlight)} in flight at SIGTERM`,
      held: held(ok, `${show(failed)} failed in flight, exit code ${show(exitCode)}`),
    },
    body: paragraphs(
      'The production server under steady load (autocannon, keep-alive connections) gets SIGTERM: requests in ' +
        'flight must finish, the process must exit 0, and its last log lines must be on disk.',
      table(
        ['figure', 'value'],
        [
          ['connections', show(num(figures, 'connections'))],
          ['requests sent', show(sent)],
          ['completed', show(num(figures, 'completed'))],
          ['completed before SIGTERM', show(num(figures, 'completed_before_sigterm'))],
          ['in flight at SIGTERM', show(inFlight)],
          ['completed after SIGTERM', show(num(figures, 'completed_after_sigterm'))],
          ['**failed in flight**', show(failed)],
          ['answers other than 2xx', show(non2xx)],
          [
            'sent on a connection after its `Connection: close` answer (never read, not in flight)',
            show(num(figures, 'sent_after_connection_close')),
          ],
          ['refused after the listener closed', show(num(figures, 'refused_after_close'))],
          ['logged by the server but not answered', show(num(figures, 'server_logged_unanswered'))],
          ['exit code', show(exitCode)],
          ['from SIGTERM to exit', show(num(figures, 'shutdown_duration_ms'), ' ms')],
        ],
      ),
      lastEvents.length > 0 &&
        `Last log lines on disk: ${lastEvents.map((event) => `\`${String(event)}\``).join(', ')}.`,
      source(input),
    ),
  };
}

import { readFileSync } from 'node:fs';

/** What the server wrote to its LOG_FILE: line counts by level, and which events were errors. */
export function readLogFile(path: string) {
  const text = readFileSync(path, 'utf8');
  const byLevel: Record<string, number> = {};
  const errorEvents: Record<string, number> = {};
  let lines = 0;
  let notJson = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    lines += 1;
    let parsed: { level?: string; event?: string };
    try {
      parsed = JSON.parse(line) as { level?: string; event?: string };
    } catch {
      notJson += 1;
      continue;
    }
    const level = parsed.level ?? 'NONE';
    byLevel[level] = (byLevel[level] ?? 0) + 1;
    if (level === 'ERROR' || level === 'FATAL') {
      const event = parsed.event ?? 'unknown';
      errorEvents[event] = (errorEvents[event] ?? 0) + 1;
    }
  }
  return {
    log_lines: lines,
    log_lines_not_json: notJson,
    log_lines_by_level: byLevel,
    error_events: errorEvents,
    error_events_note:
      'PaymentGatewayError is written (ERROR, as the logging contract asks) for every declined card the traffic sends on purpose.',
    unhandled_exceptions: errorEvents.unhandled_exception ?? 0,
  };
}

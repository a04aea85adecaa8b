import type { Input } from './inputs.ts';
import { bool, num, record, scalars, text } from './json.ts';
import { held, show, table } from './markdown.ts';
import { notMeasured, paragraphs, source, type Section } from './section.ts';

const TITLE = 'Process: fatal errors and worker restarts';
const AREA = 'Process';

interface Check {
  name: string;
  what: string;
  ok: boolean | undefined;
}

function workerRestart(figures: Record<string, unknown>): Check {
  const during = `${show(num(figures, 'requests_while_replacing.ok'))} of ${show(num(figures, 'requests_while_replacing.sent'))}`;
  const after = `${show(num(figures, 'requests_after_replacement.ok'))} of ${show(num(figures, 'requests_after_replacement.sent'))}`;
  const failure = text(figures, 'failure');
  return {
    name: 'WEB_CONCURRENCY=2, a worker killed',
    what:
      `${text(figures, 'worker_killed') ?? 'killed'}; replacement serving after ${show(num(figures, 'replacement_serving_after_ms'), ' ms')}; ` +
      `requests answered 200 while replacing ${during}, after ${after}; exit code ${show(num(figures, 'exit_code'))}` +
      (failure ? `; failure: ${failure}` : ''),
    ok: bool(figures, 'passed'),
  };
}

function fatal(name: string, figures: Record<string, unknown>): Check {
  const written = bool(figures, 'fatal_line_written');
  const exitCode = num(figures, 'exit_code');
  return {
    name: `${name.replace(/^fatal_/, '').replaceAll('_', ' ')} after start`,
    what:
      `FATAL \`${text(figures, 'event') ?? '?'}\` written: ${written === undefined ? 'n/a' : written ? 'yes' : 'no'}` +
      ` (log file ${show(num(figures, 'in_log_file'))}, stdout ${show(num(figures, 'on_stdout'))}); stack logged: ` +
      `${bool(figures, 'stack_logged') === true ? 'yes' : 'no'}; exit code ${show(exitCode)}`,
    ok: written === undefined ? undefined : written && exitCode === 1,
  };
}

function other(name: string, figures: Record<string, unknown>): Check {
  return {
    name: name.replaceAll('_', ' '),
    what: scalars(figures)
      .filter(([key]) => key !== 'generated_at' && key !== 'passed')
      .map(([key, value]) => `${key.replaceAll('_', ' ')}: ${String(value)}`)
      .join('; '),
    ok: bool(figures, 'passed'),
  };
}

export function processSection(input: Input): Section {
  const sections = record(input.data);
  if (!sections) return notMeasured(input, { title: TITLE, area: AREA });
  const checks = Object.entries(sections).flatMap(([name, value]) => {
    const figures = record(value);
    if (!figures) return [];
    if (name === 'worker_restart') return [workerRestart(figures)];
    if (name.startsWith('fatal_')) return [fatal(name, figures)];
    return [other(name, figures)];
  });
  if (checks.length === 0)
    return notMeasured(input, { title: TITLE, area: AREA, reason: `\`${input.file}\` has no checks` });
  const failed = checks.filter((check) => check.ok === false).length;
  const unknown = checks.filter((check) => check.ok === undefined).length;
  return {
    title: TITLE,
    summary: {
      area: AREA,
      tried: `${show(checks.length)} checks: ${checks.map((check) => check.name).join('; ')}`,
      held: held(unknown === checks.length ? undefined : failed === 0, `${show(failed)} failed`),
    },
    body: paragraphs(
      'An uncaught exception or unhandled rejection after start must write one FATAL line with its stack, ' +
        'flushed to the log file and stdout, and exit 1; with `WEB_CONCURRENCY=2` a worker that dies is ' +
        'replaced while the other keeps serving.',
      table(
        ['check', 'what was seen', 'held'],
        checks.map((check) => [check.name, check.what, check.ok === undefined ? 'n/a' : check.ok ? 'yes' : '**no**']),
      ),
      source(input),
    ),
  };
}

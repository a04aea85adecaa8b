/**
 * `pnpm logs <request_id | trace_id> [file]`: one request's story from a JSON log file (LOG_FILE,
 * or stdin when no file is named) as a readable timeline. Lines that are not JSON are skipped.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { linesOf, storyOf, type Line } from './request-story.ts';

async function* jsonLines(input: NodeJS.ReadableStream): AsyncGenerator<Line> {
  for await (const text of createInterface({ input, crlfDelay: Infinity })) {
    if (!text.startsWith('{')) continue;
    try {
      yield JSON.parse(text) as Line;
    } catch {
      // Not a log line.
    }
  }
}

async function main(): Promise<void> {
  const [id, file] = process.argv.slice(2);
  if (id === undefined || id === '' || id.startsWith('-')) {
    process.stderr.write('usage: pnpm logs <request_id | trace_id> [file]   (reads stdin without a file)\n');
    process.exit(2);
  }
  const input = file === undefined ? process.stdin : createReadStream(file);
  const all: Line[] = [];
  for await (const line of jsonLines(input)) all.push(line);
  const found = linesOf(all, id);
  if (found.length === 0) {
    process.stderr.write(`no line of request or trace ${JSON.stringify(id.slice(0, 100))}\n`);
    process.exit(1);
  }
  process.stdout.write(storyOf(found));
}

await main();

import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { createLogAudit, SECRET_KINDS, type AuditReport, type SecretKind, type TrackedSecret } from './audit.ts';
import { LOG_FILE_PREFIX, SECRET_FILE_PREFIX } from './files.ts';

/** Files are read in pieces of this size, cut at the last line end: one worker's log can be large. */
const PIECE_BYTES = 16 * 1024 * 1024;
const NEWLINE = 0x0a;

function filesOf(folder: string, prefix: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((name) => name.startsWith(prefix) && name.endsWith('.ndjson'))
    .sort()
    .map((name) => join(folder, name));
}

function readSecrets(files: string[]): TrackedSecret[] {
  const kinds = new Set<string>(SECRET_KINDS);
  const secrets: TrackedSecret[] = [];
  for (const file of files) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line === '') continue;
      const { kind, value } = JSON.parse(line) as { kind: string; value: unknown };
      if (!kinds.has(kind) || typeof value !== 'string') throw new Error(`${file}: not a recorded secret: ${kind}`);
      secrets.push({ kind: kind as SecretKind, value });
    }
  }
  return secrets;
}

/** Feeds a file to `audit` in pieces that end at a newline (never inside a UTF-8 sequence). */
function auditFile(file: string, audit: ReturnType<typeof createLogAudit>, source: string): void {
  const descriptor = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(PIECE_BYTES);
    let carried = Buffer.alloc(0);
    let nextLine = 1;
    for (;;) {
      const read = readSync(descriptor, buffer, 0, PIECE_BYTES, null);
      const data = Buffer.concat([carried, buffer.subarray(0, read)]);
      const end = read === 0 ? data.length : data.lastIndexOf(NEWLINE) + 1;
      if (end > 0) nextLine += audit.auditText(source, data.subarray(0, end).toString('utf8'), nextLine);
      carried = Buffer.from(data.subarray(end));
      if (read === 0) return;
    }
  } finally {
    closeSync(descriptor);
  }
}

/** Audits every log file in `folder` for every secret recorded there. */
export function auditFolder(folder: string): AuditReport {
  const audit = createLogAudit(readSecrets(filesOf(folder, SECRET_FILE_PREFIX)));
  for (const file of filesOf(folder, LOG_FILE_PREFIX)) auditFile(file, audit, file.slice(folder.length + 1));
  return audit.report();
}

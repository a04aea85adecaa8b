import { Writable } from 'node:stream';
import { createLogSink } from './log-audit/records.ts';

export type LogLine = Record<string, unknown> & { level: string; event: string; timestamp: string };

/**
 * A log destination that keeps every line, parsed, for assertions; `text` is the raw output.
 * Every line also goes to the suite-wide log audit.
 */
export class LogCapture extends Writable {
  text = '';
  private readonly audit = createLogSink();

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    const text = chunk.toString();
    this.text += text;
    this.audit.write(text);
    callback();
  }

  override _final(callback: () => void): void {
    this.audit.end();
    callback();
  }

  get lines(): LogLine[] {
    return this.text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LogLine);
  }

  events(event: string, filter: Record<string, unknown> = {}): LogLine[] {
    return this.lines.filter(
      (line) => line.event === event && Object.entries(filter).every(([key, value]) => line[key] === value),
    );
  }

  forRequest(requestId: string): LogLine[] {
    return this.lines.filter((line) => line.request_id === requestId);
  }
}

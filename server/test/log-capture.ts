import { Writable } from 'node:stream';

export type LogLine = Record<string, unknown> & { level: string; event: string; timestamp: string };

/** A log destination that keeps every line, parsed, for assertions; `text` is the raw output. */
export class LogCapture extends Writable {
  text = '';

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
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

import type { ServerResponse } from 'node:http';

/**
 * The response headers tRPC collects in a Fetch `Headers` object, without one: names are
 * case-insensitive, `append` joins values with ", ", and they are written in the order a
 * `Headers` iterates them (sorted by name), so the raw response matches the official adapter's.
 */
export class ResponseHeaders {
  private readonly values = new Map<string, string>();
  /** Kept apart, as `Headers.getSetCookie()` does: cookies are never joined into one line. */
  private readonly cookies: string[] = [];

  set(name: string, value: string): void {
    const key = name.toLowerCase();
    if (key === 'set-cookie') this.cookies.splice(0, this.cookies.length, value);
    else this.values.set(key, value);
  }

  has(name: string): boolean {
    return this.values.has(name.toLowerCase());
  }

  append(name: string, value: string): void {
    const key = name.toLowerCase();
    if (key === 'set-cookie') {
      this.cookies.push(value);
      return;
    }
    const current = this.values.get(key);
    this.values.set(key, current === undefined ? value : `${current}, ${value}`);
  }

  /** `responseMeta` headers: a `Headers` object is appended; a plain record's strings replace, its arrays append. */
  appendAll(headers: Headers | Record<string, string | string[] | undefined> | undefined): void {
    if (headers === undefined) return;
    if (headers instanceof Headers) {
      for (const [name, value] of headers.entries()) this.append(name, value);
      return;
    }
    for (const [name, value] of Object.entries(headers)) {
      if (Array.isArray(value)) for (const item of value) this.append(name, item);
      else if (typeof value === 'string') this.set(name, value);
    }
  }

  applyTo(res: ServerResponse): void {
    for (const name of [...this.values.keys()].sort()) res.setHeader(name, this.values.get(name) as string);
    if (this.cookies.length > 0) res.setHeader('set-cookie', this.cookies);
  }
}

import type { ServerResponse } from 'node:http';

/**
 * The response headers tRPC collects in a Fetch `Headers` object, without one: names are
 * case-insensitive, `append` joins values with ", ", and they are written in the order a
 * `Headers` iterates them (sorted by name), so the raw response matches the official adapter's.
 */
export class ResponseHeaders {
  // A response has a handful of headers: two arrays kept in name order, no Map and no sort
  // per request.
  private readonly names: string[] = [];
  private readonly values: string[] = [];
  /** Kept apart, as `Headers.getSetCookie()` does: cookies are never joined into one line. */
  private readonly cookies: string[] = [];

  set(name: string, value: string): void {
    const key = name.toLowerCase();
    if (key === 'set-cookie') {
      this.cookies.splice(0, this.cookies.length, value);
      return;
    }
    const index = this.indexOf(key);
    if (this.names[index] === key) this.values[index] = value;
    else this.insert(index, key, value);
  }

  has(name: string): boolean {
    const key = name.toLowerCase();
    return this.names[this.indexOf(key)] === key;
  }

  append(name: string, value: string): void {
    const key = name.toLowerCase();
    if (key === 'set-cookie') {
      this.cookies.push(value);
      return;
    }
    const index = this.indexOf(key);
    if (this.names[index] === key) this.values[index] = `${this.values[index]}, ${value}`;
    else this.insert(index, key, value);
  }

  /** `responseMeta` headers: a `Headers` object is appended; a plain record's strings replace, its arrays append. */
  appendAll(headers: Headers | Record<string, string | string[] | undefined> | undefined): void {
    if (headers === undefined) return;
    if (headers instanceof Headers) {
      for (const [name, value] of headers.entries()) this.append(name, value);
      return;
    }
    for (const name in headers) {
      if (!Object.hasOwn(headers, name)) continue;
      const value = headers[name];
      if (Array.isArray(value)) for (const item of value) this.append(name, item);
      else if (typeof value === 'string') this.set(name, value);
    }
  }

  applyTo(res: ServerResponse): void {
    for (let index = 0; index < this.names.length; index++) {
      res.setHeader(this.names[index] as string, this.values[index] as string);
    }
    if (this.cookies.length > 0) res.setHeader('set-cookie', this.cookies);
  }

  /** Where `key` is, or where it goes to keep the names sorted (as `Headers` iterates them). */
  private indexOf(key: string): number {
    let index = 0;
    while (index < this.names.length && (this.names[index] as string) < key) index++;
    return index;
  }

  private insert(index: number, key: string, value: string): void {
    if (index === this.names.length) {
      this.names.push(key);
      this.values.push(value);
      return;
    }
    this.names.splice(index, 0, key);
    this.values.splice(index, 0, value);
  }
}

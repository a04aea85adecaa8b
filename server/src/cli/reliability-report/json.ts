/**
 * Tolerant reads of the figures files: each test writes its own shape, which may grow or
 * change; a field that is missing or of another type reads as undefined, never throws.
 */

export function at(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

export function num(value: unknown, path: string): number | undefined {
  const found = at(value, path);
  return typeof found === 'number' && Number.isFinite(found) ? found : undefined;
}

export function text(value: unknown, path: string): string | undefined {
  const found = at(value, path);
  return typeof found === 'string' ? found : undefined;
}

export function bool(value: unknown, path: string): boolean | undefined {
  const found = at(value, path);
  return typeof found === 'boolean' ? found : undefined;
}

export function record(value: unknown, path?: string): Record<string, unknown> | undefined {
  const found = path === undefined ? value : at(value, path);
  return found !== null && typeof found === 'object' && !Array.isArray(found)
    ? (found as Record<string, unknown>)
    : undefined;
}

export function list(value: unknown, path: string): unknown[] {
  const found = at(value, path);
  return Array.isArray(found) ? found : [];
}

/** The numeric entries of an object (`{ "200": 3, "503 X": 1 }`), in their order. */
export function counts(value: unknown, path: string): [string, number][] {
  return Object.entries(record(value, path) ?? {}).filter(
    (entry): entry is [string, number] => typeof entry[1] === 'number',
  );
}

/** Every scalar field at the top of an object, for shapes the report does not know. */
export function scalars(value: unknown): [string, string | number | boolean][] {
  return Object.entries(record(value) ?? {}).filter((entry): entry is [string, string | number | boolean] =>
    ['string', 'number', 'boolean'].includes(typeof entry[1]),
  );
}

import type { Input } from './inputs.ts';
import { counts, num, record } from './json.ts';
import { held, show, table } from './markdown.ts';
import { notMeasured, paragraphs, source, type Section } from './section.ts';

const TITLE = 'Security matrix (OWASP API Security Top 10, 2023)';
const AREA = 'Security matrix';

/** The matrix's category names, as OWASP numbers and names them. */
const OWASP: Record<string, string> = {
  BOLA: "API1 Broken Object Level Authorization: another customer's order on every order route, and in lists",
  BROKEN_AUTH:
    'API2 Broken Authentication: every forged or unfit token (alg none, HS512, key confusion, expired, nbf, wrong aud, iss or typ, tampered payload, unknown user) is 401 with its reason logged',
  MASS_ASSIGNMENT:
    'API3 Broken Object Property Level Authorization: an extra privileged key on every write input is 400 and writes nothing',
  RESOURCE_CONSUMPTION: 'API4 Unrestricted Resource Consumption: page limits, batch sizes, body sizes',
  BFLA: 'API5 Broken Function Level Authorization: every admin operation as a customer (403) and anonymously (401)',
  MISCONFIGURATION:
    'API8 Security Misconfiguration: security headers, CORS, no stack, SQL or internal message in production answers, panel off',
};

export function securitySection(input: Input): Section {
  if (input.data === undefined) return notMeasured(input, { title: TITLE, area: AREA });
  const figures = input.data;
  const categories = counts(figures, 'categories');
  const total = num(figures, 'total') ?? categories.reduce((sum, [, count]) => sum + count, 0);
  const failed = num(figures, 'failed');
  // Failures per category, when the file has them.
  const failedBy = record(figures, 'failures') ?? record(figures, 'failed_by_category');
  const rows = categories.map(([category, count]) => [
    OWASP[category] ?? category,
    show(count),
    ...(failedBy ? [show(typeof failedBy[category] === 'number' ? failedBy[category] : 0)] : []),
  ]);
  return {
    title: TITLE,
    summary: {
      area: AREA,
      tried: `${show(total)} cases in ${show(categories.length)} categories, each over REST and tRPC`,
      held: held(failed === undefined ? undefined : failed === 0, `${show(failed)} failed`),
    },
    body: paragraphs(
      'Cases are enumerated from `openapi.json` and the procedures it names, so a new route is covered as soon as it is documented.',
      table(['category', 'cases', ...(failedBy ? ['failed'] : [])], rows),
      `Cases in all: ${show(total)}; failed: ${show(failed)}.`,
      source(input),
    ),
  };
}

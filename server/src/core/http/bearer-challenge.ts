/**
 * The `WWW-Authenticate` challenge every 401 carries (RFC 9110 requires one). RFC 6750: a
 * refused token says why; a request without credentials, or a failed login (whose reason
 * the client must not learn), gets the bare challenge.
 */
export function bearerChallenge(reason: string | undefined): string {
  if (reason === undefined || reason === 'Missing Header') return 'Bearer realm="orders-service"';
  const error = reason === 'Malformed Header' ? 'invalid_request' : 'invalid_token';
  return `Bearer realm="orders-service", error="${error}", error_description="${reason}"`;
}

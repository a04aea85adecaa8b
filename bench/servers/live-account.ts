/**
 * The account check the service makes on every authenticated request, as an SQL condition:
 * the user exists and is not disabled, and the token's session still has a live refresh token
 * (so a logout or a disabled account counts at once). `user` and `session` name the statement's
 * parameters that hold the token's `sub` and `sid`.
 */
export function liveAccount(user: string, session: string): string {
  return `exists (
    select from users u where u.id = ${user} and u.disabled_at is null and exists (
      select from refresh_tokens r where r.family_id = ${session} and r.user_id = u.id and r.revoked_at is null))`;
}

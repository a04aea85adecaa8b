import { randomBytes } from 'node:crypto';
import { fromAddressOf, outcomeOf, timedCall } from './timed-call.ts';
import type { Operation } from './world.ts';

/** Signing in and up, and the refusals the traffic provokes on purpose: wrong passwords, forged tokens. */
export const ACCOUNT_OPERATIONS: Operation[] = [
  {
    name: 'sign in',
    weight: 3,
    run: async (world, customer) => {
      const { outcome, answer } = await timedCall(world, {
        kind: 'auth.login',
        procedure: 'auth.login',
        input: { email: customer.email, password: customer.password },
        ...fromAddressOf(customer),
      });
      const token = (answer.data as { accessToken?: string } | undefined)?.accessToken;
      if (token) customer.token = token;
      return [outcome];
    },
  },
  {
    name: 'sign in with a wrong password',
    weight: 4,
    run: (world, customer) =>
      outcomeOf(world, {
        kind: 'auth.login wrong password',
        procedure: 'auth.login',
        input: { email: customer.email, password: `wrong-${randomBytes(6).toString('hex')}` },
        ...fromAddressOf(customer),
      }),
  },
  {
    name: 'call with a forged token',
    weight: 4,
    run: (world, customer) => {
      const [header = '', payload = ''] = customer.token.split('.');
      return outcomeOf(world, {
        kind: 'auth.me forged token',
        procedure: 'auth.me',
        token: `${header}.${payload}.${randomBytes(32).toString('base64url')}`,
        ...fromAddressOf(customer),
      });
    },
  },
  {
    name: 'register',
    weight: 2,
    run: (world, customer) =>
      outcomeOf(world, {
        kind: 'auth.register',
        procedure: 'auth.register',
        input: {
          email: `soak-new-${randomBytes(6).toString('hex')}@example.com`,
          password: `soak-password-${randomBytes(8).toString('hex')}`,
          name: 'Soak newcomer',
        },
        ...fromAddressOf(customer),
      }),
  },
];

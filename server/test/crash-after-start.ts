import { subscribe } from 'node:diagnostics_channel';

/**
 * Preloaded into a real server process by the fatal-error tests
 * (`node --import tsx --import <this file> server/src/main.ts`). Once the server has
 * started and received its first request, it crashes the process from outside the server's
 * code, as a bug would: `CRASH_WITH=exception` throws from a timer, `CRASH_WITH=rejection`
 * leaves a rejected promise without a handler. The message is `CRASH_MESSAGE`. The server
 * has no hook for this: node's own diagnostics channel tells when a request starts.
 */

const crashWith = process.env.CRASH_WITH === 'rejection' ? 'rejection' : 'exception';
const message = process.env.CRASH_MESSAGE ?? 'crash after start';

function crashFromTimer(): void {
  if (crashWith === 'rejection') void Promise.reject(new Error(message));
  else throw new Error(message);
}

let armed = false;
subscribe('http.server.request.start', () => {
  if (armed) return;
  armed = true;
  // After the request is answered, outside any request's context.
  setTimeout(crashFromTimer, 100);
});

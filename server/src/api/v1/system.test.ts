import { describe, expect, it } from 'vitest';
import { callApi, PROTOCOLS } from '../../../test/api-client.ts';
import { useTestApp } from '../../../test/fixture.ts';
import { accessLine, waitForLines } from '../../../test/http-client.ts';

const { app } = useTestApp();

describe.each(PROTOCOLS)('system.ping over %s', (protocol) => {
  it.each(['v1', 'v2'] as const)('answers ok with the server time, on %s, and logs the call', async (version) => {
    const before = Date.now();
    const res = await callApi<{ status: string; time: string }>(app.url, 'system.ping', { protocol, version });
    expect(res.status).toBe(200);
    expect(res.data.status).toBe('ok');
    const time = Date.parse(res.data.time);
    expect(time).toBeGreaterThanOrEqual(before - 1_000);
    expect(time).toBeLessThanOrEqual(Date.now() + 1_000);

    const [call] = await waitForLines(app.logs, {
      event: 'procedure_call',
      filter: { request_id: res.requestId, procedure: `${version}.system.ping` },
    });
    expect(call).toMatchObject({ level: 'INFO', ok: true, type: 'query' });
    expect(await accessLine(app.logs, res.requestId)).toMatchObject({ status: 200, method: 'GET' });
  });

  it('refuses an input it does not take, and touches no database', async () => {
    const res = await callApi(app.url, 'system.ping', { protocol, input: { extra: 1 } });
    expect(res.status).toBe(400);
    expect(res.error?.code).toBe('VALIDATION_FAILED');
    expect(app.logs.forRequest(res.requestId ?? '').filter((line) => line.event === 'db_query')).toEqual([]);
  });
});

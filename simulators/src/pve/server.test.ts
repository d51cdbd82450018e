import { connect } from 'node:tls';
import { waitFor } from '@molten/testkit';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pveClient, startTestSimulator, type Client } from '../../test/pve-client.js';
import type { PveSimulator } from './index.js';

describe('transport', () => {
  let sim: PveSimulator;
  let c: Client;

  beforeAll(async () => {
    sim = await startTestSimulator();
    c = pveClient(sim);
  });
  afterAll(async () => {
    await c?.close();
    await sim?.close();
  });

  it('serves HTTPS on 127.0.0.1 with a certificate the cluster CA signed', async () => {
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.caFile).toMatch(/pve-root-ca\.pem$/);
    // Without the CA, the self-signed chain is refused, as with a real node.
    const untrusting = new Agent();
    await expect(fetch(`${sim.apiUrl}/version`, { dispatcher: untrusting })).rejects.toThrow();
    await untrusting.close();
    const r = await c.get('/version');
    expect(r.status).toBe(200);
  });

  it('reports the SHA-256 fingerprint of the certificate it actually serves', async () => {
    const peer = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: sim.port, rejectUnauthorized: false }, () => {
        resolve(s.getPeerCertificate().fingerprint256);
        s.end();
      });
      s.on('error', reject);
    });
    expect(sim.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(sim.fingerprint).toBe(peer);
    const nodes = await c.get('/nodes');
    expect(nodes.body.data.every((n: { ssl_fingerprint: string }) => n.ssl_fingerprint === peer)).toBe(true);
  });

  it("answers with pveproxy's headers and the {data} envelope", async () => {
    const r = await c.get('/version');
    expect(r.headers.get('content-type')).toBe('application/json;charset=UTF-8');
    expect(r.headers.get('server')).toBe('pve-api-daemon/3.0');
    expect(r.headers.get('cache-control')).toBe('max-age=0');
    expect(r.headers.get('pragma')).toBe('no-cache');
    expect(r.body).toEqual({ data: { version: '9.0.10', release: '9.0', repoid: 'deb1ca707ec72a89' } });
  });

  it('puts error messages in the status line and closes the connection after errors', async () => {
    const r = await c.get('/xyz');
    expect(r.status).toBe(501);
    expect(r.statusText).toBe("Method 'GET /xyz' not implemented");
    expect(r.body).toEqual({ data: null, message: "Method 'GET /xyz' not implemented" });
    expect(r.headers.get('connection')).toBe('close');
    const wrongMethod = await c.get('/nodes/pve1/qemu/100/status/start');
    expect(wrongMethod.statusText).toBe("Method 'GET /nodes/pve1/qemu/100/status/start' not implemented");
  });

  it("answers paths outside /api2/{format} the way pveproxy's error() does", async () => {
    const agent = new Agent({ connect: { ca: sim.ca! } });
    const res = await fetch(`${sim.url}/index.html`, { dispatcher: agent, headers: { authorization: sim.authHeader() } });
    expect(res.status).toBe(501);
    expect(res.statusText).toBe('no such uri');
    expect(await res.text()).toBe('no such uri');
    await agent.close();
  });

  it('gzips large bodies for clients that accept it', async () => {
    const agent = new Agent({ connect: { ca: sim.ca! } });
    const res = await fetch(`${sim.apiUrl}/cluster/resources`, {
      dispatcher: agent,
      headers: { authorization: sim.authHeader(), 'accept-encoding': 'gzip' },
    });
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(((await res.json()) as { data: unknown[] }).data.length).toBeGreaterThan(10); // undici inflates it
    await agent.close();
  });

  it('logs requests and counts them by method, path, node, vmid and action', async () => {
    sim.clearRequests();
    await c.get('/cluster/resources');
    await c.get('/cluster/resources', { type: 'vm' });
    await c.post('/nodes/pve3/qemu/304/status/start');
    await c.post('/nodes/pve3/qemu/304/status/stop');
    expect(sim.countRequests({ path: '/cluster/resources' })).toBe(2);
    expect(sim.countRequests({ method: 'POST', vmid: 304 })).toBe(2);
    expect(sim.countRequests({ action: 'start' })).toBe(1);
    const rec = sim.requests.find((r) => r.action === 'start')!;
    expect(rec).toMatchObject({ method: 'POST', node: 'pve3', vmid: 304, status: 200, userid: 'root@pam!molten' });
    expect(sim.requests[1]).toMatchObject({ path: '/cluster/resources', query: 'type=vm' });
  });
});

describe('plain HTTP', () => {
  it('serves http:// with tls: false', async () => {
    const sim = await startTestSimulator({ tls: false });
    try {
      expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(sim.caFile).toBeUndefined();
      const res = await fetch(`${sim.apiUrl}/version`, { headers: { authorization: sim.authHeader() } });
      expect(res.status).toBe(200);
    } finally {
      await sim.close();
    }
  });
});

describe('going down and coming back', () => {
  it('stop() cuts in-flight requests and closes the port; start() reopens the same port', async () => {
    const sim = await startTestSimulator();
    const c = pveClient(sim);
    try {
      const port = sim.port;
      sim.setLatency(60_000, { path: '/nodes' });
      const inFlight = c.get('/nodes');
      await waitFor(() => sim.countRequests({ path: '/nodes' }) === 1);
      await sim.stop();
      expect(sim.running).toBe(false);
      await expect(inFlight).rejects.toThrow();
      await expect(c.get('/version')).rejects.toThrow();

      sim.setLatency(0);
      await sim.start();
      expect(sim.running).toBe(true);
      expect(sim.port).toBe(port);
      expect((await c.get('/version')).status).toBe(200);
    } finally {
      await c.close();
      await sim.close();
    }
  });

  it('keeps the cluster running while the API is down: tasks finish meanwhile', async () => {
    const sim = await startTestSimulator({ taskDurations: { start: 300 } });
    const c = pveClient(sim);
    try {
      const upid = (await c.post('/nodes/pve3/qemu/304/status/start')).body.data;
      await sim.stop();
      await waitFor(() => sim.task(upid)?.status === 'stopped');
      await sim.start();
      const r = await c.get(`/nodes/pve3/tasks/${encodeURIComponent(upid)}/status`);
      expect(r.body.data).toMatchObject({ status: 'stopped', exitstatus: 'OK' });
      expect(sim.guest(304)?.status).toBe('running');
    } finally {
      await c.close();
      await sim.close();
    }
  });
});

describe('failure injection', () => {
  let sim: PveSimulator;
  let c: Client;

  beforeAll(async () => {
    sim = await startTestSimulator();
    c = pveClient(sim);
  });
  afterAll(async () => {
    await c?.close();
    await sim?.close();
  });

  it('failNextRequest answers the next matching requests with the given status, then recovers', async () => {
    sim.failNextRequest({ path: '/cluster/resources' }, 503, 'Service Unavailable', { times: 2 });
    const other = await c.get('/version');
    expect(other.status).toBe(200);
    const a = await c.get('/cluster/resources');
    const b = await c.get('/cluster/resources');
    expect([a.status, a.statusText, b.status]).toEqual([503, 'Service Unavailable', 503]);
    expect(a.body).toEqual({ data: null, message: 'Service Unavailable' });
    expect((await c.get('/cluster/resources')).status).toBe(200);
  });

  it('proxy pseudo-statuses (595) come with an empty body', async () => {
    sim.failNextRequest({ node: 'pve2' }, 595, 'Connection timed out');
    const r = await c.get('/nodes/pve2/qemu');
    expect([r.status, r.statusText, r.text]).toEqual([595, 'Connection timed out', '']);
  });

  it('dropNextRequest before processing: no answer and no effect', async () => {
    const before = sim.tasks({ vmid: 304 }).length; // the seeded history
    sim.dropNextRequest({ method: 'POST', vmid: 304, action: 'start' });
    await expect(c.post('/nodes/pve3/qemu/304/status/start')).rejects.toThrow();
    expect(sim.tasks({ vmid: 304 })).toHaveLength(before);
  });

  it('dropNextRequest after processing: no answer, but the task was started (the unknown outcome)', async () => {
    const seeded = new Set(sim.tasks({ vmid: 304 }).map((t) => t.upid));
    sim.dropNextRequest({ method: 'POST', vmid: 304, action: 'start' }, { afterProcessing: true });
    await expect(c.post('/nodes/pve3/qemu/304/status/start')).rejects.toThrow();
    const [task, ...others] = sim.tasks({ vmid: 304 }).filter((t) => !seeded.has(t.upid));
    expect(others).toEqual([]);
    expect(task?.type).toBe('qmstart');
    // The client can find it again, as the adapter does when reconciling.
    const list = await c.get('/nodes/pve3/tasks', { vmid: 304, typefilter: 'qmstart', source: 'all' });
    expect(list.body.data.map((t: { upid: string }) => t.upid)).toEqual([task!.upid]);
  });

  it('setLatency delays answers (after the request took effect)', async () => {
    sim.setLatency(250, { path: '/version' });
    const t0 = Date.now();
    expect((await c.get('/version')).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
    sim.setLatency(0);
  });
});

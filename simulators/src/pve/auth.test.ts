import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Identity, TokenStore, tokenHeader } from './auth.js';
import { PveError } from './errors.js';
import { DEMO_TOKEN, type PveSimulator, type PveTokenSpec } from './index.js';
import { pveClient, startTestSimulator, type Client } from '../../test/pve-client.js';

const AUDITOR: PveTokenSpec = {
  id: 'monitor@pve!ro',
  secret: '0b9f4a7e-2f61-4a3a-9d0e-7c1f3e5b8a21',
  // Sees all guests but 102 and nothing of pve2; may not power anything; one storage.
  privileges: {
    '/': ['Sys.Audit'],
    '/vms': ['VM.Audit'],
    '/vms/102': [],
    '/nodes/pve2': [],
    '/storage/local': ['Datastore.Audit'],
  },
};

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PveError);
    expect((err as PveError).status).toBe(401);
    return (err as PveError).message.trimEnd();
  }
  throw new Error('expected a 401');
}

describe('token check (pve-access-control verify_token)', () => {
  const store = new TokenStore([DEMO_TOKEN, AUDITOR]);
  const now = Date.now();
  const auth = (authorization?: string, uniform = false) => store.authenticate({ authorization }, { uniform, now });

  it('accepts the header in both spellings and returns the token as the user', () => {
    expect(auth(tokenHeader(DEMO_TOKEN)).userid).toBe('root@pam!molten');
    expect(auth(`PVEAPIToken ${DEMO_TOKEN.id}=${DEMO_TOKEN.secret}`).userid).toBe('root@pam!molten');
  });

  it('explains each refusal like PVE before 9.1.5', () => {
    expect(reason(() => auth(undefined))).toBe('No ticket');
    expect(reason(() => auth(`Bearer ${DEMO_TOKEN.secret}`))).toBe('No ticket');
    expect(reason(() => auth('PVEAPIToken=root@pam!molten'))).toBe('no tokenid specified');
    expect(reason(() => auth('PVEAPIToken=root!molten=x'))).toBe(
      "'root!molten' is not a valid token ID - not able to split into user and token parts",
    );
    expect(reason(() => auth('PVEAPIToken=ghost@pve!rw=y'))).toBe("no such user ('ghost@pve')");
    expect(reason(() => auth('PVEAPIToken=monitor@pve!rw=y'))).toBe("no such token 'rw' for user 'monitor@pve'");
    expect(reason(() => auth('PVEAPIToken=monitor@pve!x=y'))).toMatch(/is not a valid token ID/); // token names have 2+ characters
    expect(reason(() => auth(`PVEAPIToken=root@pam!molten=${AUDITOR.secret}`))).toBe('invalid token value!');
    const expired = new TokenStore([{ ...AUDITOR, expire: Math.floor(now / 1000) - 1 }]);
    expect(reason(() => expired.authenticate({ authorization: tokenHeader(AUDITOR) }, { uniform: false, now }))).toBe(
      "token 'ro' access expired",
    );
    expect(reason(() => store.authenticate({ cookie: 'PVEAuthCookie=PVE:root@pam:abc' }, { uniform: false, now }))).toBe(
      'permission denied - invalid PVE ticket',
    );
  });

  it('says only "Authentication failed!" from PVE 9.1.5 on (but still "No ticket")', () => {
    expect(reason(() => auth('PVEAPIToken=monitor@pve!rw=y', true))).toBe('Authentication failed!');
    expect(reason(() => auth(undefined, true))).toBe('No ticket');
  });

  it('ACLs: the deepest path with an entry decides', () => {
    const who = auth(tokenHeader(AUDITOR));
    expect(who).toBeInstanceOf(Identity);
    expect(who.can('/vms/100', ['VM.Audit'])).toBe(true);
    expect(who.can('/vms/102', ['VM.Audit'])).toBe(false);
    expect(who.can('/nodes/pve1', ['Sys.Audit'])).toBe(true);
    expect(who.can('/nodes/pve2', ['Sys.Audit'])).toBe(false);
    expect(who.can('/storage/local', ['Datastore.Audit', 'Datastore.AllocateSpace'], true)).toBe(true);
    expect(() => who.check('/vms/100', ['VM.Audit', 'VM.PowerMgmt'])).toThrow('Permission check failed (/vms/100, VM.PowerMgmt)');
  });

  it('refuses misconfigured tokens at startup', () => {
    expect(() => new TokenStore([{ ...DEMO_TOKEN, privileges: ['VM.Audit', 'VM.Start'] }])).toThrow(/'VM.Start' is not a Proxmox VE privilege/);
    expect(() => new TokenStore([{ ...DEMO_TOKEN, id: 'root@pam' }])).toThrow(/user@realm!tokenname/);
  });
});

describe('authentication and permissions over HTTPS', () => {
  let sim: PveSimulator;
  let admin: Client;
  let auditor: Client;

  beforeAll(async () => {
    sim = await startTestSimulator({ tokens: [DEMO_TOKEN, AUDITOR] });
    admin = pveClient(sim);
    auditor = pveClient(sim, { token: AUDITOR.id });
  });
  afterAll(async () => {
    await Promise.all([admin?.close(), auditor?.close()]);
    await sim?.close();
  });

  it('401 with the reason in the status line and an empty body', async () => {
    const none = pveClient(sim, { header: null });
    const wrong = pveClient(sim, { header: `PVEAPIToken=root@pam!molten=${AUDITOR.secret}` });
    const unknown = pveClient(sim, { header: 'PVEAPIToken=monitor@pve!rw=secret' });
    try {
      const r = await none.get('/version');
      expect([r.status, r.statusText, r.text]).toEqual([401, 'No ticket', '']);
      expect((await wrong.get('/version')).statusText).toBe('invalid token value!');
      expect((await unknown.get('/cluster/resources')).statusText).toBe("no such token 'rw' for user 'monitor@pve'");
      // Unknown paths too: authentication comes first.
      expect((await none.get('/xyz')).status).toBe(401);
    } finally {
      await Promise.all([none.close(), wrong.close(), unknown.close()]);
    }
  });

  it('403 naming the ACL path and the missing privilege', async () => {
    const r = await auditor.post('/nodes/pve1/qemu/101/status/start');
    expect([r.status, r.statusText]).toEqual([403, 'Permission check failed (/vms/101, VM.PowerMgmt)']);
    expect(r.body).toEqual({ data: null, message: 'Permission check failed (/vms/101, VM.PowerMgmt)\n' });
    expect((await auditor.get('/nodes/pve1/qemu/102/status/current')).statusText).toBe('Permission check failed (/vms/102, VM.Audit)');
    expect((await auditor.get('/nodes/pve2/status')).statusText).toBe('Permission check failed (/nodes/pve2, Sys.Audit)');
    expect((await auditor.get('/nodes/pve1/storage/local-lvm/status')).statusText).toBe(
      'Permission check failed (/storage/local-lvm, Datastore.Audit|Datastore.AllocateSpace)',
    );
    // The permission check runs before the guest is looked up.
    expect((await auditor.post('/nodes/pve1/qemu/999/status/start')).status).toBe(403);
  });

  it('list endpoints silently leave out what the token cannot see', async () => {
    const all = (await admin.get('/cluster/resources', { type: 'vm' })).body.data.length;
    const seen = (await auditor.get('/cluster/resources', { type: 'vm' })).body.data as { vmid: number }[];
    expect(seen).toHaveLength(all - 1);
    expect(seen.some((r) => r.vmid === 102)).toBe(false);
    expect((await auditor.get('/nodes/pve1/qemu')).body.data.map((r: { vmid: number }) => r.vmid).sort()).toEqual([101, 110, 9000]);
    expect((await auditor.get('/cluster/resources', { type: 'storage' })).body.data.map((r: { id: string }) => r.id)).toEqual([
      'storage/pve1/local',
      'storage/pve2/local',
      'storage/pve3/local',
    ]);
    expect((await auditor.get('/storage')).body.data.map((r: { storage: string }) => r.storage)).toEqual(['local']);
    expect((await auditor.get('/nodes/pve1/storage')).body.data.map((r: { storage: string }) => r.storage)).toEqual(['local']);
    // Nodes are always listed; without Sys.Audit on a node its figures are left out.
    const nodes = (await auditor.get('/nodes')).body.data as Record<string, unknown>[];
    expect(nodes.map((n) => n.node)).toEqual(['pve1', 'pve2', 'pve3']);
    expect(nodes[0]).toHaveProperty('cpu');
    expect(nodes[1]).not.toHaveProperty('cpu');
    expect(nodes[1]).not.toHaveProperty('maxmem');
    expect(nodes[1]).toMatchObject({ status: 'online' });
  });

  it("task lists show other users' tasks only with Sys.Audit on the node; a task's owner may always read it", async () => {
    const upid = (await admin.post('/nodes/pve2/qemu/203/status/start')).body.data as string;
    const asAuditor = await auditor.get(`/nodes/pve2/tasks/${encodeURIComponent(upid)}/status`);
    expect(asAuditor.statusText).toBe('Permission check failed (/nodes/pve2, Sys.Audit)');
    expect((await auditor.get('/nodes/pve2/tasks', { source: 'all' })).body.data).toEqual([]);
    expect((await admin.get('/nodes/pve2/tasks', { source: 'all' })).body.data.map((t: { upid: string }) => t.upid)).toContain(upid);
  });

  it('tokens can be revoked and added while running', async () => {
    const extra: PveTokenSpec = { id: 'ci@pve!deploy', secret: 'e3c1a5f0-1111-4222-8333-944445555666', privileges: ['VM.Audit'] };
    sim.addToken(extra);
    const c = pveClient(sim, { token: extra.id });
    try {
      expect((await c.get('/cluster/resources', { type: 'vm' })).status).toBe(200);
      sim.removeToken(extra.id);
      expect((await c.get('/cluster/resources')).statusText).toBe("no such user ('ci@pve')");
    } finally {
      await c.close();
    }
  });
});

describe('a PVE 9.2 cluster', () => {
  it('answers every failed token check with 401 Authentication failed!', async () => {
    const sim = await startTestSimulator({ version: '9.2.11' });
    const c = pveClient(sim, { header: 'PVEAPIToken=root@pam!nope=x' });
    try {
      expect((await c.get('/version')).statusText).toBe('Authentication failed!');
    } finally {
      await c.close();
      await sim.close();
    }
  });
});

/**
 * Screenshots of every page of the dashboard for the README and docs, from a running stack
 * (npm start): light and dark, desktop (1440 × 900) and phone (390 px, full page), into
 * docs/screenshots/<page>-<desktop|phone>-<light|dark>.png.
 *
 *   MOLTEN_URL=http://127.0.0.1:3003 MOLTEN_TOKEN=<operator token> npx tsx apps/dashboard/scripts/screenshots.ts
 *
 * The token defaults to the one npm start keeps in the data directory (.molten/operator-token).
 * Pages that need something to show (a guest, a node, a command, an agent run) take the first the
 * api lists; the agent run is started once when there is none, so the Agents page and a command
 * page show one.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';

const root = path.resolve(import.meta.dirname, '../../..');
const url = process.env.MOLTEN_URL ?? 'http://127.0.0.1:3003';
const tokenFile = path.join(process.env.MOLTEN_DATA_DIR ?? path.join(root, '.molten'), 'operator-token');
const token = process.env.MOLTEN_TOKEN ?? (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '');
if (!token) throw new Error(`no token: set MOLTEN_TOKEN, or start the stack with npm start (it writes ${tokenFile})`);
const out = path.join(root, 'docs/screenshots');
mkdirSync(out, { recursive: true });

async function api<T>(p: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${url}${p}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${p}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface Listed {
  data: { vmid: number; node: string; status: string; template: boolean; cluster: string }[];
}
const guests = (await api<Listed>('/api/vms')).data;
const guest = guests.find((g) => g.status === 'running' && !g.template) ?? guests[0];
if (!guest) throw new Error('the api lists no guests yet: wait for the first poll');

// An agent run, so the Agents page and a command page have one to show.
type Commands = { data: { id: string; action: string; status: string }[] };
let runs = (await api<Commands>('/api/commands')).data.filter((c) => c.action === 'agent-run');
if (runs.length === 0) {
  const agents = await api<{ data: { agents: { id: string }[] } }>('/api/agents');
  const agent = agents.data.agents[0];
  if (agent) {
    await api(`/api/agents/${encodeURIComponent(agent.id)}/run`, { method: 'POST', body: JSON.stringify({ message: 'Which guests use the most memory?' }) });
    for (let i = 0; i < 100 && !runs.some((c) => !['requested', 'accepted', 'running'].includes(c.status)); i++) {
      await new Promise((r) => setTimeout(r, 200));
      runs = (await api<Commands>('/api/commands')).data.filter((c) => c.action === 'agent-run');
    }
  }
}
const command = runs[0] ?? (await api<Commands>('/api/commands')).data[0];
// The session of the newest run (its sessionKey, else its agent's main session).
const runTarget = (await api<{ data: { scope: string; target?: { agentId: string; sessionKey?: string } } }>(`/api/commands/${runs[0]?.id ?? command?.id}`)).data;
const session = { scope: runTarget.scope, key: runTarget.target?.sessionKey || `agent:${runTarget.target?.agentId ?? 'main'}:main` };

/** Each page, and what shows it is filled in from the live state. */
const pages: { name: string; path: string; ready: (p: Page) => Promise<unknown> }[] = [
  { name: 'infrastructure', path: '/', ready: (p) => p.locator('[role="row"][data-vmid]').first().waitFor() },
  { name: 'guest', path: `/guests/${guest.cluster}/${guest.vmid}`, ready: (p) => p.locator('figure[data-drawn="yes"]').first().waitFor() },
  { name: 'node', path: `/nodes/${guest.cluster}/${guest.node}`, ready: (p) => p.locator('figure[data-drawn="yes"]').first().waitFor() },
  { name: 'connections', path: '/servers', ready: (p) => p.locator('main .grid > *').first().waitFor() },
  { name: 'agents', path: '/agents', ready: (p) => p.locator('section[aria-labelledby="sessions-title"]').waitFor() },
  { name: 'approvals', path: '/approvals', ready: (p) => p.locator('main h1').waitFor() },
  { name: 'session', path: `/agents/sessions/${encodeURIComponent(session.scope)}/${encodeURIComponent(session.key)}`, ready: (p) => p.locator('section[aria-labelledby="runs-title"] li').first().waitFor() },
  ...(command ? [{ name: 'command', path: `/commands/${command.id}`, ready: (p: Page) => p.locator('main h1').waitFor() }] : []),
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--hide-scrollbars'],
});
try {
  for (const scheme of ['light', 'dark'] as const) {
    for (const [size, viewport, scale] of [
      ['desktop', { width: 1440, height: 900 }, 1],
      ['phone', { width: 390, height: 844 }, 2],
    ] as const) {
      const context = await browser.newContext({ viewport, deviceScaleFactor: scale, colorScheme: scheme, reducedMotion: 'reduce' });
      const page = await context.newPage();
      await page.goto(`${url}/signin`);
      await page.screenshot({ path: path.join(out, `signin-${size}-${scheme}.png`) });
      await page.getByLabel('Token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((u) => !u.pathname.startsWith('/signin'));
      await page.locator('header .conn.live').waitFor();
      for (const p of pages) {
        await page.goto(`${url}${p.path}`);
        await p.ready(page);
        await page.locator('header .conn.live').waitFor();
        // Let a poll land, so ages read "updated 1 s ago", not "never", and charts have drawn.
        await page.waitForTimeout(1500);
        const file = path.join(out, `${p.name}-${size}-${scheme}.png`);
        await page.screenshot({ path: file, fullPage: size === 'phone' });
        process.stdout.write(`${path.relative(root, file)}\n`);
      }
      await context.close();
    }
  }
} finally {
  await browser.close();
}

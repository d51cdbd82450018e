/**
 * What the dashboard's end-to-end specs need from a running stack, and the browser side.
 * The specs take a DashboardStack; anything that starts the whole stack (the system-test
 * harness, `npm start` in-process) can provide one.
 */
import type { PowerActionName } from '@molten/contracts';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export interface DashboardStack {
  /** Where the api serves the built dashboard, e.g. http://127.0.0.1:3003. */
  url: string;
  operatorToken: string;
  viewerToken: string;
  /** The agent token (MOLTEN_AGENT_TOKEN), for specs that act as an agent through /mcp. */
  agentToken?: string;
  /** The simulated Proxmox cluster, under test control. */
  pve: {
    /** The next `action` on `vmid` is refused by Proxmox with this status and reason (e.g. 403 and the missing privilege). */
    failNextAction(vmid: number, action: PowerActionName, status: number, reason: string): void;
    /** How long the simulated tasks take, so an optimistic state can be seen. */
    setTaskDuration(action: PowerActionName, ms: number): void;
    /** Changes a guest's power state behind Molten's back (as someone in Proxmox's UI would). */
    setGuestStatus(vmid: number, status: 'running' | 'stopped'): void;
  };
  /** Stops the api and starts it again on the same port and bus; resolves once it answers. */
  restartApi(): Promise<void>;
  /** The demo's homelab MCP server, when the stack runs one. */
  mcp?: { addTool(name: string, description: string): void; removeTool(name: string): void };
}

export const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** A fresh browser context signed in with a token through the sign-in page, on the Infrastructure view. */
export async function signedIn(browser: Browser, stack: DashboardStack, token: string, o: { width?: number; height?: number } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: o.width ?? 1440, height: o.height ?? 1800 } });
  const page = await context.newPage();
  await page.goto(`${stack.url}/`);
  await page.waitForURL(/\/signin/);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/signin'));
  await page.getByRole('table', { name: 'Guests' }).locator('[data-vmid]').first().waitFor();
  return { context, page };
}

/** A REST call with the operator's bearer token. */
export async function api<T = any>(stack: DashboardStack, path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${stack.operatorToken}`);
  if (init.body) headers.set('content-type', 'application/json');
  const res = await fetch(`${stack.url}${path}`, { ...init, headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export function row(page: Page, vmid: number) {
  return page.getByRole('table', { name: 'Guests' }).locator(`[role="row"][data-vmid="${vmid}"]`);
}

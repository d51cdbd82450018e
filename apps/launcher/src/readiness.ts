import type { Domain } from '@molten/contracts';
import type { AdapterHealth } from '@molten/contracts/rest';
import type { Logger } from '@molten/kit';

/** The domain each adapter serves: the one its heartbeats name. */
export const ADAPTER_DOMAINS: Record<string, Domain> = { 'proxmox-adapter': 'proxmox', 'homelab-adapter': 'mcp', 'moltbot-adapter': 'moltbot' };

/** Resolves once the api answers /api/health. */
export async function waitForHealth(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`the api did not answer on ${url} within ${timeoutMs / 1000} s; see its log lines above`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Resolves once the api has a heartbeat, sent after `since`, from an adapter of each service
 * started: the stack is then whole, so "Molten is running" is true when it is printed. An adapter
 * that does not report within the bound is named in a warning (its own log lines say why), and
 * the start goes on: the api serves what the others publish.
 */
export async function waitForAdapters(url: string, token: string, services: string[], since: number, log: Logger, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let missing = services;
  for (;;) {
    try {
      const res = await fetch(`${url}/api/health`, { headers: { authorization: `Bearer ${token}` } });
      const adapters = res.ok ? (((await res.json()) as { adapters?: AdapterHealth[] }).adapters ?? []) : [];
      missing = services.filter((s) => !adapters.some((a) => a.domain === ADAPTER_DOMAINS[s] && a.alive && Date.parse(a.lastHeartbeat) >= since));
      if (!missing.length) return;
    } catch {
      // the api restarting: ask again
    }
    if (Date.now() > deadline) {
      log.warn({ services: missing }, `not reporting within ${timeoutMs / 1000} s; see their log lines above`);
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

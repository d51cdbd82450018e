/** The part of a nats.js connection publishDenied uses (kept structural: testkit does not depend on nats.js). */
interface Publisher {
  status(): AsyncIterable<{ type: string; error?: unknown }>;
  publish(subject: string, data?: Uint8Array): void;
  flush(): Promise<void>;
}

/**
 * Publishes on a subject as a connection and reports whether the server refused it: nats-server
 * answers a denied publish with a permissions violation naming the subject.
 */
export async function publishDenied(nc: Publisher, subject: string, data: Uint8Array = new Uint8Array([1])): Promise<boolean> {
  const statuses = nc.status();
  const seen = (async () => {
    for await (const s of statuses) {
      if (s.type === 'error' && String((s.error as Error | undefined)?.message).includes(subject)) return true;
    }
    return false;
  })();
  nc.publish(subject, data);
  await nc.flush();
  const denied = await Promise.race([seen, new Promise<boolean>((r) => setTimeout(() => r(false), 1_000))]);
  (statuses as unknown as { stop(): void }).stop();
  return denied;
}

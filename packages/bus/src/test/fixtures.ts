import { NatsServer, testLogger } from '@molten/testkit';
import { connectBus, type Bus } from '../connect.js';
import type { ProvisionOptions } from '../provision.js';

/** A nats-server for one test file and a way to open bus connections to it. */
export async function busFixture(provision: ProvisionOptions = {}) {
  const server = await NatsServer.start();
  const buses: Bus[] = [];
  return {
    server,
    async connect(name = 'test'): Promise<Bus> {
      const bus = await connectBus({ servers: server.url, name, log: testLogger(name), provision });
      buses.push(bus);
      return bus;
    },
    async dispose() {
      await Promise.all(buses.map((b) => b.close().catch(() => {})));
      await server.dispose();
    },
  };
}

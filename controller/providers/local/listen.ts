import type { AddressInfo, Server } from 'node:net';

/** Starts `server` on `host`:`port` (0: any free port) and resolves with the port it got; rejects if it cannot. */
export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

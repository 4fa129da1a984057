// Container HEALTHCHECK: exits 0 when GET /healthz on this container answers 200 within 2 s,
// else 1. Uses node:http because the alpine image has neither curl nor wget worth relying on.
// Honours PORT like server.mjs.
import { get } from 'node:http';
import process from 'node:process';

const port = Number(process.env.PORT || 8080);
const req = get({ host: '127.0.0.1', port, path: '/healthz', timeout: 2000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));

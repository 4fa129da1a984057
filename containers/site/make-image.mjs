// Writes containers/site/assets/site.png: a 320x160 RGB PNG (a diagonal gradient with a disc and
// bars), with no dependencies: node:zlib for the IDAT deflate and a hand-written CRC-32 for the
// chunk checksums. Deterministic: running it again produces the same bytes, so the content hash
// the server derives (and the asset URL) stays stable.
//
//   node containers/site/make-image.mjs [output.png]
import { writeFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { deflateSync } from 'node:zlib';
import { URL, fileURLToPath } from 'node:url';
import process from 'node:process';

const WIDTH = 320;
const HEIGHT = 160;

const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (ISO 3309 / PNG) of a byte sequence. */
export function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

function pixel(x, y) {
  // Background: diagonal gradient from deep blue to teal.
  const t = (x / (WIDTH - 1) + y / (HEIGHT - 1)) / 2;
  let r = Math.round(20 + 30 * t);
  let g = Math.round(40 + 150 * t);
  let b = Math.round(120 + 60 * t);
  // A light disc on the left.
  const dx = x - 80;
  const dy = y - 80;
  if (dx * dx + dy * dy <= 48 * 48) [r, g, b] = [245, 245, 235];
  // Three horizontal bars on the right.
  for (const [top, shade] of [
    [50, 230],
    [75, 200],
    [100, 170],
  ]) {
    if (x >= 160 && x < 290 - (top - 50) && y >= top && y < top + 12) [r, g, b] = [shade, shade, shade];
  }
  return [r, g, b];
}

export function makePng() {
  const rowBytes = 1 + WIDTH * 3;
  const raw = Buffer.alloc(rowBytes * HEIGHT);
  for (let y = 0; y < HEIGHT; y++) {
    raw[y * rowBytes] = 0; // filter type: None
    for (let x = 0; x < WIDTH; x++) {
      const [r, g, b] = pixel(x, y);
      const o = y * rowBytes + 1 + x * 3;
      raw[o] = r;
      raw[o + 1] = g;
      raw[o + 2] = b;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(WIDTH, 0);
  ihdr.writeUInt32BE(HEIGHT, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour (RGB)
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method
  ihdr[12] = 0; // interlace: none
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? fileURLToPath(new URL('./assets/site.png', import.meta.url));
  const png = makePng();
  writeFileSync(out, png);
  process.stdout.write(`wrote ${out} (${WIDTH}x${HEIGHT}, ${png.length} bytes)\n`);
}

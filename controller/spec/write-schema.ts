import { writeFileSync } from 'node:fs';
import { siteJsonSchema } from './json-schema.ts';

// Regenerates specs/site.schema.json; a test fails while the committed copy is stale.
const target = new URL('../../specs/site.schema.json', import.meta.url);
writeFileSync(target, siteJsonSchema());
console.log(`wrote ${target.pathname}`);

import { renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { siteJsonSchema } from './json-schema.ts';

// Regenerates specs/site.schema.json; a test fails while the committed copy is stale.
const target = new URL('../../specs/site.schema.json', import.meta.url);
// Whole or not at all: a test reading the file meanwhile never sees half of it.
const temporary = `${fileURLToPath(target)}.${process.pid}.tmp`;
writeFileSync(temporary, siteJsonSchema());
renameSync(temporary, target);
console.log(`wrote ${target.pathname}`);

import { z } from 'zod';
import { SiteSchema } from './schema.ts';

/** The JSON Schema of a spec as people write it (defaults optional), for editors and `specs/site.schema.json`. */
export function siteJsonSchema(): string {
  const schema = z.toJSONSchema(SiteSchema, { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify({ ...schema, $id: 'https://tandem.dev/schemas/site.schema.json', title: 'tandem Site' }, null, 2)}\n`;
}

import { toJsonSchema } from '@valibot/to-json-schema';
import { SiteSchema } from './schema.ts';

/**
 * The JSON Schema of a spec as people write it (defaults optional), for
 * editors and `specs/site.schema.json`. Rules across fields (one primary
 * region, a canary tag unlike the stable one, …) have no JSON Schema form;
 * `tandem apply` checks them.
 */
export function siteJsonSchema(): string {
  const schema = toJsonSchema(SiteSchema, {
    target: 'draft-2020-12',
    typeMode: 'input',
    ignoreActions: ['raw_check', 'check'],
  });
  return `${JSON.stringify({ ...schema, $id: 'https://tandem.dev/schemas/site.schema.json', title: 'tandem Site' }, null, 2)}\n`;
}

/**
 * Writes docs/failsafe.schema.json, the JSON Schema of failsafe.yaml for editor completion, from the zod
 * schema in src/config/schema.ts. Run with `npm run schema` after changing the schema; a test fails
 * while the committed file is out of date.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { configJsonSchemaText } from '../src/config/schema.js';

const target = fileURLToPath(new URL('../docs/failsafe.schema.json', import.meta.url));
await writeFile(target, configJsonSchemaText());
process.stdout.write(`wrote ${target}\n`);

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { EVENT_COLUMNS, FUNCS, STAGES, type ColumnSpec } from './format';

/** The run-file schema this writer makes (PRAGMA user_version); readers refuse a newer one. */
export const SCHEMA_VERSION = 6;

/** The schema: the tables are written in it by hand, but for its generated sections (below). */
export const SCHEMA_PATH = join(__dirname, '..', '..', 'schema.sql');

/** What runfile/format.ts decides in schema.sql, by section name. */
const SECTIONS: Record<string, () => string> = {
  version: () => `PRAGMA user_version = ${SCHEMA_VERSION};\n`,
  events: eventsTable,
  event_spool: spoolTable,
  codes: codeRows,
};

/**
 * The schema the writer makes run files with: schema.sql with each section between its
 * "-- BEGIN generated ...: NAME" and "-- END generated: NAME" lines made anew from
 * runfile/format.ts. scripts/build.sh writes it back to schema.sql (runfile/generate.ts).
 */
export function renderSchema(text = readFileSync(SCHEMA_PATH, 'utf8')): string {
  const seen = new Set<string>();
  const out = text.replace(/^(-- BEGIN generated [^\n]*: (\w+)\n)[\s\S]*?^(-- END generated: \2\n)/gm, (_, begin: string, name: string, end: string) => {
    const section = SECTIONS[name];
    if (!section) throw new Error(`schema.sql: no generated section ${name} in runfile/schema.ts`);
    seen.add(name);
    return begin + section() + end;
  });
  const missing = Object.keys(SECTIONS).filter((name) => !seen.has(name));
  if (missing.length > 0) throw new Error(`schema.sql has no generated section ${missing.join(', ')}: put its BEGIN/END lines back`);
  return out;
}

const WIDTH = 110;

/** `text` as SQL comment lines of at most WIDTH characters, the first after `first`, the others indented to its length. */
function comment(first: string, text: string): string {
  const indent = ' '.repeat(first.length);
  const lines: string[] = [];
  let line = `${first}-- `;
  for (const word of text.split(' ')) {
    if (line.length + word.length > WIDTH && !line.endsWith('-- ')) {
      lines.push(line.trimEnd());
      line = `${indent}-- `;
    }
    line += `${word} `;
  }
  lines.push(line.trimEnd());
  return lines.join('\n');
}

function columnDefinition(c: ColumnSpec): string {
  const nullable = c.nullable;
  const sqlDefault = c.sqlDefault === undefined ? '' : ` DEFAULT ${c.sqlDefault}`;
  return `${c.sql.padEnd(10)} INTEGER${nullable ? '' : ' NOT NULL'}${sqlDefault}`;
}

function eventsTable(): string {
  const definitions = ['id         INTEGER PRIMARY KEY', ...EVENT_COLUMNS.map(columnDefinition)];
  const pad = Math.max(...definitions.map((d) => d.length)) + 1;
  const lines = definitions.map((d, i) => {
    const text = `  ${d}${i < definitions.length - 1 ? ',' : ''}`;
    return i === 0 ? text : comment(text.padEnd(pad + 3), EVENT_COLUMNS[i - 1].doc);
  });
  return `CREATE TABLE events (\n${lines.join('\n')}\n);\n`;
}

const SPOOL_TYPES = { u64: 'float64', s32: 'int32', u32: 'uint32', u16: 'uint16', u8: 'uint8' } as const;

/** How a column's values are kept in its event_spool BLOB. */
function spoolEncoding(c: ColumnSpec): string {
  const none = c.nullable ? (c.type === 'u64' ? ', NaN: none' : c.type === 'u32' ? ', 0: none' : ', -1: none') : '';
  const meaning = c.u64 ? (c.u64 === 'time' ? ' ns since start_monotonic_ns' : ' signed 64-bit address') : '';
  return `${c.sql} ${SPOOL_TYPES[c.type]}${meaning}${none}`;
}

function spoolTable(): string {
  const doc = comment('', `${EVENT_COLUMNS.map(spoolEncoding).join('; ')}.`);
  const columns = EVENT_COLUMNS.map((c) => `  ${c.sql} BLOB NOT NULL`).join(',\n');
  return `${doc}\nCREATE TABLE event_spool (\n  id         INTEGER PRIMARY KEY,\n  count      INTEGER NOT NULL,\n${columns}\n);\n`;
}

function codeRows(): string {
  const stages = Object.entries(STAGES).map(([name, s]) => `(${s.code}, '${name.toLowerCase()}')`);
  const funcs = Object.values(FUNCS).map((f) => `  (${f.code}, '${f.name}', '${f.domain}')`);
  return `INSERT INTO stages VALUES ${stages.join(', ')};\nINSERT INTO funcs VALUES\n${funcs.join(',\n')};\n`;
}


/**
 * Writes what scripts/build.sh derives from runfile/format.ts, each file only when its text
 * changed (so make-like rebuilds stay quiet):
 *
 *   node dist/runfile/generate.js GEN_DIR SCHEMA_SQL
 *
 * GEN_DIR/runfile_codes.h    stages, function codes and flags, for the BPF programs and the addon
 * GEN_DIR/runfile_layout.h   _Static_assert of struct mutex_event's fields (bpf/mutex.h includes it after the struct)
 * GEN_DIR/runfile_columns.h  the column list (an X macro) of the addon's drain and of spool_rows.c
 * SCHEMA_SQL                 its sections that runfile/format.ts decides (runfile/schema.ts)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { cName, columnBytes, EVENT_COLUMNS, FUNCS, FUTEX_FLAGS, LCB_FLAGS, MUTEX_FLAGS, STAGES, THREAD_STAGE, type ColumnSpec } from './format';
import { renderSchema } from './schema';

const BANNER = '/* Generated from runfile/format.ts by scripts/build.sh: do not edit. */';

function enumOf(name: string, prefix: string, entries: [string, number, string][]): string {
  const lines = entries.map(([key, code, doc]) => `\t${prefix}${cName(key)} = ${code},${doc ? ` /* ${doc} */` : ''}`);
  return `enum ${name} {\n${lines.join('\n')}\n};\n`;
}

function definesOf(prefix: string, table: Record<string, { value: number; doc: string }>): string {
  return Object.entries(table)
    .map(([key, f]) => `#define ${prefix}${cName(key)} 0x${f.value.toString(16)}U /* ${f.doc} */`)
    .join('\n');
}

export function codesHeader(): string {
  const stages: [string, number, string][] = Object.entries(STAGES).map(([k, s]) => [k, s.code, s.doc]);
  stages.push(['Thread', THREAD_STAGE, 'not a lock event: the thread\'s comm, in lock+caller (never stored)']);
  const funcs: [string, number, string][] = Object.entries(FUNCS).map(([k, f]) => [k, f.code, f.name]);
  return [
    BANNER,
    '#ifndef RUNFILE_CODES_H\n#define RUNFILE_CODES_H\n',
    enumOf('mutex_stage', 'STAGE_', stages),
    enumOf('mutex_func', 'FN_', funcs),
    definesOf('MUTEX_F_', MUTEX_FLAGS),
    '',
    definesOf('LCB_F_', LCB_FLAGS),
    '',
    definesOf('FUTEX_F_', FUTEX_FLAGS),
    '\n#endif\n',
  ].join('\n');
}

const C_TYPES = { u64: '__u64', s32: '__s32', u32: '__u32', u16: '__u16', u8: '__u8' } as const;

/** Each field's offset in a C struct of the columns in order, and the struct's size. */
export function recordLayout(): { offsets: number[]; size: number } {
  let at = 0;
  const offsets = EVENT_COLUMNS.map((c) => {
    const bytes = columnBytes(c.type);
    at = Math.ceil(at / bytes) * bytes;
    const offset = at;
    at += bytes;
    return offset;
  });
  const align = Math.max(...EVENT_COLUMNS.map((c) => columnBytes(c.type)));
  return { offsets, size: Math.ceil(at / align) * align };
}

export function layoutHeader(): string {
  const { offsets, size } = recordLayout();
  const field = (c: ColumnSpec): string => `((struct mutex_event *)0)->${c.sql}`;
  const checks = EVENT_COLUMNS.map((c, i) => {
    const signed = c.type === 's32';
    return [
      `RUNFILE_ASSERT(__builtin_offsetof(struct mutex_event, ${c.sql}) == ${offsets[i]}, "struct mutex_event: ${c.sql} is not at offset ${offsets[i]} (runfile/format.ts)");`,
      `RUNFILE_ASSERT(sizeof(${field(c)}) == ${columnBytes(c.type)} && ((__typeof__(${field(c)}))-1 < 0) == ${signed ? 1 : 0}, "struct mutex_event: ${c.sql} is not ${C_TYPES[c.type]} (runfile/format.ts)");`,
    ].join('\n');
  });
  return [
    BANNER,
    '/* Included by bpf/mutex.h after struct mutex_event: its fields are the event columns, in order. */',
    '#ifndef RUNFILE_LAYOUT_H\n#define RUNFILE_LAYOUT_H\n',
    '#ifdef __cplusplus\n#define RUNFILE_ASSERT static_assert\n#else\n#define RUNFILE_ASSERT _Static_assert\n#endif\n',
    ...checks,
    `RUNFILE_ASSERT(sizeof(struct mutex_event) == ${size}, "struct mutex_event has a field runfile/format.ts does not declare");`,
    '\n#endif\n',
  ].join('\n');
}

const KINDS = { u64: 'F64', s32: 'I32', u32: 'U32', u16: 'U16', u8: 'U8' } as const;

export function columnsHeader(): string {
  const rows = EVENT_COLUMNS.map((c: ColumnSpec) => {
    const conversion = c.u64 ? (c.u64 === 'time' ? 'TIME' : 'ADDRESS') : 'INT';
    const nullable = c.nullable ? 1 : 0;
    return `\tX(${c.sql}, "${c.key}", ${KINDS[c.type]}, ${conversion}, ${nullable})`;
  });
  return [
    BANNER,
    '#ifndef RUNFILE_COLUMNS_H\n#define RUNFILE_COLUMNS_H\n',
    '/*',
    ' * The event columns in order: X(field, key, kind, conversion, nullable). field: of struct',
    ' * mutex_event and SQL column; key: the JavaScript column; kind: F64, I32, U32, U16 or U8, the',
    ' * typed array and event_spool BLOB element; conversion from the ring buffer: TIME (ns since the',
    ' * time base), ADDRESS (signed 64-bit), INT (as is); nullable: 0 in the ring buffer (a time, a',
    ' * U32) or negative (I32) is none: NaN, 0 or -1 in JavaScript, NULL in SQL.',
    ' */',
    `#define RUNFILE_EVENT_COLUMNS(X) \\\n${rows.join(' \\\n')}`,
    `\n#define RUNFILE_EVENT_COLUMN_COUNT ${EVENT_COLUMNS.length}`,
    '\n#endif\n',
  ].join('\n');
}

function writeIfChanged(path: string, text: string): void {
  let old: string | null = null;
  try {
    old = readFileSync(path, 'utf8');
  } catch {
    // new
  }
  if (old !== text) writeFileSync(path, text);
}

if (require.main === module) {
  const [genDir, schemaPath] = process.argv.slice(2);
  if (!genDir || !schemaPath) {
    process.stderr.write('usage: node dist/runfile/generate.js GEN_DIR SCHEMA_SQL\n');
    process.exit(2);
  }
  mkdirSync(genDir, { recursive: true });
  writeIfChanged(join(genDir, 'runfile_codes.h'), codesHeader());
  writeIfChanged(join(genDir, 'runfile_layout.h'), layoutHeader());
  writeIfChanged(join(genDir, 'runfile_columns.h'), columnsHeader());
  writeIfChanged(schemaPath, renderSchema(readFileSync(schemaPath, 'utf8')));
}

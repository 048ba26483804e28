import Database from 'better-sqlite3';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

import { UserError } from '../core/errors';

const SQLITE_MAGIC = 'SQLite format 3\0';
/** Tables every run file has (schema.sql); a file without one is damaged or not a run. */
const REQUIRED_TABLES = ['run', 'events', 'threads', 'symbols', 'stack_frames'];

/**
 * Opens a run file read-only, refusing with one line what cannot be read as one: a missing file,
 * a directory, a FIFO or device (never opened: reading a FIFO would hang), a file that is not
 * SQLite, a WAL-mode file (a recorder killed or still running) whose -wal is not beside it (its
 * events may be there; opening it would also create files beside it), or whose -shm cannot be made.
 */
export function openRunDatabase(path: string): Database.Database {
  if (!existsSync(path)) throw new UserError(`${path}: no such file: give the run file written by mutex-rec -o`);
  const st = statSync(path);
  if (st.isDirectory()) throw new UserError(`${path} is a directory: give a run file written by mutex-rec -o`);
  if (!st.isFile()) throw new UserError(`${path} is not a regular file (a FIFO, socket or device): give a run file written by mutex-rec -o`);
  const header = readHeader(path);
  if (header.toString('latin1', 0, 16) !== SQLITE_MAGIC) {
    throw new UserError(`${path} is not a SQLite file, so not a mutex-rec run file: give a file written by mutex-rec -o`);
  }
  const walMode = header[18] === 2;
  if (walMode && !existsSync(`${path}-wal`)) {
    throw new UserError(
      `${path} is in WAL mode and ${path}-wal is not beside it: if its recorder was killed, its last events are in ${path}-wal (copy it along); ` +
        `if the file is complete, sqlite3 ${path} 'PRAGMA journal_mode=DELETE' makes it self-contained`,
    );
  }
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('schema_version'); // reads the header
    return db;
  } catch (err) {
    if (walMode) {
      throw new UserError(
        `${path} is in WAL mode (its recorder did not finish) and cannot be read here: reading it needs ${path}-shm, which cannot be made in ${dirname(path)}: copy ${path} and ${path}-wal to a writable directory`,
      );
    }
    throw new UserError(`${path} cannot be read as a SQLite file (${(err as Error).message}): give a file written by mutex-rec -o`);
  }
}

/** After the version check: the tables and the events' key a run file must have. */
export function checkRunTables(db: Database.Database, path: string): void {
  const tables = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
  for (const t of REQUIRED_TABLES) {
    if (!tables.has(t)) throw new UserError(`${path} has no ${t} table: the file is damaged (or not written by mutex-rec): record again`);
  }
  const id = (db.prepare('PRAGMA table_info(events)').all() as { name: string; type: string; pk: number }[]).find((c) => c.name === 'id');
  if (!id || id.pk !== 1 || id.type.toUpperCase() !== 'INTEGER') {
    throw new UserError(`${path}: events.id is not the table's INTEGER PRIMARY KEY (ids could be NULL or repeated): the file is damaged: record again`);
  }
}

function readHeader(path: string): Buffer {
  const header = Buffer.alloc(100);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new UserError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}: check its permissions`);
  }
  try {
    readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  return header;
}

import { accessSync, closeSync, constants, fchownSync, fstatSync, lstatSync, openSync, unlinkSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';

import { UserError } from '../core/errors';
import { recorderOf } from './filelock';

/** Takes an exclusive flock on fd's file: false when another process holds one. Node has none: the recorder's addon's. */
export type FileLocker = (fd: number) => boolean;

/** The files SQLite keeps beside a database. */
const SIDE_FILES = ['-wal', '-shm', '-journal'];

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/**
 * Refuses, before anything starts: a symbolic link (never followed: root would write where the
 * link points), a directory or other non-file, an existing file without --force, a file another
 * mutex-rec is writing even with --force, an unwritable directory.
 */
export function checkOutputPath(path: string, force: boolean): void {
  for (const file of [path, ...SIDE_FILES.map((s) => path + s)]) {
    const st = lstatOrNull(file);
    if (!st) continue;
    if (st.isSymbolicLink()) throw new UserError(`${file} is a symbolic link, which mutex-rec does not follow: give the path of a regular file with -o`);
    if (st.isDirectory()) throw new UserError(`${file} is a directory: give a file name with -o (e.g. -o ${file}/run.db)`);
    if (!st.isFile()) throw new UserError(`${file} is not a regular file: give another file name with -o`);
    if (!force) throw new UserError(`${file} already exists: pass --force to overwrite it, or choose another file with -o`);
  }
  const writer = recorderOf(path);
  if (writer !== null && writer !== process.pid) {
    throw new UserError(`${path} is being written by another mutex-rec (pid ${writer}): choose another file with -o, or stop that recorder first`);
  }
  try {
    accessSync(dirname(path), constants.W_OK);
  } catch {
    throw new UserError(`cannot write to ${dirname(path)}: choose a writable directory with -o`);
  }
}

/** The run file as created: its descriptor, and the -wal's, which holds the recorder's flock. */
export interface CreatedRunFile {
  fd: number;
  lockFd: number;
}

/**
 * Creates the run file and its -wal and -shm exclusively (O_EXCL, O_NOFOLLOW: a planted link or
 * file fails, never followed), mode 0600, owned by the user who ran sudo (SUDO_UID/SUDO_GID) so
 * the analysis needs no root. Holds an exclusive flock on the -wal (recorderOf) until the process
 * ends, so neither --force nor another recorder can take the run away. With force, an existing
 * file (not one another recorder holds) is removed first.
 */
export function createRunFile(path: string, force: boolean, lockFile: FileLocker): CreatedRunFile {
  checkOutputPath(path, force);
  if (force) for (const file of [path, ...SIDE_FILES.map((s) => path + s)]) if (lstatOrNull(file)) unlinkSync(file);
  const created: string[] = [];
  try {
    const fd = createExclusive(path);
    created.push(path);
    const lockFd = createExclusive(path + '-wal');
    created.push(path + '-wal');
    if (!lockFile(lockFd)) throw new UserError(`${path} is being written by another mutex-rec: choose another file with -o`);
    closeSync(createExclusive(path + '-shm'));
    created.push(path + '-shm');
    return { fd, lockFd };
  } catch (err) {
    for (const file of created) unlinkSync(file);
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' ? 'it was created by someone else meanwhile' : code ?? String(err);
    throw new UserError(`cannot create ${path}: ${why}: choose another file with -o`);
  }
}

function createExclusive(path: string): number {
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  const uid = Number(process.env.SUDO_UID);
  const gid = Number(process.env.SUDO_GID);
  if (process.getuid?.() === 0 && Number.isInteger(uid) && uid > 0) fchownSync(fd, uid, Number.isInteger(gid) && gid >= 0 ? gid : -1);
  return fd;
}

/** After SQLite opened the file by name: it must be the one created (not replaced meanwhile). */
export function checkSameFile(path: string, fd: number): void {
  const st = lstatOrNull(path);
  const mine = fstatSync(fd);
  if (!st || !st.isFile() || st.ino !== mine.ino || st.dev !== mine.dev) {
    throw new UserError(`${path} was replaced while mutex-rec opened it: choose a file in a directory only you can write`);
  }
}

-- Run file of mutex-rec: one recording, raw events as the probes saw them.
-- Versioned with PRAGMA user_version; readers refuse a version they do not know.
-- BEGIN generated from runfile/format.ts by scripts/build.sh: version
PRAGMA user_version = 6;
-- END generated: version

-- One row: what was recorded, where, how, and how it ended.
CREATE TABLE run (
  id                  INTEGER PRIMARY KEY CHECK (id = 1),
  tool_version        TEXT    NOT NULL,
  host                TEXT    NOT NULL,
  kernel_release      TEXT    NOT NULL,
  start_realtime_ns   INTEGER NOT NULL, -- wall clock (CLOCK_REALTIME) at the start, ns since the epoch
  start_monotonic_ns  INTEGER NOT NULL, -- CLOCK_MONOTONIC at the same moment; event ts are relative to it
  end_ts              INTEGER,          -- ns since start_monotonic_ns when recording stopped
  target_pid          INTEGER,
  target_comm         TEXT,
  target_cmdline      TEXT,             -- JSON array of strings
  launched            INTEGER NOT NULL, -- 1: started by mutex-rec (-- CMD), recorded from its first instruction
  target_exit         TEXT,             -- launched target's exit: "code N" or "signal NAME"
  end_reason          TEXT,             -- NULL while recording (or if the recorder was killed)
  event_count         INTEGER NOT NULL DEFAULT 0, -- lock events written to this file
  drop_count          INTEGER NOT NULL DEFAULT 0, -- events the probes could not hand over (ring buffer full)
  user_probes         INTEGER NOT NULL DEFAULT 1, -- 1: pthread mutexes of the target were probed
  kernel_probe        TEXT,             -- kernel mutexes: NULL (not recorded), fentry, kprobe or tracepoint
  kernel_scope        TEXT,             -- 'target' (the target's tasks) or 'all' (system-wide)
  options             TEXT,             -- JSON: the recorder's options
  probe_cost          TEXT,             -- JSON: what the probes add to a lock call's wait (wait_ns) and to a hold
                                        -- (hold_ns), measured at the start (recorder/calibrate.ts); NULL: not measured
  probe_failures      TEXT,             -- JSON: what the BPF programs counted going wrong: stackFailed (call stacks
                                        -- not taken), pendingFull (lock calls not followed), futexUnread (contention
                                        -- mode: futex calls whose user registers could not be read); NULL: not finished
  mode                TEXT    NOT NULL DEFAULT 'full' -- 'full': every lock call (uprobes); 'contention' (mutex-rec
                                        -- --contention): only the target's futex waits and wakes (no holds)
);

-- Every probe attached: which function of which object, and how.
CREATE TABLE probes (
  id        INTEGER PRIMARY KEY,
  func      INTEGER NOT NULL REFERENCES funcs(id),
  object    TEXT    NOT NULL, -- file probed (library or executable)
  build_id  TEXT,
  offset    INTEGER NOT NULL, -- file offset of the probed instruction (0 for kernel probes)
  kind      TEXT    NOT NULL, -- uprobe | uretprobe | fentry | fexit | kprobe | kretprobe | tracepoint
  func_offset INTEGER,        -- uprobes: bytes from the function's entry to the probed instruction
  insn      TEXT              -- uprobes: 'emulated' or 'single-stepped', how the kernel runs the probed
                              -- instruction on a hit (single-stepping costs a second trap); NULL: kernel
);

-- The target's file-backed memory mappings seen while recording (read from /proc/PID/maps), so
-- addresses can be named as object+offset after the process is gone, and matched across runs.
-- The executable ones bound the user stack frames the analyzer believes (a frame-pointer walk
-- through code built without frame pointers gives garbage addresses).
CREATE TABLE mappings (
  start     INTEGER NOT NULL,
  end       INTEGER NOT NULL,
  offset    INTEGER NOT NULL, -- file offset of start
  path      TEXT    NOT NULL,
  build_id  TEXT,             -- GNU build-id of the object, when it has one
  first_ts  INTEGER NOT NULL, -- when it was first seen (ns since start_monotonic_ns)
  executable INTEGER,         -- 1: mapped executable (code), 0: not (data, .bss), NULL: not known (seen by
                              -- the mmap watcher only; files written before this column have none)
  PRIMARY KEY (start, path)
);

-- Names of the stage and func codes used in events (runfile/format.ts).
CREATE TABLE stages (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE funcs  (id INTEGER PRIMARY KEY, name TEXT NOT NULL, domain TEXT NOT NULL);

-- Raw events. id is arrival order from the single ring buffer: time order within each thread, and
-- causal order across threads (a release is always before the acquisition it enabled).
-- Every event lies in the recording window [0, run.end_ts): the probes record nothing before all of
-- them are attached nor after the stop decision, so a lock held when the window opened shows only
-- its release.
-- A lock call is one row, stage 1, written when it returned, with the time it was made in
-- request_ts; a stage 0 row is a call that had not returned when the recording stopped (a thread
-- still waiting: a deadlock, a long wait), read from the probes' state at the stop. So a
-- lock/unlock pair is two rows: acquired (request_ts, ts) and released (ts).
-- BEGIN generated from runfile/format.ts by scripts/build.sh: events
CREATE TABLE events (
  id         INTEGER PRIMARY KEY,
  ts         INTEGER NOT NULL,           -- ns since run.start_monotonic_ns: when the stage happened
  request_ts INTEGER,                    -- acquired: when the call was made (ns since
                                         -- run.start_monotonic_ns); NULL otherwise
  lock       INTEGER NOT NULL,           -- mutex address (signed 64-bit: kernel addresses are negative)
  caller     INTEGER NOT NULL,           -- return address of the lock/unlock call (0 when unknown)
  pid        INTEGER NOT NULL,           -- process (tgid)
  tid        INTEGER NOT NULL,           -- thread
  ret        INTEGER NOT NULL,           -- acquired: the function's return value (0, EBUSY=16, ETIMEDOUT=110,
                                         -- ...)
  stack_id   INTEGER,                    -- acquired and request rows: the requester's call stack
                                         -- (stack_frames), NULL if none
  cpu        INTEGER NOT NULL,           -- -1 for a stage 0 row (read at the stop, not from an event)
  stage      INTEGER NOT NULL,           -- 0 request (still waiting at the stop), 1 acquired (the call
                                         -- returned), 2 released, 4 wake (contention mode: a futex wake; ret
                                         -- is how many it woke)
  func       INTEGER NOT NULL,           -- the probed function (funcs)
  flags      INTEGER NOT NULL DEFAULT 0, -- kernel contention tracepoint: LCB_F_* (lock kind); futex events
                                         -- (func 64-79): FUTEX_F_* (the op, the layout the probe saw, the
                                         -- holder's source); other acquired events: bit 16 the low 16 bits
                                         -- are glibc's pthread_mutex_t __kind (1 recursive, 2 errorcheck, 3
                                         -- adaptive, |16 robust, |32 PI, ...), bit 17 another thread held the
                                         -- mutex at the call's entry, bit 18 the thread slept inside the call
                                         -- (MUTEX_F_*); rwlock calls: the low bits its __flags (preference),
                                         -- bit 17 held by a writer (or, for a write request, readers); rwlock
                                         -- unlock: bit 19 the caller was its writer; spin lock calls: bit 17
                                         -- it was locked; cond signal/broadcast: bit 16 + the waiters it had
  cond       INTEGER,                    -- condition variable (signed 64-bit) of a cond wait (funcs 6-8: lock
                                         -- is the mutex it was called with; the release is its entry, the
                                         -- acquired row its return, request_ts its entry, ret its result) and
                                         -- of a cond signal or broadcast (funcs 32, 33: stage 2, a point
                                         -- event, lock the cond too); NULL otherwise. Files before schema 5
                                         -- have none, and a cond wait's request_ts there is its return
  holder     INTEGER,                    -- futex waits (contention mode): the tid credited with holding the
                                         -- lock (flags say whether the lock's memory named it or it woke the
                                         -- waiter); NULL: none
  outer_caller INTEGER                   -- acquired and request rows of user lock calls: the return address
                                         -- of the function that made the lock call (its caller's call site),
                                         -- read at the call from the stack where the object's .eh_frame puts
                                         -- it (mutex-rec finds each lock call's CFA rule at record time): the
                                         -- frame after caller where frame pointers are missing; NULL when
                                         -- unknown
);
-- END generated: events

-- Events not yet written as rows (mutex-rec --write-at-stop keeps them raw while it records and
-- builds the events table from them when it stops; a recorder killed before that leaves them
-- here, and mutex-analyze reads them after the events table). One row per drained batch, in
-- arrival order; each column one BLOB of `count` little-endian values (runfile/columns.ts):
-- BEGIN generated from runfile/format.ts by scripts/build.sh: event_spool
-- ts float64 ns since start_monotonic_ns; request_ts float64 ns since start_monotonic_ns, NaN: none; lock
-- float64 signed 64-bit address; caller float64 signed 64-bit address; pid uint32; tid uint32; ret int32;
-- stack_id int32, -1: none; cpu uint16; stage uint8; func uint8; flags uint32; cond float64 signed 64-bit
-- address, NaN: none; holder uint32, 0: none; outer_caller float64 signed 64-bit address, NaN: none.
CREATE TABLE event_spool (
  id         INTEGER PRIMARY KEY,
  count      INTEGER NOT NULL,
  ts BLOB NOT NULL,
  request_ts BLOB NOT NULL,
  lock BLOB NOT NULL,
  caller BLOB NOT NULL,
  pid BLOB NOT NULL,
  tid BLOB NOT NULL,
  ret BLOB NOT NULL,
  stack_id BLOB NOT NULL,
  cpu BLOB NOT NULL,
  stage BLOB NOT NULL,
  func BLOB NOT NULL,
  flags BLOB NOT NULL,
  cond BLOB NOT NULL,
  holder BLOB NOT NULL,
  outer_caller BLOB NOT NULL
);
-- END generated: event_spool

-- Names of the addresses in events and stacks, resolved when the recording ended (the process may
-- be gone when the file is analyzed): code addresses (callers, stack frames) as function+0xoffset,
-- or module+0xoffset where the object has no symbol for them; lock addresses that are globals or
-- statics by their symbol (g_cache_lock, or symbol+0xoffset inside one). User-space names come from
-- the ELF .symtab/.dynsym of the mapped objects (C++ demangled), kernel ones from /proc/kallsyms.
CREATE TABLE symbols (
  address INTEGER PRIMARY KEY, -- signed 64-bit, as in events
  name    TEXT    NOT NULL,
  module  TEXT,                -- object file (basename) or 'kernel'
  kind    TEXT    NOT NULL     -- 'code' or 'data'
);

-- Call stacks, stored once each: events.stack_id -> its frames, innermost (depth 0) first.
-- A user stack taken at a lock function's entry starts in that function, and the kernel's
-- frame-pointer walk from there skips the immediate call site: the whole stack is frame 0, then
-- events.caller, then frames 1... Frames past code built without frame pointers are unreliable.
CREATE TABLE stack_frames (
  stack_id INTEGER NOT NULL,
  depth    INTEGER NOT NULL,
  address  INTEGER NOT NULL, -- resolve through symbols
  PRIMARY KEY (stack_id, depth)
) WITHOUT ROWID;

-- Threads seen, with their name (comm) as last seen.
CREATE TABLE threads (
  tid       INTEGER PRIMARY KEY,
  pid       INTEGER NOT NULL,
  comm      TEXT    NOT NULL,
  first_ts  INTEGER NOT NULL,
  last_ts   INTEGER NOT NULL
);

-- BEGIN generated from runfile/format.ts by scripts/build.sh: codes
INSERT INTO stages VALUES (0, 'request'), (1, 'acquired'), (2, 'released'), (4, 'wake');
INSERT INTO funcs VALUES
  (1, 'pthread_mutex_lock', 'user'),
  (2, 'pthread_mutex_trylock', 'user'),
  (3, 'pthread_mutex_timedlock', 'user'),
  (4, 'pthread_mutex_clocklock', 'user'),
  (5, 'pthread_mutex_unlock', 'user'),
  (6, 'pthread_cond_wait', 'user'),
  (7, 'pthread_cond_timedwait', 'user'),
  (8, 'pthread_cond_clockwait', 'user'),
  (32, 'pthread_cond_signal', 'user'),
  (33, 'pthread_cond_broadcast', 'user'),
  (34, 'pthread_rwlock_rdlock', 'user'),
  (35, 'pthread_rwlock_tryrdlock', 'user'),
  (36, 'pthread_rwlock_timedrdlock', 'user'),
  (37, 'pthread_rwlock_clockrdlock', 'user'),
  (38, 'pthread_rwlock_wrlock', 'user'),
  (39, 'pthread_rwlock_trywrlock', 'user'),
  (40, 'pthread_rwlock_timedwrlock', 'user'),
  (41, 'pthread_rwlock_clockwrlock', 'user'),
  (42, 'pthread_rwlock_unlock', 'user'),
  (43, 'pthread_spin_lock', 'user'),
  (44, 'pthread_spin_trylock', 'user'),
  (45, 'pthread_spin_unlock', 'user'),
  (16, 'mutex_lock', 'kernel'),
  (17, 'mutex_lock_interruptible', 'kernel'),
  (18, 'mutex_lock_killable', 'kernel'),
  (19, 'mutex_lock_io', 'kernel'),
  (20, 'mutex_trylock', 'kernel'),
  (21, 'mutex_unlock', 'kernel'),
  (22, 'mutex_lock_nested', 'kernel'),
  (23, 'mutex_lock_interruptible_nested', 'kernel'),
  (24, 'mutex_lock_killable_nested', 'kernel'),
  (25, 'mutex_lock_io_nested', 'kernel'),
  (26, 'lock:contention', 'kernel'),
  (64, 'futex_wait', 'futex'),
  (65, 'futex_lock_pi', 'futex'),
  (66, 'futex_wait_requeue_pi', 'futex'),
  (67, 'futex_waitv', 'futex'),
  (68, 'futex_wake', 'futex'),
  (69, 'futex_wake_op', 'futex'),
  (70, 'futex_unlock_pi', 'futex'),
  (71, 'futex_requeue', 'futex');
-- END generated: codes

import { basename } from 'node:path';
import { gzipSync } from 'node:zlib';

import { Function as PprofFunction, Label, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';

import { findMapping } from '../../core/mappings';
import { countAnomalies, type Acquisition } from '../../core/join';
import { LockNameCollector } from '../locknames';
import type { RunFile, RunMapping } from '../../runfile/runfile';
import { modeNotes, runWarnings } from '../runinfo';
import { SiteNamer } from '../sitenames';
import { TRUNCATED_ROOT } from './folded';

/**
 * The run as a pprof profile in Go's mutex-profile convention: sample types contentions/count and
 * delay/nanoseconds (the contended acquisitions and their waits), plus hold/nanoseconds (every
 * hold). One sample per (request stack, call site, lock, thread), its locations the request's
 * stack leaf first (the lock function, the call site, its callers; a stack cut where the walk left
 * the mapped code has a `[truncated]` root), labelled with the lock's name and kind, pid, tid and
 * the thread's comm. Functions are named as the stacks are (a symbol's function+offset without its offset);
 * locations carry their address in the mapping of their object, with its build-id.
 */

interface SampleTotals {
  stackId: number | null;
  caller: number;
  lock: number;
  pid: number;
  tid: number;
  kind: string;
  contentions: number;
  delay: number;
  hold: number;
}

export interface PprofSummary {
  samples: number;
  contentions: number;
  delayNs: number;
  holdNs: number;
  anomalies: Map<string, number>;
}

export function buildPprof(run: RunFile): { profile: Profile; summary: PprofSummary } {
  const totals: SampleTotals[] = [];
  const index = new Map<number, Map<number | null, Map<number, Map<number, SampleTotals>>>>(); // lock -> stack -> caller -> tid
  const lockNames = new LockNameCollector();
  const anomalies = new Map<string, number>();
  run.join({
    acquisition(a: Acquisition) {
      lockNames.acquired(a);
      const byTid = child(child(child(index, a.lock), a.requestStackId), a.requestCaller);
      let t = byTid.get(a.tid);
      if (!t) {
        t = { stackId: a.requestStackId, caller: a.requestCaller, lock: a.lock, pid: a.pid, tid: a.tid, kind: a.kind, contentions: 0, delay: 0, hold: 0 };
        byTid.set(a.tid, t);
        totals.push(t);
      }
      if (a.contended && a.wait !== null) {
        t.contentions++;
        t.delay += a.wait;
      }
      if (a.hold !== null) t.hold += a.hold;
    },
    failed: (f) => lockNames.seen(f.lock, f.kind),
    open: (o) => lockNames.seen(o.lock, o.lockKind),
    anomaly: countAnomalies(anomalies),
  });

  const builder = new ProfileBuilder(run);
  const names = lockNames.names(run);
  const summary: PprofSummary = { samples: 0, contentions: 0, delayNs: 0, holdNs: 0, anomalies };
  for (const t of totals) {
    if (t.contentions === 0 && t.hold === 0) continue;
    builder.sample(t, names.get(t.lock)!);
    summary.samples++;
    summary.contentions += t.contentions;
    summary.delayNs += t.delay;
    summary.holdNs += t.hold;
  }
  return { profile: builder.profile([...modeNotes(run.meta), ...runWarnings(run, anomalies)]), summary };
}

/** The map under `key`, made empty when missing. */
function child<K, K2, V>(maps: Map<K, Map<K2, V>>, key: K): Map<K2, V> {
  let inner = maps.get(key);
  if (!inner) maps.set(key, (inner = new Map()));
  return inner;
}

/** The gzipped protobuf that `go tool pprof`, Pyroscope and Parca read. */
export function encodePprof(profile: Profile): Buffer {
  return gzipSync(profile.encode());
}

/** Interns strings, functions, mappings and locations as pprof numbers them (ids from 1). */
class ProfileBuilder {
  private readonly strings = new StringTable();
  private readonly sites: SiteNamer;
  private readonly mappings: RunMapping[];
  private readonly symbols: ReturnType<RunFile['symbols']>;
  private readonly mappingIds = new Map<RunMapping, number>();
  private readonly functionIds = new Map<string, number>();
  private readonly locationIds = new Map<number, number>(); // by address
  private readonly out = { mapping: [] as Mapping[], function: [] as PprofFunction[], location: [] as Location[], sample: [] as Sample[] };
  private truncatedLocation = 0;

  constructor(private readonly run: RunFile) {
    this.sites = new SiteNamer(run);
    this.mappings = run.mappings().filter((m) => m.executable !== false);
    this.symbols = run.symbols();
    // pprof takes the first mapping for the main binary: the target's executable, not a library.
    const executable = this.mappings.find((m) => !/\.so(\.|$)/.test(basename(m.path)));
    if (executable) this.mapping(executable);
  }

  sample(t: SampleTotals, lockName: string): void {
    const { names, addresses, truncated } = this.sites.frames(t.stackId, t.caller);
    const locationId = addresses.map((address, i) => this.location(address, names[i]));
    if (truncated) locationId.push(this.truncated());
    const str = (key: string, value: string): Label => new Label({ key: this.str(key), str: this.str(value) });
    const num = (key: string, value: number): Label => new Label({ key: this.str(key), num: value });
    const label = [str('lock', lockName), str('kind', t.kind), num('pid', t.pid), num('tid', t.tid), str('comm', this.run.threadNames.get(t.tid) ?? '?')];
    this.out.sample.push(new Sample({ locationId, value: [t.contentions, t.delay, t.hold], label }));
  }

  profile(comments: string[]): Profile {
    const valueType = (type: string, unit: string): ValueType => new ValueType({ type: this.str(type), unit: this.str(unit) });
    const m = this.run.meta;
    const comment = [`mutex-analyze export of ${m.path}`, ...comments].map((c) => this.str(c));
    return new Profile({
      sampleType: [valueType('contentions', 'count'), valueType('delay', 'nanoseconds'), valueType('hold', 'nanoseconds')],
      periodType: valueType('contentions', 'count'),
      period: 1,
      defaultSampleType: this.str('delay'),
      timeNanos: m.startRealtimeNs,
      durationNanos: Math.round(this.run.durationNs()),
      comment,
      ...this.out,
      stringTable: this.strings,
    });
  }

  private str(s: string): number {
    return this.strings.dedup(s);
  }

  private location(address: number, name: string): number {
    let id = this.locationIds.get(address);
    if (id === undefined) {
      id = this.out.location.length + 1;
      const mapping = address >= 0 ? findMapping(this.mappings, address) : null;
      this.out.location.push(
        new Location({
          id,
          mappingId: mapping ? this.mapping(mapping) : 0,
          address: BigInt.asUintN(64, BigInt(address)),
          // An unsymbolized frame (object+0xoffset, or its address) is a function of its own.
          line: [{ functionId: this.func(this.symbolized(address) ? functionName(name) : name) }],
        }),
      );
      this.locationIds.set(address, id);
    }
    return id;
  }

  /** Named by a symbol, not placed in its object as `object+0xoffset` (the recorder's name when no symbol covers it). */
  private symbolized(address: number): boolean {
    const symbol = this.symbols.get(address);
    return symbol !== undefined && !(symbol.module !== null && symbol.name.startsWith(`${symbol.module}+0x`));
  }

  /** The root of a stack cut where its walk left the mapped code. */
  private truncated(): number {
    if (this.truncatedLocation === 0) {
      this.truncatedLocation = this.out.location.length + 1;
      this.out.location.push(new Location({ id: this.truncatedLocation, line: [{ functionId: this.func(TRUNCATED_ROOT) }] }));
    }
    return this.truncatedLocation;
  }

  private func(name: string): number {
    let id = this.functionIds.get(name);
    if (id === undefined) {
      id = this.out.function.length + 1;
      this.out.function.push(new PprofFunction({ id, name: this.str(name), systemName: this.str(name) }));
      this.functionIds.set(name, id);
    }
    return id;
  }

  private mapping(m: RunMapping): number {
    let id = this.mappingIds.get(m);
    if (id === undefined) {
      id = this.out.mapping.length + 1;
      this.out.mapping.push(
        new Mapping({
          id,
          memoryStart: m.start,
          memoryLimit: m.end,
          fileOffset: m.offset,
          filename: this.str(m.path),
          buildId: this.str(m.buildId ?? ''),
          hasFunctions: true,
        }),
      );
      this.mappingIds.set(m, id);
    }
    return id;
  }
}

/** A symbolized frame's function: its name without the offset (`cache_insert+0x1c` is in `cache_insert`). */
export function functionName(symbol: string): string {
  return symbol.replace(/\+0x[0-9a-f]+$/, '');
}

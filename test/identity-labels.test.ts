import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { identityLabels, type LockIdentity } from '../analyzer/identity';

/** A heap mutex's class, taken at `site` with this stack (outer frames after the call site). */
function stackClass(site: string, ...callers: string[]): LockIdentity {
  const frames = ['pthread_mutex_lock', site, ...callers];
  return { key: `mutex@${site} ${frames.join(';')}`, name: `mutex@${site}`, strength: 'stack', frames };
}

function labels(...ids: LockIdentity[]): string[] {
  const out = identityLabels(ids);
  return ids.map((id) => out.get(id.key)!);
}

describe('lock classes behind a wrapper', () => {
  test('classes sharing one call site (a wrapper every lock goes through) are named by the wrapper\'s caller', () => {
    assert.deepEqual(
      labels(stackClass('possess+0x12', 'compress_thread+0x80', 'main+0x10'), stackClass('possess+0x12', 'write_thread+0x24', 'main+0x10'), stackClass('possess+0x12', 'get_space+0x31', 'compress_thread+0x80')),
      ['mutex@compress_thread+0x80', 'mutex@write_thread+0x24', 'mutex@get_space+0x31'],
    );
  });

  test('two levels of wrappers: the first frame that tells the stacks apart', () => {
    assert.deepEqual(
      labels(stackClass('possess+0x12', 'lock_job+0x8', 'compress_thread+0x80'), stackClass('possess+0x12', 'lock_job+0x8', 'write_thread+0x24')),
      ['mutex@compress_thread+0x80', 'mutex@write_thread+0x24'],
    );
  });

  test('one class alone at its site keeps its name; the class of a stack that is a prefix of another is named by the wrapper\'s caller', () => {
    assert.deepEqual(labels(stackClass('cache_insert+0x1c', 'main+0x10')), ['mutex@cache_insert+0x1c']);
    assert.deepEqual(labels(stackClass('possess+0x12', 'work+0x8'), stackClass('possess+0x12', 'work+0x8', 'main+0x10')), ['mutex@work+0x8', 'mutex@main+0x10']);
  });

  test('two classes with the same stack through the wrapper: named by its caller, told apart by their hashes', () => {
    const a = stackClass('possess+0x12', 'get_pool+0x1f');
    const b = { ...stackClass('possess+0x12', 'get_pool+0x1f'), key: 'mutex@possess+0x12 pthread_mutex_lock;possess+0x12;get_pool+0x1f | other site' };
    const [la, lb] = labels(a, b);
    assert.match(la, /^mutex@get_pool\+0x1f~[0-9a-f]{6}$/);
    assert.match(lb, /^mutex@get_pool\+0x1f~[0-9a-f]{6}$/);
    assert.notEqual(la, lb);
  });

  test('a name that is still not unique gets the hash of its stack', () => {
    // The wrapper's caller also takes a lock of its own at that very address: both would be mutex@work+0x8.
    const [through, direct] = labels(stackClass('possess+0x12', 'work+0x8', 'main+0x10'), stackClass('work+0x8', 'main+0x10'), stackClass('possess+0x12', 'other+0x4'));
    assert.match(through, /^mutex@work\+0x8~[0-9a-f]{6}$/);
    assert.equal(direct, 'mutex@work+0x8');
    // The same stacks twice through one frame name (different deeper frames do not matter at the first difference).
    const twins = labels(stackClass('possess+0x12', 'a+0x1', 'x+0x1'), stackClass('possess+0x12', 'b+0x1', 'x+0x1'), stackClass('possess+0x12', 'b+0x1', 'y+0x1'));
    assert.equal(twins[0], 'mutex@a+0x1');
    assert.match(twins[1], /^mutex@x\+0x1$|^mutex@x\+0x1~/);
  });

  test('a class without a stack keeps the bare name; the stack class beside it gets a distinct one', () => {
    const bare: LockIdentity = { key: 'mutex@possess+0x12', name: 'mutex@possess+0x12', strength: 'callsite' };
    assert.deepEqual(labels(bare, stackClass('possess+0x12', 'work+0x8')), ['mutex@possess+0x12', 'mutex@work+0x8']);
  });
});

/**
 * Split-brain healing decisions (src/core/split-brain.ts): which view is another cluster, which
 * cluster merges into which, and which addresses a master probes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProbeTargets, isForeign, mergesInto, viewOf, type ClusterView } from '../../src/core/split-brain.js';

const view = (master: string, uuids: string[], address = `127.0.0.1:${5700 + uuids.length}`): ClusterView => ({ masterUuid: master, masterAddress: address, memberUuids: uuids, listVersion: 3 });

void describe('split brain', () => {
  void it('a view with no member in common is another cluster; one that lists us or shares a member is ours, seen late', () => {
    const ours = view('a', ['a', 'b', 'c']);
    assert.equal(isForeign(ours, 'b', view('d', ['d', 'e'])), true);
    assert.equal(isForeign(ours, 'b', view('d', ['d', 'b'])), false, 'it still lists us');
    assert.equal(isForeign(ours, 'b', view('a', ['a'])), false, 'our master');
    assert.equal(isForeign(ours, 'b', view('d', ['d', 'c'])), false, 'a member in common');
  });

  void it('the smaller cluster merges into the larger; equal sizes: the one whose master has the higher address', () => {
    const two = view('a', ['a', 'b'], '127.0.0.1:5701');
    const one = view('c', ['c'], '127.0.0.1:5700');
    assert.equal(mergesInto(one, two), true);
    assert.equal(mergesInto(two, one), false);
    const low = view('a', ['a'], '127.0.0.1:5701');
    const high = view('c', ['c'], '127.0.0.1:5710');
    assert.equal(mergesInto(high, low), true);
    assert.equal(mergesInto(low, high), false, 'never both');
  });

  void it('viewOf: the master is the oldest member', () => {
    const v = viewOf({ version: 7, members: [{ uuid: 'a', address: '127.0.0.1:1', name: 'A', lite: false }, { uuid: 'b', address: '127.0.0.1:2', name: 'B', lite: false }] });
    assert.deepEqual(v, { masterUuid: 'a', masterAddress: '127.0.0.1:1', memberUuids: ['a', 'b'], listVersion: 7 });
    assert.equal(viewOf({ version: 0, members: [] }), null);
  });

  void it('a master probes its seeds and the members it removed, not its own members, at most once per interval', () => {
    const t = new ProbeTargets(2);
    t.noteRemoved(['h:3', 'h:4'], 0);
    assert.deepEqual(t.due(['h:1', 'h:2'], new Set(['h:2']), 'h:1', 0, 1000).sort(), ['h:3', 'h:4']);
    assert.deepEqual(t.due(['h:1', 'h:2'], new Set(['h:2']), 'h:1', 500, 1000), []);
    assert.deepEqual(t.due(['h:1', 'h:2'], new Set(['h:2']), 'h:1', 1000, 1000).sort(), ['h:3', 'h:4']);
    t.noteRemoved(['h:5'], 1100);
    assert.deepEqual(t.due([], new Set(), 'h:1', 2000, 1000).sort(), ['h:4', 'h:5'], 'only the newest removed addresses are kept');
    assert.equal(t.mayProbe('h:9', 2000, 1000), true);
    assert.equal(t.mayProbe('h:9', 2400, 1000), false);
    assert.equal(t.mayProbe('h:9', 2500, 1000), true);
  });
});

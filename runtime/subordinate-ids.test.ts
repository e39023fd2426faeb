import test from 'ava';
import { firstFreeId, mapArguments, subordinateRanges } from './subordinate-ids.js';

const SUBUID = `# comment
alice:100000:65536
1001:165536:65536
bob:231072:1000
alice:300000:10
broken line
carol:abc:10
dave:400000:0
`;

test('a user\'s ranges are found by login name and by uid, in file order; malformed and empty lines are ignored', (t) => {
  t.deepEqual(subordinateRanges(SUBUID, 'alice', 1000), [
    { start: 100000, count: 65536 },
    { start: 300000, count: 10 },
  ]);
  t.deepEqual(subordinateRanges(SUBUID, 'eve', 1001), [{ start: 165536, count: 65536 }]);
  t.deepEqual(subordinateRanges(SUBUID, 'carol', 1002), []);
  t.deepEqual(subordinateRanges(SUBUID, 'dave', 1003), []);
  t.deepEqual(subordinateRanges('', 'alice', 1000), []);
});

test('a new range starts above every existing one in either file, and at 100000 at least', (t) => {
  t.is(firstFreeId(SUBUID, 'x:500000:65536\n'), 565536);
  t.is(firstFreeId(SUBUID), 300010, 'an empty range takes no room');
  t.is(firstFreeId('', ''), 100000);
  t.is(firstFreeId('a:1000:10\n'), 100000);
});

test('the maps put the user at 0 and the ranges one after another from 1', (t) => {
  t.deepEqual(mapArguments(1000, [{ start: 100000, count: 65536 }]), ['0', '1000', '1', '1', '100000', '65536']);
  t.deepEqual(mapArguments(1000, [
    { start: 100000, count: 65536 },
    { start: 300000, count: 10 },
  ]), ['0', '1000', '1', '1', '100000', '65536', '65537', '300000', '10']);
});

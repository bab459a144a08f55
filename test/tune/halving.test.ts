// Successive halving: the fraction kept at each rung, and promotion as a function of the scores alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { promote, rungSizes } from "../../src/tune/halving.js";

test("rungSizes keeps ⌈n/η⌉ at each rung and never fewer than one", () => {
  assert.deepEqual(rungSizes(11, 3, 3), [11, 4, 2]);
  assert.deepEqual(rungSizes(7, 2, 4), [7, 4, 2, 1]);
  assert.deepEqual(rungSizes(27, 3, 4), [27, 9, 3, 1]);
  assert.deepEqual(rungSizes(2, 3, 3), [2, 1, 1]);
  assert.deepEqual(rungSizes(5, 2, 1), [5]);
});

test("promote keeps the lowest scores in their given order; failures last, ties to the first given", () => {
  const score: Record<string, number> = { a: 3, b: 1, c: NaN, d: 2, e: 1, f: Infinity };
  const ids = Object.keys(score);
  assert.deepEqual(
    promote(ids, (id) => score[id]!, 3),
    ["b", "d", "e"],
  );
  assert.deepEqual(
    promote(ids, (id) => score[id]!, 1),
    ["b"],
  );
  // b and e tie: the first given wins, whatever order the ids come in.
  assert.deepEqual(
    promote(["e", "b"], (id) => score[id]!, 1),
    ["e"],
  );
  // Failed runs (NaN, Infinity) are promoted only when nothing else is left, in their given order.
  assert.deepEqual(
    promote(ids, (id) => score[id]!, 6),
    ids,
  );
  assert.deepEqual(
    promote(["c", "f", "a"], (id) => score[id]!, 2),
    ["c", "a"],
  );
  // A function of the scores: the same call gives the same answer.
  for (let i = 0; i < 3; i++)
    assert.deepEqual(
      promote(ids, (id) => score[id]!, 3),
      ["b", "d", "e"],
    );
});

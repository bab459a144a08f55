import assert from "node:assert/strict";
import { test } from "node:test";
import { ddimTimesteps, makeSchedule, scheduleKinds } from "../../src/models/diffusion-schedule.js";

const close = (a: number, b: number, tol: number, what: string): void =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

for (const kind of scheduleKinds) {
  test(`${kind}: q(x_t | x_0) closed form equals the chain iterated step by step`, () => {
    const s = makeSchedule(kind, 1000);
    // x_t = √(1 − β_t) x_{t−1} + √β_t ε: track the coefficient of x_0 and the noise variance.
    let coef = 1,
      variance = 0;
    for (let i = 0; i < 1000; i++) {
      const b = s.betas[i]!;
      coef *= Math.sqrt(1 - b);
      variance = (1 - b) * variance + b;
      close(coef * coef, s.alphaBars[i]!, 1e-12, `ᾱ at t=${i + 1}`);
      close(variance, 1 - s.alphaBars[i]!, 1e-12, `1 − ᾱ at t=${i + 1}`);
    }
  });

  test(`${kind}: at the end the noised data is ≈ N(0, I)`, () => {
    const s = makeSchedule(kind, 1000);
    assert.ok(Math.sqrt(s.alphaBars[999]!) < 0.01, `√ᾱ_N = ${Math.sqrt(s.alphaBars[999]!)}`);
    assert.ok(s.betas.every((b) => b > 0 && b < 1));
  });

  test(`${kind}: posterior mean and variance match Bayes' rule on the two Gaussians`, () => {
    const s = makeSchedule(kind, 200);
    const x0 = 0.7,
      xt = -0.3;
    for (const t of [2, 50, 199]) {
      const i = t - 1;
      const prev = s.alphaBars[i - 1]!,
        a = 1 - s.betas[i]!;
      // prior x_{t−1} ~ N(√ᾱ_{t−1} x0, 1 − ᾱ_{t−1}); likelihood x_t ~ N(√α x_{t−1}, β)
      const precision = 1 / (1 - prev) + a / s.betas[i]!;
      const mean = ((Math.sqrt(prev) * x0) / (1 - prev) + (Math.sqrt(a) * xt) / s.betas[i]!) / precision;
      close(s.posteriorVariance[i]!, 1 / precision, 1e-12, `β̃ at t=${t}`);
      close(s.posteriorX0[i]! * x0 + s.posteriorXt[i]! * xt, mean, 1e-10, `posterior mean at t=${t}`);
    }
    assert.equal(s.posteriorVariance[0], 0);
  });
}

test("DDIM timesteps: K = N visits every step, fewer are spread and end at 1", () => {
  assert.deepEqual(ddimTimesteps(5, 5), [5, 4, 3, 2, 1]);
  assert.deepEqual(ddimTimesteps(1000, 4), [751, 501, 251, 1]);
  assert.throws(() => ddimTimesteps(10, 11), /--steps/);
});

test("an unknown schedule is an error naming hps.schedule", () => {
  assert.throws(() => makeSchedule("quadratic" as never, 10), /hps\.schedule/);
});

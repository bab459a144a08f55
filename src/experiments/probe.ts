// Linear probe: how linearly decodable the class is from a trained model's frozen encoder features. A
// multinomial logistic regression on standardised features of training images, scored on test images; the
// representation-analysis row of the `probe` suite (image model versus its video counterparts).
import type { ImageSet } from "../data/index.js";
import { forEachBatch } from "../data/loader.js";
import { Adam, Linear } from "../nn/index.js";
import type { TrainableModel } from "../models/model.js";
import {
  type Tensor,
  cat,
  crossEntropy,
  fromTyped,
  keep,
  manualSeed,
  tidy,
  dispose,
} from "../tensor/index.js";
import { ArgumentError } from "../errors.js";

export interface ProbeOptions {
  trainImages: number;
  testImages: number;
  steps: number;
  /** The border the model's input adds (e.g. 2 to pad MNIST's 28 to 32). */
  pad: number;
}

/** The probe a suite runs at a budget: as many train and test images as the budget names, 300 full-batch steps. */
export function probeOptions(probeImages: number, pad: number): ProbeOptions {
  return { trainImages: probeImages, testImages: probeImages, steps: 300, pad };
}

function features(model: TrainableModel, set: ImageSet, limit: number, pad: number): Tensor {
  const parts: Tensor[] = [];
  forEachBatch(set, { batch: 256, limit, pad }, (x) => void parts.push(keep(model.features!(x))));
  const out = cat(parts, 0);
  dispose(parts);
  return out;
}

function labels(set: ImageSet, limit: number): Tensor {
  if (!set.labels) throw new ArgumentError("the linear probe needs class labels, and this data set has none");
  return fromTyped(set.labels.subarray(0, Math.min(limit, set.n)), [Math.min(limit, set.n)]).long();
}

/** Test accuracy of a linear classifier on the model's features. Full-batch Adam; deterministic. */
export function linearProbe(
  model: TrainableModel,
  data: { train: ImageSet; test: ImageSet },
  o: ProbeOptions,
): number {
  if (!model.features) throw new ArgumentError("this model family exposes no features for a linear probe");
  return tidy(() => {
    const ftr = features(model, data.train, o.trainImages, o.pad);
    const fte = features(model, data.test, o.testImages, o.pad);
    // Standardise with the training statistics: one learning rate then suits every model's feature scale.
    const mean = ftr.mean(0, true),
      std = ftr.std(0, { keepdim: true }).add(1e-6);
    const xtr = ftr.sub(mean).div(std),
      xte = fte.sub(mean).div(std);
    const ytr = labels(data.train, o.trainImages),
      yte = labels(data.test, o.testImages);
    const classes = Math.max(...ytr.toArray(), ...yte.toArray()) + 1;
    manualSeed(0);
    const head = new Linear(xtr.size(1), classes);
    const opt = new Adam(head.parameters(), { lr: 1e-2, weightDecay: 1e-4 });
    for (let s = 0; s < o.steps; s++)
      tidy(() => {
        const loss = crossEntropy(head.forward(xtr), ytr);
        opt.zeroGrad();
        loss.backward();
        opt.update();
      });
    const acc = head.forward(xte).argmax(1).eq(yte).float().mean().item();
    head.dispose();
    opt.dispose();
    return acc;
  });
}

// Shared data types of the data module. Images are uint8, NCHW, contiguous: image i, channel ch, row y, column x
// is images[((i * c + ch) * h + y) * w + x].

export interface ImageSet {
  images: Uint8Array;
  n: number;
  c: number;
  h: number;
  w: number;
  /** One label per image (class index, or e.g. a CelebA identity number), or null for unlabelled data. */
  labels: Int32Array | null;
  /** Class names indexed by label, or null when labels are not classes (or absent). */
  classes: string[] | null;
}

export type SourceFormat = "idx" | "cifar-bin" | "celeba" | "image-folder";

export interface DatasetInfo {
  /** The folder or archive the data came from. */
  source: string;
  format: SourceFormat;
  fromCache: boolean;
  cacheFile: string | null;
  /** Files skipped as corrupt (only with skipCorrupt: true), as "<source>:<path>" or absolute paths. */
  skipped: string[];
  /** Files ignored because their extension is not an image's (image folders only). */
  ignored: number;
  /** Milliseconds spent preparing (decoding), or loading from the cache when fromCache. */
  ms: number;
}

export interface SplitData {
  /** Dataset name ("mnist", ... or the base name of the path). */
  name: string;
  train: ImageSet;
  test: ImageSet;
  /** A validation split, when the dataset defines one (CelebA). */
  valid?: ImageSet;
  info: DatasetInfo;
}

export type SplitName = "train" | "valid" | "test";

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';

/** A VOC classification split: image ids, class names (sorted), and targets `[ids x classes]`. */
export interface VocSplit {
  root: string;
  split: string;
  ids: string[];
  classes: string[];
  /** MMSelfSup's SVM labels (FAIR's VOC converter): 1 present, 0 absent, -1 difficult (the files' 1, -1, 0). */
  targets: Int8Array;
}

/** Missing-file error in one line: how many, and the first three. */
export function missingFilesError(what: string, missing: string[], total: number, fix: string): ConfigError {
  return new ConfigError(`${missing.length} of ${total} ${what} do not exist (first: ${missing.slice(0, 3).join(', ')}); ${fix}`, { code: 'MISSING_FILES' });
}

/**
 * Reads a PASCAL VOC tree's classification labels (`<root>/ImageSets/Main/<class>_<split>.txt`, lines
 * `<id> <1|-1|0>`) and checks that every listed image exists as `<root>/JPEGImages/<id>.jpg`.
 * The ids come from `ImageSets/Main/<split>.txt` when present, else from the first class file.
 * @throws ConfigError when the tree has no class files for the split, a line is malformed, or images are missing.
 */
export function readVocClassification(root: string, split: string): VocSplit {
  const main = join(root, 'ImageSets', 'Main');
  if (!existsSync(main)) throw new ConfigError(`${root} is not a VOC tree: ${main} does not exist`);
  const suffix = `_${split}.txt`;
  const classes = readdirSync(main).filter((f) => f.endsWith(suffix)).map((f) => f.slice(0, -suffix.length)).sort();
  if (classes.length === 0) throw new ConfigError(`${main} has no <class>${suffix} files for split "${split}"`);
  const perClass = classes.map((c) => {
    const file = join(main, `${c}${suffix}`);
    const m = new Map<string, number>();
    readFileSync(file, 'utf8').split(/\r?\n/).forEach((line, i) => {
      const t = line.trim();
      if (!t) return;
      const parts = t.split(/\s+/);
      const v = Number(parts[1]);
      if (parts.length !== 2 || ![1, 0, -1].includes(v)) throw new ConfigError(`${file}:${i + 1}: expected "<image id> <1|-1|0>", got "${t}"`);
      m.set(parts[0], v);
    });
    return m;
  });
  const listFile = join(main, `${split}.txt`);
  const ids = existsSync(listFile)
    ? readFileSync(listFile, 'utf8').split(/\r?\n/).map((l) => l.trim().split(/\s+/)[0]).filter(Boolean)
    : [...perClass[0].keys()];
  const targets = new Int8Array(ids.length * classes.length);
  ids.forEach((id, i) => {
    classes.forEach((c, k) => {
      const v = perClass[k].get(id);
      if (v === undefined) throw new ConfigError(`${join(main, `${c}${suffix}`)} does not list image ${id} (of ${listFile})`);
      targets[i * classes.length + k] = v === 1 ? 1 : v === -1 ? 0 : -1;
    });
  });
  const missing = ids.filter((id) => !existsSync(join(root, 'JPEGImages', `${id}.jpg`)));
  if (missing.length > 0) throw missingFilesError(`images listed for ${split}`, missing.map((id) => join('JPEGImages', `${id}.jpg`)), ids.length, `check ${root}`);
  return { root, split, ids, classes, targets };
}

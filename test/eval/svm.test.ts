import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePng } from '../../src/data/decode.js';
import { sklearnAp, vocAp } from '../../src/eval/svm/average-precision.js';
import { normalizeFeatures, parseCostList, stratifiedFolds, svmFull, svmLowShot, type SvmSplit } from '../../src/eval/svm/protocol.js';
import { readVocClassification } from '../../src/eval/svm/voc.js';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';

interface Ref {
  train: { x: number[][]; targets: number[][] };
  test: { x: number[][]; targets: number[][] };
  costs: number[];
  per_class: { cost: number; cv_ap: number[]; ap: number }[];
  mAP: number;
  stratified: { y: number[]; folds: number[] };
  ap_ties: { labels: number[]; scores: number[]; sklearn: number; voc: number };
}
const ref = JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures/svm/reference.json'), 'utf8')) as Ref;

function split(s: { x: number[][]; targets: number[][] }): SvmSplit {
  const n = s.x.length;
  const dim = s.x[0].length;
  const classes = s.targets[0].map((_, c) => `c${c}`);
  return { x: normalizeFeatures(Float64Array.from(s.x.flat()), n, dim), n, dim, targets: Int8Array.from(s.targets.flat()), classes };
}

describe('SVM protocol against scikit-learn (tools/svm-reference.py)', () => {
  it("stratified folds and both APs are scikit-learn's / MMSelfSup's", () => {
    expect(Array.from(stratifiedFolds(ref.stratified.y, 3))).toEqual(ref.stratified.folds);
    expect(sklearnAp(ref.ap_ties.labels, ref.ap_ties.scores)).toBeCloseTo(ref.ap_ties.sklearn, 10);
    expect(vocAp(ref.ap_ties.labels.map((l) => (l > 0 ? 1 : -1)), ref.ap_ties.scores.map((s, i) => s - i * 1e-9))).toBeCloseTo(ref.ap_ties.voc, 10);
  });

  it('full protocol: per-class test AP within 0.5 points of LinearSVC, and the cost lists agree', () => {
    const r = svmFull(split(ref.train), split(ref.test), ref.costs);
    r.perClass.forEach((p, c) => {
      expect(Math.abs(p.ap - ref.per_class[c].ap) * 100).toBeLessThan(0.5);
      // the chosen cost's cross-validated AP is sklearn's best within 0.5 points
      expect(Math.abs(p.cvAp - Math.max(...ref.per_class[c].cv_ap)) * 100).toBeLessThan(0.5);
    });
    expect(Math.abs(r.mAP - ref.mAP)).toBeLessThan(0.5);
    expect(parseCostList(ref.costs)).toHaveLength(19);
    expect(() => parseCostList([])).toThrow('the SVM cost list is empty');
  }, 120_000);

  it('low-shot: seeded draws reproduce; mean ± std per k', () => {
    const o = { kValues: [1, 4], samples: 3, seed: 5 };
    const a = svmLowShot(split(ref.train), split(ref.test), [1.0], o);
    const b = svmLowShot(split(ref.train), split(ref.test), [1.0], o);
    expect(a).toEqual(b);
    expect(a.map((r) => r.k)).toEqual([1, 4]);
    for (const r of a) {
      expect(r.perSample).toHaveLength(3);
      expect(r.mean).toBeCloseTo(r.perSample.reduce((s, x) => s + x, 0) / 3, 10);
    }
    const c = svmLowShot(split(ref.train), split(ref.test), [1.0], { ...o, seed: 6 });
    expect(c[0].perSample).not.toEqual(a[0].perSample);
  }, 120_000);
});

describe('VOC reader and ssl eval svm --voc', () => {
  const root = mkdtempSync(join(tmpdir(), 'ssl-voc-'));
  const voc = join(root, 'VOC2007');
  const classes = ['cat', 'dog'];
  // per split: id -> VOC file labels (1 present, -1 absent, 0 difficult) of cat, dog
  const labels: Record<string, Record<string, [number, number]>> = {
    trainval: { '000001': [1, -1], '000002': [-1, 1], '000003': [1, 0], '000004': [-1, 1], '000005': [1, -1], '000006': [0, 1] },
    test: { '000007': [1, -1], '000008': [-1, 1], '000009': [1, -1], '000010': [-1, 1] },
  };

  beforeAll(async () => {
    mkdirSync(join(voc, 'JPEGImages'), { recursive: true });
    mkdirSync(join(voc, 'ImageSets', 'Main'), { recursive: true });
    for (const [splitName, ids] of Object.entries(labels)) {
      writeFileSync(join(voc, 'ImageSets', 'Main', `${splitName}.txt`), `${Object.keys(ids).join('\n')}\n`);
      classes.forEach((c, k) => writeFileSync(join(voc, 'ImageSets', 'Main', `${c}_${splitName}.txt`), Object.entries(ids).map(([id, l]) => `${id} ${l[k] < 0 ? '' : ' '}${l[k]}`).join('\n') + '\n'));
      for (const [id, l] of Object.entries(ids)) {
        const px = new Uint8Array(40 * 40 * 3).map((_, i) => (l[0] === 1 ? (i % 3 === 0 ? 220 : 30) : (i % 3 === 2 ? 220 : 30)) + ((i * 7 + Number(id)) % 20));
        writeFileSync(join(voc, 'JPEGImages', `${id}.jpg`), await encodePng({ data: px, width: 40, height: 40, channels: 3 } as never));
      }
    }
  });

  it("maps the files' 1 / -1 / 0 to MMSelfSup's 1 / 0 / -1, in class-name order", () => {
    const s = readVocClassification(voc, 'trainval');
    expect(s.classes).toEqual(['cat', 'dog']);
    expect(s.ids).toEqual(Object.keys(labels.trainval));
    expect(Array.from(s.targets)).toEqual([1, 0, 0, 1, 1, -1, 0, 1, 1, 0, -1, 1]);
  });

  it('a list naming missing images: how many and the first three, exit 2', () => {
    const bad = join(root, 'VOC-missing');
    mkdirSync(join(bad, 'ImageSets', 'Main'), { recursive: true });
    mkdirSync(join(bad, 'JPEGImages'), { recursive: true });
    writeFileSync(join(bad, 'ImageSets', 'Main', 'cat_trainval.txt'), ['a1 1', 'a2 -1', 'a3 1', 'a4 -1'].join('\n'));
    writeFileSync(join(bad, 'ImageSets', 'Main', 'cat_test.txt'), 'a1 1\n');
    expect(() => readVocClassification(bad, 'trainval')).toThrow('4 of 4 images listed for trainval do not exist (first: JPEGImages/a1.jpg, JPEGImages/a2.jpg, JPEGImages/a3.jpg)');
    const r = runCli(['eval', 'svm', join(REPO_ROOT, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml'), '--voc', bad, '--work-dir', join(root, 'w-bad'), '--backend', 'wasm']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('Error:'))).toEqual([
      'Error: 4 of 4 images listed for trainval do not exist (first: JPEGImages/a1.jpg, JPEGImages/a2.jpg, JPEGImages/a3.jpg); check ' + bad,
    ]);
  });

  it('bad input: a feature the backbone does not produce, an empty cost list (exit 2, one line)', () => {
    const cfg = join(REPO_ROOT, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml');
    const f = runCli(['eval', 'svm', cfg, '--voc', voc, '--features', 'feat6', '--work-dir', join(root, 'w1'), '--backend', 'wasm']);
    expect(f.status).toBe(2);
    expect(f.stderr.trim().split('\n').at(-1)).toBe('Error: --features feat6 is not a feature this backbone produces; choose one of feat1, feat2, feat3, feat4, feat5');
    const c = runCli(['eval', 'svm', cfg, '--voc', voc, '--costs', ',', '--work-dir', join(root, 'w2')]);
    expect(c.status).toBe(2);
    expect(c.stderr.trim()).toBe('Error: the SVM cost list is empty; give costs like --costs 1.0,10.0,100.0');
  });

  it('runs the protocol on the VOC tree and writes WORK_DIR/eval/svm.json', () => {
    const cfg = join(REPO_ROOT, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml');
    const work = join(root, 'w3');
    const r = runCli(['eval', 'svm', cfg, '--voc', voc, '--features', 'feat2', '--work-dir', work, '--backend', 'wasm'], { timeoutMs: 180_000 });
    if (r.status !== 0) throw new Error(r.stderr.slice(-2000));
    const res = JSON.parse(readFileSync(join(work, 'eval', 'svm.json'), 'utf8'));
    expect(res.metric).toBe('mAP');
    expect(res.features).toBe('feat2');
    expect(res.results.per_class.map((p: { name: string }) => p.name)).toEqual(['cat', 'dog']);
    // the two classes differ in colour: any backbone separates them
    expect(res.value).toBeGreaterThan(90);
    expect(r.stdout).toMatch(/^mAP \(feat2\): [\d.]+ -> /m);
    rmSync(root, { recursive: true, force: true });
  }, 180_000);
});

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, SHARED_DIR } from '../helpers/run-cli.js';

/**
 * MMSelfSup's semi-supervised fine-tuning configs (imagenet_1percent / imagenet_10percent), unchanged, through
 * `ssl train`: the subset annotation list, the head's lr multiplier (paramwise_options '\Ahead.'), evaluation
 * per epoch; a subset list naming missing files is one line (how many, the first three), exit 2.
 */
const ROOT = join(SHARED_DIR, 'data/mmselfsup-configs/benchmarks/classification/imagenet');
const have = existsSync(ROOT);
const dir = mkdtempSync(join(tmpdir(), 'ssl-semi-'));

(have ? describe : describe.skip)('semi-supervised fine-tuning configs', () => {
  it('a 1% subset list naming missing files: how many and the first three, exit 2', () => {
    const data = join(dir, 'imagenet');
    mkdirSync(join(data, 'n01'), { recursive: true });
    writeFileSync(join(data, 'n01', 'present.jpg'), 'x');
    const list = join(dir, 'train_1percent.txt');
    writeFileSync(list, ['n01/present.jpg 0', 'n01/a.jpg 0', 'n02/b.jpg 1', 'n03/c.jpg 2', 'n04/d.jpg 3'].join('\n'));
    const r = runCli([
      'train', join(ROOT, 'imagenet_1percent/resnet50_head100_4xb64-steplr1e-1-20e_in1k-1pct.py'), '--work-dir', join(dir, 'w-missing'), '--backend', 'wasm',
      '--cfg-options', `data.train.data_source.data_prefix=${data}`, `data.train.data_source.ann_file=${list}`, 'data.workers_per_gpu=0',
    ], { timeoutMs: 180_000 });
    expect(r.status).toBe(2);
    const errors = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => / ERROR |^Error:/.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`ImageNet: 4 of 5 files listed in ${list} do not exist (first: ${join(data, 'n01/a.jpg')} (${list}:2), ${join(data, 'n02/b.jpg')} (${list}:3), ${join(data, 'n03/c.jpg')} (${list}:4))`);
  }, 200_000);

  it("10%: the head trains at 100x the backbone's lr, 2 iterations, evaluated after the epoch", () => {
    const syn = (split: string, n: number, seed: number) => [`data.${split}.data_source.type=SyntheticShapes`, `data.${split}.data_source.data_prefix=None`, `data.${split}.data_source.ann_file=None`, `data.${split}.data_source.num_samples=${n}`, `data.${split}.data_source.image_size=40`, `data.${split}.data_source.seed=${seed}`];
    const work = join(dir, 'w-10pct');
    const r = runCli([
      'train', join(ROOT, 'imagenet_10percent/resnet50_head100_4xb64-steplr1e-2-20e_in1k-10pct.py'), '--work-dir', work, '--backend', 'wasm', '--seed', '0',
      '--cfg-options', ...syn('train', 4, 0), ...syn('val', 2, 1), 'data.samples_per_gpu=2', 'data.workers_per_gpu=0', 'runner.max_epochs=1', 'evaluation.interval=1',
      'data.train.pipeline.0.size=32', 'data.val.pipeline.0.size=36', 'data.val.pipeline.1.size=32', 'log_config.interval=1',
    ], { timeoutMs: 300_000 });
    if (r.status !== 0) throw new Error(`${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
    const log = readFileSync(join(work, readdirSync(work).find((f) => f.endsWith('.log') && !f.includes('rank'))!), 'utf8');
    // lr 0.01, head lr_mult 100 (MMSelfSup's paramwise_options message per parameter)
    expect(log).toMatch(/paramwise_options -- head\.fc_cls\.weight: lr=1\b/);
    expect(log).not.toMatch(/paramwise_options -- backbone\./);
    expect(log).toMatch(/Epoch \[1\]\[2\/2\]/);
    expect(log).toMatch(/Epoch\(val\) \[1\]\[1\]\thead4_top1: [\d.]+, head4_top5: [\d.]+/);
  }, 320_000);
});

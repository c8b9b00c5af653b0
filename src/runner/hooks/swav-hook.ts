import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { readPth, isPthTensor } from '../../engine/pth/read-pth.js';
import { encodePth } from '../../engine/pth/write-pth.js';
import { checkArgs } from '../../registry/index.js';
import type { BaseRunner } from '../base-runner.js';
import { writeFileAtomic } from '../checkpoint.js';
import { Hook } from '../hook.js';

interface QueueHead {
  queue: Float32Array[] | null;
  useQueue: boolean;
}

function swavHead(runner: BaseRunner): QueueHead {
  const head = (runner.model as unknown as { head?: Partial<QueueHead> }).head;
  if (!head || !('queue' in head) || !('useQueue' in head)) throw new ConfigError('SwAVHook needs a SwAV model (its SwAVHead holds the queue); remove it from custom_hooks');
  return head as QueueHead;
}

/**
 * MMSelfSup `SwAVHook`: from epoch `epoch_queue_starts` on, the head predicts codes with a queue of
 * `queue_length` (rounded down to a multiple of batch_size × world size, divided over ranks) past
 * assignment-crop features in front of the batch. Every `interval` epochs the queue is saved as
 * `{'queue': tensor [len(crops_for_assign), L, feat_dim]}` to work_dir/queue.pth (queue<rank>.pth
 * with several ranks; torch.load reads it) and a run starting in a work_dir that has one loads it.
 */
export class SwAVHook extends Hook {
  readonly hookType = 'SwAVHook';
  readonly batchSize: number;
  readonly epochQueueStarts: number;
  readonly cropsForAssign: number[];
  readonly featDim: number;
  readonly interval: number;
  queueLength: number;
  queue: Float32Array[] | null = null;
  queuePath = '';

  constructor(args: Record<string, unknown>) {
    super();
    checkArgs('SwAVHook', args, ['batch_size', 'epoch_queue_starts', 'crops_for_assign', 'feat_dim', 'queue_length', 'interval']);
    this.batchSize = args.batch_size as number;
    if (!(Number.isInteger(this.batchSize) && this.batchSize > 0)) throw new ConfigError(`SwAVHook: batch_size must be a positive integer, got ${String(args.batch_size)}`);
    this.epochQueueStarts = (args.epoch_queue_starts as number) ?? 15;
    this.cropsForAssign = (args.crops_for_assign as number[]) ?? [0, 1];
    this.featDim = (args.feat_dim as number) ?? 128;
    this.queueLength = (args.queue_length as number) ?? 0;
    this.interval = (args.interval as number) ?? 1;
  }

  override async beforeRun(runner: BaseRunner): Promise<void> {
    const head = swavHead(runner) as QueueHead & { cropsForAssign?: number[]; featDim?: number };
    if (head.cropsForAssign && head.cropsForAssign.length !== this.cropsForAssign.length) {
      throw new ConfigError(`SwAVHook: crops_for_assign ${JSON.stringify(this.cropsForAssign)} must have as many entries as model.head.crops_for_assign ${JSON.stringify(head.cropsForAssign)}`);
    }
    if (head.featDim !== undefined && head.featDim !== this.featDim) throw new ConfigError(`SwAVHook: feat_dim ${this.featDim} differs from model.head.feat_dim ${head.featDim}; make them equal`);
    this.queuePath = join(runner.workDir, runner.worldSize > 1 ? `queue${runner.rank}.pth` : 'queue.pth');
    if (existsSync(this.queuePath)) {
      const saved = ((await readPth(this.queuePath)) as Map<unknown, unknown>).get('queue');
      if (!isPthTensor(saved) || saved.dtype !== 'F32' || saved.shape.length !== 3 || saved.shape[0] !== this.cropsForAssign.length || saved.shape[2] !== this.featDim) {
        throw new ConfigError(`SwAVHook: ${this.queuePath} does not hold a float32 queue [${this.cropsForAssign.length}, L, ${this.featDim}]; delete it or use another work_dir`);
      }
      // a copy of its own: the bytes may be a view into a shared buffer (a Buffer's slice() is not a copy)
      const all = new Float32Array(new Uint8Array(saved.bytes).buffer);
      const per = saved.shape[1] * this.featDim;
      this.queue = this.cropsForAssign.map((_, i) => all.slice(i * per, (i + 1) * per));
      swavHead(runner).queue = this.queue;
    }
    const global = this.batchSize * runner.worldSize;
    this.queueLength -= this.queueLength % global;
  }

  override beforeTrainEpoch(runner: BaseRunner): void {
    const head = swavHead(runner);
    if (this.queueLength > 0 && runner.epoch >= this.epochQueueStarts && this.queue === null) {
      const rows = Math.floor(this.queueLength / runner.worldSize);
      this.queue = this.cropsForAssign.map(() => new Float32Array(rows * this.featDim));
    }
    head.queue = this.queue;
    head.useQueue = false;
  }

  override async afterTrainEpoch(runner: BaseRunner): Promise<void> {
    this.queue = swavHead(runner).queue;
    if (this.queue && this.queuePath && this.everyNEpochs(runner, this.interval)) {
      const rows = this.queue[0].length / this.featDim;
      const all = new Float32Array(this.queue.length * this.queue[0].length);
      this.queue.forEach((q, i) => all.set(q, i * q.length));
      const queue = { dtype: 'F32' as const, shape: [this.queue.length, rows, this.featDim], bytes: new Uint8Array(all.buffer) };
      writeFileAtomic(this.queuePath, await encodePth({ queue }));
    }
  }
}

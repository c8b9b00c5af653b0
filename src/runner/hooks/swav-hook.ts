import { ConfigError } from '../../errors.js';
import { checkArgs } from '../../registry/index.js';
import type { BaseRunner } from '../base-runner.js';
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
 * assignment-crop features in front of the batch. The queue lives in memory for the run (MMSelfSup
 * also saves it to work_dir/queue.pth each `interval` epochs; not done here).
 */
export class SwAVHook extends Hook {
  readonly hookType = 'SwAVHook';
  readonly batchSize: number;
  readonly epochQueueStarts: number;
  readonly cropsForAssign: number[];
  readonly featDim: number;
  queueLength: number;
  queue: Float32Array[] | null = null;

  constructor(args: Record<string, unknown>) {
    super();
    checkArgs('SwAVHook', args, ['batch_size', 'epoch_queue_starts', 'crops_for_assign', 'feat_dim', 'queue_length', 'interval']);
    this.batchSize = args.batch_size as number;
    if (!(Number.isInteger(this.batchSize) && this.batchSize > 0)) throw new ConfigError(`SwAVHook: batch_size must be a positive integer, got ${String(args.batch_size)}`);
    this.epochQueueStarts = (args.epoch_queue_starts as number) ?? 15;
    this.cropsForAssign = (args.crops_for_assign as number[]) ?? [0, 1];
    this.featDim = (args.feat_dim as number) ?? 128;
    this.queueLength = (args.queue_length as number) ?? 0;
  }

  override beforeRun(runner: BaseRunner): void {
    const head = swavHead(runner) as QueueHead & { cropsForAssign?: number[]; featDim?: number };
    if (head.cropsForAssign && head.cropsForAssign.length !== this.cropsForAssign.length) {
      throw new ConfigError(`SwAVHook: crops_for_assign ${JSON.stringify(this.cropsForAssign)} must have as many entries as model.head.crops_for_assign ${JSON.stringify(head.cropsForAssign)}`);
    }
    if (head.featDim !== undefined && head.featDim !== this.featDim) throw new ConfigError(`SwAVHook: feat_dim ${this.featDim} differs from model.head.feat_dim ${head.featDim}; make them equal`);
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

  override afterTrainEpoch(runner: BaseRunner): void {
    this.queue = swavHead(runner).queue;
  }
}

import { ConfigError } from '../../errors.js';
import { checkArgs } from '../../registry/index.js';
import type { BaseRunner } from '../base-runner.js';
import { Hook } from '../hook.js';

function denseModel(runner: BaseRunner): { lossLambda: number } {
  const m = runner.model as unknown as { lossLambda?: unknown };
  if (typeof m.lossLambda !== 'number') throw new ConfigError('DenseCLHook needs a DenseCL model (it sets loss_lambda); remove it from custom_hooks');
  return m as { lossLambda: number };
}

/**
 * MMSelfSup `DenseCLHook`: the dense loss weight `loss_lambda` is 0 for iterations before
 * `start_iters` and the model's configured value from then on (set before every iteration).
 */
export class DenseCLHook extends Hook {
  readonly hookType = 'DenseCLHook';
  readonly startIters: number;
  private lossLambda: number | null = null;

  constructor(args: Record<string, unknown>) {
    super();
    checkArgs('DenseCLHook', args, ['start_iters']);
    this.startIters = (args.start_iters as number) ?? 1000;
    if (!(Number.isInteger(this.startIters) && this.startIters >= 0)) throw new ConfigError(`DenseCLHook: start_iters must be a non-negative integer, got ${JSON.stringify(args.start_iters)}`);
  }

  override beforeRun(runner: BaseRunner): void {
    this.lossLambda = denseModel(runner).lossLambda;
  }

  override beforeTrainIter(runner: BaseRunner): void {
    const model = denseModel(runner);
    this.lossLambda ??= model.lossLambda;
    model.lossLambda = runner.iter >= this.startIters ? this.lossLambda : 0;
  }
}

import { ConfigError } from '../../errors.js';
import { checkArgs } from '../../registry/index.js';
import type { BaseRunner } from '../base-runner.js';
import { Hook } from '../hook.js';

interface MomentumModel {
  momentum: number;
  baseMomentum: number;
  momentumUpdate(): void;
}

function momentumModel(runner: BaseRunner, hook: string): MomentumModel {
  const m = runner.model as unknown as Partial<MomentumModel>;
  if (typeof m.momentum !== 'number' || typeof m.baseMomentum !== 'number' || typeof m.momentumUpdate !== 'function') {
    throw new ConfigError(`${hook} needs an algorithm with a momentum target network (BYOL); remove it from custom_hooks`);
  }
  return m as MomentumModel;
}

/**
 * MMSelfSup `MomentumUpdateHook` (configs call it `BYOLHook`): before each iteration
 * `m = end - (end - base)·(cos(π·k/K) + 1)/2`; after it, the target network's EMA update.
 */
export class MomentumUpdateHook extends Hook {
  readonly endMomentum: number;
  readonly updateInterval: number;

  constructor(
    readonly hookType: string,
    args: Record<string, unknown>,
  ) {
    super();
    checkArgs(hookType, args, ['end_momentum', 'update_interval']);
    this.endMomentum = (args.end_momentum as number) ?? 1;
    this.updateInterval = (args.update_interval as number) ?? 1;
  }

  override beforeTrainIter(runner: BaseRunner): void {
    const model = momentumModel(runner, this.hookType);
    if (this.everyNIters(runner, this.updateInterval)) {
      model.momentum = this.endMomentum - ((this.endMomentum - model.baseMomentum) * (Math.cos((Math.PI * runner.iter) / runner.maxIters) + 1)) / 2;
    }
  }

  override afterTrainIter(runner: BaseRunner): void {
    if (this.everyNIters(runner, this.updateInterval)) momentumModel(runner, this.hookType).momentumUpdate();
  }
}

/**
 * MMSelfSup `SimSiamHook`: keeps the learning rate of param groups marked `fix_lr` (the predictor,
 * via `paramwise_options`) at `lr`, per epoch (or per iteration when `adjust_by_epoch` is false).
 */
export class SimSiamHook extends Hook {
  readonly hookType = 'SimSiamHook';
  readonly fixPredLr: boolean;
  readonly lr: number;
  readonly adjustByEpoch: boolean;

  constructor(args: Record<string, unknown>) {
    super();
    checkArgs('SimSiamHook', args, ['fix_pred_lr', 'lr', 'adjust_by_epoch']);
    if (typeof args.lr !== 'number') throw new ConfigError('SimSiamHook needs a numeric "lr"');
    this.fixPredLr = Boolean(args.fix_pred_lr);
    this.lr = args.lr;
    this.adjustByEpoch = (args.adjust_by_epoch as boolean) ?? true;
  }

  private fix(runner: BaseRunner): void {
    if (!this.fixPredLr) return;
    for (const g of runner.optimizer.paramGroups) if (g.fix_lr) g.lr = this.lr;
  }

  override beforeTrainIter(runner: BaseRunner): void {
    if (!this.adjustByEpoch) this.fix(runner);
  }

  override beforeTrainEpoch(runner: BaseRunner): void {
    this.fix(runner);
  }
}

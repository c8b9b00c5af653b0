import { ConfigError, RegistryError } from '../../errors.js';
import { checkArgs, Registry } from '../../registry/index.js';
import type { BaseRunner } from '../base-runner.js';
import type { Hook } from '../hook.js';
import { CheckpointHook } from './checkpoint-hook.js';
import { DenseCLHook } from './densecl-hook.js';
import { InterCLRHook } from './interclr-hook.js';
import { IterTimerHook } from './iter-timer-hook.js';
import { buildLrUpdaterHook } from './lr-updater-hook.js';
import { buildMomentumUpdaterHook } from './momentum-updater-hook.js';
import { MomentumUpdateHook, SimSiamHook } from './momentum-update-hook.js';
import { OptimizerHook } from './optimizer-hook.js';
import { SwAVHook } from './swav-hook.js';
import { deepClusterHookEntry } from './deepcluster-hook.js';
import { odcHookEntry } from './odc-hook.js';
import { TensorboardLoggerHook } from './tensorboard-logger-hook.js';
import { TextLoggerHook } from './text-logger-hook.js';

type Cfg = Record<string, unknown>;

/** Hooks that configs name in `custom_hooks` and `log_config.hooks`, by MMSelfSup/mmcv type name. */
export const HOOKS = new Registry<Hook>('hook');
HOOKS.register('BYOLHook', (a) => new MomentumUpdateHook('BYOLHook', a));
HOOKS.register('MomentumUpdateHook', (a) => new MomentumUpdateHook('MomentumUpdateHook', a));
HOOKS.register('SimSiamHook', (a) => new SimSiamHook(a));
HOOKS.register('SwAVHook', (a) => new SwAVHook(a));
HOOKS.register('DenseCLHook', (a) => new DenseCLHook(a));
HOOKS.add(deepClusterHookEntry);
HOOKS.add(odcHookEntry);
HOOKS.register('InterCLRHook', (a) => new InterCLRHook(a));
HOOKS.register('TextLoggerHook', (a) => new TextLoggerHook(a));
HOOKS.register('TensorboardLoggerHook', (a) => new TensorboardLoggerHook(a));
HOOKS.register('IterTimerHook', () => new IterTimerHook());
HOOKS.register('CheckpointHook', (a) => new CheckpointHook(a));

export interface TrainingHookConfig {
  lr_config?: Cfg | null;
  momentum_config?: Cfg | null;
  optimizer_config?: Cfg | null;
  checkpoint_config?: Cfg | null;
  log_config?: Cfg | null;
  custom_hooks?: Cfg[] | null;
}

function withSource<T>(what: string, source: string | undefined, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if ((e instanceof RegistryError || e instanceof ConfigError) && source && !e.message.includes(source)) {
      const Cls = e instanceof RegistryError ? RegistryError : ConfigError;
      throw new Cls(`${e.message} (in ${what} of ${source})`, { code: e.code, suggestions: e.suggestions });
    }
    throw e;
  }
}

/**
 * mmcv `register_training_hooks` + custom hooks: lr (VERY_HIGH), momentum (HIGH), optimizer
 * (ABOVE_NORMAL), checkpoint (NORMAL), timer (LOW), custom hooks (their priority, default NORMAL),
 * loggers (VERY_LOW). Iteration-based runners default every hook to `by_epoch: false`.
 */
export function registerTrainingHooks(runner: BaseRunner, cfg: TrainingHookConfig, source?: string): void {
  const iterBased = !runner.byEpoch;
  const byEpochDefault = <T extends Cfg>(c: T): T => (iterBased && c.by_epoch === undefined ? { ...c, by_epoch: false } : c);
  if (cfg.lr_config) runner.registerHook(withSource('lr_config', source, () => buildLrUpdaterHook(byEpochDefault(cfg.lr_config as Cfg))));
  if (cfg.momentum_config) runner.registerHook(withSource('momentum_config', source, () => buildMomentumUpdaterHook(byEpochDefault(cfg.momentum_config as Cfg))));
  runner.registerHook(withSource('optimizer_config', source, () => new OptimizerHook((cfg.optimizer_config as Cfg) ?? {}, runner.worldSize > 1)));
  if (cfg.checkpoint_config) runner.registerHook(withSource('checkpoint_config', source, () => new CheckpointHook(byEpochDefault(cfg.checkpoint_config as Cfg))));
  runner.registerHook(new IterTimerHook());
  for (const [i, h] of (cfg.custom_hooks ?? []).entries()) {
    const { priority, ...rest } = h;
    const hook = withSource(`custom_hooks[${i}]`, source, () => HOOKS.build(rest));
    runner.registerHook(hook, (priority as number | string | undefined) ?? 'NORMAL');
  }
  if (cfg.log_config) {
    const { interval, hooks, ...extra } = cfg.log_config as { interval?: number; hooks?: Cfg[] } & Cfg;
    withSource('log_config', source, () => checkArgs('log_config', extra, ['interval', 'hooks']));
    for (const [i, h] of (hooks ?? []).entries()) {
      const hook = withSource(`log_config.hooks[${i}]`, source, () => HOOKS.build(byEpochDefault({ interval: interval ?? 10, ...h })));
      runner.registerHook(hook, 'VERY_LOW');
    }
  }
}

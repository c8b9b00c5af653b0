/**
 * A `custom_imports` module: `ssl train` imports it before it builds anything and calls
 * `register(registries, api)`. `registries` holds MMSelfSup's registries by category (algorithms,
 * backbones, necks, heads, hooks, optimizers, pipelines, datasets, data_sources); `api` the base
 * classes a component extends (Hook, Module, tf, checkArgs).
 */
export function register(registries, { Hook, checkArgs }) {
  class EpochBannerHook extends Hook {
    hookType = 'EpochBannerHook';

    constructor(args) {
      super();
      checkArgs('EpochBannerHook', args, ['text']); // unknown arguments fail loudly, as ssl's own components do
      this.text = args.text ?? 'epoch done';
    }

    afterTrainEpoch(runner) {
      runner.logger.info(`${this.text}: epoch ${runner.epoch + 1} of ${runner.maxEpochs}, iteration ${runner.iter}`);
    }
  }
  registries.hooks.register('EpochBannerHook', (args) => new EpochBannerHook(args));
}

import { Args, Flags } from '@oclif/core';
import { SslCommand } from '../../cli/ssl-command.js';

export default class ModelImport extends SslCommand {
  static override description = [
    'Convert a PyTorch .pth (an MMSelfSup/mmcv checkpoint, a bare state dict, a torchvision ResNet or timm ViT state dict) into an ssl weights file.',
    'The file is read without running anything from it (only what torch.load(weights_only=True) accepts). Keys: module. is stripped, timm ViT names',
    'become MMSelfSup\'s, a tensor saved under two names is kept once; the optimizer is dropped. With --config every backbone tensor of that model',
    'must be in the file and have its shape.',
  ].join(' ');

  static override examples = [
    '<%= config.bin %> <%= command.id %> mocov2_resnet50_8xb32-coslr-200e_in1k.pth -o moco_r50.ckpt',
    '<%= config.bin %> <%= command.id %> resnet50-torchvision.pth -o r50.ckpt --config configs/selfsup/simclr/simclr_resnet50_8xb32-coslr-200e_in1k.yaml',
    '<%= config.bin %> <%= command.id %> vit-base-p16_timm.pth -o vit.ckpt   # timm names -> MMSelfSup names',
  ];

  static override args = {
    file: Args.string({ description: 'PyTorch file (local path or s3://bucket/key)', required: true }),
  };

  static override flags = {
    out: Flags.string({ char: 'o', description: 'Output weights file (.ckpt/.safetensors: ssl; .pth: a normalised PyTorch file)', required: true }),
    format: Flags.string({ description: 'Output format (default: by the extension of --out)', options: ['pth', 'safetensors'] }),
    config: Flags.string({ description: 'Check the weights against this config\'s model (every backbone tensor present, shapes equal) before writing' }),
    'cfg-options': Flags.string({ description: 'Override settings of --config: key=value (repeatable)', multiple: true }),
    's3-endpoint': Flags.string({ description: 'S3 endpoint for MinIO/Ceph, path-style (env AWS_ENDPOINT_URL_S3)', env: 'AWS_ENDPOINT_URL_S3' }),
    region: Flags.string({ description: 'S3 region (env AWS_REGION)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ModelImport);
    if (flags.config) {
      const { checkWeightsFitConfig } = await import('../../runner/import-check.js');
      const r = await checkWeightsFitConfig(args.file, flags.config, flags['cfg-options'] ?? [], (m) => this.logToStderr(`Warning: ${m}`));
      this.logToStderr(`${args.file} fits ${flags.config}: ${r.loaded} tensors${r.addedPrefix ? ' (a backbone: into backbone.)' : ''}`);
    }
    const { importTorchWeights } = await import('../../storage/model-files.js');
    const r = await importTorchWeights(args.file, flags.out, { endpoint: flags['s3-endpoint'], region: flags.region, format: flags.format });
    const m = r.meta as { epoch?: number; iter?: number };
    const conv = r.conventions.length > 0 ? `; ${r.conventions.join(', ')}` : '';
    this.log(`${r.path} (${r.tensors} tensor(s)${m.iter ? `, epoch ${m.epoch}, iter ${m.iter}` : ''}${conv})`);
  }
}

import { Args, Flags } from '@oclif/core';
import { SslCommand } from '../../cli/ssl-command.js';

export default class ModelPublish extends SslCommand {
  static override description =
    'Prepare a checkpoint (ssl or PyTorch .pth) for release: keep the weights, drop optimizer state, append the first 8 hex digits of its SHA-256 to the name (OUT-<hash8>.ckpt or .pth)';

  static override examples = [
    '<%= config.bin %> <%= command.id %> work_dirs/simclr/epoch_200.ckpt simclr_resnet50_200e.ckpt',
    '<%= config.bin %> <%= command.id %> s3://ckpts/runs/simclr/epoch_200.ckpt s3://models/simclr_resnet50_200e.ckpt',
    '<%= config.bin %> <%= command.id %> work_dirs/simclr/epoch_200.ckpt simclr_resnet50_200e.pth   # PyTorch format: {meta, state_dict}',
    '<%= config.bin %> <%= command.id %> mmselfsup_moco_epoch_200.pth moco_r50.ckpt --format safetensors',
  ];

  static override args = {
    in: Args.string({ description: 'Checkpoint to publish (local path or s3://bucket/key)', required: true }),
    out: Args.string({ description: 'Output name before the hash is appended (local path or s3://bucket/key)', required: true }),
  };

  static override flags = {
    's3-endpoint': Flags.string({ description: 'S3 endpoint for MinIO/Ceph, path-style (env AWS_ENDPOINT_URL_S3)', env: 'AWS_ENDPOINT_URL_S3' }),
    region: Flags.string({ description: 'S3 region (env AWS_REGION)' }),
    format: Flags.string({ description: "Output format: pth (PyTorch's torch.save zip; torch.load(weights_only=True) reads it) or safetensors (ssl's own). Default: pth for OUT ending .pth/.pt, else safetensors", options: ['pth', 'safetensors'] }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ModelPublish);
    const { publishModel } = await import('../../storage/model-files.js');
    const r = await publishModel(args.in, args.out, { endpoint: flags['s3-endpoint'], region: flags.region, format: flags.format });
    this.log(`${r.path} (sha256 ${r.sha256}; ${r.dropped} optimizer tensor(s) dropped)`);
  }
}

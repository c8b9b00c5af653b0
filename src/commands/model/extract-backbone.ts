import { Args, Flags } from '@oclif/core';
import { SslCommand } from '../../cli/ssl-command.js';

export default class ModelExtractBackbone extends SslCommand {
  static override description =
    "Extract the backbone weights of a checkpoint (ssl or PyTorch .pth; state_dict 'backbone.*' with the prefix stripped) for downstream tasks, as safetensors or as a PyTorch .pth";

  static override examples = [
    '<%= config.bin %> <%= command.id %> work_dirs/simclr/epoch_200.ckpt simclr_backbone.ckpt',
    '<%= config.bin %> <%= command.id %> s3://ckpts/runs/simclr/epoch_200.ckpt s3://models/simclr_backbone.ckpt',
    "<%= config.bin %> <%= command.id %> work_dirs/simclr/epoch_200.ckpt simclr_r50_backbone.pth   # {'state_dict': ...} for mmdetection/mmsegmentation init_cfg Pretrained",
  ];

  static override args = {
    checkpoint: Args.string({ description: 'Checkpoint (local path or s3://bucket/key)', required: true }),
    out: Args.string({ description: 'Output file (local path or s3://bucket/key)', required: true }),
  };

  static override flags = {
    's3-endpoint': Flags.string({ description: 'S3 endpoint for MinIO/Ceph, path-style (env AWS_ENDPOINT_URL_S3)', env: 'AWS_ENDPOINT_URL_S3' }),
    region: Flags.string({ description: 'S3 region (env AWS_REGION)' }),
    format: Flags.string({ description: "Output format: pth (PyTorch's torch.save zip; torch.load(weights_only=True) reads it) or safetensors (ssl's own). Default: pth for OUT ending .pth/.pt, else safetensors", options: ['pth', 'safetensors'] }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ModelExtractBackbone);
    const { extractBackbone } = await import('../../storage/model-files.js');
    const r = await extractBackbone(args.checkpoint, args.out, { endpoint: flags['s3-endpoint'], region: flags.region, format: flags.format });
    this.log(`${r.path} (${r.tensors} backbone tensor(s))`);
  }
}

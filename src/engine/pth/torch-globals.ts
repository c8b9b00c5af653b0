/**
 * The globals a PyTorch weights file may name: what `torch.load(weights_only=True)` accepts for
 * state dicts and checkpoints (torch/_weights_only_unpickler.py): `collections.OrderedDict`,
 * the tensor/parameter rebuild functions, typed storage classes, `torch.Size`, `torch.device` and
 * `_codecs.encode` (protocol-2 bytes). Each maps to a JavaScript function that builds a plain value;
 * everything else is refused by the unpickler.
 */
import { SslError } from '../../errors.js';
import type { SafetensorsDtype } from '../safetensors.js';
import { PyDict, type Buildable, type PyCallable, type PyValue } from './unpickler.js';

/** Element type and size of each storage class torch.save writes. */
export const STORAGE_DTYPES: Record<string, { dtype: SafetensorsDtype; bytes: number }> = {
  FloatStorage: { dtype: 'F32', bytes: 4 },
  HalfStorage: { dtype: 'F16', bytes: 2 },
  BFloat16Storage: { dtype: 'BF16', bytes: 2 },
  DoubleStorage: { dtype: 'F64', bytes: 8 },
  LongStorage: { dtype: 'I64', bytes: 8 },
  IntStorage: { dtype: 'I32', bytes: 4 },
  ShortStorage: { dtype: 'I16', bytes: 2 },
  CharStorage: { dtype: 'I8', bytes: 1 },
  ByteStorage: { dtype: 'U8', bytes: 1 },
  BoolStorage: { dtype: 'BOOL', bytes: 1 },
};

/** A storage class named in a persistent id (`torch.FloatStorage`). */
export class StorageType implements PyCallable {
  constructor(readonly qualname: string, readonly dtype: SafetensorsDtype, readonly itemBytes: number) {}
  call(): never {
    throw new SslError(`pickle: ${this.qualname} may only appear in a storage reference`, { code: 'UNSAFE_PICKLE' });
  }
}

/** A storage of the file (`archive/data/<key>`), its element type and claimed element count. */
export interface StorageRef {
  key: string;
  type: StorageType;
  numel: number;
}

/** A tensor as the pickle describes it: a strided view of a storage (checked and copied later). */
export class TensorRef implements Buildable {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
  build(): void {
    // a Parameter's or tensor's Python attributes (`__dict__`) carry nothing ssl uses
  }
}

const fn = (qualname: string, call: (args: PyValue[]) => PyValue): PyCallable => ({ qualname, call });

function ints(v: PyValue, what: string): number[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < 0)) {
    throw new SslError(`pickle: tensor ${what} must be a tuple of non-negative integers`, { code: 'CORRUPT_CHECKPOINT' });
  }
  return v as number[];
}

function rebuildTensor(args: PyValue[]): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!storage || typeof storage !== 'object' || !('key' in (storage as object))) {
    throw new SslError('pickle: _rebuild_tensor_v2 without a storage', { code: 'CORRUPT_CHECKPOINT' });
  }
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) throw new SslError('pickle: bad storage offset', { code: 'CORRUPT_CHECKPOINT' });
  const shape = ints(size, 'size');
  const strides = ints(stride, 'stride');
  if (strides.length !== shape.length) throw new SslError(`pickle: tensor of size [${shape}] has stride [${strides}]`, { code: 'CORRUPT_CHECKPOINT' });
  return new TensorRef(storage as StorageRef, offset, shape, strides);
}

function rebuildParameter(args: PyValue[]): PyValue {
  if (!(args[0] instanceof TensorRef)) throw new SslError('pickle: _rebuild_parameter of something that is not a tensor', { code: 'CORRUPT_CHECKPOINT' });
  return args[0];
}

const ALLOWED = new Map<string, PyCallable>([
  ['collections.OrderedDict', fn('collections.OrderedDict', (args) => {
    const d = new PyDict();
    for (const pair of (args[0] as PyValue[] | undefined) ?? []) if (Array.isArray(pair) && pair.length === 2) d.set(pair[0], pair[1]);
    return d;
  })],
  ['torch._utils._rebuild_tensor_v2', fn('torch._utils._rebuild_tensor_v2', rebuildTensor)],
  ['torch._utils._rebuild_parameter', fn('torch._utils._rebuild_parameter', rebuildParameter)],
  ['torch._utils._rebuild_parameter_with_state', fn('torch._utils._rebuild_parameter_with_state', rebuildParameter)],
  ['torch._tensor._rebuild_from_type_v2', fn('torch._tensor._rebuild_from_type_v2', (args) => {
    const [inner, type, innerArgs] = args as [PyCallable, PyCallable, PyValue[]];
    if (type?.qualname !== 'torch.Tensor' && type?.qualname !== 'torch.nn.parameter.Parameter') {
      throw new SslError(`pickle: refusing to rebuild a tensor as ${type?.qualname ?? 'an unknown type'}`, { code: 'UNSAFE_PICKLE' });
    }
    return inner.call(innerArgs);
  })],
  ['torch.Tensor', fn('torch.Tensor', () => { throw new SslError('pickle: torch.Tensor() is not callable here', { code: 'UNSAFE_PICKLE' }); })],
  ['torch.nn.parameter.Parameter', fn('torch.nn.parameter.Parameter', (args) => rebuildParameter(args))],
  ['torch.Size', fn('torch.Size', (args) => [...((args[0] as PyValue[] | undefined) ?? [])])],
  ['torch.device', fn('torch.device', (args) => args.join(':'))],
  ['_codecs.encode', fn('_codecs.encode', (args) => Uint8Array.from(Buffer.from(String(args[0]), 'latin1')))],
  ...Object.entries(STORAGE_DTYPES).map(([n, d]): [string, PyCallable] => [`torch.${n}`, new StorageType(`torch.${n}`, d.dtype, d.bytes)]),
]);

/** The allowlist lookup the unpickler uses. */
export function torchGlobal(module: string, name: string): PyCallable | undefined {
  return ALLOWED.get(`${module}.${name}`);
}

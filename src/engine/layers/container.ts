import { Module } from '../module.js';

/** torch.nn.Sequential: children named '0', '1', ... applied in order. */
export class Sequential extends Module {
  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => this.registerModule(String(i), m));
  }

  get length(): number {
    return this.namedChildren().length;
  }

  at(i: number): Module {
    return this.namedChildren()[i][1];
  }

  forward(x: unknown): unknown {
    let y = x;
    for (const [, m] of this.namedChildren()) y = (m.forward as (a: unknown) => unknown).call(m, y);
    return y;
  }
}

/** torch.nn.ModuleList: an indexable list of children named '0', '1', ...; no forward of its own. */
export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];

  constructor(modules: M[] = []) {
    super();
    for (const m of modules) this.push(m);
  }

  push(m: M): void {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
  }

  get length(): number {
    return this.items.length;
  }

  at(i: number): M {
    return this.items[i];
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }

  forward(): never {
    throw new Error('ModuleList has no forward; iterate over its modules');
  }
}

/** torch.nn.Identity. */
export class Identity extends Module {
  forward<T>(x: T): T {
    return x;
  }
}

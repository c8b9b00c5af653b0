import { SslError } from '../../errors.js';

/** A peer died, hung or broke its link: the job cannot continue. `deadRank` is -1 when no rank is to blame (timeout). */
export class PeerFailureError extends SslError {
  readonly deadRank: number;

  constructor(deadRank: number, message: string) {
    super(message, { code: 'DIST_PEER_FAILURE', exitCode: 1 });
    this.deadRank = deadRank;
  }
}

/** Rendezvous could not complete (port in use, timeout, mismatched world size). */
export class RendezvousError extends SslError {
  constructor(message: string, options: { suggestions?: string[] } = {}) {
    super(message, { code: 'DIST_RENDEZVOUS', ...options });
  }
}

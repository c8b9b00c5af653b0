/**
 * The raw tfjs-core instance with the cpu and wasm backends registered. Import `tf` from
 * `./tf.js` instead: that module also installs the gradients. (Engine-internal.)
 */
import * as tfCore from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

export const tf = tfCore;

export { readyStore } from '../../src/stores/kit/store-lifecycle.js';

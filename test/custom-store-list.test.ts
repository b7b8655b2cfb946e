import { describe, it } from 'node:test';
import { describeTokenStore } from 'zoho-token-store/testing';
import { CustomStoreList } from '../examples/custom-store-list.js';

describeTokenStore({ describe, it }, { name: 'examples/custom-store-list', create: () => new CustomStoreList() });

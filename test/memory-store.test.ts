import { describe, it } from 'node:test';
import { MemoryStore } from 'zoho-token-store';
import { describeTokenStore } from 'zoho-token-store/testing';

describeTokenStore({ describe, it }, { name: 'MemoryStore', create: () => new MemoryStore() });

import { versionRouter } from '../v1/index.ts';
import { listOrdersV2 } from './orders.ts';

/** v2 reuses every v1 procedure definition as it is; only orders.list differs (keyset paging). */
export const v2Router = versionRouter('v2', listOrdersV2);

// A worker thread does not inherit tsx's module hooks (privatenumber/tsx#354): load the
// TypeScript worker through tsx's API.
import { tsImport } from 'tsx/esm/api';

await tsImport('./worker.ts', import.meta.url);

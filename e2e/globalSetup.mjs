// jest's global setup cannot load the TypeScript sources itself: tsx's loader does.
import { register } from 'tsx/esm/api';

register();
const { setup } = await import('./redisClusterSetup.ts');
export default setup;

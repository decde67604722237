import { register } from 'tsx/esm/api';

register();
const { teardown } = await import('./redisClusterSetup.ts');
export default teardown;

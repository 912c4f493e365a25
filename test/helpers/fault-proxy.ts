/**
 * The fault-injecting relay (scripts/fault-proxy-lib.mjs) for tests: cut,
 * reset, stall, delay or drop the traffic between the client and Samba.
 * Tests close it in their teardown; every wait on it is bounded by the test.
 */
export { startFaultProxy, type FaultProxy, type FaultDirection } from '../../scripts/fault-proxy-lib.mjs';

import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

/** Linux's PM QoS device: the request holds while the file stays open. */
const CPU_DMA_LATENCY = '/dev/cpu_dma_latency';
/** The driver that picks an idle state; only through it does the latency request take effect. */
const CPUIDLE_DRIVER = '/sys/devices/system/cpu/cpuidle/current_driver';

export interface CpuLatencyHold {
  /** Whether idle CPUs poll for the run: the request is held and a cpuidle driver honours it. */
  polling: boolean;
  /** The kernel's cpuidle driver; `none` where it has none, and then idle CPUs halt whatever is requested. */
  idleDriver: string;
  release(): void;
}

/**
 * Keeps idle CPUs polling instead of sleeping for as long as the run holds it, as tuned's
 * latency-performance profile does (a zero `cpu_dma_latency` request).
 *
 * Why the bench wants it: the load generator runs on the machine's other core, and between
 * responses it sleeps. Each response the server writes then has to wake that core, and on a
 * virtual machine a sleeping virtual CPU is woken through the hypervisor, paid by the sender:
 * measured at 15–20 µs of the server's CPU per response, half of a `system.ping` call's own
 * cost. It is charged most to the slowest servers (the faster the server, the less often the
 * load generator is asleep when its answer arrives), so it skews every ratio to bare node http.
 * A server answering remote clients never pays it. With the CPUs polling, the wake-up is a
 * flag the idle core sees at once.
 *
 * The request works through the kernel's cpuidle driver: on a kernel without one, idle CPUs
 * halt whatever is asked, the wake-up stays in the figures, and nothing is held.
 *
 * `BENCH_CPU_LATENCY=default` leaves the machine as it is, to compare.
 */
export function holdCpusAwake(): CpuLatencyHold {
  const idleDriver = readIdleDriver();
  const notHeld = { polling: false, idleDriver, release: () => {} };
  if (process.env.BENCH_CPU_LATENCY === 'default' || idleDriver === 'none') return notHeld;
  let fd: number;
  try {
    fd = openSync(CPU_DMA_LATENCY, 'w');
    const zeroMicroseconds = Buffer.alloc(4);
    writeSync(fd, zeroMicroseconds);
  } catch {
    return notHeld;
  }
  return { polling: true, idleDriver, release: () => closeSync(fd) };
}

function readIdleDriver(): string {
  try {
    return readFileSync(CPUIDLE_DRIVER, 'utf8').trim();
  } catch {
    return 'none';
  }
}

/**
 * A deadline that does not count the broker's own event-loop lag against the store.
 *
 * A plain `setTimeout` rejects in the timers phase, which Node runs before the poll phase that reads sockets. When
 * the loop was busy (a burst of signature checks, GC, the host descheduling the process) for longer than the
 * timeout, the timer fires first and the command "times out" although Redis's reply has been waiting in the socket
 * buffer all along — a healthy store answered 503. So when the timer fires, the verdict waits for `setImmediate`:
 * the check phase runs after this iteration's poll, by which time every reply that had arrived is parsed and its
 * promise settled. Only an operation still unanswered then has really missed its deadline.
 */
export class DeadlineExceeded extends Error {
  override name = "DeadlineExceeded";
}

export function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (settled) return;
        settled = true;
        reject(new DeadlineExceeded(`no reply within ${ms} ms`));
      });
    }, ms);
    work.then(
      (v) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** Cycles of a directed graph whose nodes are numbers. Iterative throughout: lock chains can be long. */

export type Successors = (node: number) => readonly number[];

/** Tarjan's strongly connected components of the graph reachable from `nodes`. */
export function stronglyConnectedComponents(nodes: Iterable<number>, successors: Successors): number[][] {
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const stack: number[] = [];
  const onStack = new Set<number>();
  const components: number[][] = [];
  const visit = (node: number): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
  };
  for (const root of nodes) {
    if (index.has(root)) continue;
    visit(root);
    const work = [{ node: root, next: 0 }];
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const out = successors(frame.node);
      if (frame.next < out.length) {
        const w = out[frame.next++];
        if (!index.has(w)) {
          visit(w);
          work.push({ node: w, next: 0 });
        } else if (onStack.has(w)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}

/**
 * The elementary cycles (no node twice) of a graph without self-loops, by Johnson's algorithm:
 * within each strongly connected component, the cycles through its smallest node, then the same
 * for the component without that node. Stops after `cap` cycles. Each cycle is its nodes in
 * order; the edge from the last back to the first closes it.
 */
export function elementaryCycles(graph: Map<number, readonly number[]>, cap: number): { cycles: number[][]; capped: boolean } {
  const cycles: number[][] = [];
  const cyclic = (component: number[]): boolean => component.length > 1;
  const pending = stronglyConnectedComponents(graph.keys(), (n) => graph.get(n) ?? []).filter(cyclic);
  while (pending.length > 0) {
    const within = new Set(pending.pop()!);
    const successors: Successors = (n) => (graph.get(n) ?? []).filter((w) => within.has(w));
    let start = Infinity;
    for (const n of within) start = Math.min(start, n);
    for (const cycle of cyclesThrough(start, successors)) {
      if (cycles.length === cap) return { cycles, capped: true };
      cycles.push(cycle);
    }
    within.delete(start);
    pending.push(...stronglyConnectedComponents(within, successors).filter(cyclic));
  }
  return { cycles, capped: false };
}

/** Johnson's circuit search: the elementary cycles through `start`. */
function* cyclesThrough(start: number, successors: Successors): Generator<number[]> {
  const path = [start];
  const blocked = new Set([start]);
  const closed = new Set<number>(); // nodes on a path that reached start: unblock them when left
  const blockedBy = new Map<number, Set<number>>(); // unblocking a node unblocks these
  const stack = [{ node: start, rest: [...successors(start)] }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.rest.length > 0) {
      const w = top.rest.pop()!;
      if (w === start) {
        yield [...path];
        for (const n of path) closed.add(n);
      } else if (!blocked.has(w)) {
        path.push(w);
        stack.push({ node: w, rest: [...successors(w)] });
        closed.delete(w);
        blocked.add(w);
        continue;
      }
    }
    if (top.rest.length === 0) {
      if (closed.has(top.node)) unblock(top.node, blocked, blockedBy);
      else {
        for (const w of successors(top.node)) {
          let waiting = blockedBy.get(w);
          if (!waiting) blockedBy.set(w, (waiting = new Set()));
          waiting.add(top.node);
        }
      }
      stack.pop();
      path.pop();
    }
  }
}

function unblock(node: number, blocked: Set<number>, blockedBy: Map<number, Set<number>>): void {
  const work = [node];
  while (work.length > 0) {
    const n = work.pop()!;
    if (!blocked.delete(n)) continue;
    const waiting = blockedBy.get(n);
    if (waiting) {
      work.push(...waiting);
      waiting.clear();
    }
  }
}

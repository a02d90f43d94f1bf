// Esc closes the topmost open layer (a dialog above a panel above the page). Each layer
// registers its close function while open.
const stack: (() => void)[] = [];

/** Registers `close`; returns the function that unregisters it. */
export function pushLayer(close: () => void): () => void {
  stack.push(close);
  return () => {
    const i = stack.lastIndexOf(close);
    if (i !== -1) stack.splice(i, 1);
  };
}

/** Closes the topmost layer; false when none is open. */
export function closeTopLayer(): boolean {
  const top = stack[stack.length - 1];
  if (!top) return false;
  top();
  return true;
}

export function layerCount(): number {
  return stack.length;
}

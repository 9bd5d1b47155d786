// Every WIT value type, echoed back (see kitchen.wit).
export const types = {
  ints: (a, b, c, d, e, f, g, h) => [a, b, c, d, e, f, g, h],
  scalars: (a, b, c, d, e) => [a, b, c, d, e],
  shapes: (p, s, c, f) => [p, s, c, f],
  options: (a, b, c, d) => [a, b, c, d],
  results: (a, b, c) => [a, b, c],
  half(n) {
    if (n % 2 === 1) throw `${n} is odd`;
    return n / 2;
  },
  origin: () => ({ x: 0, y: 0 }),
  noop() {},
};
export function add(a, b) {
  return a + b;
}

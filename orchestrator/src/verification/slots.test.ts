import { Slots } from './slots.js';

describe('Slots', () => {
  it('lets max holders in, lines up maxWaiting more in order, and refuses the rest at once', async () => {
    const slots = new Slots(2, 2);
    expect(await slots.take()).toBe(true);
    expect(await slots.take()).toBe(true);
    const order: number[] = [];
    const third = slots.take().then((ok) => order.push(3) && ok);
    const fourth = slots.take().then((ok) => order.push(4) && ok);
    expect(await slots.take()).toBe(false); // line full
    expect(slots.busy).toEqual({ held: 2, waiting: 2 });
    slots.release();
    expect(await third).toBe(true);
    expect(slots.busy).toEqual({ held: 2, waiting: 1 });
    // a newcomer does not overtake the line: the released slot goes to the fourth
    const late = slots.take();
    slots.release();
    expect(await fourth).toBe(true);
    expect(order).toEqual([3, 4]);
    slots.release();
    expect(await late).toBe(true);
    slots.release();
    slots.release();
    expect(slots.busy).toEqual({ held: 0, waiting: 0 });
  });
});

/** The memory budget counts each container's connections together, against a share of the whole. */
import { describe, expect, test } from "bun:test";
import { type BudgetHolder, MemoryBudget } from "./memory-budget.ts";

/** A connection as the budget sees it, holding `bytes`, last progress at `progressAt`. */
function holder(bytes: number, progressAt: number): BudgetHolder & { shed: boolean } {
  return {
    heldBytes: bytes,
    progressAt,
    pausedByAppliance: false,
    shed: false,
    shedForMemory() {
      this.shed = true;
    },
  };
}

describe("a container's share", () => {
  test("is half the budget unless set, and never more than the budget", () => {
    expect(new MemoryBudget(100).containerLimit).toBe(50);
    expect(new MemoryBudget(100, 30).containerLimit).toBe(30);
    expect(new MemoryBudget(100, 300).containerLimit).toBe(100);
  });

  test("a container past its share may hold no more; another container still may", () => {
    const budget = new MemoryBudget(100);
    const a = budget.share("a");
    const b = budget.share("b");
    a.add(51);
    expect([a.over, b.over, budget.over]).toEqual([true, false, false]);
    expect(a.shortage()).toContain("its container holds 1 MiB");
    b.add(50);
    expect([a.over, b.over, budget.over]).toEqual([true, true, true]);
    expect(b.shortage()).toContain("held for clients, budget");
  });

  test("its bytes count in the whole budget, and a share nobody holds is forgotten", () => {
    const budget = new MemoryBudget(100);
    const a1 = budget.share("a");
    const a2 = budget.share("a");
    expect(a2).toBe(a1);
    a1.add(10);
    a2.add(5);
    expect(budget.used).toBe(15);
    expect(budget.byContainer()).toEqual(new Map([["a", 15]]));
    a1.release();
    a2.release();
    // a request still being hashed after both connections closed keeps it counted
    expect(budget.byContainer()).toEqual(new Map([["a", 15]]));
    a1.add(-15);
    expect(budget.used).toBe(0);
    expect(budget.byContainer()).toEqual(new Map());
    expect(budget.share("a")).not.toBe(a1);
  });

  test("shedding a container over its share takes its own stalled connections, largest first", () => {
    const budget = new MemoryBudget(100);
    const a = budget.share("a");
    const b = budget.share("b");
    const now = 10_000;
    const small = holder(10, 0);
    const large = holder(50, 0);
    const moving = holder(60, now);
    const other = holder(40, 0);
    for (const h of [small, large, moving]) a.watch(h, true);
    b.watch(other, true);
    a.add(55);
    b.add(20);
    // shedding does not change what the holders count here; it asks the largest stalled one to close
    large.shedForMemory = function () {
      this.shed = true;
      a.add(-50);
    };
    expect(a.shed(now)).toBe(true);
    expect([large.shed, small.shed, moving.shed, other.shed]).toEqual([true, false, false, false]);
  });

  test("when the whole budget is spent, a container past its share pays first, down to its share", () => {
    const budget = new MemoryBudget(100);
    const over = budget.share("over");
    const within = budget.share("within");
    const now = 10_000;
    const mine = [holder(20, 0), holder(20, 0), holder(20, 0)];
    const theirs = holder(40, 0); // the largest of all, but its container is within its share
    for (const h of mine) {
      over.watch(h, true);
      h.shedForMemory = function () {
        this.shed = true;
        over.add(-20);
      };
    }
    within.watch(theirs, true);
    over.add(60);
    within.add(41);
    expect(budget.over).toBe(true);
    expect(budget.shed(now)).toBe(true);
    // one of its connections brought it to 40 of its 50, and the budget to 81 of 100
    expect(mine.filter((h) => h.shed)).toHaveLength(1);
    expect(theirs.shed).toBe(false);
  });

  test("the sweep sheds a container past its share that asks for nothing, though the budget is not spent", () => {
    const budget = new MemoryBudget(100);
    const over = budget.share("over");
    const h = holder(60, 0);
    h.shedForMemory = function () {
      this.shed = true;
      over.add(-60);
    };
    over.watch(h, true);
    over.add(60);
    expect(budget.over).toBe(false);
    budget.sweep(10_000);
    expect(h.shed).toBe(true);
    expect(over.used).toBe(0);
  });
});

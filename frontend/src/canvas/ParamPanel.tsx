import Form from "@rjsf/core";
import { getDefaultFormState, type ErrorSchema, type RJSFSchema, type UiSchema } from "@rjsf/utils";
import validator from "@rjsf/validator-ajv8";
import { useProjectData } from "../data/projectContext";
import { importLookAlikes, importTextNumbers } from "../data/textNumbers";
import { ConnectionWidget } from "../data/ConnectionWidget";
import { UploadWidget } from "../data/UploadWidget";
import { NewerUpload } from "../data/NewerUpload";
import { UploadVersionWidget } from "../data/UploadVersionWidget";
import { withFollowedName } from "../data/versions";
import { useMemo, useRef, type ReactNode } from "react";
import { canonicalJson } from "../graph/serialize";
import type { GraphError, GraphNode, OperatorSpec } from "../graph/types";
import { CodeWidget } from "./CodeWidget";
import { formSchema, missingLabel } from "./form/formSchema";
import { formTemplates, type FormContext } from "./form/templates";
import { portColor } from "./ports";

const isParamRef = (v: unknown): v is { $param: string } =>
  typeof v === "object" && v !== null && !Array.isArray(v) && typeof (v as { $param?: unknown }).$param === "string";

interface Props {
  node: GraphNode;
  spec: OperatorSpec | undefined;
  errors: GraphError[];
  columns: string[] | undefined;
  onParams: (params: Record<string, unknown>) => void;
  onLabel: (label: string) => void;
  onDone: () => void;
  /** node actions shown under the title (Publish on a succeeded model node) */
  actions?: ReactNode;
  /** the node's error in the last run, in full (the node shows three lines of it) */
  runError?: string;
  /** what feeds each input port, to choose without dragging an edge */
  inputs?: ReactNode;
}

/**
 * The parameter form is generated from the operator's JSON Schema (react-jsonschema-form), never written per
 * operator. Values bound to a pipeline parameter ({"$param": name}) are shown, not edited, and kept as they are.
 */
export function ParamPanel({ node, spec, errors, columns, onParams, onLabel, onDone, actions, runError, inputs }: Props) {
  const bound = useMemo(
    () => Object.fromEntries(Object.entries(node.params).filter(([, v]) => isParamRef(v))) as Record<string, { $param: string }>,
    [node.params],
  );
  const schema = useMemo(() => (spec ? formSchema(spec.params_schema as RJSFSchema, bound, columns) : null), [spec, bound, columns]);
  const formContext = useMemo<FormContext>(() => ({ columns }), [columns]);
  const project = useProjectData();

  const uiSchema = useMemo(() => {
    const ui: UiSchema = { "ui:submitButtonOptions": { norender: true }, "ui:globalOptions": { orderable: false } };
    // A parameter declared with `"widget": "code"` is edited in the code field.
    for (const [name, prop] of Object.entries((spec?.params_schema.properties ?? {}) as Record<string, { widget?: string; default?: unknown }>)) {
      if (prop.widget === "code") ui[name] = { "ui:widget": CodeWidget };
      // A text field emptied holds "" (its default), not nothing: typing taken back then leaves the params as they
      // were, and the history drops the step instead of keeping one that an undo would take back invisibly.
      if (prop.default === "") ui[name] = { ...ui[name], "ui:emptyValue": "" };
    }
    return ui;
  }, [spec]);

  const extraErrors = useMemo(() => {
    const out: Record<string, { __errors: string[] }> = {};
    for (const e of errors) {
      if (!e.field || e.field === "operator" || e.field === "version" || e.field === "params") continue;
      const top = e.field.split(".")[0];
      const text = e.message.replace(/^node '[^']*': parameter '[^']*': /, "");
      out[top] = { __errors: [...(out[top]?.__errors ?? []), text] };
    }
    return out as ErrorSchema;
  }, [errors]);

  // The form library reports a change on mount when it fills in schema defaults; that is not a user action
  // (the backend applies the same defaults), so only changes after the user touched the form are recorded.
  // The mark names the node touched: a form mounting for another node (whose change comes before any effect of
  // this panel could reset a flag) is not taken for the user's edit of it.
  const touched = useRef<string | null>(null);
  const touch = () => {
    touched.current = node.id;
  };

  // A file import's upload is picked from the project's files by name, never typed as an id; a SQL import's
  // connection from the project's connections.
  const withUploads = useMemo<UiSchema>(() => {
    const props = schema?.properties ?? {};
    return {
      ...uiSchema,
      ...("upload" in props ? { upload: { "ui:widget": UploadWidget } } : {}),
      // "Which version": this upload, or the newest of its name; the name followed is kept, not edited
      ...("upload_version" in props ? { upload_version: { "ui:widget": UploadVersionWidget } } : {}),
      ...("upload_name" in props ? { upload_name: { "ui:widget": "hidden" } } : {}),
      ...(spec?.name === "import_sql" && "connection" in props ? { connection: { "ui:widget": ConnectionWidget } } : {}),
    };
  }, [schema, uiSchema, spec?.name]);

  const formData = useMemo(
    () => Object.fromEntries(Object.entries(node.params).filter(([k]) => !(k in bound))),
    [node.params, bound],
  );

  // The form also reports a "change" when new params arrive from outside (an undo) and it fills in their defaults:
  // recorded, that was a step of its own, which dropped the redo the undo had just made possible.
  const filled = useMemo(
    () => (schema ? canonicalJson(getDefaultFormState(validator, schema, formData)) : ""),
    [schema, formData],
  );

  const labelProblem = missingLabel(spec?.params_schema as RJSFSchema | undefined, node.params, columns);
  const fileWarnings = node.params.upload
    ? [...importTextNumbers(node.params, project?.uploads), ...importLookAlikes(node.params, project?.uploads)]
    : [];

  return (
    <aside className="param-panel" aria-label="Parameters" data-testid="param-panel">
      <h2>{node.label || node.id}</h2>
      <p className="muted">
        {spec ? `${spec.name}${spec.version ? ` v${spec.version}` : ""} — ${spec.description}` : `Unknown operator “${node.operator}”`}
      </p>
      {actions}
      <label className="field">
        <span>Name on the canvas</span>
        <input
          type="text"
          value={node.label ?? ""}
          placeholder={node.id}
          onChange={(e) => onLabel(e.target.value)}
          onBlur={onDone}
        />
      </label>
      {spec && (spec.inputs.length > 0 || spec.outputs.length > 0) && (
        <div className="ports-summary">
          {spec.inputs.map((p) => (
            <span key={`i${p.name}`} className="port-chip" style={{ borderColor: portColor(p.type) }}>
              in {p.name}: {p.type}
              {p.optional ? "?" : ""}
            </span>
          ))}
          {spec.outputs.map((p) => (
            <span key={`o${p.name}`} className="port-chip" style={{ borderColor: portColor(p.type) }}>
              out {p.name}: {p.type}
            </span>
          ))}
        </div>
      )}
      {inputs}
      {errors.filter((e) => !e.field || e.field === "operator" || e.field === "version" || e.field === "params").map((e, i) => (
        <p key={i} className="error-text" role="alert">
          {e.message}
        </p>
      ))}
      {labelProblem && <p className="warn-text" role="status">{labelProblem}</p>}
      {node.params.upload ? <NewerUpload params={node.params} onParams={(p) => { onParams(p); onDone(); }} /> : null}
      {fileWarnings.map((t) => <p key={t} className="warn-text" role="status">{t}</p>)}
      {runError && <p className="error-text" role="alert">Failed in the last run: {runError}</p>}
      {Object.entries(bound).map(([name, ref]) => (
        <p key={name} className="bound-param">
          <strong>{name}</strong> ← pipeline parameter <code>{ref.$param}</code>
        </p>
      ))}
      {schema && (
        <div onBlur={onDone} onInputCapture={touch} onChangeCapture={touch} onClickCapture={touch} onKeyDownCapture={touch}>
          <Form
            key={node.id}
            schema={schema}
            uiSchema={withUploads}
            templates={formTemplates}
            formContext={formContext}
            formData={formData}
            validator={validator}
            liveValidate="onChange"
            showErrorList={false}
            extraErrors={extraErrors}
            onChange={(e) => {
              if (touched.current === node.id && canonicalJson(e.formData) !== filled) onParams(withFollowedName({ ...(e.formData as Record<string, unknown>), ...bound }, project?.uploads));
            }}
          />
        </div>
      )}
      {spec?.docs && (
        <details className="docs">
          <summary>About {spec.name}</summary>
          <p>{spec.docs}</p>
        </details>
      )}
    </aside>
  );
}
